"""The only code that moves a dossier through its SOP.

Usable from views, the CLI, tests and benchmarks alike: no request context inside. Every
transition is a compare-and-set on (dossier id, current step, version), so of two people
acting on the same dossier at once exactly one wins. Single transitions and bulk actions go
through the same code path; a bulk action runs a fixed number of SQL statements whatever the
number of dossiers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import func, insert, inspect, select, tuple_, update
from sqlalchemy.orm import Session, joinedload, object_session
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    Dossier,
    Indicator,
    Sop,
    SopStep,
    StepRecord,
    StrategicObjective,
    User,
    utcnow,
)

from . import mutu
from .calendar import WorkingCalendar
from .i18n import _, _l

ACTIONS = ("complete", "approve", "return")
# The history outcome each action writes.
OUTCOMES = {"complete": "done", "approve": "approved", "return": "returned"}


class WorkflowError(Exception):
    """A refused workflow action; the message is fit to show a user (translated)."""


@dataclass
class BulkResult:
    """Outcome of a bulk action: the ids done and, for each other id, why it was skipped."""

    done: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


# --- Reading the SOP graph ------------------------------------------------------------------


def next_step(dossier: Dossier, step: SopStep) -> SopStep | None:
    """The step after ``step`` in the dossier's SOP version, or None after the last."""
    later = [s for s in dossier.sop.steps if s.position > step.position]
    return min(later, key=lambda s: s.position) if later else None


def return_step(dossier: Dossier, step: SopStep) -> SopStep | None:
    """The step a review sends the draft back to (None if the SOP does not name one)."""
    return next((s for s in dossier.sop.steps if s.position == step.return_to_position), None)


def is_content_locked(dossier: Dossier) -> bool:
    """The IKU content is locked once a review step has been passed, and when done."""
    if dossier.status == "done" or dossier.current_step is None:
        return True
    return any(
        s.kind == "review" and s.position < dossier.current_step.position for s in dossier.sop.steps
    )


def ensure_content_editable(dossier: Dossier | None) -> None:
    """Refuse changes to objectives, indicators and targets of a locked dossier."""
    if dossier is None:
        return
    if dossier.status == "done":
        raise WorkflowError(_("This dossier is finished and can no longer be changed."))
    if is_content_locked(dossier):
        raise WorkflowError(_("The IKU content is locked: it was approved at the review step."))


def ensure_dossier_editable(dossier: Dossier) -> None:
    """Refuse changes to a finished dossier, and a new period once the content is locked."""
    if dossier.status == "done":
        raise WorkflowError(_("This dossier is finished and can no longer be changed."))
    state = inspect(dossier)
    period_changed = any(
        state.attrs[name].history.has_changes() for name in ("period_start", "period_end")
    )
    if period_changed and is_content_locked(dossier):
        raise WorkflowError(
            _("The period cannot change: the IKU content was approved at the review step.")
        )


# What the IKU check (requirement "iku_content") wants of every indicator besides targets.
INDICATOR_REQUIRED = {
    "definition": _l("definition/formula"),
    "unit": _l("unit"),
    "data_source": _l("data source"),
    "responsible": _l("responsible official"),
}


def indicator_gaps(indicator, years: list[int]) -> dict[str, str]:
    """What one indicator lacks for the IKU check: field name (``targets`` for the yearly
    targets) -> what to tell the user. Read by the check and by the IKU editor alike."""
    gaps = {name: str(label) for name, label in INDICATOR_REQUIRED.items()
            if not getattr(indicator, name)}  # fmt: skip
    absent = sorted(set(years) - {t.year for t in indicator.targets if t.target is not None})
    if absent:
        gaps["targets"] = _("targets for %(years)s", years=", ".join(map(str, absent)))
    return gaps


def iku_step(dossier: Dossier) -> SopStep | None:
    """The step, now or next, whose completeness check is the IKU content (step 3 of the
    seeded SOP), or None when no step ahead checks it."""
    if dossier.status == "done" or dossier.current_step is None:
        return None
    here = dossier.current_step.position
    ahead = [s for s in dossier.sop.steps if s.requirement == "iku_content" and s.position >= here]
    return min(ahead, key=lambda s: s.position, default=None)


