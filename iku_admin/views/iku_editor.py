"""The IKU editor on the dossier page: what its template needs, and the one POST that saves it
(``iku_content`` does the work)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_login import current_user

from models import Dossier, IndicatorUnit
from models.dossier import POLARITIES
from models.validation import parse_integer

from .. import auth, custom_fields, iku_content, workflow
from ..extensions import db
from ..i18n import _, _l

POLARITY_LABELS = {"max": _l("Higher is better"), "min": _l("Lower is better")}
assert set(POLARITY_LABELS) == set(POLARITIES)


class IkuEditorMixin:
    """Mixed into the dossier view: ``iku_editor`` gives the details page its IKU section,
    ``iku_view`` saves it."""

    def iku_editor(self, dossier: Dossier, objectives, grid=None, errors=None) -> dict:
        """Template values of the IKU section: ``iku_grid`` (rows to edit) when the user may
        write the content and it is still editable, else None (the read-only table)."""
        fields = custom_fields.request_fields(db.session, "indicator")
        if workflow.is_content_locked(dossier) or not auth.can_write_content(current_user):
            return {"iku_grid": None, "iku_fields": fields, "iku_display": _display}
        # What the IKU check misses is told of the stored rows, not of input shown again.
        step = workflow.iku_step(dossier) if grid is None else None
        if grid is None:
            grid = iku_content.rows_of(dossier, list(objectives), step is not None, fields)
        return {
            "iku_fields": fields,
            "iku_extra_name": iku_content.extra_name,
            "iku_grid": grid,
            "iku_errors": errors or {},
            "iku_step": step,
            "iku_units": IndicatorUnit.names(db.session),
            "iku_polarities": POLARITY_LABELS,
            "iku_new": iku_content.new_rows(dossier),
            "iku_missing": _missing(grid) if step is not None else None,
        }

    @expose("/iku/", methods=["POST"])
    def iku_view(self):
        """Save the whole grid: 303 back to the page, or the page again with the input kept
        and the reason (409 locked or changed meanwhile, 422 invalid values)."""
        if not auth.can_write_content(current_user):
            abort(403)
        dossier = self.get_one(request.args.get("id"))
        version = parse_integer(request.form.get("version"), minimum=0)
        try:
            if version is None:
                raise iku_content.MalformedGrid("version")
            fields = custom_fields.request_fields(db.session, "indicator")
            grid = iku_content.parse(dossier, request.form.getlist("row"), request.form, fields)
        except iku_content.MalformedGrid:
            abort(400)
        try:
            result = iku_content.save(db.session, dossier, version, grid, fields)
        except workflow.WorkflowError as error:
            flash(str(error), "error")
            return self._details_page(dossier, 409)
        except iku_content.GridStale:
            flash(_("Someone else changed the IKU of this dossier after you opened it. Your "
                    "input was not saved and is still below; check it against the saved IKU "
                    "(reload the page in another tab) and save again."), "error")  # fmt: skip
            return self._details_page(db.session.get(Dossier, dossier.id), 409, grid=grid)
        except iku_content.GridInvalid as invalid:
            flash(_("The IKU was not saved: correct the fields marked below."), "error")
            return self._details_page(dossier, 422, grid=grid, errors=invalid.errors)
        if result.changed:
            flash(_("The IKU was saved."), "success")
        else:
            flash(_("Nothing to save: the IKU is as stored."), "info")
        return redirect(url_for(".details_view", id=dossier.id, _anchor="iku"), 303)


def _display(field, indicator) -> str:
    """A custom field's value of an indicator, as the page shows it."""
    return custom_fields.display(field, custom_fields.value_of(indicator, field), str(get_locale()))


def _missing(grid) -> str | None:
    """The dossier-wide gap of the IKU check: not a single indicator yet."""
    if not any(i.id is not None for o in grid for i in o.indicators):
        return _("at least one indicator")
    return None
