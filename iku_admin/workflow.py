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

from flask import current_app, has_app_context, has_request_context
from sqlalchemy import Select, bindparam, func, insert, inspect, select, tuple_, update
from sqlalchemy.orm import Session, joinedload, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from models import (
    Dossier,
    Indicator,
    Procedure,
    Sop,
    SopStep,
    StepRecord,
    StrategicObjective,
    User,
    user_role,
    utcnow,
)

from . import mutu, requirements
from .calendar import WorkingCalendar
from .i18n import _

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


def record_names(user: User, step: SopStep) -> dict[str, str]:
    """The names a step record keeps of who acted, as they are now (see ``StepRecord``)."""
    return {"actor_name": user.full_name, "actor_nip": user.nip or "",
            "actor_rank": user.rank or "", "role_name": step.role.name}  # fmt: skip


# --- Reading the SOP graph ------------------------------------------------------------------


def next_step(dossier: Dossier, step: SopStep) -> SopStep | None:
    """The step after ``step`` in the dossier's SOP version, or None after the last."""
    later = [s for s in dossier.sop.steps if s.position > step.position]
    return min(later, key=lambda s: s.position) if later else None


def return_step(dossier: Dossier, step: SopStep) -> SopStep | None:
    """The step a review sends the draft back to (None if the SOP version does not name one
    of its own steps)."""
    target = step.return_to
    return target if target is not None and target.sop_id == dossier.sop_id else None


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
    if dossier.sop is not None and not dossier.carries_iku:
        raise WorkflowError(
            _("The SOP %(sop)s of this dossier does not draft an IKU.", sop=dossier.sop.procedure)
        )
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


def iku_step(dossier: Dossier) -> SopStep | None:
    """The step, now or next, whose completeness check is the IKU content (step 3 of the
    seeded SOP), or None when no step ahead checks it."""
    if dossier.status == "done" or dossier.current_step is None:
        return None
    here = dossier.current_step.position
    ahead = [s for s in dossier.sop.steps if checks_iku(s) and s.position >= here]
    return min(ahead, key=lambda s: s.position, default=None)


def missing_inputs(dossier: Dossier, step: SopStep) -> list[str]:
    """What the step still needs before it can be finished (Kelengkapan), as messages."""
    return requirements.missing(dossier, step.requirements)


def step_fields(step: SopStep | None) -> list[str]:
    """The dossier fields the step requires, in order (typed in when finishing it)."""
    return requirements.field_names(step.requirements) if step is not None else []


@dataclass(frozen=True)
class ReturnNote:
    """The latest return for revision of a dossier: who, when, why; ``pending`` while the
    returned draft has not been handed on again (the return is the dossier's latest record)."""

    name: str
    at: datetime
    reason: str
    position: int
    pending: bool


def _latest_ids(ids: list[int], *where):
    """The id of each dossier's latest history record (of those matching ``where``)."""
    return (
        select(func.max(StepRecord.id))
        .where(StepRecord.dossier_id.in_(ids), *where)
        .group_by(StepRecord.dossier_id)
        .scalar_subquery()
    )


def latest_returns(session: Session, ids: list[int]) -> dict[int, ReturnNote]:
    """For each of these dossiers that was ever returned, its latest return (two queries)."""
    if not ids:
        return {}
    returned = _latest_ids(ids, StepRecord.outcome == "returned")
    rows = session.execute(
        select(StepRecord.dossier_id, User.full_name, StepRecord.finished_at, StepRecord.note,
               StepRecord.position, StepRecord.id.in_(_latest_ids(ids)))
        .join(User, User.id == StepRecord.user_id)
        .where(StepRecord.id.in_(returned))
    )  # fmt: skip
    return {row[0]: ReturnNote(*row[1:5], pending=bool(row[5])) for row in rows}


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
    latest = _latest_ids(ids)
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


def _locale() -> str:
    """The language typed values are read in: the request's, else Indonesian."""
    if has_request_context():
        from flask_babel import get_locale

        return str(get_locale())
    return "id"


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
    dossier: Dossier,
    user: User,
    note: str = "",
    *,
    seen_version: int | None = None,
    fields: dict[str, str] | None = None,
) -> StepRecord:
    """Finish a task step and move to the next step (after the last one: done).

    ``seen_version`` is the dossier version the user saw; by default the one in memory.
    ``fields`` are values of the fields the step requires (``step_fields``),
    typed in when finishing it: they are saved and the step finished in one transaction, or,
    when the step is refused, neither.
    """
    return _single("complete", dossier, user, note, seen_version, fields)


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


