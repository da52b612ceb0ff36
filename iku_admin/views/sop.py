"""SOP versions and their steps: IT edits them; a version in use is copied, not changed."""

from __future__ import annotations

from flask import flash
from flask_admin.actions import action
from wtforms.validators import ValidationError

from models import Sop
from models.validation import TIME_UNITS

from .. import workflow
from ..extensions import db
from ..i18n import _, _l
from .base import GuardedModelView


class SopView(GuardedModelView):
    selection_text = _l("Select SOP version #%(id)s")
    allow_delete = False
    column_list = ["number", "name", "version", "status", "ratified_on", "ratified_by_name"]
    column_filters = ["number", "status"]
    column_searchable_list = ["number", "name"]
    form_excluded_columns = ["steps", "status", "version", "row_version"]
    column_choices = {
        "status": [("draft", _l("Draft")), ("active", _l("Active")), ("retired", _l("Retired"))]
    }
    column_labels = {
        "number": _l("SOP number"), "name": _l("SOP name"), "version": _l("Version"),
        "status": _l("Status"), "agency": _l("Agency"), "government": _l("Government"),
        "made_on": _l("Date made"), "revised_on": _l("Date revised"),
        "ratified_on": _l("Date ratified"), "ratified_by_title": _l("Ratified by (title)"),
        "ratified_by_name": _l("Ratified by (name)"), "ratified_by_nip": _l("Ratified by (NIP)"),
        "ratified_by_rank": _l("Ratified by (rank)"),
        "legal_basis": _l("Legal basis"), "qualifications": _l("Implementer qualifications"),
        "related_sops": _l("Related SOPs"), "equipment": _l("Equipment"),
        "warning": _l("Warning"), "records": _l("Recording and data keeping"),
    }  # fmt: skip

    def on_model_change(self, form, model, is_created):
        if not is_created:
            try:
                workflow.ensure_sop_editable(db.session, model.id)
            except workflow.WorkflowError as error:
                raise ValidationError(str(error)) from error

    @action("new_version", _l("New version"), _l("Copy the selected SOP versions into new drafts?"))
    def action_new_version(self, ids):
        for sop in db.session.scalars(db.select(Sop).where(Sop.id.in_(self.row_ids(ids)))).all():
            copy = workflow.new_sop_version(db.session, sop)
            flash(
                _("Draft %(sop)s created; edit its steps, then activate it.", sop=copy), "success"
            )

    @action("activate", _l("Activate"), _l("New dossiers will use the selected version. Continue?"))
    def action_activate(self, ids):
        for sop in db.session.scalars(db.select(Sop).where(Sop.id.in_(self.row_ids(ids)))).all():
            try:
                workflow.activate_sop(db.session, sop)
                flash(_("%(sop)s is now active.", sop=sop), "success")
            except workflow.WorkflowError as error:
                flash(str(error), "error")

    def is_action_allowed(self, name: str) -> bool:
        return self.can_edit and super().is_action_allowed(name)


class SopStepView(GuardedModelView):
    selection_text = _l("Select SOP step #%(id)s")
    allow_delete = True
    column_list = ["sop", "position", "activity", "role", "input", "output", "time_value",
                   "time_unit", "standard_minutes", "kind", "return_to_position", "requirement",
                   "notes"]  # fmt: skip
    column_default_sort = [("sop_id", False), ("position", False)]
    column_filters = ["sop.number", "sop.version", "role.code", "kind"]
    form_columns = ["sop", "position", "activity", "action_label", "role", "input", "output",
                    "time_value", "time_unit", "kind", "return_to_position", "requirement", "notes"]  # fmt: skip
    form_choices = {
        "time_unit": [(u, u) for u in TIME_UNITS],
        "kind": [("task", _l("Task")), ("review", _l("Review"))],
        "requirement": [("", _l("Nothing")), ("iku_content", _l("Complete IKU content")),
                        ("outgoing_letter", _l("Outgoing letter and distribution"))],
    }  # fmt: skip
    column_choices = form_choices
    column_labels = {
        "sop": _l("SOP"), "sop.number": _l("SOP number"), "sop.version": _l("SOP version"),
        "position": _l("No"), "activity": _l("Activity"),
        "action_label": _l("Button label"), "role": _l("Actor (role)"),
        "role.code": _l("Role"), "input": _l("Requirements (input)"), "output": _l("Output"),
        "time_value": _l("Standard time"), "time_unit": _l("Time unit"),
        "standard_minutes": _l("Working minutes"), "kind": _l("Kind"),
        "return_to_position": _l("Returns to step"), "requirement": _l("Checked before finishing"),
        "notes": _l("Notes"),
    }  # fmt: skip
    column_descriptions = {
        "action_label": _l('The verb on the button that finishes this step, e.g. "Beri Paraf".'),
    }
    form_args = {"time_value": {"validators": []}}

    def _guard(self, model, sop_ids) -> None:
        try:
            for sop_id in sop_ids:
                workflow.ensure_sop_editable(db.session, sop_id)
        except workflow.WorkflowError as error:
            raise ValidationError(str(error)) from error

    def on_model_change(self, form, model, is_created):
        history = db.inspect(model).attrs.sop_id.history
        self._guard(
            model, {model.sop_id or (model.sop and model.sop.id), *history.deleted} - {None}
        )
        if model.time_value is None or model.time_value <= 0:
            raise ValidationError(_("The standard time must be greater than zero."))
        if model.kind == "review" and not model.return_to_position:
            raise ValidationError(_("A review step needs the step it returns to."))

    def on_model_delete(self, model):
        self._guard(model, {model.sop_id})
