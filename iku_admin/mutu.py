"""Mutu Baku: every SOP step measured against its standard time.

The numbers behind the quality dashboard and the SOP evaluation form (Formulir Monitoring dan
Evaluasi SOP, PermenPAN-RB 35/2012). Everything is computed by the database with GROUP BY,
COUNT and SUM; percentiles with ``percentile_cont`` on PostgreSQL and a window function on
SQLite, never by loading rows. The number of statements is fixed: it does not grow with the
number of dossiers or records. No request context inside, except the dossier
list's column formatter at the end.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g
from markupsafe import Markup
from sqlalchemy import ColumnElement, Select, Subquery, case, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from models import Dossier, Role, Sop, SopStep, StepRecord, User, user_role, utcnow

from .calendar import WorkingCalendar
from .extensions import db
from .i18n import _, fmt_number

#: A step "runs well" (berjalan baik) when at least this share finished within its standard.
GOOD_SHARE = 0.8
#: The percentiles shown per step: the median and the 90th percentile.
PERCENTS = (50, 90)


# --- What to measure --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which history to measure: a time window and/or the IKU period of the dossiers.

    The window applies to when a step or dossier finished (records, cycle times) and to when a
    dossier was registered (dossiers open now, revision rounds).
    """

    since: datetime | None = None
    until: datetime | None = None
    period: tuple[int, int] | None = None

    @classmethod
    def of(
        cls,
        year: int | None = None,
        half: int | None = None,
        period: tuple[int, int] | None = None,
        tz: str = "Asia/Jakarta",
    ) -> Scope:
        """A calendar year, or half of it (1: January–June, 2: July–December), in office time."""
        if year is None:
            return cls(period=period)
        zone = ZoneInfo(tz)
        first, after = {None: (1, 13), 1: (1, 7), 2: (7, 13)}[half]
        since = datetime(year, first, 1, tzinfo=zone)
        if after == 13:
            until = datetime(year + 1, 1, 1, tzinfo=zone)
        else:
            until = datetime(year, after, 1, tzinfo=zone)
        return cls(since, until, period)

    def window(self, column) -> list[ColumnElement[bool]]:
        conditions = []
        if self.since is not None:
            conditions.append(column >= self.since)
        if self.until is not None:
            conditions.append(column < self.until)
        return conditions

    def in_period(self) -> list[ColumnElement[bool]]:
        if self.period is None:
            return []
        return [Dossier.period_start == self.period[0], Dossier.period_end == self.period[1]]


def _records(stmt: Select, scope: Scope) -> Select:
    """Limit a query on step records to the scope (joining the dossier only for a period)."""
    stmt = stmt.where(*scope.window(StepRecord.finished_at))
    if scope.period is not None:
        stmt = stmt.join(Dossier, Dossier.id == StepRecord.dossier_id).where(*scope.in_period())
    return stmt


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


# --- Queries ----------------------------------------------------------------------------------


def _percentiles(session: Session, source: Subquery) -> dict:
    """``PERCENTS`` of ``source.c.value`` per ``source.c.key``: {key: {50: …, 90: …}}.

    Continuous percentiles (linear interpolation), as PostgreSQL's ``percentile_cont``, which
    is used there. SQLite has no such aggregate: a window function ranks the values and only
    the one or two values around each percentile's position leave the database.
    """
    if session.get_bind().dialect.name == "postgresql":
        wanted = postgresql.array([p / 100 for p in PERCENTS])
        rows = session.execute(
            select(source.c.key, func.percentile_cont(wanted).within_group(source.c.value))
            .group_by(source.c.key)
        )  # fmt: skip
        return {key: dict(zip(PERCENTS, map(float, found), strict=True)) for key, found in rows}
    rank = func.row_number().over(partition_by=source.c.key, order_by=source.c.value) - 1
    ranked = select(
        source.c.key,
        source.c.value,
        rank.label("idx"),
        func.count().over(partition_by=source.c.key).label("n"),
    ).subquery()
    # The p-th percentile sits at index p * (n - 1) / 100: keep the indexes less than 1 away
    # (in integers, so no rounding can lose one).
    near = or_(*(func.abs(100 * ranked.c.idx - p * (ranked.c.n - 1)) < 100 for p in PERCENTS))
    values: dict = defaultdict(dict)
    sizes: dict = {}
    for key, idx, n, value in session.execute(
        select(ranked.c.key, ranked.c.idx, ranked.c.n, ranked.c.value).where(near)
    ):
        values[key][idx] = value
        sizes[key] = n
    result = {}
    for key, n in sizes.items():
        result[key] = {}
        for p in PERCENTS:
            low, rest = divmod(p * (n - 1), 100)
            value = values[key][low]
            if rest:
                value += (values[key][low + 1] - value) * rest / 100
            result[key][p] = float(value)
    return result


