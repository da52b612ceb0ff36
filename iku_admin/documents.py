"""The official documents: the IKU table of a dossier and the SOP sheet.

Everything is built from the data: the IKU document (print-ready HTML, PDF, XLSX) from a
dossier's objectives, indicators and targets; the SOP sheet (HTML, PDF) from an SOP version's
identity header and steps, with its procedure table drawn as one SVG
(PermenPAN-RB 35/2012 format). Views, the CLI and ``docs/make_examples.py`` all call these
functions, so every copy of a document looks the same.

The official headings of both forms ("INDIKATOR KINERJA UTAMA", "Mutu Baku", "Ya", …) are
part of the form and stay Indonesian; everything else goes through gettext.
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from itertools import pairwise

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import render_template
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import object_session, selectinload
from weasyprint import HTML
from weasyprint.urls import URLFetcher

import models.base
from models import (
    Agency,
    CustomField,
    Dossier,
    Indicator,
    Role,
    Sop,
    SopStep,
    StepRecord,
    StrategicObjective,
)
from models.validation import format_nip

from . import custom_fields
from .auth import WORKFLOW_ROLES
from .i18n import _
from .letterhead import document_agency

# The official documents are Indonesian whatever the user's interface language.
DOCUMENT_LOCALE = "id"
# Every PDF is PDF/A-2b, for the archive: fonts embedded, sRGB output intent, XMP metadata.
PDF_VARIANT = "pdf/a-2b"


def doc_date(value: date) -> str:
    """A date as written on the documents: "27 November 2026"."""
    return format_date(value, "d MMMM y", locale=DOCUMENT_LOCALE)


def doc_time(value: datetime) -> str:
    """A moment as written on the documents, in office time: "30/11/2026 08.15"."""
    return value.astimezone(models.base.LOCAL_TZ).strftime("%d/%m/%Y %H.%M")


def doc_number(value: Decimal | None) -> str:
    """A number as written on the documents: "1.234,5"."""
    return "" if value is None else format_decimal(value, "#,##0.##", locale=DOCUMENT_LOCALE)


def local_today() -> date:
    return models.base.utcnow().astimezone(models.base.LOCAL_TZ).date()


# --- What a document may hold ----------------------------------------------------------------


@dataclass(frozen=True)
class DocumentLimits:
    """The most a document renders: table rows (the IKU's indicators, the SOP's steps) and
    characters of text in all its cells."""

    rows: int
    chars: int

    def check(self, rows: int, chars: int, message: Callable[..., str]) -> None:
        """Raise ``DocumentTooLarge`` when a document of ``rows`` table rows and ``chars``
        characters is past these limits, saying ``message(rows, chars, max_rows, max_chars)``."""
        if rows > self.rows or chars > self.chars:
            figures = {"rows": rows, "chars": chars, "max_rows": self.rows, "max_chars": self.chars}
            raise DocumentTooLarge(message(**figures))


# WeasyPrint's time grows with the table: on the benchmark machine a PDF of 100 indicators of
# 400 characters takes a few seconds, and the 1,000 indicators an import accepts ran past a
# worker's timeout. A real IKU has a few dozen indicators and an SOP a dozen steps. The HTML
# page costs the server far less (the browser lays it out), so it may hold ten times more.
# Beyond these limits the document is refused with advice; the IKU's XLSX holds everything.
PDF_LIMITS = DocumentLimits(rows=100, chars=40_000)
HTML_LIMITS = DocumentLimits(rows=1_000, chars=400_000)


class DocumentTooLarge(Exception):
    """A document past its limits; the message says what to do, fit to show a user."""


def _limits(pdf: bool) -> DocumentLimits:
    return PDF_LIMITS if pdf else HTML_LIMITS


def _text_length(*values: str | None) -> int:
    return sum(len(value or "") for value in values)


# --- Who signs and who initials, read from the SOP steps ------------------------------------


def signing_step(sop: Sop) -> SopStep | None:
    """The step whose actor signs the IKU (``SopStep.signature`` "sign"), if any."""
    return next((step for step in sop.steps if step.signature == "sign"), None)


def initialling_roles(sop: Sop) -> list[Role]:
    """The roles that initial (paraf) the IKU before it is signed: those of the steps marked
    "initial", in step order, each once (in the seed SOP: Sekretaris, Perencana)."""
    roles: list[Role] = []
    for step in sop.steps:
        if step.signature == "initial" and step.role not in roles:
            roles.append(step.role)
    return roles


# --- The IKU document ------------------------------------------------------------------------

IKU_COLUMNS = (
    "No",
    "Sasaran Strategis",
    "Indikator Kinerja Utama",
    "Penjelasan/Formulasi",
    "Satuan",
)
IKU_TAIL_COLUMNS = ("Sumber Data", "Penanggung Jawab")


@dataclass(frozen=True)
class IkuLine:
    """One row of the IKU table: an indicator, under its objective."""

    number: int
    objective: StrategicObjective
    span: int  # rows the objective's cells span; 0 on the rows that continue it
    indicator: Indicator | None
    targets: list[Decimal | None]  # one per year of the period


@dataclass(frozen=True)
class IkuDocument:
    dossier: Dossier
    letterhead: Agency
    government: str
    agency: str
    years: list[int]
    lines: list[IkuLine]
    place: str
    signed_on: date
    signer_title: str
    signer_name: str
    signer_rank: str
    signer_nip: str
    initials: list[str]  # the paraf table's role names
    fields: list[CustomField]  # the active custom indicator fields

    @property
    def period(self) -> str:
        return f"{self.dossier.period_start}–{self.dossier.period_end}"

    def extra(self, indicator: Indicator) -> list[tuple[str, str]]:
        """(label, value) of the indicator's custom fields that hold a value, as printed."""
        values = [(f, custom_fields.value_of(indicator, f)) for f in self.fields]
        return [(f.label, custom_fields.display(f, value, DOCUMENT_LOCALE))
                for f, value in values if value]  # fmt: skip


