"""The IKU editor's rows: a dossier's strategic objectives, indicators and yearly targets as one
grid, read from the database for the dossier page and saved back from it all or nothing.

No request context inside: the view passes the posted row keys and values.

The grid arrives as one ordered list of row keys (the form field ``row``), objectives and
indicators interleaved as the page shows them: an indicator belongs to the objective above
it, and the order of the list is the order of the rows, so moving a row on the page is all it
takes to reorder or regroup it. A row's fields are named after its key (``o12-name``,
``i45-unit``, ``i45-t2027``, ``i45-x-alasan`` for a custom field). A stored row's key carries
its id (``o12``, ``i45``); a row added on the page has a key of its own (``onew3``,
``inew7``); a key whose id is not a row of the dossier (deleted meanwhile) is a new row.

Saving checks the whole grid first (every problem gets its message, keyed by field name) and
writes nothing unless all is well; then it writes only what differs from what is stored, in
one transaction whose dossier version check makes a concurrent change fail the whole save.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from models import (
    CustomField,
    Dossier,
    Indicator,
    IndicatorTarget,
    IndicatorUnit,
    StrategicObjective,
)
from models.dossier import POLARITIES
from models.validation import single_line_error

from . import custom_fields, requirements, workflow
from .i18n import _, fmt_number
from .numbers import Bounds, NumberError

KEY = re.compile(r"([oi])(new)?([0-9]{1,12})")
# The indicator's text fields, in the order of the official table.
INDICATOR_FIELDS = ("name", "definition", "unit", "polarity", "baseline", "data_source",
                    "responsible")  # fmt: skip
MULTI_LINE = {"definition"}
MAX_ROWS = 2000  # objectives and indicators together: far above any IKU
TARGET_BOUNDS = Bounds.of(IndicatorTarget.__table__.c.target.type)
# A custom field's form field in a row: ``{key}-x-{code}`` (a code may look like ``t2027``).
EXTRA = "x-"


def extra_name(key: str, code: str) -> str:
    """The form field of a custom field in the row ``key``."""
    return f"{key}-{EXTRA}{code}"


class MalformedGrid(ValueError):
    """A post no page of ours sends (unknown keys, an indicator before any objective)."""


class GridInvalid(Exception):
    """Values that cannot be saved; ``errors`` maps a field name to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(f"{len(errors)} invalid fields")
        self.errors = errors


class GridStale(Exception):
    """The dossier's content changed since the page was loaded; nothing was written."""


@dataclass
class IndicatorRow:
    key: str
    id: int | None
    values: dict[str, str]  # field -> text, as typed
    targets: dict[int, str]  # year -> text, as typed
    gaps: dict[str, str] = field(default_factory=dict)  # what the IKU check still misses
    extra: dict[str, str] = field(default_factory=dict)  # custom field code -> text, as typed

    @property
    def blank(self) -> bool:
        """Nothing typed (the polarity has a default, so it does not count)."""
        texts = [v for k, v in self.values.items() if k != "polarity"]
        return not any(t.strip() for t in [*texts, *self.targets.values(), *self.extra.values()])


@dataclass
class ObjectiveRow:
    key: str
    id: int | None
    name: str
    indicators: list[IndicatorRow] = field(default_factory=list)


@dataclass
class SaveResult:
    changed: bool


def _new_key(kind: str, number: int) -> str:
    return f"{kind}new{number}"


def blank_grid(dossier: Dossier) -> list[ObjectiveRow]:
    """An empty IKU: one objective with one indicator to type into."""
    indicator = IndicatorRow(
        _new_key("i", 2), None, _blank_values(), dict.fromkeys(dossier.years, "")
    )
    return [ObjectiveRow(_new_key("o", 1), None, "", [indicator])]


@dataclass
class NewRows:
    """The rows the page copies to add an objective or an indicator; the browser replaces
    ``NEW`` in their keys with ``new`` and a number of its own."""

    objective: ObjectiveRow
    indicator: IndicatorRow


NEW = "__NEW__"


def new_rows(dossier: Dossier) -> NewRows:
    indicator = IndicatorRow(f"i{NEW}", None, _blank_values(), dict.fromkeys(dossier.years, ""))
    return NewRows(ObjectiveRow(f"o{NEW}", None, ""), indicator)


def _blank_values() -> dict[str, str]:
    return {name: ("max" if name == "polarity" else "") for name in INDICATOR_FIELDS}


def load(session: Session, dossier: Dossier) -> list[StrategicObjective]:
    """The dossier's objectives with their indicators and targets, in order."""
    return session.scalars(
        select(StrategicObjective)
        .where(StrategicObjective.dossier_id == dossier.id)
        .options(selectinload(StrategicObjective.indicators).selectinload(Indicator.targets))
        .order_by(StrategicObjective.order, StrategicObjective.id)
    ).all()