def missing_inputs(dossier: Dossier, step: SopStep) -> list[str]:
    """What the step still needs before it can be finished (Kelengkapan), as messages."""
    missing: list[str] = []
    if step.requirement == "iku_content":
        indicators = [i for o in dossier.objectives for i in o.indicators]
        if not indicators:
            missing.append(_("at least one indicator"))
        for indicator in indicators:
            lacking = indicator_gaps(indicator, dossier.years)
            if lacking:
                missing.append(f"{indicator.name}: {', '.join(lacking.values())}")
    elif step.requirement == "outgoing_letter":
        if not dossier.outgoing_agenda_number.strip():
            missing.append(_("outgoing letter agenda number"))
        if not dossier.distribution_record.strip():
            missing.append(_("distribution record"))
    return missing


def expected_actor(dossier: Dossier) -> str:
    """Who is expected to act now, for the line shown to people without an action."""
    step = dossier.current_step
    if dossier.status == "done" or step is None:
        return _("Nobody: the dossier is finished.")
    session = object_session(dossier)
    names = session.scalars(
        select(User.full_name)
        .where(User.active, User.roles.any(id=step.role_id))
        .order_by(User.full_name)
    ).all()
    who = ", ".join(names) if names else _("nobody holds this role yet")
    return _(
        "Step %(n)s waits for %(role)s (%(who)s).", n=step.position, role=step.role.name, who=who
    )


# --- Deciding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LastRecord:
    """The latest history record of a dossier: who moved it last, when, from which version."""

    user_id: int
    name: str
    finished_at: datetime
    dossier_version: int


def _latest_records(session: Session, ids: list[int]) -> dict[int, _LastRecord]:
    """For each dossier, its latest StepRecord (one query for all)."""
    if not ids:
        return {}
    latest = (
        select(func.max(StepRecord.id))
        .where(StepRecord.dossier_id.in_(ids))
        .group_by(StepRecord.dossier_id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            StepRecord.dossier_id,
            StepRecord.user_id,
            User.full_name,
            StepRecord.finished_at,
            StepRecord.dossier_version,
        )
        .join(User, User.id == StepRecord.user_id)
        .where(StepRecord.id.in_(latest))
    )
    return {row[0]: _LastRecord(*row[1:]) for row in rows}


def _timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["IKU_TIMEZONE"] if has_app_context() else "Asia/Jakarta")


def _changed_message(last: _LastRecord | None, seen_version: int) -> str:
    """Why a dossier shown at ``seen_version`` can no longer be acted on as shown."""
    if last is not None and last.dossier_version >= seen_version:
        at = last.finished_at.astimezone(_timezone())
        return _(
            "Already processed by %(name)s at %(at)s. Reload the page to see its current state.",
            name=last.name,
            at=f"{at:%d-%m-%Y %H:%M} {at.tzname()}",
        )
    return _(
        "Changed by someone else since you loaded it. Reload the page to see its current state."
    )


def _refusal(
    dossier: Dossier,
    user: User,
    action: str,
    note: str,
    last: _LastRecord | None,
    seen_version: int | None,
    check_inputs: bool = True,
) -> str | None:
    """Why ``user`` may not do ``action`` on ``dossier`` now, or None if allowed."""
    # First: what the user saw is what is there (compare-and-set on the version).
    if seen_version is not None and seen_version != dossier.version:
        return _changed_message(last, seen_version)
    step = dossier.current_step
    if dossier.status == "done" or step is None:
        return _("The dossier is finished; no step is waiting.")
    if step.role.code not in user.role_codes or not user.active:
        return _(
            "The current step is %(n)s (%(activity)s); it is done by %(role)s.",
            n=step.position,
            activity=step.activity,
            role=step.role.name,
        )
    if step.kind == "review" and action == "complete":
        return _("Step %(n)s is a review: approve it or return it.", n=step.position)
    if step.kind != "review" and action in ("approve", "return"):
        return _("Step %(n)s is not a review; it can only be completed.", n=step.position)
    if step.kind == "review" and last is not None and last.user_id == user.id:
        return _("You finished the step under review; someone else must review it.")
    if action == "return" and not note.strip():
        return _("A reason is required to return the draft for revision.")
    if action == "return" and return_step(dossier, step) is None:
        return _("The SOP does not say where step %(n)s returns to.", n=step.position)
    if check_inputs and action != "return":
        missing = missing_inputs(dossier, step)
        if missing:
            return _("Incomplete: %(missing)s.", missing="; ".join(missing))
    return None