def _objectives(dossier: Dossier) -> list[StrategicObjective]:
    session = object_session(dossier)
    return list(
        session.scalars(
            select(StrategicObjective)
            .where(StrategicObjective.dossier_id == dossier.id)
            .options(selectinload(StrategicObjective.indicators).selectinload(Indicator.targets))
            .order_by(StrategicObjective.order, StrategicObjective.id)
        )
    )


def _initials(dossier: Dossier) -> list[str]:
    """The paraf table's role names: as recorded when this dossier's steps marked "initial"
    were done, else as the roles are named now (the document printed before)."""
    steps = [step.id for step in dossier.sop.steps if step.signature == "initial"]
    recorded = dict(
        object_session(dossier)
        .execute(
            select(StepRecord.role_id, StepRecord.role_name)
            .where(StepRecord.dossier_id == dossier.id, StepRecord.step_id.in_(steps))
            .order_by(StepRecord.id)
        )
        .all()
    )
    return [recorded.get(role.id) or role.name for role in initialling_roles(dossier.sop)]


def _signing_record(dossier: Dossier) -> StepRecord | None:
    step = signing_step(dossier.sop)
    if step is None:
        return None
    return object_session(dossier).scalar(
        select(StepRecord)
        .where(StepRecord.dossier_id == dossier.id, StepRecord.step_id == step.id)
        .order_by(StepRecord.id.desc())
        .limit(1)
    )


