"""Mutu Baku: every SOP step measured against its standard time.

The numbers behind the quality dashboard and the SOP evaluation form (Formulir Monitoring dan
Evaluasi SOP, PermenPAN-RB 35/2012). The finished steps are read from totals of the
history (``models.summary``), which the workflow keeps in the same transaction as each
history record; percentiles come exactly from counts of each number of minutes; dossiers
are counted per current step in the same way. The number of statements is fixed:
it does not grow with the number of dossiers or records. No request context inside, except
the dossier list's column formatter at the end.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g
from markupsafe import Markup
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import (
    ALL_TIME,
    CYCLE,
    FINISHED,
    Dossier,
    DossierTotal,
    MinutesCount,
    Procedure,
    Role,
    Sop,
    SopStep,
    StepRecord,
    StepTotal,
    User,
    half_year,
    user_role,
    utcnow,
)

from .calendar import MINUTES_PER_DAY, WorkingCalendar
from .extensions import db
from .i18n import _, fmt_date, fmt_number

#: A step "runs well" (berjalan baik) when at least this share finished within its standard.
GOOD_SHARE = 0.8
#: The percentiles shown per step: the median and the 90th percentile.
PERCENTS = (50, 90)


# --- What to measure --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which history to measure: a procedure's (``Procedure.id``; None: every procedure), in
    a calendar year or half of it (1: January–June, 2: July–December) in office time, and/or
    of the dossiers of an IKU period.

    The year applies to when a step or dossier finished (records, cycle times) and to when a
    dossier was registered (dossiers open now, revision rounds).
    """

    year: int | None = None
    half: int | None = None
    period: tuple[int, int] | None = None
    tz: str = "Asia/Jakarta"
    procedure: int | None = None

    @classmethod
    def of(
        cls,
        year: int | None = None,
        half: int | None = None,
        period: tuple[int, int] | None = None,
        tz: str = "Asia/Jakarta",
        procedure: int | None = None,
    ) -> Scope:
        return cls(year, half if year is not None else None, period, tz, procedure)

    def resolved(self, session: Session) -> Scope:
        """The scope with its procedure filled in (the default one when none is given): one
        procedure's history is never mixed with another's."""
        if self.procedure is not None:
            return self
        return replace(self, procedure=Procedure.default_id(session))

    @property
    def since(self) -> datetime | None:
        """The first moment of the scope, in office time (None: no limit)."""
        if self.year is None:
            return None
        return datetime(self.year, 7 if self.half == 2 else 1, 1, tzinfo=ZoneInfo(self.tz))

    @property
    def until(self) -> datetime | None:
        """The first moment after the scope."""
        if self.year is None:
            return None
        if self.half == 1:
            return datetime(self.year, 7, 1, tzinfo=ZoneInfo(self.tz))
        return datetime(self.year + 1, 1, 1, tzinfo=ZoneInfo(self.tz))

    def window(self, column) -> list[ColumnElement[bool]]:
        """The scope's time window on a timestamp column."""
        if self.year is None:
            return []
        return [column >= self.since, column < self.until]

    def of_dossiers(self) -> list[ColumnElement[bool]]:
        """The scope's procedure and period on the dossier table."""
        conditions = []
        if self.procedure is not None:
            conditions.append(Dossier.sop_id.in_(select(Sop.id).where(
                Sop.procedure_id == self.procedure)))  # fmt: skip
        if self.period is not None:
            conditions += [Dossier.period_start == self.period[0],
                           Dossier.period_end == self.period[1]]  # fmt: skip
        return conditions

    def totals(self, table) -> list[ColumnElement[bool]]:
        """The scope on a totals table. ``MinutesCount`` also holds every count under
        ``ALL_TIME`` (year 0), which a scope without a year reads instead of every year."""
        conditions = []
        if self.year is not None:
            conditions.append(table.year == self.year)
        elif table is MinutesCount:
            conditions += [table.year == ALL_TIME[0], table.half == ALL_TIME[1]]
        if self.half is not None:
            conditions.append(table.half == self.half)
        if self.procedure is not None:
            conditions.append(table.procedure_id == self.procedure)
        if self.period is not None:
            conditions += [table.period_start == self.period[0],
                           table.period_end == self.period[1]]  # fmt: skip
        return conditions


