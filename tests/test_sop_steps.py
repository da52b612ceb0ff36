"""SOP steps refer to each other by identity: return targets survive renumbering, a step is
inserted in one save, and a version with a broken reference or an unheld role is not
activated. Who signs and initials the IKU comes from the steps."""

from __future__ import annotations

import pytest
from conftest import fill_iku, flashes, login, make_dossier, make_user, post
from sqlalchemy import select
from test_sop_versions import step_form
from test_workflow import advance, english  # noqa: F401 (autouse)
from test_workflow_web import act_as

from iku_admin import workflow
from models import Role, Sop, SopStep


@pytest.fixture
def draft(db, people) -> Sop:
    """Version 2 of the seeded SOP, a draft."""
    return workflow.new_sop_version(db.session, workflow.active_sop(db.session))


def layout(db, sop_id: int) -> list[tuple]:
    """(position, activity, position returned to) of each step, in order."""
    db.session.expire_all()
    steps = db.session.scalars(
        select(SopStep).where(SopStep.sop_id == sop_id).order_by(SopStep.position)
    ).all()
    return [(s.position, s.activity, s.return_to.position if s.return_to else None)
            for s in steps]  # fmt: skip


def new_step(sop: Sop, position: int, **changes) -> dict:
    role = sop.steps[0].role
    data = {"sop": sop.id, "position": position, "activity": "Memverifikasi konsep IKU",
            "role": role.id, "input": "", "output": "", "time_value": 1, "time_unit": "jam",
            "kind": "task", "return_to": "", "requirements": [], "signature": "", "notes": "",
            "action_label": "Verifikasi"}  # fmt: skip
    return data | changes


def test_a_return_target_survives_renumbering(db, client, draft):
    before = layout(db, draft.id)
    assert before[4][2] == 4  # the review returns to the typing
    typing = draft.steps[3]
    login(client, "admin")
    # "Insert a step after step 2": one form, one save.
    url = f"/admin/sop_step/new/?sop={draft.id}&position=3"
    page = client.get(url).text
    assert 'value="3"' in page
    response = post(client, url, new_step(draft, 3))
    assert response.status_code == 302, flashes(response.text)
    after = layout(db, draft.id)
    assert [p for p, _a, _r in after] == list(range(1, 11))
    assert after[2][1] == "Memverifikasi konsep IKU"
    assert [a for _p, a, _r in after[3:]] == [a for _p, a, _r in before[2:]]
    assert after[5][2] == 5  # still the typing, now step 5
    db.session.expire_all()
    assert db.session.get(SopStep, draft.steps[5].id).return_to.id == typing.id
    # The moved steps' versions went up: an edit form opened before the insert is refused.
    stale = step_form(typing, row_version=1)
    response = post(client, f"/admin/sop_step/edit/?id={typing.id}", stale)
    assert "changed by" in flashes(response.text)


def test_each_step_row_offers_insert_after(db, client, draft):
    login(client, "admin")
    html = client.get("/admin/sop_step/").text  # version 1, then the draft
    assert f"/admin/sop_step/new/?sop={draft.id}&amp;position=6" in html
    act_as(client, "staf")
    assert "/admin/sop_step/new/?sop=" not in client.get("/admin/sop_step/").text


def test_a_refused_insert_moves_nothing(db, client, draft):
    before = layout(db, draft.id)
    login(client, "admin")
    response = post(client, "/admin/sop_step/new/", new_step(draft, 3, kind="review"))
    assert response.status_code == 422
    assert "needs the step it returns to" in response.text
    assert layout(db, draft.id) == before


def test_an_insert_into_a_version_in_use_is_refused(db, client, people):
    dossier = make_dossier()
    before = layout(db, dossier.sop_id)
    login(client, "admin")
    response = post(client, "/admin/sop_step/new/", new_step(dossier.sop, 3))
    assert response.status_code == 422
    assert layout(db, dossier.sop_id) == before