def iku_document(dossier: Dossier) -> IkuDocument:
    """Everything the IKU document shows, in table order.

    The signature names the head who signed the dossier's signature step, as named then,
    else the head of agency who ratified the SOP; it is dated when signed, else today
    (printed to be signed).
    """
    sop, letterhead = dossier.sop, document_agency(object_session(dossier))
    years = dossier.years
    lines: list[IkuLine] = []
    for number, objective in enumerate(_objectives(dossier), start=1):
        indicators = objective.indicators or [None]
        for index, indicator in enumerate(indicators):
            by_year = {t.year: t.target for t in indicator.targets} if indicator else {}
            lines.append(
                IkuLine(
                    number=number,
                    objective=objective,
                    span=len(indicators) if index == 0 else 0,
                    indicator=indicator,
                    targets=[by_year.get(year) for year in years],
                )
            )
    record = _signing_record(dossier)
    return IkuDocument(
        dossier=dossier,
        letterhead=letterhead,
        government=sop.government or letterhead.government,
        agency=sop.agency or letterhead.name,
        years=years,
        lines=lines,
        place=letterhead.place,
        signed_on=(
            record.finished_at.astimezone(models.base.LOCAL_TZ).date() if record else local_today()
        ),
        signer_title=sop.ratified_by_title or "Kepala Dinas",
        # As named when they signed (kept with the history), not as named today.
        signer_name=record.actor_name if record else sop.ratified_by_name,
        signer_rank=record.actor_rank if record else sop.ratified_by_rank,
        signer_nip=format_nip(record.actor_nip if record else sop.ratified_by_nip),
        initials=_initials(dossier),
        fields=custom_fields.request_fields(object_session(dossier), "indicator"),
    )


def check_iku_size(doc: IkuDocument, limits: DocumentLimits) -> None:
    """Raise ``DocumentTooLarge`` when the IKU table is past ``limits``."""
    indicators = [line.indicator for line in doc.lines if line.indicator]
    chars = sum(_text_length(line.objective.name) for line in doc.lines if line.span) + sum(
        _text_length(i.name, i.definition, i.unit, i.data_source, i.responsible,
                     *(f"{label}: {value}" for label, value in doc.extra(i)))
        for i in indicators
    )  # fmt: skip
    limits.check(len(doc.lines), chars, lambda **figures: _(
        "This IKU is too large for this document: its table has %(rows)s rows and %(chars)s "
        "characters of text, where at most %(max_rows)s rows and %(max_chars)s characters "
        "fit. Download the IKU as XLSX instead: it holds every indicator.", **figures
    ))  # fmt: skip


def iku_html(dossier: Dossier, pdf: bool = False) -> str:
    """The IKU document as a print-ready HTML page (``pdf``: without the screen toolbar).
    Raises ``DocumentTooLarge`` past the page's or the PDF's limits."""
    doc = iku_document(dossier)
    check_iku_size(doc, _limits(pdf))
    return render_template(
        "documents/iku.html",
        doc=doc,
        pdf=pdf,
        doc_date=doc_date,
        doc_number=doc_number,
    )


def iku_pdf(dossier: Dossier) -> bytes:
    """The IKU document as an A4 landscape PDF."""
    return render_pdf(iku_html(dossier, pdf=True))


# --- The record sheet of a dossier (Lembar Kendali Berkas), for every SOP --------------------


OUTCOME_WORDS = {"done": "Selesai", "approved": "Disetujui", "returned": "Dikembalikan"}


def record_sheet_html(dossier: Dossier, pdf: bool = False) -> str:
    """A dossier's record sheet, whatever its SOP: the incoming letter, its fields (the
    custom ones too), where it stands, and every step of its history against the standard
    time (the SOP's "Pencatatan dan Pendataan"). Raises ``DocumentTooLarge`` past the page's
    or the PDF's limits."""
    session = object_session(dossier)
    history = session.scalars(
        select(StepRecord).where(StepRecord.dossier_id == dossier.id).order_by(StepRecord.id)
    ).all()
    fields = [
        (f.label, custom_fields.display(f, custom_fields.value_of(dossier, f), DOCUMENT_LOCALE))
        for f in custom_fields.request_fields(session, "dossier")
    ]
    chars = sum(_text_length(r.note, r.actor_name) for r in history) + sum(
        _text_length(label, value) for label, value in fields
    )
    _limits(pdf).check(len(history), chars, lambda **figures: _(
        "This dossier's history is too long for this document: %(rows)s records and "
        "%(chars)s characters, where at most %(max_rows)s records and %(max_chars)s "
        "characters fit. Export the step history list instead.", **figures
    ))  # fmt: skip
    return render_template(
        "documents/dossier.html",
        dossier=dossier,
        history=history,
        fields=fields,
        outcomes=OUTCOME_WORDS,
        pdf=pdf,
        letterhead=document_agency(session),
        doc_date=doc_date,
        doc_number=doc_number,
        doc_time=doc_time,
    )


