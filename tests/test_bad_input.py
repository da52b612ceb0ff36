"""Numbers, dates and text no column holds, in every id, version, list-action row id, filter and
form field of every screen: a 4xx or an Indonesian message, never a 500, never an exception's
own text, never a different value than the one typed.

The screens, routes, filters and form fields are read from the app (its URL map, the
registered Flask-Admin views, their filters and the edit forms as a browser sees them), so a
new screen is covered without being listed here."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from conftest import csrf_token, fill_iku, flashes, login, make_dossier
from flask import get_flashed_messages
from flask_admin.model.filters import (
    BaseDateBetweenFilter,
    BaseDateFilter,
    BaseDateTimeBetweenFilter,
    BaseDateTimeFilter,
    BaseIntFilter,
    BaseIntListFilter,
)
from flask_login import login_user
from sqlalchemy import select
from sqlalchemy.exc import DataError
from test_security import count_rows
from werkzeug.datastructures import MultiDict
from wtforms.validators import ValidationError

from iku_admin import auth, workflow
from iku_admin.views.base import GuardedModelView
from models import AuditEntry, CalendarDay, CustomField, Dossier
from models.validation import RuleError

# Digits str.isdigit() accepts but int() refuses ("²"), or reads as another number than the one
# shown ("١٢" is 12, "𝟙" is 1); numbers beyond an Integer column.
NUMBERS = ["²", "١٢", "𝟙", str(2**31), str(-(2**31) - 1), str(2**63), "9" * 40]
# Dates beyond Python's range, and at its ends (a shift to UTC or a day more overflows).
DATES = ["0000-01-01", "0001-01-01", "10000-01-01", "9999-12-31"]
TIMES = [f"{day} 00:00:00" for day in DATES[1:]] + ["9999-12-31 23:59:59"]
LINE_BREAKS = ["a\r\nb", "a\tb", "a\u2028b"]
# Numeric(18, 2): 16 digits and 2 decimals, written out.
DECIMALS = ["²", "١٢", "𝟙", "9" * 17, "0.001", "NaN", "Infinity", "1e3"]
# What a raw exception says (English, from Python, SQLAlchemy or a driver).
RAW = re.compile(
    r"out of range|too large to convert|invalid literal|Traceback|Error\b|psycopg|sqlite3"
    r"|is not a valid|numeric field overflow",
    re.I,
)
INVALID_FILTER = "Nilai filter tidak valid"
GENERIC = "Nilai terlalu besar atau tidak valid untuk isian ini."
SINGLE_LINE = "Isian ini hanya satu baris"


def model_views(app) -> list[GuardedModelView]:
    return [v for v in app.extensions["admin"][0]._views if isinstance(v, GuardedModelView)]


@pytest.fixture
def world(app, db, people):
    """A row in every table a screen lists, and a client per person, logged in."""
    dossier = fill_iku(make_dossier())
    workflow.complete(dossier, people["kadis"], "")
    db.session.add(CalendarDay(day=date(2026, 8, 18), kind="off", description="Cuti bersama"))
    db.session.add(AuditEntry(action="create", table_name="dossier", row_id=str(dossier.id)))
    # Custom fields of each kind: their form fields refuse bad input like the built-in ones.
    db.session.add_all([CustomField(entity="dossier", code=kind, label=kind.title(), kind=kind)
                        for kind in ("number", "date", "text")])  # fmt: skip
    db.session.commit()
    clients = {}
    for username in people:
        clients[username] = app.test_client()
        login(clients[username], username)
    return clients


def client_for(world, people, endpoint: str):
    """The client of someone who may change the screen (or, failing that, read it)."""
    for level in (auth.can_write, auth.can_read):
        for username, user in people.items():
            if level(user, endpoint):
                return world[username]
    raise AssertionError(endpoint)


def assert_refused(response, statuses: tuple[int, ...], *context) -> None:
    assert response.status_code in statuses, (response.status_code, *context)
    assert not RAW.search(response.text), (RAW.search(response.text), *context)


# --- ids in URLs and query strings -----------------------------------------------------------


@pytest.mark.parametrize("value", NUMBERS)
def test_an_id_no_row_can_have_is_not_found_on_any_route(app, world, people, value):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static") or rule.endpoint.startswith("auth."):
            continue
        screen = rule.endpoint.partition(".")[0]
        client = (
            client_for(world, people, screen) if screen in auth.DEFAULT_MATRIX else world["admin"]
        )
        url = re.sub(r"<[^>]+>", quote(value), rule.rule)
        query = {"id": value, "year": value, "page": value, "page_size": value}
        form = {"csrf_token": csrf_token(client), "id": value}
        for method in rule.methods & {"GET", "POST"}:
            if method == "GET":
                response = client.get(url, query_string=query)
            else:
                response = client.post(url, query_string=query, data=form)
            assert response.status_code < 500, (rule.rule, method)
            assert not RAW.search(response.text), (rule.rule, method, RAW.search(response.text))
            if "<id:" in rule.rule or rule.endpoint.endswith(("details_view", "edit_view")):
                # (403: a screen without that page, such as editing the history)
                assert response.status_code in (400, 403, 404), (rule.rule, method)
                checked += 1
    assert checked > 20


# --- filters -----------------------------------------------------------------------------------


def bad_filter_values(flt) -> list[str]:
    """The values a filter must refuse, by what it reads."""
    if isinstance(flt, BaseIntFilter | BaseIntListFilter):
        return ["²", "١٢", "𝟙", str(2**31), str(2**63)]
    if isinstance(flt, BaseDateFilter):
        return DATES
    if isinstance(flt, BaseDateBetweenFilter):
        return [f"{day} to {day}" for day in DATES]
    if isinstance(flt, BaseDateTimeFilter):
        return TIMES
    if isinstance(flt, BaseDateTimeBetweenFilter):
        return [f"{moment} to {moment}" for moment in TIMES]
    return []


def test_every_filter_refuses_what_its_column_cannot_hold(app, world, people):
    checked = set()
    for view in model_views(app):
        client = client_for(world, people, view.endpoint)
        for arg, (_index, flt) in (view._filter_args or {}).items():
            for value in bad_filter_values(flt):
                response = client.get(f"/admin/{view.endpoint}/",
                                      query_string={f"flt0_{arg}": value})  # fmt: skip
                assert_refused(response, (200,), view.endpoint, arg, value)
                assert INVALID_FILTER in flashes(response.text), (view.endpoint, arg, value)
                checked.add(type(flt).__mro__[1])
    assert len(checked) >= 8  # integers, integer lists, dates and times, and their ranges


# --- list actions and workflow forms -----------------------------------------------------------


def allowed_actions(app, view, user) -> list[str]:
    """The list actions the user may run on the view."""
    with app.test_request_context():
        login_user(user)
        return [name for name, _label in view._actions if view.is_action_allowed(name)]


def test_every_list_action_refuses_a_row_id_that_is_not_one(app, db, world, people):
    before = count_rows(db)
    dossier_versions = set(db.session.scalars(select(Dossier.version)))
    checked = 0
    for view in model_views(app):
        client = client_for(world, people, view.endpoint)
        for name in allowed_actions(app, view, people[_username(world, client)]):
            for value in [*NUMBERS, "1:²", "1:١", f"1:{2**31}"]:
                response = client.post(f"/admin/{view.endpoint}/action/", data={
                    "csrf_token": csrf_token(client), "action": name, "rowid": value,
                    "reason": "Perbaiki target",
                })  # fmt: skip
                assert_refused(response, (400,), view.endpoint, name, value)
                checked += 1
    assert checked > 20
    db.session.expire_all()
    assert count_rows(db) == before  # "𝟙" deleted no row 1
    assert set(db.session.scalars(select(Dossier.version))) == dossier_versions


def _username(world, client) -> str:
    return next(name for name, c in world.items() if c is client)


@pytest.mark.parametrize("value", [*NUMBERS, "", "1.0"])
def test_a_workflow_action_refuses_a_version_that_is_not_one(app, db, world, value):
    dossier = db.session.scalar(select(Dossier))
    client = world["sekretaris"]  # step 2 is the secretary's
    response = client.post(f"/admin/dossier/transition/?id={dossier.id}", data={
        "csrf_token": csrf_token(client), "action": "complete", "version": value,
    })  # fmt: skip
    assert_refused(response, (400,))
    db.session.expire_all()
    assert dossier.current_step.position == 2


# --- form fields -------------------------------------------------------------------------------


class EditForm(HTMLParser):
    """The fields of a Flask-Admin edit form as a browser would post them, and what kind of
    input each is."""

    def __init__(self, html: str):
        super().__init__()
        self.data, self.kinds = MultiDict(), {}
        self._in_form = False
        self._select = self._textarea = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "admin-form" in (a.get("class") or ""):
            self._in_form = True
        if not self._in_form or not (a.get("name") or tag == "option"):
            return
        if tag == "input" and a.get("type") in ("submit", "file"):
            # "save and add another" and the like: not a plain save; a file input with no
            # file chosen sends an empty file part, which the test client cannot post as text
            return
        if tag == "input" and (a.get("type") not in ("checkbox", "radio") or "checked" in a):
            self.data.add(a["name"], a.get("value") or "")
            kind = a.get("type", "text")
            if a.get("data-role") == "datepicker":
                kind = "date"
            elif a.get("data-role") == "timepicker":
                kind = "time"
            elif a.get("inputmode") == "numeric":
                kind = "number"
            elif a.get("inputmode") == "decimal":
                kind = "decimal"
            self.kinds[a["name"]] = kind
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.data.add(self._select, a.get("value") or "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data.add(a["name"], "")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


BAD_BY_KIND = {
    "number": ["²", "١٢", "𝟙", str(2**31), str(2**63), "1.5"],
    "decimal": DECIMALS,
    "date": DATES,
    "time": ["25:00", "12:61", "a\r\nb", "١٢:٠٠"],
    "text": LINE_BREAKS,
}


def editable_views(app, people):
    return [v for v in model_views(app) if v.allow_edit
            and any(auth.can_write(u, v.endpoint) for u in people.values())]  # fmt: skip


def test_every_edit_form_field_refuses_what_its_column_cannot_hold(app, db, world, people):
    kinds_seen = set()
    for view in editable_views(app, people):
        client = client_for(world, people, view.endpoint)
        row = db.session.scalar(select(view.model).order_by(view.model.id))
        url = f"/admin/{view.endpoint}/edit/?id={row.id}"
        form = EditForm(client.get(url).text)
        assert form.kinds, view.endpoint
        version = getattr(row, view.version_field)
        for name, kind in form.kinds.items():
            for value in BAD_BY_KIND.get(kind, []):
                data = form.data.copy()
                data[name], data["csrf_token"] = value, csrf_token(client)
                response = client.post(url, data=data)
                assert_refused(response, (422,), view.endpoint, name, value)
                if kind == "text":
                    assert SINGLE_LINE in response.text, (view.endpoint, name, value)
                kinds_seen.add(kind)
        db.session.expire_all()
        assert getattr(db.session.get(view.model, row.id), view.version_field) == version
    assert kinds_seen == set(BAD_BY_KIND)


@pytest.mark.parametrize("value", [*NUMBERS, "", "abc"])
def test_every_edit_form_refuses_a_version_that_is_not_one(app, db, world, people, value):
    for view in editable_views(app, people):
        client = client_for(world, people, view.endpoint)
        row = db.session.scalar(select(view.model).order_by(view.model.id))
        url = f"/admin/{view.endpoint}/edit/?id={row.id}"
        data = EditForm(client.get(url).text).data
        data[view.version_field], data["csrf_token"] = value, csrf_token(client)
        response = client.post(url, data=data)
        assert_refused(response, (422,), view.endpoint)
        assert "telah diubah oleh" in flashes(response.text), view.endpoint


@pytest.mark.parametrize(
    "error",
    [ValueError("year 0 is out of range"), OverflowError("Python int too large to convert"),
     DataError("UPDATE …", {}, Exception("integer out of range"))],
)  # fmt: skip
def test_an_unforeseen_error_from_a_value_shows_a_message_not_its_text(app, error):
    with app.test_request_context():
        for view in model_views(app):
            assert view.handle_view_exception(error), view.endpoint
            assert get_flashed_messages() == [GENERIC], view.endpoint


@pytest.mark.parametrize(
    ("error", "shown"),
    [(RuleError("A period spans at most 10 years."), "Satu periode paling lama 10 tahun."),
     (ValidationError("Berkas ini sudah selesai."), "Berkas ini sudah selesai.")],
)  # fmt: skip
def test_a_rule_shows_its_own_message(app, error, shown):
    view = model_views(app)[0]
    with app.test_request_context():
        assert view.handle_view_exception(error)
        assert get_flashed_messages() == [shown]
