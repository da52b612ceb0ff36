"""The working calendar's screens: the weekly office hours (one row per weekday, edited,
never added or deleted) and the days off and extra working days. A change to either moves
the due times of the open dossiers: they are worked out again in the same transaction (a
removal, right after it)."""

from __future__ import annotations

from babel.dates import get_day_names
from flask import flash
from flask_babel import get_locale
from wtforms.validators import ValidationError

from models import CalendarDay, OfficeDay

from .. import workflow
from ..calendar import office_hours
from ..extensions import db
from ..i18n import _, _l
from .base import GuardedModelView


class FollowedByDueTimes:
    """A calendar screen whose changes the open dossiers' due times follow."""

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        self._recompute()  # in the same transaction as the change

    def after_model_delete(self, model):
        self._recompute()
        db.session.commit()

    @staticmethod
    def _recompute() -> None:
        changed = workflow.recompute_due_times(db.session)
        if changed:
            flash(_("The due times of %(n)s open dossier(s) follow the new calendar.",
                    n=changed), "info")  # fmt: skip


def weekday_name(weekday: int) -> str:
    """The weekday's name in the user's language (0 = Monday)."""
    return get_day_names("wide", locale=str(get_locale()))[weekday]


class OfficeDayView(FollowedByDueTimes, GuardedModelView):
    selection_text = _l("Select weekday #%(id)s")
    allow_create = allow_delete = False  # seven weekdays, no more, no fewer
    column_list = ["weekday", "working", "start", "finish", "break_start", "break_end"]
    column_default_sort = ("weekday", False)
    form_columns = ["working", "start", "finish", "break_start", "break_end"]
    column_formatters = {"weekday": lambda view, context, model, name: weekday_name(model.weekday)}
    column_labels = {
        "weekday": _l("Day"), "working": _l("Working day"), "start": _l("Office opens"),
        "finish": _l("Office closes"), "break_start": _l("Break from"),
        "break_end": _l("Break until"),
    }  # fmt: skip
    column_descriptions = {
        "break_start": _l("Leave both break times empty for a day without a break."),
        "working": _l("Due times of open dossiers follow a change of the office hours."),
    }

    def __init__(self, **kwargs):
        super().__init__(OfficeDay, db, **kwargs)

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None:  # the form names its day
            form.working.label.text = _("%(day)s is a working day", day=weekday_name(obj.weekday))
        return form

    def on_model_change(self, form, model, is_created):
        try:
            office_hours(model)
        except ValueError as error:
            raise ValidationError(
                _(
                    "The office hours must run from opening to closing time, with the break "
                    "inside them: opening ≤ break from ≤ break until ≤ closing, and opening "
                    "before closing."
                )
            ) from error
        super().on_model_change(form, model, is_created)


class CalendarDayView(FollowedByDueTimes, GuardedModelView):
    selection_text = _l("Select calendar day #%(id)s")
    column_list = ["day", "kind", "description"]
    form_columns = ["day", "kind", "description"]
    column_default_sort = ("day", True)
    column_filters = ["day", "kind"]
    form_choices = {"kind": [("off", _l("Day off")), ("work", _l("Extra working day"))]}
    column_choices = form_choices
    column_labels = {"day": _l("Date"), "kind": _l("Kind"), "description": _l("Description")}

    def __init__(self, **kwargs):
        super().__init__(CalendarDay, db, **kwargs)
