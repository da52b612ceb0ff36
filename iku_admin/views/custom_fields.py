"""Custom fields in the panel: the screen that defines them (System > Custom fields), and what
the dossier and indicator screens do with them (``CustomFieldsMixin``): a form field each,
list columns, details and export columns."""

from __future__ import annotations

from flask import has_request_context, request
from flask_babel import get_locale
from jinja2 import pass_context
from sqlalchemy import func, select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import DateInput, TextInput

from models import CustomField, Sop, SopStep
from models.fields import entity_model

from .. import custom_fields, requirements
from ..extensions import db
from ..i18n import _, _l
from .base import ExportCells, GuardedModelView

ENTITY_LABELS = {"dossier": _l("Dossier"), "indicator": _l("Indicator")}
KIND_LABELS = {"text": _l("Text"), "number": _l("Number"), "date": _l("Date"),
               "choice": _l("Choice from a list")}  # fmt: skip
assert set(ENTITY_LABELS) == set(custom_fields.ENTITIES)
assert set(KIND_LABELS) == set(custom_fields.KINDS)
# A custom field's name in forms, lists and exports: never a model attribute's name.
PREFIX = "extra."


def _locale() -> str:
    return str(get_locale())


class _CustomValue:
    """A form field of one custom field: read with ``custom_fields.parse`` (its message next
    to the field), shown back as typed, stored in the row's ``extra``."""

    def __init__(self, label=None, validators=None, *, definition: CustomField, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.definition = definition

    def process_formdata(self, valuelist) -> None:
        self.data = None
        if valuelist:
            self.data = custom_fields.parse(self.definition, valuelist[0], _locale())

    def populate_obj(self, obj, name) -> None:
        if not self.raw_data:  # not on the page that was posted (opened before the field was)
            return
        stored = dict(obj.extra or {})
        extra = {k: v for k, v in stored.items() if k != self.definition.code}
        if self.data:
            extra[self.definition.code] = self.data
        if extra != stored:
            obj.extra = extra  # a new dict: the ORM sees the change


class CustomValueField(_CustomValue, StringField):
    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return custom_fields.editable(self.definition, self.data, _locale())


class CustomChoiceField(_CustomValue, SelectField):
    def __init__(self, label=None, validators=None, *, definition: CustomField, **kwargs):
        choices = [SelectChoice("", _("— choose —"))]
        choices += [SelectChoice(c) for c in definition.choice_list]
        super().__init__(label, validators, definition=definition, choices=choices,
                         validate_choice=False, **kwargs)  # fmt: skip

    def process_data(self, value) -> None:
        super().process_data(value)
        if value and value not in [choice.value for choice in self.choices]:
            self.choices.append(SelectChoice(value))  # taken off the list since


def form_field(definition: CustomField):
    """The unbound form field of a custom field."""
    args = {"label": definition.label, "definition": definition}
    if definition.kind == "choice":
        return CustomChoiceField(**args)
    if definition.kind == "date":
        return CustomValueField(widget=DateInput(), **args)
    if definition.kind == "number":
        render_kw = {"inputmode": "decimal"}
    else:
        render_kw = {"maxlength": custom_fields.MAX_TEXT}
    return CustomValueField(widget=TextInput(), render_kw=render_kw, **args)


class CustomFieldsMixin:
    """Mixed into a model view (before ``GuardedModelView``) of an entity that custom fields
    extend (``custom_entity``): its forms, list, details page and exports get them, read once
    per request."""

    custom_entity: str

    def custom_fields(self) -> list[CustomField]:
        return custom_fields.request_fields(db.session, self.custom_entity)

    # --- forms: a per-request subclass of the form class built at start ------------------
    #
    # Flask-Admin builds the form classes once (``get_create_form``/``get_edit_form``) and
    # keeps them in ``_create_form_class``/``_edit_form_class``, which its ``create_form`` and
    # ``edit_form`` instantiate: WTForms adds no field to a form instance. Those two
    # attributes are read here as properties that add the current custom fields (what every
    # ``create_form``/``edit_form`` override, ours included, then builds on), so the
    # definitions can change without a restart (tests/test_custom_fields.py).

    @property
    def _create_form_class(self):
        return self._with_custom_fields(self.__dict__["_base_create_form"])

    @_create_form_class.setter
    def _create_form_class(self, form_class) -> None:
        self.__dict__["_base_create_form"] = form_class

    @property
    def _edit_form_class(self):
        return self._with_custom_fields(self.__dict__["_base_edit_form"])

    @_edit_form_class.setter
    def _edit_form_class(self, form_class) -> None:
        self.__dict__["_base_edit_form"] = form_class

    def _with_custom_fields(self, form_class):
        if not has_request_context():
            return form_class
        fields = {PREFIX + d.code: form_field(d) for d in self.custom_fields()}
        return type(form_class.__name__, (form_class,), fields) if fields else form_class

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None and request.method != "POST":
            for definition in self.custom_fields():
                form[PREFIX + definition.code].process(
                    None, custom_fields.value_of(obj, definition)
                )
        return form

    # --- list, details, export --------------------------------------------------------------

    def _custom_columns(self, listed: bool) -> list[tuple[str, str]]:
        return [(PREFIX + d.code, d.label) for d in self.custom_fields() if d.in_list or not listed]

    def render(self, template, **kwargs):
        if "list_columns" in kwargs:  # after the built-in ones: their sort indexes stay
            kwargs["list_columns"] = [*kwargs["list_columns"], *self._custom_columns(True)]
        if "details_columns" in kwargs:
            kwargs["details_columns"] = [*kwargs["details_columns"], *self._custom_columns(False)]
        return super().render(template, **kwargs)

    def _custom_value(self, model, name: str) -> str | None:
        code = name.removeprefix(PREFIX)
        for definition in self.custom_fields():
            if definition.code == code:
                return custom_fields.display(
                    definition, custom_fields.value_of(model, definition), _locale()
                )
        return None

    @pass_context
    def get_list_value(self, context, model, name):
        if name.startswith(PREFIX):
            return self._custom_value(model, name)
        return super().get_list_value(context, model, name)

    @pass_context
    def get_detail_value(self, context, model, name):
        if name.startswith(PREFIX):
            return self._custom_value(model, name)
        return super().get_detail_value(context, model, name)

    def export_columns(self) -> list[tuple[str, str]]:
        return [*super().export_columns(), *self._custom_columns(False)]

    def export_selected(self, names: list[str]) -> list[str]:
        selected = super().export_selected(names)
        return [*selected, "extra"] if self.custom_fields() else selected  # read as one column

    def export_reader(self, name: str, selected: list[str], finish: dict | None):
        """A custom field's cells: from the batch's ``extra`` column, typed (numbers and dates
        stay numbers and dates)."""
        if not name.startswith(PREFIX):
            return super().export_reader(name, selected, finish)
        code = name.removeprefix(PREFIX)
        definition = next(d for d in self.custom_fields() if d.code == code)
        index = selected.index("extra")

        def get(row):
            return custom_fields.typed(definition, (row[index] or {}).get(code))

        return True, get, ExportCells(self, name, finish)


class CustomFieldView(GuardedModelView):
    """The custom fields of dossiers and indicators. A field's code and what it extends are
    chosen once; a field that holds values is deactivated, not deleted."""

    selection_text = _l("Select field #%(id)s")
    column_list = ["entity", "position", "label", "code", "kind", "in_list", "required",
                   "active"]  # fmt: skip
    column_default_sort = [("entity", False), ("position", False), ("id", False)]
    column_filters = ["entity", "kind", "active"]
    column_searchable_list = ["label", "code"]
    form_columns = ["entity", "label", "code", "kind", "choices", "position", "in_list",
                    "required", "active"]  # fmt: skip
    form_choices = {
        "entity": list(ENTITY_LABELS.items()),
        "kind": list(KIND_LABELS.items()),
    }
    column_choices = form_choices
    column_labels = {
        "entity": _l("Added to"), "position": _l("Order"), "label": _l("Label"),
        "code": _l("Code"), "kind": _l("Kind"), "choices": _l("Choices"),
        "in_list": _l("Column in the list"), "required": _l("Required for the IKU check"),
        "active": _l("Active"),
    }  # fmt: skip
    column_descriptions = {
        "code": _l("Lowercase letters, digits and underscores, e.g. alasan_pemilihan. It "
                   "cannot change once the field is saved; the label can."),
        "choices": _l("Choice fields only: one choice per line."),
        "required": _l("Indicator fields only: an indicator without it is not complete for "
                       "the IKU check. Which step needs a dossier field is set on the SOP "
                       "step."),
        "active": _l("An inactive field is no longer shown or asked for; its values are kept."),
    }  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(CustomField, db, **kwargs)

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form.code.render_kw = {"readonly": True}
        if obj is not None:  # stays on what it was created for
            form.entity.choices = [(obj.entity, ENTITY_LABELS.get(obj.entity, obj.entity))]
        return form

    def on_model_change(self, form, model, is_created):
        if model.entity == "dossier" and model.code in requirements.CHECKS:
            # A step's requirement names both named checks and dossier fields.
            raise ValidationError(
                _("%(code)s is the name of a step check; choose another code.", code=model.code)
            )
        if is_created:
            return
        state = db.inspect(model).attrs
        if state.active.history.has_changes() and not model.active:
            _refuse_if_required(model)
        if state.kind.history.has_changes() and values_count(model):
            raise ValidationError(_(
                '"%(field)s" holds values in %(n)s row(s): its kind cannot change. Add a new '
                "field instead.", field=model.label, n=values_count(model)))  # fmt: skip
        if model.kind == "choice" and state.choices.history.has_changes():
            lost = values_count(model, outside=model.choice_list)
            if lost:
                raise ValidationError(_(
                    '%(n)s row(s) hold a value of "%(field)s" that is no longer among its '
                    "choices; keep that choice, or change those rows first.", n=lost,
                    field=model.label))  # fmt: skip

    def on_model_delete(self, model):
        _refuse_if_required(model)
        used = values_count(model)
        if used:
            raise ValidationError(
                _('"%(field)s" holds values in %(n)s row(s): it cannot be deleted. Deactivate '
                  "it instead.", field=model.label, n=used)
            )  # fmt: skip


def values_count(field: CustomField, outside: list[str] | None = None) -> int:
    """How many rows hold a value of ``field`` (``outside``: one that is none of these)."""
    model = entity_model(field.entity)
    value = model.extra[field.code].as_string()
    where = [value.is_not(None), value != ""]
    if outside is not None:
        where.append(value.not_in(outside))
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _refuse_if_required(field: CustomField) -> None:
    """A dossier field that a step of a draft or active SOP version requires stays: that
    step could no longer be checked, nor its version copied."""
    if field.entity != "dossier":
        return
    steps = db.session.scalars(
        select(SopStep).join(Sop).where(Sop.status != "retired").order_by(Sop.id, SopStep.position)
    )
    using = [f"{step.sop} · {step.position}" for step in steps if field.code in step.requirements]
    if using:
        raise ValidationError(_(
            '"%(field)s" is required by step(s) %(steps)s; remove it from them first.',
            field=field.label, steps=", ".join(using)))  # fmt: skip
