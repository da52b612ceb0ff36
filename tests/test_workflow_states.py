"""Property test: random actions by random people (right and wrong ones) over several dossiers.

After every step the machine checks that each dossier's history follows the SOP graph
(1→2→3→4→5→(6 or back to 4)…→9→done), that every record's user held the step's role and
that a review was not done by whoever finished the step under review, that finished dossiers
never change, and that no record is ever lost or altered.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from datetime import date

from conftest import assert_totals_match_history, fill_iku, make_user
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, func, select, text

from iku_admin import workflow
from models import (
    AuditEntry,
    Dossier,
    DossierTotal,
    Indicator,
    IndicatorTarget,
    MinutesCount,
    StepRecord,
    StepTotal,
    StrategicObjective,
    User,
)

DOSSIERS = 2
# How many examples ran, and how many returned a draft or finished a dossier (not vacuous).
REACHED: Counter = Counter()
PEOPLE = ["kadis", "sekretaris", "perencana", "timsakip", "staf", "admin", "ganda"]
ACTIONS = ["complete", "approve", "return"]
CALLS = {
    "complete": workflow.complete,
    "approve": workflow.approve,
    "return": workflow.return_for_revision,
}
RECORD_COLUMNS = (StepRecord.id, StepRecord.dossier_id, StepRecord.step_id, StepRecord.position,
                  StepRecord.user_id, StepRecord.role_id, StepRecord.outcome, StepRecord.note,
                  StepRecord.dossier_version, StepRecord.sop_version)  # fmt: skip
DOSSIER_COLUMNS = (Dossier.id, Dossier.current_step_id, Dossier.status, Dossier.version,
                   Dossier.revision_round, Dossier.step_started_at)  # fmt: skip

dossier_index = st.integers(0, DOSSIERS - 1)
person = st.sampled_from(PEOPLE)
note = st.sampled_from(["", "  ", "Perbaiki format tabel"])


def new_dossier(session, n: int) -> Dossier:
    dossier = Dossier(title=f"Berkas {n}", period_start=2026, period_end=2030,
                      letter_number=f"050/{n}/2026", letter_date=date(2026, 1, 5),
                      letter_sender="Bappeda", letter_subject="Penyusunan IKU")  # fmt: skip
    return workflow.start_dossier(session, dossier)


class WorkflowMachine(RuleBasedStateMachine):
    def __init__(self, db) -> None:
        super().__init__()
        self.session = db.session
        for model in (StepRecord, StepTotal, MinutesCount, DossierTotal, IndicatorTarget,
                      Indicator, StrategicObjective, Dossier, AuditEntry):  # fmt: skip
            # Core deletes: the append-only guards are for the application, not the test.
            self.session.execute(delete(model.__table__))
        self.session.commit()
        self.users = {u.username: u for u in self.session.scalars(select(User))}
        self.roles_of = {u.id: {r.id for r in u.roles} for u in self.users.values()}
        dossiers = [new_dossier(self.session, n) for n in range(DOSSIERS)]
        self.session.add_all(dossiers)
        self.session.commit()
        self.ids = [d.id for d in dossiers]
        sop = workflow.active_sop(self.session)
        self.steps = {s.id: s for s in sop.steps}
        self.by_position = {s.position: s for s in sop.steps}
        self.records: dict[int, tuple] = {}  # every record seen so far
        self.finished: dict[int, tuple] = {}  # the state of each dossier when it was done

    # --- reading the state with a few queries -------------------------------------------------

    def dossiers(self) -> dict[int, tuple]:
        """Each dossier's state and number of history records, in one query."""
        records = (
            select(func.count(StepRecord.id))
            .where(StepRecord.dossier_id == Dossier.id)
            .scalar_subquery()
        )
        rows = self.session.execute(select(*DOSSIER_COLUMNS, records)).all()
        return {row[0]: tuple(row[1:]) for row in rows}

    def dossier(self, index: int) -> Dossier:
        self.session.expire_all()
        return self.session.get(Dossier, self.ids[index])

    def check_attempt(self, before, done: dict[int, str], user: User) -> None:
        """Dossiers not done are untouched; each one done has exactly one new record."""
        after = self.dossiers()
        for dossier_id, state in before.items():
            if dossier_id not in done:
                assert after[dossier_id] == state, (dossier_id, state, after[dossier_id])
                continue
            assert after[dossier_id][2] == state[2] + 1  # version
            assert after[dossier_id][-1] == state[-1] + 1  # one more history record
            record = self.session.scalars(
                select(StepRecord)
                .where(StepRecord.dossier_id == dossier_id)
                .order_by(StepRecord.id.desc())
            ).first()
            assert record.user_id == user.id
            assert record.outcome == workflow.OUTCOMES[done[dossier_id]]

    # --- rules ----------------------------------------------------------------------------------

    @rule(index=dossier_index, who=person, action=st.sampled_from(ACTIONS), text=note,
          stale=st.booleans())  # fmt: skip
    def act(self, index, who, action, text, stale):
        """Anyone tries anything, sometimes from a page loaded before the last change."""
        dossier = self.dossier(index)
        user = self.users[who]
        seen = dossier.version - 1 if stale and dossier.version > 1 else None
        before = self.dossiers()
        try:
            CALLS[action](dossier, user, text, seen_version=seen)
        except workflow.WorkflowError:
            self.check_attempt(before, {}, user)
        else:
            assert seen is None, "acted on a stale page"
            self.check_attempt(before, {dossier.id: action}, user)

    @rule(
        index=dossier_index,
        steps=st.sampled_from(range(1, 10)),
        decisions=st.lists(st.booleans(), min_size=9, max_size=9),
    )
    def proceed(self, index, steps, decisions):
        """The right people take a few proper steps (returning when a decision says so)."""
        for n in range(steps):
            dossier = self.dossier(index)
            step = dossier.current_step
            if step is None:
                return
            if "iku_content" in step.requirements and not dossier.objectives:
                fill_iku(dossier)
            if "outgoing_agenda_number" in step.requirements:
                self.register_letter(index)
                dossier = self.dossier(index)
            last = dossier.records[-1].user_id if dossier.records else None
            user = next(
                u for u in self.users.values()
                if step.role_id in self.roles_of[u.id] and (step.kind == "task" or u.id != last)
            )  # fmt: skip
            back = step.kind == "review" and decisions[n]
            action = "return" if back else ("approve" if step.kind == "review" else "complete")
            try:
                CALLS[action](dossier, user, "Perbaiki" if back else "")
            except workflow.WorkflowError:
                return  # e.g. a target was removed: Kelengkapan refuses (invariants check it)

    @rule(who=person, action=st.sampled_from(ACTIONS), text=note, stale=st.booleans(),
          picks=st.lists(dossier_index, min_size=1, max_size=DOSSIERS))  # fmt: skip
    def bulk(self, who, action, text, picks, stale):
        """A bulk action over some dossiers, each with the version "the list" showed."""
        user = self.users[who]
        before = self.dossiers()
        ids = [self.ids[i] for i in picks]
        seen = {i: before[i][2] - (1 if stale else 0) for i in ids}
        result = workflow.bulk(action, ids, user, text, seen)
        assert set(result.done) | set(result.skipped) == set(ids)
        assert not set(result.done) & set(result.skipped)
        assert not (stale and result.done)
        self.check_attempt(before, dict.fromkeys(result.done, action), user)

    @rule(index=dossier_index)
    def remove_a_target(self, index):
        """Drafting goes on while allowed: a target is removed (Kelengkapan then refuses)."""
        dossier = self.dossier(index)
        try:
            workflow.ensure_content_editable(dossier)
        except workflow.WorkflowError:
            return
        target = self.session.scalars(
            select(IndicatorTarget)
            .join(Indicator)
            .join(StrategicObjective)
            .where(StrategicObjective.dossier_id == dossier.id)
            .limit(1)
        ).first()
        if target is not None:
            self.session.delete(target)
            self.session.commit()

    @rule(index=dossier_index)
    def change_period(self, index):
        """The period may change until the content is approved; finished steps move with it."""
        dossier = self.dossier(index)
        dossier.period_end = 4059 - dossier.period_end  # 2030 <-> 2029
        try:
            workflow.ensure_dossier_editable(dossier)
        except workflow.WorkflowError:
            self.session.rollback()
            return
        self.session.commit()

    @rule(index=dossier_index)
    def register_letter(self, index):
        dossier = self.dossier(index)
        try:
            workflow.ensure_dossier_editable(dossier)
        except workflow.WorkflowError:
            return
        dossier.outgoing_agenda_number = f"050/{dossier.id}/2026"
        dossier.distribution_record = "Bappeda"
        self.session.commit()

    # --- invariants -------------------------------------------------------------------------------

    def teardown(self):
        """Count the examples that got somewhere (the test checks it was not vacuous)."""
        REACHED["examples"] += 1
        REACHED["with a return"] += any(row[6] == "returned" for row in self.records.values())
        REACHED["with a finished dossier"] += bool(self.finished)

    @invariant()
    def totals_match_the_history(self):
        assert_totals_match_history(self.session.connection())

    @invariant()
    def history_follows_the_sop_and_nothing_is_lost(self):
        rows = self.session.execute(select(*RECORD_COLUMNS).order_by(StepRecord.id)).all()
        current = {row[0]: row for row in rows}
        for record_id, row in self.records.items():  # records are never lost nor altered
            assert current.get(record_id) == row, record_id
        self.records = current
        dossiers = self.dossiers()
        history = {dossier_id: [] for dossier_id in dossiers}
        for row in rows:
            history[row[1]].append(row)
        for dossier_id, records in history.items():
            position, last_user, rounds = min(self.by_position), None, 0
            for _id, _d, step_id, pos, user_id, role_id, outcome, note, _v, sop_v in records:
                step = self.steps[step_id]
                assert position is not None, "a record after the end"
                assert pos == step.position == position
                assert role_id == step.role_id and role_id in self.roles_of[user_id]
                assert sop_v == 1
                if step.kind == "review":
                    assert outcome in ("approved", "returned") and user_id != last_user
                else:
                    assert outcome == "done"
                if outcome == "returned":
                    assert note.strip()
                    rounds += 1
                    position = step.return_to.position
                else:
                    later = [p for p in self.by_position if p > position]
                    position = min(later) if later else None
                last_user = user_id
            state = dossiers[dossier_id]
            step_id, status, _version, revision_round, _at, count = state
            assert count == len(records) and revision_round == rounds
            if position is None:
                assert status == "done" and step_id is None
                # Finished dossiers never change again.
                assert self.finished.setdefault(dossier_id, state) == state
            else:
                assert status == "in_progress" and self.steps[step_id].position == position


@contextmanager
def fast_commits(db):
    """Commit without waiting for the disk: this test is about logic, not durability."""
    off, on = {
        "sqlite": ("PRAGMA synchronous = OFF", "PRAGMA synchronous = FULL"),
        "postgresql": ("SET synchronous_commit = off", "RESET synchronous_commit"),
    }[db.engine.dialect.name]
    db.session.execute(text(off))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(text(on))
        db.session.commit()


def test_random_actions_never_break_the_workflow(db, people):
    make_user("ganda", "staf", "sekretaris", full_name="Pegawai Ganda")
    REACHED.clear()
    with fast_commits(db):
        run_state_machine_as_test(
            lambda: WorkflowMachine(db),
            settings=settings(
                max_examples=200,
                stateful_step_count=7,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    # The machine did get somewhere: drafts were returned, dossiers were finished.
    assert REACHED["examples"] >= 200
    assert REACHED["with a return"] >= 5 and REACHED["with a finished dossier"] >= 5, REACHED
