"""The IKU content screens: objectives, indicators (with inline targets) and targets.

Content can be changed only while its dossier is being drafted (see ``content_lock``).
"""

from __future__ import annotations

from flask_admin.model.form import InlineFormAdmin
from wtforms import SelectField
from wtforms.validators import ValidationError

from models import Indicator, IndicatorTarget, target_year_error
from models.validation import INDICATOR_UNITS

from ..extensions import db
from ..i18n import _, _l
from .base import GuardedModelView


class ContentView(GuardedModelView):
    """Base of the content screens. A locked dossier's content is refused when saved
    (``content_lock``); the form checks what the lock does not: target years."""

    can_export = True
    export_types = ["csv", "xlsx"]

    @staticmethod
    def dossier_of(model):
        raise NotImplementedError

    def on_model_change(self, form, model, is_created):
        if isinstance(model, Indicator):
            targets = model.targets
        else:
            targets = [model] if isinstance(model, IndicatorTarget) else []
        for target in targets:
            error = target_year_error(self.dossier_of(model), target.year)
            if error:
                raise ValidationError(_(error))


class TargetInline(InlineFormAdmin):
    form_columns = ["id", "year", "target"]
    form_label = _l("Yearly target")
    column_labels = {"year": _l("Year"), "target": _l("Target")}


class IndicatorView(ContentView):
    selection_text = _l("Select indicator #%(id)s")
    column_list = ["objective", "order", "name", "unit", "polarity", "baseline",
                   "data_source", "responsible"]  # fmt: skip
    column_details_list = [*column_list[:3], "definition", *column_list[3:], "targets"]
    column_filters = ["objective.name", "unit", "polarity"]
    column_searchable_list = ["name", "definition", "data_source", "responsible"]
    form_columns = ["objective", "order", "name", "definition", "unit", "polarity", "baseline",
                    "data_source", "responsible", "targets"]  # fmt: skip
    form_overrides = {"unit": SelectField}
    form_args = {"unit": {"choices": [(u, u) for u in INDICATOR_UNITS]}}
    form_choices = {"polarity": [("max", _l("Higher is better")), ("min", _l("Lower is better"))]}
    column_choices = form_choices
    inline_models = [TargetInline(IndicatorTarget)]
    column_labels = {
        "objective": _l("Strategic objective"), "objective.name": _l("Strategic objective"),
        "order": _l("Order"), "name": _l("Indicator"), "definition": _l("Definition/formula"),
        "unit": _l("Unit"), "polarity": _l("Polarity"), "baseline": _l("Baseline"),
        "data_source": _l("Data source"), "responsible": _l("Responsible official"),
        "targets": _l("Yearly targets"),
    }  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(Indicator, db, **kwargs)

    @staticmethod
    def dossier_of(model):
        return model.objective.dossier if model.objective else None
