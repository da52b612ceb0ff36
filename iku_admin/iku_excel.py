"""Excel in: the IKU template workbook, and the import of a filled one into a dossier.

No request context inside: views, the CLI and tests pass plain values (a dossier, a file name
and its bytes). The import is all-or-nothing: every problem of the file is reported, by row and
column header, and then nothing is written; otherwise everything is written in one transaction.

The template's headers are Indonesian and fixed whatever the interface language: they are the
file format, so a file filled in by one person imports for every other.

Numbers in target cells: a number cell is taken as it is. Text is read the Indonesian way:
comma for decimals, dot between groups of three digits ("1.234,5", "1234,5", "1.234.567").
Text with one separator followed by exactly three digits ("2.500", "2,500") reads 2500 to an
Indonesian and 2.5 to an English eye, so it is refused as ambiguous; other text ("1.5", "10%")
is refused as not a number. Targets keep at most two decimals (the column is Numeric(18, 2)).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session, selectinload

from models import (
    CustomField,
    Dossier,
    Indicator,
    IndicatorTarget,
    IndicatorUnit,
    Sop,
    StrategicObjective,
)
from models.dossier import POLARITIES

from . import custom_fields, workbook_limits, workflow
from .i18n import _

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_INDICATORS = 1000

SHEET, UNITS_SHEET, HELP_SHEET = workbook_limits.IKU_SHEET, "Satuan", "Petunjuk"
CHOICES_SHEET = "Pilihan"  # the choices of the custom choice fields, a column each
# Custom fields' values are read the Indonesian way, as every other cell of the file.
FILE_LOCALE = "id"
OBJECTIVE = "Sasaran Strategis"
INDICATOR = "Indikator Kinerja Utama"
DEFINITION = "Penjelasan/Formulasi"
UNIT = "Satuan"
POLARITY = "Polaritas (max/min)"
BASELINE = "Baseline"
DATA_SOURCE = "Sumber Data"
RESPONSIBLE = "Penanggung Jawab"
TARGET = "Target {year}"
TARGET_HEADER = re.compile(r"target\s+(\d{4})")
TEXT_FORMAT = "@"  # a spreadsheet's "Text" number format

# Header -> the model column it fills (its length limits the text).
COLUMNS = {
    OBJECTIVE: StrategicObjective.__table__.c.name,
    INDICATOR: Indicator.__table__.c.name,
    DEFINITION: Indicator.__table__.c.definition,
    UNIT: Indicator.__table__.c.unit,
    POLARITY: Indicator.__table__.c.polarity,
    BASELINE: Indicator.__table__.c.baseline,
    DATA_SOURCE: Indicator.__table__.c.data_source,
    RESPONSIBLE: Indicator.__table__.c.responsible,
}
REQUIRED = (OBJECTIVE, INDICATOR, UNIT, POLARITY)
BEFORE_TARGETS = (OBJECTIVE, INDICATOR, DEFINITION, UNIT, POLARITY, BASELINE)
AFTER_TARGETS = (DATA_SOURCE, RESPONSIBLE)

CENT = Decimal("0.01")
MAX_TARGET = Decimal(10) ** 16  # Numeric(18, 2): 16 digits before the decimal comma
_PLAIN = re.compile(r"\d+(,\d+)?", re.ASCII)
_GROUPED = re.compile(r"\d{1,3}(\.\d{3})+(,\d+)?", re.ASCII)
_AMBIGUOUS = re.compile(r"\d{1,3}[.,]\d{3}", re.ASCII)


# --- Problems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an uploaded file; ``row`` and ``column`` say where, when known."""

    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        if self.row and self.column:
            return _(
                'Row %(row)s, column "%(column)s": %(message)s',
                row=self.row,
                column=self.column,
                message=self.message,
            )
        if self.row:
            return _("Row %(row)s: %(message)s", row=self.row, message=self.message)
        return self.message


class ImportRefused(Exception):
    """The file was refused; ``problems`` says why. Nothing was written."""

    def __init__(self, problems: Sequence[Problem], status: int = 400):
        super().__init__("; ".join(map(str, problems)))
        self.problems = list(problems)
        self.status = status


@dataclass
class ImportResult:
    """What an import added."""

    objectives: int = 0
    indicators: int = 0
    targets: int = 0


