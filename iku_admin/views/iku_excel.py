"""Excel in: the IKU template download and its import into a dossier."""

from __future__ import annotations

from io import BytesIO

from flask import current_app, flash, redirect, request, send_file, url_for
from flask_admin import Admin, expose
from flask_login import current_user

from models import Dossier

from .. import auth, iku_excel, spreadsheet, workflow
from ..extensions import db
from ..i18n import _, _l
from .base import GuardedView


class IkuExcelView(GuardedView):
    """The import page: what to do, and per dossier a template download and an upload form."""

    def _page(self, problems=(), chosen: Dossier | None = None):
        return self.render(
            "iku_excel/index.html",
            dossiers=iku_excel.importable_dossiers(db.session),
            writable=auth.can_write(current_user, self.endpoint),
            problems=problems,
            chosen=chosen,
            max_indicators=iku_excel.MAX_INDICATORS,
            max_mb=self._max_bytes() // (1024 * 1024),
        )

    @staticmethod
    def _max_bytes() -> int:
        return current_app.config.get("MAX_CONTENT_LENGTH") or iku_excel.DEFAULT_MAX_BYTES

    @expose("/")
    def index(self):
        return self._page()

    @expose("/template/<id:dossier_id>/")
    def template(self, dossier_id: int):
        dossier = db.get_or_404(Dossier, dossier_id)
        return send_file(
            BytesIO(iku_excel.template_workbook(dossier)),
            mimetype=spreadsheet.XLSX_MIMETYPE,
            as_attachment=True,
            download_name=f"template-iku-{dossier.id}.xlsx",
        )

    @expose("/import/<id:dossier_id>/", methods=["POST"])
    def upload(self, dossier_id: int):
        self.require_write()
        dossier = db.get_or_404(Dossier, dossier_id)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            problem = iku_excel.Problem(_("Choose the filled-in template (.xlsx) to upload."))
            return self._page([problem], dossier), 400
        limit = self._max_bytes()
        try:
            result = iku_excel.import_workbook(
                db.session, dossier, upload.filename, upload.stream.read(limit + 1), limit
            )
        except iku_excel.ImportRefused as refused:
            return self._page(refused.problems, dossier), refused.status
        except workflow.WorkflowError as error:
            return self._page([iku_excel.Problem(str(error))], dossier), 409
        flash(
            _("Imported %(indicators)s indicator(s) with %(targets)s target(s) and "
              "%(objectives)s new strategic objective(s).", indicators=result.indicators,
              targets=result.targets, objectives=result.objectives),
            "success",
        )  # fmt: skip
        return redirect(url_for("dossier.details_view", id=dossier.id), 303)


def register(admin: Admin) -> None:
    """Add this module's screens to the admin."""
    admin.add_view(IkuExcelView(name=_l("Excel import"), endpoint="iku_excel", category=_l("IKU")))
