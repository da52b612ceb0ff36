"""The IKU content screens: objectives, indicators (with inline targets) and targets.

The IKU is entered on the dossier page; these screens serve search and reports. Every row names
its dossier (a column, a filter, labels such as "#4 · IKU Sekretariat 2026–2030 · Nilai
investasi"). Opened from a dossier (``?dossier_id=4``), a screen lists that dossier's rows and
its create form offers only that dossier's parents. A form's parent select offers only
dossiers still being drafted, with none chosen unless the context chose it. Content can be
changed only while its dossier is being drafted (see ``content_lock``).
"""

from __future__ import annotations

from flask import abort, request
from flask_admin.model.form import InlineFormAdmin
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import SelectField
from wtforms.validators import DataRequired, InputRequired, ValidationError

from models import (
    Dossier,
    Indicator,
    IndicatorTarget,
    IndicatorUnit,
    StrategicObjective,
    target_year_error,
)
from models.dossier import dossier_label
from models.validation import N_, parse_integer

from ..extensions import db
from ..i18n import _, _l, fmt_number
from ..iku_excel import importable_dossiers
from .base import GuardedModelView
from .custom_fields import CustomFieldsMixin

DOSSIER = _l("Dossier")
DOSSIER_NUMBER = _l("Dossier number")


def _dossier_column(path: str):
    """A list formatter naming the dossier a row reaches through ``path``."""

    def format_dossier(view, context, model, name):
        for step in path.split("."):
            model = getattr(model, step)
        return dossier_label(model)

    return format_dossier


def _name(view, context, model, name):
    """A parent shown by its own name (the dossier has its own column)."""
    parent = getattr(model, name)
    return parent.name if parent is not None else ""


class ContentView(GuardedModelView):
    """Base of the content screens. A locked dossier's content is refused when saved
    (``content_lock``); the form checks what the lock does not: target years."""

    can_export = True
    export_types = ["csv", "xlsx"]
    list_template = "admin/content_list.html"  # says which dossier a list is narrowed to
    parent_field: str  # the form's select of the row's parent
    parent_model: type
    parent_blank = _l("— choose —")
    parent_label = None  # how the select names a parent (its __str__ by default)

    @staticmethod
    def dossier_of(model):
        raise NotImplementedError

    @staticmethod
    def in_dossier(dossier_id: int):
        """The rows of one dossier, as a WHERE clause."""
        raise NotImplementedError

    def parents(self, dossier_ids: list[int]) -> list:
        """The rows the parent select offers: those of these dossiers."""
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

    # --- the dossier a screen was opened from ---------------------------------------------

    def context_dossier(self) -> Dossier | None:
        """The dossier of ``?dossier_id=``; 404 when there is no such dossier."""
        raw = request.args.get("dossier_id")
        if raw is None:
            return None
        pk = parse_integer(raw, minimum=1)
        dossier = db.session.get(Dossier, pk) if pk else None
        if dossier is None:
            abort(404)
        return dossier

    def _narrowed(self, query):
        dossier = self.context_dossier()
        return query if dossier is None else query.filter(self.in_dossier(dossier.id))

    def get_query(self):
        return self._narrowed(super().get_query())

    def get_count_query(self):
        return self._narrowed(super().get_count_query())

    def get_url(self, endpoint, **kwargs):
        # A row created from a dossier's list belongs to that dossier (and so does the next
        # one, after "Save and Add Another").
        if endpoint == ".create_view" and "dossier_id" not in kwargs:
            dossier = self.context_dossier()
            if dossier is not None:
                kwargs["dossier_id"] = dossier.id
        return super().get_url(endpoint, **kwargs)

    def render(self, template, **kwargs):
        kwargs.setdefault("context_dossier", self.context_dossier())
        kwargs.setdefault("dossier_label", dossier_label)
        return super().render(template, **kwargs)

    # --- the parent select ------------------------------------------------------------------

    def create_form(self, obj=None):
        return self._parent_select(super().create_form(obj), None, request.method == "GET")

    def edit_form(self, obj=None):
        current = getattr(obj, self.parent_field, None) if obj is not None else None
        return self._parent_select(super().edit_form(obj), current)

    def _parent_select(self, form, current=None, prefill: bool = False):
        """Offer only parents in dossiers still being drafted (of the context's dossier, if
        any), none chosen unless the context leaves one choice."""
        field = getattr(form, self.parent_field, None)
        if field is None:
            return form
        dossier = self.context_dossier()
        ids = [d.id for d in importable_dossiers(db.session)
               if dossier is None or d.id == dossier.id]  # fmt: skip
        choices = self.parents(ids) if ids else []
        # The row's own parent (an edit), and a parent posted from elsewhere: resolved, so
        # that a locked dossier's row is refused by the content lock, saying why.
        posted = parse_integer(request.form.get(field.name), minimum=1)
        for extra in (current, db.session.get(self.parent_model, posted) if posted else None):
            if extra is not None and extra not in choices:
                choices.insert(0, extra)
        field.query_factory = lambda: choices
        field._object_list = None  # nothing read from the default query is kept
        field.allow_blank = True
        field.blank_text = str(self.parent_blank)
        if self.parent_label is not None:
            field.get_label = self.parent_label
        field.validators = [
            DataRequired() if isinstance(v, InputRequired) else v for v in field.validators
        ]
        if prefill and dossier is not None and field.data is None and len(choices) == 1:
            field.data = choices[0]
        return form