@dataclass
class _Row:
    """One valid indicator row of the sheet."""

    row: int
    objective: str
    fields: dict[str, str]
    targets: dict[int, Decimal] = field(default_factory=dict)


# --- The template -----------------------------------------------------------------------------


def indicator_fields(dossier: Dossier) -> dict[str, CustomField]:
    """The active custom indicator fields by their column header (the label; followed by the
    code when the label is already a built-in header)."""
    taken = {name.casefold() for name in COLUMNS}
    found: dict[str, CustomField] = {}
    for definition in custom_fields.request_fields(object_session(dossier), "indicator"):
        header = " ".join(definition.label.split())
        if header.casefold() in taken or TARGET_HEADER.fullmatch(header.casefold()):
            header = f"{header} ({definition.code})"
        taken.add(header.casefold())
        found[header] = definition
    return found


def template_headers(dossier: Dossier) -> list[str]:
    """The template's column headers for a dossier: one target column per year of its period,
    then one per custom indicator field."""
    years = [TARGET.format(year=year) for year in dossier.years]
    return [*BEFORE_TARGETS, *years, *AFTER_TARGETS, *indicator_fields(dossier)]


def template_workbook(dossier: Dossier) -> bytes:
    """The XLSX template for a dossier: the IKU sheet, the allowed units and instructions."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    headers = template_headers(dossier)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    extra = indicator_fields(dossier)
    for index, header in enumerate(headers, start=1):
        wide = header in (OBJECTIVE, INDICATOR, DEFINITION, DATA_SOURCE, RESPONSIBLE)
        column = sheet.column_dimensions[get_column_letter(index)]
        column.width = 40 if wide or header in extra else 14
        text = header in COLUMNS or (header in extra and extra[header].kind in ("text", "choice"))
        if text:  # text: what is typed stays as typed ("050" keeps its zero)
            column.number_format = TEXT_FORMAT

    units = workbook.create_sheet(UNITS_SHEET)
    units.append([UNIT])
    units["A1"].font = Font(bold=True)
    units.column_dimensions["A"].width = 20
    names = IndicatorUnit.names(object_session(dossier))
    for unit in names:
        units.append([unit])

    last_row = MAX_INDICATORS + 1
    dropdowns = {
        UNIT: f"'{UNITS_SHEET}'!$A$2:$A${len(names) + 1}",
        POLARITY: '"{}"'.format(",".join(POLARITIES)),
    }
    chosen = [(h, d) for h, d in extra.items() if d.kind == "choice"]
    if chosen:
        lists = workbook.create_sheet(CHOICES_SHEET)
        for number, (header, definition) in enumerate(chosen, start=1):
            letter = get_column_letter(number)
            lists.cell(row=1, column=number, value=header).font = Font(bold=True)
            lists.column_dimensions[letter].width = 30
            for row, choice in enumerate(definition.choice_list, start=2):
                lists.cell(row=row, column=number, value=choice).data_type = "s"
            last = len(definition.choice_list) + 1
            dropdowns[header] = f"'{CHOICES_SHEET}'!${letter}$2:${letter}${last}"
    for header, source in dropdowns.items():
        letter = get_column_letter(headers.index(header) + 1)
        dropdown = DataValidation(
            type="list",
            formula1=source,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=_("Not allowed"),
            error=_("Choose a value from the list."),
        )
        dropdown.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(dropdown)

    help_sheet = workbook.create_sheet(HELP_SHEET)
    help_sheet.column_dimensions["A"].width = 110
    for line in _instructions(dossier):
        help_sheet.append([line])
    help_sheet["A1"].font = Font(bold=True)

    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _instructions(dossier: Dossier) -> list[str]:
    return [
        _("IKU template for %(title)s (period %(period)s)", title=dossier.title,
          period=dossier.period_label),
        "",
        _('Fill in the sheet "%(sheet)s": one row per indicator, from row 2 on. Do not change '
          "the headers in row 1.", sheet=SHEET),
        _("Required columns: %(columns)s.", columns=", ".join(REQUIRED)),
        _('"%(column)s": indicators with the same strategic objective are grouped under it, in '
          "the order the objective first appears.", column=OBJECTIVE),
        _('"%(column)s": choose one of the units listed in the sheet "%(sheet)s".', column=UNIT,
          sheet=UNITS_SHEET),
        _('"%(column)s": max if a higher value is better, min if a lower value is better.',
          column=POLARITY),
        _('"Target <year>": a number, or text written the Indonesian way (1.234,5), at most '
          "two decimals. Text such as 2.500 is ambiguous: enter it as a number."),
        *[_('"%(column)s": %(kind)s.', column=header, kind=_kind_help(definition))
          for header, definition in indicator_fields(dossier).items()],
        _("Empty rows are skipped. If any row has a problem, nothing is imported and every "
          "problem is listed with its row and column."),
        _("Objectives already in the dossier with the same name receive the new indicators; "
          "new objectives come after the existing ones."),
    ]  # fmt: skip


def _kind_help(definition: CustomField) -> str:
    if definition.kind == "number":
        return _("a number, written the Indonesian way (1.234,5)")
    if definition.kind == "date":
        return _("a date, such as 31/12/2026")
    if definition.kind == "choice":
        return _('one of the choices in the sheet "%(sheet)s"', sheet=CHOICES_SHEET)
    return _("text, one line")


# --- Reading an uploaded file -----------------------------------------------------------------


def read_rows(filename: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[tuple]:
    """The cell values of the IKU sheet of an uploaded workbook, row by row.

    Refuses anything that is not an .xlsx workbook, and files over ``max_bytes``.
    """
    if not filename.lower().endswith(".xlsx"):
        raise ImportRefused([Problem(_("Only Excel workbooks (.xlsx) can be imported."))])
    if len(data) > max_bytes:
        message = _("The file is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024))
        raise ImportRefused([Problem(message)], status=413)
    not_a_workbook = ImportRefused(
        [Problem(_("The file is not a valid Excel workbook (.xlsx). Save it again from Excel "
                   "as .xlsx and upload it again."))]
    )  # fmt: skip
    try:
        workbook_limits.check(data)  # before openpyxl reads anything
    except workbook_limits.TooLarge as error:
        raise ImportRefused([Problem(str(error))], status=413) from None
    except workbook_limits.NotAWorkbook:
        raise not_a_workbook from None
    columns = workbook_limits.LIMITS.columns  # no value lies right of it (checked above)
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
            rows = list(sheet.iter_rows(max_col=columns, values_only=True))
        finally:
            workbook.close()
    except Exception:  # a damaged archive fails in many ways (XML, keys, types): all mean this
        raise not_a_workbook from None
    return rows


def parse_rows(
    dossier: Dossier, rows: Sequence[tuple], existing: Iterable[tuple[str, str]] = ()
) -> list[_Row]:
    """The valid indicator rows of a sheet, or ``ImportRefused`` listing every problem.

    ``existing`` are the dossier's (objective name, indicator name) pairs: a row repeating
    one of them is a problem, so that uploading the same file twice adds nothing twice.
    """
    if not rows:
        raise ImportRefused([Problem(_("The sheet is empty."), row=1)])
    extra = indicator_fields(dossier)
    columns, problems = _read_header(rows[0], extra)
    if problems:
        raise ImportRefused(problems)
    seen = {(o.casefold(), i.casefold()): None for o, i in existing}
    units = {name.casefold(): name for name in IndicatorUnit.names(object_session(dossier))}
    parsed: list[_Row] = []
    for number, cells in enumerate(rows[1:], start=2):
        if all(_blank(value) for value in cells):
            continue
        if len(parsed) == MAX_INDICATORS:
            message = _("A file holds at most %(n)s indicators.", n=MAX_INDICATORS)
            raise ImportRefused([Problem(message, row=number)])
        row, row_problems = _read_row(dossier, number, cells, columns, units, extra)
        problems += row_problems
        if row is None:
            continue
        key = (row.objective.casefold(), row.fields["name"].casefold())
        if key in seen:
            message = (
                _("the indicator already exists under this objective in the dossier.")
                if seen[key] is None
                else _("the indicator is repeated under this objective (row %(row)s).",
                       row=seen[key])
            )  # fmt: skip
            problems.append(Problem(message, number, INDICATOR))
            continue
        seen[key] = number
        parsed.append(row)
    if problems:
        raise ImportRefused(problems)
    if not parsed:
        raise ImportRefused([Problem(_("The sheet holds no indicator rows."))])
    return parsed


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str:
    """A cell as text; a number cell the Indonesian way (decimal comma, no grouping)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value).replace(".", ",")
    return str(value).strip()