# --- Results ----------------------------------------------------------------------------------


@dataclass
class SopInfo:
    """The SOP version the measurements are laid against (the active one)."""

    name: str
    number: str
    version: int
    total_minutes: int


@dataclass
class StepStats:
    """One SOP step: dossiers at it now, and how long its finished records took."""

    position: int
    activity: str = ""
    role: str = ""
    standard_minutes: int = 0
    open: int = 0
    overdue: int = 0
    finished: int = 0
    within: int = 0
    median: float | None = None
    p90: float | None = None

    @property
    def share(self) -> float | None:
        """Share of finished records that took no longer than their standard time."""
        return self.within / self.finished if self.finished else None


@dataclass
class Workload:
    """What a role or a person finished in the scope, and how many open steps wait on them."""

    name: str
    finished: int = 0
    minutes: int = 0
    waiting: int = 0


@dataclass
class OverdueDossier:
    """An open dossier whose current step is past its due time."""

    id: int
    title: str
    position: int
    activity: str
    role: str
    started_at: datetime
    due_at: datetime
    late_minutes: int


@dataclass
class CycleTime:
    """A finished dossier: the working minutes of all its records against its SOP's total."""

    id: int
    title: str
    finished_at: datetime
    minutes: int
    standard: int


@dataclass
class Cycles:
    """Cycle times of the finished dossiers in the scope, with the latest ones listed."""

    count: int = 0
    within: int = 0
    median: float | None = None
    p90: float | None = None
    latest: list[CycleTime] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return self.within / self.count if self.count else None


@dataclass
class Dashboard:
    sop: SopInfo | None
    steps: list[StepStats]
    overdue: list[OverdueDossier]
    revisions: list[tuple[int, int]]
    roles: list[Workload]
    people: list[Workload]
    cycles: Cycles

    @property
    def open_total(self) -> int:
        return sum(step.open for step in self.steps)

    @property
    def overdue_total(self) -> int:
        return sum(step.overdue for step in self.steps)


@dataclass
class EvaluationRow:
    """One step of the SOP evaluation form, prefilled from the measurements."""

    position: int
    activity: str
    runs_well: bool | None
    note: str
    action: str


# --- Overdue: one definition for every screen --------------------------------------------------


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """What "overdue" means everywhere (dashboard, dossier list, "Tugas Saya", evaluation
    form): an open dossier whose current step's due time (``step_due_at``, worked out on the
    working calendar when the step became current) has passed."""
    return and_(Dossier.status == "in_progress", Dossier.step_due_at < now)


def is_overdue(dossier: Dossier, now: datetime) -> bool:
    """``overdue_condition`` for a dossier already read (a list's row): the same rule."""
    return (
        dossier.status == "in_progress"
        and dossier.step_due_at is not None
        and dossier.step_due_at < now
    )


def on_time_condition(now: datetime) -> ColumnElement[bool]:
    """The open dossiers that ``overdue_condition`` leaves out (exactly its complement among
    them; a dossier without a due time is not overdue)."""
    return and_(Dossier.status == "in_progress",
                or_(Dossier.step_due_at >= now, Dossier.step_due_at.is_(None)))  # fmt: skip


def overdue_minutes(
    dossiers: list[Dossier], now: datetime, calendar: WorkingCalendar
) -> dict[int, int]:
    """Which of these dossiers (already read) are overdue, and by how many working minutes."""
    return {
        d.id: calendar.working_minutes(d.step_due_at, now) for d in dossiers if is_overdue(d, now)
    }


def duration_text(minutes: int) -> str:
    """Working time in words: "1 hari 2 jam 15 menit" (a day is a working day of 450
    minutes)."""
    days, rest = divmod(max(int(minutes), 0), MINUTES_PER_DAY)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)s d", n=days))
    if hours:
        parts.append(_("%(n)s h", n=hours))
    if mins or not parts:
        parts.append(_("%(n)s min", n=mins))
    return " ".join(parts)


