"""A person at a browser: one Playwright context, logged in through the login form, whose
every page is checked for script errors, Content-Security-Policy violations, server errors
and the accessibility basics."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Response

VIEWPORT = {"width": 1366, "height": 768}
TIMEOUT_MS = 10_000  # a page here loads in well under a second; fail fast when one does not

# The accessibility basics of one page, as a list of problems: <html lang>, a <title>, a label
# (label[for] or wrapping label, aria-label, aria-labelledby) on every visible form field, and
# no inline event handler (the Content-Security-Policy blocks them, so whatever they do fails).
PAGE_PROBLEMS_JS = """() => {
  const problems = [];
  const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.name ? '[name=' + el.name + ']' : '')
    + (el.className && typeof el.className === 'string'
       ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  if (!document.documentElement.lang) problems.push('<html> has no lang attribute');
  if (!document.title.trim()) problems.push('the page has no <title>');
  const fields = document.querySelectorAll(
    'input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset])'
    + ':not([type=image]), select, textarea');
  for (const el of fields) {
    if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')
        && !el.getAttribute('aria-labelledby')) {
      problems.push('form field without a label: ' + describe(el));
    }
  }
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) {
        problems.push('inline event handler (blocked by the CSP): ' + describe(el)
          + ' ' + attr.name + '="' + attr.value + '"');
      }
    }
  }
  return problems;
}"""

# A console error about a resource the server refused (4xx) is the page working as designed
# (a refused form says so with 409/422); anything else logged as an error is a problem.
EXPECTED_CONSOLE_ERROR = re.compile(r"^Failed to load resource: .* status of 4\d\d\b")


@dataclass
class Person:
    """One person's browser context; ``problems`` collects what was wrong on any page."""

    username: str
    context: BrowserContext
    base_url: str
    page: Page = field(init=False)
    problems: list[str] = field(default_factory=list)
    dialogs: list[tuple[str, str]] = field(default_factory=list)
    clicks: int = 0  # clicks and key presses that load a page, menus and choices included

    def __post_init__(self) -> None:
        self.page = self.context.new_page()
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self._problem(f"JavaScript error: {error}"))
        self.page.on("response", self._on_response)
        self.page.on("dialog", self._on_dialog)

    # --- what the page reports ---------------------------------------------------------------

    def _problem(self, text: str) -> None:
        self.problems.append(f"[{self.username}] {self.path}: {text}")

    def _on_console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            # The first sentence says what was blocked; the nonce differs on every page.
            text = re.sub(r"'nonce-[^']*'", "'nonce-…'", text).split(". ")[0]
            self._problem(f"CSP violation: {text}")
        elif message.type == "error" and not EXPECTED_CONSOLE_ERROR.match(text):
            self._problem(f"console error: {text}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 500:
            self._problem(f"server error {response.status} for {response.url}")

    def _on_dialog(self, dialog: Dialog) -> None:
        """Record every dialog; accept the confirmations the workflow asks for."""
        self.dialogs.append((dialog.type, dialog.message))
        if dialog.type == "alert":
            self._problem(f"an alert opened: {dialog.message!r}")
        dialog.accept()

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def inspect(self) -> None:
        """Check the page now shown (called after every navigation)."""
        self.page.wait_for_load_state()
        for problem in self.page.evaluate(PAGE_PROBLEMS_JS):
            self._problem(problem)

    # --- acting ------------------------------------------------------------------------------

    def goto(self, path: str) -> Response | None:
        response = self.page.goto(self.base_url + path)
        self.inspect()
        return response

    def click(self, selector: str) -> Response | None:
        """Click something that loads a new page; return that page's response."""
        with self.page.expect_navigation() as navigation:
            self.page.click(selector)
        self.clicks += 1
        self.inspect()
        return navigation.value

    def press(self, key: str) -> Response | None:
        """Press a key that loads a new page (Enter in a form)."""
        with self.page.expect_navigation() as navigation:
            self.page.keyboard.press(key)
        self.clicks += 1
        self.inspect()
        return navigation.value

    def login(self, password: str) -> None:
        """Log in through the login form, as anyone would."""
        self.goto("/login")
        self.page.fill("input[name=username]", self.username)
        self.page.fill("input[name=password]", password)
        self.click("form:has(input[name=password]) button[type=submit]")

    def logout(self) -> None:
        self.click("form[action$='/logout'] button[type=submit]")

    def menu(self, path: str) -> Response | None:
        """Open a screen through the navbar: its menu category, then its item."""
        self.page.click(f"nav li.dropdown:has(a[href='{path}']) > a.dropdown-toggle")
        self.clicks += 1
        return self.click(f"nav a[href='{path}']")

    def choose(self, field_id: str, text: str) -> None:
        """Pick an option in a Select2 box by typing part of its label, as a user does."""
        self.page.click(f"#s2id_{field_id} .select2-choice, #s2id_{field_id} .select2-choices")
        self.clicks += 2  # open the box, pick the option
        self.page.keyboard.type(text)
        self.page.wait_for_selector(".select2-drop-active .select2-result-selectable")
        self.page.keyboard.press("Enter")

    def flash_text(self) -> str:
        """The text of the flash messages now shown."""
        return " ".join(self.page.locator("div.alert").all_inner_texts())

    def workflow_button(self, action: str) -> str:
        """The button of a workflow action on the dossier details page."""
        return f"form.workflow-form:has(input[name=action][value={action}]) button[type=submit]"


def open_person(browser: Browser, base_url: str, username: str) -> Person:
    """A new browser context for ``username`` (not yet logged in)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    return Person(username, context, base_url)
