"""Numbers typed in a real Chromium: an Indonesian decimal comma reaches the server as typed."""

from __future__ import annotations

from decimal import Decimal

from conftest import fill_iku, make_dossier, make_user
from sqlalchemy import select

from iku_admin import auth
from models import Indicator, IndicatorTarget

SAVE = "form.admin-form input[type=submit]:not([name])"


def test_88_comma_5_typed_into_a_yearly_target_is_stored_as_88_5(app, db, people, open_as):
    fill_iku(make_dossier(period=(2026, 2030)))
    indicator = db.session.scalar(select(Indicator))
    timsakip = open_as("timsakip")
    page = timsakip.page
    timsakip.goto(f"/admin/indicator/edit/?id={indicator.id}")
    box = page.locator("#targets-0-target")
    assert box.get_attribute("inputmode") == "decimal"
    box.fill("")
    box.press_sequentially("88,5")  # key by key, as a person types
    assert timsakip.click(SAVE).status == 200  # redirected to the list

    db.session.remove()
    first = db.session.scalar(
        select(IndicatorTarget).where(IndicatorTarget.year == 2026).order_by(IndicatorTarget.id)
    )
    assert first.target == Decimal("88.5")
    timsakip.goto(f"/admin/indicator/edit/?id={indicator.id}")
    assert page.input_value("#targets-0-target") == "88,5"


def test_no_form_of_the_panel_has_a_browser_number_box(app, db, people, open_as):
    from test_numbers import form_pages

    fill_iku(make_dossier())
    make_user("ahli", *auth.ROLES)
    person = open_as("ahli")
    pages = form_pages(app, db)
    for path in pages:
        assert person.goto(path).status == 200, path
        assert person.page.locator("input[type=number]").count() == 0, path
    assert any("/indicator/edit/" in path for path in pages)
