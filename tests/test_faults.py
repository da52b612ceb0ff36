"""Faults: a database connection dropped mid-request, and a transition that fails half-way."""

from __future__ import annotations

import pytest
from conftest import dispose, fill_iku, login, make_app, make_dossier
from flask import request
from sqlalchemy import create_engine, event, func, select, text

from iku_admin import workflow
from iku_admin.extensions import db as _db
from models import Dossier, StepRecord


def test_dropped_connection_gives_an_error_page_and_the_next_request_works(db_url, app, people):
    if not db_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: SQLite has no connection to drop")
    faulty = make_app(db_url)
    killer = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))

    @faulty.before_request
    def drop_my_connection():
        # Mid-request: the session has a connection; an outside party ends it.
        if request.headers.get("X-Drop-Connection"):
            pid = _db.session.scalar(text("SELECT pg_backend_pid()"))
            with killer.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    try:
        client = faulty.test_client()
        login(client, "admin")
        response = client.get("/admin/dossier/", headers={"X-Drop-Connection": "1"})
        assert response.status_code == 503
        assert "database" in response.text.lower() or "basis data" in response.text.lower()
        assert client.get("/admin/dossier/").status_code == 200
        # Between requests (a database restart, say): the pooled connections all die.
        with killer.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert client.get("/admin/dossier/").status_code == 200  # pool_pre_ping reconnects
    finally:
        killer.dispose()
        dispose(faulty)


def test_a_failing_transition_leaves_no_partial_rows(app, db, people):
    dossier = fill_iku(make_dossier())
    version = dossier.version

    def fail_on_history(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO STEP_RECORD"):
            raise RuntimeError("disk full")

    event.listen(db.engine, "before_cursor_execute", fail_on_history)
    try:
        with pytest.raises(RuntimeError):
            workflow.complete(dossier, people["kadis"], "")
    finally:
        event.remove(db.engine, "before_cursor_execute", fail_on_history)
    db.session.rollback()
    fresh = db.session.get(Dossier, dossier.id)
    db.session.refresh(fresh)
    assert fresh.version == version and fresh.current_step.position == 1
    assert db.session.scalar(select(func.count(StepRecord.id))) == 0
    # And the same step still works afterwards.
    workflow.complete(fresh, people["kadis"], "")
    assert db.session.scalar(select(func.count(StepRecord.id))) == 1
