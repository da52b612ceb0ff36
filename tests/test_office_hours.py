"""The weekly office hours are data the admin edits; the working calendar follows them."""

from __future__ import annotations

from datetime import datetime, time

from conftest import login, post
from sqlalchemy import select

from iku_admin.calendar import DEFAULT_WEEK, WorkingCalendar
from iku_admin.extensions import db as _db
from models import OfficeDay
from models.base import LOCAL_TZ


def calendar() -> WorkingCalendar:
    _db.session.expire_all()
    return WorkingCalendar.from_session(_db.session)


def edit(client, weekday: int, **fields):
    day = _db.session.scalar(select(OfficeDay).where(OfficeDay.weekday == weekday))
    data = {"working": "y" if day.working else "", "start": day.start, "finish": day.finish,
            "break_start": day.break_start, "break_end": day.break_end,
            "row_version": day.row_version}  # fmt: skip
    data.update(fields)
    # As a browser sends it: an empty box as "", an unticked box not at all.
    data = {k: "" if v is None else v.strftime("%H:%M") if isinstance(v, time) else v
            for k, v in data.items() if not (k == "working" and not v)}  # fmt: skip
    return post(client, f"/admin/office_day/edit/?id={day.id}", data)


def test_the_seeded_week_is_the_calendar_of_before(db):
    assert calendar().week == DEFAULT_WEEK


def test_the_admin_changes_the_hours_and_the_calendar_follows(db, people, client):
    login(client, "admin")
    page = client.get("/admin/office_day/").get_data(as_text=True)
    assert "Jumat" in page and "Senin" in page
    friday_id = _db.session.scalar(select(OfficeDay.id).where(OfficeDay.weekday == 4))
    edit_page = client.get(f"/admin/office_day/edit/?id={friday_id}").get_data(as_text=True)
    assert "Jumat adalah hari kerja" in edit_page
    friday = datetime(2026, 12, 4, 7, 30, tzinfo=LOCAL_TZ)
    before = calendar().working_minutes(friday, friday.replace(hour=17))
    response = edit(client, 4, finish=time(15, 0))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert calendar().week[4].end == time(15, 0)
    assert calendar().working_minutes(friday, friday.replace(hour=17)) == before - 90


def test_a_working_saturday_every_week(db, people, client):
    login(client, "admin")
    saturday = datetime(2026, 12, 5, 8, 0, tzinfo=LOCAL_TZ)
    assert calendar().working_minutes(saturday, saturday.replace(hour=12)) == 0
    response = edit(client, 5, working="y", start=time(8, 0), finish=time(12, 0))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert calendar().working_minutes(saturday, saturday.replace(hour=12)) == 240


def test_hours_in_the_wrong_order_are_refused_with_a_message(db, people, client):
    login(client, "admin")
    response = edit(client, 0, break_start=time(17, 0), break_end=time(18, 0))
    assert response.status_code == 422
    assert "Jam kerja harus berurutan" in response.get_data(as_text=True)
    assert calendar().week == DEFAULT_WEEK  # nothing saved
    response = edit(client, 0, break_start=time(12, 0), break_end="")
    assert response.status_code == 422
    assert calendar().week == DEFAULT_WEEK


def test_weekdays_are_neither_added_nor_deleted_and_only_the_admin_edits(db, people, client):
    login(client, "admin")
    assert client.get("/admin/office_day/new/").status_code in (302, 403)
    monday = _db.session.scalar(select(OfficeDay.id).where(OfficeDay.weekday == 0))
    assert post(client, "/admin/office_day/delete/", {"id": monday}).status_code in (302, 403)
    assert _db.session.scalar(select(OfficeDay).where(OfficeDay.weekday == 0)) is not None
    post(client, "/logout")
    login(client, "sekretaris")
    assert client.get("/admin/office_day/").status_code == 200
    assert edit(client, 4, finish=time(15, 0)).status_code in (302, 403)
    assert calendar().week == DEFAULT_WEEK


def test_open_dossiers_due_times_follow_the_office_hours(db, people, client):
    from conftest import make_dossier

    from models import Dossier

    dossier = make_dossier()
    due = dossier.step_due_at
    login(client, "admin")
    weekday = due.astimezone(LOCAL_TZ).weekday()
    day = _db.session.scalar(select(OfficeDay).where(OfficeDay.weekday == weekday))
    earlier = (day.start.hour + 1, 0) if day.start.hour < 22 else (23, 0)
    response = edit(client, weekday, start=time(*earlier), break_start="", break_end="")
    assert response.status_code == 302, response.text
    _db.session.expire_all()
    assert _db.session.get(Dossier, dossier.id).step_due_at != due
