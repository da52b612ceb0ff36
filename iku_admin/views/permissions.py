"""Roles and what each may do: the Roles screen and the permission matrix (one form)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select

from models import Role

from .. import auth
from ..extensions import db
from ..i18n import _, _l
from .base import GuardedModelView, GuardedView

# What a cell of the matrix offers: no access, read, read and write.
LEVEL_LABELS = {"": _l("No access"), auth.READ: _l("Read"), auth.WRITE: _l("Read and write")}


class RoleView(GuardedModelView):
    """Roles: the code is chosen once, at creation (steps, history and documents refer to
    it); the name may change. What a role may open is set in the permission matrix."""

    selection_text = _l("Select role #%(id)s")
    column_list = ["code", "name"]
    form_columns = ["code", "name"]
    column_searchable_list = ["code", "name"]
    column_labels = {"code": _l("Code"), "name": _l("Name")}
    column_descriptions = {
        "code": _l("Lowercase letters, digits and underscores, e.g. verifikator. It cannot "
                   "change once the role is saved; the name can."),
    }  # fmt: skip

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form.code.render_kw = {"readonly": True}
        return form


def cell_name(role_id: int, screen: str) -> str:
    """The form field of one cell of the matrix."""
    return f"cell-{role_id}-{screen}"


class PermissionView(GuardedView):
    """The permission matrix: rows are the screens, columns the roles, one select per cell;
    saved at once, refused whole when a role changed since the form was opened."""

    def screens(self) -> list[tuple[str, str]]:
        """(endpoint, label) of every screen of ``auth.SCREENS``, as the menu groups them."""
        views = [view for view in self.admin._views if view.endpoint in auth.SCREENS]
        categories = list(dict.fromkeys(str(view.category or "") for view in views))
        categories.sort(key=lambda category: category == "")  # the plain items last
        views.sort(key=lambda view: categories.index(str(view.category or "")))
        return [
            (view.endpoint, f"{view.category} › {view.name}" if view.category else str(view.name))
            for view in views
        ]

    def _page(self, status: int = 200):
        roles = db.session.scalars(select(Role).order_by(Role.id)).all()
        matrix = auth.current_matrix(db.session)
        return self.render(
            "permissions/index.html",
            roles=roles,
            screens=self.screens(),
            matrix=matrix,
            levels=LEVEL_LABELS,
            fixed=auth.FIXED,
            cell_name=cell_name,
            writable=auth.can_write(current_user, self.endpoint),
        ), status

    @expose("/", methods=["GET", "POST"])
    def index(self):
        if request.method == "GET":
            return self._page()
        self.require_write()
        versions, cells = self._posted()
        try:
            changed = auth.save_matrix(db.session, versions, cells)
            db.session.commit()
        except auth.MatrixConflict:
            db.session.rollback()
            flash(_("The roles or their permissions were changed by someone else after you "
                    "opened this page. Nothing was saved; the page now shows the current "
                    "permissions."), "error")  # fmt: skip
            return self._page(409)
        flash(_("Permissions saved: %(n)s changed.", n=changed), "success")
        return redirect(url_for(".index"))

    def _posted(self) -> tuple[dict[int, int], dict[tuple[int, str], str | None]]:
        """The versions and cells the form sent; 400 when it is not this form's."""
        versions: dict[int, int] = {}
        for key, value in request.form.items():
            if key.startswith("version-"):
                role_id, seen = key.removeprefix("version-"), value
                if not (role_id.isascii() and role_id.isdigit() and seen.isascii()
                        and seen.isdigit()) or len(role_id) > 9 or len(seen) > 9:  # fmt: skip
                    abort(400)
                versions[int(role_id)] = int(seen)
        if not versions:
            abort(400)
        codes = dict(
            db.session.execute(select(Role.id, Role.code).where(Role.id.in_(versions))).all()
        )
        cells: dict[tuple[int, str], str | None] = {}
        for role_id in versions:
            for screen in auth.SCREENS:
                if (codes.get(role_id), screen) in auth.FIXED:
                    continue  # shown, not sent: it does not change
                value = request.form.get(cell_name(role_id, screen))
                if value is None and role_id in codes:
                    abort(400)
                if value not in LEVEL_LABELS and value is not None:
                    abort(400)
                cells[(role_id, screen)] = value or None
        if set(versions) - set(codes):
            return versions, {}  # a role was deleted: save_matrix refuses the whole form
        return versions, cells