def rows_of(
    dossier: Dossier,
    objectives: list[StrategicObjective],
    check: bool,
    fields: Iterable[CustomField] = (),
) -> list[ObjectiveRow]:
    """The stored content as grid rows, numbers written as the user's locale writes them;
    with ``check``, each indicator says what the IKU check still misses. ``fields``: the
    active custom indicator fields."""
    locale = str(get_locale())
    grid = []
    for objective in objectives:
        row = ObjectiveRow(f"o{objective.id}", objective.id, objective.name)
        for indicator in objective.indicators:
            targets = {t.year: t.target for t in indicator.targets}
            row.indicators.append(
                IndicatorRow(
                    f"i{indicator.id}",
                    indicator.id,
                    {name: getattr(indicator, name) or "" for name in INDICATOR_FIELDS},
                    {year: fmt_number(targets.get(year), exact=True) for year in dossier.years},
                    requirements.indicator_gaps(indicator, dossier.years) if check else {},
                    _editable(indicator, fields, locale),
                )
            )
        grid.append(row)
    return grid or blank_grid(dossier)


def _editable(indicator: Indicator, fields: Iterable[CustomField], locale: str) -> dict:
    """The indicator's custom values as the grid's text boxes show them."""
    return {
        f.code: custom_fields.editable(f, custom_fields.value_of(indicator, f), locale, False)
        for f in fields
    }


def parse(
    dossier: Dossier,
    keys: list[str],
    form: Mapping[str, str],
    fields: Iterable[CustomField] = (),
) -> list[ObjectiveRow]:
    """The posted grid, as typed (``fields``: the active custom indicator fields). Raises
    ``MalformedGrid`` for a post the page never sends."""
    fields = list(fields)
    if len(keys) > MAX_ROWS:
        raise MalformedGrid("too many rows")
    grid: list[ObjectiveRow] = []
    seen: set[str] = set()
    for key in keys:
        match = KEY.fullmatch(key)
        if not match or key in seen:
            raise MalformedGrid(key)
        seen.add(key)
        kind, new, number = match.groups()
        row_id = None if new else int(number)
        if kind == "o":
            grid.append(ObjectiveRow(key, row_id, form.get(f"{key}-name", "")))
            continue
        if not grid:
            raise MalformedGrid("an indicator before any objective")
        values = {name: form.get(f"{key}-{name}", "") for name in INDICATOR_FIELDS}
        targets = {year: form.get(f"{key}-t{year}", "") for year in dossier.years}
        # A field the page did not have (opened before it was added) is left as stored.
        names = {f.code: extra_name(key, f.code) for f in fields}
        extra = {code: form[name] for code, name in names.items() if name in form}
        grid[-1].indicators.append(IndicatorRow(key, row_id, values, targets, extra=extra))
    return grid


# --- checking ---------------------------------------------------------------------------------


@dataclass
class _Clean:
    """A row's values as they are to be stored."""

    row: IndicatorRow | ObjectiveRow
    values: dict[str, str]
    targets: dict[int, object] = field(default_factory=dict)  # year -> Decimal, or None
    indicators: list[_Clean] = field(default_factory=list)
    extra: dict[str, str | None] = field(default_factory=dict)  # custom code -> value


def _text(model, name: str, value: str, required: bool) -> tuple[str, str | None]:
    """A text field, stripped, and its problem, if any. A browser posts a text area's line
    breaks as CRLF: stored as LF (what the page shows), a page saved unchanged stays as it is."""
    text = value.replace("\r\n", "\n").strip()
    if required and not text:
        return text, _("This field is required.")
    if name not in MULTI_LINE and single_line_error(text):
        return text, _(single_line_error(text))
    limit = getattr(model.__table__.c[name].type, "length", None)
    if limit and len(text) > limit:
        return text, _("At most %(limit)s characters (now %(length)s).", limit=limit,
                       length=len(text))  # fmt: skip
    return text, None


def _indicator(
    row: IndicatorRow, errors: dict[str, str], units: dict[str, str], fields: list[CustomField]
) -> _Clean:
    values: dict[str, str] = {}
    for name in INDICATOR_FIELDS:
        raw = row.values.get(name, "")
        if name == "unit":
            text = raw.strip()
            values[name] = units.get(text.casefold(), text)
            if text and text.casefold() not in units:
                errors[f"{row.key}-{name}"] = _("Unknown unit: choose one from the list.")
        elif name == "polarity":
            values[name] = raw.strip()
            if values[name] not in POLARITIES:
                errors[f"{row.key}-{name}"] = _("Choose the polarity from the list.")
        else:
            values[name], problem = _text(Indicator, name, raw, required=name == "name")
            if problem:
                errors[f"{row.key}-{name}"] = problem
    clean = _Clean(row, values)
    for year, raw in row.targets.items():
        if not raw.strip():
            clean.targets[year] = None
            continue
        try:
            clean.targets[year] = TARGET_BOUNDS.parse(raw)
        except NumberError as error:
            errors[f"{row.key}-t{year}"] = str(error)
    locale = str(get_locale())
    for definition in fields:
        if definition.code not in row.extra:
            continue
        try:
            clean.extra[definition.code] = custom_fields.parse(
                definition, row.extra[definition.code], locale
            )
        except ValueError as error:
            errors[extra_name(row.key, definition.code)] = str(error)
    return clean


