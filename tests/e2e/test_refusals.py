"""Someone without the current step's role: no buttons, and forged requests are refused."""

from __future__ import annotations

from conftest import fill_iku, make_dossier
from sqlalchemy import func, select

from models import Dossier, StepRecord

from .data import advance

# Builds and submits, from inside the page, the form the step's actor would have: the page's
# own CSRF token, the dossier's current version, the action of the step.
FORGE_JS = """([url, action, version]) => {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = url;
  const fields = {csrf_token: document.querySelector('input[name=csrf_token]').value,
                  action: action, version: version, note: 'forged'};
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""


def state(db, dossier_id: int) -> tuple:
    """What a refused request must leave as it was."""
    db.session.remove()
    dossier = db.session.get(Dossier, dossier_id)
    records = db.session.scalar(
        select(func.count()).select_from(StepRecord).where(StepRecord.dossier_id == dossier_id)
    )
    return dossier.current_step_id, dossier.status, dossier.version, records


def test_without_the_steps_role_no_buttons_and_forged_posts_are_refused(app, db, people, open_as):
    dossier = advance(fill_iku(make_dossier()), people.values(), 5)  # the secretary's review
    before = state(db, dossier.id)
    perencana = open_as("perencana")
    page = perencana.page
    perencana.goto(f"/admin/dossier/details/?id={dossier.id}")
    assert page.locator("form.workflow-form, form.workflow-form button").count() == 0
    assert page.locator("section p.alert-secondary").count() == 1  # who is expected to act

    # The approve form the secretary would see, forged and submitted from the page.
    url = f"/admin/dossier/transition/?id={dossier.id}"
    with page.expect_navigation() as navigation:
        page.evaluate(FORGE_JS, [url, "approve", str(before[2])])
    perencana.inspect()
    assert navigation.value.status in (403, 409)
    assert page.locator("div.alert-danger").count() == 1
    assert state(db, dossier.id) == before

    # The list's bulk action, posted with the browser's session and token.
    token = page.locator("input[name=csrf_token]").first.input_value()
    response = page.request.post(
        "/admin/dossier/action/",
        form={"csrf_token": token, "action": "approve", "rowid": f"{dossier.id}:{before[2]}"},
    )
    assert response.status < 500
    assert state(db, dossier.id) == before
    # Without a CSRF token nothing is even looked at.
    response = page.request.post(url, form={"action": "approve", "version": str(before[2])})
    assert response.status == 400
    assert state(db, dossier.id) == before