def available_actions(dossier: Dossier, user: User) -> list[str]:
    """The actions ``user`` can take on ``dossier`` now: a subset of complete/approve/return.

    Kelengkapan does not hide a button: pressing it says what is missing.
    """
    step = dossier.current_step
    if dossier.status == "done" or step is None or step.role.code not in user.role_codes:
        return []
    last = _latest_records(object_session(dossier), [dossier.id]).get(dossier.id)
    candidates = ["approve", "return"] if step.kind == "review" else ["complete"]
    return [
        name
        for name in candidates
        if _refusal(dossier, user, name, "-", last, None, check_inputs=False) is None
    ]


# --- Acting -----------------------------------------------------------------------------------


def complete(
    dossier: Dossier, user: User, note: str = "", *, seen_version: int | None = None
) -> StepRecord:
    """Finish a task step and move to the next step (after the last one: done).

    ``seen_version`` is the dossier version the user saw; by default the one in memory.
    """
    return _single("complete", dossier, user, note, seen_version)


def approve(
    dossier: Dossier, user: User, note: str = "", *, seen_version: int | None = None
) -> StepRecord:
    """Approve a review step and move to the next step."""
    return _single("approve", dossier, user, note, seen_version)


def return_for_revision(
    dossier: Dossier, user: User, reason: str, *, seen_version: int | None = None
) -> StepRecord:
    """Send the draft under review back to the review's return step, with a reason."""
    return _single("return", dossier, user, reason, seen_version)


def bulk(
    action: str,
    dossier_ids: list[int],
    user: User,
    reason: str | None = None,
    seen_versions: dict[int, int] | None = None,
) -> BulkResult:
    """Apply one action to many dossiers, each on its own; say which were skipped and why.

    ``seen_versions`` maps a dossier id to the version the list showed: a dossier changed
    since then is skipped, not overwritten. The number of SQL statements does not depend
    on the number of dossiers.
    """
    if action not in ACTIONS:
        raise WorkflowError(_("Unknown action."))
    ids = list(dict.fromkeys(dossier_ids))
    if not ids:
        raise WorkflowError(_("No dossier selected."))
    return _apply(object_session(user), action, ids, user, reason or "", seen_versions or {})


def _single(
    action: str, dossier: Dossier, user: User, note: str, seen_version: int | None
) -> StepRecord:
    session = object_session(dossier)
    session.flush()  # the caller's own pending changes are not someone else's
    seen = dossier.version if seen_version is None else seen_version
    result = _apply(session, action, [dossier.id], user, note, {dossier.id: seen})
    if dossier.id in result.skipped:
        raise WorkflowError(result.skipped[dossier.id])
    return session.scalars(
        select(StepRecord).where(StepRecord.dossier_id == dossier.id).order_by(StepRecord.id.desc())
    ).first()


def _calendar(session: Session) -> WorkingCalendar:
    return WorkingCalendar.from_session(session, _timezone().key)


def _load(session: Session, action: str, ids: list[int]) -> dict[int, Dossier]:
    """The dossiers with their SOP and, where the step checks it, their IKU content.

    A fixed number of queries whatever the number of dossiers (selectinload would split a
    long list of ids into chunks, so the content is loaded with one joined query).
    """
    dossiers = {
        d.id: d
        for d in session.scalars(
            select(Dossier)
            .where(Dossier.id.in_(ids))
            .options(
                joinedload(Dossier.current_step),
                joinedload(Dossier.sop).selectinload(Sop.steps),
            )
            .execution_options(populate_existing=True)
        ).unique()
    }
    needs_content = [
        d.id
        for d in dossiers.values()
        if action != "return" and d.current_step and d.current_step.requirement == "iku_content"
    ]
    if needs_content:
        objectives = session.scalars(
            select(StrategicObjective)
            .where(StrategicObjective.dossier_id.in_(needs_content))
            .options(joinedload(StrategicObjective.indicators).joinedload(Indicator.targets))
            .order_by(StrategicObjective.order, StrategicObjective.id)
            .execution_options(populate_existing=True)
        ).unique()
        by_dossier: dict[int, list[StrategicObjective]] = defaultdict(list)
        for objective in objectives:
            by_dossier[objective.dossier_id].append(objective)
        for dossier_id in needs_content:
            set_committed_value(dossiers[dossier_id], "objectives", by_dossier[dossier_id])
    return dossiers