def late_text(minutes: int) -> str:
    """How late, in words: "terlambat 2 jam 15 menit"."""
    return _("late by %(time)s", time=duration_text(minutes))


# --- Queries ----------------------------------------------------------------------------------


@dataclass
class Distribution:
    """How many took how long: from ``MinutesCount``, for one step or for whole dossiers."""

    count: int = 0
    within: int = 0
    values: list[tuple[int, int]] = field(default_factory=list)  # (minutes, how many), sorted

    def add(self, minutes: int, standard: int, tally: int) -> None:
        self.count += tally
        if minutes <= standard:
            self.within += tally
        if self.values and self.values[-1][0] == minutes:
            self.values[-1] = (minutes, self.values[-1][1] + tally)
        else:
            self.values.append((minutes, tally))

    def _nth(self, index: int) -> int:
        for minutes, tally in self.values:
            if index < tally:
                return minutes
            index -= tally
        raise IndexError(index)

    def percentile(self, p: int) -> float | None:
        """The p-th percentile with linear interpolation (as PostgreSQL's percentile_cont)."""
        if not self.count:
            return None
        low, rest = divmod(p * (self.count - 1), 100)  # in integers: no rounding error
        value = self._nth(low)
        if rest:
            return value + (self._nth(low + 1) - value) * rest / 100
        return float(value)


def _distributions(session: Session, scope: Scope) -> dict[int, Distribution]:
    """Working minutes per step position (and ``CYCLE`` for whole dossiers) in the scope."""
    found: dict[int, Distribution] = defaultdict(Distribution)
    rows = session.connection().execute(
        select(MinutesCount.position, MinutesCount.minutes, MinutesCount.standard_minutes,
               func.sum(MinutesCount.tally))
        .where(*scope.totals(MinutesCount), MinutesCount.tally != 0)
        .group_by(MinutesCount.position, MinutesCount.minutes, MinutesCount.standard_minutes)
        .order_by(MinutesCount.position, MinutesCount.minutes, MinutesCount.standard_minutes)
    )  # fmt: skip
    for position, minutes, standard, tally in rows:
        if tally:
            found[position].add(minutes, standard, tally)
    return found


def _reference(
    session: Session, procedure: int | None
) -> tuple[SopInfo | None, dict[int, StepStats]]:
    """The steps of the procedure's active SOP version, by position (one query)."""
    active = (
        select(Sop.id).where(Sop.status == "active", Sop.procedure_id == procedure)
        .order_by(Sop.version.desc(), Sop.id.desc()).limit(1).scalar_subquery()
    )  # fmt: skip
    rows = session.execute(
        select(Sop.name, Sop.number, Sop.version, SopStep.position, SopStep.activity,
               SopStep.standard_minutes, Role.name)
        .join(SopStep, SopStep.sop_id == Sop.id)
        .join(Role, Role.id == SopStep.role_id)
        .where(Sop.id == active)
        .order_by(SopStep.position)
    ).all()  # fmt: skip
    steps = {
        position: StepStats(position, activity, role, minutes)
        for _name, _number, _version, position, activity, minutes, role in rows
    }
    if not rows:
        return None, steps
    name, number, version = rows[0][:3]
    return SopInfo(name, number, version, sum(s.standard_minutes for s in steps.values())), steps


