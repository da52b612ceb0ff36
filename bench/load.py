"""Load test: concurrent people reading, editing and moving dossiers through real gunicorn
workers on one database, then a consistency check of every dossier's history.

    python bench/load.py --database-url postgresql://postgres@127.0.0.1:5432/iku_load \
        --clients 20 --seconds 60 --workers 3

``--hosts 2`` starts two separate gunicorn masters (what two hosts behind a load balancer
would run), each with ``--workers`` workers and the same SECRET_KEY and DATABASE_URL. Every
simulated person stays on one host; the copies of each role are spread over the hosts, so the
same dossier is moved from different hosts at the same time. Before the load, a login form
opened on one host is posted to another and the session is used on the first, and a logout on
one host must end the same user's session on another; after it, failed logins for one user
spread over the hosts must block that user's next login on any host.

The database is emptied and rebuilt from the migrations. Traffic goes to 127.0.0.1 only; every
loop is bounded by the deadline. Prints the counts and exits non-zero on any 5xx, lost or
duplicated history record, a dossier whose history does not lead to its current step, a
dossier version moved twice, or a failed session or throttling check.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from http.cookiejar import CookieJar
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "load-test-password"
SECRET_KEY = "load-test-secret"  # the same on every host
PEOPLE = {  # username -> role
    "kadis": "kepala_dinas",
    "sekretaris": "sekretaris",
    "perencana": "perencana",
    "timsakip": "tim_sakip",
    "staf": "staf",
    "staf2": "staf",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str, dossiers: int) -> None:
    """Empty the database, migrate, seed, and create people and dossiers ready to move."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from iku_admin.schema import drop_everything

    drop_everything(url)

    import models.people
    from iku_admin import create_app
    from iku_admin.extensions import db
    from iku_admin.seed import demo_objectives, seed
    from models import Dossier, Role, User

    models.people.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load", "TESTING": True})
    with app.app_context():
        upgrade()
        seed(db.session)
        roles = {r.code: r for r in db.session.scalars(select(Role))}
        for username, role in PEOPLE.items():
            user = User(username=username, full_name=username.title())
            user.set_password(PASSWORD)
            user.roles.append(roles[role])
            db.session.add(user)
        db.session.commit()
        from iku_admin import workflow

        for n in range(dossiers):
            dossier = Dossier(
                title=f"IKU beban {n}", period_start=2026, period_end=2030,
                letter_number=f"LOAD/{n}", letter_date=__import__("datetime").date(2026, 1, 5),
                letter_sender="Bappeda", letter_subject="Penyusunan IKU",
            )  # fmt: skip
            workflow.start_dossier(db.session, dossier)
            dossier.objectives.extend(demo_objectives(dossier.years))
            db.session.add(dossier)
        db.session.commit()
        db.engine.dispose()


