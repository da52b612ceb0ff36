"""The workflow rules, one test (or more) per rule, called without a request."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import fill_iku, login, make_dossier, make_user, post
from flask_babel import force_locale
from sqlalchemy import delete, func, select

from iku_admin import workflow
from models import (
    AppendOnlyError,
    CalendarDay,
    Dossier,
    Indicator,
    IndicatorTarget,
    StepRecord,
    utcnow,
)

# Who does each step of the seeded SOP (keys of the ``people`` fixture).
ACTORS = {1: "kadis", 2: "sekretaris", 3: "timsakip", 4: "staf", 5: "sekretaris",
          6: "perencana", 7: "kadis", 8: "sekretaris", 9: "staf"}  # fmt: skip
DONE = 10  # "position" of a finished dossier in ``advance``


@pytest.fixture(autouse=True)
def english(db, people):
    """Messages in English (their msgids), whatever the Indonesian catalog holds by now.

    Modules that import this fixture use it too.
    """
    for user in people.values():
        user.locale = "en"
    db.session.commit()
    with force_locale("en"):
        yield


def position(dossier: Dossier) -> int:
    return DONE if dossier.status == "done" else dossier.current_step.position


def advance(dossier: Dossier, people, until: int) -> Dossier:
    """Take the proper action at each step until the dossier stands at ``until`` (10: done).

    Fills in what the steps check (IKU content, outgoing letter) when it is missing.
    """
    while position(dossier) < until:
        step = dossier.current_step
        if "iku_content" in step.requirements and not dossier.objectives:
            fill_iku(dossier)
        if "outgoing_agenda_number" in step.requirements and not dossier.outgoing_agenda_number:
            dossier.outgoing_agenda_number = "050/123/DPMPTSP/2026"
            dossier.distribution_record = "Dikirim ke Bappeda dan Inspektorat"
        act = workflow.approve if step.kind == "review" else workflow.complete
        act(dossier, people[ACTORS[step.position]])
    return dossier


def snapshot(db, dossier: Dossier) -> tuple:
    """Everything a refused action must leave as it was."""
    db.session.expire_all()
    row = db.session.get(Dossier, dossier.id)
    records = db.session.scalars(
        select(StepRecord.id).where(StepRecord.dossier_id == dossier.id)
    ).all()
    return (row.current_step_id, row.status, row.version, row.revision_round,
            row.step_started_at, tuple(records))  # fmt: skip


def refused(db, dossier, call, *args, match: str, **kwargs) -> workflow.WorkflowError:
    """Assert that ``call`` raises a WorkflowError saying ``match`` and changes nothing."""
    before = snapshot(db, dossier)
    with pytest.raises(workflow.WorkflowError, match=match) as error:
        call(dossier, *args, **kwargs)
    assert snapshot(db, dossier) == before
    return error.value


def records_of(db, dossier) -> list[StepRecord]:
    return db.session.scalars(
        select(StepRecord).where(StepRecord.dossier_id == dossier.id).order_by(StepRecord.id)
    ).all()


# --- starting ---------------------------------------------------------------------------------


def test_a_new_dossier_starts_at_the_first_step_of_the_active_sop(db, people):
    dossier = make_dossier()
    assert dossier.current_step.position == 1
    assert dossier.sop.status == "active"
    assert dossier.status == "in_progress" and dossier.version == 1
    assert dossier.step_due_at > dossier.step_started_at


# --- who may act on what ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sekretaris", "perencana", "timsakip", "staf", "admin"])
def test_only_a_user_holding_the_steps_role_can_act(db, people, who):
    dossier = make_dossier()
    error = refused(db, dossier, workflow.complete, people[who],
                    match="current step is 1 .*Kepala Dinas")  # fmt: skip
    assert "Memerintahkan" in str(error)
    assert workflow.available_actions(dossier, people[who]) == []
    assert workflow.available_actions(dossier, people["kadis"]) == ["complete"]


def test_an_inactive_user_cannot_act_even_with_the_role(db, people):
    dossier = make_dossier()
    people["kadis"].active = False
    db.session.commit()
    refused(db, dossier, workflow.complete, people["kadis"], match="current step is 1")


def test_the_next_steps_actor_cannot_act_before_the_step_is_current(db, people):
    dossier = advance(make_dossier(), people, 3)
    # Staf does step 4, but the dossier is at step 3.
    refused(db, dossier, workflow.complete, people["staf"], match="current step is 3")


def test_only_the_step_the_user_saw_can_be_acted_on(db, people):
    dossier = advance(make_dossier(), people, 2)
    seen = dossier.version
    workflow.complete(dossier, people["sekretaris"])  # someone moves it on to step 3
    fill_iku(dossier)
    refused(db, dossier, workflow.complete, people["timsakip"], seen_version=seen,
            match="Already processed by Sekretaris")  # fmt: skip


def test_complete_on_a_review_step_is_refused(db, people):
    dossier = advance(make_dossier(), people, 5)
    refused(db, dossier, workflow.complete, people["sekretaris"], match="Step 5 is a review")
    assert workflow.available_actions(dossier, people["sekretaris"]) == ["approve", "return"]


@pytest.mark.parametrize("action", ["approve", "return"])
def test_approve_or_return_on_a_task_step_is_refused(db, people, action):
    dossier = advance(make_dossier(), people, 2)
    call = workflow.approve if action == "approve" else workflow.return_for_revision
    refused(db, dossier, call, people["sekretaris"], "ok", match="Step 2 is not a review")


# --- the review loop --------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_return_needs_a_reason(db, people, reason):
    dossier = advance(make_dossier(), people, 5)
    refused(db, dossier, workflow.return_for_revision, people["sekretaris"], reason,
            match="reason is required")  # fmt: skip


def test_return_goes_back_to_step_4_and_counts_the_round(db, people):
    dossier = advance(make_dossier(), people, 5)
    record = workflow.return_for_revision(dossier, people["sekretaris"], "  Target 2027 keliru ")
    assert (record.position, record.outcome, record.note) == (5, "returned", "Target 2027 keliru")
    assert dossier.current_step.position == 4 and dossier.revision_round == 1
    advance(dossier, people, 5)
    workflow.return_for_revision(dossier, people["sekretaris"], "Satuan belum sesuai")
    assert dossier.current_step.position == 4 and dossier.revision_round == 2
    record = advance(dossier, people, 6).records[-1]
    assert (record.position, record.outcome) == (5, "approved")
    assert dossier.revision_round == 2


def test_approve_moves_the_review_to_the_next_step(db, people):
    dossier = advance(make_dossier(), people, 5)
    record = workflow.approve(dossier, people["sekretaris"], "Sudah sesuai")
    assert (record.position, record.outcome, record.note) == (5, "approved", "Sudah sesuai")
    assert dossier.current_step.position == 6 and dossier.revision_round == 0


def test_whoever_finished_the_step_under_review_cannot_review_it(db, people):
    dual = make_user("ganda", "staf", "sekretaris", full_name="Pegawai Ganda")
    dossier = advance(make_dossier(), people, 4)
    workflow.complete(dossier, dual)  # step 4, typed by the person who also reviews
    assert workflow.available_actions(dossier, dual) == []
    refused(db, dossier, workflow.approve, dual, match="someone else must review")
    refused(db, dossier, workflow.return_for_revision, dual, "x", match="someone else must review")
    workflow.approve(dossier, people["sekretaris"])
    assert dossier.current_step.position == 6


# --- Kelengkapan ---------------------------------------------------------------------------------


@pytest.mark.parametrize("at", [3, 4])
def test_iku_steps_need_at_least_one_indicator(db, people, at):
    dossier = advance(make_dossier(), people, at)
    if at == 4:  # advance filled the content for step 3: take it away again
        db.session.execute(delete(IndicatorTarget))
        db.session.execute(delete(Indicator))
        db.session.commit()
    refused(db, dossier, workflow.complete, people[ACTORS[at]], match="at least one indicator")


@pytest.mark.parametrize("at", [3, 4])
def test_iku_steps_list_what_each_indicator_lacks(db, people, at):
    dossier = advance(fill_iku(make_dossier(), indicators=2), people, at)
    first, second = dossier.objectives[0].indicators
    first.definition = ""
    first.data_source = ""
    second.unit = ""
    second.responsible = ""
    second.targets = [t for t in second.targets if t.year not in (2027, 2030)]
    db.session.commit()
    error = refused(db, dossier, workflow.complete, people[ACTORS[at]], match="Incomplete")
    message = str(error)
    assert "Nilai investasi 1: definition/formula, data source" in message
    assert "Nilai investasi 2: unit, responsible official, targets for 2027, 2030" in message
    assert "unit" not in message.split("Nilai investasi 2")[0]


def test_iku_steps_pass_with_complete_content(db, people):
    dossier = advance(fill_iku(make_dossier()), people, 3)
    workflow.complete(dossier, people["timsakip"])
    workflow.complete(dossier, people["staf"])
    assert dossier.current_step.position == 5


def test_step_9_needs_the_outgoing_agenda_number_and_the_distribution_record(db, people):
    dossier = advance(make_dossier(), people, 9)
    dossier.outgoing_agenda_number = ""
    dossier.distribution_record = ""
    db.session.commit()
    error = refused(db, dossier, workflow.complete, people["staf"], match="Incomplete")
    assert "outgoing letter agenda number" in str(error) and "distribution record" in str(error)
    dossier.outgoing_agenda_number = "050/7/2026"
    db.session.commit()
    error = refused(db, dossier, workflow.complete, people["staf"], match="distribution record")
    assert "agenda number" not in str(error)
    dossier.distribution_record = "Bappeda, Inspektorat (ekspedisi 12/3)"
    db.session.commit()
    workflow.complete(dossier, people["staf"])
    assert dossier.status == "done" and dossier.current_step is None
    assert dossier.finished_at is not None


def test_an_incomplete_step_still_shows_its_button(db, people):
    """Pressing it says what is missing, which helps more than a hidden button."""
    dossier = advance(make_dossier(), people, 3)
    assert workflow.available_actions(dossier, people["timsakip"]) == ["complete"]


# --- locks ------------------------------------------------------------------------------------


def test_content_is_locked_after_approval_at_the_review_step(db, people):
    dossier = make_dossier()
    for until in range(1, 6):
        advance(dossier, people, until)
        assert not workflow.is_content_locked(dossier), until
        workflow.ensure_content_editable(dossier)
    workflow.return_for_revision(dossier, people["sekretaris"], "perbaiki")
    assert not workflow.is_content_locked(dossier)  # back at step 4: editable again
    for until in range(6, DONE + 1):
        advance(dossier, people, until)
        assert workflow.is_content_locked(dossier), until
        with pytest.raises(workflow.WorkflowError):
            workflow.ensure_content_editable(dossier)


def _indicator_form(indicator: Indicator, **changes) -> dict:
    """The indicator edit form as the browser posts it (targets inline)."""
    data = {
        "objective": indicator.objective_id, "order": indicator.order, "name": indicator.name,
        "definition": indicator.definition, "unit": indicator.unit,
        "polarity": indicator.polarity, "baseline": indicator.baseline,
        "data_source": indicator.data_source, "responsible": indicator.responsible,
        "row_version": indicator.row_version,
    }  # fmt: skip
    for n, target in enumerate(indicator.targets):
        data |= {f"targets-{n}-id": target.id, f"targets-{n}-year": target.year,
                 f"targets-{n}-target": str(target.target)}  # fmt: skip
    return data | changes


@pytest.mark.parametrize(("until", "editable"), [(5, True), (6, False), (DONE, False)])
def test_editing_an_indicator_through_http_follows_the_lock(db, client, people, until, editable):
    dossier = advance(fill_iku(make_dossier()), people, until)
    indicator = dossier.objectives[0].indicators[0]
    login(client, "timsakip")
    response = post(client, f"/admin/indicator/edit/?id={indicator.id}",
                    _indicator_form(indicator, name="Nama baru"))  # fmt: skip
    db.session.expire_all()
    name = db.session.get(Indicator, indicator.id).name
    if editable:
        assert response.status_code == 302 and name == "Nama baru"
    else:
        assert response.status_code == 422, response.status_code
        assert "locked" in response.text or "finished" in response.text
        assert name == "Nilai investasi 1"


def _dossier_form(dossier: Dossier, **changes) -> dict:
    data = {
        "title": dossier.title, "period_start": dossier.period_start,
        "period_end": dossier.period_end, "letter_number": dossier.letter_number,
        "letter_date": dossier.letter_date.isoformat(), "letter_sender": dossier.letter_sender,
        "letter_subject": dossier.letter_subject,
        "outgoing_agenda_number": dossier.outgoing_agenda_number,
        "distribution_record": dossier.distribution_record, "version": dossier.version,
    }  # fmt: skip
    return data | changes


def test_a_finished_dossier_is_read_only_through_http(db, client, people):
    dossier = advance(make_dossier(), people, DONE)
    before = snapshot(db, dossier)
    login(client, "staf")
    response = post(client, f"/admin/dossier/edit/?id={dossier.id}",
                    _dossier_form(dossier, title="Diubah"))  # fmt: skip
    assert response.status_code == 422
    assert "finished and can no longer be changed" in response.text
    assert snapshot(db, dossier) == before
    assert db.session.get(Dossier, dossier.id).title == "IKU 2026–2030"


def test_the_period_cannot_change_once_the_content_is_locked(db, client, people):
    dossier = advance(make_dossier(), people, 6)
    login(client, "staf")
    response = post(client, f"/admin/dossier/edit/?id={dossier.id}",
                    _dossier_form(dossier, period_end=2031))  # fmt: skip
    assert response.status_code == 422 and "period cannot change" in response.text
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).period_end == 2030
    response = post(client, f"/admin/dossier/edit/?id={dossier.id}",
                    _dossier_form(dossier, title="Judul baru"))  # fmt: skip
    assert response.status_code == 302


def test_the_current_step_is_never_editable_through_a_form(db, client, people):
    dossier = advance(make_dossier(), people, 2)
    other_step = dossier.sop.steps[8]
    login(client, "staf")
    form = client.get(f"/admin/dossier/edit/?id={dossier.id}").text
    for name in ("current_step", "status", "revision_round", "sop", "finished_at"):
        assert f'name="{name}' not in form, name
    forged = {
        "current_step": other_step.id, "current_step_id": other_step.id, "status": "done",
        "revision_round": 7, "sop": 99, "sop_id": 99, "finished_at": "2026-01-01",
    }  # fmt: skip
    response = post(client, f"/admin/dossier/edit/?id={dossier.id}",
                    _dossier_form(dossier, title="Judul baru", **forged))  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(Dossier, dossier.id)
    assert row.title == "Judul baru"
    assert (row.current_step.position, row.status, row.revision_round) == (2, "in_progress", 0)
    assert row.version == 3  # 1, + 1 for step 1, + 1 for the edit


# --- the history ------------------------------------------------------------------------------


def test_each_transition_writes_exactly_one_complete_step_record(db, people):
    dossier = advance(make_dossier(), people, 5)
    started = dossier.step_started_at
    version = dossier.version
    count = len(records_of(db, dossier))
    record = workflow.return_for_revision(dossier, people["sekretaris"], "Perbaiki satuan")
    assert len(records_of(db, dossier)) == count + 1
    assert record.dossier_id == dossier.id and record.dossier_version == version
    assert record.user_id == people["sekretaris"].id
    assert record.role.code == "sekretaris"
    assert (record.position, record.step.position, record.outcome) == (5, 5, "returned")
    assert record.note == "Perbaiki satuan"
    assert record.started_at == started
    assert started <= record.finished_at <= utcnow()
    assert record.finished_at == dossier.step_started_at  # the next step became current then
    assert record.sop_version == dossier.sop.version == 1
    assert record.standard_minutes == 30 and record.working_minutes >= 0
    assert dossier.version == version + 1


def test_working_minutes_are_counted_on_the_calendar(db, people):
    dossier = make_dossier()
    # Started a full working week ago: 5 working days of 450 minutes, give or take today.
    dossier.step_started_at = utcnow() - timedelta(days=7)
    db.session.commit()
    record = workflow.complete(dossier, people["kadis"])
    assert 4 * 450 <= record.working_minutes <= 6 * 450
    assert not record.on_time


def test_stored_minutes_across_friday_break_weekend_cuti_bersama_and_holiday(
    db, people, monkeypatch
):
    """The workflow stores, per step, the working minutes counted by hand on the office
    calendar: Monday 16 February 2026 is a configured cuti bersama, Tuesday 17 February
    Imlek (a national holiday from the holidays package)."""
    wib = ZoneInfo("Asia/Jakarta")

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(date(2026, 2, day), time(hour, minute), tzinfo=wib)

    db.session.add(CalendarDay(day=date(2026, 2, 16), kind="off", description="Cuti bersama"))
    db.session.commit()
    clock = [at(12, 9)]  # Thursday 09:00
    monkeypatch.setattr(workflow, "utcnow", lambda: clock[0])
    dossier = fill_iku(make_dossier())
    steps = [
        # when finished, hand-calculated working minutes, within the standard
        (at(12, 9, 10), 10, True),  # 1 (10): Thu 09:00-09:10
        (at(12, 13, 30), 170 + 30, False),  # 2 (20): Thu to 12:00, lunch, 13:00-13:30
        # 3 (450): Thu 13:30-16:00, Fri 07:30-11:30, Friday break to 13:00, 13:00-14:00
        (at(13, 14), 150 + 240 + 60, True),
        # 4 (450): Fri 14:00-16:30; Sat, Sun, Mon (cuti bersama), Tue (Imlek) 0;
        # Wed 07:30-10:00
        (at(18, 10), 150 + 150, True),
        (at(18, 10, 30), 30, True),  # 5 (30): Wed 10:00-10:30
    ]
    due_after = {}
    for finished, _minutes, _within in steps:
        clock[0] = finished
        step = dossier.current_step
        act = workflow.approve if step.kind == "review" else workflow.complete
        act(dossier, people[ACTORS[step.position]])
        due_after[step.position] = dossier.step_due_at
    records = records_of(db, dossier)
    assert [r.position for r in records] == [1, 2, 3, 4, 5]
    assert [r.working_minutes for r in records] == [m for _f, m, _w in steps]
    assert [r.on_time for r in records] == [w for _f, _m, w in steps]
    assert [r.finished_at for r in records] == [f for f, _m, _w in steps]
    # Step 4 became current Friday 14:00 with 450 minutes: 150 on Friday, none until
    # Wednesday, then 07:30-12:00 (270) and 13:00-13:30 (30).
    assert due_after[3] == at(18, 13, 30)


def test_a_full_run_writes_one_record_per_transition_in_order(db, people):
    dossier = advance(make_dossier(), people, 5)
    workflow.return_for_revision(dossier, people["sekretaris"], "Perbaiki")
    advance(dossier, people, DONE)
    records = records_of(db, dossier)
    assert [r.position for r in records] == [1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9]
    assert [r.outcome for r in records].count("returned") == 1
    versions = [r.dossier_version for r in records]
    assert versions == sorted(set(versions))  # each from a new version of the dossier
    assert [r.role.code for r in records] == [
        people[ACTORS[r.position]].roles[0].code for r in records
    ]


def test_step_records_cannot_be_updated_or_deleted_through_the_orm(db, people):
    dossier = advance(make_dossier(), people, 2)
    record = records_of(db, dossier)[0]
    record.note = "diubah"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(record)
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    assert records_of(db, dossier)[0].note == ""


def test_no_route_edits_or_deletes_a_step_record(db, client, people):
    dossier = advance(make_dossier(), people, 3)
    record = records_of(db, dossier)[0]
    login(client, "admin")
    page = client.get("/admin/step_record/").text
    assert "/admin/step_record/edit/" not in page and "/admin/step_record/delete/" not in page
    forged = [
        (f"/admin/step_record/edit/?id={record.id}", {"note": "diubah", "outcome": "approved"}),
        ("/admin/step_record/delete/", {"id": record.id}),
        ("/admin/step_record/action/", {"action": "delete", "rowid": record.id}),
        ("/admin/step_record/new/", {"note": "palsu", "outcome": "done"}),
    ]
    for url, data in forged:
        assert post(client, url, data).status_code == 403, url
    assert client.get(f"/admin/step_record/edit/?id={record.id}").status_code == 403
    db.session.expire_all()
    assert [(r.id, r.note, r.outcome) for r in records_of(db, dossier)] == [
        (record.id, "", "done"), (record.id + 1, "", "done")
    ]  # fmt: skip


# --- refused actions leave everything as it was -------------------------------------------------


def test_a_finished_dossier_refuses_every_action(db, people):
    dossier = advance(make_dossier(), people, DONE)
    for who in people:
        assert workflow.available_actions(dossier, people[who]) == []
        refused(db, dossier, workflow.complete, people[who], match="finished")
        refused(db, dossier, workflow.approve, people[who], match="finished")
        refused(db, dossier, workflow.return_for_revision, people[who], "x", match="finished")


def test_a_second_approval_of_the_same_step_is_refused(db, people):
    dossier = advance(make_dossier(), people, 5)
    seen = dossier.version
    workflow.approve(dossier, people["sekretaris"])
    # Again, from the page loaded before (the version seen then) ...
    refused(db, dossier, workflow.approve, people["sekretaris"], seen_version=seen,
            match="Already processed by Sekretaris at")  # fmt: skip
    # ... and again on the fresh dossier, now at step 6.
    refused(db, dossier, workflow.approve, people["sekretaris"], match="current step is 6")
    assert db.session.scalar(
        select(func.count()).where(StepRecord.dossier_id == dossier.id, StepRecord.position == 5)
    ) == 1  # fmt: skip


def test_an_edit_of_the_dossier_since_it_was_seen_is_reported_as_such(db, people):
    dossier = make_dossier()
    seen = dossier.version
    dossier.title = "Judul lain"
    dossier.version += 1  # what the edit form does
    db.session.commit()
    refused(db, dossier, workflow.complete, people["kadis"], seen_version=seen,
            match="Changed by someone else")  # fmt: skip


def test_bulk_refuses_an_unknown_action_or_an_empty_selection(db, people):
    dossier = make_dossier()
    with pytest.raises(workflow.WorkflowError, match="Unknown action"):
        workflow.bulk("delete", [dossier.id], people["kadis"])
    with pytest.raises(workflow.WorkflowError, match="No dossier selected"):
        workflow.bulk("complete", [], people["kadis"])


def test_a_review_without_a_return_step_cannot_return(db, people):
    dossier = advance(make_dossier(), people, 5)
    dossier.current_step.return_to = None
    db.session.commit()
    refused(db, dossier, workflow.return_for_revision, people["sekretaris"], "x",
            match="does not say where step 5 returns to")  # fmt: skip


def test_expected_actor_names_the_role_and_its_people(db, people):
    make_user("sekretaris2", "sekretaris", full_name="Andi Wijaya")
    dossier = advance(make_dossier(), people, 5)
    assert workflow.expected_actor(dossier) == (
        "Step 5 waits for Sekretaris (Andi Wijaya, Sekretaris)."
    )
    advance(dossier, people, DONE)
    assert workflow.expected_actor(dossier) == "Nobody: the dossier is finished."
