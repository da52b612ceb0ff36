"""Bahasa Indonesia throughout: complete catalogs, no English on Indonesian screens, local
formats; English when a user chooses it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from conftest import csrf_token, login, post
from flask_babel import force_locale
from hypothesis import given, settings
from hypothesis import strategies as st

from iku_admin import workflow
from iku_admin.i18n import fmt_date, fmt_number
from iku_admin.seed import demo
from models.validation import INDICATOR_UNITS

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "iku_admin" / "translations" / "id" / "LC_MESSAGES"
KEYWORDS = {"_": None, "_l": None, "N_": None, "gettext": None, "lazy_gettext": None,
            "ngettext": (1, 2)}  # fmt: skip
METHODS = [
    ("iku_admin/**.py", "python"),
    ("models/**.py", "python"),
    ("templates/**.html", "jinja2"),
]


def catalog(domain: str):
    with open(CATALOGS / f"{domain}.po", "rb") as handle:
        return read_po(handle, locale="id")


def extracted() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_of_ours_has_an_indonesian_translation():
    messages = catalog("messages")
    missing = sorted(
        m for m in extracted()
        if m and (m not in messages or not messages[m].string or messages[m].fuzzy)
    )  # fmt: skip
    assert missing == [], f"{len(missing)} untranslated: {missing[:20]}"


@pytest.mark.parametrize("domain", ["admin", "wtforms"])
def test_flask_admin_and_wtforms_catalogs_are_complete(domain):
    for message in catalog(domain):
        if message.id:
            strings = message.string if isinstance(message.string, tuple) else [message.string]
            assert all(strings) and not message.fuzzy, message.id


def test_indonesian_formats(app):
    with app.test_request_context(), force_locale("id"):
        assert fmt_date(date(2026, 11, 27)) == "27 November 2026"
        assert fmt_number(Decimal("1234.5")) == "1.234,5"
    with app.test_request_context(), force_locale("en"):
        assert fmt_number(Decimal("1234.5")) == "1,234.5"


class VisibleText(HTMLParser):
    """The text a person sees: text nodes outside script/style, plus button/placeholder text."""

    def __init__(self):
        super().__init__()
        self.skip = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self.skip += 1
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label") and value:
                self.texts.append(value.strip())

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.texts.append(" ".join(data.split()))


def english_strings() -> set[str]:
    """Texts that are English and have an Indonesian translation that differs."""
    english = set()
    for domain in ("messages", "admin"):
        for message in catalog(domain):
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for msgid in ids:
                if msgid and "%(" not in msgid and msgid not in strings and len(msgid) > 2:
                    english.add(msgid)
    return english - set(INDICATOR_UNITS)  # "Unit" is an Indonesian unit name too


PAGES = ["/admin/", "/admin/dossier/", "/admin/dossier/details/?id=1", "/admin/dossier/new/",
         "/admin/dossier/edit/?id=1", "/admin/step_record/", "/admin/indicator/",
         "/admin/indicator/new/", "/admin/objective/", "/admin/target/", "/admin/sop/",
         "/admin/sop_step/", "/admin/sop_step/edit/?id=1", "/admin/calendar_day/",
         "/admin/user/", "/admin/user/new/", "/admin/role/", "/admin/role/edit/?id=1",
         "/admin/permission/", "/admin/audit_entry/", "/admin/login_attempt/"]  # fmt: skip


def test_no_english_on_indonesian_screens(app, db, client):
    demo(db.session)
    english = english_strings()
    seen: dict[str, list[str]] = {}
    for username in ("admin", "staf"):
        login(client, username, "demo-IKU-2026")
        extra = [r.rule for r in app.url_map.iter_rules()
                 if r.endpoint.split(".")[0] in ("dashboard", "documents", "iku_excel")
                 and "GET" in r.methods and not r.arguments and "export" not in r.rule]  # fmt: skip
        for page in PAGES + extra:
            response = client.get(page)
            if response.status_code != 200 or "text/html" not in response.content_type:
                continue
            parser = VisibleText()
            parser.feed(response.text)
            for text in parser.texts:
                if text in english:
                    seen.setdefault(text, []).append(page)
        client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert seen == {}


def test_english_can_be_chosen_per_user(app, db, client, people):
    login(client, "staf")
    assert "Tugas Saya" in client.get("/admin/").text
    post(client, "/language/en", {"next": "/admin/"})
    assert "My tasks" in client.get("/admin/").text
    assert people["staf"].locale == "en"
    # Someone else still sees Indonesian.
    other = app.test_client()
    login(other, "kadis")
    assert "Tugas Saya" in other.get("/admin/").text


def test_workflow_messages_are_indonesian(app, db, people):
    from conftest import make_dossier

    dossier = make_dossier()
    with app.test_request_context(), force_locale("id"):
        with pytest.raises(workflow.WorkflowError) as refused:
            workflow.complete(dossier, people["staf"])
        assert "Langkah saat ini adalah 1" in str(refused.value)


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.integers(-(10**15), 10**15),
        st.floats(-1e9, 1e9, allow_nan=False),
        st.decimals(-(10**9), 10**9, allow_nan=False, allow_infinity=False, places=4),
    )
)
def test_numbers_are_formatted_as_babel_would(_app, value):
    """The fast number format agrees with Babel's "#,##0.##" in both languages (but never
    shows "-0")."""
    from flask_babel import format_decimal

    with _app.test_request_context():
        for locale in ("id", "en"):
            with force_locale(locale):
                expected = format_decimal(value, format="#,##0.##")
                assert fmt_number(value) == ("0" if expected == "-0" else expected)
