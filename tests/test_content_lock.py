"""The IKU content lock holds for the dossier a row leaves as well as the one it joins, on
every write path: the ORM itself, the content forms (inline targets included), deletes and
the list's delete action."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import fill_iku, login, make_dossier, post
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError
from test_workflow import DONE, _indicator_form, advance, english  # noqa: F401 (autouse)

from iku_admin import workflow
from models import Dossier, Indicator, IndicatorTarget, StrategicObjective

KINDS = ("objective", "indicator", "target")
REFUSED = ("locked", "finished")


@pytest.fixture(params=[6, DONE], ids=["approved", "done"])
def dossiers(request, db, people) -> dict[str, Dossier]:
    """A dossier whose content is locked (approved at the review step, or finished) and one
    still being drafted, each with one objective, indicator and its yearly targets."""
    locked = advance(fill_iku(make_dossier("Terkunci")), people, request.param)
    drafted = fill_iku(make_dossier("Disusun"))
    return {"locked": locked, "drafted": drafted}


def row_of(dossier: Dossier, kind: str):
    """The dossier's objective, indicator or (first) target."""
    objective = dossier.objectives[0]
    indicator = objective.indicators[0]
    return {"objective": objective, "indicator": indicator, "target": indicator.targets[0]}[kind]


def parent_of(dossier: Dossier, kind: str):
    """What a row of ``kind`` hangs from in ``dossier``."""
    return {"objective": dossier, "indicator": row_of(dossier, "objective"),
            "target": row_of(dossier, "indicator")}[kind]  # fmt: skip


def content(db) -> list[tuple]:
    """Every content row with its parent and values, and each dossier's version."""
    db.session.expire_all()
    rows = []
    for model in (StrategicObjective, Indicator, IndicatorTarget, Dossier):
        table = model.__table__
        rows += [(table.name, *row) for row in db.session.execute(select(table)).all()]
    db.session.rollback()
    return sorted(rows, key=repr)


def mover(dossiers, direction: str) -> tuple[str, str]:
    """(where the row is, where it goes): out of the locked dossier, or into it."""
    return ("locked", "drafted") if direction == "out" else ("drafted", "locked")


