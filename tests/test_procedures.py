"""Several SOPs side by side: each procedure has its versions and its own active one; a dossier
is registered under one (the default unless chosen); lists, the dashboard and the evaluation
form keep them apart; only a procedure that drafts an IKU shows and prints one."""

from __future__ import annotations

import re

import pytest
from conftest import assert_totals_match_history, flashes, login, make_dossier, post
from sqlalchemy import func, select, update
from test_workflow_web import act_as, press

from iku_admin import mutu, workflow
from iku_admin.extensions import db as _db
from models import AuditEntry, Dossier, Procedure, Role, Sop, SopStep, StrategicObjective, User

LKJIP = "Penyusunan Laporan Kinerja (LKjIP)"


def make_procedure(db, name: str = LKJIP, carries_iku: bool = False) -> Sop:
    """A second procedure with an active two-step version: staf drafts, kadis signs."""
    roles = {r.code: r for r in db.session.scalars(select(Role))}
    sop = Sop(
        procedure=Procedure(name=name, carries_iku=carries_iku),
        number="700/LKJIP",
        name=name,
        steps=[
            SopStep(position=1, activity="Menyusun draf LKjIP", role=roles["staf"],
                    time_value=2, time_unit="hari"),
            SopStep(position=2, activity="Menandatangani LKjIP", role=roles["kepala_dinas"],
                    time_value=30, time_unit="menit"),
        ],
    )  # fmt: skip
    db.session.add(sop)
    db.session.commit()
    workflow.activate_sop(db.session, sop)
    return sop


def registration(**fields) -> dict:
    return {"title": "LKjIP 2026", "period_start": "2026", "period_end": "2026",
            "letter_number": "050/077/2026", "letter_date": "2026-02-02",
            "letter_sender": "Bagian Organisasi", "letter_subject": "Penyusunan LKjIP",
            **fields}  # fmt: skip


def test_a_dossier_chooses_its_sop_at_registration_the_default_first(db, client, people):
    iku = workflow.active_sop(db.session)
    lkjip = make_procedure(db)
    login(client, "staf")
    page = client.get("/admin/dossier/new/").text
    options = re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>',
                         page.split('name="sop"')[1].split("</select>")[0])  # fmt: skip
    assert [name for _id, name in options] == [iku.procedure.name, LKJIP]  # the default first
    assert re.search(rf'<option selected value="{iku.id}"|<option value="{iku.id}" selected',
                     page)  # fmt: skip
    response = post(client, "/admin/dossier/new/", registration(sop=str(lkjip.id)))
    assert response.status_code == 302, flashes(response.text)
    chosen = db.session.scalar(select(Dossier).where(Dossier.title == "LKjIP 2026"))
    assert (chosen.sop_id, chosen.current_step.activity) == (lkjip.id, "Menyusun draf LKjIP")
    # Without a choice (a client that sends none): the default procedure's version.
    response = post(client, "/admin/dossier/new/", registration(title="IKU lagi"))
    assert response.status_code == 302
    assert db.session.scalar(select(Dossier.sop_id).where(Dossier.title == "IKU lagi")) == iku.id
    # A retired or draft version is refused with a message, nothing saved.
    draft = workflow.new_sop_version(db.session, lkjip)
    response = post(client, "/admin/dossier/new/", registration(title="X", sop=str(draft.id)))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).where(Dossier.title == "X")) == 0


def test_one_sop_means_nothing_to_choose(db, client, people):
    login(client, "staf")
    assert 'name="sop"' not in client.get("/admin/dossier/new/").text


def test_activating_a_version_retires_only_its_own_procedures_versions(db, people):
    iku = workflow.active_sop(db.session)
    lkjip = make_procedure(db)
    draft = workflow.new_sop_version(db.session, lkjip)
    workflow.activate_sop(db.session, draft)
    db.session.refresh(iku)
    db.session.refresh(lkjip)
    assert (iku.status, lkjip.status, draft.status) == ("active", "retired", "active")
    assert workflow.active_sop(db.session).id == iku.id  # the default procedure's
    assert workflow.active_sop(db.session, lkjip.procedure_id).id == draft.id


