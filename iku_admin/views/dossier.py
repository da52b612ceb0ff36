"""Dossiers: the list with bulk workflow actions, and the details page with the SOP position,
history, IKU table and one button per available action."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload, selectinload
from wtforms.validators import ValidationError

from models import Dossier, Indicator, StepRecord, StrategicObjective

from .. import workflow
from ..extensions import db
from ..i18n import _, _l
from .base import GuardedModelView

ACTION_LABELS = {
    "complete": _l("Complete step"),
    "approve": _l("Approve"),
    "return": _l("Return for revision"),
}


def _step_label(view, context, model, name):
    step = model.current_step
    if model.status == "done" or step is None:
        return _("Done")
    return f"{step.position}. {step.activity}"


class DossierView(GuardedModelView):
    list_template = "dossier/list.html"
    details_template = "dossier/details.html"
    allow_delete = False  # a dossier's history is permanent
    version_field = "version"
    can_export = True
    export_types = ["csv", "xlsx"]
    column_list = ["id", "title", "period_start", "period_end", "current_step", "status",
                   "revision_round", "step_started_at", "step_due_at", "letter_number"]  # fmt: skip
    column_export_list = [*column_list, "letter_date", "letter_sender", "letter_subject",
                          "outgoing_agenda_number", "created_at", "finished_at"]  # fmt: skip
    column_default_sort = ("id", True)
    column_searchable_list = ["title", "letter_number", "letter_subject", "letter_sender"]
    column_filters = ["current_step.position", "status", "period_start", "period_end",
                      "letter_date"]  # fmt: skip
    column_sortable_list = ["id", "title", "period_start", "status", "revision_round",
                            "step_started_at", "step_due_at"]  # fmt: skip
    column_choices = {"status": [("in_progress", _l("In progress")), ("done", _l("Done"))]}
    column_formatters = {"current_step": _step_label}
    column_formatters_export = {"current_step": _step_label}
    form_columns = ["title", "period_start", "period_end", "letter_number", "letter_date",
                    "letter_sender", "letter_subject", "outgoing_agenda_number",
                    "distribution_record"]  # fmt: skip
    # Filled in at step 9, not when the letter comes in.
    LATE_FIELDS = ("outgoing_agenda_number", "distribution_record")
    column_labels = {
        "id": _l("No"), "title": _l("Title"), "period_start": _l("Period from"),
        "period_end": _l("Period to"), "current_step": _l("Current step"),
        "current_step.position": _l("Step"), "status": _l("Status"),
        "revision_round": _l("Revision rounds"), "step_started_at": _l("Waiting since"),
        "step_due_at": _l("Due"), "letter_number": _l("Letter number"),
        "letter_date": _l("Letter date"), "letter_sender": _l("Letter sender"),
        "letter_subject": _l("Letter subject"),
        "outgoing_agenda_number": _l("Outgoing letter agenda number"),
        "distribution_record": _l("Distribution record"), "created_at": _l("Registered"),
        "finished_at": _l("Finished"),
    }  # fmt: skip
    column_descriptions = {
        "distribution_record": _l("To whom the signed IKU was sent, and how (proof of dispatch)."),
    }

    def __init__(self, **kwargs):
        super().__init__(Dossier, db, **kwargs)

    def get_query(self):
        return super().get_query().options(joinedload(Dossier.current_step))

    # --- create / edit ------------------------------------------------------------------------

    def create_form(self, obj=None):
        form = super().create_form(obj)
        for name in self.LATE_FIELDS:
            delattr(form, name)
        return form

    def on_model_change(self, form, model, is_created):
        if is_created:
            try:
                workflow.start_dossier(db.session, model, current_user._get_current_object())
            except workflow.WorkflowError as error:
                raise ValidationError(str(error)) from error
        else:
            try:
                workflow.ensure_dossier_editable(model)
            except workflow.WorkflowError as error:
                raise ValidationError(str(error)) from error

    # --- details page and single transitions ----------------------------------------------

    @expose("/details/")
    def details_view(self):
        dossier = self.get_one(request.args.get("id"))
        history = db.session.scalars(
            db.select(StepRecord).where(StepRecord.dossier_id == dossier.id)
            .order_by(StepRecord.id)
        ).all()  # fmt: skip
        objectives = db.session.scalars(
            db.select(StrategicObjective).where(StrategicObjective.dossier_id == dossier.id)
            .options(selectinload(StrategicObjective.indicators).selectinload(Indicator.targets))
            .order_by(StrategicObjective.order)
        ).all()  # fmt: skip
        actions = workflow.available_actions(dossier, current_user)
        return self.render(
            self.details_template,
            model=dossier,
            dossier=dossier,
            history=history,
            objectives=objectives,
            actions=actions,
            action_labels=ACTION_LABELS,
            expected=None if actions else workflow.expected_actor(dossier),
            locked=workflow.is_content_locked(dossier),
            details_columns=self._details_columns,
            get_value=self.get_detail_value,
            return_url=self.get_url(".index_view"),
        )

    @expose("/transition/", methods=["POST"])
    def transition_view(self):
        dossier = self.get_one(request.form.get("id"))
        name = request.form.get("action", "")
        note = request.form.get("note", "")[:2000]
        try:
            seen = int(request.form.get("version", ""))
        except ValueError:
            abort(400)
        handlers = {
            "complete": workflow.complete,
            "approve": workflow.approve,
            "return": workflow.return_for_revision,
        }
        if name not in handlers:
            abort(400)
        details = url_for(".details_view", id=dossier.id)
        if seen != dossier.version:
            flash(_("This dossier changed since you opened it. Check its state and try again."),
                  "error")  # fmt: skip
            return redirect(details), 303
        try:
            record = handlers[name](dossier, current_user._get_current_object(), note)
        except workflow.WorkflowError as error:
            flash(str(error), "error")
            return redirect(details), 303
        flash(_("Step %(n)s recorded: %(outcome)s.", n=record.position,
                outcome=ACTION_LABELS[name]), "success")  # fmt: skip
        return redirect(details), 303

    # --- bulk actions from the list -------------------------------------------------------

    def is_action_allowed(self, name: str) -> bool:
        # Who may act on which dossier is the workflow's decision, per dossier.
        return name in self._actions_data

    @staticmethod
    def _parse_rows(rows: list[str]) -> tuple[list[int], dict[int, int]]:
        """Rows arrive as "id:version" (the version the list showed)."""
        ids, seen = [], {}
        for row in rows:
            pk, _sep, version = row.partition(":")
            if not pk.isdigit() or (version and not version.isdigit()):
                abort(400)
            ids.append(int(pk))
            if version:
                seen[int(pk)] = int(version)
        return ids, seen

    def _run_bulk(self, name: str, rows: list[str], reason: str | None = None):
        ids, seen = self._parse_rows(rows)
        try:
            result = workflow.bulk(name, ids, current_user._get_current_object(), reason, seen)
        except workflow.WorkflowError as error:
            flash(str(error), "error")
            return None
        if result.done:
            flash(_("%(count)s dossier(s) processed: %(ids)s.", count=len(result.done),
                    ids=", ".join(f"#{i}" for i in result.done)), "success")  # fmt: skip
        if result.skipped:
            items = Markup("").join(
                Markup("<li>#{}: {}</li>").format(i, reason) for i, reason in result.skipped.items()
            )
            flash(
                Markup("{}<ul>{}</ul>").format(
                    _("%(count)s dossier(s) skipped:", count=len(result.skipped)), items
                ),
                "warning",
            )
        return None

    @action(
        "complete", _l("Complete step"), _l("Complete the current step of the selected dossiers?")
    )
    def action_complete(self, rows):
        return self._run_bulk("complete", rows)

    @action("approve", _l("Approve"), _l("Approve the selected dossiers at their review step?"))
    def action_approve(self, rows):
        return self._run_bulk("approve", rows)

    @action("return_for_revision", _l("Return for revision"))
    def action_return(self, rows):
        reason = request.form.get("reason", "").strip()
        if not reason:
            if request.form.get("reason") is not None:
                flash(_("A reason is required to return the draft for revision."), "error")
            page = self.render(
                "dossier/bulk_return.html", rows=rows, return_url=self.get_url(".index_view")
            )
            return page, 200 if request.form.get("reason") is None else 400
        return self._run_bulk("return", rows, reason[:2000])