def test_make_room_shifts_in_two_phases_on_both_engines(db, draft):
    workflow.make_room(db.session, draft.id, 1)
    db.session.commit()
    assert [p for p, _a, _r in layout(db, draft.id)] == list(range(2, 11))


def test_the_form_offers_the_steps_of_the_same_version(db, client, draft):
    v1 = workflow.active_sop(db.session)
    login(client, "admin")
    review = draft.steps[4]
    html = client.get(f"/admin/sop_step/edit/?id={review.id}").text
    options = html.split('name="return_to"')[1].split("</select>")[0]
    assert f"{draft} – 4. " in options and f"{v1} – " not in options
    # A target of another version, or a later step, is refused.
    for target in (v1.steps[3], draft.steps[6]):
        response = post(client, f"/admin/sop_step/edit/?id={review.id}",
                        step_form(review, **{"return_to": target.id}))  # fmt: skip
        assert response.status_code != 302
    db.session.expire_all()
    assert db.session.get(SopStep, review.id).return_to.position == 4


def test_a_task_does_not_name_a_return_target(db, client, draft):
    login(client, "admin")
    task = draft.steps[5]
    response = post(client, f"/admin/sop_step/edit/?id={task.id}",
                    step_form(task, return_to=draft.steps[3].id))  # fmt: skip
    assert "Only a review step returns" in response.text


def test_activation_names_the_step_whose_return_target_is_in_another_version(db, draft):
    v1 = workflow.active_sop(db.session)
    draft.steps[4].return_to = v1.steps[3]
    db.session.commit()
    with pytest.raises(workflow.WorkflowError, match=r"Step 5 \(Memeriksa.*\) is a review"):
        workflow.activate_sop(db.session, draft)
    assert draft.status == "draft"


def test_activation_names_the_step_whose_role_nobody_active_holds(db, client, draft, people):
    role = Role(code="verifikator", name="Verifikator")
    db.session.add(role)
    draft.steps[5].role = role
    db.session.commit()
    login(client, "admin")
    response = post(client, "/admin/sop/action/", {"action": "activate", "rowid": str(draft.id)})
    message = flashes(client.get(response.headers["Location"]).text)
    assert "Step 6 (Pemberian paraf): no active user holds the role Verifikator" in message
    make_user("vera", "verifikator", active=False)
    with pytest.raises(workflow.WorkflowError, match="Step 6 "):
        workflow.activate_sop(db.session, draft)
    make_user("vero", "verifikator")
    workflow.activate_sop(db.session, draft)
    assert draft.status == "active"


def test_only_one_step_signs(db, draft):
    draft.steps[1].signature = "sign"
    db.session.commit()
    with pytest.raises(workflow.WorkflowError, match="Steps 2, 7 all sign"):
        workflow.activate_sop(db.session, draft)


def test_the_iku_is_signed_and_initialled_by_the_steps_marked_so(db, client, people):
    dossier = fill_iku(make_dossier())
    sop = dossier.sop
    login(client, "staf")

    def paraf() -> str:
        html = client.get(f"/admin/documents/iku/{dossier.id}/").text
        return html.split('class="paraf"')[1].split("</table>")[0]

    assert "Sekretaris" in paraf() and "Perencana" in paraf() and "Staf" not in paraf()
    sop.steps[3].signature = "initial"  # the typing, by Staf
    sop.steps[5].signature = ""
    db.session.commit()
    assert "Staf" in paraf() and "Perencana" not in paraf()
    # The signer is whoever did the signing step: here the secretary, at step 8.
    sop.steps[6].signature, sop.steps[7].signature = "", "sign"
    db.session.commit()
    people["sekretaris"].full_name = "Dra. Sekretaris Penandatangan"
    db.session.commit()
    advance(dossier, people, 9)
    html = client.get(f"/admin/documents/iku/{dossier.id}/").text
    assert "Dra. Sekretaris Penandatangan" in html.split('class="signature"')[1]