def _read_header(
    header: tuple, extra: dict[str, CustomField] | None = None
) -> tuple[dict[int, str | int], list[Problem]]:
    """Column index -> header name or target year, and the problems of the header row;
    ``extra``: the custom fields' headers."""
    known = {name.casefold(): name for name in [*COLUMNS, *(extra or {})]}
    columns: dict[int, str | int] = {}
    problems: list[Problem] = []
    for index, value in enumerate(header):
        text = " ".join(_text(value).split())
        if not text:
            continue
        year = TARGET_HEADER.fullmatch(text.casefold())
        key = int(year.group(1)) if year else known.get(text.casefold())
        if key is None:
            problems.append(Problem(_("unknown column; use the headers of the template."), 1, text))
        elif key in columns.values():
            problems.append(Problem(_("the column appears twice."), 1, text))
        else:
            columns[index] = key
    for name in REQUIRED:
        if name not in columns.values():
            problems.append(Problem(_("the column is missing; use the template."), 1, name))
    return columns, problems


def _header(key: str | int) -> str:
    return TARGET.format(year=key) if isinstance(key, int) else key


def _read_row(
    dossier: Dossier,
    number: int,
    cells: tuple,
    columns: dict[int, str | int],
    units: dict,
    extra: dict[str, CustomField] | None = None,
):
    """One sheet row as a ``_Row`` (None when it has problems) and its problems; ``units``
    are the unit names by their case-folded form, ``extra`` the custom fields by header."""
    extra = extra or {}
    problems: list[Problem] = []
    values: dict[str, str] = {}
    targets: dict[int, Decimal] = {}
    for index, value in enumerate(cells):
        if index not in columns and not _blank(value):
            message = _("a value in a column without a header.")
            problems.append(Problem(message, number, get_column_letter(index + 1)))
    for index, key in columns.items():
        value = cells[index] if index < len(cells) else None
        try:
            if isinstance(key, int):
                if not _blank(value):
                    targets[key] = _target(dossier, key, value)
            else:
                values[key] = _field(key, value, units, extra)
        except ValueError as error:
            problems.append(Problem(str(error), number, _header(key)))
    if problems:
        return None, problems
    fields = {COLUMNS[name].key: values.get(name, "") for name in COLUMNS if name != OBJECTIVE}
    fields["extra"] = {extra[name].code: value for name, value in values.items()
                       if name in extra and value}  # fmt: skip
    return _Row(number, values[OBJECTIVE], fields, targets), []


