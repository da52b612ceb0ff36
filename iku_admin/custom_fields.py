"""Custom fields (``models.CustomField``): which are defined, and how their values are read,
shown and exported. The one home of what each kind of field means.

A value is stored in its row's ``extra`` (code -> text) in a canonical form, whatever the
language it was typed in: text as typed (one line), a number as a plain decimal ("1150.25"),
a date in ISO form ("2026-12-31"), a choice as one of the field's choices. An empty field has
no key.

Plain Python and SQLAlchemy: no Flask import at the top (messages are translated by the
caller's Flask-Babel when a function runs), like ``calendar.py``; ``request_fields`` is the one
place that keeps the definitions for the rest of a request.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_decimal
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from models.fields import ENTITIES, KINDS, CustomField
from models.validation import (
    DATE_FORMAT_MESSAGE,
    N_,
    date_error,
    parse_date,
    single_line_error,
)

__all__ = ["ENTITIES", "KINDS", "defined", "display", "is_filled", "parse",
           "request_fields", "typed"]  # fmt: skip

MAX_TEXT = 500
MAX_DIGITS = 15
# Where a request keeps the definitions it read (``flask.g``).
_CACHE = "iku_custom_fields"


def defined(session: Session, entity: str) -> list[CustomField]:
    """The active fields of ``entity`` ("dossier" or "indicator") in their order: one query."""
    return list(
        session.scalars(
            select(CustomField)
            .where(CustomField.entity == entity, CustomField.active)
            .order_by(CustomField.position, CustomField.id)
        )
    )


def request_fields(session: Session, entity: str) -> list[CustomField]:
    """``defined``, read at most once per request (kept in ``flask.g``, which each request
    starts without; a change to a definition drops it). Outside a request: read each time."""
    from flask import g, has_app_context

    if not has_app_context():
        return defined(session, entity)
    cache = g.setdefault(_CACHE, {})
    if entity not in cache:
        cache[entity] = defined(session, entity)
    return cache[entity]


def forget() -> None:
    """Drop the definitions kept for this request (a new request, or a definition changed)."""
    from flask import g, has_app_context

    if has_app_context():
        g.pop(_CACHE, None)


@event.listens_for(Session, "after_flush")
def _definitions_changed(session: Session, flush_context) -> None:
    if any(isinstance(o, CustomField) for o in (*session.new, *session.dirty, *session.deleted)):
        forget()


def is_filled(obj, code: str) -> bool:
    """Whether ``obj`` (a dossier or an indicator) has a value for ``code``: a built-in
    column's (not blank), else a custom field's."""
    if code in inspect(type(obj)).column_attrs:
        value = getattr(obj, code)
        return value is not None and (not isinstance(value, str) or bool(value.strip()))
    return bool((getattr(obj, "extra", None) or {}).get(code))


def value_of(obj, field: CustomField) -> str | None:
    """The stored value of ``field`` on ``obj`` (None when empty)."""
    return (getattr(obj, "extra", None) or {}).get(field.code) or None


def _gettext(message: str, **values) -> str:
    from .i18n import _

    return _(message, **values)


def parse(field: CustomField, raw: str | None, locale: str) -> str | None:
    """What a person typed for ``field`` (numbers as ``locale`` writes them) as the value to
    store, or None when empty. Raises ``ValueError`` with the translated message."""
    text = (raw or "").strip()
    if not text:
        return None
    if field.kind == "number":
        return _number(text, locale)
    if field.kind == "date":
        day = parse_date(text)
        if day is None:
            raise ValueError(_gettext(DATE_FORMAT_MESSAGE))
        if date_error(day):
            raise ValueError(_gettext(date_error(day)))
        return day.isoformat()
    if single_line_error(text):
        raise ValueError(_gettext(single_line_error(text)))
    if field.kind == "choice":
        choices = {choice.casefold(): choice for choice in field.choice_list}
        if text.casefold() not in choices:
            raise ValueError(
                _gettext(N_("“%(value)s” is not one of the choices: %(choices)s."),
                         value=text[:100], choices=", ".join(field.choice_list))
            )  # fmt: skip
        return choices[text.casefold()]
    if len(text) > MAX_TEXT:
        raise ValueError(
            _gettext(N_("At most %(limit)s characters (now %(length)s)."), limit=MAX_TEXT,
                     length=len(text))
        )  # fmt: skip
    return text


def _number(text: str, locale: str) -> str:
    from .numbers import UNBOUNDED, Bounds, NumberError  # with Flask-Admin's form converters

    try:
        number = Decimal(Bounds(-UNBOUNDED, UNBOUNDED, None).parse(text, locale))
    except NumberError as error:
        raise ValueError(str(error)) from None
    digits = number.normalize().as_tuple()
    if len(digits.digits) > MAX_DIGITS or digits.exponent < -MAX_DIGITS:
        raise ValueError(_gettext(N_("At most %(n)s digits."), n=MAX_DIGITS))
    return _canonical(number)


def _canonical(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def typed(field: CustomField, value: str | None):
    """A stored value as a typed cell: a Decimal for a number, a date for a date, else text
    (None when empty, or when a stored value no longer reads as its kind)."""
    if not value:
        return None
    try:
        if field.kind == "number":
            return Decimal(value)
        if field.kind == "date":
            return date.fromisoformat(value)
    except (ArithmeticError, ValueError):
        return value
    return value


def display(field: CustomField, value: str | None, locale: str) -> str:
    """A stored value as ``locale`` shows it: "1.150,25", "31 Desember 2026", the text."""
    cell = typed(field, value)
    if cell is None:
        return ""
    if isinstance(cell, Decimal):
        return format_decimal(cell, locale=locale, decimal_quantization=False)
    if isinstance(cell, date):
        return format_date(cell, "d MMMM y", locale=locale)
    return cell


def editable(field: CustomField, value: str | None, locale: str, date_input: bool = True) -> str:
    """A stored value as a form shows it to be edited: a number as ``locale`` writes it
    (without grouping), a date in ISO form (what a date input reads) or, in a text box
    (``date_input=False``), as dd/mm/yyyy, else the text."""
    cell = typed(field, value)
    if cell is None:
        return ""
    if isinstance(cell, Decimal):
        return format_decimal(cell, format="0.##############", locale=locale,
                              decimal_quantization=False)  # fmt: skip
    if isinstance(cell, date):
        return cell.isoformat() if date_input else cell.strftime("%d/%m/%Y")
    return cell
