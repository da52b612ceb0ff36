"""Alembic environment: the schema comes only from these migrations.

Uses Flask-SQLAlchemy 3's ``db.engine`` (not the deprecated ``get_engine()``), batch mode on
SQLite so that ALTERs work there too, and type comparison so autogenerate sees every change.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from models.search import autogenerate_options

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata


def _options(connection_or_url) -> dict:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_as_batch": db.engine.dialect.name == "sqlite",
        **autogenerate_options(),
        **current_app.extensions["migrate"].configure_args,
    }


def run_migrations_offline() -> None:
    """Emit SQL to stdout without connecting."""
    url = db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, literal_binds=True, **_options(url))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against the app's database."""

    def skip_empty(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    with db.engine.connect() as connection:
        options = _options(connection)
        options.setdefault("process_revision_directives", skip_empty)
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
