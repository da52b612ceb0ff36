"""Serving the app with a real WSGI server, and launching Debian's Chromium."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def chromium_installed(path: str = CHROMIUM) -> bool:
    """Whether Chromium can be started: an executable file (not merely a path that exists)."""
    return os.path.isfile(path) and os.access(path, os.X_OK)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        """No access log: it would drown the test output."""


def serve(app: Flask) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` on a free localhost port in a thread; return its URL and a stop function.

    The app serves its static files itself (``iku_admin.assets``), cached for good by the
    browser: each page then costs the browser one request to the app, not ten.
    """
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="e2e-server", daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()

    return f"http://127.0.0.1:{httpd.port}", stop


def launch(playwright):
    """Debian's Chromium, headless (Playwright's own browser download does not work here)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
