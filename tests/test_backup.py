"""Backup and restore: every row of every table comes back identical, on SQLite and PostgreSQL,
and from one to the other; a database holding data is not overwritten unless told so."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from conftest import dispose, fill_iku, make_app, make_dossier, make_user
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    create_engine,
    func,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import OperationalError

import iku_admin.backup as backup_module
from iku_admin import workflow
from iku_admin.backup import database_revision, tables
from iku_admin.config import normalise_database_url
from iku_admin.extensions import db as _db
from iku_admin.i18n import _
from models import Agency, CalendarDay, CustomField, Dossier, LoginAttempt, SopStep, User

# The newest migration: what a backup of a migrated database names.
HEAD = ScriptDirectory(Path(__file__).parent.parent / "migrations").get_current_head()

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
# Binary content: every byte value, NUL and invalid UTF-8 included.
EMBLEM = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3


@pytest.fixture
def filled(app, db, people) -> dict:
    """A row in every table, with unicode, NULLs, booleans, Decimals, dates and timestamps."""
    make_user("pensiun", "staf", full_name="Dra. Siti Ña’ima — 日本 ✓", active=False)
    people["kadis"].rank = "Pembina Utama Muda (IV/c) ✓"
    agency = db.session.scalars(select(Agency)).one()  # seeded; its emblem is binary
    agency.emblem, agency.emblem_type = EMBLEM, "image/png"
    agency.address = "Jalan Ña’ima 1\nKuala Tungkal"
    dossier = fill_iku(make_dossier(title="IKU 2026–2030 «uji» ✓", period=(2026, 2027)))
    dossier.objectives[0].indicators[0].targets[0].target = Decimal("1234567.89")
    dossier.objectives[0].indicators[0].extra = {"alasan": "Ña’ima ✓", "bobot": "12.5"}
    dossier.extra = {"anggaran": "1150.25"}
    db.session.add_all([
        LoginAttempt(username="staf", address="10.0.0.7", success=False),
        LoginAttempt(username="staf", address="10.0.0.7", success=True,
                     at=datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=UTC)),
        CalendarDay(day=date(2026, 3, 19), kind="off", description="Hari Suci Nyepi"),
        CustomField(entity="indicator", code="alasan", label="Alasan ✓", kind="choice",
                    choices="Ña’ima ✓\nLain"),
    ])  # fmt: skip
    db.session.commit()
    for user in ("kadis", "sekretaris", "timsakip", "staf"):
        workflow.complete(dossier, people[user], note=f"Selesai oleh {user} ✓")
    # A draft whose review returns to a step inserted later (a higher id than the review's).
    draft = workflow.new_sop_version(db.session, dossier.sop)
    workflow.make_room(db.session, draft.id, 4)
    inserted = SopStep(sop=draft, position=4, activity="Memverifikasi ✓", time_value=1,
                       time_unit="jam", role=draft.steps[0].role)  # fmt: skip
    db.session.add(inserted)
    next(s for s in draft.steps if s.kind == "review").return_to = inserted
    db.session.commit()
    empty = [t.name for t in tables() if not db.session.scalar(select(func.count()).select_from(t))]
    assert not empty, f"fill these tables too: {empty}"
    return snapshot(app)


def snapshot(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order, as Python values."""
    with app.app_context(), _db.engine.connect() as connection:
        return {
            t.name: [tuple(row) for row in connection.execute(
                select(t).order_by(*t.primary_key.columns))]
            for t in tables()
        }  # fmt: skip


def cli(app: Flask, *args: str, input: str | None = None):
    # A command runs in the current app context if there is one: make it this app's.
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args), input=input)
    # A refusal is a message and exit code 1 (SystemExit), never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def backup(app: Flask, path: Path) -> dict:
    result = cli(app, "backup", str(path))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def restore(app: Flask, path: Path, *options: str, input: str | None = None):
    return cli(app, "restore", str(path), *options, input=input)


