"""Export records read like the model they come from, with a fixed number of statements."""

from __future__ import annotations

from conftest import make_dossier
from sqlalchemy import event, select

from iku_admin import export_rows
from iku_admin.extensions import db as _db
from models import Dossier


def batch_of(session, names):
    rows = session.execute(select(*export_rows.columns(Dossier, names)).order_by(Dossier.id)).all()
    return export_rows.Batch(session, Dossier, rows)


def test_a_record_reads_columns_relationships_and_properties_like_the_model(db, people):
    made = [make_dossier(f"IKU {n}") for n in range(3)]
    batch = batch_of(_db.session, ["title"])
    for record, dossier in zip(batch.records(), made, strict=True):
        assert record.title == dossier.title
        assert record.current_step is dossier.current_step  # a relationship, by its key
        assert record.sop.number == dossier.sop.number
        assert record.period_label == dossier.period_label  # a property: the ORM object
    assert "letter_subject" not in batch.fields  # only what was asked for, and the keys


def test_a_batch_costs_one_statement_per_relationship_whatever_its_size(db, people):
    for n in range(5):
        make_dossier(f"IKU {n}")
    _db.session.expire_all()
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", seen)
    try:
        records = batch_of(_db.session, ["title"]).records()
        steps = [record.current_step for record in records]
        sops = [record.sop for record in records]
    finally:
        event.remove(_db.engine, "before_cursor_execute", seen)
    assert all(steps) and all(sops)
    assert len(statements) == 3  # the rows, their steps, their SOPs