class ObjectiveView(ContentView):
    selection_text = _l("Select strategic objective #%(id)s")
    parent_field = "dossier"
    parent_model = Dossier
    parent_label = staticmethod(dossier_label)
    column_list = ["dossier", "order", "name"]
    column_filters = ["dossier_id", "dossier.title"]
    column_searchable_list = ["name"]
    form_columns = ["dossier", "order", "name"]
    column_formatters = {"dossier": _dossier_column("dossier")}
    column_formatters_export = column_formatters
    column_labels = {
        "dossier": DOSSIER, "dossier_id": DOSSIER_NUMBER, "dossier.title": DOSSIER,
        "order": _l("Order"), "name": _l("Strategic objective"),
    }  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(StrategicObjective, db, **kwargs)

    @staticmethod
    def dossier_of(model):
        return model.dossier

    @staticmethod
    def in_dossier(dossier_id: int):
        return StrategicObjective.dossier_id == dossier_id

    def parents(self, dossier_ids):
        return list(db.session.scalars(
            select(Dossier).where(Dossier.id.in_(dossier_ids)).order_by(Dossier.id.desc())
        ))  # fmt: skip

    def get_query(self):
        return super().get_query().options(joinedload(StrategicObjective.dossier))


class TargetInline(InlineFormAdmin):
    form_columns = ["id", "year", "target"]
    form_label = _l("Yearly target")
    column_labels = {"year": _l("Year"), "target": _l("Target")}


def _targets(view, context, model, name):
    return ", ".join(f"{t.year}: {fmt_number(t.target)}" for t in model.targets)


class IndicatorView(CustomFieldsMixin, ContentView):
    custom_entity = "indicator"
    selection_text = _l("Select indicator #%(id)s")
    parent_field = "objective"
    parent_model = StrategicObjective
    column_list = ["dossier", "objective", "order", "name", "unit", "polarity", "baseline",
                   "data_source", "responsible"]  # fmt: skip
    column_details_list = [*column_list[:4], "definition", *column_list[4:], "targets"]
    column_filters = ["objective.dossier_id", "objective.name", "unit", "polarity"]
    column_searchable_list = ["name", "definition", "data_source", "responsible"]
    form_columns = ["objective", "order", "name", "definition", "unit", "polarity", "baseline",
                    "data_source", "responsible", "targets"]  # fmt: skip
    form_overrides = {"unit": SelectField}
    form_choices = {"polarity": [("max", _l("Higher is better")), ("min", _l("Lower is better"))]}
    column_choices = form_choices
    column_formatters = {"dossier": _dossier_column("objective.dossier"), "objective": _name,
                         "targets": _targets}  # fmt: skip
    column_formatters_export = column_formatters
    inline_models = [TargetInline(IndicatorTarget)]
    column_labels = {
        "dossier": DOSSIER, "objective.dossier_id": DOSSIER_NUMBER,
        "objective": _l("Strategic objective"), "objective.name": _l("Strategic objective"),
        "order": _l("Order"), "name": _l("Indicator"), "definition": _l("Definition/formula"),
        "unit": _l("Unit"), "polarity": _l("Polarity"), "baseline": _l("Baseline"),
        "data_source": _l("Data source"), "responsible": _l("Responsible official"),
        "targets": _l("Yearly targets"), "extra": _l("Other information"),
    }  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(Indicator, db, **kwargs)

    @staticmethod
    def dossier_of(model):
        return model.objective.dossier if model.objective else None

    def create_form(self, obj=None):
        return self._with_units(super().create_form(obj))

    def edit_form(self, obj=None):
        form = self._with_units(super().edit_form(obj))
        if obj is not None and obj.unit and (obj.unit, obj.unit) not in form.unit.choices:
            form.unit.choices.append((obj.unit, obj.unit))  # taken off the list since
        return form

    @staticmethod
    def _with_units(form):
        form.unit.choices = [(name, name) for name in IndicatorUnit.names(db.session)]
        return form

    @staticmethod
    def in_dossier(dossier_id: int):
        return Indicator.objective_id.in_(
            select(StrategicObjective.id).where(StrategicObjective.dossier_id == dossier_id)
        )

    def parents(self, dossier_ids):
        return list(db.session.scalars(
            select(StrategicObjective)
            .where(StrategicObjective.dossier_id.in_(dossier_ids))
            .options(joinedload(StrategicObjective.dossier))
            .order_by(StrategicObjective.dossier_id.desc(), StrategicObjective.order)
        ))  # fmt: skip

    def get_query(self):
        return (
            super()
            .get_query()
            .options(joinedload(Indicator.objective).joinedload(StrategicObjective.dossier))
        )


