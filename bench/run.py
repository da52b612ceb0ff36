"""Benchmark at province scale: our screens against a bare Flask-Admin ModelView.

    python bench/run.py --dossiers 100000                       # SQLite file in bench/out/
    python bench/run.py --database-url postgresql://postgres@127.0.0.1:5432/iku_bench

THE DATABASE IS EMPTIED and rebuilt from the migrations. The script seeds the roles and the
SOP, creates one user per role, fills N/10 dossiers (bulk inserts, see ``fill.py``), counts
the SQL statements of every page, fills up to N dossiers, and then, in the same process and
after a warm-up, measures each page with the Flask test client (median and 95th percentile of
the time around the call, SQL statements) interleaved with a bare Flask-Admin ModelView over
the same table. It ends with a Markdown table: each page as a ratio to the bare list, against
the targets in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, url_for  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_admin import Admin  # noqa: E402
from flask_admin.contrib.sqla import ModelView, filters  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

import models.people  # noqa: E402
from bench.fill import Filler, finish, table_sizes  # noqa: E402
from iku_admin import create_app, workflow  # noqa: E402
from iku_admin.extensions import db  # noqa: E402
from iku_admin.schema import drop_everything  # noqa: E402
from iku_admin.seed import seed  # noqa: E402
from models import Dossier, Role, SopStep, StepRecord, User  # noqa: E402

DEFAULT_URL = f"sqlite:///{ROOT / 'bench' / 'out' / 'bench.db'}"
PASSWORD = "bench-password-123"
PEOPLE = {"kadis": ["kepala_dinas"], "sekretaris": ["sekretaris"], "perencana": ["perencana"],
          "timsakip": ["tim_sakip"], "staf": ["staf"], "admin": ["admin"],
          "bench": ["kepala_dinas", "sekretaris", "perencana", "tim_sakip", "staf"]}  # fmt: skip
MB = 1024 * 1024
# No request may take longer, whatever its page (a gunicorn worker's default timeout is 30 s).
REQUEST_LIMIT_MS = 10_000
# The slowest time of every URL requested, warm-ups and statement counts included.
SLOWEST: dict[str, float] = {}
BARE_URL = "/bare/bare_dossier/"


# --- database and app ---------------------------------------------------------------------


def reset_database(url: str) -> None:
    """Start from nothing: a new SQLite file, or every table of PostgreSQL dropped."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    drop_everything(url)