def record_sheet_pdf(dossier: Dossier) -> bytes:
    """The record sheet as an A4 landscape PDF."""
    return render_pdf(record_sheet_html(dossier, pdf=True))


def _xlsx_value(value):
    """Numbers stay numbers; a Decimal becomes an int or a float Excel understands."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def iku_xlsx(dossier: Dossier) -> bytes:
    """The IKU table as an XLSX workbook: the same columns, Indonesian headers."""
    doc = iku_document(dossier)
    headers = [*IKU_COLUMNS, *doc.years, *IKU_TAIL_COLUMNS, *(f.label for f in doc.fields)]
    width = len(headers)
    first_year = len(IKU_COLUMNS) + 1
    book = Workbook()
    sheet = book.active
    sheet.title = "IKU"
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    centre = Alignment(wrap_text=True, horizontal="center", vertical="center")

    def put(row: int, column: int, value, **style) -> None:
        cell = sheet.cell(row=row, column=column, value=_xlsx_value(value))
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # text, never a formula
        for name, setting in style.items():
            setattr(cell, name, setting)

    for row, text in enumerate(
        [
            doc.government.upper(),
            doc.agency.upper(),
            "INDIKATOR KINERJA UTAMA",
            f"PERIODE {doc.period}",
        ],
        start=1,
    ):
        put(row, 1, text, font=Font(bold=True, size=12), alignment=centre)
        sheet.merge_cells(start_row=row, end_row=row, start_column=1, end_column=width)

    top = 6  # two header rows: "Target" spans the years
    for column, title in enumerate(headers, start=1):
        is_year = first_year <= column < first_year + len(doc.years)
        put(top + 1 if is_year else top, column, title, font=Font(bold=True), alignment=centre)
        if not is_year:
            sheet.merge_cells(
                start_row=top, end_row=top + 1, start_column=column, end_column=column
            )
    put(top, first_year, "Target", font=Font(bold=True), alignment=centre)
    if len(doc.years) > 1:
        sheet.merge_cells(
            start_row=top,
            end_row=top,
            start_column=first_year,
            end_column=first_year + len(doc.years) - 1,
        )

    row = top + 2
    for line in doc.lines:
        indicator = line.indicator
        values = (
            [
                line.number,
                line.objective.name,
                indicator.name,
                indicator.definition,
                indicator.unit,
                *line.targets,
                indicator.data_source,
                indicator.responsible,
                *(custom_fields.typed(f, custom_fields.value_of(indicator, f)) for f in doc.fields),
            ]
            if indicator
            else [line.number, line.objective.name, *[None] * (width - 2)]
        )
        for column, value in enumerate(values, start=1):
            if line.span or column > 2:  # the objective's cells are merged down
                put(row, column, value, alignment=wrap)
        if line.span > 1:
            for column in (1, 2):
                sheet.merge_cells(
                    start_row=row,
                    end_row=row + line.span - 1,
                    start_column=column,
                    end_column=column,
                )
        row += 1
    for cells in sheet.iter_rows(min_row=top, max_row=row - 1, max_col=width):
        for cell in cells:
            cell.border = border
    sizes = [5, 30, 32, 36, 12, *[9] * len(doc.years), 24, 28, *[24] * len(doc.fields)]
    for column, size in enumerate(sizes, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = size
    sheet.freeze_panes = sheet.cell(row=top + 2, column=1)
    sheet.print_title_rows = f"{top}:{top + 1}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    out = BytesIO()
    book.save(out)
    return out.getvalue()


# --- The SOP sheet and its procedure chart ---------------------------------------------------


def actors(sop: Sop) -> list[Role]:
    """The actor columns: the distinct roles of the steps, workflow roles in their fixed
    order (Kepala Dinas, Sekretaris, Perencana, Tim SAKIP, Staf), any other role after them
    in the order it first appears."""
    roles: list[Role] = []
    for step in sop.steps:
        if step.role not in roles:
            roles.append(step.role)
    rank = {code: n for n, code in enumerate(WORKFLOW_ROLES)}
    return sorted(roles, key=lambda role: rank.get(role.code, len(rank)))


# Geometry of the chart, in SVG user units (CSS pixels at 100 %).
FONT_SIZE = 9
LINE_HEIGHT = 11
PAD = 4
CHAR_WIDTH = 0.55 * FONT_SIZE  # a generous average glyph width, for wrapping
HEADER_ROW = 22
MIN_ROW = 50
LANE = 84
SYMBOL_W, SYMBOL_H = 56, 24
DIAMOND_W, DIAMOND_H = 64, 36
GAP = 8  # room between a symbol and an arrow passing beside it
ARROW_HEAD = 5
LEGEND = 24


@dataclass(frozen=True)
class _Column:
    field: str
    heading: str
    width: int
    centred: bool = False


# The text columns before and after the actor lanes (official Indonesian headings).
LEFT_COLUMNS = (_Column("number", "No", 26, True), _Column("activity", "Kegiatan", 210))
MUTU_BAKU = (
    _Column("input", "Kelengkapan", 118),
    _Column("time_label", "Waktu", 54, True),
    _Column("output", "Output", 118),
)
RIGHT_COLUMNS = (*MUTU_BAKU, _Column("notes", "Keterangan", 104))
FILLS = {"todo": "#ffffff", "done": "#a5d6a7", "current": "#ffd54f"}


@dataclass(frozen=True)
class _Box:
    """Where a step's symbol sits: its centre and half sizes."""

    cx: float
    cy: float
    half_w: float
    half_h: float

    @property
    def top(self) -> float:
        return self.cy - self.half_h

    @property
    def bottom(self) -> float:
        return self.cy + self.half_h


