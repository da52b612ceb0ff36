"""Fixtures: an app on SQLite (default) or PostgreSQL (``TEST_DATABASE_URL``), its schema
built once from the migrations, and a clean, seeded database for every test."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, func, select, text

import models.people
from iku_admin import create_app, mutu, workflow
from iku_admin.extensions import db as _db
from iku_admin.schema import drop_everything
from iku_admin.seed import seed
from models import (
    Base,
    Dossier,
    DossierTotal,
    Indicator,
    IndicatorTarget,
    MinutesCount,
    Role,
    StepRecord,
    StepTotal,
    StrategicObjective,
    User,
)

PASSWORD = "test-password-123"
# A cheap hash keeps the suite fast; production uses scrypt.
models.people.PASSWORD_METHOD = "pbkdf2:sha256:1000"


def database_url(tmp_dir: Path) -> str:
    """PostgreSQL when TEST_DATABASE_URL is set, else a SQLite file for this run."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    url = database_url(tmp_path_factory.mktemp("db"))
    drop_everything(url)
    return url


def make_app(db_url: str, **overrides) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "IKU_DEMO": False,
        **overrides,
    }
    app = create_app(config)

    def forget_cached_user():
        # Tests keep one app context open, which requests then share; Flask-Login caches the
        # user in it. A real request starts without that cache, so drop it here, before any
        # other hook (the app's login check) can see the previous request's user.
        g.pop("_login_user", None)
        g.pop("_flask_babel", None)  # and Flask-Babel caches the locale there

    app.before_request_funcs.setdefault(None, []).insert(0, forget_cached_user)
    return app


def dispose(app: Flask) -> None:
    """Close the app's pooled connections (PostgreSQL warns about ones left open)."""
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def _app(db_url) -> Iterator[Flask]:
    app = make_app(db_url)
    with app.app_context():
        upgrade()  # the schema comes only from the migrations
    yield app
    dispose(app)


def clean(app: Flask) -> None:
    """Empty every table; one statement on PostgreSQL."""
    with app.app_context():
        _db.session.remove()
        engine = _db.engine
        names = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
            else:
                for name in names:
                    conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def app(_app) -> Iterator[Flask]:
    """The app with an empty database holding only the seed (roles and the SOP)."""
    clean(_app)
    with _app.app_context():
        seed(_db.session)
        yield _app
        _db.session.remove()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


# --- factories ---------------------------------------------------------------------------------


def make_user(username: str, *roles: str, full_name: str | None = None, active=True) -> User:
    """A user holding the given role codes, with password ``PASSWORD``."""
    user = User(username=username, full_name=full_name or username.title(), active=active)
    user.set_password(PASSWORD)
    user.roles = list(_db.session.scalars(select(Role).where(Role.code.in_(roles))))
    _db.session.add(user)
    _db.session.commit()
    return user


@pytest.fixture
def people(app) -> dict[str, User]:
    """One user per role, named after the demo accounts."""
    return {
        "kadis": make_user("kadis", "kepala_dinas", full_name="Kepala Dinas"),
        "sekretaris": make_user("sekretaris", "sekretaris", full_name="Sekretaris"),
        "perencana": make_user("perencana", "perencana", full_name="Perencana"),
        "timsakip": make_user("timsakip", "tim_sakip", full_name="Tim SAKIP"),
        "staf": make_user("staf", "staf", full_name="Staf"),
        "admin": make_user("admin", "admin", full_name="Admin TI"),
    }


def make_dossier(title: str = "IKU 2026–2030", period=(2026, 2030), **fields) -> Dossier:
    """A new dossier at the first step of the active SOP."""
    dossier = Dossier(
        title=title,
        period_start=period[0],
        period_end=period[1],
        letter_number=fields.pop("letter_number", "050/001/2026"),
        letter_date=fields.pop("letter_date", date(2026, 1, 5)),
        letter_sender=fields.pop("letter_sender", "Bappeda"),
        letter_subject=fields.pop("letter_subject", "Penyusunan IKU"),
        **fields,
    )
    workflow.start_dossier(_db.session, dossier)
    _db.session.add(dossier)
    _db.session.commit()
    return dossier