class Client:
    """One person in a browser: cookies, CSRF tokens from the pages, counted responses."""

    def __init__(self, base: str, username: str, stats: Counter, lock: threading.Lock,
                 host: int = 1, attempts: list | None = None):  # fmt: skip
        self.base, self.username, self.stats, self.lock = base, username, stats, lock
        self.host, self.attempts = host, attempts if attempts is not None else []
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=30) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8", "replace")
        except OSError as error:  # refused, reset, timed out
            status, text = 599, str(error)
        with self.lock:
            self.stats[status // 100 * 100 if status < 599 else 599] += 1
            self.stats[f"host {self.host}: requests"] += 1
            if status >= 500:
                self.stats["errors:" + path.split("?")[0]] += 1
                self.stats[f"host {self.host}: 5xx"] += 1
        return status, text

    @staticmethod
    def token(page: str) -> str:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page
        )
        return found.group(1) if found else ""

    def login(self) -> None:
        _status, page = self.request("/login")
        self.request("/login", {"username": self.username, "password": PASSWORD,
                                "csrf_token": self.token(page)})  # fmt: skip

    def act(self, dossier_id: int) -> None:
        """Open a dossier's page and press one of its workflow buttons, if any."""
        status, page = self.request(f"/admin/dossier/details/?id={dossier_id}")
        forms = re.findall(r'<form[^>]*action="([^"]*/transition/[^"]*)"[^>]*>(.*?)</form>',
                           page, re.S)  # fmt: skip
        if status != 200 or not forms:
            return
        action, form = random.choice(forms)
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
        fields["note"] = "Perlu perbaikan format" if fields.get("action") == "return" else ""
        fields = {k: html.unescape(v) for k, v in fields.items()}
        start = time.monotonic()
        status, _page = self.request(html.unescape(action), fields)
        with self.lock:
            self.stats["transitions tried"] += 1
            self.stats[f"host {self.host}: transitions moved"] += status == 303
            self.attempts.append(
                (dossier_id, fields.get("version"), self.host, status, start, time.monotonic())
            )

    def edit(self, dossier_id: int) -> None:
        """Staf fills in the outgoing letter (needed at step 9) through the edit form."""
        status, page = self.request(f"/admin/dossier/edit/?id={dossier_id}")
        if status != 200:
            return
        fields = {
            name: html.unescape(value)
            for name, value in re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', page)
        }
        for name in ("title", "letter_sender", "letter_subject"):
            found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
            fields[name] = html.unescape(found.group(1)) if found else "x"
        fields["outgoing_agenda_number"] = f"800/{dossier_id}/DPMPTSP/2026"
        fields["distribution_record"] = "Dikirim ke Bappeda dan Inspektorat"
        self.request(f"/admin/dossier/edit/?id={dossier_id}", fields)
        with self.lock:
            self.stats["edits tried"] += 1


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def run_clients(
    bases: list[str], clients: int, seconds: float, dossiers: int
) -> tuple[Counter, list]:
    stats: Counter = Counter()
    attempts: list = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    names = list(PEOPLE)

    def person(n: int) -> None:
        # Person n is names[n % 6] on a host that shifts with every round of names, so each
        # role's copies are on different hosts (with 2 hosts, from 12 clients on).
        host = (n % len(names) + n // len(names)) % len(bases)
        client = Client(bases[host], names[n % len(names)], stats, lock, host + 1, attempts)
        client.login()
        rng = random.Random(n)
        while time.monotonic() < deadline:
            dossier_id = rng.randint(1, dossiers)
            roll = rng.random()
            if roll < 0.3:
                client.request(rng.choice(["/admin/", "/admin/dossier/", "/admin/step_record/"]))
            elif roll < 0.45 and client.username.startswith("staf"):
                client.edit(dossier_id)
            else:
                client.act(dossier_id)

    threads = [threading.Thread(target=person, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return stats, attempts


def races(attempts: list) -> Counter:
    """Transitions posted on the same dossier version: from several hosts, with requests
    overlapping in time, and versions that more than one request moved (must be none)."""
    groups = defaultdict(list)
    for dossier_id, version, host, status, start, end in attempts:
        groups[dossier_id, version].append((host, status, start, end))
    counts: Counter = Counter()
    for tries in groups.values():
        counts["moved twice"] += sum(status == 303 for _host, status, *_times in tries) > 1
        if len({host for host, *_rest in tries}) > 1:
            counts["from several hosts"] += 1
            counts["at the same time"] += any(
                a[0] != b[0] and a[2] < b[3] and b[2] < a[3] for a, b in combinations(tries, 2)
            )
    return counts


def check_sessions(bases: list[str]) -> bool:
    """A login form opened on the first host is posted to the last one, and the session made
    there is used on the first: CSRF token and session cookie are signed with the shared
    SECRET_KEY, and the cookie jar (like a browser) ignores the port. Then a logout on the
    first host ends the same user's other session, on the last host, at once."""
    client = Client(bases[0], "kadis", Counter(), threading.Lock())
    _status, page = client.request("/login")
    client.base = bases[-1]
    posted, _page = client.request(
        "/login", {"username": "kadis", "password": PASSWORD, "csrf_token": client.token(page)}
    )
    client.base = bases[0]
    status, page = client.request("/admin/")
    elsewhere = Client(bases[-1], "kadis", Counter(), threading.Lock())
    elsewhere.login()
    before, _page = elsewhere.request("/admin/")
    client.request("/logout", {"csrf_token": client.token(page)})
    after, _page = elsewhere.request("/admin/")
    return posted == 302 and status == 200 and before == 200 and after == 302


def check_throttle(bases: list[str]) -> bool:
    """IKU_LOGIN_FAILURES wrong passwords for one username from one address, spread over the
    hosts, refuse the right one on the next host: failures are counted in the database, not
    per process. Run it last: it blocks kadis from 127.0.0.1 for the next 15 minutes."""
    from iku_admin.config import from_environment

    limit = from_environment()["IKU_LOGIN_FAILURES"]  # what the hosts read too
    client = Client(bases[0], "kadis", Counter(), threading.Lock())
    statuses = []
    for n in range(limit + 1):
        client.base = bases[n % len(bases)]
        _status, page = client.request("/login")
        password = PASSWORD if n == limit else "wrong-" + PASSWORD
        form = {"username": "kadis", "password": password, "csrf_token": client.token(page)}
        statuses.append(client.request("/login", form)[0])
    return statuses == [401] * limit + [429]


def watch_connections(url: str, stop: threading.Event, seen: list[int]) -> None:
    """Twice a second: the connections to this database (other than this one)."""
    from sqlalchemy import create_engine, text

    from iku_admin.config import normalise_database_url

    engine = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with engine.connect() as connection:
        while not stop.wait(0.5):
            seen.append(connection.scalar(query))
    engine.dispose()


def start_host(url: str, workers: int, secret: str) -> tuple[subprocess.Popen, str]:
    """One gunicorn master with its workers on a free port: what one host would run."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secret}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "app:app"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    return server, f"http://127.0.0.1:{port}"


def check_histories(url: str) -> dict[str, int]:
    """Replay every dossier's history on the SOP graph; count what does not add up."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session, selectinload

    from models import Dossier, Sop, StepRecord

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    counts = Counter()
    with Session(engine) as session:
        dossiers = session.scalars(
            select(Dossier).options(selectinload(Dossier.sop).selectinload(Sop.steps))
        ).all()
        records: dict[int, list[StepRecord]] = {}
        for record in session.scalars(select(StepRecord).order_by(StepRecord.id)):
            records.setdefault(record.dossier_id, []).append(record)
        for dossier in dossiers:
            steps = {s.position: s for s in dossier.sop.steps}
            position, rounds, last_version = min(steps), 0, 0
            ok = True
            for record in records.get(dossier.id, []):
                counts["history records"] += 1
                if record.position != position or record.dossier_version <= last_version:
                    ok = False
                    break
                last_version = record.dossier_version
                if record.outcome == "returned":
                    position, rounds = steps[position].return_to.position, rounds + 1
                else:
                    later = [p for p in steps if p > position]
                    position = min(later) if later else None
            current = dossier.current_step.position if dossier.current_step else None
            done_ok = (position is None) == (dossier.status == "done")
            if not (ok and position == current and rounds == dossier.revision_round and done_ok):
                counts["inconsistent dossiers"] += 1
            counts["dossiers done"] += dossier.status == "done"
    engine.dispose()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "LOAD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/iku_load"))  # fmt: skip
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per host")
    parser.add_argument("--hosts", type=int, default=1, help="separate gunicorn masters")
    parser.add_argument("--dossiers", type=int, default=30)
    args = parser.parse_args()

    prepare(args.database_url, args.dossiers)
    servers = [start_host(args.database_url, args.workers, SECRET_KEY) for _ in range(args.hosts)]
    bases = [base for _server, base in servers]
    connections: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(
        target=watch_connections, args=(args.database_url, stop, connections)
    )
    try:
        for base in bases:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/login", timeout=5)
                    break
                except OSError:  # not listening yet
                    time.sleep(0.3)
        sessions_ok = check_sessions(bases)
        if args.database_url.startswith("postgres"):
            watcher.start()
        started = time.monotonic()
        stats, attempts = run_clients(bases, args.clients, args.seconds, args.dossiers)
        elapsed = time.monotonic() - started
        stop.set()
        throttle_ok = check_throttle(bases)
    finally:
        stop.set()
        for server, _base in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server, _base in servers:
            server.wait(timeout=30)
    if watcher.is_alive():
        watcher.join()
    history = check_histories(args.database_url)
    contested = races(attempts)
    requests = sum(v for k, v in stats.items() if isinstance(k, int))
    print(f"clients {args.clients}, hosts {args.hosts}, workers {args.workers} per host, "
          f"{elapsed:.0f} s, {requests} requests ({requests / elapsed:.0f}/s)")  # fmt: skip
    for key in sorted(stats, key=str):
        print(f"  {key}: {stats[key]}")
    print(f"  5xx responses: {stats[500] + stats[599]}")
    if connections:
        print(f"  database connections: at most {max(connections)}")
    if args.hosts > 1:
        print(f"  dossier versions posted from several hosts: {contested['from several hosts']} "
              f"({contested['at the same time']} with overlapping requests)")  # fmt: skip
    print(f"  dossier versions moved more than once: {contested['moved twice']}")
    across = "hosts" if args.hosts > 1 else "workers"
    print(f"  login and session across {across}: {'ok' if sessions_ok else 'FAILED'}")
    print(f"  login throttling across {across}: {'ok' if throttle_ok else 'FAILED'}")
    moved = sum(v for k, v in stats.items() if str(k).endswith("transitions moved"))
    print(f"  history records: {history['history records']} (transitions answered 303: {moved})")
    print(f"  dossiers done: {history['dossiers done']}")
    print(f"  lost or duplicated history / inconsistent dossiers: "
          f"{history['inconsistent dossiers']}")  # fmt: skip
    failed = stats[500] + stats[599] + history["inconsistent dossiers"] + contested["moved twice"]
    failed += (not sessions_ok) + (not throttle_ok) + (moved != history["history records"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
