"""The migrations are the schema: one head, up from empty, down to base, and no drift."""

from __future__ import annotations

import pytest
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


# --- every revision on a populated database ---------------------------------------------------

# What must come through every upgrade unchanged: (table, key columns) of data rows.
KEPT = {
    "dossier": ("id", "title", "status", "current_step_id", "version", "revision_round"),
    "step_record": ("id", "dossier_id", "step_id", "position", "outcome", "user_id", "note"),
    "indicator": ("id", "objective_id", "name", "baseline"),
    "indicator_target": ("id", "indicator_id", "year", "target"),
    "strategic_objective": ("id", "dossier_id", "name"),
    "app_user": ("id", "username", "active"),
    "user_role": ("user_id", "role_id"),
    "role": ("id", "code", "name"),
    "sop_step": ("id", "sop_id", "position", "activity", "role_id"),
}


def kept_rows(connection) -> dict[str, set]:
    from sqlalchemy import column, select, table

    return {
        name: set(connection.execute(select(*map(column, columns)).select_from(table(name))))
        for name, columns in KEPT.items()
    }


def dangling_references(connection) -> list:
    """Rows that refer to missing rows (SQLite checks on request; PostgreSQL never has any)."""
    from sqlalchemy import text

    if connection.dialect.name != "sqlite":
        return []
    return connection.execute(text("PRAGMA foreign_key_check")).all()


def revisions_from(app, start: str) -> list[str]:
    """The revisions after ``start`` up to the head, oldest first."""
    scripts = script_directory(app)
    chain = [s.revision for s in scripts.walk_revisions("base", "heads")][::-1]
    return chain[chain.index(start) + 1 :]


def test_every_revision_upgrades_a_populated_database_and_keeps_its_data(app):
    """Dossiers with history, a return and IKU content, then down to 0001 and up again one
    revision at a time: every row comes through (SQLite rebuilds tables referred to by
    others on the way), return targets and who signs are as before, the matrix is filled."""
    from conftest import assert_totals_match_history
    from sqlalchemy import select

    from iku_admin import auth
    from iku_admin.documents import initialling_roles, signing_step
    from iku_admin.seed import demo
    from models import Sop

    demo(_db.session)
    sop = _db.session.scalar(select(Sop))
    returns = {(s.id, s.return_to_step_id) for s in sop.steps}
    checks = {(s.id, tuple(s.requirements)) for s in sop.steps}
    assert len({names for _id, names in checks}) == 3  # nothing, the IKU, the letter's fields
    signing = (signing_step(sop).id, [r.code for r in initialling_roles(sop)])
    assert signing == (sop.steps[6].id, ["sekretaris", "perencana"])
    assert sop.steps[4].return_to is sop.steps[3]
    with _db.engine.connect() as conn:
        before = kept_rows(conn)
    assert all(before.values())
    _db.session.remove()
    downgrade(revision="0001_initial")
    with _db.engine.connect() as conn:
        assert kept_rows(conn) == before  # every downgrade kept the data too
        assert dangling_references(conn) == []
    for revision in revisions_from(app, "0001_initial"):
        upgrade(revision=revision)
        with _db.engine.connect() as conn:
            assert kept_rows(conn) == before, revision
            assert dangling_references(conn) == [], revision
    _db.session.remove()
    sop = _db.session.scalar(select(Sop))
    assert {(s.id, s.return_to_step_id) for s in sop.steps} == returns
    assert {(s.id, tuple(s.requirements)) for s in sop.steps} == checks
    assert (signing_step(sop).id, [r.code for r in initialling_roles(sop)]) == signing
    assert auth.current_matrix(_db.session) == auth.DEFAULT_MATRIX
    # The SOP became a procedure of its own, the default one, drafting an IKU; the totals
    # were rebuilt per procedure from the history.
    assert (sop.procedure.name, sop.procedure.is_default, sop.procedure.carries_iku) == (
        sop.name, True, True)  # fmt: skip
    assert_totals_match_history(_db.session.connection())

    # The existing dossiers and indicators start without custom values, and take one.
    from models import CustomField, Dossier, Indicator

    assert all(d.extra == {} for d in _db.session.scalars(select(Dossier)))
    assert all(i.extra == {} for i in _db.session.scalars(select(Indicator)))
    _db.session.add(CustomField(entity="dossier", code="alasan", label="Alasan", kind="text"))
    dossier = _db.session.scalar(select(Dossier).where(Dossier.status == "in_progress").limit(1))
    dossier.extra = {"alasan": "Data tersedia"}
    _db.session.commit()
    _db.session.expire_all()
    assert _db.session.get(Dossier, dossier.id).extra == {"alasan": "Data tersedia"}


