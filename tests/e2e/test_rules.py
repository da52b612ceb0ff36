"""The admin changes the rules in the browser: the permission matrix, and a step inserted
into a draft SOP version in one form."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from iku_admin import auth, workflow
from models import Role, SopStep

SHOTS = Path(os.environ.get("IKU_SHOTS", "/tmp/shots/rules"))
PHONE = {"width": 390, "height": 844}


def shoot(person, name: str) -> None:
    """Photograph the page as it is, and the same address opened on a phone (for a look by
    eye)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    person.page.screenshot(path=str(SHOTS / f"{name}-1366.png"), full_page=True)
    phone = person.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(person.page.url)
    phone.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
    phone.close()


def test_the_admin_grants_a_screen_in_the_matrix(app, db, people, open_as):
    admin = open_as("admin")
    page = admin.page
    admin.menu("/admin/permission/")
    staf = db.session.scalar(select(Role).where(Role.code == "staf"))
    cell = f"select[name='cell-{staf.id}-role']"
    assert page.input_value(cell) == ""
    assert page.locator(f"select[name='cell-{staf.id}-role'] option").count() == 3
    page.select_option(cell, "read")
    shoot(admin, "permissions")
    asked = len(admin.dialogs)
    assert admin.click("form[data-confirm] button[type=submit]").status == 200
    assert [kind for kind, _text in admin.dialogs[asked:]] == ["confirm"]
    assert "1" in admin.flash_text()
    db.session.expire_all()
    assert auth.current_matrix(db.session)["role"]["staf"] == "read"
    # The staf sees the Roles screen at the next page.
    other = open_as("staf")
    assert other.goto("/admin/role/").status == 200


def test_the_admin_inserts_a_step_into_a_draft_in_one_form(app, db, people, open_as):
    draft = workflow.new_sop_version(db.session, workflow.active_sop(db.session))
    typing = draft.steps[3]
    admin = open_as("admin")
    page = admin.page
    admin.menu("/admin/sop_step/")
    admin.click(f"a[href*='/admin/sop_step/new/?sop={draft.id}&position=3']")
    assert page.input_value("#position") == "3"
    page.fill("#activity", "Memverifikasi konsep IKU")
    page.fill("#action_label", "Verifikasi")
    admin.choose("role", "Tim SAKIP")
    page.fill("#time_value", "2")
    admin.choose("time_unit", "jam")
    shoot(admin, "step-insert")
    assert admin.click("form.admin-form input[type=submit]:not([name])").status == 200
    db.session.expire_all()
    steps = db.session.scalars(
        select(SopStep).where(SopStep.sop_id == draft.id).order_by(SopStep.position)
    ).all()
    assert [s.position for s in steps] == list(range(1, 11))
    assert steps[2].activity == "Memverifikasi konsep IKU"
    assert steps[5].kind == "review" and steps[5].return_to.id == typing.id
    # The review's form offers the steps of its own version, its target chosen.
    admin.goto(f"/admin/sop_step/edit/?id={steps[5].id}")
    shoot(admin, "step-review")
    assert "5. Mengetik" in page.locator("#s2id_return_to").inner_text()