def fill_iku(dossier: Dossier, indicators: int = 1) -> Dossier:
    """Give a dossier complete IKU content (what steps 3 and 4 check)."""
    objective = StrategicObjective(name="Meningkatnya investasi", order=1)
    years = dossier.years
    for n in range(1, indicators + 1):
        objective.indicators.append(
            Indicator(
                name=f"Nilai investasi {n}",
                definition="Jumlah realisasi PMA dan PMDN",
                unit="Miliar Rupiah",
                baseline="850",
                data_source="LKPM",
                responsible="Kepala Bidang Promosi",
                order=n,
                targets=[IndicatorTarget(year=y, target=Decimal(900 + y % 10)) for y in years],
            )
        )
    dossier.objectives.append(objective)
    _db.session.commit()
    return dossier


# --- HTTP helpers --------------------------------------------------------------------------


def csrf_token(client: FlaskClient) -> str:
    """A valid CSRF token for the client's session (what ``csrf_token()`` renders)."""
    with client.session_transaction() as session:
        if "csrf_token" not in session:
            import hashlib

            session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()
        raw = session["csrf_token"]
    secret = client.application.config["SECRET_KEY"]
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


def login(client: FlaskClient, username: str, password: str = PASSWORD):
    """Log in through the real login form."""
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.text
    return response


def post(client: FlaskClient, url: str, data: dict | None = None, **kwargs):
    """POST with a valid CSRF token."""
    payload = {"csrf_token": csrf_token(client), **(data or {})}
    return client.post(url, data=payload, **kwargs)


def flashes(html: str) -> str:
    """The text of the flash messages on a page."""
    return " ".join(re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


class StatementCounter:
    """Counts SQL statements sent to the database (executemany counts once), and keeps them."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0
        self.statements: list[str] = []

    def _count(self, conn, cursor, statement, *args, **kwargs):
        self.count += 1
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def assert_totals_match_history(connection) -> None:
    """The dashboard's totals (written by the workflow) are what the history says, and every
    finished dossier's cycle minutes are the sum of its records."""
    expected = mutu.history_totals(connection)
    keys = (len(mutu.STEP_KEY), len(mutu.MINUTES_KEY), len(mutu.DOSSIER_KEY))
    steps = {row[: keys[0]]: list(row[keys[0] :]) for row in connection.execute(select(StepTotal))}
    counts = {row[: keys[1]]: row[keys[1]] for row in connection.execute(select(MinutesCount))}
    dossiers = {row[: keys[2]]: row[keys[2]] for row in connection.execute(select(DossierTotal))}
    assert {k: v for k, v in steps.items() if v != [0, 0]} == dict(expected.steps)
    assert {k: v for k, v in counts.items() if v} == dict(expected.minutes)
    assert {k: v for k, v in dossiers.items() if v} == dict(expected.dossiers)
    sums = (
        select(func.sum(StepRecord.working_minutes))
        .where(StepRecord.dossier_id == Dossier.id).scalar_subquery()
    )  # fmt: skip
    assert connection.execute(
        select(func.count()).where(Dossier.status == "done", Dossier.cycle_minutes != sums)
    ).scalar() == 0  # fmt: skip


@pytest.fixture
def english(app):
    """Run a test's messages in English (tests that check wording against the msgids)."""
    config = app.extensions["babel"]
    chosen, config.locale_selector = config.locale_selector, lambda: "en"
    g.pop("_flask_babel", None)
    yield
    config.locale_selector = chosen
    g.pop("_flask_babel", None)


def csv_cells(data: bytes, delimiter: str = ";") -> list[list[str]]:
    """An exported CSV as a spreadsheet set up for Indonesian reads it on a double-click:
    UTF-8 when it starts with a byte-order mark (else the Windows code page), fields split by
    the list separator ";"."""
    text = data.decode("utf-8-sig") if data.startswith(codecs.BOM_UTF8) else data.decode("cp1252")
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))