def build_app(url: str) -> Flask:
    """The real app, plus a bare Flask-Admin over the dossier table (this process only)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": os.urandom(24).hex()})
    bare = Admin(app, name="bare", url="/bare", endpoint="bare")
    bare.add_view(ModelView(Dossier, db, endpoint="bare_dossier"))
    return app


def prepare(app: Flask) -> None:
    """Migrate, seed the roles and the SOP, and create the people."""
    models.people.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # logins are not what we measure
    with app.app_context():
        upgrade()
        seed(db.session)
        roles = {r.code: r for r in db.session.scalars(select(Role))}
        for username, codes in PEOPLE.items():
            user = User(username=username, full_name=username.title())
            user.set_password(PASSWORD)
            user.roles = [roles[code] for code in codes]
            db.session.add(user)
        db.session.commit()


def fill(app: Flask, filler: Filler, count: int) -> float:
    """Add ``count`` dossiers; return the seconds it took (printed)."""
    started = time.perf_counter()
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA synchronous = OFF")  # this connection only
        written = filler.fill(connection, count)
        finish(connection)
    seconds = time.perf_counter() - started
    print(f"filled {written.dossiers:,} dossiers, {written.records:,} step records, "
          f"{written.objectives:,} objectives, {written.indicators:,} indicators, "
          f"{written.targets:,} targets in {seconds:.1f} s", flush=True)  # fmt: skip
    return seconds


# --- measuring ----------------------------------------------------------------------------


class Statements:
    """Counts SQL statements sent to the database while ``active`` (executemany counts once)."""

    def __init__(self, engine):
        self.count = 0
        self.active = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args, **kwargs) -> None:
        if self.active:
            self.count += 1

    def __enter__(self):
        self.count, self.active = 0, True
        return self

    def __exit__(self, *exc):
        self.active = False


def status_kb(name: str) -> int:
    """A memory figure of this process from /proc (VmRSS, VmHWM), in kB."""
    found = re.search(rf"^{name}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(found.group(1)) if found else 0


def reset_peak_rss() -> bool:
    """Restart the peak-RSS (VmHWM) count from now (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def login(client: FlaskClient, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, f"login of {username} failed"


def get(client: FlaskClient, url: str, timed: bool = True) -> int:
    """One request, its body consumed chunk by chunk (streams are not held); returns bytes.
    Its time goes into ``SLOWEST`` unless ``timed`` is false (a run under ``tracemalloc``,
    which slows Python down several times, is not a request's time)."""
    started = time.perf_counter()
    response = client.get(url)
    try:
        assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
        return sum(len(chunk) for chunk in response.iter_encoded())
    finally:
        response.close()
        ms = (time.perf_counter() - started) * 1000
        if timed:
            SLOWEST[url] = max(ms, SLOWEST.get(url, 0.0))


@dataclass
class Page:
    label: str
    url: str
    kind: str  # "list" (≤ 1.5× bare), "dashboard" (≤ 3×), "info"
    repeat: int = 30
    client: str = "bench"
    page_100: str | None = None  # the same page with 100 rows instead of 20
    times: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)  # the bare list, timed between these
    statements: dict[str, int] = field(default_factory=dict)


class Bench:
    def __init__(self, app: Flask, repeat: int):
        self.app = app
        self.repeat = repeat
        with app.app_context():
            self.engine = db.engine
        self.statements = Statements(self.engine)
        self.clients: dict[str, FlaskClient] = {}
        self.bare: list[float] = []

    def client(self, username: str) -> FlaskClient:
        if username not in self.clients:
            self.clients[username] = self.app.test_client()
            login(self.clients[username], username)
        return self.clients[username]

    def count(self, client: FlaskClient, url: str) -> int:
        get(client, url)  # warm-up
        with self.statements as counted:
            get(client, url)
        return counted.count

    def timed(self, client: FlaskClient, url: str) -> float:
        started = time.perf_counter()
        get(client, url)
        return (time.perf_counter() - started) * 1000

    def measure(self, page: Page, bare_url: str) -> None:
        """Warm up, then time the page, alternating with the bare list (shared noise)."""
        client, reference = self.client(page.client), self.client("bench")
        repeat = max(3, round(page.repeat * self.repeat / 30))
        for _ in range(2):
            get(client, page.url)
        page.statements["N"] = self.count(client, page.url)
        for _ in range(repeat):
            page.times.append(self.timed(client, page.url))
            page.bare.append(self.timed(reference, bare_url))
            self.bare.append(page.bare[-1])
        if page.page_100:
            page.statements["page 100"] = self.count(client, page.page_100)
        print(f"  {page.label}: median {statistics.median(page.times):.1f} ms, "
              f"max {SLOWEST[page.url]:.1f} ms, {page.statements['N']} statements",
              flush=True)  # fmt: skip


def filter_arg(app: Flask, endpoint: str, column: str, kind: type) -> str:
    """The URL argument of a list filter (``flt0_<index>``), from the view's own filters."""
    view = next(v for a in app.extensions["admin"] for v in a._views if v.endpoint == endpoint)
    for index, flt in enumerate(view._filters):
        if str(getattr(flt.column, "key", flt.column)) == column and isinstance(flt, kind):
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise LookupError(f"no {kind.__name__} on {endpoint}.{column}")


def export_threshold(app: Flask, rows: int) -> int:
    """A dossier id such that about ``rows`` step records belong to later dossiers."""
    with app.app_context():
        return db.session.scalar(
            select(StepRecord.dossier_id).order_by(StepRecord.dossier_id.desc())
            .offset(rows - 1).limit(1)
        ) - 1  # fmt: skip


def pages(app: Flask, dossiers: int) -> list[Page]:
    step_filter = filter_arg(app, "dossier", "position", filters.IntEqualFilter)
    after = filter_arg(app, "step_record", "dossier_id", filters.IntGreaterFilter)
    with app.app_context():
        sample = db.session.scalar(
            select(Dossier.id).join(SopStep, SopStep.id == Dossier.current_step_id)
            .where(SopStep.position == 5, Dossier.revision_round > 0).order_by(Dossier.id)
        )  # fmt: skip
    with app.test_request_context():
        dashboard = url_for("dashboard.index") if "dashboard" in app.blueprints else None
    deep = min(2000, max(1, dossiers // 40))  # the middle of the list at 20 rows a page
    deep_history = min(20000, max(1, dossiers // 4))  # about 10 records per dossier
    result = [
        Page("dossier list, first page", "/admin/dossier/", "list",
             page_100="/admin/dossier/?page_size=100"),
        Page(f"dossier list, step 5 (`?{step_filter}=5`)",
             f"/admin/dossier/?{step_filter}=5", "list",
             page_100=f"/admin/dossier/?{step_filter}=5&page_size=100"),
        Page("dossier list, search `Sarolangun`", "/admin/dossier/?search=Sarolangun",
             "list", page_100="/admin/dossier/?search=Sarolangun&page_size=100"),
        Page(f"dossier list, page {deep}", f"/admin/dossier/?page={deep}", "list",
             page_100=f"/admin/dossier/?page={deep // 5}&page_size=100"),
        Page(f"dossier details (#{sample}, step 5)",
             f"/admin/dossier/details/?id={sample}", "list"),
        Page("Tugas Saya (`/admin/`, sekretaris)", "/admin/", "list",
             client="sekretaris"),
        Page("step history list", "/admin/step_record/", "list",
             page_100="/admin/step_record/?page_size=100"),
        Page(f"step history list, page {deep_history}",
             f"/admin/step_record/?page={deep_history}", "info",
             page_100=f"/admin/step_record/?page={deep_history // 5}&page_size=100"),
        Page("XLSX export, step history (~1,000 rows)",
             f"/admin/step_record/export/xlsx/?{after}={export_threshold(app, 1000)}", "info",
             repeat=5),
        Page("CSV export, all dossiers (streamed)", "/admin/dossier/export/csv/", "csv",
             repeat=3),
        Page(f"bare ModelView, page {deep} (reference)",
             f"/bare/bare_dossier/?page={deep}", "info"),
    ]  # fmt: skip
    if dashboard:
        result.insert(6, Page("Mutu Baku dashboard", dashboard, "dashboard",
                              repeat=10))  # fmt: skip
    return result


def csv_memory(bench: Bench, url: str) -> tuple[float, float]:
    """Peak growth while the CSV is produced and consumed: (traced Python MB, RSS MB)."""
    client = bench.client("bench")
    rss_before = status_kb("VmRSS")
    peak_reset = reset_peak_rss()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    get(client, url, timed=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_growth = (status_kb("VmHWM") - rss_before) / 1024 if peak_reset else float("nan")
    return (peak - base) / MB, rss_growth


@dataclass
class BulkRun:
    size: int
    times: list[float] = field(default_factory=list)
    statements: int = 0


def bulk_approval(bench: Bench, big: int = 1000, small: int = 10) -> tuple[BulkRun, BulkRun]:
    """Approve dossiers waiting at step 5 as the secretary: ``big`` at a time (as many times
    as there are dossiers for, at most 3), then ``small`` (statement count for comparison)."""
    app = bench.app
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "sekretaris"))
        waiting = list(db.session.scalars(
            select(Dossier.id).join(SopStep, SopStep.id == Dossier.current_step_id)
            .where(SopStep.position == 5, Dossier.status == "in_progress").order_by(Dossier.id)
        ))  # fmt: skip
        workflow.bulk("approve", waiting[:small], user)  # warm-up
        waiting = waiting[small:]
        big = min(big, len(waiting) - small)
        runs = BulkRun(big), BulkRun(small)
        rounds = max(1, min(3, (len(waiting) - small) // big))
        for run, chunks in ((runs[0], rounds), (runs[1], 1)):
            for _ in range(chunks):
                ids, waiting = waiting[: run.size], waiting[run.size :]
                with bench.statements as counted:
                    started = time.perf_counter()
                    result = workflow.bulk("approve", ids, user)
                    run.times.append((time.perf_counter() - started) * 1000)
                assert len(result.done) == len(ids), result.skipped
                run.statements = counted.count
    return runs


# --- report -------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def table(rows: list[list[str]]) -> str:
    header = ["page", "median ms", "p95 ms", "max ms", "statements (N/10 · N · 100 rows)",
              "ratio to bare", "target", "result"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def report(
    all_pages: list[Page],
    bare: list[float],
    bare_statements: dict[str, int],
    bulk: tuple[BulkRun, BulkRun],
    csv_growth: tuple[float, float],
    rss: tuple[float, float, float],
) -> str:
    reference = statistics.median(bare)
    rows = [[
        "bare ModelView list, first page (reference)", f"{reference:.1f}", f"{p95(bare):.1f}",
        f"{SLOWEST[BARE_URL]:.1f}", " · ".join(str(v) for v in bare_statements.values()),
        "1.00", "—", "—",
    ]]  # fmt: skip
    in_time = f"every request < {REQUEST_LIMIT_MS // 1000} s"
    for page in all_pages:
        median = statistics.median(page.times)
        slowest = SLOWEST[page.url]  # warm-ups included
        # Against the bare requests interleaved with this page's: the same machine load.
        ratio = median / statistics.median(page.bare)
        counts = [page.statements.get(k) for k in ("N/10", "N", "page 100")]
        shown = " · ".join("–" if v is None else str(v) for v in counts)
        same = len({v for v in counts if v is not None}) == 1
        if page.kind == "list":
            target, ok = "≤ 1.5× bare, statements fixed", ratio <= 1.5 and same
        elif page.kind == "dashboard":
            target, ok = "≤ 3× bare", ratio <= 3
        elif page.kind == "csv":
            growth = csv_growth[0]
            target, ok = "peak growth < 50 MB", growth < 50
            shown += f"; peak +{growth:.1f} MB traced, +{csv_growth[1]:.1f} MB RSS"
        else:
            target, ok = "", True
        target = f"{target}, {in_time}" if target else in_time
        ok = ok and slowest < REQUEST_LIMIT_MS
        rows.append([page.label, f"{median:.1f}", f"{p95(page.times):.1f}", f"{slowest:.1f}",
                     shown, f"{ratio:.2f}", target, verdict(ok)])  # fmt: skip
    big, small = bulk
    rows.append([
        f"bulk approval of {big.size:,} at step 5", f"{statistics.median(big.times):.1f}",
        "–", f"{max(big.times):.1f}", f"{big.size:,}: {big.statements} · {small.size}: "
        f"{small.statements}", "—", "< 1 s, statements fixed",
        verdict(statistics.median(big.times) < 1000 and big.statements == small.statements),
    ])  # fmt: skip
    fill_peak, peak, end = rss
    rows.append([
        "worker RSS", "—", "—", "—",
        f"peak {peak:.0f} MB while measuring (fill: {fill_peak:.0f} MB)", "—",
        "RSS at the end < 200 MB", f"{end:.0f} MB " + verdict(end < 200),
    ])  # fmt: skip
    url, slowest = max(SLOWEST.items(), key=lambda item: item[1])
    rows.append([
        f"slowest of all {len(SLOWEST)} URLs requested (`{url}`)", "—", "—", f"{slowest:.1f}",
        "—", "—", in_time, verdict(slowest < REQUEST_LIMIT_MS),
    ])  # fmt: skip
    return table(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="SQLite or PostgreSQL URL; the database is EMPTIED (default: "
                             "bench/out/bench.db)")  # fmt: skip
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=30,
        help="timed requests per page (fewer for exports and the dashboard)",
    )
    args = parser.parse_args()
    if args.dossiers < 200:
        parser.error("--dossiers must be at least 200")
    started = datetime.now(UTC)
    print(f"# IKU Admin benchmark, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    reset_database(args.database_url)
    app = build_app(args.database_url)
    prepare(app)
    with app.app_context():
        filler = Filler(db.session, datetime.now(UTC))
        dialect = db.engine.dialect.name
    print(f"database: {dialect}, {args.dossiers:,} dossiers", flush=True)
    fill_seconds = fill(app, filler, args.dossiers // 10)
    bench = Bench(app, args.repeat)
    small = pages(app, args.dossiers // 10)
    bare_statements = {"N/10": bench.count(bench.client("bench"), BARE_URL)}
    for page in small:
        page.statements["N/10"] = bench.count(bench.client(page.client), page.url)

    fill_seconds += fill(app, filler, args.dossiers - args.dossiers // 10)
    with app.app_context():
        sizes = table_sizes(db.session)
    print("rows: " + ", ".join(f"{name} {n:,}" for name, n in sizes.items()), flush=True)
    fill_peak = status_kb("VmHWM") / 1024
    reset_peak_rss()
    big = pages(app, args.dossiers)
    for page, counted in zip(big, small, strict=True):
        page.statements["N/10"] = counted.statements["N/10"]
    print("warm-up done; measuring (ms are server time around the test-client call):")
    bare_statements["N"] = bench.count(bench.client("bench"), BARE_URL)
    bare_statements["page 100"] = bench.count(bench.client("bench"), BARE_URL + "?page_size=100")
    for page in big:
        bench.measure(page, BARE_URL)
    csv_growth = csv_memory(bench, "/admin/dossier/export/csv/")
    bulk = bulk_approval(bench)
    peak = (status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
    rss = (fill_peak, peak, status_kb("VmRSS") / 1024)
    print()
    print(f"## {dialect}, {args.dossiers:,} dossiers — {started:%Y-%m-%d}")
    print()
    print(f"Fill: {fill_seconds:.0f} s for " + ", ".join(f"{n:,} {name}"
          for name, n in sizes.items()) + ".")  # fmt: skip
    print(f"Load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs).")
    print()
    print(report(big, bench.bare, bare_statements, bulk, csv_growth, rss))
    return 0


if __name__ == "__main__":
    sys.exit(main())