def check(
    grid: list[ObjectiveRow], units: Iterable[str], fields: Iterable[CustomField] = ()
) -> tuple[list[_Clean], dict[str, str]]:
    """The grid's rows as they are to be stored (new rows left blank are left out), and the
    problems: field name -> message. ``units``: the unit names of the list; ``fields``: the
    active custom indicator fields."""
    units = {name.casefold(): name for name in units}
    fields = list(fields)
    errors: dict[str, str] = {}
    objectives: list[_Clean] = []
    for objective in grid:
        indicators = [i for i in objective.indicators if i.id is not None or not i.blank]
        if objective.id is None and not objective.name.strip() and not indicators:
            continue
        name, problem = _text(StrategicObjective, "name", objective.name, required=True)
        if problem:
            errors[f"{objective.key}-name"] = problem
        clean = _Clean(objective, {"name": name})
        clean.indicators = [_indicator(i, errors, units, fields) for i in indicators]
        objectives.append(clean)
    return objectives, errors


# --- saving -----------------------------------------------------------------------------------


def save(
    session: Session,
    dossier: Dossier,
    seen_version: int,
    grid: list[ObjectiveRow],
    fields: Iterable[CustomField] = (),
) -> SaveResult:
    """Store the grid as the dossier's IKU content: all of it, or nothing.

    Raises ``workflow.WorkflowError`` when the content is locked, ``GridStale`` when the
    dossier changed since ``seen_version`` (also when that happens during the save), and
    ``GridInvalid`` with every problem of the grid.
    """
    workflow.ensure_content_editable(dossier)
    if seen_version != dossier.version:
        raise GridStale()
    objectives, errors = check(grid, IndicatorUnit.names(session), fields)
    if errors:
        raise GridInvalid(errors)
    stored = load(session, dossier)
    try:
        with session.no_autoflush:
            _apply(session, dossier, stored, objectives)
        changed = bool(session.new or session.deleted) or any(
            session.is_modified(row) for row in session.dirty
        )
        session.commit()
    except (StaleDataError, IntegrityError):
        # Someone else wrote meanwhile (the dossier's version check at the flush, or a row
        # they added first): nothing of ours stays.
        session.rollback()
        raise GridStale() from None
    except Exception:
        session.rollback()
        raise
    return SaveResult(changed)


def _set(row, values: dict) -> None:
    """Assign only what differs (an unchanged row is no UPDATE and no audit entry)."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def _apply(session: Session, dossier: Dossier, stored: list[StrategicObjective],
           objectives: list[_Clean]) -> None:  # fmt: skip
    old_objectives = {o.id: o for o in stored}
    old_indicators = {i.id: i for o in stored for i in o.indicators}
    kept_objectives: set[int] = set()
    kept_indicators: set[int] = set()
    for number, clean in enumerate(objectives, start=1):
        objective = old_objectives.get(clean.row.id)
        if objective is None:
            objective = StrategicObjective(dossier=dossier, name=clean.values["name"], order=number)
            session.add(objective)
        else:
            _set(objective, {**clean.values, "order": number})
            kept_objectives.add(objective.id)
        for position, item in enumerate(clean.indicators, start=1):
            indicator = old_indicators.get(item.row.id)
            if indicator is None:
                indicator = Indicator(**item.values, order=position, extra=_extra({}, item))
                objective.indicators.append(indicator)
            else:
                extra = _extra(indicator.extra, item)
                _set(indicator, {**item.values, "order": position, "extra": extra})
                if indicator.objective is not objective:
                    indicator.objective = objective
                kept_indicators.add(indicator.id)
            _targets(indicator, item.targets)
    for indicator_id, indicator in old_indicators.items():
        if indicator_id not in kept_indicators:
            session.delete(indicator)
    for objective_id, objective in old_objectives.items():
        if objective_id not in kept_objectives:
            session.delete(objective)


def _extra(stored: dict | None, item: _Clean) -> dict[str, str]:
    """The custom values to store: the grid's, and those of fields it does not show
    (deactivated ones keep their values)."""
    kept = {k: v for k, v in (stored or {}).items() if k not in item.extra}
    return {**kept, **{k: v for k, v in item.extra.items() if v}}


def _targets(indicator: Indicator, targets: dict[int, object]) -> None:
    """One target per year of the period as typed; an emptied year loses its target. Targets
    of years outside the period (from an earlier period) are not shown, so not touched."""
    by_year = {t.year: t for t in indicator.targets}
    for year, value in targets.items():
        target = by_year.get(year)
        if value is None:
            if target is not None:
                indicator.targets.remove(target)
        elif target is None:
            indicator.targets.append(IndicatorTarget(year=year, target=value))
        elif target.target != value:
            target.target = value
