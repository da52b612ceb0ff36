"""The audit log: who created, changed or deleted which record, field by field.

Every ORM flush that inserts, updates or deletes a row of an audited model writes one
``AuditEntry`` per row, on the same connection and in the same transaction: a rolled-back
change leaves no entry, a committed one always has its entry. Mapper events collect the rows
(they see every row, cascaded and orphan deletes included); ``after_flush`` inserts them with
one Core statement, when new rows already have their ids.

Core statements are not seen: the workflow's transitions are Core UPDATEs of the dossier and
are recorded in the append-only step history instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime, time
from decimal import Decimal

import click
from flask import Flask, has_request_context
from flask_login import current_user
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Mapper, Session

from models import (
    Agency,
    AuditEntry,
    CustomField,
    Dossier,
    Indicator,
    IndicatorTarget,
    Permission,
    Procedure,
    Role,
    Sop,
    SopStep,
    StrategicObjective,
    User,
    utcnow,
)

AUDITED = (User, Role, Permission, Procedure, Sop, SopStep, StrategicObjective, Indicator,
           IndicatorTarget, Dossier, Agency, CustomField)  # fmt: skip
# Columns whose values never go into the log: only the fact that they changed.
SECRET_COLUMNS = {"password_hash": "password"}
SECRET_CHANGED = {"changed": True}
# Key in ``Session.info`` of the entries collected during the current flush.
PENDING = "audit_pending"


def init_app(app: Flask) -> None:
    """Start recording changes of the audited models.

    The listeners belong to the models and the session class, not to an app: they are
    registered once per process, however many apps (tests) are created.
    """
    if event.contains(Session, "after_flush", _write):
        return
    event.listen(Session, "before_flush", _start)
    event.listen(Session, "after_flush", _write)
    for model in AUDITED:
        event.listen(model, "after_insert", _created)
        event.listen(model, "after_update", _updated)
        event.listen(model, "before_delete", _deleted)
        for attr in inspect(model).column_attrs:
            # Load the old value when an expired attribute is set: an update must know
            # what it replaced.
            event.listen(getattr(model, attr.key), "set", _keep, active_history=True)


def json_value(value):
    """A column value as JSON: dates, times and datetimes in ISO 8601, Decimal as a string,
    bytes in base64; a JSON column's list or object as it is."""
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not a column value")


def actor() -> tuple[int | None, str]:
    """Who makes the change: the signed-in user, else ``cli`` (a command) or ``system``."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.username
    return None, "cli" if click.get_current_context(silent=True) else "system"


# --- Collecting -------------------------------------------------------------------------------


def _keep(target, value, oldvalue, initiator) -> None:
    """No-op: registered only for its ``active_history``."""


def _logged(value):
    if isinstance(value, bytes):  # a file (the emblem): its size and digest, not its content
        return {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}
    try:
        return json_value(value)
    except TypeError:  # e.g. a SQL expression assigned to an attribute
        return str(value)


def _role_codes(roles) -> list[str]:
    """Role codes without loading anything mid-flush (the id when a code is not loaded)."""
    states = [inspect(role) for role in roles]
    return sorted(s.dict.get("code") or f"#{s.identity[0] if s.identity else '?'}" for s in states)


def _roles_change(target, created: bool = False) -> dict:
    """User.roles (the user_role rows) as one field, when it changed."""
    if not isinstance(target, User):
        return {}
    history = inspect(target).attrs.roles.history
    if not (history.added or history.deleted):
        return {}
    old = None if created else _role_codes([*history.unchanged, *history.deleted])
    return {"roles": {"old": old, "new": _role_codes([*history.unchanged, *history.added])}}


def _collect(target, action: str, changes: dict) -> None:
    state = inspect(target)
    entries = state.session.info.setdefault(PENDING, [])
    row_id = ",".join(str(v) for v in state.mapper.primary_key_from_instance(target))
    entries.append({
        "action": action, "table_name": state.mapper.local_table.name, "row_id": row_id,
        "changes": json.dumps(changes, ensure_ascii=False),
    })  # fmt: skip


def _created(mapper: Mapper, connection, target) -> None:
    values = inspect(target).dict
    changes = {}
    for attr in mapper.column_attrs:
        value = values.get(attr.key)
        if attr.key in SECRET_COLUMNS:
            if value:
                changes[SECRET_COLUMNS[attr.key]] = SECRET_CHANGED
            continue
        changes[attr.key] = {"old": None, "new": _logged(value)}
    changes.update(_roles_change(target, created=True))
    _collect(target, "create", changes)


def _updated(mapper: Mapper, connection, target) -> None:
    attrs = inspect(target).attrs
    changes = {}
    for attr in mapper.column_attrs:
        history = attrs[attr.key].history
        if not history.has_changes():
            continue
        if attr.key in SECRET_COLUMNS:
            changes[SECRET_COLUMNS[attr.key]] = SECRET_CHANGED
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        changes[attr.key] = {"old": _logged(old), "new": _logged(new)}
    changes.update(_roles_change(target))
    if changes:
        _collect(target, "update", changes)


def _deleted(mapper: Mapper, connection, target) -> None:
    # getattr loads what an expired row no longer holds, before the row goes.
    changes = {
        attr.key: {"old": _logged(getattr(target, attr.key)), "new": None}
        for attr in mapper.column_attrs
        if attr.key not in SECRET_COLUMNS
    }
    if isinstance(target, User):
        changes["roles"] = {"old": _role_codes(target.roles), "new": None}
    _collect(target, "delete", changes)


# --- Writing ----------------------------------------------------------------------------------


def _start(session: Session, flush_context, instances) -> None:
    # Entries left by a flush that failed belong to rolled-back changes: drop them.
    session.info[PENDING] = []
    # Membership is logged on the user: a change made through Role.users shows in a user's
    # roles history only once that collection is loaded.
    for role in [*session.new, *session.dirty]:
        if isinstance(role, Role):
            history = inspect(role).attrs.users.history
            for user in [*history.added, *history.deleted]:
                user.roles  # noqa: B018 (loads the collection)


def _write(session: Session, flush_context) -> None:
    entries = session.info.pop(PENDING, None)
    if not entries:
        return
    user_id, username = actor()
    now = utcnow()
    session.connection().execute(
        insert(AuditEntry.__table__),
        [{**entry, "at": now, "user_id": user_id, "username": username} for entry in entries],
    )
