"""Field rules shared by the models and the forms.

Messages are English gettext message ids; the user interface translates them.
A rule returns ``None`` when the value is acceptable, otherwise the message id.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# A code chosen once, which data refers to (a role's, a custom field's): a lowercase
# identifier, e.g. "kepala_dinas" or "alasan_pemilihan".
CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def fixed_code(obj, value: str | None, changed: str, malformed: str) -> str:
    """``value`` as the ``code`` of ``obj``, stripped. Refused (``RuleError``) with ``changed``
    when ``obj`` is stored under another code, with ``malformed`` when it is not a ``CODE``."""
    from sqlalchemy import inspect  # local: the other rules here need no SQLAlchemy

    value = (value or "").strip()
    if inspect(obj).has_identity and value != obj.code:
        raise RuleError(changed)
    if not CODE.fullmatch(value):
        raise RuleError(malformed)
    return value


def N_(message: str) -> str:
    """Mark a message for translation without translating it here (no Flask needed)."""
    return message


class RuleError(ValueError):
    """A value a model refuses; the message is the rule's message id (fit to show translated),
    unlike the text of any other ValueError, with the values it names (``params``)."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return self.message % self.params if self.params else self.message


# What an Integer column holds on every engine (PostgreSQL's integer): -INT_LIMIT <= n < INT_LIMIT.
INT_LIMIT = 2**31
INTEGER = re.compile(r"-?[0-9]+")


def parse_integer(text: str | None, minimum: int = -INT_LIMIT) -> int | None:
    """``text`` as an integer an Integer column holds, from ``minimum`` on; None otherwise.

    Only ASCII digits count: ``int()`` would also read "١٢" or "𝟙" (as 12 and 1), a number
    other than the one shown, and refuse "²" although ``str.isdigit()`` accepts it.
    """
    text = (text or "").strip()
    if not INTEGER.fullmatch(text) or len(text) > 12:
        return None
    number = int(text)
    return number if minimum <= number < INT_LIMIT else None


# Years a date a person enters may have (letters, days off, filters): any real record, and far
# from the ends of what Python and the databases hold, so that shifting it to UTC or counting
# days from it cannot overflow.
DATE_YEARS = range(1900, 3000)


def date_error(value: date | None) -> str | None:
    """A date must lie in ``DATE_YEARS``."""
    if value is not None and value.year not in DATE_YEARS:
        return N_("The date must lie between the years 1900 and 2999.")
    return None


# How people write a date: the ISO form a date input sends (2026-12-31), or the Indonesian
# day/month/year (31/12/2026) where there is no date picker. ASCII digits only: the int of
# other scripts' digits would give a date other than the one shown.
DATE_FORMS = (
    re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"),
    re.compile(r"(?P<day>[0-9]{1,2})/(?P<month>[0-9]{1,2})/(?P<year>[0-9]{4})"),
)
DATE_FORMAT_MESSAGE = N_("Enter the date as dd/mm/yyyy, for example 31/12/2026.")


def parse_date(text: str | None) -> date | None:
    """``text`` as a date in one of ``DATE_FORMS``; None when it is none, or no such day."""
    text = (text or "").strip()
    for form in DATE_FORMS:
        match = form.fullmatch(text)
        if match:
            try:
                return date(*(int(match[part]) for part in ("year", "month", "day")))
            except ValueError:  # 2026-13-01, 32/01/2026, 29/02/2027
                return None
    return None


def single_line_error(text: str | None) -> str | None:
    """A single-line text (a number, a title, a name) holds no line break nor other control
    character."""
    if text and any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text):
        return N_("This field is a single line: remove line breaks and control characters.")
    return None


def nip_error(nip: str | None) -> str | None:
    """Check a civil-servant number (NIP): empty, or 18 digits that make sense.

    The 18 digits are the birth date (YYYYMMDD), the appointment year and month
    (YYYYMM, not before birth), the gender digit (1 or 2) and a 3-digit sequence.
    """
    if not nip:
        return None
    digits = nip.replace(" ", "")
    if len(digits) != 18 or not digits.isdigit():
        return N_("NIP must be exactly 18 digits.")
    try:
        born = date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return N_("The first 8 digits of the NIP must be a valid birth date (YYYYMMDD).")
    year, month = int(digits[8:12]), int(digits[12:14])
    if not 1 <= month <= 12:
        return N_("Digits 9-14 of the NIP must be the appointment year and month (YYYYMM).")
    if (year, month) < (born.year, born.month):
        return N_("The appointment date in the NIP cannot be before the birth date.")
    if digits[14] not in "12":
        return N_("Digit 15 of the NIP (gender) must be 1 or 2.")
    return None


def format_nip(nip: str | None) -> str:
    """Show a NIP the official way: ``19700930 199703 1 003``."""
    if not nip or len(nip) != 18:
        return nip or ""
    return f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"


# Standard-time units of the SOP sheet and their length in working minutes.
# One working day ("1 hari") is 7.5 working hours (37.5 hours over 5 days).
TIME_UNITS: dict[str, int] = {"menit": 1, "jam": 60, "hari": 450}


def standard_minutes(value: int, unit: str) -> int:
    """Working minutes of a standard time such as (1, "hari") -> 450."""
    return value * TIME_UNITS[unit]


# The indicator units (Satuan) a new database starts with; the list is then kept in the
# panel (``IndicatorUnit``).
INDICATOR_UNITS: tuple[str, ...] = (
    "Persen",
    "Indeks",
    "Nilai",
    "Rupiah",
    "Miliar Rupiah",
    "Juta Rupiah",
    "Jumlah",
    "Dokumen",
    "Izin",
    "Investor",
    "Hari",
    "Jam",
    "Predikat",
    "Orang",
    "Unit",
)