@dataclass(frozen=True)
class _Row:
    step: SopStep
    y: float
    height: float
    box: _Box
    shape: str  # "capsule", "task" or "review"


def _wrap(text: str, width: float) -> list[str]:
    chars = max(4, int((width - 2 * PAD) / CHAR_WIDTH))
    return [
        line
        for part in str(text).splitlines()
        for line in textwrap.wrap(part, chars, break_on_hyphens=False)
    ]


def _cell_lines(step: SopStep, column: _Column) -> list[str]:
    value = f"{step.position}." if column.field == "number" else getattr(step, column.field)
    return _wrap(value or "", column.width)


def _attrs(**attrs: str) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(v)}"' for name, v in attrs.items()
    )


def _text(x: float, y: float, lines: list[str], anchor: str = "start", **attrs: str) -> str:
    """Text lines from baseline ``y`` down; every line is XML-escaped."""
    spans = "".join(
        f'<tspan x="{x:g}" y="{y + n * LINE_HEIGHT:g}">{escape(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    return f'<text text-anchor="{anchor}"{_attrs(**attrs)}>{spans}</text>'


def _rect(x: float, y: float, w: float, h: float, **attrs: str) -> str:
    return f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}"{_attrs(**attrs)}/>'


def _points(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:g},{y:g}" for x, y in points)


def _arrow(points: list[tuple[float, float]], source: int, target: int, back=False) -> str:
    """A polyline from a step to another, with an arrow head at its last point."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    if x0 == x1:  # the last segment is vertical
        d = ARROW_HEAD if y1 > y0 else -ARROW_HEAD
        head = [(x1, y1), (x1 - ARROW_HEAD, y1 - 2 * d), (x1 + ARROW_HEAD, y1 - 2 * d)]
    else:
        d = ARROW_HEAD if x1 > x0 else -ARROW_HEAD
        head = [(x1, y1), (x1 - 2 * d, y1 - ARROW_HEAD), (x1 - 2 * d, y1 + ARROW_HEAD)]
    return (
        f'<g class="arrow{" return" if back else ""}" data-from="{source}" data-to="{target}">'
        f'<polyline points="{_points(points)}" fill="none" stroke="#000" stroke-width="1"/>'
        f'<polygon points="{_points(head)}" fill="#000"/></g>'
    )


def _forward(a: _Box, b: _Box) -> list[tuple[float, float]]:
    """From a step to the next: straight down within a lane; else out of the side facing
    the next lane, across, and down into the next symbol's top."""
    if a.cx == b.cx:
        return [(a.cx, a.bottom), (b.cx, b.top)]
    side = a.cx + a.half_w if b.cx > a.cx else a.cx - a.half_w
    return [(side, a.cy), (b.cx, a.cy), (b.cx, b.top)]