def test_a_dossier_without_an_iku_shows_prints_and_takes_none(db, client, people):
    lkjip = make_procedure(db)
    dossier = make_dossier("LKjIP 2026", (2026, 2026), sop=lkjip)
    iku_dossier = make_dossier()
    login(client, "staf")
    page = client.get(f"/admin/dossier/details/?id={dossier.id}").text
    assert LKJIP in page
    assert "iku-editor" not in page and "/documents/iku/" not in page
    assert "iku-editor" in client.get(f"/admin/dossier/details/?id={iku_dossier.id}").text
    for suffix in ("/", ".pdf", ".xlsx"):
        assert client.get(f"/admin/documents/iku/{dossier.id}{suffix}").status_code == 404
    assert f"/iku/{dossier.id}/" not in client.get("/admin/documents/").text
    # The content screens do not offer it, and no write path puts content into it.
    form = client.get("/admin/objective/new/").text
    assert f'value="{dossier.id}"' not in form.split('name="dossier"')[1].split("</select>")[0]
    response = post(client, "/admin/objective/new/",
                     {"dossier": str(dossier.id), "name": "Sasaran", "order": "1"})  # fmt: skip
    assert response.status_code == 422 and "tidak menyusun IKU" in response.text
    db.session.add(StrategicObjective(dossier=dossier, name="Lewat ORM", order=1))
    with pytest.raises(workflow.WorkflowError):
        db.session.commit()
    db.session.rollback()
    assert not db.session.scalar(select(StrategicObjective.id).where(
        StrategicObjective.dossier_id == dossier.id))  # fmt: skip


def test_the_list_filters_by_sop(db, client, people):
    lkjip = make_procedure(db)
    ours = make_dossier("LKjIP 2026", (2026, 2026), sop=lkjip)
    other = make_dossier()
    login(client, "kadis")
    page = client.get("/admin/dossier/").text
    assert LKJIP in page  # the filter offers it by name
    # The filter's URL argument, as the list itself names it.
    view = next(v for v in client.application.extensions["admin"][0]._views
                if v.endpoint == "dossier")  # fmt: skip
    arg = next(view.get_filter_arg(i, f) for i, f in enumerate(view.get_filters())
               if str(f.name) == "SOP")  # fmt: skip
    listed = client.get(f"/admin/dossier/?flt0_{arg}={lkjip.procedure_id}").text
    ids = set(map(int, re.findall(r"details/\?id=(\d+)", listed)))
    assert ours.id in ids and other.id not in ids
    assert client.get(f"/admin/dossier/?flt0_{arg}=abc").status_code == 200  # ignored
    # The step history too.
    act_as(client, "staf")
    press(client, ours.id, "complete")
    view = next(v for v in client.application.extensions["admin"][0]._views
                if v.endpoint == "step_record")  # fmt: skip
    arg = next(view.get_filter_arg(i, f) for i, f in enumerate(view.get_filters())
               if str(f.name) == "SOP")  # fmt: skip
    listed = client.get(f"/admin/step_record/?flt0_{arg}={lkjip.procedure_id}").text
    assert "Menyusun draf LKjIP" in listed
    iku_procedure = workflow.active_sop(db.session).procedure_id
    listed = client.get(f"/admin/step_record/?flt0_{arg}={iku_procedure}").text
    assert "Menyusun draf LKjIP" not in listed


def test_the_dashboard_and_evaluation_measure_one_sop_at_a_time(db, client, people):
    lkjip = make_procedure(db)
    dossier = make_dossier("LKjIP 2026", (2026, 2026), sop=lkjip)
    make_dossier()
    act_as(client, "staf")
    press(client, dossier.id, "complete")  # one finished LKjIP step
    assert_totals_match_history(db.session.connection())
    act_as(client, "kadis")
    default = client.get("/admin/dashboard/").text
    assert "Merumuskan" not in default or "Menyusun draf LKjIP" not in default
    assert "Menyusun draf LKjIP" not in default
    ours = client.get(f"/admin/dashboard/?sop={lkjip.procedure_id}").text
    assert "Menyusun draf LKjIP" in ours and "Menandatangani LKjIP" in ours
    iku_steps = [s.activity for s in workflow.active_sop(db.session).steps]
    assert not any(activity in ours for activity in iku_steps)
    evaluation = client.get(f"/admin/dashboard/evaluation/?sop={lkjip.procedure_id}").text
    assert "Menyusun draf LKjIP" in evaluation and iku_steps[0] not in evaluation
    assert client.get("/admin/dashboard/?sop=abc").status_code == 400
    assert client.get("/admin/dashboard/?sop=999").status_code == 400


