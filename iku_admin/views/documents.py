"""The official documents: the IKU table and the SOP sheet (HTML, PDF, XLSX)."""

from __future__ import annotations

from io import BytesIO

from flask import abort, render_template, send_file
from flask_admin import Admin, expose
from flask_login import current_user
from sqlalchemy import select

from models import Dossier, Procedure, Sop

from .. import auth, documents, spreadsheet
from ..extensions import db
from ..i18n import _l
from .base import GuardedView
from .sop import SopView


def _file(data: bytes, mimetype: str, name: str, attachment: bool = False):
    return send_file(BytesIO(data), mimetype=mimetype, download_name=name, as_attachment=attachment)


class DocumentsView(GuardedView):
    """The list of documents, and each document as a page, a PDF or a workbook."""

    DOSSIER_LIMIT = 200

    @expose("/")
    def index(self):
        sops = db.session.scalars(select(Sop).order_by(Sop.number, Sop.version.desc())).all()
        dossiers = db.session.scalars(
            select(Dossier).join(Dossier.sop).join(Sop.procedure)
            .where(Procedure.carries_iku).order_by(Dossier.id.desc()).limit(self.DOSSIER_LIMIT)
        ).all()  # fmt: skip
        return self.render(
            "documents/index.html",
            sops=sops,
            dossiers=dossiers,
            limit=self.DOSSIER_LIMIT,
            statuses=dict(SopView.column_choices["status"]),
        )

    @expose("/iku/<id:dossier_id>/")
    def iku(self, dossier_id: int):
        return documents.iku_html(_iku_dossier(dossier_id))

    @expose("/iku/<id:dossier_id>.pdf")
    def iku_pdf(self, dossier_id: int):
        dossier = _iku_dossier(dossier_id)
        return _file(documents.iku_pdf(dossier), "application/pdf", f"IKU-{dossier.id}.pdf")

    @expose("/iku/<id:dossier_id>.xlsx")
    def iku_xlsx(self, dossier_id: int):
        dossier = _iku_dossier(dossier_id)
        return _file(
            documents.iku_xlsx(dossier), spreadsheet.XLSX_MIMETYPE, f"IKU-{dossier.id}.xlsx", True
        )

    @expose("/dossier/<id:dossier_id>/")
    def record_sheet(self, dossier_id: int):
        return documents.record_sheet_html(_readable_dossier(dossier_id))

    @expose("/dossier/<id:dossier_id>.pdf")
    def record_sheet_pdf(self, dossier_id: int):
        dossier = _readable_dossier(dossier_id)
        pdf = documents.record_sheet_pdf(dossier)
        return _file(pdf, "application/pdf", f"lembar-kendali-{dossier.id}.pdf")

    @expose("/sop/<id:sop_id>/")
    def sop(self, sop_id: int):
        return documents.sop_html(db.get_or_404(Sop, sop_id))

    @expose("/sop/<id:sop_id>.pdf")
    def sop_pdf(self, sop_id: int):
        sop = db.get_or_404(Sop, sop_id)
        name = f"SOP-{sop.id}-v{sop.version}.pdf"
        return _file(documents.sop_pdf(sop), "application/pdf", name)


# What a record sheet shows: the dossier and its step history, each a screen of its own.
RECORD_SCREENS = ("dossier", "step_record")


def _readable_dossier(dossier_id: int) -> Dossier:
    """A dossier whose record sheet the user may read: 403 without the grants of its parts."""
    if not all(auth.can_read(current_user, screen) for screen in RECORD_SCREENS):
        abort(403)
    return db.get_or_404(Dossier, dossier_id)


def _iku_dossier(dossier_id: int) -> Dossier:
    """A dossier that has an IKU document (404 for another SOP's dossier)."""
    dossier = db.get_or_404(Dossier, dossier_id)
    if not dossier.carries_iku:
        abort(404)
    return dossier


def _too_large(error: documents.DocumentTooLarge):
    """A document past its limits: 422 and the advice, before anything was rendered."""
    return render_template("error.html", code=422, message=str(error)), 422


def register(admin: Admin) -> None:
    """Add the documents screen, and the SOP chart for other pages' templates."""
    admin.add_view(DocumentsView(name=_l("Documents"), endpoint="documents"))
    admin.app.jinja_env.globals["sop_chart_svg"] = documents.sop_chart_svg
    admin.app.register_error_handler(documents.DocumentTooLarge, _too_large)
