"""Numbers as Indonesians (and English users) write them, in every number field of the panel:
read in the user's locale, stored exactly, shown back the same way; an ambiguous or invalid
entry gets a message, never a different number."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from babel.numbers import format_decimal
from conftest import csrf_token, flashes, login, make_dossier, make_user
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import IntEqualFilter
from flask_admin.model.filters import BaseFloatListFilter, BaseIntListFilter
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import BigInteger, Column, Integer, Numeric, SmallInteger, func, inspect, select
from werkzeug.datastructures import MultiDict
from wtforms import FieldList

from iku_admin import auth, workflow
from iku_admin.i18n import _, fmt_number
from iku_admin.numbers import Bounds
from iku_admin.views.base import FilterConverter
from models import (
    AuditEntry,
    CustomField,
    Dossier,
    Indicator,
    IndicatorTarget,
    Sop,
    StrategicObjective,
)

LOCALES = ("id", "en")


# --- reading a number ------------------------------------------------------------------------


def parsed(app, locale: str, text: str, column_type) -> int | Decimal | str:
    """What the panel reads from ``text``, or the message it refuses it with."""
    with app.test_request_context(), force_locale(locale):
        try:
            return Bounds.of(column_type).parse(text)
        except ValueError as error:
            return str(error)


@pytest.mark.parametrize(
    "locale,text,number",
    [
        ("id", "88,5", Decimal("88.5")), ("id", "1.150", Decimal(1150)),
        ("id", "1.150,25", Decimal("1150.25")), ("id", " 1150,25 ", Decimal("1150.25")),
        ("id", "-3,5", Decimal("-3.5")), ("id", "1,15", Decimal("1.15")),
        ("en", "88.5", Decimal("88.5")), ("en", "1,150", Decimal(1150)),
        ("en", "1,150.25", Decimal("1150.25")), ("en", "1.15", Decimal("1.15")),
    ],
)  # fmt: skip
def test_a_number_is_read_in_the_users_locale(app, locale, text, number):
    value = parsed(app, locale, text, Numeric(18, 2))
    assert value == number and isinstance(value, Decimal)


@pytest.mark.parametrize(
    "locale,text",
    [
        ("id", "1,150.25"), ("id", "1.15"), ("id", "88.5"), ("id", "1,5,0"), ("id", "abc"),
        ("id", "1e5"), ("id", "NaN"), ("id", "Infinity"), ("id", "1 150"), ("id", ""),
        ("en", "1.150,25"), ("en", "88,5"), ("en", "1,15"), ("en", "1,5,0"), ("en", "12a"),
        ("id", "9" * 200),
    ],
)  # fmt: skip
def test_an_ambiguous_or_invalid_number_is_refused_with_the_expected_format(app, locale, text):
    example = {"id": "1.234,5", "en": "1,234.5"}[locale]
    message = parsed(app, locale, text, Numeric(18, 2))
    assert isinstance(message, str) and example in message, message


def test_the_column_decides_the_range_and_the_decimals(app):
    with app.test_request_context(), force_locale("id"):
        whole = _("Enter a whole number, without decimals.")
        decimals = _("Enter at most %(places)s decimals.", places=2)
    assert parsed(app, "id", "2.147.483.647", Integer()) == 2**31 - 1
    assert "2.147.483.647" in parsed(app, "id", "2.147.483.648", Integer())
    assert parsed(app, "id", "88,5", Integer()) == whole
    assert parsed(app, "id", "2.026", Integer()) == 2026
    assert parsed(app, "id", "2,0", Integer()) == 2
    assert "32.767" in parsed(app, "id", "32.768", SmallInteger())
    assert parsed(app, "id", "3.000.000.000", BigInteger()) == 3_000_000_000
    assert parsed(app, "id", "9.999.999.999.999.999,99", Numeric(18, 2)) == Decimal(
        "9999999999999999.99"
    )
    assert "9.999.999.999.999.999,99" in parsed(app, "id", "10.000.000.000.000.000", Numeric(18, 2))
    assert parsed(app, "id", "0,125", Numeric(18, 2)) == decimals
    assert parsed(app, "id", "88,500", Numeric(18, 2)) == Decimal("88.5")  # the same number


def test_a_form_shows_a_stored_number_exactly_in_the_users_locale(app):
    """Never rounded (saving the form again would store the rounded number); years without
    the thousands separator."""
    with app.test_request_context(), force_locale("id"):
        assert fmt_number(Decimal("1150.125"), exact=True) == "1.150,125"
        assert fmt_number(Decimal("88.50"), exact=True) == "88,5"
        assert fmt_number(Decimal("1E+3"), exact=True) == "1.000"
        assert fmt_number(2026, exact=True, grouping=False) == "2026"
        assert fmt_number(Decimal("1150.125")) == "1.150,12"  # pages: two decimals at most
    with app.test_request_context(), force_locale("en"):
        assert fmt_number(Decimal("1150.125"), exact=True) == "1,150.125"


# --- every number field of every form ------------------------------------------------------


class FormReader(HTMLParser):
    """What a browser would submit from a page's ``form.admin-form``: name/value pairs."""

    def __init__(self):
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.inputs: list[dict[str, str]] = []  # every <input> of the form, as attributes
        self.inside = False
        self.select: tuple[str, bool] | None = None  # (name, multiple)
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = "admin-form" in a.get("class", "")
        if not self.inside:
            return
        if tag == "input":
            self.inputs.append(a)
            kind = a.get("type", "text")
            ticked = kind not in ("checkbox", "radio") or "checked" in a
            if a.get("name") and kind not in ("submit", "button", "file") and ticked:
                self.pairs.append((a["name"], a.get("value", "on" if kind else "")))
        elif tag == "select":
            self.select, self.options = (a.get("name", ""), "multiple" in a), []
        elif tag == "option" and self.select:
            self.options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.pairs.append((self.textarea, ""))

    def handle_data(self, data):
        if self.textarea:
            name, text = self.pairs[-1]
            self.pairs[-1] = (name, text + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select" and self.select:
            name, multiple = self.select
            chosen = [value for value, selected in self.options if selected]
            if not chosen and not multiple and self.options:
                chosen = [self.options[0][0]]
            self.pairs.extend((name, value) for value in chosen)
            self.select = None


def read_form(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    assert reader.pairs, "no admin form on the page"
    return reader


def submit(client, url: str, pairs: list[tuple[str, str]]):
    """POST what the browser would, with a CSRF token valid for the client's session (the
    tests' shared app context may cache an older one in the page)."""
    token = [("csrf_token", csrf_token(client))]
    return client.post(url, data=MultiDict(token + [p for p in pairs if p[0] != "csrf_token"]))


def number_fields(form, obj) -> dict[str, Column]:
    """The form's fields (inline forms' too) that edit a number column of the record, by the
    name they post under, with that column."""
    found = {}
    columns = inspect(type(obj)).columns
    for field in form:
        if isinstance(field, FieldList):  # an inline form list: one form per related row
            for entry, child in zip(field.entries, getattr(obj, field.short_name), strict=True):
                found.update(number_fields(entry.form, child))
            continue
        column = columns.get(field.short_name)
        if (
            column is not None
            and isinstance(column.type, Integer | Numeric)
            and field.type != "HiddenField"  # ids and version counters: not typed
        ):
            found[field.name] = column
    return found


@pytest.fixture
def editable(app, db):
    """A record for every screen with number fields: a dossier with one indicator with one
    target, and a draft SOP version (whose steps may be edited)."""
    dossier = make_dossier(period=(2026, 2030))
    target = IndicatorTarget(year=2026, target=Decimal(900))
    indicator = Indicator(name="Nilai investasi", order=1, unit="Persen", targets=[target])
    dossier.objectives.append(StrategicObjective(name="Investasi", order=1, indicators=[indicator]))
    workflow.new_sop_version(db.session, db.session.scalar(select(Sop)))
    db.session.add(CustomField(entity="indicator", code="bobot", label="Bobot", kind="number"))
    db.session.commit()


def form_views(app) -> list[ModelView]:
    """Every registered Flask-Admin model view with a create or edit form."""
    views = [v for v in app.extensions["admin"][0]._views if isinstance(v, ModelView)]
    return [v for v in views if v.allow_create or v.allow_edit]


def screens(app, db) -> list[tuple[ModelView, object, dict[str, Column]]]:
    """Each form view with its latest record and that record's number fields in the edit
    form. A view without a record must have no number field in its create form."""
    found = []
    for view in form_views(app):
        row = db.session.scalar(select(view.model).order_by(view.model.id.desc()).limit(1))
        with app.test_request_context():
            if row is None:
                assert not number_fields(view.create_form(), view.model()), view.endpoint
                continue
            fields = number_fields(view.edit_form(obj=row), row)
        if fields:
            found.append((view, row, fields))
    return found


def typed(value: int | Decimal, locale: str) -> str:
    """A number as a person of that locale types it, with the thousands separator."""
    return format_decimal(value, format="#,##0.##", locale=locale)


def stored(db, row, columns) -> dict[str, object]:
    db.session.expire_all()
    fresh = db.session.get(type(row), row.id)
    return {name: getattr(owner_of(fresh, name), column.key) for name, column in columns.items()}


def owner_of(row, name: str):
    """The record a (possibly inline, ``targets-0-year``) field belongs to."""
    if "-" not in name:
        return row
    relation, index, _field = name.split("-")
    return getattr(row, relation)[int(index)]


def sign_in(client, db, locale: str) -> None:
    """Log in as someone who may write on every screen and reads the panel in ``locale``."""
    make_user("ahli", *auth.ROLES).locale = locale
    db.session.commit()
    login(client, "ahli")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_number_field_stores_exactly_what_was_typed_in_the_users_locale(
    app, client, db, editable, locale
):
    sign_in(client, db, locale)
    found = screens(app, db)
    names = {(view.endpoint, name) for view, _row, fields in found for name in fields}
    assert ("indicator", "targets-0-target") in names  # inline forms are covered too
    assert ("sop_step", "time_value") in names and ("dossier", "period_start") in names
    for view, row, fields in found:
        url = f"/admin/{view.endpoint}/edit/?id={row.id}"
        page = client.get(url)
        reader = read_form(page.text)
        boxes = {i["name"]: i for i in reader.inputs if i.get("name") in fields}
        assert set(boxes) == set(fields), view.endpoint
        assert all(box.get("type", "text") == "text" for box in boxes.values()), boxes
        assert all(box.get("inputmode") in ("decimal", "numeric") for box in boxes.values())
        wanted = {}
        for name, column in fields.items():
            if isinstance(column.type, Integer):
                wanted[name] = (getattr(owner_of(row, name), column.key) or 0) + 1
            else:
                wanted[name] = Decimal("1150.25")
        data = [(k, v) for k, v in reader.pairs if k not in fields]
        data += [(name, typed(value, locale)) for name, value in wanted.items()]
        response = submit(client, url, data)
        assert response.status_code == 302, (view.endpoint, data, flashes(response.text))
        assert stored(db, row, fields) == wanted, view.endpoint


def audited(db) -> int:
    """How many changes the audit log holds (every write is logged)."""
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def refusal(app, locale: str, text: str, column: Column) -> str | None:
    """The message a number field shows for ``text`` (None: the text is a valid number)."""
    message = parsed(app, locale, text, column.type)
    return message if isinstance(message, str) else None


# Refused in every number field, or in some (a decimal in an integer field, a value beyond
# the column, too many decimals).
BAD = {
    "id": ["1,150.25", "1.15", "abc", "1,5,0", "88,5", "0,125", "99.999.999.999.999.999"],
    "en": ["1.150,25", "88,5", "1,5,0", "1e5", "88.5", "0.125", "99,999,999,999,999,999"],
}


@pytest.mark.parametrize("locale", LOCALES)
def test_an_ambiguous_or_invalid_number_is_refused_next_to_its_field_and_nothing_is_written(
    app, client, db, editable, locale
):
    sign_in(client, db, locale)
    tried = 0
    for view, row, fields in screens(app, db):
        url = f"/admin/{view.endpoint}/edit/?id={row.id}"
        reader = read_form(client.get(url).text)
        before = stored(db, row, fields), audited(db)
        for name, column in fields.items():
            for text in BAD[locale]:
                message = refusal(app, locale, text, column)
                if message is None:  # e.g. "88,5" is a valid target
                    continue
                data = [(k, text if k == name else v) for k, v in reader.pairs]
                response = submit(client, url, data)
                assert response.status_code == 422, (view.endpoint, name, text)
                assert str(escape(message)) in response.text, (view.endpoint, name, text)
                assert f'value="{escape(text)}"' in response.text  # what was typed, kept
                tried += 1
        assert (stored(db, row, fields), audited(db)) == before, view.endpoint
    assert tried > 20


@pytest.mark.parametrize("locale,shown", [("id", "88,5"), ("en", "88.5")])
def test_a_stored_number_is_shown_back_in_the_users_locale(
    app, client, db, editable, locale, shown
):
    sign_in(client, db, locale)
    target = db.session.scalar(select(IndicatorTarget))
    url = f"/admin/target/edit/?id={target.id}"
    pairs = read_form(client.get(url).text).pairs
    typed_in = [(k, shown if k == "target" else v) for k, v in pairs]
    assert submit(client, url, typed_in).status_code == 302
    db.session.expire_all()
    assert db.session.get(IndicatorTarget, target.id).target == Decimal("88.5")
    values = dict(read_form(client.get(url).text).pairs)
    assert (values["target"], values["year"]) == (shown, "2026")  # a year is not grouped
    indicator = dict(
        read_form(client.get(f"/admin/indicator/edit/?id={target.indicator_id}").text).pairs
    )
    assert indicator["targets-0-target"] == shown


def form_pages(app, db) -> list[str]:
    """Every page of the panel with a form: the dashboard's, and each view's create form and
    the edit form of its latest record."""
    pages = ["/admin/dashboard/", "/admin/dashboard/evaluation/"]
    for view in form_views(app):
        if view.allow_create:
            pages.append(f"/admin/{view.endpoint}/new/")
        row = db.session.scalar(select(view.model).order_by(view.model.id.desc()).limit(1))
        if row is not None and view.allow_edit:
            pages.append(f"/admin/{view.endpoint}/edit/?id={row.id}")
    return pages


def test_no_form_of_the_panel_has_a_browser_number_box(app, client, db, editable):
    make_user("ahli", *auth.ROLES)
    login(client, "ahli")
    for url in form_pages(app, db):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'type="number"' not in response.text, url


# --- list filters and our own forms ------------------------------------------------------------


def period_filter(app) -> str:
    """The query argument of the dossier list's "period from equals" filter."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "dossier")
    for key, (_index, flt) in view._filter_args.items():
        if flt.column is Dossier.period_start.property.columns[0] and isinstance(
            flt, IntEqualFilter
        ):
            return f"flt0_{key}"
    raise AssertionError("no period filter")


@pytest.mark.parametrize("locale,year", [("id", "2.026"), ("en", "2,026")])
def test_a_number_filter_reads_the_users_locale(app, client, db, locale, year):
    make_dossier(title="Berkas 2026", period=(2026, 2030))
    make_dossier(title="Berkas 2027", period=(2027, 2031))
    make_user("ahli", "staf").locale = locale
    db.session.commit()
    login(client, "ahli")
    arg = period_filter(app)
    page = client.get("/admin/dossier/", query_string={arg: year}).text
    assert "Berkas 2026" in page and "Berkas 2027" not in page
    refused = client.get(
        "/admin/dossier/", query_string={arg: "2026,5" if locale == "id" else "2026.5"}
    )
    assert refused.status_code == 200
    with app.test_request_context(), force_locale(locale):
        assert str(escape(_("Enter a whole number, without decimals."))) in flashes(refused.text)


def test_a_list_of_decimals_is_not_offered_as_a_filter(app):
    """In Indonesian the decimal comma is also the list's item separator."""
    column = Column("target", Numeric(18, 2))
    offered = FilterConverter().convert("Numeric", column, "Target")
    assert offered and not any(isinstance(flt, BaseFloatListFilter) for flt in offered)
    ints = FilterConverter().convert("Integer", Column("year", Integer), "Year")
    assert any(isinstance(flt, BaseIntListFilter) for flt in ints)


@pytest.mark.parametrize("locale,year", [("id", "2.026"), ("en", "2,026")])
def test_the_dashboard_year_is_read_in_the_users_locale(app, client, db, people, locale, year):
    people["kadis"].locale = locale
    db.session.commit()
    login(client, "kadis")
    assert client.get("/admin/dashboard/", query_string={"year": year}).status_code == 200
    wrong = "2026,5" if locale == "id" else "2026.5"
    assert client.get("/admin/dashboard/", query_string={"year": wrong}).status_code == 400
