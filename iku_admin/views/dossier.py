"""Dossiers: the list with bulk workflow actions, and the details page with the SOP position,
history, IKU table and one button per available action."""

from __future__ import annotations

from collections import defaultdict

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func
from sqlalchemy.orm import joinedload, selectinload
from wtforms.validators import ValidationError

from models import Dossier, Indicator, StepRecord, StrategicObjective, utcnow
from models import search as search_index
from models.validation import parse_integer

from .. import auth, mutu, requirements, workflow
from ..extensions import db
from ..i18n import _, _l
from .base import GuardedModelView
from .custom_fields import CustomFieldsMixin
from .documents import RECORD_SCREENS
from .iku_editor import IkuEditorMixin
from .sop import ProcedureFilter, versions_of

# The generic button labels; a task step's own verb (SopStep.action_label) replaces the
# "complete" one, a review keeps "approve" and "return".
ACTION_LABELS = {
    "complete": _l("Complete step"),
    "approve": _l("Approve"),
    "return": _l("Return for revision"),
}
OUTCOME_LABELS = {"done": _l("done"), "approved": _l("approved"), "returned": _l("returned")}
TRANSITIONS = {
    "complete": workflow.complete,
    "approve": workflow.approve,
    "return": workflow.return_for_revision,
}
# The list's "with selected" actions (Flask-Admin's inherited "delete" is not one of them).
BULK_ACTIONS = ("complete", "approve", "return_for_revision")
# At most this many skipped dossiers are listed one by one in the flash (a cookie), and at most
# MAX_NAMED processed ones with their titles.
MAX_LISTED = 50
MAX_NAMED = 10


DONE = _l("Done")
# A dossier's title in a flash message is cut to this many characters.
TITLE_CHARS = 40


def action_label(step, name: str) -> str:
    """The label of an action's button: the step's own verb for finishing a task step, else
    the generic label."""
    if name == "complete" and step is not None and (step.action_label or "").strip():
        return step.action_label.strip()
    return str(ACTION_LABELS[name])


def _step_label(view, context, model, name):
    step = model.current_step
    if model.status == "done" or step is None:
        return DONE
    return f"{step.position}. {step.activity}"


