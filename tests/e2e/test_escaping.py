"""Markup typed into a form is shown as text everywhere it appears, and never runs."""

from __future__ import annotations

from conftest import csv_cells, fill_iku, make_dossier
from sqlalchemy import select

from models import Indicator

PAYLOAD = "<img src=x onerror=alert(1)>"


def test_markup_in_an_indicator_name_shows_as_text_in_lists_details_and_exports(
    app, db, people, open_as
):
    dossier = fill_iku(make_dossier())  # step 1: the content is still open to drafting
    timsakip = open_as("timsakip")
    page = timsakip.page
    timsakip.goto("/admin/indicator/new/")
    timsakip.choose("objective", "investasi")
    fields = {"order": "2", "name": PAYLOAD, "definition": PAYLOAD, "baseline": "1",
              "data_source": "LKPM", "responsible": "Kepala Bidang"}  # fmt: skip
    for name, value in fields.items():
        page.fill(f"#{name}", value)
    timsakip.click("form.admin-form input[type=submit]:not([name])")
    indicator_id = db.session.scalar(select(Indicator.id).where(Indicator.name == PAYLOAD))
    assert indicator_id is not None
    # A target for it through the target form: its Select2 box lists the name as text too.
    timsakip.goto("/admin/target/new/")
    timsakip.choose("indicator", "<img")
    page.fill("#year", "2026")
    page.fill("#target", "10")
    timsakip.click("form.admin-form input[type=submit]:not([name])")

    pages = [
        "/admin/indicator/",
        f"/admin/indicator/details/?id={indicator_id}",
        "/admin/target/",
        f"/admin/dossier/details/?id={dossier.id}",
    ]
    for path in pages:
        timsakip.goto(path)
        assert page.get_by_text(PAYLOAD, exact=True).count() >= 1, path
        assert page.locator("img[src=x]").count() == 0, path
    assert timsakip.dialogs == []

    for export in ("/admin/indicator/", "/admin/target/"):
        timsakip.goto(export)
        href = page.locator("a[href*='/export/csv/']").first.get_attribute("href")
        response = page.request.get(href)
        assert response.ok and response.headers["content-type"].startswith("text/csv")
        cells = [cell for row in csv_cells(response.body()) for cell in row]
        assert PAYLOAD in cells, export
