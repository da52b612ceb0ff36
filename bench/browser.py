"""The main pages in a real Chromium on a regional office's link: 750 kbit/s down and up,
300 ms round trip (Chrome DevTools' ``Network.emulateNetworkConditions``).

    python bench/browser.py [--servers flask gunicorn] [--repeat 3]

Builds a temporary SQLite database the way ``make run`` does (``db upgrade``, ``seed``,
``demo``), serves it with ``flask run`` (what ``make run`` starts) and with gunicorn (the
deployment), and for each server and page prints the median of ``--repeat`` runs of:

- cold: a new browser profile (empty cache), logged in, then the page opened once;
- warm: the same page opened again, as on the next visit.

Load time is the navigation's ``loadEventEnd``; requests count every request the page made
(from the network or the cache); KB is what crossed the network (headers and compressed
bodies, DevTools' "transferred"). Only 127.0.0.1 is contacted; both servers are stopped at
the end. Exits non-zero when a target is missed: warm ≤ 1.5 s, cold ≤ 4 s, cold ≤ 250 KB.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.server import launch  # noqa: E402

USERNAME, PASSWORD = "sekretaris", "demo-IKU-2026"  # a demo account of `make run`
LINK = {  # Chrome DevTools: bytes per second, milliseconds
    "offline": False,
    "latency": 300,
    "downloadThroughput": 750_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
TARGETS = {"warm_s": 1.5, "cold_s": 4.0, "cold_kb": 250}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(env: dict) -> None:
    """What `make run` does before serving: migrate, seed, demo accounts and dossiers."""
    for command in (["db", "upgrade"], ["seed"], ["demo", "--if-empty"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", *command], cwd=ROOT,
                       env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip


def start(server: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = {
        "flask": ["flask", "--app", "app", "run", "--host", "127.0.0.1", "--port", str(port)],
        "gunicorn": ["gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                     "--log-level", "warning", "app:app"],
    }[server]  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # the first start compresses the static files
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/login", timeout=5).read()
            return process, url
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"{server} did not start") from None
            time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"{server} did not answer within 120 s")


class Tab:
    """One browser profile and tab, with DevTools' network events counted per navigation."""

    def __init__(self, browser, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1366, "height": 768})
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.requests = 0
        self.bytes = 0
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event) -> None:
        self.requests += 1

    def _finished(self, event) -> None:
        self.bytes += event["encodedDataLength"]

    def login(self) -> None:
        self.page.goto(self.base + "/login")
        self.page.fill("input[name=username]", USERNAME)
        self.page.fill("input[name=password]", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("form:has(input[name=password]) button[type=submit]")

    def throttle(self) -> None:
        self.cdp.send("Network.emulateNetworkConditions", LINK)

    def open(self, path: str) -> tuple[float, int, int]:
        """Load time (s), requests and bytes of one navigation to ``path``."""
        self.requests = self.bytes = 0
        self.page.goto(self.base + path, wait_until="load", timeout=60_000)
        load_ms = self.page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        time.sleep(0.3)  # late loadingFinished events of the page
        return load_ms / 1000, self.requests, self.bytes

    def close(self) -> None:
        self.context.close()


def pages(browser, base: str) -> dict[str, str]:
    """The pages to measure; the dossier page is the first dossier of the list."""
    tab = Tab(browser, base)
    tab.login()
    tab.page.goto(base + "/admin/dossier/")
    details = tab.page.get_attribute("a[href*='/admin/dossier/details/']", "href")
    tab.close()
    return {
        "login": "/login",
        "Tugas Saya": "/admin/",
        "dossier list": "/admin/dossier/",
        "dossier page": details,
        "dashboard": "/admin/dashboard/",
    }


def measure(browser, base: str, name: str, path: str) -> dict[str, tuple]:
    tab = Tab(browser, base)
    if name != "login":
        tab.login()
    tab.cdp.send("Network.clearBrowserCache")
    tab.throttle()
    cold = tab.open(path)
    warm = tab.open(path)
    tab.close()
    return {"cold": cold, "warm": warm}


def median_run(browser, base: str, name: str, path: str, repeat: int) -> dict[str, tuple]:
    runs = [measure(browser, base, name, path) for _ in range(repeat)]
    return {
        kind: tuple(statistics.median(run[kind][i] for run in runs) for i in range(3))
        for kind in ("cold", "warm")
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", nargs="+", default=["flask", "gunicorn"],
                        choices=["flask", "gunicorn"])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs per page (median)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    missed = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IKU_DEMO": "1", "DATABASE_URL": f"sqlite:///{tmp}/iku.db",
               "SECRET_KEY": secrets.token_urlsafe(32)}  # fmt: skip
        prepare(env)
        print(f"Chromium, {LINK['downloadThroughput'] * 8 / 1000:.0f} kbit/s down and up, "
              f"{LINK['latency']} ms round trip; median of {args.repeat} runs")  # fmt: skip
        print(
            "| server | page | cold load | cold requests | cold KB "
            "| warm load | warm requests | warm KB |"
        )
        print("|---|---|---|---|---|---|---|---|")
        with sync_playwright() as playwright:
            browser = launch(playwright)
            for server in args.servers:
                process, base = start(server, env)
                try:
                    for name, path in pages(browser, base).items():
                        result = median_run(browser, base, name, path, args.repeat)
                        (cold_s, cold_n, cold_b), (warm_s, warm_n, warm_b) = (
                            result["cold"], result["warm"])  # fmt: skip
                        print(f"| {server} | {name} | {cold_s:.2f} s | {cold_n:.0f} "
                              f"| {cold_b / 1000:.0f} | {warm_s:.2f} s | {warm_n:.0f} "
                              f"| {warm_b / 1000:.1f} |", flush=True)  # fmt: skip
                        if (warm_s > TARGETS["warm_s"] or cold_s > TARGETS["cold_s"]
                                or cold_b / 1000 > TARGETS["cold_kb"]):  # fmt: skip
                            missed.append(f"{server} {name}")
                finally:
                    os.killpg(process.pid, 15)
                    process.wait(timeout=30)
            browser.close()
    print("targets: warm ≤ 1.5 s, cold ≤ 4 s, cold ≤ 250 KB:",
          "missed by " + ", ".join(missed) if missed else "all met")  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
