"""Logging in, landing on "Tugas Saya", logging out."""

from __future__ import annotations

from conftest import PASSWORD

from . import texts

ACCOUNTS = ("kadis", "sekretaris", "perencana", "timsakip", "staf", "admin")


def test_every_account_logs_in_with_the_keyboard_and_lands_on_my_tasks(app, people, open_as):
    for username in ACCOUNTS:
        person = open_as(username, log_in=False)
        page = person.page
        person.goto("/admin/")  # a protected page sends to the login form
        assert page.url.startswith(f"{person.base_url}/login")
        # Keyboard only: Tab into the form, type, Tab, type, Enter.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name") == "username"
        page.keyboard.type(username)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name") == "password"
        page.keyboard.type(PASSWORD)
        person.press("Enter")
        assert person.path == "/admin/", username
        assert page.locator("h1").first.inner_text().strip() == texts.my_tasks(app)
        assert texts.my_tasks(app) in page.title()
        assert page.evaluate("document.documentElement.lang") == texts.LANGUAGE


def test_logout_ends_the_session_and_back_does_not_show_protected_pages(app, people, open_as):
    person = open_as("sekretaris")
    page = person.page
    person.goto("/admin/dossier/")
    assert page.locator("form[action$='/logout']").count() == 1
    person.logout()
    assert person.path.startswith("/login")

    def shows_login_form() -> bool:
        person.inspect()
        return (
            person.path.startswith("/login")
            and page.locator("input[name=password]").count() == 1
            and page.locator("form[action$='/logout']").count() == 0
        )

    page.go_back()  # the cached protected page must not come back: it is "no-store"
    assert shows_login_form(), person.path
    page.reload()
    assert shows_login_form(), person.path
    person.goto("/admin/dossier/")
    assert shows_login_form(), person.path
    # The session is really gone on the server, not just hidden: a request with the
    # browser's cookies is sent to the login page too.
    response = page.request.get("/admin/", max_redirects=0)
    assert response.status == 302 and "/login" in response.headers["location"]