class DossierView(IkuEditorMixin, CustomFieldsMixin, GuardedModelView):
    custom_entity = "dossier"
    details_template = "dossier/details.html"
    selection_text = _l("Select dossier #%(id)s")
    allow_delete = False  # a dossier's history is permanent
    version_field = "version"
    can_export = True
    export_types = ["csv", "xlsx"]
    column_list = ["id", "title", "period_start", "period_end", "current_step", "status",
                   "revision_round", "step_started_at", "step_due_at", "waiting",
                   "letter_number"]  # fmt: skip
    column_export_list = [*(c for c in column_list if c != "waiting"), "letter_date",
                          "letter_sender", "letter_subject", "outgoing_agenda_number",
                          "created_at", "finished_at"]  # fmt: skip
    column_default_sort = ("id", True)
    column_searchable_list = list(search_index.SEARCHED)  # the columns the indexes cover
    column_filters = ["current_step.position", "status", "period_start", "period_end",
                      "letter_date", ProcedureFilter(Dossier.sop_id, _l("SOP"),
                                                     versions_of)]  # fmt: skip
    column_sortable_list = ["id", "title", "period_start", "status", "revision_round",
                            "step_started_at", "step_due_at"]  # fmt: skip
    column_choices = {"status": [("in_progress", _l("In progress")), ("done", DONE)]}
    column_formatters = {"current_step": _step_label, "waiting": mutu.waiting_formatter,
                         "step_due_at": mutu.due_formatter}  # fmt: skip
    column_formatters_export = {"current_step": _step_label}
    form_columns = ["sop", "title", "period_start", "period_end", "letter_number", "letter_date",
                    "letter_sender", "letter_subject", "outgoing_agenda_number",
                    "distribution_record"]  # fmt: skip
    form_args = {
        "sop": {
            "label": _l("SOP"),
            "query_factory": lambda: db.session.scalars(workflow.active_versions(db.session)),
            "get_label": lambda sop: sop.procedure.name,
            "allow_blank": False,
        }
    }
    # Filled in at step 9, not when the letter comes in.
    LATE_FIELDS = ("outgoing_agenda_number", "distribution_record")
    column_labels = {
        "id": _l("No"), "title": _l("Title"), "period_start": _l("Period from"),
        "period_end": _l("Period to"), "current_step": _l("Current step"),
        "current_step.position": _l("Step"), "status": _l("Status"),
        "revision_round": _l("Revision rounds"), "step_started_at": _l("Waiting since"),
        "step_due_at": _l("Due"), "waiting": _l("Waiting (working minutes)"),
        "letter_number": _l("Letter number"),
        "letter_date": _l("Letter date"), "letter_sender": _l("Letter sender"),
        "letter_subject": _l("Letter subject"),
        "outgoing_agenda_number": _l("Outgoing letter agenda number"),
        "distribution_record": _l("Distribution record"), "created_at": _l("Registered"),
        "finished_at": _l("Finished"), "extra": _l("Other information"),
    }  # fmt: skip
    column_descriptions = {
        "distribution_record": _l("To whom the signed IKU was sent, and how (proof of dispatch)."),
    }

    def __init__(self, **kwargs):
        super().__init__(Dossier, db, **kwargs)

    def get_query(self):
        return super().get_query().options(joinedload(Dossier.current_step))

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Flask-Admin's search, its plain words answered by the search index and its other
        words narrowed by it (models/search.py): PostgreSQL's trigram index over the searched
        text; on SQLite the FTS table, which also counts the matches."""
        runs, like_words = search_index.split_search(search)
        if runs and db.session.get_bind().dialect.name == "sqlite":
            fts_query = search_index.fts_query(runs)
            query = query.filter(Dossier.id.in_(search_index.fts_matches(fts_query)))
            if count_query is not None:
                count_query = (
                    db.session.query(func.count("*"))
                    .select_from(search_index.FTS)
                    .filter(search_index.fts_match(fts_query))
                )
                if like_words:
                    count_query = search_index.dossier_rows(count_query)
        elif runs:
            matches = [search_index.trigram_match(run) for run in runs]
            query = query.filter(*matches)
            if count_query is not None:
                count_query = count_query.filter(*matches)
        return super()._apply_search(query, count_query, joins, count_joins, like_words)

    def _apply_filters(self, query, count_query, joins, count_joins, filters):
        if count_query is not None:
            count_query = search_index.dossier_rows(count_query)
        return super()._apply_filters(query, count_query, joins, count_joins, filters)

    # --- create / edit ------------------------------------------------------------------------

    def create_form(self, obj=None):
        form = super().create_form(obj)
        for name in self.LATE_FIELDS:
            delattr(form, name)
        versions = db.session.scalars(workflow.active_versions(db.session)).all()
        if len(versions) <= 1 or (request.method == "POST" and "sop" not in request.form):
            # Nothing to choose, or nothing chosen: the workflow takes the default SOP.
            delattr(form, "sop")
        elif request.method == "GET":
            form.sop.data = versions[0]  # the default SOP's, offered first
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        delattr(form, "sop")  # a dossier keeps the SOP it was registered under
        return form

    def on_model_change(self, form, model, is_created):
        try:
            if is_created:
                workflow.start_dossier(db.session, model, current_user._get_current_object())
            else:
                workflow.ensure_dossier_editable(model)
        except workflow.WorkflowError as error:
            raise ValidationError(str(error)) from error

    # --- details page and single transitions ----------------------------------------------

    @expose("/details/")
    def details_view(self):
        return self._details_page(self.get_one(request.args.get("id")))

    def _details_page(
        self,
        dossier: Dossier,
        status: int = 200,
        typed: dict | None = None,
        grid=None,
        errors=None,
    ):
        """The page; ``typed``: the step's fields as typed; ``grid`` and ``errors``: the IKU
        editor's input to show again."""
        history = db.session.scalars(
            db.select(StepRecord).where(StepRecord.dossier_id == dossier.id)
            .order_by(StepRecord.id)
        ).all()  # fmt: skip
        objectives = db.session.scalars(
            db.select(StrategicObjective).where(StrategicObjective.dossier_id == dossier.id)
            .options(selectinload(StrategicObjective.indicators).selectinload(Indicator.targets))
            .order_by(StrategicObjective.order)
        ).all()  # fmt: skip
        user = current_user._get_current_object()
        actions = workflow.available_actions(dossier, user)
        step = dossier.current_step
        now = utcnow()
        late = mutu.overdue_minutes([dossier], now, mutu.request_calendar())
        page = self.render(
            self.details_template,
            model=dossier,
            dossier=dossier,
            history=history,
            objectives=objectives,
            actions=actions,
            action_labels={name: action_label(step, name) for name in actions},
            missing=workflow.missing_inputs(dossier, step) if actions and step else [],
            checks_iku=step is not None and workflow.checks_iku(step),
            record_sheet=all(auth.can_read(user, screen) for screen in RECORD_SCREENS),
            step_fields=self._step_fields(dossier, typed or {}) if "complete" in actions else [],
            typed_note=(typed or {}).get("note", ""),
            typed_action=(typed or {}).get("action", ""),
            last_return=workflow.latest_returns(db.session, [dossier.id]).get(dossier.id),
            late=late.get(dossier.id),
            late_badge=mutu.late_badge,
            expected=None if actions else workflow.expected_actor(dossier),
            locked=workflow.is_content_locked(dossier),
            details_columns=self._details_columns,
            get_value=self.get_detail_value,
            return_url=self.get_url(".index_view"),
            **self.iku_editor(dossier, objectives, grid, errors),
        )
        return page, status

    def _step_fields(self, dossier: Dossier, typed: dict) -> list[dict]:
        """The fields the current step requires, to type in with its button: name, label,
        help, the value (what was typed, else what is stored), the largest length, one line
        or several."""
        locale = str(get_locale())
        return [
            {
                "name": field.name,
                "label": field.label,
                "help": self.column_descriptions.get(field.name, ""),
                "value": typed[field.name] if field.name in typed else field.shown(dossier, locale),
                "maxlength": field.max_length,
                "multi_line": field.multi_line,
            }
            for field in requirements.step_fields(
                db.session, workflow.step_fields(dossier.current_step)
            )
        ]

    @expose("/transition/", methods=["POST"])
    def transition_view(self):
        """One workflow action from the details page; a refusal shows the page again (409),
        with what was typed."""
        dossier = self.get_one(request.args.get("id"))
        name = request.form.get("action", "")
        handler = TRANSITIONS.get(name)
        version = parse_integer(request.form.get("version"), minimum=0)
        if handler is None or version is None:
            abort(400)
        user = current_user._get_current_object()
        note = request.form.get("note", "")[:2000]
        fields = {}
        if name == "complete":
            fields = {
                field: request.form[field]
                for field in workflow.step_fields(dossier.current_step)
                if field in request.form
            }
        extra = {"fields": fields} if fields else {}
        try:
            record = handler(dossier, user, note, seen_version=version, **extra)
        except workflow.WorkflowError as error:
            flash(str(error), "error")
            return self._details_page(dossier, 409, {**fields, "note": note, "action": name})
        flash(_("Step %(n)s recorded: %(outcome)s.", n=record.position,
                outcome=OUTCOME_LABELS[record.outcome]), "success")  # fmt: skip
        return redirect(url_for(".details_view", id=dossier.id), 303)

    # --- bulk actions from the list -------------------------------------------------------

    def is_action_allowed(self, name: str) -> bool:
        # Who may act on which dossier is the workflow's decision, per dossier; the inherited
        # "delete" action stays closed (a dossier's history is permanent).
        return name in BULK_ACTIONS

    def selection_value(self, row) -> str:
        # The version shown goes with the id: a dossier changed after the list was loaded
        # is skipped by a bulk action instead of being overwritten.
        return f"{row.id}:{row.version}"

    def _parse_rows(self, rows: list[str]) -> tuple[list[int], dict[int, int]]:
        """Rows arrive as "id:version" (the version the list showed)."""
        pairs = [row.partition(":")[::2] for row in rows]
        ids = self.row_ids([pk for pk, _version in pairs])
        seen = {
            pk: parse_integer(version, minimum=0)
            for pk, (_pk, version) in zip(ids, pairs, strict=True)
            if version
        }
        if None in seen.values():
            abort(400)
        return ids, seen

    def _run_bulk(self, name: str, rows: list[str], reason: str | None = None):
        ids, seen = self._parse_rows(rows)
        try:
            result = workflow.bulk(name, ids, current_user._get_current_object(), reason, seen)
        except workflow.WorkflowError as error:
            flash(str(error), "error")
            return None
        if result.done:
            flash(_done_message(result.done), "success")
        if result.skipped:
            flash(_skipped_message(result.skipped), "warning")
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
        """First ask for one reason for all the selected dossiers, then return them."""
        reason = request.form.get("reason")
        if reason is None or not reason.strip():
            if reason is not None:
                flash(_("A reason is required to return the draft for revision."), "error")
            page = self.render("dossier/bulk_return.html", rows=rows,
                               return_url=self.get_url(".index_view"))  # fmt: skip
            return page, 200 if reason is None else 400
        return self._run_bulk("return", rows, reason.strip()[:2000])


