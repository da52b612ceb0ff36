"""A step's completeness check is a list chosen in the panel from one vocabulary
(iku_admin/requirements.py): named checks and dossier fields. The workflow, the bulk path and
the dossier page read the list; unknown or repeated names are refused when saved."""

from __future__ import annotations

import re

import pytest
from conftest import flashes, login, make_dossier, post
from flask_babel import force_locale
from sqlalchemy import select
from test_sop_steps import layout, new_step
from test_sop_versions import sop_action, step_form
from test_workflow import advance, english, snapshot  # noqa: F401 (autouse)
from test_workflow_web import act_as, buttons

from iku_admin import requirements, workflow
from models import Dossier, Sop, SopStep
from models.validation import RuleError

DISTRIBUTION = "Bappeda, Inspektorat (buku ekspedisi)"


def steps_of(db, sop_id: int) -> list[SopStep]:
    db.session.expire_all()
    return db.session.scalars(
        select(SopStep).where(SopStep.sop_id == sop_id).order_by(SopStep.position)
    ).all()


def selected(html: str, name: str = "requirements") -> list[str]:
    """The values selected in the form's multi-select ``name``."""
    select_tag = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select_tag and "multiple" in select_tag.group(0)
    return re.findall(r'<option selected value="([^"]*)"', select_tag.group(1))


# --- the vocabulary -----------------------------------------------------------------------------


def test_the_choices_are_the_named_checks_then_the_dossier_fields(db):
    assert requirements.choices(db.session) == [
        ("iku_content", "Complete IKU content"),
        ("outgoing_agenda_number", "Outgoing letter agenda number"),
        ("distribution_record", "Distribution record"),
    ]
    assert requirements.field_names(["distribution_record", "iku_content"]) == [
        "distribution_record"
    ]
    with force_locale("id"):
        assert dict(requirements.choices(db.session))["iku_content"] == "Kelengkapan isi IKU"


def test_the_seeded_sop_checks_the_iku_at_steps_3_and_4_and_the_letter_at_9(db):
    steps = steps_of(db, workflow.active_sop(db.session).id)
    assert {s.position: s.requirements for s in steps if s.requirements} == {
        3: ["iku_content"],
        4: ["iku_content"],
        9: ["outgoing_agenda_number", "distribution_record"],
    }


# --- the panel ----------------------------------------------------------------------------------


def test_step_4_requires_the_distribution_record_chosen_in_the_panel(db, client, people):
    v1 = workflow.active_sop(db.session)
    login(client, "admin")
    assert sop_action(client, "new_version", v1.id).status_code == 302
    v2 = db.session.scalar(select(Sop).where(Sop.version == 2))
    typing = steps_of(db, v2.id)[3]
    page = client.get(f"/admin/sop_step/edit/?id={typing.id}").text
    assert selected(page) == ["iku_content"]
    assert ">Distribution record</option>" in page and ">Complete IKU content</option>" in page
    chosen = ["iku_content", "distribution_record"]
    response = post(client, f"/admin/sop_step/edit/?id={typing.id}",
                    step_form(typing, requirements=chosen))  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    typing = steps_of(db, v2.id)[3]
    assert typing.requirements == ["iku_content", "distribution_record"]
    assert selected(client.get(f"/admin/sop_step/edit/?id={typing.id}").text) == [
        "iku_content", "distribution_record"]  # fmt: skip
    listed = client.get("/admin/sop_step/").text
    assert "Complete IKU content, Distribution record" in listed
    assert sop_action(client, "activate", v2.id).status_code == 302

    dossier = advance(make_dossier(), people, 4)
    assert dossier.sop_id == v2.id
    act_as(client, "staf")
    html = client.get(f"/admin/dossier/details/?id={dossier.id}").text
    label = r'<label for="step-distribution_record"[^>]*>Distribution record</label>'
    assert re.search(label, html)
    assert '<textarea id="step-distribution_record" name="distribution_record"' in html
    assert 'name="outgoing_agenda_number"' not in html  # not required at step 4
    url, version = buttons(html)["complete"]
    before = snapshot(db, dossier)
    refused = post(client, url, {"action": "complete", "version": version, "note": "Diketik",
                                 "distribution_record": "  "})  # fmt: skip
    assert refused.status_code == 409
    assert "Incomplete: distribution record" in flashes(refused.text)
    assert ">Diketik</textarea>" in refused.text  # what was typed is kept
    assert snapshot(db, dossier) == before
    # The bulk path reads the same list.
    result = workflow.bulk("complete", [dossier.id], people["staf"])
    assert result.skipped == {dossier.id: "Incomplete: distribution record."}
    done = post(client, url, {"action": "complete", "version": version,
                              "distribution_record": DISTRIBUTION})  # fmt: skip
    assert done.status_code == 303, flashes(done.text)
    db.session.expire_all()
    moved = db.session.get(Dossier, dossier.id)
    assert (moved.current_step.position, moved.distribution_record) == (5, DISTRIBUTION)


