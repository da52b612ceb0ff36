"""SOP versions and their steps: IT edits them; a version in use is copied, not changed."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.form.widgets import Select2Widget
from flask_admin.model.template import LinkRowAction
from sqlalchemy import select
from wtforms import SelectMultipleField
from wtforms.validators import ValidationError

from models import Procedure, Sop, SopStep
from models.validation import TIME_UNITS, RuleError, parse_integer

from .. import requirements, workflow
from ..extensions import db
from ..i18n import _, _l
from .base import GuardedModelView


class _Procedures:
    """The SOPs, as a list filter's options: read when the list draws its filters, on each
    request (Flask-Admin keeps a filter's options from start-up, so a callable would be read
    once and miss the SOPs added later)."""

    def __iter__(self):
        rows = db.session.execute(
            db.select(Procedure.id, Procedure.name).order_by(*Procedure.ordered())
        )
        return iter(rows.all())

    def __bool__(self) -> bool:
        return True


class ProcedureFilter(BaseSQLAFilter):
    """A list's "SOP" filter: the rows whose ``column`` (an SOP version's id, or an SOP
    step's) belongs to the chosen SOP. A subquery, so the list query needs no join."""

    def __init__(self, column, name, by_procedure):
        super().__init__(column, name, options=_Procedures())
        self.by_procedure = by_procedure  # procedure id -> select of the ids ``column`` holds

    def validate(self, value) -> bool:
        return parse_integer(value, minimum=1) is not None

    def clean(self, value) -> int:
        return parse_integer(value, minimum=1)

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias).in_(self.by_procedure(value)))

    def operation(self):
        return admin_lazy_gettext("equals")  # Flask-Admin's own word, in its catalog


def versions_of(procedure_id: int):
    return select(Sop.id).where(Sop.procedure_id == procedure_id)


def steps_of(procedure_id: int):
    return (
        select(SopStep.id)
        .join(Sop, Sop.id == SopStep.sop_id)
        .where(Sop.procedure_id == procedure_id)
    )


class ProcedureView(GuardedModelView):
    """The SOPs an agency runs side by side ("Penyusunan IKU", "Penyusunan LKjIP"), each with
    its versions; which carries an IKU, and which the registration form offers first."""

    selection_text = _l("Select SOP #%(id)s")
    allow_delete = False  # its versions and dossiers refer to it; a name can change
    column_list = ["name", "carries_iku", "is_default"]
    form_columns = ["name", "carries_iku"]
    column_labels = {"name": _l("SOP"), "carries_iku": _l("Dossiers draft an IKU"),
                     "is_default": _l("Offered first at registration")}  # fmt: skip
    column_descriptions = {
        "carries_iku": _l("Its dossiers have the IKU table, its editor and the IKU document."),
        "is_default": _l("Set with the action “Make default” on the list."),
    }

    def on_model_change(self, form, model, is_created):
        with db.session.no_autoflush:
            others = db.session.scalar(select(Procedure.id).where(Procedure.id != model.id)
                                       .limit(1))  # fmt: skip
            if is_created and others is None:
                model.is_default = True  # the only one is the default
            if not is_created and db.inspect(model).attrs.carries_iku.history.has_changes():
                try:
                    workflow.ensure_iku_kept(db.session, model)
                except workflow.WorkflowError as error:
                    raise ValidationError(str(error)) from error

    @action("make_default", _l("Make default"),
            _l("New dossiers will be offered the selected SOP first. Continue?"))  # fmt: skip
    def action_make_default(self, ids):
        ids = self.row_ids(ids)
        if len(ids) != 1:
            flash(_("Choose exactly one SOP to make the default."), "error")
            return
        procedure = db.get_or_404(Procedure, ids[0])
        for each in db.session.scalars(select(Procedure)):  # through the ORM: audited
            each.is_default = each.id == procedure.id
        db.session.commit()
        flash(_("%(sop)s is now offered first.", sop=procedure), "success")

    def is_action_allowed(self, name: str) -> bool:
        return self.can_edit and super().is_action_allowed(name)


