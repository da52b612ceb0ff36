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
from models.search import autogenerate_options


def script_directory(app) -> ScriptDirectory:
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config)


def test_one_head(app):
    assert len(script_directory(app).get_heads()) == 1


def test_models_and_migrations_agree(app):
    with _db.engine.connect() as conn:
        opts = {"compare_type": True, **autogenerate_options()}
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(app):
    _db.session.remove()
    downgrade(revision="base")
    assert set(inspect(_db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    tables = set(inspect(_db.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    seed(_db.session)  # the next test expects the seed


def test_upgrade_fills_the_dashboard_totals_from_an_existing_history(app):
    from conftest import assert_totals_match_history
    from sqlalchemy import select

    from iku_admin.seed import demo
    from models import Dossier, MinutesCount, StepTotal

    demo(_db.session)  # finished and open dossiers, with a return, moved by the workflow
    kept = {model: set(_db.session.execute(select(model.__table__))) for model in
            (StepTotal, MinutesCount)}  # fmt: skip
    cycles = set(_db.session.execute(select(Dossier.id, Dossier.cycle_minutes)))
    assert kept[StepTotal] and kept[MinutesCount] and any(m is not None for _, m in cycles)
    _db.session.remove()
    downgrade(revision="0001_initial")  # a database from before the totals existed
    upgrade()
    assert {model: set(_db.session.execute(select(model.__table__))) for model in kept} == kept
    assert set(_db.session.execute(select(Dossier.id, Dossier.cycle_minutes))) == cycles
    assert_totals_match_history(_db.session.connection())
