"""The agency's letterhead: its lines, and the emblem uploaded into the database."""

from __future__ import annotations

from markupsafe import Markup, escape
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, FileField
from wtforms.validators import ValidationError
from wtforms.widgets import FileInput

from models import Agency

from ..extensions import db
from ..i18n import _, _l
from ..letterhead import EMBLEM_MAX_BYTES, NOT_AN_IMAGE, EmblemError, read_emblem
from .base import GuardedModelView


class _FormOnly:
    """A field that ``on_model_change`` reads; it is not an attribute of the model."""

    def populate_obj(self, obj, name) -> None:
        pass


def _img(url: str | None) -> Markup:
    """The emblem as an image: in the list, the details and above the file input."""
    if not url:
        return Markup("")
    return Markup(f'<img src="{escape(url)}" alt="{escape(_("Emblem"))}" height="64" '
                  'class="d-block mb-2">')  # fmt: skip


class EmblemInput(FileInput):
    """The file input, with the emblem now stored shown above it."""

    def __call__(self, field, **kwargs):
        return _img(getattr(field, "current", None)) + super().__call__(field, **kwargs)


class EmblemField(_FormOnly, FileField):
    widget = EmblemInput()


class RemoveEmblemField(_FormOnly, BooleanField):
    pass


def _check_emblem(form, field) -> None:
    """Refuse an upload that is not an acceptable emblem; keep the checked one on the field."""
    field.checked = None
    upload = field.data
    if upload is None or (isinstance(upload, FileStorage) and not upload.filename):
        return  # no file chosen: the emblem stays as it is
    if not isinstance(upload, FileStorage):
        raise ValidationError(_(NOT_AN_IMAGE))
    data = upload.read(EMBLEM_MAX_BYTES + 1)  # one byte more tells "too large"
    try:
        field.checked = (data, read_emblem(data))
    except EmblemError as error:
        raise ValidationError(_(error.message, **error.params)) from error


class AgencyView(GuardedModelView):
    # One agency is seeded and printed for now; adding agencies comes with scoping every
    # screen by agency, so the screen neither creates nor deletes them yet.
    allow_create = False
    allow_delete = False
    column_list = ["name", "government", "place", "emblem"]
    column_details_list = ["government", "name", "address", "phone", "email", "website",
                           "place", "emblem"]  # fmt: skip
    form_columns = ["government", "name", "address", "phone", "email", "website", "place",
                    "emblem_file", "remove_emblem"]  # fmt: skip
    form_extra_fields = {
        "emblem_file": EmblemField(
            _l("Emblem"), validators=[_check_emblem],
            description=_l("The regional emblem, printed left of the letterhead: PNG, JPEG or "
                           "SVG, at most %(kb)s KB. Leave empty to keep the current emblem.",
                           kb=EMBLEM_MAX_BYTES // 1024),
            render_kw={"accept": "image/png,image/jpeg,image/svg+xml"}),
        "remove_emblem": RemoveEmblemField(_l("Remove the emblem")),
    }  # fmt: skip
    form_widget_args = {"address": {"rows": 3}}
    column_formatters = {"emblem": lambda view, context, model, name: _img(model.emblem_url)}
    column_labels = {
        "government": _l("Government"), "name": _l("Agency"), "address": _l("Postal address"),
        "phone": _l("Telephone"), "email": _l("E-mail"), "website": _l("Website"),
        "place": _l("Place of signing"), "emblem": _l("Emblem"), "emblem_file": _l("Emblem"),
    }  # fmt: skip
    column_descriptions = {
        "government": _l("First line of the letterhead, e.g. Pemerintah Kabupaten Tanjung "
                         "Jabung Barat."),
        "address": _l("One printed line per line."),
        "place": _l("Printed before the date of signing, e.g. Kuala Tungkal."),
    }  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(Agency, db, **kwargs)

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form.emblem_file.current = obj.emblem_url if obj is not None else None
        return form

    def on_model_change(self, form, model, is_created):
        if form.remove_emblem.data:
            model.emblem, model.emblem_type = None, ""
        if form.emblem_file.checked:
            model.emblem, model.emblem_type = form.emblem_file.checked