def _apply(
    session: Session,
    action: str,
    ids: list[int],
    user: User,
    note: str,
    seen_versions: dict[int, int],
) -> BulkResult:
    """Decide for each dossier, then move the allowed ones with compare-and-set updates."""
    result = BulkResult()
    note = note.strip()
    # No need to commit first: at READ COMMITTED (PostgreSQL) every statement sees what is
    # committed, SQLite reads outside transactions, and populate_existing refreshes objects.
    session.flush()
    try:
        dossiers = _load(session, action, ids)
        latest = _latest_records(session, ids)
        # (from step, to step) -> dossiers: one UPDATE per group, not per dossier.
        groups: dict[tuple[SopStep, SopStep | None], list[Dossier]] = defaultdict(list)
        for dossier_id in ids:
            dossier = dossiers.get(dossier_id)
            if dossier is None:
                result.skipped[dossier_id] = _("The dossier does not exist.")
                continue
            seen = seen_versions.get(dossier_id)
            reason = _refusal(dossier, user, action, note, latest.get(dossier_id), seen)
            if reason:
                result.skipped[dossier_id] = reason
                continue
            step = dossier.current_step
            target = return_step(dossier, step) if action == "return" else next_step(dossier, step)
            groups[(step, target)].append(dossier)
        if groups:
            _move(session, action, groups, user, note, result)
        session.commit()
    except Exception:
        session.rollback()
        raise
    result.done.sort()
    return result


def _move(
    session: Session,
    action: str,
    groups: dict[tuple[SopStep, SopStep | None], list[Dossier]],
    user: User,
    note: str,
    result: BulkResult,
) -> None:
    """Compare-and-set every group of dossiers and write one history record per winner."""
    # Lock the rows in id order first, so two bulk actions over overlapping selections
    # wait for each other instead of deadlocking (SQLite serialises writers anyway).
    all_ids = sorted(d.id for members in groups.values() for d in members)
    if len(all_ids) > 1:
        session.execute(
            select(Dossier.id).where(Dossier.id.in_(all_ids)).order_by(Dossier.id).with_for_update()
        )
    now = utcnow()
    calendar = _calendar(session)
    outcome = OUTCOMES[action]
    records, lost, finished = [], [], []
    totals = mutu.Totals()
    for (step, target), members in groups.items():
        values = {
            "current_step_id": target.id if target else None,
            "version": Dossier.version + 1,
            "step_started_at": now,
            "step_due_at": (
                calendar.add_working_minutes(now, target.standard_minutes) if target else None
            ),
        }
        if target is None:
            values.update(status="done", finished_at=now)
        if action == "return":
            values["revision_round"] = Dossier.revision_round + 1
        won = set(
            session.scalars(
                update(Dossier)
                .where(
                    tuple_(Dossier.id, Dossier.version).in_([(d.id, d.version) for d in members]),
                    Dossier.current_step_id == step.id,
                    Dossier.status == "in_progress",
                )
                .values(**values)
                .returning(Dossier.id)
                .execution_options(synchronize_session=False)
            )
        )
        for dossier in members:
            if dossier.id not in won:
                lost.append(dossier)
                continue
            minutes = calendar.working_minutes(dossier.step_started_at, now)
            records.append({
                "dossier_id": dossier.id, "dossier_version": dossier.version,
                "step_id": step.id, "position": step.position, "user_id": user.id,
                "role_id": step.role_id, "outcome": outcome, "note": note,
                "started_at": dossier.step_started_at, "finished_at": now,
                "working_minutes": minutes, "standard_minutes": step.standard_minutes,
                "sop_version": dossier.sop.version,
            })  # fmt: skip
            period = (dossier.period_start, dossier.period_end)
            totals.add_step(step.position, step.role_id, user.id, now, period, minutes,
                            step.standard_minutes)  # fmt: skip
            rounds = dossier.revision_round + (action == "return")
            totals.move_dossier(dossier, target.id if target else None, rounds)
            if target is None:
                finished.append(dossier)
            result.done.append(dossier.id)
    if records:
        session.execute(insert(StepRecord), records)
    if finished:
        # The last step: the dossier's cycle time is the sum of all its steps.
        cycles = dict(
            session.execute(
                update(Dossier)
                .where(Dossier.id.in_([d.id for d in finished]))
                .values(cycle_minutes=select(func.sum(StepRecord.working_minutes))
                        .where(StepRecord.dossier_id == Dossier.id).scalar_subquery())
                .returning(Dossier.id, Dossier.cycle_minutes)
                .execution_options(synchronize_session=False)
            ).all()
        )  # fmt: skip
        for dossier in finished:
            standard = sum(s.standard_minutes for s in dossier.sop.steps)
            period = (dossier.period_start, dossier.period_end)
            totals.add_cycle(now, period, cycles[dossier.id], standard)
    mutu.write_totals(session.connection(), totals)
    if lost:
        # Someone else moved these between our read and our update: say who.
        latest = _latest_records(session, [d.id for d in lost])
        for dossier in lost:
            result.skipped[dossier.id] = _changed_message(latest.get(dossier.id), dossier.version)


