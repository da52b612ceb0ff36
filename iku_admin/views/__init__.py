"""Every screen of the panel. Plain screens are a few attribute lines here; screens with
behaviour (actions, custom templates) have modules of their own."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from models import (
    AuditEntry,
    CalendarDay,
    IndicatorTarget,
    LoginAttempt,
    Role,
    Sop,
    SopStep,
    StepRecord,
    StrategicObjective,
)

from .. import auth
from ..extensions import db
from ..i18n import TRANSLATIONS, _l
from . import dashboard, documents, iku_excel
from .agency import AgencyView
from .base import GuardedModelView
from .content import ContentView, IndicatorView
from .dossier import OUTCOME_LABELS, DossierView
from .fields import IdConverter
from .home import HomeView
from .people import UserView
from .sop import SopStepView, SopView


class ReadOnlyView(GuardedModelView):
    """A list nobody edits (history, logs): read, filter, export."""

    allow_create = allow_edit = allow_delete = False
    can_export = True
    simple_list_pager = True  # no count(*) over a history of millions on every page
    export_types = ["csv", "xlsx"]
    column_default_sort = ("id", True)


class StepRecordView(ReadOnlyView):
    column_list = ["dossier", "position", "step", "outcome", "user", "role", "note",
                   "started_at", "finished_at", "working_minutes", "standard_minutes",
                   "sop_version"]  # fmt: skip
    column_filters = ["dossier_id", "position", "outcome", "user.username", "finished_at"]
    column_searchable_list = ["note"]
    column_choices = {"outcome": list(OUTCOME_LABELS.items())}
    column_labels = {
        "dossier": _l("Dossier"), "dossier_id": _l("Dossier number"), "position": _l("Step"),
        "step": _l("Activity"), "outcome": _l("Outcome"), "user": _l("By"),
        "user.username": _l("Username"), "role": _l("As role"), "note": _l("Note"),
        "started_at": _l("Became current"), "finished_at": _l("Finished"),
        "working_minutes": _l("Working minutes"), "standard_minutes": _l("Standard minutes"),
        "sop_version": _l("SOP version"),
    }  # fmt: skip


class AuditEntryView(ReadOnlyView):
    column_list = ["at", "username", "action", "table_name", "row_id", "changes"]
    column_filters = ["at", "username", "action", "table_name", "row_id"]
    column_labels = {
        "at": _l("Time"), "username": _l("Username"), "action": _l("Action"),
        "table_name": _l("Table"), "row_id": _l("Row"), "changes": _l("Changes"),
    }  # fmt: skip


class LoginAttemptView(ReadOnlyView):
    column_list = ["at", "username", "address", "success"]
    column_filters = ["at", "username", "address", "success"]
    column_labels = {
        "at": _l("Time"), "username": _l("Username"), "address": _l("Address"),
        "success": _l("Succeeded"),
    }  # fmt: skip


class ObjectiveView(ContentView):
    selection_text = _l("Select strategic objective #%(id)s")
    column_list = ["dossier", "order", "name"]
    column_filters = ["dossier.title"]
    column_searchable_list = ["name"]
    form_columns = ["dossier", "order", "name"]
    column_labels = {
        "dossier": _l("Dossier"), "dossier.title": _l("Dossier"), "order": _l("Order"),
        "name": _l("Strategic objective"),
    }  # fmt: skip


class TargetView(ContentView):
    selection_text = _l("Select yearly target #%(id)s")
    column_list = ["indicator", "year", "target"]
    column_filters = ["year", "indicator.name"]
    form_columns = ["indicator", "year", "target"]
    column_labels = {
        "indicator": _l("Indicator"), "indicator.name": _l("Indicator"), "year": _l("Year"),
        "target": _l("Target"),
    }  # fmt: skip

    @staticmethod
    def dossier_of(model):
        return model.indicator.objective.dossier if model.indicator else None


class RoleView(GuardedModelView):
    selection_text = _l("Select role #%(id)s")
    column_list = ["code", "name"]
    form_columns = ["code", "name"]
    column_searchable_list = ["code", "name"]
    column_labels = {"code": _l("Code"), "name": _l("Name")}


class CalendarDayView(GuardedModelView):
    selection_text = _l("Select calendar day #%(id)s")
    column_list = ["day", "kind", "description"]
    form_columns = ["day", "kind", "description"]
    column_default_sort = ("day", True)
    column_filters = ["day", "kind"]
    form_choices = {"kind": [("off", _l("Day off")), ("work", _l("Extra working day"))]}
    column_choices = form_choices
    column_labels = {"day": _l("Date"), "kind": _l("Kind"), "description": _l("Description")}


def init_views(app: Flask) -> Admin:
    """Register the login pages and build the admin with every screen."""
    from . import account

    app.url_map.converters["id"] = IdConverter  # before any route names it
    app.register_blueprint(account.bp)
    admin = Admin(
        app,
        name="IKU Admin",
        theme=Bootstrap4Theme(base_template="iku_master.html", fluid=True),
        index_view=HomeView(name=_l("My tasks"), url="/admin", endpoint="admin"),
        translations_path=str(TRANSLATIONS),
        csp_nonce_generator=_nonce,
    )
    work, iku, sop, system = _l("Workflow"), _l("IKU"), _l("SOP"), _l("System")
    for view in (
        DossierView(name=_l("Dossiers"), endpoint="dossier", category=work),
        StepRecordView(StepRecord, db, name=_l("Step history"), endpoint="step_record",
                       category=work),
        ObjectiveView(StrategicObjective, db, name=_l("Strategic objectives"),
                      endpoint="objective", category=iku),
        IndicatorView(name=_l("Indicators"), endpoint="indicator", category=iku),
        TargetView(IndicatorTarget, db, name=_l("Yearly targets"), endpoint="target",
                   category=iku),
        SopView(Sop, db, name=_l("SOP versions"), endpoint="sop", category=sop),
        SopStepView(SopStep, db, name=_l("SOP steps"), endpoint="sop_step", category=sop),
        CalendarDayView(CalendarDay, db, name=_l("Working calendar"), endpoint="calendar_day",
                        category=sop),
        UserView(name=_l("Users"), endpoint="user", category=system),
        AgencyView(name=_l("Agency"), endpoint="agency", category=system),
        RoleView(Role, db, name=_l("Roles"), endpoint="role", category=system),
        AuditEntryView(AuditEntry, db, name=_l("Audit log"), endpoint="audit_entry",
                       category=system),
        LoginAttemptView(LoginAttempt, db, name=_l("Login attempts"), endpoint="login_attempt",
                         category=system),
    ):  # fmt: skip
        admin.add_view(view)
    for module in (dashboard, documents, iku_excel):
        module.register(admin)
    assert {v.endpoint for v in admin._views} - {"admin"} <= set(auth.MATRIX), (
        "screen without permissions"
    )
    return admin


def _nonce() -> str:
    from .. import csp_nonce

    return csp_nonce()
