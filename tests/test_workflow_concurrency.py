"""Races: two people act on the same dossier at the same moment, on real connections.

Only PostgreSQL has real concurrent writers (SQLite serialises them), so these tests need
``TEST_DATABASE_URL``. Each racer is a thread with its own Session and connection from the
app's engine; a barrier releases both at once.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from conftest import csrf_token, login, make_dossier, make_user
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from test_workflow import advance, english  # noqa: F401 (autouse)
from test_workflow_bulk import insert_dossiers

from iku_admin import workflow
from models import Dossier, StepRecord, User

RACES = 100
HTTP_RACES = 25
TIMEOUT = 30  # seconds; a deadlock would hang a racer, the barrier turns that into a failure


@pytest.fixture
def postgres(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("races need PostgreSQL: set TEST_DATABASE_URL (SQLite serialises writers)")
    return db


def race(work, count: int) -> list[list]:
    """Run ``work(slot, n, barrier)`` for n in range(count) in two threads; collect results."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    results: list[list] = [[None] * count, [None] * count]

    def racer(slot: int) -> None:
        try:
            for n in range(count):
                results[slot][n] = work(slot, n, barrier)
        except BaseException as error:  # shown by the assertion below, not lost in a thread
            results[slot][n] = error
            barrier.abort()

    threads = [threading.Thread(target=racer, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads), "a racer hangs: deadlock?"
    for slot in (0, 1):
        errors = [r for r in results[slot] if isinstance(r, BaseException)]
        assert not errors, errors[0]
    return results


def test_of_two_people_acting_at_once_exactly_one_wins(postgres, people):
    db = postgres
    twins = {
        "sekretaris": (people["sekretaris"],
                       make_user("sekretaris2", "sekretaris", full_name="Sekretaris Dua")),
        "perencana": (people["perencana"],
                      make_user("perencana2", "perencana", full_name="Perencana Dua")),
    }  # fmt: skip
    # Two out of three races at the review (approve against approve, approve against
    # return), one in three at a task step (complete against complete).
    ids = insert_dossiers(db, RACES, 5)
    at_task = set(ids[2::3])
    step_6 = workflow.active_sop(db.session).steps[5]
    db.session.execute(
        Dossier.__table__.update().where(Dossier.id.in_(at_task)).values(current_step_id=step_6.id)
    )
    db.session.commit()
    user_ids = {role: [u.id for u in pair] for role, pair in twins.items()}
    names = {u.id: u.full_name for pair in twins.values() for u in pair}
    engine = db.engine
    sessions = [Session(engine), Session(engine)]

    def work(slot: int, n: int, barrier: threading.Barrier):
        session = sessions[slot]
        dossier_id = ids[n]
        role = "perencana" if dossier_id in at_task else "sekretaris"
        user = session.get(User, user_ids[role][slot])
        dossier = session.get(Dossier, dossier_id)
        assert dossier.version == 1 and user.role_codes  # both loaded before the start
        if role == "perencana":
            act, args = workflow.complete, ()
        elif slot == 1 and n % 2:
            act, args = workflow.return_for_revision, ("Perlu diperbaiki",)
        else:
            act, args = workflow.approve, ()
        barrier.wait()
        try:
            record = act(dossier, user, *args)
        except workflow.WorkflowError as error:
            return ("lost", str(error))
        return ("won", record.outcome)

    try:
        results = race(work, RACES)
    finally:
        for session in sessions:
            session.close()

    db.session.expire_all()
    records = db.session.scalars(select(StepRecord).order_by(StepRecord.dossier_id)).all()
    by_dossier = Counter(r.dossier_id for r in records)
    assert by_dossier == dict.fromkeys(ids, 1)  # exactly one history record per race
    winners = {r.dossier_id: r for r in records}
    for n, dossier_id in enumerate(ids):
        outcomes = sorted(results[slot][n][0] for slot in (0, 1))
        assert outcomes == ["lost", "won"], (n, results[0][n], results[1][n])
        loser = 0 if results[0][n][0] == "lost" else 1
        winner = winners[dossier_id]
        assert results[1 - loser][n][1] == winner.outcome
        assert results[loser][n][1].startswith(
            f"Already processed by {names[winner.user_id]} at "
        ), results[loser][n][1]
        dossier = db.session.get(Dossier, dossier_id)
        assert dossier.version == 2
        expected = {"approved": 6, "returned": 4, "done": 7}[winner.outcome]
        assert dossier.current_step.position == expected
        assert dossier.revision_round == (winner.outcome == "returned")
    wins = Counter(results[slot][n][0] for slot in (0, 1) for n in range(RACES))
    assert wins == {"won": RACES, "lost": RACES}


def test_two_clicks_at_once_through_http_give_one_success_and_one_clear_refusal(
    postgres, app, people
):
    db = postgres
    second = make_user("sekretaris2", "sekretaris", full_name="Sekretaris Dua")
    for user in (people["sekretaris"], second):
        user.locale = "en"
    db.session.commit()
    ids = insert_dossiers(db, HTTP_RACES, 5)
    clients = [app.test_client(), app.test_client()]
    login(clients[0], "sekretaris")
    login(clients[1], "sekretaris2")
    tokens = [csrf_token(client) for client in clients]
    db.session.remove()  # the racers' requests use their own sessions

    def work(slot: int, n: int, barrier: threading.Barrier):
        data = {"csrf_token": tokens[slot], "action": "approve", "version": "1"}
        barrier.wait()
        response = clients[slot].post(f"/admin/dossier/transition/?id={ids[n]}", data=data)
        return response.status_code, response.text

    results = race(work, HTTP_RACES)
    for n in range(HTTP_RACES):
        statuses = sorted(results[slot][n][0] for slot in (0, 1))
        assert statuses == [303, 409], statuses
        refusal = next(text for status, text in (results[0][n], results[1][n]) if status == 409)
        assert "Already processed by Sekretaris" in refusal
    assert db.session.scalar(select(func.count(StepRecord.id))) == HTTP_RACES


def test_a_change_between_reading_and_writing_is_not_overwritten(db, people):
    """The compare-and-set includes the version: a dossier returned to step 4 and typed again
    between someone's read and write stands at step 5 again, but it is not the draft they saw
    (runs on SQLite too: the interleaving is forced, not left to chance)."""
    dossier = advance(make_dossier(), people, 5)
    other = make_user("sekretaris2", "sekretaris", full_name="Sekretaris Dua")
    ids = {"dossier": dossier.id, "other": other.id, "staf": people["staf"].id}
    fired = []

    def meanwhile(conn, cursor, statement, *args):
        if fired or not statement.lstrip().upper().startswith("UPDATE DOSSIER"):
            return
        fired.append(statement)
        with Session(db.engine) as session:  # someone else, on another connection
            again = session.get(Dossier, ids["dossier"])
            workflow.return_for_revision(again, session.get(User, ids["other"]), "Ketik ulang")
            workflow.complete(again, session.get(User, ids["staf"]))

    event.listen(db.engine, "before_cursor_execute", meanwhile)
    try:
        with pytest.raises(workflow.WorkflowError, match="Already processed by Staf"):
            workflow.approve(dossier, people["sekretaris"])
    finally:
        event.remove(db.engine, "before_cursor_execute", meanwhile)
    assert fired
    db.session.expire_all()
    assert dossier.current_step.position == 5 and dossier.revision_round == 1
    outcomes = db.session.scalars(
        select(StepRecord.outcome).where(StepRecord.position == 5).order_by(StepRecord.id)
    ).all()
    assert outcomes == ["returned"]  # no approval of a draft the approver never saw


def test_two_people_finishing_step_9_at_once_keep_only_the_winners_typing(postgres, people):
    """Step 9 saves its fields and finishes in one transaction: of two at once, one wins
    and the dossier holds what the winner typed, never the loser's."""
    db = postgres
    staff = [people["staf"], make_user("staf2", "staf", full_name="Staf Dua")]
    ids = insert_dossiers(db, 20, 9)
    user_ids = [u.id for u in staff]
    sessions = [Session(db.engine), Session(db.engine)]

    def work(slot: int, n: int, barrier: threading.Barrier):
        session = sessions[slot]
        user = session.get(User, user_ids[slot])
        dossier = session.get(Dossier, ids[n])
        assert dossier.version == 1 and user.role_codes
        fields = {"outgoing_agenda_number": f"050/{slot}/{n}",
                  "distribution_record": f"Dikirim oleh {slot}"}  # fmt: skip
        barrier.wait()
        try:
            workflow.complete(dossier, user, seen_version=1, fields=fields)
        except workflow.WorkflowError as error:
            return ("lost", str(error))
        return ("won", slot)

    try:
        results = race(work, 20)
    finally:
        for session in sessions:
            session.close()

    db.session.expire_all()
    for n, dossier_id in enumerate(ids):
        outcomes = sorted(results[slot][n][0] for slot in (0, 1))
        assert outcomes == ["lost", "won"], (dossier_id, results[0][n], results[1][n])
        winner = next(slot for slot in (0, 1) if results[slot][n][0] == "won")
        dossier = db.session.get(Dossier, dossier_id)
        assert dossier.status == "done"
        assert dossier.outgoing_agenda_number == f"050/{winner}/{n}"
        assert dossier.distribution_record == f"Dikirim oleh {winner}"
    records = db.session.scalar(select(func.count()).select_from(StepRecord))
    assert records == 20