# --- Starting dossiers and SOP versions -------------------------------------------------------


def active_sop(session: Session) -> Sop:
    """The SOP version new dossiers start under."""
    sop = session.scalar(
        select(Sop).where(Sop.status == "active").order_by(Sop.version.desc()).limit(1)
    )
    if sop is None or not sop.steps:
        raise WorkflowError(_("There is no active SOP with steps. Ask IT to activate one."))
    return sop


def start_dossier(session: Session, dossier: Dossier, user: User | None = None) -> Dossier:
    """Pin a new dossier to the active SOP version and put it at its first step."""
    with session.no_autoflush:  # the dossier may already be pending, still without its SOP
        sop = active_sop(session)
        first = min(sop.steps, key=lambda s: s.position)
        calendar = _calendar(session)
    now = utcnow()
    dossier.sop = sop
    dossier.current_step = first
    dossier.status = "in_progress"
    dossier.step_started_at = now
    dossier.step_due_at = calendar.add_working_minutes(now, first.standard_minutes)
    if user is not None and dossier.created_by is None:
        dossier.created_by = user
    return dossier


def sop_in_use(session: Session, sop_id: int) -> bool:
    """Whether an open dossier runs on this SOP version (then it is not edited in place)."""
    return bool(
        session.scalar(
            select(Dossier.id)
            .where(Dossier.sop_id == sop_id, Dossier.status == "in_progress")
            .limit(1)
        )
    )


def ensure_sop_editable(session: Session, sop_id: int | None) -> None:
    """Refuse an in-place change of an SOP version that open dossiers use."""
    if sop_id is not None and sop_in_use(session, sop_id):
        raise WorkflowError(
            _(
                "Open dossiers use this SOP version, so it cannot be changed in place. "
                'Use the action "New version" on the SOP list and edit the copy.'
            )
        )


def new_sop_version(session: Session, sop: Sop) -> Sop:
    """Copy an SOP version with its steps into a new draft version."""
    latest = session.scalar(select(func.max(Sop.version)).where(Sop.number == sop.number))
    skip = {"id", "version", "status", "row_version"}
    copy = Sop(
        **{c.key: getattr(sop, c.key) for c in Sop.__table__.columns if c.key not in skip},
        version=latest + 1,
        status="draft",
    )
    step_skip = {"id", "sop_id", "row_version", "standard_minutes"}
    for step in sop.steps:
        copy.steps.append(
            SopStep(**{c.key: getattr(step, c.key) for c in SopStep.__table__.columns
                       if c.key not in step_skip})
        )  # fmt: skip
    session.add(copy)
    session.commit()
    return copy


def activate_sop(session: Session, sop: Sop) -> None:
    """Make this version the one new dossiers take; other versions of it retire."""
    if not sop.steps:
        raise WorkflowError(_("An SOP version without steps cannot be activated."))
    positions = {step.position for step in sop.steps}
    for step in sop.steps:
        back = step.return_to_position
        if step.kind == "review" and (back not in positions or back >= step.position):
            raise WorkflowError(
                _(
                    "Step %(n)s is a review and must return to an earlier step of this version, "
                    "not to step %(to)s.",
                    n=step.position,
                    to=back if back is not None else "–",
                )
            )
    session.execute(
        update(Sop)
        .where(Sop.number == sop.number, Sop.id != sop.id, Sop.status == "active")
        .values(status="retired")
    )
    sop.status = "active"
    session.commit()