def _custom(definition: CustomField, value) -> str:
    """A custom field's cell as the value to store ("" when empty); raises ValueError."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        value = value.isoformat()
    elif isinstance(value, float):
        value = round(value, 9)  # Excel's binary fractions: 0.1 + 0.2
    return custom_fields.parse(definition, _text(value), FILE_LOCALE) or ""


def _field(name: str, value, units: dict, extra: dict[str, CustomField]) -> str:
    """A text column's value, checked; raises ValueError with the message."""
    if name in extra:
        return _custom(extra[name], value)
    text = _text(value)
    if not text:
        if name in REQUIRED:
            raise ValueError(_("a value is required."))
        return text
    if name == UNIT:
        if text.casefold() not in units:
            raise ValueError(
                _('unknown unit "%(unit)s"; choose one from the sheet "%(sheet)s".', unit=text,
                  sheet=UNITS_SHEET)
            )  # fmt: skip
        return units[text.casefold()]
    if name == POLARITY:
        if text.casefold() not in POLARITIES:
            raise ValueError(_('"%(value)s" is not allowed; write max or min.', value=text))
        return text.casefold()
    limit = COLUMNS[name].type.length
    if limit and len(text) > limit:
        raise ValueError(
            _("the text is too long: %(length)s characters, at most %(limit)s.",
              length=len(text), limit=limit)
        )  # fmt: skip
    return text


