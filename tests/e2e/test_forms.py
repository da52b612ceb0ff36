"""Bad input in a form: the message is shown, what was typed is kept, nothing is saved."""

from __future__ import annotations

from conftest import fill_iku, make_dossier
from sqlalchemy import func, select

from models import IndicatorTarget, User

from . import texts

SAVE = "form.admin-form input[type=submit]:not([name])"


def test_a_17_digit_nip_is_refused_next_to_the_field_keeping_what_was_typed(
    app, db, people, open_as
):
    admin = open_as("admin")
    page = admin.page
    admin.menu("/admin/user/")
    admin.click("a.nav-link[href^='/admin/user/new/']")
    typed = {"username": "pegawai.baru", "full_name": "Pegawai Baru, S.E.",
             "nip": "19900325201503200", "position": "Analis Kebijakan"}  # fmt: skip
    for name, value in typed.items():
        page.fill(f"#{name}", value)
    page.fill("#password", "kata-sandi-rahasia-2026")
    assert admin.click(SAVE).status == 422

    field = page.locator(".form-group:has(#nip)")
    assert texts.nip_length(app) in field.inner_text()
    assert page.locator("#nip.is-invalid").count() == 1
    assert {name: page.input_value(f"#{name}") for name in typed} == typed
    assert db.session.scalar(select(User).where(User.username == "pegawai.baru")) is None


def test_a_target_year_outside_the_period_is_refused_keeping_what_was_typed(
    app, db, people, open_as
):
    fill_iku(make_dossier(period=(2026, 2030)))
    before = db.session.scalar(select(func.count()).select_from(IndicatorTarget))
    timsakip = open_as("timsakip")
    page = timsakip.page
    timsakip.goto("/admin/target/new/")
    timsakip.choose("indicator", "Nilai investasi 1")
    page.fill("#year", "2031")
    page.fill("#target", "1234")
    assert timsakip.click(SAVE).status == 422

    assert texts.target_year_outside_period(app) in timsakip.flash_text()
    assert (page.input_value("#year"), page.input_value("#target")) == ("2031", "1234")
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(IndicatorTarget)) == before