def _add_finished(
    session: Session,
    scope: Scope,
    steps: dict[int, StepStats],
    roles: dict[int, Workload],
    people: dict[int, Workload],
    found: dict[int, Distribution],
) -> None:
    """Finished steps per step, role and person, with each step's share within the
    standard and percentiles."""
    totals = (
        select(StepTotal.position, StepTotal.role_id, StepTotal.user_id,
               func.sum(StepTotal.finished).label("n"), func.sum(StepTotal.minutes).label("m"))
        .where(*scope.totals(StepTotal))
        .group_by(StepTotal.position, StepTotal.role_id, StepTotal.user_id)
        .subquery()
    )  # fmt: skip
    # Names are joined to the few grouped rows.
    rows = session.execute(
        select(totals.c.position, Role.id, Role.name, User.id, User.full_name, totals.c.n,
               totals.c.m)
        .join(Role, Role.id == totals.c.role_id)
        .join(User, User.id == totals.c.user_id)
        .where(totals.c.n != 0)
    )  # fmt: skip
    for position, role_id, role, user_id, person, count, minutes in rows:
        steps.setdefault(position, StepStats(position)).finished += count
        for key, name, table in ((role_id, role, roles), (user_id, person, people)):
            load = table.setdefault(key, Workload(name))
            load.finished += count
            load.minutes += minutes
    for position, dist in found.items():
        if position != CYCLE:
            step = steps.setdefault(position, StepStats(position))
            step.within = dist.within
            step.median, step.p90 = (dist.percentile(p) for p in PERCENTS)


def _open_dossiers(stmt: Select, scope: Scope) -> Select:
    return stmt.where(Dossier.status == "in_progress", *scope.window(Dossier.created_at),
                      *scope.of_dossiers())  # fmt: skip


def _add_open(
    session: Session,
    scope: Scope,
    now: datetime,
    steps: dict[int, StepStats],
    roles: dict[int, Workload],
    people: dict[int, Workload],
) -> None:
    """Open dossiers per current step and role, from the totals; overdue ones are the open
    ones less those not yet due (read from the due-time index: the dossiers not yet due are
    the few that move, however many are late). Each holder of a role has all of that role's
    open steps waiting (one query for who holds which role)."""
    not_due = dict(
        session.execute(
            _open_dossiers(select(Dossier.current_step_id, func.count()), scope)
            .where(on_time_condition(now))
            .group_by(Dossier.current_step_id)
        ).all()
    )
    totals = (
        select(DossierTotal.step_id, func.sum(DossierTotal.dossiers).label("n"))
        .where(DossierTotal.step_id != FINISHED, *scope.totals(DossierTotal))
        .group_by(DossierTotal.step_id)
        .subquery()
    )
    rows = session.execute(
        select(SopStep.id, SopStep.position, Role.id, Role.name, totals.c.n)
        .join(SopStep, SopStep.id == totals.c.step_id)
        .join(Role, Role.id == SopStep.role_id)
        .where(totals.c.n != 0)
    )  # fmt: skip
    waiting: dict[int, int] = defaultdict(int)
    for step_id, position, role_id, role, count in rows:
        step = steps.setdefault(position, StepStats(position))
        step.open += count
        step.overdue += count - not_due.get(step_id, 0)
        roles.setdefault(role_id, Workload(role)).waiting += count
        waiting[role_id] += count
    holders = session.execute(
        select(User.id, User.full_name, user_role.c.role_id)
        .join(user_role, user_role.c.user_id == User.id)
        .where(User.active)
    )
    for user_id, person, role_id in holders:
        if waiting.get(role_id):
            people.setdefault(user_id, Workload(person)).waiting += waiting[role_id]


def _overdue(
    session: Session, scope: Scope, now: datetime, calendar: WorkingCalendar, limit: int
) -> list[OverdueDossier]:
    """Open dossiers past their step's due time, the longest overdue first."""
    rows = session.execute(
        _open_dossiers(
            select(Dossier.id, Dossier.title, SopStep.position, SopStep.activity, Role.name,
                   Dossier.step_started_at, Dossier.step_due_at)
            .join(SopStep, SopStep.id == Dossier.current_step_id)
            .join(Role, Role.id == SopStep.role_id)
            .where(overdue_condition(now)),
            scope,
        ).order_by(Dossier.step_due_at, Dossier.id).limit(limit)
    )  # fmt: skip
    return [
        OverdueDossier(*row, late_minutes=calendar.working_minutes(row.step_due_at, now))
        for row in rows
    ]


