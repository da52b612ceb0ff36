"""One truth about time: the dashboard, the dossier list, "Tugas Saya" and the evaluation form
agree on what is overdue; due times follow the working calendar when it changes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import login, make_dossier, post
from flask_babel import force_locale
from sqlalchemy import select
from test_workflow import advance, english  # noqa: F401 (autouse)
from test_workflow_web import act_as

from iku_admin import mutu, workflow
from iku_admin.calendar import WorkingCalendar
from iku_admin.seed import demo
from models import CalendarDay, Dossier, utcnow

WIB = ZoneInfo("Asia/Jakarta")
ROLES = ("kadis", "sekretaris", "perencana", "timsakip", "staf")


def _marked_rows(html: str, row_id: str) -> set[int]:
    """The ids of the table rows of a page that carry the overdue mark."""
    marked = set()
    for row in re.findall(r"<tr\b.*?</tr>", html, re.S):
        found = re.search(row_id, row)
        if found and "overdue-mark" in row:
            marked.add(int(found.group(1)))
    return marked


def overdue_everywhere(client, users=ROLES) -> dict[str, object]:
    """What each of the four places says is overdue."""
    seen: dict[str, object] = {}
    mine: set[int] = set()
    for who in users:
        act_as(client, who)
        mine |= _marked_rows(client.get("/admin/").text, r'id="task-(\d+)"')
    seen["my tasks"] = mine
    dashboard = client.get("/admin/dashboard/").text
    card = re.search(r'Overdue now</div><div class="h4 mb-0">([\d.,]+)<', dashboard).group(1)
    seen["dashboard card"] = int(card.replace(",", "").replace(".", ""))
    listed = re.search(r'<table class="[^"]*overdue-list">(.*?)</table>', dashboard, re.S)
    seen["dashboard list"] = {
        int(n) for n in re.findall(r"<tr><td>(\d+)</td>", listed.group(1) if listed else "")
    }
    dossiers = client.get("/admin/dossier/?page_size=100").text
    seen["dossier list"] = _marked_rows(dossiers, r'name="rowid"[^>]*value="(\d+):')
    evaluation = client.get("/admin/dashboard/evaluation/").text
    seen["evaluation form"] = sum(
        int(n) for n in re.findall(r'class="text-right overdue-now[^"]*">(\d+)<', evaluation)
    )
    return seen


def assert_agree(seen: dict[str, object], expected: set[int]) -> None:
    assert seen == {
        "my tasks": expected,
        "dashboard card": len(expected),
        "dashboard list": expected,
        "dossier list": expected,
        "evaluation form": len(expected),
    }


def test_the_four_places_agree_on_what_is_overdue(db, client, people):
    now = utcnow()
    late_1 = make_dossier("Terlambat di langkah 1")
    on_time = advance(make_dossier("Tepat waktu"), people, 4)
    late_5 = advance(make_dossier("Terlambat di langkah 5"), people, 5)
    no_due = make_dossier("Tanpa batas waktu")  # as the demo used to make them
    finished = advance(make_dossier("Selesai"), people, 10)
    late_1.step_due_at = now - timedelta(days=3)
    late_5.step_due_at = now - timedelta(hours=5)
    on_time.step_due_at = now + timedelta(days=3)
    no_due.step_due_at = None
    finished.step_due_at = now - timedelta(days=30)
    db.session.commit()
    assert_agree(overdue_everywhere(client), {late_1.id, late_5.id})


def test_the_demo_dossiers_have_due_times_and_every_place_agrees(db, client, people):
    demo(db.session)  # with the people's accounts, which the demo keeps
    open_ = db.session.scalars(select(Dossier).where(Dossier.status == "in_progress")).all()
    assert open_ and all(d.step_due_at is not None for d in open_)
    for dossier in open_:
        dossier.step_due_at = dossier.step_started_at  # all of them late, the same way
    db.session.commit()
    late = set(mutu.overdue_minutes(open_, utcnow(), WorkingCalendar()))
    assert_agree(overdue_everywhere(client), late)


def test_how_late_in_words():
    assert mutu.duration_text(135) == "2 h 15 min"
    assert mutu.duration_text(450 + 60) == "1 d 1 h"
    assert mutu.duration_text(0) == "0 min"
    with force_locale("id"):
        assert mutu.late_text(135) == "terlambat 2 jam 15 menit"
        assert mutu.late_text(905) == "terlambat 2 hari 5 menit"


def test_my_tasks_says_how_late(db, client, people):
    dossier = make_dossier("Terlambat")
    dossier.step_due_at = utcnow() - timedelta(days=2)
    db.session.commit()
    act_as(client, "kadis")
    html = client.get("/admin/").text
    mark = re.search(r'<span class="badge badge-danger overdue-mark">(.*?)</span>', html).group(1)
    assert mark.startswith("late by ")


# --- due times follow the working calendar --------------------------------------------------------


def test_due_times_follow_a_change_of_the_working_calendar(db, client, people):
    dossier = advance(make_dossier(), people, 3)  # step 3: one working day
    finished = advance(make_dossier("Selesai"), people, 10)
    started = datetime(2030, 1, 7, 8, 0, tzinfo=WIB)  # a Monday
    dossier.step_started_at = started
    dossier.step_due_at = WorkingCalendar().add_working_minutes(started, 450)
    db.session.commit()
    before, version = dossier.step_due_at, dossier.version

    login(client, "admin")
    response = post(client, "/admin/calendar_day/new/", {
        "day": "2030-01-08", "kind": "off", "description": "Cuti bersama"})  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    moved = db.session.get(Dossier, dossier.id)
    calendar = WorkingCalendar.from_session(db.session, "Asia/Jakarta")
    assert calendar.extra_off  # the day off is stored
    assert moved.step_due_at == calendar.add_working_minutes(started, 450) > before
    assert moved.version == version  # not a transition: nobody's open page goes stale
    assert db.session.get(Dossier, finished.id).step_due_at is None

    day = db.session.scalar(select(CalendarDay))
    response = post(client, "/admin/calendar_day/delete/", {"id": day.id})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).step_due_at == before


def test_recompute_fills_a_missing_due_time_and_keeps_right_ones(db, people):
    dossier = make_dossier()
    right = make_dossier("Benar")
    due = right.step_due_at
    dossier.step_due_at = None
    db.session.commit()
    assert workflow.recompute_due_times(db.session) == 1
    db.session.commit()
    assert db.session.get(Dossier, dossier.id).step_due_at is not None
    assert db.session.get(Dossier, right.id).step_due_at == due


# --- the evaluation form opens on the current half-year -----------------------------------------


def test_the_evaluation_form_opens_on_the_current_half_year(db, client, people):
    today = datetime.now(WIB).date()
    act_as(client, "kadis")
    html = client.get("/admin/dashboard/evaluation/").text
    year = re.search(r'<input[^>]*name="year"[^>]*>', html).group(0)
    assert f'value="{today.year}"' in year
    half = "1" if today.month <= 6 else "2"
    assert re.search(rf'<option selected value="{half}">', html)
    assert mutu.current_half(today.replace(month=6, day=30)) == (today.year, 1)
    assert mutu.current_half(today.replace(month=7, day=1)) == (today.year, 2)
