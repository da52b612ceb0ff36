"""Dates as people type them: in the browser's date picker (sent as 2026-12-31) or as
dd/mm/yyyy; anything else gets a message naming the format, never a 500 nor another date."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import fill_iku, login, make_dossier, post
from flask_login import login_user
from sqlalchemy import select
from wtforms import DateField as AnyDateField
from wtforms import DateTimeField

from iku_admin.views.base import GuardedModelView
from iku_admin.views.dashboard import EvaluationForm
from iku_admin.views.fields import DateField
from models import CalendarDay, Dossier
from models.validation import parse_date

FORMAT = "hh/bb/tttt"  # what the Indonesian message names
GOOD = [("31/12/2026", date(2026, 12, 31)), ("2026-12-31", date(2026, 12, 31)),
        ("1/2/2026", date(2026, 2, 1)), (" 05/01/2026 ", date(2026, 1, 5))]  # fmt: skip
BAD = ["2026-13-01", "32/01/2026", "29/02/2027", "31/04/2026", "12/31/2026", "31-12-2026",
       "31/12/26", "31.12.2026", "٣١/١٢/٢٠٢٦", "2026-12-31T00:00", "10000-01-01", "tomorrow",
       "31/12/2026 2026-12-31"]  # fmt: skip


@pytest.mark.parametrize("text, day", GOOD)
def test_a_date_is_read_in_iso_or_day_month_year(text, day):
    assert parse_date(text) == day


@pytest.mark.parametrize("text", [*BAD, "", None])
def test_anything_else_is_no_date(text):
    assert parse_date(text) is None


# (who, the form's URL, the date field, the other fields it needs) — every date field of the
# panel's forms; test_every_date_field_is_listed_here keeps the list complete.
FORMS = {
    "dossier.letter_date": ("staf", "/admin/dossier/new/", {
        "title": "IKU 2026–2030", "period_start": "2026", "period_end": "2030",
        "letter_number": "050/777/2026", "letter_sender": "Bappeda",
        "letter_subject": "Penyusunan IKU"}),
    "calendar_day.day": ("admin", "/admin/calendar_day/new/", {
        "kind": "off", "description": "Cuti bersama"}),
    "evaluation.assessed_on": ("kadis", "/admin/dashboard/evaluation/?year=2026&semester=1", {
        "assessor": "Dra. Siti Aminah", "html": "Cetak"}),
}  # fmt: skip


def date_fields(form) -> list[str]:
    return [name for name, field in form._fields.items()
            if isinstance(field, AnyDateField | DateTimeField)]  # fmt: skip


def test_every_date_field_is_listed_here_and_takes_both_forms(app, people):
    found = {}
    with app.test_request_context():
        login_user(people["admin"])
        for view in app.extensions["admin"][0]._views:
            if isinstance(view, GuardedModelView) and view.allow_create:
                form = view._create_form_class()
                found |= {f"{view.endpoint}.{name}": form[name] for name in date_fields(form)}
        form = EvaluationForm()
        found |= {f"evaluation.{name}": form[name] for name in date_fields(form)}
    assert set(found) == set(FORMS)
    for name, field in found.items():
        assert isinstance(field, DateField), name
        assert 'type="date"' in field(), name  # the browser's own picker, in the page's language


def stored(name: str, db, people):
    """What the form kept of the date just posted."""
    if name == "dossier.letter_date":
        return db.session.scalar(select(Dossier.letter_date).where(
            Dossier.letter_number == "050/777/2026"))  # fmt: skip
    if name == "calendar_day.day":
        return db.session.scalar(select(CalendarDay.day).where(
            CalendarDay.description == "Cuti bersama"))  # fmt: skip
    raise AssertionError(name)


@pytest.fixture
def ready(app, db, people):
    fill_iku(make_dossier())  # the evaluation form lists the active SOP's steps
    return db


def evaluation_fields(client, url) -> dict:
    """The evaluation form's step rows, as prefilled."""
    import re

    page = client.get(url).text
    fields = dict(re.findall(r'name="(steps-\d+-position)"[^>]*value="(\d+)"', page))
    fields |= {re.sub(r"position$", "assessment", k): "good" for k in fields}
    return fields


@pytest.mark.parametrize("name", FORMS)
@pytest.mark.parametrize("text, day", GOOD[:2])
def test_a_typed_date_is_stored_as_that_day(app, client, ready, people, name, text, day):
    who, url, fields = FORMS[name]
    login(client, who)
    field = name.rpartition(".")[2]
    extra = evaluation_fields(client, url) if name.startswith("evaluation") else {}
    response = post(client, url, {**fields, **extra, field: text})
    if name.startswith("evaluation"):  # nothing stored: the printed form shows the day
        assert response.status_code == 200, response.text
        assert "31 Desember 2026" in response.text
    else:
        assert response.status_code == 302, response.text
        assert stored(name, ready, people) == day


@pytest.mark.parametrize("name", FORMS)
@pytest.mark.parametrize("text", BAD[:3])
def test_an_impossible_date_gets_a_message_naming_the_format(
    app, client, ready, people, name, text
):
    who, url, fields = FORMS[name]
    login(client, who)
    field = name.rpartition(".")[2]
    extra = evaluation_fields(client, url) if name.startswith("evaluation") else {}
    response = post(client, url, {**fields, **extra, field: text})
    assert response.status_code == 422
    assert FORMAT in response.text
    assert "31/12/2026" in response.text  # an example of the format
    if not name.startswith("evaluation"):
        assert stored(name, ready, people) is None