@contextmanager
def empty_database(kind: str, tmp_path: Path, name: str = "restored") -> Iterator[Flask]:
    """An app on a new database built by the migrations: a SQLite file, or a PostgreSQL
    database named after the test database (created here, dropped afterwards)."""
    if kind == "sqlite":
        url, server = f"sqlite:///{tmp_path / f'{name}.db'}", None
    else:
        main = make_url(normalise_database_url(os.environ["TEST_DATABASE_URL"]))
        database = f"{main.database}_{name}"
        url = main.set(database=database).render_as_string(hide_password=False)
        server = create_engine(main, isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
            connection.execute(text(f'CREATE DATABASE "{database}"'))
    target = make_app(url)
    try:
        with target.app_context():
            upgrade()
        yield target
    finally:
        dispose(target)
        if server is not None:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
            server.dispose()


@pytest.fixture
def target(tmp_path) -> Iterator[Flask]:
    """An empty database of the same kind as the test database."""
    with empty_database("postgresql" if ON_POSTGRES else "sqlite", tmp_path) as app:
        yield app


def rewrite(source: Path, copy: Path, change: Callable[[str, bytes], bytes]) -> Path:
    """A copy of a backup with some of its members changed."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(copy, "w") as new:
        for name in old.namelist():
            new.writestr(name, change(name, old.read(name)))
    return copy


# --- Round trip -------------------------------------------------------------------------------


def test_restore_brings_back_every_row_identical(app, filled, target, tmp_path):
    manifest = backup(app, tmp_path / "iku.zip")
    with app.app_context():
        assert manifest["alembic_revision"] == HEAD == database_revision(_db.session.connection())
    assert [t["name"] for t in manifest["tables"]] == [t.name for t in tables()]
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == {
        name: len(rows) for name, rows in filled.items()}  # fmt: skip

    result = restore(target, tmp_path / "iku.zip")
    assert result.exit_code == 0, result.output
    assert snapshot(target) == filled
    restored = snapshot(target)["indicator_target"]
    assert Decimal("1234567.89") in [row[3] for row in restored]
    with target.app_context():
        assert _db.session.scalars(select(Agency.emblem)).one() == EMBLEM

    # New rows get fresh ids (on PostgreSQL: the sequences were moved past the restored ids).
    with target.app_context():
        highest = _db.session.scalar(select(func.max(Dossier.id)))
        assert make_dossier(title="Berkas baru").id == highest + 1
        _db.session.remove()


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_backup_moves_between_postgresql_and_sqlite(app, filled, tmp_path):
    backup(app, tmp_path / "from-postgresql.zip")
    with empty_database("sqlite", tmp_path) as sqlite:
        assert restore(sqlite, tmp_path / "from-postgresql.zip").exit_code == 0
        assert snapshot(sqlite) == filled
        backup(sqlite, tmp_path / "from-sqlite.zip")
    with empty_database("postgresql", tmp_path, name="from_sqlite") as postgresql:
        assert restore(postgresql, tmp_path / "from-sqlite.zip").exit_code == 0
        assert snapshot(postgresql) == filled


# --- Refusals ---------------------------------------------------------------------------------


def test_restore_refuses_a_database_that_holds_data(app, db, filled, tmp_path):
    path = tmp_path / "iku.zip"
    backup(app, path)
    db.session.add(CalendarDay(day=date(2026, 12, 24), kind="off", description="Cuti bersama"))
    db.session.commit()
    changed = snapshot(app)

    refused = restore(app, path)
    assert refused.exit_code == 1 and "--force" in refused.output
    assert snapshot(app) == changed

    declined = restore(app, path, "--force", input="n\n")
    assert declined.exit_code == 1 and "calendar_day" in declined.output
    assert snapshot(app) == changed


@pytest.mark.parametrize("options", [("--force",), ("--force", "--yes")])
def test_restore_with_force_replaces_the_data(app, db, people, filled, tmp_path, options):
    path = tmp_path / "iku.zip"
    backup(app, path)
    make_dossier(title="Made after the backup")
    db.session.delete(db.session.scalar(select(CalendarDay)))
    db.session.commit()
    db.session.remove()

    result = restore(app, path, *options, input="y\n")
    assert result.exit_code == 0, result.output
    assert snapshot(app) == filled


def test_restore_refuses_a_backup_of_another_revision(app, filled, target, tmp_path):
    def other_revision(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "alembic_revision": "9999_future"}).encode()

    backup(app, tmp_path / "iku.zip")
    result = restore(target, rewrite(tmp_path / "iku.zip", tmp_path / "future.zip", other_revision))
    assert result.exit_code == 1
    with target.app_context():
        expected = _(
            "The backup is of database revision %(backup)s but this database is at "
            "revision %(database)s. Restore into a database migrated to the same revision "
            "(flask --app app db upgrade %(backup)s).",
            backup="9999_future",
            database=HEAD,
        )
    assert expected in " ".join(result.output.split())
    assert all(not rows for rows in snapshot(target).values())


def _drop_last_row(name: str, data: bytes) -> bytes:
    last = tables()[-1].name
    return b"".join(data.splitlines(keepends=True)[:-1]) if name == f"tables/{last}.jsonl" else data


def _bad_timestamp(name: str, data: bytes) -> bytes:
    if name != "tables/step_record.jsonl":
        return data
    row = json.loads(data.splitlines()[-1])
    return data.replace(row["finished_at"].encode(), b"yesterday")


@pytest.mark.parametrize("damage", [_drop_last_row, _bad_timestamp])
def test_a_damaged_backup_restores_nothing(app, filled, target, tmp_path, damage):
    backup(app, tmp_path / "iku.zip")
    path = rewrite(tmp_path / "iku.zip", tmp_path / "damaged.zip", damage)
    result = restore(target, path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert all(not rows for rows in snapshot(target).values())  # one transaction: all or nothing


def test_a_file_that_is_not_a_backup_is_refused(app, target, tmp_path):
    path = tmp_path / "notes.zip"
    path.write_text("not a zip file")
    result = restore(target, path)
    assert result.exit_code == 1 and "notes.zip" in result.output
    assert all(not rows for rows in snapshot(target).values())


def test_a_failed_backup_keeps_the_previous_file(app, people, tmp_path, monkeypatch):
    path = tmp_path / "iku.zip"
    backup(app, path)
    previous = path.read_bytes()
    # A table the database does not have: the backup fails after writing some tables.
    missing = Table("no_such_table", MetaData(), Column("id", Integer, primary_key=True))
    real_tables = backup_module.tables
    monkeypatch.setattr(backup_module, "tables", lambda: [*real_tables(), missing])

    result = cli(app, "backup", str(path))
    assert result.exit_code == 1 and "no_such_table" in result.output
    assert path.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["iku.zip"]


def test_backup_reads_one_moment(app, people, tmp_path, monkeypatch):
    """A row written while the backup runs is not in it: the backup reads one snapshot (on
    SQLite the writer waits for the backup instead)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    writer = create_engine(url, connect_args={"timeout": 0.2} if url.startswith("sqlite") else {})
    real_tables = backup_module.tables

    def tables_while_someone_writes():
        try:
            with writer.begin() as connection:
                connection.execute(insert(User.__table__).values(username="budi", full_name="B"))
        except OperationalError as exc:  # SQLite: "database is locked" by the backup's read
            assert "locked" in str(exc)
        return real_tables()

    monkeypatch.setattr(backup_module, "tables", tables_while_someone_writes)
    try:
        manifest = backup(app, tmp_path / "iku.zip")
    finally:
        writer.dispose()
    assert {t["name"]: t["rows"] for t in manifest["tables"]}["app_user"] == len(people)