def _reference(session: Session) -> tuple[SopInfo | None, dict[int, StepStats]]:
    """The active SOP version's steps, by position (one query)."""
    active = (
        select(Sop.id).where(Sop.status == "active")
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
) -> None:
    """Finished records per step, role and person (one GROUP BY), and per-step percentiles."""
    within = func.sum(case((StepRecord.working_minutes <= StepRecord.standard_minutes, 1),
                           else_=0))  # fmt: skip
    counts = (
        _records(
            select(
                StepRecord.position,
                StepRecord.role_id,
                StepRecord.user_id,
                func.count().label("n"),
                within.label("within"),
                func.sum(StepRecord.working_minutes).label("minutes"),
            ),
            scope,
        )
        .group_by(StepRecord.position, StepRecord.role_id, StepRecord.user_id)
        .subquery()
    )
    # Names are joined to the few grouped rows, not to every record.
    rows = session.execute(
        select(counts.c.position, Role.id, Role.name, User.id, User.full_name, counts.c.n,
               counts.c.within, counts.c.minutes)
        .join(Role, Role.id == counts.c.role_id)
        .join(User, User.id == counts.c.user_id)
    )  # fmt: skip
    for position, role_id, role, user_id, person, count, on_time, minutes in rows:
        step = steps.setdefault(position, StepStats(position))
        step.finished += count
        step.within += on_time
        for key, name, table in ((role_id, role, roles), (user_id, person, people)):
            load = table.setdefault(key, Workload(name))
            load.finished += count
            load.minutes += minutes
    source = _records(
        select(StepRecord.position.label("key"), StepRecord.working_minutes.label("value")),
        scope,
    ).subquery()
    for position, found in _percentiles(session, source).items():
        steps[position].median, steps[position].p90 = found[50], found[90]


def _open_dossiers(stmt: Select, scope: Scope) -> Select:
    return stmt.where(Dossier.status == "in_progress", *scope.window(Dossier.created_at),
                      *scope.in_period())  # fmt: skip


def _add_open(
    session: Session,
    scope: Scope,
    now: datetime,
    steps: dict[int, StepStats],
    roles: dict[int, Workload],
    people: dict[int, Workload],
) -> None:
    """Open dossiers per current step and role (one GROUP BY); each holder of a role has
    all of that role's open steps waiting (one query for who holds which role)."""
    late = func.sum(case((Dossier.step_due_at < now, 1), else_=0))
    rows = session.execute(
        _open_dossiers(
            select(SopStep.position, Role.id, Role.name, func.count(), late)
            .select_from(Dossier)
            .join(SopStep, SopStep.id == Dossier.current_step_id)
            .join(Role, Role.id == SopStep.role_id),
            scope,
        ).group_by(SopStep.position, Role.id, Role.name)
    )  # fmt: skip
    waiting: dict[int, int] = defaultdict(int)
    for position, role_id, role, count, overdue in rows:
        step = steps.setdefault(position, StepStats(position))
        step.open += count
        step.overdue += overdue
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
            .where(Dossier.step_due_at < now),
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
            select(Dossier.revision_round, func.count())
            .where(*scope.window(Dossier.created_at), *scope.in_period())
            .group_by(Dossier.revision_round)
        ).all()
    )
    return [(rounds, counts.get(rounds, 0)) for rounds in range(max(counts, default=-1) + 1)]


