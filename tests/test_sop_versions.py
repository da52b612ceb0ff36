"""SOP versions: a version in use is not changed in place; open dossiers finish on theirs."""

from __future__ import annotations

import pytest
from conftest import flashes, login, make_dossier, post
from sqlalchemy import func, select
from test_workflow import DONE, advance, english, refused, snapshot  # noqa: F401 (autouse)

from iku_admin import workflow
from models import Procedure, Role, Sop, SopStep, StepRecord

IN_USE = "Open dossiers use this SOP version"


def step_form(step: SopStep, **changes) -> dict:
    """The SOP step edit form as the browser posts it."""
    data = {
        "row_version": step.row_version, "sop": step.sop_id, "position": step.position,
        "activity": step.activity, "role": step.role_id, "input": step.input,
        "output": step.output, "time_value": step.time_value, "time_unit": step.time_unit,
        "kind": step.kind, "return_to": step.return_to_step_id or "",
        "requirements": step.requirements, "notes": step.notes,
    }  # fmt: skip
    return data | changes


def steps_state(db, sop_id: int) -> list[tuple]:
    db.session.expire_all()
    return db.session.execute(
        select(SopStep.position, SopStep.activity, SopStep.role_id, SopStep.time_value)
        .where(SopStep.sop_id == sop_id)
        .order_by(SopStep.position)
    ).all()


def sop_action(client, action: str, sop_id: int):
    return post(client, "/admin/sop/action/", {"action": action, "rowid": str(sop_id)})


def test_changing_a_step_of_a_version_in_use_is_refused_with_an_offer(db, client, people):
    dossier = make_dossier()
    sop = dossier.sop
    before = steps_state(db, sop.id)
    login(client, "admin")
    step = sop.steps[5]
    response = post(client, f"/admin/sop_step/edit/?id={step.id}", step_form(step, time_value=45))
    assert response.status_code == 422
    assert IN_USE in response.text and "New version" in response.text
    response = post(client, "/admin/sop_step/new/", step_form(step, position=10, row_version=""))
    assert response.status_code == 422 and IN_USE in response.text
    response = post(client, "/admin/sop_step/delete/", {"id": step.id})
    assert IN_USE in flashes(client.get(response.headers["Location"]).text)
    header = {
        "row_version": sop.row_version,
        "procedure": sop.procedure_id,
        "number": sop.number,
        "name": "Nama lain",
    }
    response = post(client, f"/admin/sop/edit/?id={sop.id}", header)
    assert response.status_code == 422 and IN_USE in response.text
    assert steps_state(db, sop.id) == before
    assert db.session.get(Sop, sop.id).name == "Penyusunan Indikator Kinerja Utama (IKU)"


def test_ensure_sop_editable_follows_open_dossiers(db, people):
    sop_id = workflow.active_sop(db.session).id
    workflow.ensure_sop_editable(db.session, sop_id)  # no dossier yet
    dossier = make_dossier()
    with pytest.raises(workflow.WorkflowError, match=IN_USE):
        workflow.ensure_sop_editable(db.session, sop_id)
    advance(dossier, people, DONE)
    workflow.ensure_sop_editable(db.session, sop_id)  # finished dossiers keep their records