def test_going_back_before_procedures_keeps_the_totals_summed_over_them(app):
    """0012 down: the totals lose the procedure from their key, each key keeping the sum of
    its procedures' counts (a second SOP's history included)."""
    from collections import Counter
    from datetime import date

    from sqlalchemy import text

    from iku_admin import workflow
    from iku_admin.seed import demo
    from models import Dossier, Procedure, Role, Sop, SopStep, User

    demo(_db.session)
    staf = _db.session.scalar(_db.select(Role).where(Role.code == "staf"))
    other = Sop(procedure=Procedure(name="Penyusunan LKjIP", carries_iku=False), number="700",
                name="LKjIP", steps=[SopStep(position=1, activity="Menyusun", role=staf,
                                             time_value=1, time_unit="hari")])  # fmt: skip
    _db.session.add(other)
    _db.session.commit()
    workflow.activate_sop(_db.session, other)
    dossier = Dossier(title="LKjIP 2025", period_start=2026, period_end=2030, sop=other,
                      letter_number="1", letter_date=date(2026, 1, 5), letter_sender="x",
                      letter_subject="y")  # fmt: skip
    _db.session.add(workflow.start_dossier(_db.session, dossier))
    _db.session.commit()
    workflow.complete(dossier, _db.session.scalar(_db.select(User).where(User.username == "staf")),
                      "")  # the same key as IKU records of the same period, summed  # fmt: skip
    tables = {"step_total": ("finished", "minutes"), "minutes_count": ("tally",),
              "dossier_total": ("dossiers",)}  # fmt: skip

    def summed(conn, name, without):
        values = tables[name]
        columns = [c["name"] for c in inspect(conn).get_columns(name)]
        key = [c for c in columns if c not in values and c != without]
        found = Counter()
        for row in conn.execute(text(f"SELECT {', '.join(key + list(values))} FROM {name}")):
            for i, value in enumerate(values):
                found[(*row[: len(key)], value)] += row[len(key) + i]
        return +found

    with _db.engine.connect() as conn:
        before = {name: summed(conn, name, "procedure_id") for name in tables}
    assert all(before.values())
    _db.session.remove()
    downgrade(revision="0011_indicator_units")
    with _db.engine.connect() as conn:
        assert {name: summed(conn, name, None) for name in tables} == before
    upgrade()


def test_each_step_requirement_becomes_a_list_of_requirements(app):
    """0013: "iku_content" stays the IKU check, "outgoing_letter" becomes the two fields it
    checked, nothing stays nothing; the old column and its CHECK constraint are gone."""
    from sqlalchemy import select, text

    from models import Sop

    _db.session.remove()
    downgrade(revision="0011_indicator_units")
    with _db.engine.begin() as conn:
        old = dict(conn.execute(text("SELECT position, requirement FROM sop_step")).all())
        assert (old[1], old[3], old[4], old[9]) == ("", "iku_content", "iku_content",
                                                    "outgoing_letter")  # fmt: skip
        conn.execute(text("UPDATE sop_step SET requirement = 'outgoing_letter' "
                          "WHERE position = 1"))  # fmt: skip
    upgrade(revision="0013_step_requirements")
    assert "requirement" not in {c["name"] for c in inspect(_db.engine).get_columns("sop_step")}
    assert not [c for c in inspect(_db.engine).get_check_constraints("sop_step")
                if "requirement" in c["sqltext"]]  # fmt: skip
    upgrade()
    sop = _db.session.scalar(select(Sop))
    letter = ["outgoing_agenda_number", "distribution_record"]
    assert {s.position: s.requirements for s in sop.steps} == {
        1: letter, 2: [], 3: ["iku_content"], 4: ["iku_content"], 5: [], 6: [], 7: [], 8: [],
        9: letter,
    }  # fmt: skip


FAILING_REVISION = '''
"""a revision that fails half-way: new column, changed data, a table others refer to rebuilt

Revision ID: 9999_fails
Revises: {head}
"""
from alembic import op
import sqlalchemy as sa

revision = "9999_fails"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("sop_step", sa.Column("half_way", sa.Integer(), nullable=True))
    op.execute("UPDATE role SET name = 'changed half-way'")
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("sop_step", recreate="always" if sqlite else "auto") as batch_op:
        batch_op.add_column(sa.Column("rebuilt", sa.Integer(), nullable=True))
    op.execute("UPDATE sop_step SET half_way = 1, rebuilt = 1")
    op.execute("SELECT no_such_column FROM sop_step")


def downgrade():
    pass
'''


def test_a_failing_revision_leaves_the_database_as_it_was(app, tmp_path):
    """Each revision runs in its own transaction, DDL included, on SQLite as on PostgreSQL."""
    import shutil

    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from iku_admin.seed import demo

    demo(_db.session)
    head = script_directory(app).get_current_head()
    copy = tmp_path / "migrations"
    shutil.copytree(app.extensions["migrate"].directory, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (copy / "versions" / "9999_fails.py").write_text(FAILING_REVISION.format(head=head))
    with _db.engine.connect() as conn:
        before = kept_rows(conn)
    columns = {c["name"] for c in inspect(_db.engine).get_columns("sop_step")}
    tables = set(inspect(_db.engine).get_table_names())
    _db.session.remove()
    with pytest.raises(DBAPIError):
        upgrade(directory=str(copy))
    _db.session.remove()
    with _db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        assert kept_rows(conn) == before
        assert dangling_references(conn) == []
    assert {c["name"] for c in inspect(_db.engine).get_columns("sop_step")} == columns
    assert set(inspect(_db.engine).get_table_names()) == tables  # no table of the rebuild left