def _done_message(done: list[int]) -> str:
    """The dossiers processed, by number and title; a long list is cut as the skipped one."""
    shown = done[:MAX_NAMED]
    titles = dict(db.session.execute(db.select(Dossier.id, Dossier.title)
                                     .where(Dossier.id.in_(shown))).all())  # fmt: skip
    names = [f"#{pk} {_cut(titles.get(pk, ''))}".rstrip() for pk in shown]
    if len(done) > len(shown):
        names.append(_("and %(n)s more", n=len(done) - len(shown)))
    return _("%(count)s dossier(s) processed: %(names)s.", count=len(done),
             names=", ".join(names))  # fmt: skip


def _cut(title: str) -> str:
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


def _skipped_message(skipped: dict[int, str]) -> Markup:
    """The skipped dossiers grouped by reason; long lists are cut to keep the flash small."""
    by_reason: dict[str, list[int]] = defaultdict(list)
    for pk, reason in sorted(skipped.items()):
        by_reason[reason].append(pk)
    items, budget = [], MAX_LISTED
    for reason, ids in by_reason.items():
        if budget <= 0:
            break
        shown = ", ".join(f"#{pk}" for pk in ids[:budget])
        budget -= len(ids)
        items.append(Markup("<li>{}: {}</li>").format(shown, reason))
    listed = min(len(skipped), MAX_LISTED)
    if len(skipped) > listed:
        items.append(Markup("<li>{}</li>").format(_("and %(n)s more", n=len(skipped) - listed)))
    title = _("%(count)s dossier(s) skipped:", count=len(skipped))
    return Markup("{}<ul>{}</ul>").format(title, Markup("").join(items))
