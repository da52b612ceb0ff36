"""Alembic environment: the schema comes only from these migrations.

Uses Flask-SQLAlchemy 3's ``db.engine`` (not the deprecated ``get_engine()``), batch mode on
SQLite so that ALTERs work there too, and type comparison so autogenerate sees every change.

Each revision runs in a transaction of its own, on both engines: a revision that fails leaves
the database as the previous revision left it (schema, data and ``alembic_version``). SQLite
needs two things for that, on a connection of its own (the app's pool keeps its settings):
the driver must not commit around DDL (its transactions are begun here, explicitly), and
foreign keys must not be enforced while batch mode rebuilds a table (dropping the old table
would otherwise delete or refuse the rows that refer to it; ``PRAGMA foreign_keys`` cannot
change inside a transaction). Instead, every revision ends with ``PRAGMA foreign_key_check``,
and one that leaves a dangling reference is rolled back.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, event
from sqlalchemy.pool import NullPool

from models.search import autogenerate_options

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata


SQLITE = db.engine.dialect.name == "sqlite"


class ForeignKeyViolation(Exception):
    """A revision left rows that refer to missing rows (SQLite, checked after each one)."""


def _check_foreign_keys(ctx, step, heads, run_args) -> None:
    """After each revision, inside its transaction: refuse dangling references."""
    if SQLITE:
        bad = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if bad:
            raise ForeignKeyViolation(f"{step}: rows refer to missing rows: {bad[:10]}")


def _options(connection_or_url) -> dict:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_as_batch": SQLITE,
        "transaction_per_migration": True,
        "transactional_ddl": True,
        "on_version_apply": [_check_foreign_keys],
        **autogenerate_options(),
        **current_app.extensions["migrate"].configure_args,
    }


def _migration_engine():
    """The app's engine; on SQLite a separate one whose connections run DDL in transactions
    and do not enforce foreign keys while tables are rebuilt (see the module's docstring)."""
    if not SQLITE:
        return db.engine
    engine = create_engine(db.engine.url, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None  # the driver neither begins nor commits
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # outside any transaction
        dbapi_connection.execute("PRAGMA busy_timeout=10000")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")

    return engine


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

    engine = _migration_engine()
    try:
        with engine.connect() as connection:
            options = _options(connection)
            options.setdefault("process_revision_directives", skip_empty)
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if engine is not db.engine:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