def _revisions(session: Session, scope: Scope) -> list[tuple[int, int]]:
    """How many dossiers went through 0, 1, 2, … revision rounds (gaps filled with 0)."""
    counts = dict(
        session.execute(
            select(DossierTotal.revision_round, func.sum(DossierTotal.dossiers))
            .where(*scope.totals(DossierTotal))
            .group_by(DossierTotal.revision_round)
            .having(func.sum(DossierTotal.dossiers) != 0)
        ).all()
    )
    return [(rounds, counts.get(rounds, 0)) for rounds in range(max(counts, default=-1) + 1)]


def _cycles(session: Session, scope: Scope, limit: int, found: Distribution) -> Cycles:
    """Finished dossiers: their working minutes against their SOP's total."""
    result = Cycles(found.count, found.within, *(found.percentile(p) for p in PERCENTS))
    if not result.count:
        return result
    totals = _sop_totals()
    rows = session.execute(
        select(Dossier.id, Dossier.title, Dossier.finished_at, Dossier.cycle_minutes,
               totals.c.total)
        .join(totals, totals.c.sop_id == Dossier.sop_id)
        .where(Dossier.status == "done", *scope.window(Dossier.finished_at), *scope.of_dossiers())
        .order_by(Dossier.finished_at.desc(), Dossier.id.desc())
        .limit(limit)
    )  # fmt: skip
    result.latest = [CycleTime(*row) for row in rows]
    return result


# --- Public API -------------------------------------------------------------------------------


def periods(session: Session, procedure: int | None = None) -> list[tuple[int, int]]:
    """The IKU periods dossiers (of a procedure) exist for, latest first (for the period
    filter)."""
    where = [] if procedure is None else [DossierTotal.procedure_id == procedure]
    return [
        (start, end)
        for start, end in session.execute(
            select(DossierTotal.period_start, DossierTotal.period_end)
            .where(*where)
            .group_by(DossierTotal.period_start, DossierTotal.period_end)
            .having(func.sum(DossierTotal.dossiers) != 0)
            .order_by(DossierTotal.period_start.desc(), DossierTotal.period_end.desc())
        )
    ]


def current_half(today: date) -> tuple[int, int]:
    """The half-year ``today`` is in (year, 1 or 2): what the SOP evaluation opens on."""
    return today.year, 1 if today.month <= 6 else 2


def overdue_by_step(session: Session, now: datetime, scope: Scope) -> dict[int, int]:
    """Open dossiers of the scope's procedure overdue now, per step position (for the
    evaluation form)."""
    return dict(
        session.execute(
            select(SopStep.position, func.count())
            .join(Dossier, Dossier.current_step_id == SopStep.id)
            .join(Sop, Sop.id == SopStep.sop_id)
            .where(overdue_condition(now), Sop.procedure_id == scope.resolved(session).procedure)
            .group_by(SopStep.position)
        ).all()
    )


def dashboard(
    session: Session,
    scope: Scope,
    calendar: WorkingCalendar,
    now: datetime | None = None,
    overdue_limit: int = 50,
    cycle_limit: int = 20,
) -> Dashboard:
    """Everything the quality dashboard shows, in a fixed number of statements."""
    now = now or utcnow()
    scope = scope.resolved(session)
    sop, steps = _reference(session, scope.procedure)
    roles: dict[int, Workload] = {}
    people: dict[int, Workload] = {}
    found = _distributions(session, scope)
    _add_finished(session, scope, steps, roles, people, found)
    _add_open(session, scope, now, steps, roles, people)

    def busiest(loads: dict[int, Workload]) -> list[Workload]:
        return sorted(loads.values(), key=lambda w: (-w.waiting, -w.finished, w.name))

    return Dashboard(
        sop=sop,
        steps=[steps[p] for p in sorted(steps)],
        overdue=_overdue(session, scope, now, calendar, overdue_limit),
        revisions=_revisions(session, scope),
        roles=busiest(roles),
        people=busiest(people),
        cycles=_cycles(session, scope, cycle_limit, found.get(CYCLE, Distribution())),
    )


