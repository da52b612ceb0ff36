"""The secretary approves a stack of dossiers from the list in one action."""

from __future__ import annotations

import re

from conftest import fill_iku, make_dossier
from sqlalchemy import select

from models import Dossier

from . import texts
from .data import advance, position

# The "Approve" item of the list's "with selected" menu (Flask-Admin renders it with an
# inline onclick; a CSP-safe template gives it a data attribute instead).
APPROVE_ITEM = ".dropdown-menu a.dropdown-item:is([data-action=approve], [onclick*=\"'approve'\"])"


def test_secretary_approves_ten_selected_dossiers_and_sees_done_and_skipped(
    app, db, people, open_as
):
    # Seven wait for the secretary's review (step 5); three stand elsewhere.
    at = [5, 5, 5, 5, 5, 5, 5, 4, 8, 2]
    dossiers = [
        advance(fill_iku(make_dossier(f"IKU Bidang {n}")), people.values(), step)
        for n, step in enumerate(at, start=1)
    ]
    waiting = {d.id for d in dossiers if position(d) == 5}
    others = {d.id for d in dossiers} - waiting

    sekretaris = open_as("sekretaris")
    page = sekretaris.page
    sekretaris.goto("/admin/dossier/")
    boxes = page.locator("input.action-checkbox")
    assert boxes.count() == 10
    for n in range(10):
        boxes.nth(n).check()
    page.click(f"li.dropdown:has({APPROVE_ITEM}) > a.dropdown-toggle")
    sekretaris.click(APPROVE_ITEM)  # asks for confirmation first; accepted

    assert [kind for kind, _message in sekretaris.dialogs] == ["confirm"]
    success = page.locator("div.alert-success").inner_text()
    warning = page.locator("div.alert-warning").inner_text()
    assert texts.processed(app, 7) in success
    assert texts.skipped(app, 3) in warning
    listed = {int(pk) for pk in re.findall(r"#(\d+)", warning)}
    assert listed == others

    db.session.remove()
    after = {d.id: position(d) for d in db.session.scalars(select(Dossier))}
    assert {pk: after[pk] for pk in waiting} == dict.fromkeys(waiting, 6)
    assert {pk: after[pk] for pk in others} == {
        d.id: step for d, step in zip(dossiers, at, strict=True) if step != 5
    }