def _backward(review: _Box, target: _Box, down: bool, free: int) -> list[tuple[float, float]]:
    """From a review back to the step it returns to, entering the target by its ``free``
    side (+1 right, -1 left: the one its own outgoing arrow does not use).

    The arrow leaves by the review's bottom, runs along the review's row and climbs beside
    the target; when the next step is straight below (``down``), the bottom is taken, so it
    leaves by the side facing where it climbs.
    """
    beside = target.cx + free * (target.half_w + GAP)
    if down:
        toward = 1 if beside >= review.cx else -1
        beside = toward * max(toward * beside, toward * review.cx + review.half_w + GAP)
        start = [(review.cx + toward * review.half_w, review.cy)]
        channel = review.cy
    else:
        channel = review.bottom + GAP
        start = [(review.cx, review.bottom), (review.cx, channel)]
    end = (target.cx + free * target.half_w, target.cy)
    return [*start, (beside, channel), (beside, target.cy), end]


def _layout(steps: list[SopStep], lanes: list[Role]) -> list[_Row]:
    """Each step's row (as tall as its longest text) and its symbol in its actor's lane."""
    left = sum(c.width for c in LEFT_COLUMNS)
    rows, y = [], 2.0 * HEADER_ROW
    for step in steps:
        lines = max(len(_cell_lines(step, c)) for c in (*LEFT_COLUMNS, *RIGHT_COLUMNS))
        if step.kind == "review":
            shape, half_w, half_h = "review", DIAMOND_W / 2, DIAMOND_H / 2
        else:
            shape = "capsule" if step in (steps[0], steps[-1]) else "task"
            half_w, half_h = SYMBOL_W / 2, SYMBOL_H / 2
        # Room for the symbol and, below it, for an arrow leaving it.
        height = max(MIN_ROW, lines * LINE_HEIGHT + 2 * PAD, 2 * (half_h + 2 * GAP))
        cx = left + LANE * lanes.index(step.role) + LANE / 2
        rows.append(_Row(step, y, height, _Box(cx, y + height / 2, half_w, half_h), shape))
        y += height
    return rows


def _header(lanes: list[Role]) -> list[str]:
    """Two header rows: "Pelaksana" spans the actor lanes, "Mutu Baku" its three columns;
    the other headings span both rows."""
    both, one = 2 * HEADER_ROW, HEADER_ROW
    cells: list[tuple[float, float, float, float, str, dict[str, str]]] = []  # x, y, w, h
    x = 0.0
    for column in LEFT_COLUMNS:
        cells.append((x, 0, column.width, both, column.heading, {}))
        x += column.width
    cells.append((x, 0, LANE * len(lanes), one, "Pelaksana", {}))
    for role in lanes:
        cells.append((x, one, LANE, one, role.name, {"class_": "lane", "data_actor": role.code}))
        x += LANE
    cells.append((x, 0, sum(c.width for c in MUTU_BAKU), one, "Mutu Baku", {}))
    for column in RIGHT_COLUMNS:
        top, height = (one, one) if column in MUTU_BAKU else (0, both)
        cells.append((x, top, column.width, height, column.heading, {}))
        x += column.width
    out = []
    for cx, cy, width, height, text, attrs in cells:
        lines = _wrap(text, width)
        baseline = cy + height / 2 - (len(lines) - 1) * LINE_HEIGHT / 2 + FONT_SIZE / 3
        out.append(
            _rect(cx, cy, width, height, fill="#e8e8e8", stroke="#000", stroke_width="0.8", **attrs)
        )
        out.append(_text(cx + width / 2, baseline, lines, "middle", font_weight="bold"))
    return out