def test_the_admin_keeps_the_procedures_and_the_default(db, client, people):
    iku = workflow.active_sop(db.session)
    lkjip = make_procedure(db)
    login(client, "admin")
    response = post(client, "/admin/procedure/action/",
                    {"action": "make_default", "rowid": str(lkjip.procedure_id)})  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    assert [p.name for p in db.session.scalars(select(Procedure).where(Procedure.is_default))] == [
        LKJIP]  # fmt: skip
    assert workflow.active_sop(db.session).id == lkjip.id
    assert make_dossier().sop_id == lkjip.id  # registered under the new default
    # Whether dossiers carry an IKU does not change once a dossier ran on it, finished ones too
    # (their signed IKU would vanish).
    dossier = make_dossier(sop=db.session.get(Sop, iku.id))
    db.session.execute(update(Dossier).where(Dossier.id == dossier.id).values(status="done"))
    db.session.commit()
    procedure = db.session.get(Procedure, iku.procedure_id)
    response = post(client, f"/admin/procedure/edit/?id={procedure.id}",
                    {"name": procedure.name, "row_version": procedure.row_version})  # fmt: skip
    assert response.status_code == 422 and "pernah berjalan" in response.text
    db.session.expire_all()
    assert db.session.get(Procedure, iku.procedure_id).carries_iku
    # Nor while one of its versions has a step that checks the IKU content.
    response = post(
        client, "/admin/procedure/new/", {"name": "Penyusunan Renja", "carries_iku": "y"}
    )
    assert response.status_code == 302
    renja = db.session.scalar(select(Procedure).where(Procedure.name == "Penyusunan Renja"))
    assert not renja.is_default  # the first one made in the panel only is the default
    staf = db.session.scalar(select(Role).where(Role.code == "staf"))
    db.session.add(Sop(procedure=renja, number="900/RENJA", name="Renja", steps=[
        SopStep(position=1, activity="Menyusun Renja", role=staf, time_value=1, time_unit="hari",
                requirements=["iku_content"])]))  # fmt: skip
    db.session.commit()
    response = post(client, f"/admin/procedure/edit/?id={renja.id}",
                    {"name": renja.name, "row_version": renja.row_version})  # fmt: skip
    assert response.status_code == 422 and "tidak menyusun IKU" in response.text
    # The other roles read the list and change nothing.
    act_as(client, "kadis")
    assert client.get("/admin/procedure/").status_code == 200
    assert client.get("/admin/procedure/new/").status_code == 403


def test_a_version_that_checks_an_iku_is_not_activated_for_a_procedure_without_one(db, people):
    lkjip = make_procedure(db)
    draft = workflow.new_sop_version(db.session, lkjip)
    draft.steps[0].requirements = ["iku_content"]
    db.session.commit()
    with pytest.raises(workflow.WorkflowError, match="tidak menyusun IKU"):
        workflow.activate_sop(db.session, draft)
    assert _db.session.get(Sop, draft.id).status == "draft"


def test_a_step_that_checks_an_iku_is_refused_in_an_sop_without_one(db, client, people):
    """Also on a version no dossier is open on (which is edited in place)."""
    lkjip = make_procedure(db)
    from test_sop_versions import step_form

    login(client, "admin")
    step = lkjip.steps[0]
    response = post(client, f"/admin/sop_step/edit/?id={step.id}",
                    step_form(step, requirements=["iku_content"]))  # fmt: skip
    assert response.status_code == 422 and "tidak menyusun IKU" in response.text
    db.session.expire_all()
    assert db.session.get(SopStep, step.id).requirements == []


