"""Browser tests: the app served by a real WSGI server, driven by Debian's Chromium.

The served app is the session app of ``tests/conftest.py``, so its per-test ``app`` fixture
(an emptied, seeded database) and its factories apply to what the browser sees. Each test
opens one browser context per person; whatever went wrong on any page they visited (script
error, CSP violation, server error, accessibility basics) fails the test at its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import chromium_installed, launch, serve

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every browser test ``e2e``; skip them all when Chromium is not installed."""
    missing = not chromium_installed()
    skip = pytest.mark.skip(reason="Chromium not installed: apt-get install chromium")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if missing:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def server(_app) -> Iterator[str]:
    """The session app, served; yields its base URL."""
    url, stop = serve(_app)
    yield url
    stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def open_as(app, server, browser):
    """``open_as("staf")``: a new browser context for that person, logged in."""
    from conftest import PASSWORD

    from .browser import open_person

    opened = []

    def open_(username: str, log_in: bool = True):
        person = open_person(browser, server, username)
        opened.append(person)
        if log_in:
            person.login(PASSWORD)
        return person

    yield open_
    problems = list(dict.fromkeys(p for person in opened for p in person.problems))
    for person in opened:
        person.context.close()
    if problems:
        pytest.fail("Problems seen in the browser:\n" + "\n".join(problems), pytrace=False)
