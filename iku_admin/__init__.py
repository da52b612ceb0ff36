"""IKU Admin: the SOP "Penyusunan IKU" as a Flask-Admin panel."""

from __future__ import annotations

import os
import secrets
import time
from zoneinfo import ZoneInfo

from flask import Flask, abort, flash, g, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

import models.base

from . import assets, audit, auth, config, content_lock, custom_fields, requirements
from .extensions import babel, compress, csrf, db, login_manager, migrate
from .i18n import TRANSLATIONS, _, fmt_date, fmt_number, select_locale


def create_app(overrides: dict | None = None) -> Flask:
    """Application factory: config from the environment, then ``overrides`` (tests)."""
    app = Flask(
        __name__,
        template_folder=str(config.ROOT / "templates"),
        instance_path=str(config.ROOT / "instance"),
    )
    app.config.update(config.from_environment())
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = config.normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    _refuse_insecure_start(app)
    if app.config["IKU_PROXIES"]:
        # The client's address (login throttling, audit) and scheme as the proxy saw them.
        proxies = app.config["IKU_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    models.base.LOCAL_TZ = ZoneInfo(app.config["IKU_TIMEZONE"])
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS)
    )
    _init_login(app)
    audit.init_app(app)
    content_lock.init_app(app)
    requirements.init_app(app)
    # Definitions are kept for one request, also where requests share an app context.
    app.before_request(custom_fields.forget)

    from .views import init_views

    init_views(app)

    from . import cli

    cli.register(app)
    _init_pages(app)
    # Last: compression runs before the other after-request hooks (it sees the view's status),
    # and static files are served in front of everything.
    compress.init_app(app)
    assets.init_app(app)
    return app


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: readers do not wait for a writer (WAL), writers wait rather than fail."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _refuse_insecure_start(app: Flask) -> None:
    """Outside demo mode and tests, a real SECRET_KEY is required."""
    if app.config["SECRET_KEY"] == config.DEFAULT_SECRET_KEY and not (
        app.config["IKU_DEMO"] or app.testing
    ):
        raise RuntimeError(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "value (or IKU_DEMO=1 for a local demonstration)."
        )


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie is ``Secure`` whenever the request came over HTTPS
    (directly, or per the trusted proxy's X-Forwarded-Proto), and always with IKU_HTTPS=1."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure  # saved within a request


def _init_login(app: Flask) -> None:
    app.session_interface = SessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(session_id: str):
        # The session's id holds the user's session version (User.get_id): a session from
        # before a logout, a password change or a change of roles no longer loads a user.
        return auth.session_user(db.session, session_id)

    @app.before_request
    def forget_grants():
        """Each request reads the user's permissions afresh (see ``auth.grants``)."""
        auth.forget_grants()

    @app.before_request
    def refuse_nul_bytes():
        """No stored text may hold a NUL byte (PostgreSQL refuses them): refuse it upfront."""
        for values in (request.args, request.form):
            if any("\x00" in value for _key, value in values.items(multi=True)):
                abort(400)
        return None

    @app.before_request
    def require_login():
        """Every page except login and static files needs a signed-in user."""
        if request.endpoint in {"auth.login", "auth.language", "static"} or (
            request.endpoint or ""
        ).endswith(".static"):
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        # Idle timeout, checked on the server: the session cookie itself lives only as long
        # as the browser (a permanent session would weaken "strong" session protection).
        now = time.time()
        idle = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
        if now - session.get("seen", now) > idle:
            logout_user()
            session.clear()
            flash(_("Your session ended after a period of inactivity. Please log in again."))
            return login_manager.unauthorized()
        session["seen"] = now
        return None


CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def csp_nonce() -> str:
    """A per-request nonce for the few inline scripts (Flask-Admin's and ours)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _init_pages(app: Flask) -> None:
    app.jinja_env.globals.update(csp_nonce=csp_nonce, current_locale=lambda: str(get_locale()))
    app.jinja_env.filters.update(date_id=fmt_date, number_id=fmt_number)

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = CSP.format(nonce=csp_nonce())
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if current_user and current_user.is_authenticated:
            # Protected pages must not come back from the cache after logout.
            response.headers["Cache-Control"] = "no-store"
        # A form posted with errors is shown again: say so with 422, not 200.
        if (
            request.method == "POST"
            and response.status_code == 200
            and (request.endpoint or "").endswith((".create_view", ".edit_view"))
        ):
            response.status_code = 422
        return response

    def error_page(code: int, message: str):
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        db.session.rollback()
        return error_page(
            400, _("The form has expired or is not valid. Reload the page and try again.")
        )

    @app.errorhandler(400)
    def bad_request(error):
        return error_page(400, _("The request is not valid."))

    @app.errorhandler(403)
    def forbidden(error):
        return error_page(403, _("You do not have access to this page or action."))

    @app.errorhandler(404)
    def not_found(error):
        return error_page(404, _("The page or record was not found."))

    @app.errorhandler(405)
    def not_allowed(error):
        return error_page(405, _("This action is not allowed here."))

    @app.errorhandler(413)
    def too_large(error):
        return error_page(413, _("The upload is too large."))

    @app.errorhandler(OperationalError)
    def database_down(error):
        db.session.rollback()
        return error_page(
            503, _("The database cannot be reached right now. Please try again in a moment.")
        )

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return error_page(500, _("Something went wrong. Nothing was saved; please try again."))