def test_a_version_that_dossiers_ran_on_stays_with_its_sop(db, client, people):
    iku = workflow.active_sop(db.session)
    lkjip = make_procedure(db)
    draft = workflow.new_sop_version(db.session, iku)
    workflow.activate_sop(db.session, draft)  # the old version retires, its dossier finished
    login(client, "admin")
    old = db.session.get(Sop, iku.id)
    make_dossier(sop=draft)  # a dossier on the new one; and one ran on the old one:
    db.session.execute(update(Dossier).values(sop_id=old.id))
    db.session.commit()
    form = {"row_version": old.row_version, "procedure": lkjip.procedure_id,
            "number": old.number, "name": old.name}  # fmt: skip
    response = post(client, f"/admin/sop/edit/?id={old.id}", form)
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Sop, old.id).procedure_id == iku.procedure_id


def test_the_only_active_sop_is_taken_even_when_not_the_default(db, client, people):
    iku = workflow.active_sop(db.session)
    lkjip = make_procedure(db)
    db.session.execute(update(Sop).where(Sop.id == iku.id).values(status="retired"))
    db.session.commit()
    login(client, "staf")
    assert 'name="sop"' not in client.get("/admin/dossier/new/").text
    response = post(client, "/admin/dossier/new/", registration(title="Satu-satunya"))
    assert response.status_code == 302, flashes(response.text)
    assert db.session.scalar(select(Dossier.sop_id).where(Dossier.title == "Satu-satunya")) == (
        lkjip.id)  # fmt: skip


def test_sop_changes_are_in_the_audit_log(db, client, people):
    lkjip = make_procedure(db)
    login(client, "admin")
    post(client, "/admin/procedure/action/",
         {"action": "make_default", "rowid": str(lkjip.procedure_id)})  # fmt: skip
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.table_name == "sop_procedure", AuditEntry.action == "update")).all()  # fmt: skip
    assert {e.row_id for e in entries} >= {str(lkjip.procedure_id)}


def test_the_record_sheet_needs_the_dossier_and_history_grants(db, client, people):
    dossier = make_dossier()
    login(client, "admin")
    from test_roles import MATRIX_URL, cell, matrix_form

    data = matrix_form(client)
    staf = db.session.scalar(select(Role).where(Role.code == "staf"))
    data[cell(staf, "step_record")] = ""
    assert post(client, MATRIX_URL, data).status_code == 302
    act_as(client, "staf")
    assert client.get(f"/admin/documents/dossier/{dossier.id}/").status_code == 403
    assert client.get(f"/admin/documents/dossier/{dossier.id}.pdf").status_code == 403
    assert "/documents/dossier/" not in client.get(f"/admin/dossier/details/?id={dossier.id}").text
    act_as(client, "kadis")
    assert client.get(f"/admin/documents/dossier/{dossier.id}/").status_code == 200


def test_the_totals_follow_a_second_sops_dossier_through_a_period_change(db, people):
    lkjip = make_procedure(db)
    dossier = make_dossier("LKjIP 2026", (2026, 2026), sop=lkjip)
    staf = db.session.scalar(select(User).where(User.username == "staf"))
    workflow.complete(dossier, staf, "")
    dossier.period_end = 2027
    dossier.period_start = 2027
    db.session.commit()
    assert_totals_match_history(db.session.connection())
    scope = mutu.Scope.of(period=(2027, 2027), procedure=lkjip.procedure_id)
    from iku_admin.calendar import WorkingCalendar

    data = mutu.dashboard(db.session, scope, WorkingCalendar())
    assert [s.finished for s in data.steps] == [1, 0] and data.open_total == 1
    other = mutu.dashboard(db.session, mutu.Scope.of(period=(2027, 2027)), WorkingCalendar())
    assert other.open_total == 0 and not any(s.finished for s in other.steps)


def test_overdue_dossiers_per_step_are_counted_per_sop(db, people):
    lkjip = make_procedure(db)
    late = make_dossier("LKjIP 2026", (2026, 2026), sop=lkjip)
    late.step_due_at = late.step_started_at  # due at once: overdue
    db.session.commit()
    now = late.step_started_at.replace(year=late.step_started_at.year + 1)
    assert mutu.overdue_by_step(db.session, now, mutu.Scope(procedure=lkjip.procedure_id)) == {
        1: 1}  # fmt: skip
    assert mutu.overdue_by_step(db.session, now, mutu.Scope()) == {}  # the default SOP's