def assess(step: StepStats) -> EvaluationRow:
    """Prefill one row of the evaluation form: "runs well" when at least ``GOOD_SHARE`` of the
    step's records finished within the standard; the note gives the measurements."""
    if not step.finished:
        return EvaluationRow(step.position, step.activity, None,
                             _("No dossier finished this step in the period."), "")  # fmt: skip
    runs_well = step.share >= GOOD_SHARE
    note = _(
        "%(count)s finished, %(share)s%% within the standard; median %(median)s and 90th "
        "percentile %(p90)s working minutes against a standard of %(standard)s.",
        count=fmt_number(step.finished),
        share=fmt_number(round(step.share * 100)),
        median=fmt_number(round(step.median, 1)),
        p90=fmt_number(round(step.p90, 1)),
        standard=fmt_number(step.standard_minutes),
    )
    action = (
        _("Keep the current practice.")
        if runs_well
        else _("Find the causes of the delays; improve the procedure or propose a realistic "
               "standard time.")
    )  # fmt: skip
    return EvaluationRow(step.position, step.activity, runs_well, note, action)


def evaluation(session: Session, scope: Scope) -> tuple[SopInfo | None, list[EvaluationRow]]:
    """The SOP evaluation form's rows for the active SOP, prefilled from the scope's records."""
    scope = scope.resolved(session)
    sop, steps = _reference(session, scope.procedure)
    _add_finished(session, scope, steps, {}, {}, _distributions(session, scope))
    return sop, [assess(steps[p]) for p in sorted(steps)]


# --- Keeping the totals -----------------------------------------------------------------------


@dataclass
class Totals:
    """Increments of ``StepTotal``, ``MinutesCount`` and ``DossierTotal``, added up by key
    before writing. A ``group`` is what the totals keep apart besides time: (procedure id,
    period start, period end) of the dossier (``group_of``)."""

    steps: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    minutes: Counter = field(default_factory=Counter)
    dossiers: Counter = field(default_factory=Counter)

    def add_dossier(self, step_id: int | None, rounds: int, created_at: datetime,
                    group: tuple[int, int, int], sign: int = 1) -> None:  # fmt: skip
        """A dossier at a step (None: finished) with so many revision rounds."""
        self.dossiers[(step_id or FINISHED, rounds, *half_year(created_at), *group)] += sign

    def move_dossier(self, dossier: Dossier, step_id: int | None, rounds: int) -> None:
        """A dossier leaves its current step for another one (None: finished)."""
        group = group_of(dossier)
        self.add_dossier(dossier.current_step_id, dossier.revision_round, dossier.created_at,
                         group, -1)  # fmt: skip
        self.add_dossier(step_id, rounds, dossier.created_at, group)

    def add_step(self, position: int, role_id: int, user_id: int, finished_at: datetime,
                 group: tuple[int, int, int], minutes: int, standard: int,
                 sign: int = 1) -> None:  # fmt: skip
        when = half_year(finished_at)
        counts = self.steps[(position, role_id, user_id, *when, *group)]
        counts[0] += sign
        counts[1] += sign * minutes
        for half in (when, ALL_TIME):
            self.minutes[(*half, position, minutes, standard, *group)] += sign

    def add_cycle(self, finished_at: datetime, group: tuple[int, int, int], minutes: int,
                  standard: int) -> None:  # fmt: skip
        for half in (half_year(finished_at), ALL_TIME):
            self.minutes[(*half, CYCLE, minutes, standard, *group)] += 1


def group_of(dossier: Dossier) -> tuple[int, int, int]:
    """The dossier's group in the totals: its procedure and its IKU period."""
    return dossier.sop.procedure_id, dossier.period_start, dossier.period_end


STEP_KEY = ("position", "role_id", "user_id", "year", "half", "procedure_id", "period_start",
            "period_end")  # fmt: skip
DOSSIER_KEY = ("step_id", "revision_round", "year", "half", "procedure_id", "period_start",
               "period_end")  # fmt: skip
