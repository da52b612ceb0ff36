"""Every screen of the panel. Plain screens are a few attribute lines here; screens with
behaviour (actions, custom templates) have modules of their own."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from models import (
    LoginAttempt,
    Procedure,
    Role,
    Sop,
    SopStep,
    StepRecord,
)

from .. import auth
from ..extensions import db
from ..i18n import TRANSLATIONS, _l
from . import dashboard, documents, iku_excel
from .agency import AgencyView
from .audit import AuditEntryView
from .base import GuardedModelView
from .calendar import CalendarDayView, OfficeDayView
from .content import IndicatorUnitView, IndicatorView, ObjectiveView, TargetView
from .custom_fields import CustomFieldView
from .dossier import OUTCOME_LABELS, DossierView
from .fields import IdConverter
from .home import HomeView
from .people import UserView
from .permissions import PermissionView, RoleView
from .sop import ProcedureFilter, ProcedureView, SopStepView, SopView, steps_of


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
    column_filters = [
        "dossier_id",
        "position",
        "outcome",
        "user.username",
        "finished_at",
        ProcedureFilter(StepRecord.step_id, _l("SOP"), steps_of),
    ]
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


class LoginAttemptView(ReadOnlyView):
    column_list = ["at", "username", "address", "success"]
    column_filters = ["at", "username", "address", "success"]
    column_labels = {
        "at": _l("Time"), "username": _l("Username"), "address": _l("Address"),
        "success": _l("Succeeded"),
    }  # fmt: skip


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
        ObjectiveView(name=_l("Strategic objectives"), endpoint="objective", category=iku),
        IndicatorView(name=_l("Indicators"), endpoint="indicator", category=iku),
        TargetView(name=_l("Yearly targets"), endpoint="target", category=iku),
        IndicatorUnitView(name=_l("Indicator units"), endpoint="indicator_unit", category=iku),
        ProcedureView(Procedure, db, name=_l("SOPs"), endpoint="procedure", category=sop),
        SopView(Sop, db, name=_l("SOP versions"), endpoint="sop", category=sop),
        SopStepView(SopStep, db, name=_l("SOP steps"), endpoint="sop_step", category=sop),
        CalendarDayView(name=_l("Working calendar"), endpoint="calendar_day", category=sop),
        OfficeDayView(name=_l("Office hours"), endpoint="office_day", category=sop),
        UserView(name=_l("Users"), endpoint="user", category=system),
        AgencyView(name=_l("Agency"), endpoint="agency", category=system),
        CustomFieldView(name=_l("Custom fields"), endpoint="custom_field", category=system),
        RoleView(Role, db, name=_l("Roles"), endpoint="role", category=system),
        PermissionView(name=_l("Permissions"), endpoint="permission", category=system),
        AuditEntryView(name=_l("Audit log"), endpoint="audit_entry", category=system),
        LoginAttemptView(LoginAttempt, db, name=_l("Login attempts"), endpoint="login_attempt",
                         category=system),
    ):  # fmt: skip
        admin.add_view(view)
    for module in (dashboard, documents, iku_excel):
        module.register(admin)
    assert {v.endpoint for v in admin._views} - {"admin"} == set(auth.SCREENS), (
        "every screen, and only a screen, is in the permission matrix"
    )
    return admin


def _nonce() -> str:
    from .. import csp_nonce

    return csp_nonce()