class SopView(GuardedModelView):
    selection_text = _l("Select SOP version #%(id)s")
    allow_delete = False
    column_list = ["procedure", "number", "name", "version", "status", "ratified_on",
                   "ratified_by_name"]  # fmt: skip
    column_filters = ["procedure", "number", "status"]
    column_searchable_list = ["number", "name"]
    form_excluded_columns = ["steps", "status", "version", "row_version"]
    form_args = {"procedure": {"allow_blank": False}}
    column_choices = {
        "status": [("draft", _l("Draft")), ("active", _l("Active")), ("retired", _l("Retired"))]
    }
    column_labels = {
        "procedure": _l("SOP"), "number": _l("SOP number"), "name": _l("SOP name"),
        "version": _l("Version"),
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
            moved = db.inspect(model).attrs.procedure_id.history.has_changes() or (
                db.inspect(model).attrs.procedure.history.has_changes()
            )
            if moved and (
                model.status == "active"
                or workflow.sop_in_use(db.session, model.id, finished_too=True)
            ):
                raise ValidationError(_(
                    "An active version, or one that dossiers ran on, stays with its SOP; make "
                    "a new version instead."))  # fmt: skip

    @action("new_version", _l("New version"), _l("Copy the selected SOP versions into new drafts?"))
    def action_new_version(self, ids):
        for sop in db.session.scalars(db.select(Sop).where(Sop.id.in_(self.row_ids(ids)))).all():
            try:
                copy = workflow.new_sop_version(db.session, sop)
            except RuleError as error:  # e.g. a step requires a field no longer there
                db.session.rollback()
                flash(_("%(sop)s was not copied: %(reason)s", sop=sop,
                        reason=_(error.message, **error.params)),
                      "error")  # fmt: skip
                continue
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


def _insert_after(action, row_id, row) -> str:
    """The new-step form, at the position after this step (see ``SopStepView``)."""
    return url_for(
        ".create_view", sop=row.sop_id, position=row.position + 1, url=request.full_path.rstrip("?")
    )


class SopStepView(GuardedModelView):
    """Steps of SOP versions. A new step at a position already taken goes in there: that step
    and the later ones move one down (in the same save); return targets are steps, not
    positions, so they follow. Each row offers "Insert a step after this one"."""

    selection_text = _l("Select SOP step #%(id)s")
    allow_delete = True
    column_list = ["sop", "position", "activity", "role", "input", "output", "time_value",
                   "time_unit", "standard_minutes", "kind", "return_to", "requirements",
                   "signature", "notes"]  # fmt: skip
    # Every listed column but the requirements (a JSON list: PostgreSQL does not order those).
    column_sortable_list = [c for c in column_list if c not in ("requirements", "sop", "role",
                                                                 "return_to")]  # fmt: skip
    column_default_sort = [("sop_id", False), ("position", False)]
    column_filters = ["sop.number", "sop.version", "role.code", "kind"]
    form_columns = ["sop", "position", "activity", "action_label", "role", "input", "output",
                    "time_value", "time_unit", "kind", "return_to", "requirements", "signature",
                    "notes"]  # fmt: skip
    # Chosen among iku_admin/requirements.py's names (the choices are set per form); an
    # unknown name is refused, with its message, when the step is saved.
    form_overrides = {"requirements": SelectMultipleField}
    form_choices = {
        "time_unit": [(u, u) for u in TIME_UNITS],
        "kind": [("task", _l("Task")), ("review", _l("Review"))],
        "signature": [("", _l("Neither")), ("sign", _l("Signs it")),
                      ("initial", _l("Initials it (paraf)"))],
    }  # fmt: skip
    column_choices = form_choices
    column_formatters = {
        "return_to": lambda v, c, m, n: m.return_to.position if m.return_to else "",
        "requirements": lambda v, c, m, n: ", ".join(
            requirements.labels(db.session, m.requirements)
        ),
    }
    column_formatters_export = column_formatters
    column_labels = {
        "sop": _l("SOP"), "sop.number": _l("SOP number"), "sop.version": _l("SOP version"),
        "position": _l("No"), "activity": _l("Activity"),
        "action_label": _l("Button label"), "role": _l("Actor (role)"),
        "role.code": _l("Role"), "input": _l("Requirements (input)"), "output": _l("Output"),
        "time_value": _l("Standard time"), "time_unit": _l("Time unit"),
        "standard_minutes": _l("Working minutes"), "kind": _l("Kind"),
        "return_to": _l("Returns to step"), "requirements": _l("Checked before finishing"),
        "signature": _l("On the IKU document"), "notes": _l("Notes"),
    }  # fmt: skip
    column_descriptions = {
        "action_label": _l('The verb on the button that finishes this step, e.g. "Beri Paraf".'),
        "position": _l("A number already taken inserts the step there: that step and the later "
                       "ones move one down."),
        "return_to": _l("Only for a review: the earlier step of the same SOP version that a "
                        "returned draft goes back to."),
        "signature": _l("Whoever did this step signs the IKU, or initials it in the paraf table."),
        "requirements": _l("What must be complete before the step can be finished: checks of "
                           "the IKU and dossier fields, which are typed in beside the button."),
    }  # fmt: skip
    form_args = {
        "time_value": {"validators": []},
        "return_to": {"get_label": lambda step: f"{step.sop} – {step}", "blank_text": "–"},
        "requirements": {"widget": Select2Widget(multiple=True), "validate_choice": False},
    }

    def get_list_row_actions(self):
        actions = super().get_list_row_actions()
        if self.can_create:
            actions.append(
                LinkRowAction("fa fa-plus", _insert_after, title=_("Insert a step after this one"))
            )
        return actions

    def _return_targets(self, form, sop_id: int | None, step_id: int | None = None):
        """Offer as return targets the steps of the step's own SOP version, and every
        requirement by its label."""
        form.requirements.choices = requirements.choices(db.session)
        if sop_id is not None:
            form.return_to.query_factory = lambda: db.session.scalars(
                select(SopStep)
                .where(SopStep.sop_id == sop_id, SopStep.id != step_id)
                .order_by(SopStep.position)
            ).all()
        return form

    def create_form(self, obj=None):
        form = super().create_form(obj)
        sop = db.session.get(Sop, parse_integer(request.args.get("sop"), minimum=1) or 0)
        if request.method == "GET" and sop is not None:
            form.sop.data = sop
            form.position.data = parse_integer(request.args.get("position"), minimum=1)
        return self._return_targets(form, sop.id if sop else None)

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        return self._return_targets(form, obj.sop_id if obj else None, obj.id if obj else None)

    def _guard(self, model, sop_ids) -> None:
        try:
            for sop_id in sop_ids:
                workflow.ensure_sop_editable(db.session, sop_id)
        except workflow.WorkflowError as error:
            raise ValidationError(str(error)) from error

    def on_model_change(self, form, model, is_created):
        with db.session.no_autoflush:  # the new step is not written before there is room
            history = db.inspect(model).attrs.sop_id.history
            sop_id = model.sop.id if model.sop else model.sop_id
            self._guard(model, {sop_id, *history.deleted} - {None})
            sop = model.sop or (db.session.get(Sop, sop_id) if sop_id else None)
            refusal = sop and workflow.iku_step_error(model, sop.procedure)
            if refusal:
                raise ValidationError(refusal)
            if model.time_value is None or model.time_value <= 0:
                raise ValidationError(_("The standard time must be greater than zero."))
            back = model.return_to
            if model.kind == "review" and back is None:
                raise ValidationError(_("A review step needs the step it returns to."))
            if model.kind != "review" and back is not None:
                raise ValidationError(_("Only a review step returns to an earlier step."))
            if back is not None and (back.sop_id != sop_id or back.position >= model.position):
                raise ValidationError(
                    _("A review returns to an earlier step of its own SOP version.")
                )
            if is_created and sop_id is not None:
                taken = db.session.scalar(
                    select(SopStep.id).where(
                        SopStep.sop_id == sop_id, SopStep.position == model.position
                    )
                )
                if taken is not None:
                    workflow.make_room(db.session, sop_id, model.position)

    def on_model_delete(self, model):
        self._guard(model, {model.sop_id})
