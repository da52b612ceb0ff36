"""Language and formats: Indonesian by default, English per user."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import current_app, request, session
from flask_admin.babel import Translations as AdminTranslations
from flask_babel import Domain, format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}

__all__ = ["LANGUAGES", "TRANSLATIONS", "_", "_l", "fmt_date", "fmt_number", "select_locale"]


def select_locale() -> str:
    """The signed-in user's language, else the session's, else the configured default."""
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = session.get("locale") if request else None
    if chosen in LANGUAGES:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def fmt_date(value: date | datetime | None) -> str:
    """A date the Indonesian way: "27 November 2026"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "d MMMM y HH.mm")
    return format_date(value, "d MMMM y")


@functools.cache
def _separators(locale: str) -> dict[int, str]:
    return {ord(","): get_group_symbol(locale), ord("."): get_decimal_symbol(locale)}


def fmt_number(
    value: int | float | Decimal | None, *, exact: bool = False, grouping: bool = True
) -> str:
    """A number with the locale's separators and at most two decimals: 1.234,5 in Indonesian.

    The same as Babel's ``format_decimal(value, "#,##0.##")`` (rounding half to even), done
    with Python's own formatting: pages such as the dashboard format hundreds of numbers.
    ``exact`` keeps every decimal the value has (a form showing a stored value to be edited
    must not round it); ``grouping=False`` leaves out the thousands separator (years).
    """
    if value is None:
        return ""
    spec = "," if grouping else ""
    if isinstance(value, int):
        text = f"{value:{spec}}"
    else:
        number = Decimal(str(value))
        if not number.is_finite():
            return format_decimal(value, format="#,##0.##")
        if not exact:
            number = number.quantize(_CENTS, ROUND_HALF_EVEN)
        text = f"{number:{spec}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
    return text.translate(_separators(str(get_locale())))


_CENTS = Decimal("0.01")


_wtforms_domain = Domain(str(TRANSLATIONS), domain="wtforms")


class FormTranslations(AdminTranslations):
    """WTForms' built-in messages from our catalog (WTForms ships no Indonesian one)."""

    def gettext(self, string: str) -> str:
        return _wtforms_domain.get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_domain.get_translations().ungettext(singular, plural, n)
