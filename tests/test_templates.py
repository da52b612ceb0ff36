"""Our templates follow Flask-Admin's: a template copied from it (where its inline event
handlers, blocked by the Content-Security-Policy, leave no block to override) names the
upstream file and its hash, and is looked at again when the installed Flask-Admin changes it;
no page carries an inline handler, nor a data-* hook that no script on the page handles."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import flask_admin
import pytest
from conftest import fill_iku, login, make_dossier
from test_permissions import routes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
UPSTREAM = Path(flask_admin.__file__).parent / "templates" / "bootstrap4"
COPIED = re.compile(
    r"Copied from Flask-Admin (?P<version>[\d.]+) bootstrap4/(?P<path>\S+) \(sha256\s+"
    r"(?P<hash>[0-9a-f]{16})\)"
)


def copies() -> dict[str, re.Match]:
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        match = COPIED.search(path.read_text())
        if match:
            found[path.relative_to(TEMPLATES).as_posix()] = match
    return found


def test_the_copies_of_flask_admin_templates_are_the_ones_we_know():
    # Each copy exists for a reason its header gives; no other template of ours replaces one
    # of Flask-Admin's whole (the others extend Flask-Admin's and override blocks).
    assert set(copies()) == {
        "iku_master.html", "admin/layout.html", "admin/actions.html",
        "admin/model/layout.html", "admin/model/inline_list_base.html",
        "admin/model/row_actions.html",
    }  # fmt: skip
    for name in ("admin/index.html", "admin/iku_list.html", "dossier/details.html"):
        assert (TEMPLATES / name).read_text().startswith("{% extends "), name


@pytest.mark.parametrize("name", sorted(copies()))
def test_a_copied_template_matches_the_installed_flask_admin(name):
    match = copies()[name]
    upstream = UPSTREAM / match["path"]
    digest = hashlib.sha256(upstream.read_bytes()).hexdigest()[:16]
    assert digest == match["hash"], (
        f"templates/{name} is a copy of Flask-Admin {match['version']}'s {match['path']}, "
        f"which Flask-Admin {flask_admin.__version__} has changed (sha256 {digest}): carry "
        "its changes over to the copy, then record the new version and hash in its header."
    )


# --- every page each role can reach ------------------------------------------------------------


class Hooks(HTMLParser):
    """The inline handlers, data-* attributes and scripts of a page (also inside <template>).
    The data-* of an SVG chart describe it (step, actor, state) for whoever reads the drawing;
    they hook no behaviour."""

    def __init__(self, html: str):
        super().__init__()
        self.handlers: list[str] = []
        self.data: dict[str, set[str]] = {}  # attribute -> its values
        self.scripts: list[str] = []
        self._svg = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self._svg += tag == "svg"
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}={value!r}>")
            elif name.startswith("data-") and not self._svg:
                self.data.setdefault(name, set()).add(value or "")
        if tag == "script":
            src = dict(attrs).get("src")
            if src:
                self.scripts.append(src)
            else:  # the CSP allows none
                self.handlers.append("an inline <script>")

    def handle_endtag(self, tag):
        self._svg -= tag == "svg"


def handled(name: str, values: set[str], scripts: str) -> bool:
    """Whether a script reads the attribute: by its name, its dataset key or jQuery's .data();
    for data-role, also each of its values (Flask-Admin's form.js switches on them)."""
    key = name.removeprefix("data-")
    camel = re.sub(r"-(\w)", lambda m: m.group(1).upper(), key)
    read = name in scripts or re.search(rf"""\.data\(["']{key}["']|dataset\.{camel}\b""", scripts)
    if name == "data-role":
        return bool(read) and all(value in scripts for value in values)
    return bool(read)


@pytest.fixture
def crawled(app, client, db, people) -> dict[str, str]:
    """Every HTML page each person can open (GET, ids pointing at row 1), by "who url"."""
    fill_iku(make_dossier())
    pages = {"anonymous /login": client.get("/login").text}
    for username in people:
        browser = app.test_client()
        login(browser, username)
        for endpoint, method, url in routes(app):
            if method != "GET" or endpoint.endswith("static") or endpoint == "auth.logout":
                continue
            response = browser.get(url)
            if response.status_code == 200 and response.mimetype == "text/html":
                pages[f"{username} {url}"] = response.text
    assert len(pages) > 100
    return pages


def test_no_page_has_an_inline_handler_or_a_data_hook_no_script_handles(app, client, crawled):
    sources: dict[str, str] = {}
    problems = []
    for page, html in crawled.items():
        hooks = Hooks(html)
        problems += [f"{page}: inline handler {handler}" for handler in hooks.handlers]
        for src in hooks.scripts:
            if src not in sources:
                response = client.get(src, buffered=True)
                assert response.status_code == 200, src
                sources[src] = response.get_data(as_text=True)
        scripts = "\n".join(sources[src] for src in hooks.scripts)
        for name, values in sorted(hooks.data.items()):
            if not handled(name, values, scripts):
                problems.append(f"{page}: {name}={sorted(values)} but no script on it reads it")
    assert problems == [], "\n".join(dict.fromkeys(problems))
