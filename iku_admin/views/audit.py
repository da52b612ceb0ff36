"""The audit log screen: each change as a person reads it, an Indonesian action name, the
record's screen, and field by field the screen's own label with the old and the new value."""

from __future__ import annotations

import json
from datetime import datetime

from flask_babel import pgettext
from markupsafe import Markup

from models import AuditEntry

from ..extensions import db
from ..i18n import _, _l, fmt_date
from .base import GuardedModelView

ACTION_NAMES = {"create": _l("Created"), "update": _l("Changed"), "delete": _l("Deleted")}
# A value longer than this is cut on the screen (the export keeps it whole).
SHOWN_CHARS = 120
EMPTY = "–"


def _views_by_table(view) -> dict[str, GuardedModelView]:
    """Each audited table's screen (the first registered for its model): its name and its
    column labels name the record and its fields, as on that screen."""
    found: dict[str, GuardedModelView] = {}
    for other in view.admin._views:
        model = getattr(other, "model", None)
        if model is not None and hasattr(model, "__tablename__"):
            found.setdefault(model.__tablename__, other)
    return found


def _value(value, cut: bool) -> str:
    """A logged value (JSON) in words."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return pgettext("boolean", "Yes") if value else pgettext("boolean", "No")
    if isinstance(value, dict):  # a secret ("changed") or a file (size and digest)
        if value.get("changed"):
            return _("(changed)")
        if "bytes" in value:
            return _("file of %(n)s bytes", n=value["bytes"])
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return ", ".join(map(str, value)) or EMPTY
    if isinstance(value, str) and 10 <= len(value) <= 32 and value[:4].isdigit():
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return fmt_date(parsed if len(value) > 10 else parsed.date())
    text = str(value)
    if cut and len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return text


def _label(screen, name: str, prettified: bool = False) -> str | None:
    """A field's label on its screen (None when the screen names none), or its name made
    readable (``prettified``)."""
    if screen is not None and name in (screen.column_labels or {}):
        return str(screen.column_labels[name])
    if prettified:
        return str(screen.get_column_name(name)) if screen is not None else name
    return None


def readable_changes(view, entry: AuditEntry, cut: bool = True) -> list[tuple[str, str, str]]:
    """The entry's changes as (field label, old value, new value), in words."""
    try:
        changes = json.loads(entry.changes or "{}")
    except ValueError:
        return [(_("Changes"), EMPTY, entry.changes)]
    screen = _views_by_table(view).get(entry.table_name)
    rows = []
    for name, change in changes.items():
        if not isinstance(change, dict) or not {"old", "new"} <= set(change):
            change = {"old": None, "new": change}
        old, new = change["old"], change["new"]
        if entry.action == "create" and new in (None, "") and not isinstance(new, bool):
            continue  # an empty field of a new record says nothing
        if name in ("id", "row_version", "version") and entry.action != "delete":
            continue  # bookkeeping, not content
        label = _label(screen, name)
        if name.endswith("_id") and label is None:  # a reference: the related record's label
            label = _label(screen, name.removesuffix("_id"))
            old, new = (f"#{v}" if isinstance(v, int) else v for v in (old, new))
        rows.append((label or _label(screen, name, True), _value(old, cut), _value(new, cut)))
    return rows


def _change(action: str, old: str, new: str) -> Markup:
    """A new record shows its values, a deleted one what it held, a change old → new."""
    if action == "create":
        return Markup("{}").format(new)
    if action == "delete":
        return Markup("{}").format(old)
    return Markup('<span class="text-muted">{}</span> → {}').format(old, new)


def _changes_formatter(view, context, model: AuditEntry, name: str) -> Markup:
    items = [
        Markup("<li><strong>{}</strong>: {}</li>").format(label, _change(model.action, old, new))
        for label, old, new in readable_changes(view, model)
    ]
    return Markup('<ul class="audit-changes list-unstyled mb-0">{}</ul>').format(
        Markup("").join(items)
    )


def _change_text(action: str, old: str, new: str) -> str:
    """As ``_change``, in plain text (for the export)."""
    return {"create": new, "delete": old}.get(action, f"{old} → {new}")


def _changes_export(view, context, model: AuditEntry, name: str) -> str:
    return "; ".join(
        f"{label}: {_change_text(model.action, old, new)}"
        for label, old, new in readable_changes(view, model, cut=False)
    )


def _table_formatter(view, context, model: AuditEntry, name: str) -> str:
    screen = _views_by_table(view).get(model.table_name)
    return str(screen.name) if screen is not None else model.table_name


class AuditEntryView(GuardedModelView):
    """Read-only: the log is append-only."""

    allow_create = allow_edit = allow_delete = False
    can_export = True
    simple_list_pager = True
    export_types = ["csv", "xlsx"]
    column_default_sort = ("id", True)
    column_list = ["at", "username", "action", "table_name", "row_id", "changes"]
    column_filters = ["at", "username", "action", "table_name", "row_id"]
    column_choices = {"action": list(ACTION_NAMES.items())}
    column_formatters = {"changes": _changes_formatter, "table_name": _table_formatter}
    column_formatters_export = {"changes": _changes_export, "table_name": _table_formatter}
    column_labels = {
        "at": _l("Time"), "username": _l("Username"), "action": _l("Action"),
        "table_name": _l("Record"), "row_id": _l("Row"), "changes": _l("Changes"),
    }  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(AuditEntry, db, **kwargs)
