"""In the browser: a list's filter scripts load only when the filter menu is used, and then
work; the page's static files come from the cache on the next visit."""

from __future__ import annotations

from conftest import make_dossier

FILTER_SCRIPTS = ("select2", "moment", "daterangepicker", "form.js", "bs4_filters")


def test_the_filter_scripts_load_when_a_filter_is_chosen_and_then_filter(app, people, open_as):
    make_dossier(title="Berkas 2026", period=(2026, 2030))
    make_dossier(title="Berkas 2031", period=(2031, 2035))
    sekretaris = open_as("sekretaris")
    page = sekretaris.page
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    sekretaris.goto("/admin/dossier/")
    assert not [url for url in requested if any(name in url for name in FILTER_SCRIPTS)]

    page.click("a.dropdown-toggle:has(+ .field-filters)")
    page.click(".field-filters a.filter:text-is('Akhir periode')")  # chosen at once
    value = page.locator("#filter_form .filters input.filter-val").first
    value.wait_for()
    assert all(any(name in url for url in requested) for name in FILTER_SCRIPTS)
    value.fill("2030")
    sekretaris.press("Enter")
    titles = page.locator("td.col-title").all_inner_texts()
    assert titles == ["Berkas 2026"]
    # With a filter active, its scripts are on the page from the start.
    assert page.locator("#filter_form .filters input.filter-val").input_value() == "2030"

    requested.clear()
    sekretaris.goto("/admin/")
    sekretaris.goto("/admin/dossier/")
    static = [url for url in requested if "/static/" in url]
    assert static  # requested, and answered by the browser's cache:
    assert (
        page.evaluate(
            "performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('/static/') && e.transferSize > 0).length"
        )
        == 0
    )