def _target(dossier: Dossier, year: int, value) -> Decimal:
    """A target cell as a number; raises ValueError with the message."""
    if year not in dossier.years:
        raise ValueError(
            _("the year %(year)s lies outside the dossier's period %(period)s.", year=year,
              period=dossier.period_label)
        )  # fmt: skip
    if isinstance(value, str):
        number = parse_number(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        # Excel stores binary fractions: 0.1 + 0.2 arrives as 0.30000000000000004.
        number = Decimal(repr(round(value, 9)))
    else:
        raise ValueError(_("a target must be a number."))
    if not number.is_finite() or abs(number) >= MAX_TARGET:
        raise ValueError(_("the number is too large."))
    if number != number.quantize(CENT):
        raise ValueError(_("a target has at most two decimals."))
    return number.quantize(CENT)


def parse_number(text: str) -> Decimal:
    """A number written the Indonesian way ("1.234,5"); raises ValueError with the message."""
    shown = text.strip()
    digits = shown.removeprefix("-")
    if _AMBIGUOUS.fullmatch(digits):
        raise ValueError(
            _('"%(value)s" is ambiguous (thousands or decimals?). Enter it as a number cell, or '
              "write it without the dot or comma.", value=shown)
        )  # fmt: skip
    if not (_PLAIN.fullmatch(digits) or _GROUPED.fullmatch(digits)):
        raise ValueError(
            _('"%(value)s" is not a number. Enter a number, or text such as 1.234,5.', value=shown)
        )
    return Decimal(shown.replace(".", "").replace(",", "."))


# --- Importing --------------------------------------------------------------------------------


def importable_dossiers(session: Session) -> list[Dossier]:
    """Open dossiers whose IKU content can still be changed, newest first."""
    dossiers = session.scalars(
        select(Dossier)
        .where(Dossier.status == "in_progress")
        .options(
            selectinload(Dossier.current_step), selectinload(Dossier.sop).selectinload(Sop.steps)
        )
        .order_by(Dossier.id.desc())
    )
    return [d for d in dossiers if d.carries_iku and not workflow.is_content_locked(d)]


def import_workbook(
    session: Session,
    dossier: Dossier,
    filename: str,
    data: bytes,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImportResult:
    """Import a filled template into a dossier still being drafted, all or nothing.

    Raises ``workflow.WorkflowError`` when the dossier's content is locked or the dossier
    changed meanwhile, and ``ImportRefused`` (listing every problem) for a bad file.
    """
    workflow.ensure_content_editable(dossier)
    rows = read_rows(filename, data, max_bytes)
    objectives = session.scalars(
        select(StrategicObjective)
        .where(StrategicObjective.dossier_id == dossier.id)
        .options(selectinload(StrategicObjective.indicators))
    ).all()
    existing = [(o.name, i.name) for o in objectives for i in o.indicators]
    parsed = parse_rows(dossier, rows, existing)
    _claim(session, dossier)

    result = ImportResult()
    by_name = {o.name.casefold(): o for o in objectives}
    last_order = {
        key: max((i.order for i in o.indicators), default=0) for key, o in by_name.items()
    }
    last_objective = max((o.order for o in objectives), default=0)
    for row in parsed:
        key = row.objective.casefold()
        objective = by_name.get(key)
        if objective is None:
            last_objective += 1
            objective = StrategicObjective(
                dossier_id=dossier.id, name=row.objective, order=last_objective
            )
            session.add(objective)
            by_name[key], last_order[key] = objective, 0
            result.objectives += 1
        last_order[key] += 1
        order = last_order[key]
        targets = [IndicatorTarget(year=y, target=t) for y, t in sorted(row.targets.items())]
        objective.indicators.append(Indicator(**row.fields, order=order, targets=targets))
        result.indicators += 1
        result.targets += len(targets)
    session.commit()
    return result


def _claim(session: Session, dossier: Dossier) -> None:
    """Compare-and-set on the dossier, as a workflow transition does: of an import and a
    transition (or a second import) racing, exactly one goes through."""
    claimed = session.execute(
        update(Dossier)
        .where(
            Dossier.id == dossier.id,
            Dossier.version == dossier.version,
            Dossier.current_step_id == dossier.current_step_id,
            Dossier.status == "in_progress",
        )
        .values(version=Dossier.version + 1)
    ).rowcount
    if not claimed:
        session.rollback()
        raise workflow.WorkflowError(
            _("This dossier changed while the file was being imported. Check its state and "
              "try again.")
        )  # fmt: skip
