"""WCAG 2.1 AA in Chromium: axe-core finds nothing on the main pages; the keyboard reaches the
content at once; row checkboxes say which row they select; dates are typed the Indonesian way;
the pages people use on a phone fit its width."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import fill_iku, make_dossier
from sqlalchemy import select

from iku_admin.extensions import db as _db
from models import CalendarDay

from .browser import VIEWPORT
from .data import advance

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}
SAVE = "form.admin-form input[type=submit]:not([name])"


def violations(page) -> list[dict]:
    """What axe-core finds against WCAG 2.1 A and AA on the page now shown."""
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    return Axe().run(page, options=options).response["violations"]


def report(found: list[dict]) -> str:
    lines = []
    for violation in found:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {' '.join(map(str, node['target']))}")
            lines.append(f"      {' '.join(node['html'].split())[:200]}")
            for summary in node.get("failureSummary", "").splitlines():
                lines.append(f"      {summary}")
    return "\n".join(lines)


@pytest.fixture
def scene(app, db, people):
    """A dossier for every page: one at step 2 waiting too long (Tugas Saya shows it overdue),
    one at step 3 with its IKU (the SAKIP team's), one done (the dashboard's numbers)."""
    users = people.values()
    waiting = advance(fill_iku(make_dossier(title="IKU 2025–2029", period=(2025, 2029))),
                      users, 2)  # fmt: skip
    waiting.step_started_at -= timedelta(days=30)
    drafting = advance(fill_iku(make_dossier(), indicators=3), users, 3)
    advance(fill_iku(make_dossier(title="IKU 2021–2025", period=(2021, 2025))), users, 10)
    db.session.commit()
    return {"drafting": drafting.id, "waiting": waiting.id}


# (who, page): the main pages of each role.
PAGES = {
    "login": (None, "/login"),
    "my-tasks": ("sekretaris", "/admin/"),
    "dossier-list": ("sekretaris", "/admin/dossier/"),
    "dossier-search": ("staf", "/admin/dossier/?search=IKU"),
    "dossier": ("timsakip", "/admin/dossier/details/?id={drafting}"),
    "dossier-form": ("staf", "/admin/dossier/new/"),
    "indicator-form": ("timsakip", "/admin/indicator/new/"),
    "dashboard": ("kadis", "/admin/dashboard/"),
    "evaluation": ("sekretaris", "/admin/dashboard/evaluation/"),
    "user-list": ("admin", "/admin/user/"),
    "user-form": ("admin", "/admin/user/new/"),
    "sop-step-form": ("admin", "/admin/sop_step/new/"),
    "calendar-form": ("admin", "/admin/calendar_day/new/"),
    "sop-list": ("admin", "/admin/procedure/"),
    "sop-form": ("admin", "/admin/procedure/new/"),
    "custom-field-form": ("admin", "/admin/custom_field/new/"),
}


@pytest.mark.parametrize("name", PAGES)
def test_no_wcag_21_aa_violation(scene, open_as, name):
    who, path = PAGES[name]
    person = open_as(who or "staf", log_in=who is not None)
    response = person.goto(path.format(**scene))
    assert response.status == 200
    found = violations(person.page)
    assert not found, f"{name} ({path}) as {who}:\n{report(found)}"


def test_the_first_tab_reaches_the_skip_link_and_it_jumps_to_the_content(scene, open_as):
    staf = open_as("staf")
    page = staf.page
    staf.goto("/admin/dossier/")
    page.keyboard.press("Tab")
    link = page.locator("a.skip-link")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")
    assert link.is_visible() and link.bounding_box()["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.keyboard.press("Tab")  # the next stop is in the content, past the navbar
    assert page.evaluate("!!document.activeElement.closest('main#content')")
    assert not page.evaluate("!!document.activeElement.closest('nav')")


def test_each_row_checkbox_names_its_row(scene, open_as):
    sekretaris = open_as("sekretaris")
    page = sekretaris.page
    sekretaris.goto("/admin/dossier/")
    numbers = page.locator("td.col-id").all_inner_texts()
    assert len(numbers) == 3
    for number in numbers:
        name = f"Pilih berkas #{number.strip()}"
        assert page.get_by_role("checkbox", name=name, exact=True).count() == 1, name


@pytest.mark.parametrize(
    "who, path", [("sekretaris", "/admin/"), ("timsakip", "/admin/dossier/details/?id={drafting}")]
)
def test_the_page_fits_a_phone_and_its_wide_tables_scroll_in_their_box(scene, open_as, who, path):
    person = open_as(who)
    page = person.page
    page.set_viewport_size(PHONE)
    person.goto(path.format(**scene))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    widths = page.evaluate(
        "[...document.querySelectorAll('main table')].map(t => [t.scrollWidth, t.clientWidth,"
        " getComputedStyle(t).overflowX])"
    )
    assert widths
    # A table wider than the phone scrolls inside its own box (the dossier page has some; Tugas
    # Saya's may fit).
    wide = [w for w in widths if w[0] > w[1]]
    assert wide or who == "sekretaris"
    assert all(overflow == "auto" for _s, _c, overflow in wide)
    found = violations(page)  # each scrolling box also a keyboard stop, among others
    assert not found, report(found)
    page.set_viewport_size(VIEWPORT)


def test_a_date_is_picked_or_typed_day_first(app, db, people, open_as):
    admin = open_as("admin")
    page = admin.page
    admin.goto("/admin/calendar_day/new/")
    # The browser's own picker, laid out in its language (hh/bb/tttt in an Indonesian one).
    assert page.evaluate("document.documentElement.lang") == "id"
    assert page.get_attribute("#day", "type") == "date"
    page.fill("#description", "Cuti bersama akhir tahun")
    # A browser without a picker shows a text box: there the date is typed day first.
    no_picker = "document.querySelector('#day').type = 'text'"
    page.evaluate(no_picker)
    page.fill("#day", "32/01/2026")
    assert admin.click(SAVE).status == 422
    assert "hh/bb/tttt" in page.locator(".form-group:has(#day)").inner_text()
    assert page.input_value("#description") == "Cuti bersama akhir tahun"
    page.evaluate(no_picker)
    page.fill("#day", "31/12/2026")
    assert admin.click(SAVE).status == 200
    _db.session.remove()
    day = db.session.scalar(
        select(CalendarDay.day).where(CalendarDay.description == "Cuti bersama akhir tahun")
    )
    assert day == date(2026, 12, 31)


def test_a_date_filters_calendar_speaks_indonesian(app, people, open_as):
    db_day = CalendarDay(day=date(2026, 8, 18), kind="off", description="Cuti bersama")
    _db.session.add(db_day)
    _db.session.commit()
    admin = open_as("admin")
    page = admin.page
    admin.goto("/admin/calendar_day/")
    page.click("a.dropdown-toggle:has(+ .field-filters)")
    page.click(".field-filters a.filter:text-is('Tanggal')")
    value = page.locator("#filter_form .filters input.filter-val").first
    value.wait_for()
    assert "#" not in page.url  # the menu's "#" links do not jump to the top
    value.click()
    days = page.locator(".daterangepicker:visible thead tr").last.locator("th").all_inner_texts()
    assert days == ["Mg", "Sn", "Sl", "Rb", "Km", "Jm", "Sb"]