class TargetView(ContentView):
    selection_text = _l("Select yearly target #%(id)s")
    parent_field = "indicator"
    parent_model = Indicator
    column_list = ["dossier", "indicator", "year", "target"]
    column_filters = ["indicator.objective.dossier_id", "year", "indicator.name"]
    form_columns = ["indicator", "year", "target"]
    column_formatters = {"dossier": _dossier_column("indicator.objective.dossier"),
                         "indicator": _name}  # fmt: skip
    column_formatters_export = column_formatters
    column_labels = {
        "dossier": DOSSIER, "indicator.objective.dossier_id": DOSSIER_NUMBER,
        "indicator": _l("Indicator"), "indicator.name": _l("Indicator"), "year": _l("Year"),
        "target": _l("Target"),
    }  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(IndicatorTarget, db, **kwargs)

    @staticmethod
    def dossier_of(model):
        return model.indicator.objective.dossier if model.indicator else None

    @staticmethod
    def in_dossier(dossier_id: int):
        return IndicatorTarget.indicator_id.in_(
            select(Indicator.id)
            .join(Indicator.objective)
            .where(StrategicObjective.dossier_id == dossier_id)
        )

    def parents(self, dossier_ids):
        return list(db.session.scalars(
            select(Indicator)
            .join(Indicator.objective)
            .where(StrategicObjective.dossier_id.in_(dossier_ids))
            .options(joinedload(Indicator.objective).joinedload(StrategicObjective.dossier))
            .order_by(StrategicObjective.dossier_id.desc(), StrategicObjective.order,
                      Indicator.order)
        ))  # fmt: skip

    def get_query(self):
        return (
            super()
            .get_query()
            .options(
                joinedload(IndicatorTarget.indicator)
                .joinedload(Indicator.objective)
                .joinedload(StrategicObjective.dossier)
            )
        )


class IndicatorUnitView(GuardedModelView):
    """The units indicators are measured in. A unit in use keeps its name (a signed IKU
    shows it) and stays on the list."""

    selection_text = _l("Select unit #%(id)s")
    column_list = form_columns = ["name"]
    column_default_sort = "name"
    column_searchable_list = ["name"]
    column_labels = {"name": _l("Unit")}

    def __init__(self, **kwargs):
        super().__init__(IndicatorUnit, db, **kwargs)

    def _refuse_if_used(self, name: str, message: str) -> None:
        used = db.session.scalar(select(func.count()).where(Indicator.unit == name))
        if used:
            raise ValidationError(_(message, unit=name, n=used))

    def on_model_change(self, form, model, is_created):
        before = db.inspect(model).attrs.name.history.deleted
        if not is_created and before and before[0] != model.name:
            self._refuse_if_used(
                before[0],
                N_('"%(unit)s" is the unit of %(n)s indicator(s): it cannot be renamed. '
                   "Add the new unit instead."),
            )  # fmt: skip

    def on_model_delete(self, model):
        self._refuse_if_used(
            model.name,
            N_('"%(unit)s" is the unit of %(n)s indicator(s): it cannot be deleted.'),
        )
