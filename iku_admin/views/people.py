"""Users: managed by IT (the ``admin`` role) only; passwords follow the policy."""

from __future__ import annotations

from flask_login import current_user, login_user
from wtforms import PasswordField
from wtforms.validators import ValidationError

from models import User
from models.validation import nip_error

from .. import auth
from ..extensions import db
from ..i18n import _, _l
from .base import GuardedModelView


def _nip_validator(form, field) -> None:
    error = nip_error((field.data or "").replace(" ", ""))
    if error:
        raise ValidationError(_(error))


class UserView(GuardedModelView):
    allow_delete = False  # people leave a trace in the history: deactivate instead
    column_list = ["username", "full_name", "nip", "position", "rank", "roles", "active",
                   "locale"]  # fmt: skip
    column_filters = ["active", "roles.code"]
    column_searchable_list = ["username", "full_name", "nip"]
    form_columns = ["username", "full_name", "nip", "position", "rank", "roles", "active",
                    "locale", "password"]  # fmt: skip
    form_extra_fields = {"password": PasswordField(_l("New password"))}
    form_choices = {"locale": [("id", "Bahasa Indonesia"), ("en", "English")]}
    form_args = {"nip": {"validators": [_nip_validator]}}
    column_formatters = {"nip": lambda v, c, m, n: m.nip_display}
    column_labels = {
        "username": _l("Username"), "full_name": _l("Full name"), "nip": _l("NIP"),
        "position": _l("Position"), "rank": _l("Rank (pangkat/golongan)"), "roles": _l("Roles"),
        "roles.code": _l("Role"),
        "active": _l("Active"), "locale": _l("Language"),
    }  # fmt: skip
    column_descriptions = {
        "password": _l("At least 10 characters, not containing the username. "
                       "Leave empty to keep the current password."),
        "nip": _l("18 digits, e.g. 19700930 199703 1 003; may be empty."),
        "rank": _l("Printed under the name on the documents the official signs, "
                   "e.g. Pembina Utama Muda (IV/c)."),
    }  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(User, db, **kwargs)

    def on_model_change(self, form, model, is_created):
        password = form.password.data or ""
        if is_created and not password:
            raise ValidationError(_("A new user needs a password."))
        if password:
            error = auth.password_error(password, model.username)
            if error:
                raise ValidationError(_(error))
            model.set_password(password)

    def after_model_change(self, form, model, is_created):
        if model.id == current_user.id:
            # A change of one's own password or roles ends one's other sessions (see
            # User.session_version), not this one: it gets the new version.
            login_user(model)