def _set_fields(session: Session, dossier: Dossier, user: User, seen: int,
                fields: dict[str, str]) -> int:  # fmt: skip
    """Save the step's fields as seen at version ``seen``; return the version they made."""
    if seen != dossier.version:
        last = _latest_records(session, [dossier.id]).get(dossier.id)
        raise WorkflowError(_changed_message(last, seen))
    refusal = _refusal(dossier, user, "complete", "", None, None, check_inputs=False)
    if refusal:
        raise WorkflowError(refusal)
    for required in requirements.step_fields(session, dossier.current_step.requirements):
        if required.name not in fields:
            continue
        value = (fields[required.name] or "").strip()
        if required.max_length is not None and len(value) > required.max_length:
            raise WorkflowError(_("%(field)s: at most %(n)s characters.", field=required.phrase,
                                  n=required.max_length))  # fmt: skip
        try:
            required.write(dossier, value, _locale())
        except ValueError as error:
            raise WorkflowError(f"{required.label}: {error}") from error
    try:
        session.flush()  # the version check of an ORM update: nobody changed it meanwhile
    except StaleDataError as error:
        session.rollback()
        last = _latest_records(session, [dossier.id]).get(dossier.id)
        raise WorkflowError(_changed_message(last, seen)) from error
    return dossier.version


def _single(
    action: str,
    dossier: Dossier,
    user: User,
    note: str,
    seen_version: int | None,
    fields: dict[str, str] | None = None,
) -> StepRecord:
    session = object_session(dossier)
    session.flush()  # the caller's own pending changes are not someone else's
    seen = dossier.version if seen_version is None else seen_version
    if fields:
        try:
            seen = _set_fields(session, dossier, user, seen, fields)
        except WorkflowError:
            session.rollback()
            raise
    result = _apply(session, action, [dossier.id], user, note, {dossier.id: seen},
                    all_or_nothing=bool(fields))  # fmt: skip
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
        if action != "return" and d.current_step and checks_iku(d.current_step)
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
    all_or_nothing: bool = False,
) -> BulkResult:
    """Decide for each dossier, then move the allowed ones with compare-and-set updates.

    ``all_or_nothing``: when any dossier is skipped, roll everything back (the caller's own
    changes in the same transaction included) instead of committing the others.
    """
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
        if groups and not (all_or_nothing and result.skipped):
            _move(session, action, groups, user, note, result)
        if all_or_nothing and result.skipped:
            session.rollback()
            result.done.clear()
        else:
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
        names = record_names(user, step)
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
                "sop_version": dossier.sop.version, **names,
            })  # fmt: skip
            totals.add_step(step.position, step.role_id, user.id, now, mutu.group_of(dossier),
                            minutes, step.standard_minutes)  # fmt: skip
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
            totals.add_cycle(now, mutu.group_of(dossier), cycles[dossier.id], standard)
    mutu.write_totals(session.connection(), totals)
    if lost:
        # Someone else moved these between our read and our update: say who.
        latest = _latest_records(session, [d.id for d in lost])
        for dossier in lost:
            result.skipped[dossier.id] = _changed_message(latest.get(dossier.id), dossier.version)


# --- Starting dossiers and SOP versions -------------------------------------------------------


def active_versions(session: Session) -> Select:
    """The active SOP version of each procedure: what a new dossier may be registered under,
    the default procedure's first."""
    return (
        select(Sop).join(Sop.procedure)
        .where(Sop.status == "active", Sop.steps.any())
        .order_by(*Procedure.ordered())
    )  # fmt: skip


def active_sop(session: Session, procedure_id: int | None = None) -> Sop:
    """The SOP version new dossiers of a procedure start under; without one, the first of
    ``active_versions`` (the default procedure's, else the next that has one)."""
    if procedure_id is None:
        sop = session.scalar(active_versions(session).limit(1))
    else:
        sop = session.scalar(
            select(Sop).where(Sop.status == "active", Sop.procedure_id == procedure_id)
            .order_by(Sop.version.desc()).limit(1)
        )  # fmt: skip
    if sop is None or not sop.steps:
        raise WorkflowError(_("There is no active SOP with steps. Ask IT to activate one."))
    return sop