MINUTES_KEY = ("year", "half", "position", "minutes", "standard_minutes", "procedure_id",
               "period_start", "period_end")  # fmt: skip


def write_totals(connection: Connection, totals: Totals) -> None:
    """Add the increments to the totals: one upsert per table, rows in key order (so two
    transactions lock the same rows in the same order and cannot deadlock)."""
    upsert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[connection.dialect.name]
    for model, key, rows in (
        (StepTotal, STEP_KEY,
         [dict(zip(STEP_KEY, k, strict=True), finished=v[0], minutes=v[1])
          for k, v in sorted(totals.steps.items()) if v != [0, 0]]),
        (MinutesCount, MINUTES_KEY,
         [dict(zip(MINUTES_KEY, k, strict=True), tally=v)
          for k, v in sorted(totals.minutes.items()) if v]),
        (DossierTotal, DOSSIER_KEY,
         [dict(zip(DOSSIER_KEY, k, strict=True), dossiers=v)
          for k, v in sorted(totals.dossiers.items()) if v]),
    ):  # fmt: skip
        if not rows:
            continue
        table = model.__table__
        stmt = upsert(table)
        added = [c.name for c in table.columns if c.name not in key]
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key),
            set_={name: table.c[name] + stmt.excluded[name] for name in added},
        )
        connection.execute(stmt, rows)


def _sop_totals():
    return (
        select(SopStep.sop_id, func.sum(SopStep.standard_minutes).label("total"))
        .group_by(SopStep.sop_id).subquery()
    )  # fmt: skip


def history_totals(connection: Connection) -> Totals:
    """The totals as the history says they are, computed from every StepRecord and dossier."""
    totals = Totals()
    records = connection.execute(
        select(StepRecord.position, StepRecord.role_id, StepRecord.user_id,
               StepRecord.finished_at, Sop.procedure_id, Dossier.period_start,
               Dossier.period_end, StepRecord.working_minutes, StepRecord.standard_minutes)
        .join(Dossier, Dossier.id == StepRecord.dossier_id)
        .join(Sop, Sop.id == Dossier.sop_id)
        .execution_options(yield_per=10_000)
    )  # fmt: skip
    for position, role_id, user_id, at, procedure, start, end, minutes, standard in records:
        totals.add_step(position, role_id, user_id, at, (procedure, start, end), minutes,
                        standard)  # fmt: skip
    sop = _sop_totals()
    cycles = connection.execute(
        select(Dossier.finished_at, Sop.procedure_id, Dossier.period_start, Dossier.period_end,
               func.sum(StepRecord.working_minutes), sop.c.total)
        .join(StepRecord, StepRecord.dossier_id == Dossier.id)
        .join(sop, sop.c.sop_id == Dossier.sop_id)
        .join(Sop, Sop.id == Dossier.sop_id)
        .where(Dossier.status == "done")
        .group_by(Dossier.id, Dossier.finished_at, Sop.procedure_id, Dossier.period_start,
                  Dossier.period_end, sop.c.total)
    )  # fmt: skip
    for at, procedure, start, end, minutes, standard in cycles:
        totals.add_cycle(at, (procedure, start, end), minutes, standard)
    for step_id, rounds, at, procedure, start, end in connection.execute(
        select(Dossier.current_step_id, Dossier.revision_round, Dossier.created_at,
               Sop.procedure_id, Dossier.period_start, Dossier.period_end)
        .join(Sop, Sop.id == Dossier.sop_id)
        .execution_options(yield_per=10_000)
    ):  # fmt: skip
        totals.add_dossier(step_id, rounds, at, (procedure, start, end))
    return totals


