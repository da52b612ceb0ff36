"""The migrations are the schema: one head, up from empty, down to base, and no drift."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from iku_admin.extensions import db as _db
from iku_admin.seed import seed
from models import Base


def script_directory(app) -> ScriptDirectory:
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config)


def test_one_head(app):
    assert len(script_directory(app).get_heads()) == 1


def test_models_and_migrations_agree(app):
    with _db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(app):
    _db.session.remove()
    downgrade(revision="base")
    assert set(inspect(_db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    tables = set(inspect(_db.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    seed(_db.session)  # the next test expects the seed