def start_dossier(session: Session, dossier: Dossier, user: User | None = None) -> Dossier:
    """Pin a new dossier to the active version of its SOP (the one chosen at registration,
    ``dossier.sop``, else the default procedure's) and put it at its first step."""
    with session.no_autoflush:  # the dossier may already be pending, still without its SOP
        chosen = dossier.sop
        if chosen is not None and (chosen.status != "active" or not chosen.steps):
            raise WorkflowError(
                _("%(sop)s is not an active SOP version; choose another.", sop=chosen)
            )
        sop = chosen or active_sop(session)
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


def recompute_due_times(session: Session) -> int:
    """Work out again when the current step of every open dossier is due, on the working
    calendar as it is now (after a day off or an extra working day was added, changed or
    removed), in the caller's transaction: one read and one executemany UPDATE. A dossier
    that moved meanwhile keeps the due time its move computed. Returns how many changed."""
    session.flush()
    calendar = _calendar(session)
    rows = session.execute(
        select(Dossier.id, Dossier.step_started_at, Dossier.step_due_at,
               SopStep.standard_minutes)
        .join(SopStep, SopStep.id == Dossier.current_step_id)
        .where(Dossier.status == "in_progress")
    ).all()  # fmt: skip
    changed = []
    for dossier_id, started, due, minutes in rows:
        new = calendar.add_working_minutes(started, minutes)
        if new != due:
            changed.append({"b_id": dossier_id, "b_started": started, "b_due": new})
    if changed:
        table = Dossier.__table__
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("b_id"),
                   table.c.step_started_at == bindparam("b_started",
                                                        type_=table.c.step_started_at.type))
            .values(step_due_at=bindparam("b_due", type_=table.c.step_due_at.type)),
            changed,
        )  # fmt: skip
        session.expire_all()  # loaded dossiers show the new due times
    return len(changed)


def sop_in_use(session: Session, sop_id: int, finished_too: bool = False) -> bool:
    """Whether an open dossier runs on this SOP version (then it is not edited in place); with
    ``finished_too``, whether any dossier ever ran on it (then it stays with its SOP)."""
    where = [] if finished_too else [Dossier.status == "in_progress"]
    return session.scalar(
        select(Dossier.id).where(Dossier.sop_id == sop_id, *where).limit(1)
    ) is not None  # fmt: skip


def checks_iku(step: SopStep) -> bool:
    """Whether the step checks the IKU content."""
    return requirements.IKU_CONTENT in (step.requirements or [])


def iku_step_error(step: SopStep, procedure: Procedure) -> str | None:
    """Why this step may not be a step of that procedure's SOP: it checks the IKU content and
    the procedure's dossiers draft none (None: it may)."""
    if procedure.carries_iku or not checks_iku(step):
        return None
    return _("Step %(n)s (%(activity)s) checks the IKU content, but the SOP %(sop)s does not "
             "draft an IKU.", n=step.position, activity=step.activity, sop=procedure)  # fmt: skip


def ensure_iku_kept(session: Session, procedure: Procedure) -> None:
    """Refuse to change whether a procedure's dossiers draft an IKU once any dossier ran on
    it (their IKU tables and signed documents would vanish or appear), or while one of its
    versions has a step that checks the IKU content."""
    used = session.scalar(
        select(func.count()).select_from(Dossier).join(Sop, Sop.id == Dossier.sop_id)
        .where(Sop.procedure_id == procedure.id)
    )  # fmt: skip
    if used:
        raise WorkflowError(_(
            "%(n)s dossier(s) ran on this SOP; whether its dossiers draft an IKU can no "
            "longer change. Make a new SOP instead.", n=used))  # fmt: skip
    steps = session.scalars(select(SopStep).join(Sop).where(Sop.procedure_id == procedure.id))
    errors = [e for e in (iku_step_error(step, procedure) for step in steps) if e]
    if errors:
        raise WorkflowError(" ".join(errors))


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
    """Copy an SOP version with its steps into a new draft version of its procedure."""
    latest = session.scalar(select(func.max(Sop.version)).where(Sop.number == sop.number))
    skip = {"id", "version", "status", "row_version"}
    copy = Sop(
        **{c.key: getattr(sop, c.key) for c in Sop.__table__.columns if c.key not in skip},
        version=latest + 1,
        status="draft",
    )
    step_skip = {"id", "sop_id", "row_version", "standard_minutes", "return_to_step_id"}
    # (``SopStep.requirements`` is given a list of its own by the model, not the original's.)
    copies = {}
    for step in sop.steps:
        copies[step.id] = SopStep(**{c.key: getattr(step, c.key) for c in SopStep.__table__.columns
                                     if c.key not in step_skip})  # fmt: skip
        copy.steps.append(copies[step.id])
    session.add(copy)
    session.flush()  # the copies in step order first (their ids follow the positions)
    for step in sop.steps:  # a return target becomes the copy of its target
        copies[step.id].return_to = copies.get(step.return_to_step_id)
    session.commit()
    return copy