def _cycles(session: Session, scope: Scope, limit: int) -> Cycles:
    """Finished dossiers: the sum of their records' working minutes against their SOP's total."""
    totals = (
        select(SopStep.sop_id, func.sum(SopStep.standard_minutes).label("total"))
        .group_by(SopStep.sop_id).subquery()
    )  # fmt: skip
    finished = [Dossier.status == "done", *scope.window(Dossier.finished_at), *scope.in_period()]

    def cycle_times(*where: ColumnElement[bool]) -> Subquery:
        return (
            select(Dossier.id, Dossier.title, Dossier.finished_at,
                   func.sum(StepRecord.working_minutes).label("minutes"), totals.c.total)
            .join(StepRecord, StepRecord.dossier_id == Dossier.id)
            .join(totals, totals.c.sop_id == Dossier.sop_id)
            .where(*finished, *where)
            .group_by(Dossier.id, Dossier.title, Dossier.finished_at, totals.c.total)
            .subquery()
        )  # fmt: skip

    cycle = cycle_times()
    count, within = session.execute(
        select(func.count(), func.sum(case((cycle.c.minutes <= cycle.c.total, 1), else_=0)))
    ).one()
    result = Cycles(count=count, within=within or 0)
    if not count:
        return result
    found = _percentiles(
        session, select(literal(0).label("key"), cycle.c.minutes.label("value")).subquery()
    )
    result.median, result.p90 = found[0][50], found[0][90]
    # Pick the latest dossiers first, then add up the records of those only.
    newest = (Dossier.finished_at.desc(), Dossier.id.desc())
    latest = cycle_times(Dossier.id.in_(select(Dossier.id).where(*finished).order_by(*newest)
                                        .limit(limit)))  # fmt: skip
    result.latest = [
        CycleTime(*row)
        for row in session.execute(
            select(latest).order_by(latest.c.finished_at.desc(), latest.c.id.desc())
        )
    ]
    return result


# --- Public API -------------------------------------------------------------------------------


def periods(session: Session) -> list[tuple[int, int]]:
    """The IKU periods dossiers exist for, latest first (for the period filter)."""
    return [
        (start, end)
        for start, end in session.execute(
            select(Dossier.period_start, Dossier.period_end)
            .distinct()
            .order_by(Dossier.period_start.desc(), Dossier.period_end.desc())
        )
    ]


def previous_half(today: date) -> tuple[int, int]:
    """The last half-year that has ended (year, 1 or 2): what the twice-yearly SOP evaluation
    looks back on."""
    return (today.year, 1) if today.month > 6 else (today.year - 1, 2)


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
    sop, steps = _reference(session)
    roles: dict[int, Workload] = {}
    people: dict[int, Workload] = {}
    _add_finished(session, scope, steps, roles, people)
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
        cycles=_cycles(session, scope, cycle_limit),
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
    sop, steps = _reference(session)
    _add_finished(session, scope, steps, {}, {})
    return sop, [assess(steps[p]) for p in sorted(steps)]


# --- The dossier list's waiting column ---------------------------------------------------------


def waiting_cell(dossier: Dossier, calendar: WorkingCalendar, now: datetime) -> Markup:
    """Working minutes the dossier has waited at its current step, against the standard,
    with an overdue mark once the step is past its due time."""
    step = dossier.current_step
    if dossier.status == "done" or step is None:
        return Markup("")
    waited = calendar.working_minutes(dossier.step_started_at, now)
    text = Markup("{} / {} {}").format(fmt_number(waited), fmt_number(step.standard_minutes),
                                       _("min"))  # fmt: skip
    if dossier.step_due_at is not None and dossier.step_due_at < now:
        text += Markup(' <span class="badge badge-danger">{}</span>').format(_("Overdue"))
    return text


def waiting_formatter(view, context, model: Dossier, name: str) -> Markup:
    """Flask-Admin column formatter around ``waiting_cell``; the calendar is read once per
    request (one query for the whole list page)."""
    if "working_calendar" not in g:
        g.working_calendar = WorkingCalendar.from_session(
            db.session, current_app.config["IKU_TIMEZONE"]
        )
    return waiting_cell(model, g.working_calendar, utcnow())