def _body(rows: list[_Row], lanes: list[Role]) -> list[str]:
    """The grid and the texts of every step's row."""
    columns = [*LEFT_COLUMNS, *[None] * len(lanes), *RIGHT_COLUMNS]
    out = []
    for row in rows:
        x = 0.0
        for column in columns:
            width = column.width if column else LANE
            out.append(
                _rect(x, row.y, width, row.height, fill="none", stroke="#000", stroke_width="0.6")
            )
            if column:
                lines = _cell_lines(row.step, column)
                tx = x + width / 2 if column.centred else x + PAD
                anchor = "middle" if column.centred else "start"
                out.append(
                    _text(
                        tx,
                        row.y + PAD + FONT_SIZE,
                        lines,
                        anchor,
                        class_=f"cell {column.field}",
                        data_step=str(row.step.position),
                    )
                )
            x += width
    return out


def _flows(rows: list[_Row]) -> list[str]:
    """Arrows between consecutive steps ("Ya" out of a review) and from each review back to
    the step it returns to ("Tidak")."""
    out = []
    by_id = {row.step.id: n for n, row in enumerate(rows)}
    for row, following in pairwise(rows):
        points = _forward(row.box, following.box)
        out.append(_arrow(points, row.step.position, following.step.position))
        if row.shape == "review":
            (x0, y0), (x1, _y1) = points[0], points[1]
            if x1 == x0:  # straight down
                out.append(_text(x0 + 4, y0 + 10, ["Ya"], class_="yes"))
            else:
                out.append(_text(x0 + (4 if x1 > x0 else -16), y0 - 4, ["Ya"], class_="yes"))
    for n, row in enumerate(rows):
        back = by_id.get(row.step.return_to_step_id)
        if row.shape != "review" or back is None or back >= n:
            continue  # only a return to an earlier step is drawn
        target = rows[back]
        leaves = rows[back + 1].box.cx - target.box.cx  # where the target's own arrow goes
        down = n + 1 < len(rows) and rows[n + 1].box.cx == row.box.cx
        points = _backward(row.box, target.box, down, -1 if leaves > 0 else 1)
        out.append(_arrow(points, row.step.position, target.step.position, back=True))
        # The label goes where the line does not: beside the drop, under the side exit.
        (x0, y0), runs = points[0], points[2][0] - points[0][0]
        if points[1][0] == x0:
            out.append(_text(x0 + (-28 if runs > 0 else 4), y0 + 9, ["Tidak"], class_="no"))
        else:
            out.append(_text(x0 + (2 if runs > 0 else -28), y0 + 11, ["Tidak"], class_="no"))
    return out


def _step_state(step: SopStep, dossier: Dossier | None) -> str:
    """The step's state in the dossier: "done" (passed), "current" or "todo"."""
    if dossier is None:
        return "todo"
    current = dossier.current_step
    if dossier.status == "done" or (current and step.position < current.position):
        return "done"
    return "current" if current and step.id == current.id else "todo"


def _symbol(row: _Row, state: str) -> str:
    step, box = row.step, row.box
    common = _attrs(
        class_=f"symbol {row.shape}",
        data_step=str(step.position),
        data_role=step.role.code,
        data_state=state,
        fill=FILLS[state],
        stroke="#000",
        stroke_width="1.2",
    )
    title = f"<title>{escape(f'{step.position}. {step.activity} ({step.role.name})')}</title>"
    if row.shape == "review":
        corners = [
            (box.cx, box.top),
            (box.cx + box.half_w, box.cy),
            (box.cx, box.bottom),
            (box.cx - box.half_w, box.cy),
        ]
        return f'<polygon points="{_points(corners)}"{common}>{title}</polygon>'
    radius = box.half_h if row.shape == "capsule" else 0
    return (
        f'<rect x="{box.cx - box.half_w:g}" y="{box.top:g}" width="{2 * box.half_w:g}" '
        f'height="{2 * box.half_h:g}" rx="{radius:g}" ry="{radius:g}"{common}>{title}</rect>'
    )