@pytest.mark.parametrize(
    "names,message",
    [
        (["iku_content", "no_such_check"], "Unknown requirement: no_such_check."),
        (["<b>x</b>"], "Unknown requirement: &lt;b&gt;x&lt;/b&gt;."),
        (["iku_content", "iku_content"], "The requirement iku_content is listed twice."),
    ],
)
def test_an_unknown_or_repeated_requirement_is_refused_with_a_message(db, client, names,
                                                                      message):  # fmt: skip
    draft = workflow.new_sop_version(db.session, workflow.active_sop(db.session))
    step = steps_of(db, draft.id)[0]
    login(client, "admin")
    response = post(client, f"/admin/sop_step/edit/?id={step.id}",
                    step_form(step, requirements=names))  # fmt: skip
    assert response.status_code == 422
    assert message in flashes(response.text)
    assert steps_of(db, draft.id)[0].requirements == []
    response = post(client, "/admin/sop_step/new/", new_step(draft, 3, requirements=names))
    assert response.status_code == 422 and message in flashes(response.text)
    assert len(steps_of(db, draft.id)) == 9


def test_the_model_refuses_unknown_and_repeated_names_at_the_flush(db):
    draft = workflow.new_sop_version(db.session, workflow.active_sop(db.session))
    step = steps_of(db, draft.id)[0]
    step.requirements = ["no_such_check"]
    with pytest.raises(RuleError) as error:
        db.session.flush()
    assert str(error.value) == "Unknown requirement: no_such_check."
    db.session.rollback()
    with pytest.raises(RuleError, match="listed twice"):
        step.requirements = ["distribution_record", "distribution_record"]
    with pytest.raises(RuleError, match="is a name"):
        step.requirements = [{"check": "iku_content"}]


def test_a_new_version_copies_the_lists_and_an_insert_keeps_them(db, client, people):
    v1 = workflow.active_sop(db.session)
    v2 = workflow.new_sop_version(db.session, v1)
    originals, copies = steps_of(db, v1.id), steps_of(db, v2.id)
    assert [s.requirements for s in copies] == [s.requirements for s in originals]
    assert all(c.requirements is not o.requirements for c, o in zip(copies, originals, strict=True))
    login(client, "admin")
    response = post(client, f"/admin/sop_step/new/?sop={v2.id}&position=3",
                    new_step(v2, 3, requirements=["outgoing_agenda_number"]))  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    after = {s.position: s.requirements for s in steps_of(db, v2.id) if s.requirements}
    assert after == {3: ["outgoing_agenda_number"], 4: ["iku_content"], 5: ["iku_content"],
                     10: ["outgoing_agenda_number", "distribution_record"]}  # fmt: skip
    assert [p for p, _a, _r in layout(db, v2.id)] == list(range(1, 11))
    assert steps_of(db, v1.id)[2].requirements == ["iku_content"]  # the original untouched


def test_a_step_without_the_iku_check_has_no_iku_step(db, people):
    draft = workflow.new_sop_version(db.session, workflow.active_sop(db.session))
    for step in steps_of(db, draft.id):
        step.requirements = [n for n in step.requirements if n != "iku_content"]
    db.session.commit()
    workflow.activate_sop(db.session, draft)
    dossier = make_dossier()
    assert workflow.iku_step(dossier) is None
    advance(dossier, people, 5)  # steps 3 and 4 finish without any IKU content
    assert not dossier.objectives