def test_open_dossiers_finish_on_their_version_and_new_ones_take_the_active_one(db, client, people):
    old = make_dossier("Berkas lama")
    advance(old, people, 6)
    v1 = old.sop
    v2 = workflow.new_sop_version(db.session, v1)
    assert (v2.number, v2.version, v2.status, v2.name) == (v1.number, 2, "draft", v1.name)
    copied = ["position", "activity", "role_id", "input", "output", "time_value", "time_unit",
              "standard_minutes", "kind", "requirements", "signature", "notes"]  # fmt: skip
    assert [[getattr(s, c) for c in copied] for s in v2.steps] == [
        [getattr(s, c) for c in copied] for s in v1.steps
    ]
    # A return target is the copy of the original's target, in the new version.
    assert [s.return_to and (s.return_to.sop_id, s.return_to.position) for s in v2.steps] == [
        s.return_to and (v2.id, s.return_to.position) for s in v1.steps
    ]
    # The draft is free to edit through the screen: step 6 (paraf) goes to the head of agency.
    kadis = db.session.scalar(select(Role).where(Role.code == "kepala_dinas"))
    step = v2.steps[5]
    login(client, "admin")
    response = post(client, f"/admin/sop_step/edit/?id={step.id}",
                    step_form(step, role=kadis.id, time_value=1, time_unit="jam"))  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    workflow.activate_sop(db.session, v2)
    db.session.expire_all()
    assert (v1.status, v2.status) == ("retired", "active")
    assert workflow.active_sop(db.session).id == v2.id

    # The open dossier finishes on version 1: step 6 is still the planner's.
    refused(db, old, workflow.complete, people["kadis"], match="done by Perencana")
    advance(old, people, DONE)
    assert {r.sop_version for r in old.records} == {1}
    # A new dossier takes version 2: step 6 is now the head of agency's.
    new = make_dossier("Berkas baru")
    assert new.sop_id == v2.id and new.current_step.sop_id == v2.id
    advance(new, people, 6)
    refused(db, new, workflow.complete, people["perencana"], match="done by Kepala Dinas")
    record = workflow.complete(new, people["kadis"])
    assert (record.sop_version, record.standard_minutes) == (2, 60)


def test_the_sop_list_actions_copy_and_activate_a_version(db, client, people):
    v1 = make_dossier().sop
    login(client, "admin")
    response = sop_action(client, "new_version", v1.id)
    assert response.status_code == 302
    assert "Draft 503/2021/DPM PTSP v2 created" in flashes(client.get("/admin/sop/").text)
    v2 = db.session.scalar(select(Sop).where(Sop.version == 2))
    assert v2.status == "draft" and len(v2.steps) == 9
    assert sop_action(client, "activate", v2.id).status_code == 302
    db.session.expire_all()
    assert (v1.status, v2.status) == ("retired", "active")
    empty = Sop(
        number="503/2021/DPM PTSP",
        name="Kosong",
        version=5,
        status="draft",
        procedure_id=Procedure.default_id(db.session),
    )
    db.session.add(empty)
    db.session.commit()
    response = sop_action(client, "activate", empty.id)
    message = flashes(client.get(response.headers["Location"]).text)
    assert "without steps cannot be activated" in message
    db.session.expire_all()
    assert empty.status == "draft" and workflow.active_sop(db.session).id == v2.id


def test_each_new_version_gets_the_next_number(db, people):
    v1 = workflow.active_sop(db.session)
    v2 = workflow.new_sop_version(db.session, v1)
    v3 = workflow.new_sop_version(db.session, v1)
    assert (v2.version, v3.version) == (2, 3)
    assert len(v3.steps) == 9 and v1.status == "active"


def test_a_version_without_steps_cannot_be_activated(db, people):
    empty = Sop(
        number="503/2021/DPM PTSP",
        name="Kosong",
        version=5,
        status="draft",
        procedure_id=Procedure.default_id(db.session),
    )
    db.session.add(empty)
    db.session.commit()
    with pytest.raises(workflow.WorkflowError, match="without steps cannot be activated"):
        workflow.activate_sop(db.session, empty)
    assert empty.status == "draft" and workflow.active_sop(db.session).version == 1


def test_a_version_with_a_review_returning_nowhere_cannot_be_activated(db, people):
    v1 = workflow.active_sop(db.session)
    v2 = workflow.new_sop_version(db.session, v1)
    v2.steps[4].return_to = v2.steps[6]  # a later step
    db.session.commit()
    review = r"Step 5 \(Memeriksa .*\) is a review .* step 7"
    with pytest.raises(workflow.WorkflowError, match=review):
        workflow.activate_sop(db.session, v2)
    db.session.expire_all()
    assert (v1.status, v2.status) == ("active", "draft")


def test_only_it_may_copy_or_activate_versions(db, client, people):
    dossier = make_dossier()
    before = snapshot(db, dossier)
    login(client, "sekretaris")
    for action in ("new_version", "activate"):
        assert sop_action(client, action, dossier.sop_id).status_code == 403
    assert db.session.scalar(select(func.count(Sop.id))) == 1
    assert snapshot(db, dossier) == before
    assert db.session.scalar(select(func.count(StepRecord.id))) == 0