def _legend(y: float) -> list[str]:
    out = []
    x = 0.0
    for state, label in (("done", _("Step done")), ("current", _("Current step"))):
        out.append(_rect(x, y + 6, 16, 10, fill=FILLS[state], stroke="#000", stroke_width="0.8"))
        out.append(_text(x + 22, y + 15, [label]))
        x += 22 + len(label) * CHAR_WIDTH + 16
    return out


def sop_chart_svg(sop: Sop, dossier: Dossier | None = None) -> Markup:
    """The SOP's procedure table as one SVG (no script, every text XML-escaped).

    One lane per actor, each step's symbol in its actor's lane: a capsule for the first and
    the last step, a rectangle for a task, a diamond for a review; arrows between
    consecutive steps, "Ya" to the next step and "Tidak" back to the review's return step;
    the Mutu Baku columns (Kelengkapan, Waktu, Output) and Keterangan beside them. With a
    dossier, the steps it has passed and its current step are filled in colour.
    """
    steps = list(sop.steps)
    lanes = actors(sop)
    rows = _layout(steps, lanes)
    width = sum(c.width for c in (*LEFT_COLUMNS, *RIGHT_COLUMNS)) + LANE * len(lanes)
    table = rows[-1].y + rows[-1].height if rows else 2.0 * HEADER_ROW
    height = table + (LEGEND if dossier is not None else 0) + 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sop-chart" role="img" '
        f'viewBox="-1 -1 {width + 2:g} {height + 2:g}" '
        f'style="width:100%;max-width:{width:g}px;height:auto" '
        f'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="{FONT_SIZE}">',
        f"<title>{escape(sop.name)}</title>",
        *_header(lanes),
        *_body(rows, lanes),
        *_flows(rows),
        *(_symbol(row, _step_state(row.step, dossier)) for row in rows),
        *(_legend(table) if dossier is not None else []),
        "</svg>",
    ]
    return Markup("".join(out))


def check_sop_size(sop: Sop, limits: DocumentLimits) -> None:
    """Raise ``DocumentTooLarge`` when the SOP sheet is past ``limits``."""
    header = (sop.number, sop.name, sop.legal_basis, sop.qualifications, sop.related_sops,
              sop.equipment, sop.warning, sop.records)  # fmt: skip
    chars = _text_length(*header) + sum(
        _text_length(step.activity, step.input, step.output, step.notes) for step in sop.steps
    )
    limits.check(len(sop.steps), chars, lambda **figures: _(
        "This SOP is too large for this document: %(rows)s steps and %(chars)s characters of "
        "text, where at most %(max_rows)s steps and %(max_chars)s characters fit. Shorten the "
        "texts of the SOP or split it.", **figures
    ))  # fmt: skip


def sop_html(sop: Sop, pdf: bool = False) -> str:
    """The SOP sheet as a print-ready HTML page: the letterhead, the identity header, then
    the procedure. Raises ``DocumentTooLarge`` past the page's or the PDF's limits."""
    check_sop_size(sop, _limits(pdf))
    letterhead = document_agency(object_session(sop))
    return render_template(
        "documents/sop.html",
        sop=sop,
        chart=sop_chart_svg(sop),
        pdf=pdf,
        letterhead=letterhead,
        government=sop.government or letterhead.government,
        agency=sop.agency or letterhead.name,
        ratified_by_nip=format_nip(sop.ratified_by_nip),
    )


def sop_pdf(sop: Sop) -> bytes:
    """The SOP sheet as an A4 landscape PDF."""
    return render_pdf(sop_html(sop, pdf=True))


def render_pdf(html: str) -> bytes:
    """Render a document page to a PDF/A file. The pages carry their own CSS, SVG and emblem
    and only ``data:`` URLs may be fetched, so rendering never reaches out to anything."""
    fetcher = URLFetcher(allowed_protocols={"data"})
    with warnings.catch_warnings():
        # WeasyPrint 70 opens its sRGB profile (the PDF/A output intent) and leaves the file
        # for the garbage collector to close, which then warns; nothing else is silenced.
        warnings.filterwarnings("ignore", r"unclosed file .*sRGB2014\.icc", ResourceWarning)
        return HTML(string=html, url_fetcher=fetcher).write_pdf(pdf_variant=PDF_VARIANT)
