"""The IKU content lock, held on every ORM write.

Strategic objectives, indicators and targets belong to a dossier. Once its content is locked
(``workflow.ensure_content_editable``: approved at the review step, or the dossier finished),
none of its rows may be added, changed or deleted, nor moved in or out of it. The check runs
before every flush of every session, so the forms, list actions, the Excel import, commands
and any other code using the ORM are held alike. A row given another parent (objective,
indicator or dossier) is checked against the dossier it leaves, as the database still holds
it, and against the dossier it joins, as the session holds it.

Each dossier whose content changes gets its version bumped in the same flush: the lock was
decided on that version, and a workflow transition that moved the dossier meanwhile makes
the flush fail (``StaleDataError``) instead of writing into content that was just approved.

Core statements (``session.execute(update(...))``, the backup restore) are not seen, as with
the audit log.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from models import Dossier, Indicator, IndicatorTarget, StrategicObjective

from . import workflow

# Each content model's parent: (relationship, foreign key attribute, parent model).
PARENTS = {
    StrategicObjective: ("dossier", "dossier_id", Dossier),
    Indicator: ("objective", "objective_id", StrategicObjective),
    IndicatorTarget: ("indicator", "indicator_id", Indicator),
}
# The dossier of each content model's rows, as stored.
STORED_DOSSIER = {
    StrategicObjective: select(StrategicObjective.dossier_id),
    Indicator: select(StrategicObjective.dossier_id).join(Indicator.objective),
    IndicatorTarget: select(StrategicObjective.dossier_id)
    .select_from(IndicatorTarget)
    .join(IndicatorTarget.indicator)
    .join(Indicator.objective),
}


def init_app(app: Flask) -> None:
    """Hold the lock on every session (registered once per process, like the audit log)."""
    if not event.contains(Session, "before_flush", _check):
        event.listen(Session, "before_flush", _check)


def _check(session: Session, flush_context, instances) -> None:
    new = [row for row in session.new if type(row) in PARENTS]
    changed = [r for r in session.dirty if type(r) in PARENTS and session.is_modified(r)]
    deleted = [row for row in session.deleted if type(row) in PARENTS]
    stored: dict[type, set[int]] = {}  # stored rows, per model: the dossier they leave
    for row in [*changed, *deleted]:
        stored.setdefault(type(row), set()).add(inspect(row).identity[0])
    dossiers: dict[int, Dossier] = {}  # by id(): a new dossier has no primary key yet
    for row in [*new, *changed]:  # the dossier they join
        dossier = _dossier(session, row)
        if dossier is not None:
            dossiers[id(dossier)] = dossier
    for model, ids in stored.items():
        for dossier_id in session.scalars(STORED_DOSSIER[model].where(model.id.in_(ids))):
            dossier = session.get(Dossier, dossier_id)
            dossiers[id(dossier)] = dossier
    for dossier in dossiers.values():
        workflow.ensure_content_editable(dossier)
        if inspect(dossier).persistent:
            # A content change is a change of the dossier: whoever opened it before (to
            # review it, say) must reload before acting on it.
            flag_modified(dossier, "title")


def _parent(session: Session, row):
    """The parent ``row`` will have once flushed: a newly assigned relationship, else the
    object its foreign key names."""
    relationship, foreign_key, model = PARENTS[type(row)]
    if inspect(row).attrs[relationship].history.has_changes():
        return getattr(row, relationship)
    key = getattr(row, foreign_key)
    return None if key is None else session.get(model, key)


def _dossier(session: Session, row) -> Dossier | None:
    """The dossier ``row`` will belong to once flushed."""
    while row is not None and not isinstance(row, Dossier):
        row = _parent(session, row)
    return row