def rebuild_totals(connection: Connection) -> None:
    """Recompute every finished dossier's cycle minutes and both totals tables from the
    history (after a bulk load that bypassed the workflow, or a change of office time zone)."""
    connection.execute(
        update(Dossier)
        .where(Dossier.status == "done")
        .values(cycle_minutes=select(func.coalesce(func.sum(StepRecord.working_minutes), 0))
                .where(StepRecord.dossier_id == Dossier.id).scalar_subquery())
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    for model in (StepTotal, MinutesCount, DossierTotal):
        connection.execute(delete(model))
    write_totals(connection, history_totals(connection))


@event.listens_for(Dossier, "after_insert")
def _count_new_dossier(mapper, connection: Connection, dossier: Dossier) -> None:
    totals = Totals()
    totals.add_dossier(dossier.current_step_id, dossier.revision_round, dossier.created_at,
                       group_of(dossier))  # fmt: skip
    write_totals(connection, totals)


@event.listens_for(Dossier, "after_update")
def _move_period(mapper, connection: Connection, dossier: Dossier) -> None:
    """A dossier's IKU period changed (allowed until its content is approved): it and its
    finished steps now count under the new period."""
    state = inspect(dossier)
    old = []
    for name in ("period_start", "period_end"):
        history = state.attrs[name].history
        old.append(history.deleted[0] if history.deleted else getattr(dossier, name))
    old, new = tuple(old), (dossier.period_start, dossier.period_end)
    if old == new:
        return
    totals = Totals()
    step, rounds, created = dossier.current_step_id, dossier.revision_round, dossier.created_at
    # Read through the flush's connection (no lazy load of dossier.sop inside a flush).
    procedure = connection.scalar(select(Sop.procedure_id).where(Sop.id == dossier.sop_id))
    old, new = (procedure, *old), (procedure, *new)
    totals.add_dossier(step, rounds, created, old, -1)
    totals.add_dossier(step, rounds, created, new)
    for position, role_id, user_id, at, minutes, standard in connection.execute(
        select(StepRecord.position, StepRecord.role_id, StepRecord.user_id,
               StepRecord.finished_at, StepRecord.working_minutes, StepRecord.standard_minutes)
        .where(StepRecord.dossier_id == dossier.id)
    ):  # fmt: skip
        totals.add_step(position, role_id, user_id, at, old, minutes, standard, -1)
        totals.add_step(position, role_id, user_id, at, new, minutes, standard)
    write_totals(connection, totals)


# --- The dossier list's waiting and due columns -------------------------------------------------


def waiting_cell(dossier: Dossier, calendar: WorkingCalendar, now: datetime) -> Markup:
    """Working minutes the dossier has waited at its current step, against the standard."""
    step = dossier.current_step
    if dossier.status == "done" or step is None:
        return Markup("")
    waited = calendar.working_minutes(dossier.step_started_at, now)
    return Markup("{} / {} {}").format(fmt_number(waited), fmt_number(step.standard_minutes),
                                       _("min"))  # fmt: skip


def late_badge(minutes: int | None) -> Markup:
    """The overdue mark, with how late (nothing when not overdue)."""
    if minutes is None:
        return Markup("")
    return Markup('<span class="badge badge-danger overdue-mark">{}</span>').format(
        late_text(minutes)
    )


def due_cell(dossier: Dossier, late: int | None) -> Markup:
    """When the current step is due, with the overdue mark (``late``: working minutes late,
    from ``overdue_minutes``; None when not overdue)."""
    if dossier.status == "done" or dossier.step_due_at is None:
        return Markup("")
    text = Markup("{}").format(fmt_date(dossier.step_due_at))
    if late is not None:
        text += Markup("<br>") + late_badge(late)
    return text


def request_calendar() -> WorkingCalendar:
    """The working calendar, read once per request (one query for a whole list page)."""
    if "working_calendar" not in g:
        g.working_calendar = WorkingCalendar.from_session(
            db.session, current_app.config["IKU_TIMEZONE"]
        )
    return g.working_calendar


def waiting_formatter(view, context, model: Dossier, name: str) -> Markup:
    """Flask-Admin column formatter around ``waiting_cell``."""
    return waiting_cell(model, request_calendar(), utcnow())


def due_formatter(view, context, model: Dossier, name: str) -> Markup:
    """Flask-Admin column formatter around ``due_cell``, for a row the list already read."""
    return due_cell(model, overdue_minutes([model], utcnow(), request_calendar()).get(model.id))
