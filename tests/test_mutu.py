"""The Mutu Baku numbers (``iku_admin.mutu``) against a small hand-built history.

Office time is WIB (UTC+7). The SOP is the seed's: standard minutes per step
1: 10, 2: 20, 3: 450, 4: 450, 5: 30, 6: 30, 7: 450, 8: 5, 9: 15 (total 1,460).

Dossiers (period 2026–2030 unless noted):
  F1  done 10 Mar 2026, rounds 0; records 1: 5, 2: 10, 3: 100, 5: 30        (sum 145)
  F2  done 10 Apr 2026, period 2025–2029, rounds 1;
      records 1: 10, 3: 1100, 5: 31, 3: 500                                   (sum 1,641)
  O1  open at step 4 (staf), due Tue 5 May 14:00, rounds 2; records 1: 20, 3: 200, 300, 400
  O2  open at step 3 (tim SAKIP), due Wed 6 May 12:00; records 1: 40, 3: 600 … 1000
  O3  open at step 1 (kepala dinas), due Wed 6 May 15:00 (not yet due); no record
  O4  open at step 3, registered Dec 2025, period 2025–2029, due Fri 8 May; record 1: 1000
      finished Dec 2025
"Now" is Wednesday 6 May 2026 14:00 WIB.
Percentiles are compared with ``approx``: PostgreSQL's ``percentile_cont`` computes in
floating point (40 + 0.6 * 960 = 616.0000000000001).
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from conftest import make_user
from flask_babel import force_locale
from pytest import approx
from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from iku_admin import mutu
from iku_admin.calendar import WorkingCalendar
from models import Dossier, Sop, SopStep, StepRecord

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 5, 6, 14, 0, tzinfo=WIB)
CAL = WorkingCalendar()


def wib(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=WIB)


class History:
    """Inserts dossiers and step records with Core, with full control of every value."""

    def __init__(self, session, people):
        self.session = session
        self.people = people
        self.steps = {s.position: s for s in session.scalars(select(SopStep))}
        self.sop = session.scalar(select(Sop))
        self.versions: dict[int, count] = {}

    def dossier(self, title, *, at=None, status="in_progress", due=None, created=None,
                finished=None, rounds=0, period=(2026, 2030)) -> int:  # fmt: skip
        step = self.steps[at] if at else None
        dossier_id = self.session.scalar(
            insert(Dossier)
            .values(
                title=title, period_start=period[0], period_end=period[1],
                letter_number="050/1", letter_date=date(2026, 1, 5), letter_sender="Bappeda",
                letter_subject="IKU", sop_id=self.sop.id, current_step_id=step and step.id,
                status=status, revision_round=rounds, created_at=created or wib(3, 2),
                step_started_at=wib(5, 4), step_due_at=due, finished_at=finished,
            )
            .returning(Dossier.id)
        )  # fmt: skip
        self.versions[dossier_id] = count(1)
        mutu.rebuild_totals(self.session.connection())  # this dossier bypassed the workflow
        return dossier_id

    def records(self, dossier_id, *rows, finished=None) -> None:
        """Rows are (position, username, working minutes)."""
        values = []
        for position, username, minutes in rows:
            step, user = self.steps[position], self.people[username]
            values.append({
                "dossier_id": dossier_id, "dossier_version": next(self.versions[dossier_id]),
                "step_id": step.id, "position": position, "user_id": user.id,
                "role_id": step.role_id, "outcome": "done", "note": "",
                "started_at": (finished or wib(5, 6)), "finished_at": finished or wib(5, 6),
                "working_minutes": minutes, "standard_minutes": step.standard_minutes,
                "sop_version": 1,
            })  # fmt: skip
        self.session.execute(insert(StepRecord), values)
        mutu.rebuild_totals(self.session.connection())  # these records bypass the workflow


@pytest.fixture
def history(db, people):
    h = History(db.session, people)
    f1 = h.dossier("F1", status="done", finished=wib(3, 10))
    h.records(f1, (1, "kadis", 5), (2, "sekretaris", 10), (3, "timsakip", 100),
              (5, "sekretaris", 30), finished=wib(3, 9))  # fmt: skip
    f2 = h.dossier("F2", status="done", finished=wib(4, 10), rounds=1, period=(2025, 2029),
                   created=wib(4, 1))  # fmt: skip
    h.records(f2, (1, "kadis", 10), (3, "timsakip", 1100), (5, "sekretaris", 31),
              (3, "timsakip", 500), finished=wib(4, 9))  # fmt: skip
    o1 = h.dossier("O1", at=4, due=wib(5, 5, 14), rounds=2, created=wib(5, 4))
    h.records(o1, (1, "kadis", 20), (3, "timsakip", 200), (3, "timsakip", 300),
              (3, "timsakip", 400))  # fmt: skip
    o2 = h.dossier("O2", at=3, due=wib(5, 6, 12), created=wib(5, 5))
    h.records(o2, (1, "kadis", 40), *((3, "timsakip", m) for m in (600, 700, 800, 900, 1000)))
    h.dossier("O3", at=1, due=wib(5, 6, 15), created=wib(6, 1))
    o4 = h.dossier("O4", at=3, due=wib(5, 8), created=wib(12, 1, year=2025), period=(2025, 2029))
    h.records(o4, (1, "kadis", 1000), finished=wib(12, 2, year=2025))
    db.session.commit()
    return h


def measure(db, **scope):
    return mutu.dashboard(db.session, mutu.Scope.of(**scope), CAL, now=NOW)


def by_position(data) -> dict[int, mutu.StepStats]:
    return {step.position: step for step in data.steps}


def test_dossiers_now_at_each_step_and_overdue(db, history):
    steps = by_position(measure(db))
    assert [(p, s.open, s.overdue) for p, s in steps.items() if s.open] == [
        (1, 1, 0),  # O3, due 15:00: not yet
        (3, 2, 1),  # O2 overdue, O4 due Friday
        (4, 1, 1),  # O1 overdue
    ]
    assert sum(s.open for s in steps.values()) == 4


def test_overdue_list_longest_overdue_first_in_working_minutes(db, history):
    data = measure(db)
    assert [(o.title, o.position, o.late_minutes) for o in data.overdue] == [
        # due Tue 14:00: Tue 14:00-16:00 (120) + Wed 07:30-12:00 (270) + 13:00-14:00 (60)
        ("O1", 4, 450),
        # due Wed 12:00: the break 12:00-13:00 does not count, 13:00-14:00 does
        ("O2", 3, 60),
    ]
    assert data.overdue_total == 2
    assert [o.title for o in mutu.dashboard(db.session, mutu.Scope(), CAL, NOW, 1).overdue] == [
        "O1"
    ]


def test_median_p90_and_share_within_standard(db, history):
    steps = by_position(measure(db, year=2026))
    # step 1 in 2026: 5, 10, 20, 40 -> median (10 + 20) / 2; p90 at index 2.7: 20 + 0.7 * 20
    assert (steps[1].finished, steps[1].within, steps[1].median, steps[1].p90) == approx(
        (4, 2, 15, 34)
    )
    # step 3: 100 … 1100 (11 values) -> median index 5, p90 index 9; 100-400 within 450
    assert (steps[3].finished, steps[3].within, steps[3].median, steps[3].p90) == approx(
        (11, 4, 600, 1000)
    )
    # step 5: 30, 31 -> median 30.5, p90 at index 0.9: 30.9; only 30 is within 30
    assert steps[5].median == approx(30.5)
    assert steps[5].p90 == approx(30.9)
    assert steps[5].share == 0.5
    assert (steps[2].finished, steps[2].share, steps[2].median) == approx((1, 1.0, 10))
    assert (steps[4].finished, steps[4].share, steps[4].median) == (0, None, None)
    assert [(s.position, s.standard_minutes) for s in steps.values()] == [
        (1, 10), (2, 20), (3, 450), (4, 450), (5, 30), (6, 30), (7, 450), (8, 5), (9, 15)
    ]  # fmt: skip


def test_year_filter_uses_finish_time_and_registration_time(db, history):
    everything = by_position(measure(db))
    # with O4's 2025 record: 5, 10, 20, 40, 1000 -> median 20, p90 at 3.6: 40 + 0.6 * 960
    assert (everything[1].finished, everything[1].median, everything[1].p90) == approx((5, 20, 616))
    in_2026 = by_position(measure(db, year=2026))
    assert in_2026[3].open == 1  # O4 was registered in 2025
    in_2025 = by_position(measure(db, year=2025))
    assert (in_2025[1].finished, in_2025[1].median, in_2025[3].open) == approx((1, 1000, 1))
    assert measure(db, year=2027).steps[0].finished == 0


def test_half_year_scope_in_office_time(app):
    first = mutu.Scope.of(2026, 1)
    assert (first.since, first.until) == (datetime(2026, 1, 1, tzinfo=WIB),
                                          datetime(2026, 7, 1, tzinfo=WIB))  # fmt: skip
    second = mutu.Scope.of(2026, 2)
    assert (second.since, second.until) == (datetime(2026, 7, 1, tzinfo=WIB),
                                            datetime(2027, 1, 1, tzinfo=WIB))  # fmt: skip
    assert mutu.current_half(date(2026, 7, 1)) == (2026, 2)
    assert mutu.current_half(date(2026, 6, 30)) == (2026, 1)


def test_a_step_counts_in_the_half_year_of_office_time(app):
    from models import half_year

    # 30 June 20:00 UTC is already 1 July in Jakarta.
    assert half_year(datetime(2026, 6, 30, 20, tzinfo=ZoneInfo("UTC"))) == (2026, 2)
    assert half_year(datetime(2026, 6, 30, 16, 59, tzinfo=ZoneInfo("UTC"))) == (2026, 1)


def test_period_filter(db, history):
    data = measure(db, period=(2025, 2029))
    steps = by_position(data)
    assert (steps[1].finished, steps[1].median) == approx((2, 505))  # F2: 10, O4: 1000
    assert steps[3].open == 1  # O4
    assert [c.title for c in data.cycles.latest] == ["F2"]
    assert data.revisions == [(0, 1), (1, 1)]


def test_revision_rounds_distribution(db, history):
    # rounds: F1 0, F2 1, O1 2, O2 0, O3 0, O4 0
    assert measure(db).revisions == [(0, 4), (1, 1), (2, 1)]
    assert measure(db, year=2027).revisions == []


def test_workload_per_role_and_person(db, history):
    data = measure(db)
    roles = {w.name: (w.waiting, w.finished, w.minutes) for w in data.roles}
    assert roles == {
        "Tim SAKIP": (2, 11, 6600),  # 100 + 200 + … + 1100
        "Kepala Dinas": (1, 5, 1075),  # 5 + 10 + 20 + 40 + 1000
        "Staf": (1, 0, 0),
        "Sekretaris": (0, 3, 71),  # 10 + 30 + 31
    }
    # busiest first: most open steps waiting, then most finished
    assert [(w.name, w.waiting, w.finished) for w in data.people] == [
        ("Tim SAKIP", 2, 11), ("Kepala Dinas", 1, 5), ("Staf", 1, 0), ("Sekretaris", 0, 3)
    ]  # fmt: skip


def test_a_person_with_two_roles_waits_for_both(db, history):
    make_user("rangkap", "staf", "tim_sakip", full_name="Rangkap")
    people = {w.name: w.waiting for w in measure(db).people}
    assert people["Rangkap"] == 3  # O1 at step 4 (staf), O2 and O4 at step 3 (tim SAKIP)


def test_cycle_time_against_the_sop_total(db, history):
    data = measure(db)
    assert data.sop.total_minutes == 1460
    cycles = data.cycles
    assert [(c.title, c.minutes, c.standard) for c in cycles.latest] == [
        ("F2", 1641, 1460),  # finished last, first in the list
        ("F1", 145, 1460),
    ]
    # median (145 + 1641) / 2; p90 145 + 0.9 * 1496
    assert (cycles.count, cycles.within, cycles.median) == approx((2, 1, 893))
    assert cycles.p90 == approx(1491.4)
    assert cycles.share == 0.5


def test_empty_database_gives_zeros_not_errors(db):
    data = mutu.dashboard(db.session, mutu.Scope(), CAL, now=NOW)
    assert [s.position for s in data.steps] == list(range(1, 10))
    assert (data.open_total, data.overdue_total, data.overdue, data.revisions) == (0, 0, [], [])
    assert (data.roles, data.people, data.cycles.count, data.cycles.median) == ([], [], 0, None)


def test_evaluation_prefill(db, history):
    with force_locale("en"):
        sop, rows = mutu.evaluation(db.session, mutu.Scope.of(2026, 1))
    assert sop.number == "503/2021/DPM PTSP"
    rows = {row.position: row for row in rows}
    # step 2: its one record (10 of 20 minutes) is within the standard -> runs well
    assert rows[2].runs_well is True
    assert "100%" in rows[2].note and "10" in rows[2].note
    assert rows[2].action == "Keep the current practice."
    # step 1: 2 of 4 within (50% < 80%) -> does not run well; step 3: 4 of 11
    assert (rows[1].runs_well, rows[3].runs_well) == (False, False)
    assert "median 15 " in rows[1].note
    assert rows[1].action.startswith("Find the causes")
    # step 4: nothing finished in the half-year -> no judgement
    assert rows[4].runs_well is None
    assert rows[4].note == "No dossier finished this step in the period."
    # the second half of 2026 has no record at all
    _, later = mutu.evaluation(db.session, mutu.Scope.of(2026, 2))
    assert {row.runs_well for row in later} == {None}


def test_good_share_threshold_is_inclusive(app):
    step = mutu.StepStats(1, "x", standard_minutes=10, finished=5, within=4, median=9, p90=12)
    assert mutu.assess(step).runs_well is True  # 4 / 5 = 80 %
    step.within = 3
    assert mutu.assess(step).runs_well is False


def test_statements_do_not_grow_with_records(db, history, app):
    from conftest import StatementCounter

    with StatementCounter(db.engine) as few:
        measure(db)
    o3 = db.session.scalar(select(Dossier.id).where(Dossier.title == "O3"))
    history.records(o3, *((3, "timsakip", m) for m in range(50)))
    for n in range(30):
        history.dossier(f"X{n}", at=2, due=wib(5, 1))
    db.session.commit()
    with StatementCounter(db.engine) as many:
        data = measure(db)
    assert by_position(data)[3].finished == 61
    assert few.count == many.count


def test_waiting_and_due_cells(db, history, app):
    o1, o3 = (
        db.session.get(Dossier, db.session.scalar(select(Dossier.id).where(Dossier.title == t)))
        for t in ("O1", "O3")
    )
    with app.test_request_context(), force_locale("en"):
        late = mutu.waiting_cell(o1, CAL, NOW)
        # started Mon 4 May 10:00: Mon 10:00-16:00 (300) + Tue 450 + Wed 07:30-14:00 (330)
        assert late.startswith("1,080 / 450 min")
        # the overdue mark is in the due column
        late_minutes = mutu.overdue_minutes([o1, o3], NOW, CAL)
        assert set(late_minutes) == {o1.id}
        assert "late by" in mutu.due_cell(o1, late_minutes.get(o1.id))
        assert "late by" not in mutu.due_cell(o3, late_minutes.get(o3.id))


def test_waiting_formatter_reads_the_calendar_once_per_request(db, history, app):
    from conftest import StatementCounter

    dossiers = db.session.scalars(
        select(Dossier).options(selectinload(Dossier.current_step)).order_by(Dossier.title)
    ).all()
    with app.test_request_context(), force_locale("en"), StatementCounter(db.engine) as counter:
        cells = [str(mutu.waiting_formatter(None, None, d, "waiting")) for d in dossiers]
    assert counter.count == 2  # the calendar (its office hours, its days), for the whole page
    # F1 and F2 are done; O1 waits at step 4, O2 at step 3, O3 at step 1, O4 at step 3
    assert [cell.split(" ")[1:4] for cell in cells] == [
        [], [], ["/", "450", "min"], ["/", "450", "min"], ["/", "10", "min"],
        ["/", "450", "min"],
    ]  # fmt: skip
