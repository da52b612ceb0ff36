"""Commands for IT: ``flask --app app seed|demo|create-user|permissions|rebuild-totals``
(and backup/restore)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select

from models import Role, User

from . import auth, backup, mutu
from .extensions import db
from .seed import DEMO_PASSWORD, DEMO_USERS, demo, seed


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI."""

    @app.cli.command("seed")
    def seed_command() -> None:
        """Load the roles and the SOP sheet (idempotent)."""
        sop = seed(db.session)
        click.echo(f"Roles and SOP {sop.number} v{sop.version} ({len(sop.steps)} steps) ready.")

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no user yet.")
    def demo_command(if_empty: bool) -> None:
        """Create the demo accounts and sample dossiers (demo mode only, idempotent)."""
        if not current_app.config["IKU_DEMO"]:
            raise click.ClickException("Demo accounts are only created with IKU_DEMO=1.")
        if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
            click.echo("Database already has users: demo accounts left as they are.")
            return
        made = demo(db.session)
        click.echo(f"Demo accounts (password {DEMO_PASSWORD}):")
        for username, role, *_rest in DEMO_USERS:
            mark = " (new)" if username in made else ""
            click.echo(f"  {username:<11} {role}{mark}")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", "roles", multiple=True, required=True, help="Role code; repeatable.")
    @click.option("--full-name", default=None, help="Full name (default: the username).")
    @click.option("--nip", default=None, help="18-digit NIP.")
    @click.password_option(help="Asked for when not given.")
    def create_user_command(username, roles, full_name, nip, password) -> None:
        """Create a user, or give an existing one the roles and a new password."""
        error = auth.password_error(password, username)
        if error:
            raise click.ClickException(error)
        found = {r.code: r for r in db.session.scalars(select(Role).where(Role.code.in_(roles)))}
        unknown = set(roles) - set(found)
        if unknown:
            raise click.ClickException(
                f"Unknown role(s): {', '.join(sorted(unknown))}. Run 'flask --app app seed' first."
            )
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, full_name=full_name or username)
            db.session.add(user)
        try:
            if nip:
                user.nip = nip
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        if full_name:
            user.full_name = full_name
        user.set_password(password)
        for code in roles:
            if found[code] not in user.roles:
                user.roles.append(found[code])
        db.session.commit()
        click.echo(f"User {username} ready with role(s) {', '.join(sorted(user.role_codes))}.")

    backup.register(app)

    @app.cli.command("rebuild-totals")
    def rebuild_totals_command() -> None:
        """Recompute the quality dashboard's totals from the step history (after changing
        IKU_TIMEZONE, or loading history rows outside the app)."""
        mutu.rebuild_totals(db.session.connection())
        db.session.commit()
        click.echo("Dashboard totals rebuilt from the step history.")

    @app.cli.command("permissions")
    def permissions_command() -> None:
        """Print the stored permission matrix (Markdown), every role a column."""
        codes = db.session.scalars(select(Role.code).order_by(Role.id)).all()
        click.echo(auth.matrix_markdown(auth.current_matrix(db.session), roles=codes))
