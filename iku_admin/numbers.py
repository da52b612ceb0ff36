"""Numbers as people type them: in their own locale, within what the column holds.

A number field is a text box (``inputmode`` brings up the phone's number keyboard), never an
``<input type="number">``: such a box reads a decimal comma by the *browser's* locale and may
drop it, so an Indonesian "88,5" could reach the server as 885. The server reads the text
with Babel in the user's locale, strictly: a number whose separators do not fit the locale
("1,150.25" or "1.15" in Indonesian) is refused with a message, never read as another number.

Every number column of every Flask-Admin form gets these fields through ``NumberConverter``
(the base view's ``model_form_converter``); the list filters read their values through
``Bounds.parse`` as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, parse_decimal
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.form import converts
from flask_babel import get_locale
from wtforms import DecimalField, IntegerField
from wtforms.widgets import TextInput

from .i18n import _, fmt_number

__all__ = ["Bounds", "LocaleDecimalField", "LocaleIntegerField", "NumberConverter", "NumberError"]

# Longer text is no number anyone types (and would only make Babel work harder).
MAX_LENGTH = 60
# A column of unknown precision: the digits a double holds exactly.
UNBOUNDED = Decimal(10) ** 15 - 1


class NumberError(ValueError):
    """A typed number that was refused; its text is the message for the user."""


@dataclass(frozen=True)
class Bounds:
    """What a column holds: the smallest and the largest value, and how many decimals (0 for
    an integer column, None when any)."""

    low: Decimal
    high: Decimal
    places: int | None

    @classmethod
    def of(cls, column_type: sa.types.TypeEngine) -> Bounds:
        if isinstance(column_type, sa.Integer):
            bits = 16 if isinstance(column_type, sa.SmallInteger) else 32
            bits = 64 if isinstance(column_type, sa.BigInteger) else bits
            high = Decimal(2 ** (bits - 1) - 1)
            low = Decimal(0) if getattr(column_type, "unsigned", False) else -high - 1
            return cls(low, high, 0)
        scale = getattr(column_type, "scale", None)
        precision = getattr(column_type, "precision", None)
        exact = isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float)
        if exact and precision and scale is not None:
            high = Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)
            return cls(-high, high, scale)
        return cls(-UNBOUNDED, UNBOUNDED, None)

    def parse(self, text: str, locale: str | None = None) -> int | Decimal:
        """``text`` as ``locale`` (by default the current one) writes numbers: an ``int`` for
        an integer column, else a ``Decimal``. Raises ``NumberError`` with the user's
        message."""
        text, locale = text.strip(), locale or str(get_locale())
        try:
            # Babel would also read "1E5", "NaN" and "Infinity", and digits of other scripts
            # ("١٢", "𝟙"): nobody here types those.
            if len(text) > MAX_LENGTH or not text.isascii() or any(c.isalpha() for c in text):
                raise NumberFormatError(text)
            number = parse_decimal(text, locale=locale, strict=True)
        except (NumberFormatError, ArithmeticError):
            raise NumberError(
                _("“%(value)s” is not a valid number. Write it like %(example)s: “%(decimal)s” "
                  "before the decimals, “%(group)s” between thousands (may be left out).",
                  value=text[:MAX_LENGTH], example=fmt_number(Decimal("1234.5")),
                  decimal=get_decimal_symbol(locale), group=get_group_symbol(locale))
            ) from None  # fmt: skip
        if not self.low <= number <= self.high:
            raise NumberError(
                _("Enter a number between %(low)s and %(high)s.",
                  low=fmt_number(self.low, exact=True), high=fmt_number(self.high, exact=True))
            )  # fmt: skip
        if self.places == 0:
            if number != number.to_integral_value():
                raise NumberError(_("Enter a whole number, without decimals."))
            return int(number)
        if self.places is not None and number != number.quantize(Decimal(1).scaleb(-self.places)):
            raise NumberError(_("Enter at most %(places)s decimals.", places=self.places))
        return number


class _LocaleNumber:
    """A text box for a number in the user's locale, shown back the same way."""

    widget = TextInput()
    inputmode = "decimal"
    grouping = True  # shown with the thousands separator

    def __init__(self, label=None, validators=None, *, bounds: Bounds, render_kw=None, **kw):
        render_kw = {"inputmode": self.inputmode, **(render_kw or {})}
        super().__init__(label, validators, render_kw=render_kw, **kw)
        self.bounds = bounds

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data = None
        if not valuelist[0].strip():
            raise NumberError(_("Enter a number."))
        self.data = self.bounds.parse(valuelist[0])

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]  # what was typed, as it was typed
        return fmt_number(self.data, exact=True, grouping=self.grouping)


class LocaleDecimalField(_LocaleNumber, DecimalField):
    """A decimal number: "88,5" or "1.150,25" in Indonesian, "1,150.25" in English."""

    def __init__(self, label=None, validators=None, *, bounds: Bounds | None = None, **kw):
        super().__init__(label, validators, bounds=bounds or Bounds.of(sa.Numeric()), **kw)


class LocaleIntegerField(_LocaleNumber, IntegerField):
    """A whole number, shown without the thousands separator (most are years and counts);
    typed with it ("1.150") it is read all the same."""

    inputmode = "numeric"
    grouping = False

    def __init__(self, label=None, validators=None, *, bounds: Bounds | None = None, **kw):
        super().__init__(label, validators, bounds=bounds or Bounds.of(sa.Integer()), **kw)


class NumberConverter(AdminModelConverter):
    """Flask-Admin's model form converter, with a locale number field for every number
    column, bounded by that column's type."""

    @converts("Integer")  # includes BigInteger and SmallInteger
    def handle_integer_types(self, column, field_args, **extra) -> LocaleIntegerField:
        return LocaleIntegerField(bounds=Bounds.of(column.type), **field_args)

    @converts("Numeric")  # includes Float
    def handle_decimal_types(self, column, field_args, **extra) -> LocaleDecimalField:
        return LocaleDecimalField(bounds=Bounds.of(column.type), **field_args)