# --- any code using the ORM ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["relationship", "foreign key"])
@pytest.mark.parametrize("direction", ["out", "in"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_orm_cannot_move_content_across_a_locked_dossier(db, dossiers, kind, direction, how):
    # (A moved target keeps its year, which the other indicator has too: the lock refuses
    # the move before the database would.)
    before = content(db)
    relationship, foreign_key = {"objective": ("dossier", "dossier_id"),
                                 "indicator": ("objective", "objective_id"),
                                 "target": ("indicator", "indicator_id")}[kind]  # fmt: skip
    source, destination = mover(dossiers, direction)
    row = row_of(db.session.get(Dossier, dossiers[source].id), kind)
    parent = parent_of(db.session.get(Dossier, dossiers[destination].id), kind)
    if how == "relationship":
        setattr(row, relationship, parent)
    else:
        setattr(row, foreign_key, parent.id)
    with pytest.raises(workflow.WorkflowError, match="|".join(REFUSED)):
        db.session.commit()
    db.session.rollback()
    assert content(db) == before


def test_the_orm_cannot_add_to_or_delete_from_a_locked_dossier(db, dossiers):
    locked = dossiers["locked"]
    before = content(db)
    additions = [
        StrategicObjective(dossier_id=locked.id, name="Baru", order=2),
        Indicator(objective=row_of(locked, "objective"), name="Baru", order=2),
        IndicatorTarget(indicator_id=row_of(locked, "indicator").id, year=2031,
                        target=Decimal(1)),
    ]  # fmt: skip
    for row in additions:
        db.session.add(row)
        with pytest.raises(workflow.WorkflowError):
            db.session.flush()
        db.session.rollback()
    for kind in KINDS:
        db.session.delete(row_of(db.session.get(Dossier, locked.id), kind))
        with pytest.raises(workflow.WorkflowError):
            db.session.flush()
        db.session.rollback()
    assert content(db) == before


def test_the_orm_moves_content_between_dossiers_being_drafted(db, people):
    first, second = fill_iku(make_dossier("Satu")), fill_iku(make_dossier("Dua"))
    versions = (first.version, second.version)
    indicator = row_of(first, "indicator")
    indicator.objective = row_of(second, "objective")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Indicator, indicator.id).objective.dossier_id == second.id
    # Both dossiers changed: a page opened on either before the move is stale now.
    assert first.version > versions[0] and second.version > versions[1]


def test_a_dossier_approved_meanwhile_refuses_the_move(db, people):
    """The lock is decided on the dossier as loaded: a transition that moved it since makes
    the write fail instead of changing content that was just approved."""
    drafted = advance(fill_iku(make_dossier("Disusun")), people, 5)
    other = fill_iku(make_dossier("Lain"))
    before = content(db)
    dossier = db.session.get(Dossier, drafted.id)
    indicator = row_of(dossier, "indicator")
    destination = row_of(db.session.get(Dossier, other.id), "objective")
    assert not workflow.is_content_locked(dossier)
    with db.engine.begin() as meanwhile:  # the secretary approves at the review step
        meanwhile.execute(
            update(Dossier)
            .where(Dossier.id == dossier.id)
            .values(current_step_id=next(s.id for s in dossier.sop.steps if s.position == 6),
                    version=Dossier.version + 1)
        )  # fmt: skip
    indicator.objective = destination
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    after = content(db)
    assert [r for r in after if r[0] != "dossier"] == [r for r in before if r[0] != "dossier"]


# --- the content forms --------------------------------------------------------------------


def form_of(row, **changes) -> dict:
    """A content row's edit form as the browser posts it (an indicator with its targets)."""
    if isinstance(row, Indicator):
        return _indicator_form(row, **changes)
    if isinstance(row, StrategicObjective):
        data = {"dossier": row.dossier_id, "order": row.order, "name": row.name}
    else:
        data = {"indicator": row.indicator_id, "year": row.year, "target": str(row.target)}
    return {**data, "row_version": row.row_version, **changes}


def assert_form_refused(db, client, url: str, data: dict) -> None:
    """The form comes back (422) saying the content is locked, and nothing was written."""
    before = content(db)
    login(client, "timsakip")
    response = post(client, url, data)
    assert response.status_code == 422, response.status_code
    assert any(word in response.text for word in REFUSED)
    assert content(db) == before


PARENT_FIELD = {"objective": "dossier", "indicator": "objective", "target": "indicator"}


@pytest.mark.parametrize("direction", ["out", "in"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_edit_form_cannot_move_content_across_a_locked_dossier(
    db, client, dossiers, kind, direction
):
    source, destination = mover(dossiers, direction)
    row = row_of(dossiers[source], kind)
    parent = parent_of(dossiers[destination], kind)
    # An indicator carries its inline targets along (and a target's year is already taken
    # under the other indicator: the lock is refused before the database would say so).
    data = form_of(row, **{PARENT_FIELD[kind]: parent.id})
    assert_form_refused(db, client, f"/admin/{kind}/edit/?id={row.id}", data)


@pytest.mark.parametrize("kind", KINDS)
def test_the_create_form_cannot_add_to_a_locked_dossier(db, client, dossiers, kind):
    parent = parent_of(dossiers["locked"], kind)
    data = {
        "objective": {"dossier": parent.id, "order": 2, "name": "Baru"},
        "indicator": {"objective": parent.id, "order": 2, "name": "Baru", "unit": "Persen",
                      "polarity": "max", "targets-0-year": 2026, "targets-0-target": "1"},
        "target": {"indicator": parent.id, "year": 2026, "target": "1"},
    }[kind]  # fmt: skip
    assert_form_refused(db, client, f"/admin/{kind}/new/", data)


@pytest.mark.parametrize("how", ["delete view", "list action"])
@pytest.mark.parametrize("kind", KINDS)
def test_deleting_from_a_locked_dossier_is_refused(db, client, dossiers, kind, how):
    row = row_of(dossiers["locked"], kind)
    before = content(db)
    login(client, "timsakip")
    if how == "delete view":
        response = post(client, f"/admin/{kind}/delete/", {"id": row.id})
    else:
        response = post(client, f"/admin/{kind}/action/",
                        {"action": "delete", "rowid": row.id})  # fmt: skip
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    assert any(word in page for word in REFUSED)
    assert content(db) == before


@pytest.mark.parametrize("change", ["value", "delete"])
def test_inline_targets_of_a_locked_indicator_are_refused(db, client, dossiers, change):
    indicator = row_of(dossiers["locked"], "indicator")
    edit = {"targets-0-target": "1"} if change == "value" else {"del-targets-0": "y"}
    url = f"/admin/indicator/edit/?id={indicator.id}"
    assert_form_refused(db, client, url, form_of(indicator, **edit))