def activation_errors(session: Session, sop: Sop) -> list[str]:
    """Why this version cannot be activated, one message per step at fault (empty: it can).

    Every step's role must be held by an active user (else dossiers would wait there for
    nobody); a review must return to an earlier step of the same version; at most one step
    signs the IKU.
    """
    if not sop.steps:
        return [_("An SOP version without steps cannot be activated.")]
    role_ids = {step.role_id for step in sop.steps}
    held = set(
        session.scalars(
            select(user_role.c.role_id)
            .join(User, User.id == user_role.c.user_id)
            .where(User.active, user_role.c.role_id.in_(role_ids))
        )
    )
    errors = []
    for step in sop.steps:
        if step.role_id not in held:
            errors.append(
                _("Step %(n)s (%(activity)s): no active user holds the role %(role)s.",
                  n=step.position, activity=step.activity, role=step.role.name)
            )  # fmt: skip
        back = step.return_to
        if step.kind == "review" and (
            back is None or back.sop_id != sop.id or back.position >= step.position
        ):
            errors.append(
                _("Step %(n)s (%(activity)s) is a review and must return to an earlier step of "
                  "this version, not to %(to)s.", n=step.position, activity=step.activity,
                  to=_("step %(n)s of %(sop)s", n=back.position, sop=back.sop)
                  if back is not None else "–")
            )  # fmt: skip
    errors += [e for e in (iku_step_error(step, sop.procedure) for step in sop.steps) if e]
    unknown = {s.position: requirements.unknown(session, s.requirements) for s in sop.steps}
    errors += [
        _("Step %(n)s requires %(names)s, which is no longer a field or a check.", n=position,
          names=", ".join(names))
        for position, names in unknown.items() if names
    ]  # fmt: skip
    signing = [step for step in sop.steps if step.signature == "sign"]
    if len(signing) > 1:
        errors.append(
            _("Steps %(steps)s all sign the IKU; only one step may.",
              steps=", ".join(str(step.position) for step in signing))
        )  # fmt: skip
    return errors


def activate_sop(session: Session, sop: Sop) -> None:
    """Make this version the one new dossiers of its procedure take; the procedure's other
    versions retire."""
    errors = activation_errors(session, sop)
    if errors:
        raise WorkflowError(" ".join(errors))
    session.execute(
        update(Sop)
        .where(Sop.procedure_id == sop.procedure_id, Sop.id != sop.id, Sop.status == "active")
        .values(status="retired")
    )
    sop.status = "active"
    session.commit()


def make_room(session: Session, sop_id: int, position: int) -> None:
    """Move the steps of an SOP version at ``position`` and after it one down, so that a new
    step can take ``position``; in the caller's transaction.

    Two updates, since the unique (sop_id, position) is checked row by row on PostgreSQL and
    SQLite alike: the steps first go to negative positions (-(p + 1), free), then back to
    positive ones. Return targets refer to steps, not positions, and so keep pointing at the
    same steps; each moved step's version goes up (an edit form opened before is refused).
    """
    table = SopStep.__table__
    with session.no_autoflush:
        session.execute(
            update(table)
            .where(table.c.sop_id == sop_id, table.c.position >= position)
            .values(position=-table.c.position - 1, row_version=table.c.row_version + 1)
        )
        session.execute(
            update(table)
            .where(table.c.sop_id == sop_id, table.c.position < 0)
            .values(position=-table.c.position)
        )
    for step in [o for o in session.identity_map.values() if isinstance(o, SopStep)]:
        if step.sop_id == sop_id:
            session.expire(step, ["position", "row_version"])
