"""Login, logout and the language switch."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from models.people import end_sessions

from .. import auth
from ..extensions import db
from ..i18n import LANGUAGES, _, _l
from .redirects import is_same_site_path

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=50)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    """Only follow a ``next`` that stays on this site."""
    return target if is_same_site_path(target) else url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = auth.authenticate(
                db.session,
                form.username.data,
                form.password.data,
                request.remote_addr,
                current_app.config["IKU_LOGIN_FAILURES"],
                current_app.config["IKU_ADDRESS_FAILURES"],
            )
        except auth.LoginThrottled:
            flash(_("Too many failed logins. Try again in 15 minutes."), "error")
            status = 429
        else:
            if user is not None:
                session.clear()  # a new session id for the new login
                login_user(user)
                return redirect(_safe_next(request.args.get("next")))
            flash(_("Wrong username or password, or the account is inactive."), "error")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    end_sessions(db.session.connection(), [current_user.id])  # on every device and process
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>", methods=["POST"])
def language(code: str):
    """Switch the interface language (stored on the user, or in the session before login)."""
    if code not in LANGUAGES:
        return redirect(url_for("admin.index"))
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))
