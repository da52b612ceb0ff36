"""Language and formats: Indonesian by default, English per user."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask import current_app, request, session
from flask_admin.babel import Translations as AdminTranslations
from flask_babel import Domain, format_date, format_datetime, format_decimal
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


def fmt_number(value: int | float | Decimal | None) -> str:
    """A number with the locale's separators: 1.234,5 in Indonesian."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.##")


_wtforms_domain = Domain(str(TRANSLATIONS), domain="wtforms")


class FormTranslations(AdminTranslations):
    """WTForms' built-in messages from our catalog (WTForms ships no Indonesian one)."""

    def gettext(self, string: str) -> str:
        return _wtforms_domain.get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_domain.get_translations().ungettext(singular, plural, n)
