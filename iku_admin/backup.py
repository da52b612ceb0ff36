"""Backup and restore of every table in a portable format.

A backup is a zip file: ``tables/<name>.jsonl`` holds one JSON object per row (column name ->
value; dates and timestamps in ISO 8601 with their offset, Decimal as a string, bytes in
base64), and ``manifest.json`` the Alembic revision, the tables in dependency order and
their row counts. It restores into SQLite or PostgreSQL alike, whichever database it came from.

Restore works with Core statements (the ORM's append-only guards and the audit log do not
apply to copying rows back) in one transaction: it all goes in, or nothing does.
"""

from __future__ import annotations

import base64
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import Connection, Table, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from models import Base, utcnow

from .audit import json_value
from .extensions import db
from .i18n import _

FORMAT = "iku-admin-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 1000


class BackupError(Exception):
    """A backup that cannot be written or restored; the message is fit to show (translated)."""


def tables() -> list[Table]:
    """Every table of the models, parents before children."""
    return Base.metadata.sorted_tables


def database_revision(connection: Connection) -> str | None:
    """The Alembic revision the database is migrated to (None: not migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def tables_with_rows(connection: Connection) -> list[str]:
    """The names of the tables that hold at least one row."""
    return [
        t.name for t in tables() if connection.execute(select(1).select_from(t).limit(1)).first()
    ]


# --- Backup -----------------------------------------------------------------------------------


def dump(connection: Connection, path: Path) -> dict:
    """Write every table to ``path`` (replaced only once complete); return the manifest.

    ``connection`` must be fresh (no statement run yet): the snapshot is opened here.
    """
    _snapshot(connection)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "alembic_revision": database_revision(connection),
        "created_at": utcnow().isoformat(),
        "database": connection.dialect.name,
        "tables": [],
    }
    partial = path.with_name(path.name + ".part")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for table in tables():
                rows = 0
                with archive.open(f"tables/{table.name}.jsonl", "w") as out:
                    query = select(table).order_by(*table.primary_key.columns)
                    for row in connection.execute(query.execution_options(yield_per=BATCH)):
                        values = {c.name: json_value(v) for c, v in zip(table.c, row, strict=True)}
                        out.write(json.dumps(values, ensure_ascii=False).encode() + b"\n")
                        rows += 1
                columns = [c.name for c in table.c]
                manifest["tables"].append({"name": table.name, "columns": columns, "rows": rows})
            archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def _snapshot(connection: Connection) -> None:
    """Read every table as of one moment, while the app goes on writing."""
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    elif connection.dialect.name == "sqlite":
        # pysqlite opens no transaction for reads: open one so that all reads see one state.
        connection.exec_driver_sql("BEGIN")


# --- Restore ----------------------------------------------------------------------------------


def check(connection: Connection, path: Path) -> tuple[dict, list[str]]:
    """Read the backup's manifest and check it fits this database.

    Returns the manifest and the tables of this database that already hold rows.
    """
    manifest = _manifest(path)
    backup_revision, revision = manifest["alembic_revision"], database_revision(connection)
    if backup_revision != revision:
        raise BackupError(
            _(
                "The backup is of database revision %(backup)s but this database is at "
                "revision %(database)s. Restore into a database migrated to the same revision "
                "(flask --app app db upgrade %(backup)s).",
                backup=backup_revision,
                database=revision or _("none (not migrated)"),
            )
        )
    expected = {t.name: [c.name for c in t.c] for t in tables()}
    found = {t["name"]: t["columns"] for t in manifest["tables"]}
    for name in sorted(expected.keys() | found.keys()):
        if expected.get(name) != found.get(name):
            raise BackupError(
                _("Table %(table)s of the backup does not match this database.", table=name)
            )
    return manifest, tables_with_rows(connection)


def load(connection: Connection, path: Path, replace: bool = False) -> dict:
    """Copy a backup into this database; return its manifest.

    Refuses a database that holds rows unless ``replace``: then its rows are deleted first.
    Run it in one transaction (``engine.begin()``) so that a failure leaves nothing behind.
    """
    manifest, filled = check(connection, path)
    if filled and not replace:
        raise BackupError(
            _(
                "The database is not empty (rows in: %(tables)s). Restore into an empty "
                "database, or use --force to replace its data.",
                tables=", ".join(filled),
            )
        )
    for table in reversed(tables()):
        connection.execute(delete(table))
    counts = {t["name"]: t["rows"] for t in manifest["tables"]}
    with zipfile.ZipFile(path) as archive:
        for table in tables():
            rows = 0
            # References within the table (a review's return target, which may be a later
            # row) are written once every row of the table is in.
            links = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
            linked = []
            try:
                for batch in _batches(archive, table):
                    if links:
                        linked += [row for row in batch if any(row[c] is not None for c in links)]
                        batch = [{**row, **dict.fromkeys(links)} for row in batch]
                    connection.execute(insert(table), batch)
                    rows += len(batch)
                for row in linked:
                    connection.execute(
                        update(table)
                        .where(table.c.id == row["id"])
                        .values({c: row[c] for c in links})
                    )
            except (KeyError, ValueError, InvalidOperation, TypeError, SQLAlchemyError) as exc:
                raise BackupError(
                    _(
                        "The backup's table %(table)s cannot be restored: %(error)s",
                        table=table.name,
                        error=_first_line(exc),
                    )
                ) from exc
            if rows != counts[table.name]:
                raise BackupError(
                    _(
                        "The backup is damaged: table %(table)s should hold %(expected)s rows "
                        "but holds %(found)s.",
                        table=table.name,
                        expected=counts[table.name],
                        found=rows,
                    )
                )
    if connection.dialect.name == "postgresql":
        reset_sequences(connection)
    return manifest


def reset_sequences(connection: Connection) -> None:
    """Move each id sequence past the highest id, so that new rows get fresh ids."""
    for table in tables():
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        highest = func.max(column)
        connection.execute(
            select(func.setval(sequence, func.coalesce(highest, 1), highest.is_not(None)))
        )


def _manifest(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(manifest.get("format"))
        manifest["tables"] = [
            {"name": str(t["name"]), "columns": list(t["columns"]), "rows": int(t["rows"])}
            for t in manifest["tables"]
        ]
        return manifest
    except (OSError, zipfile.BadZipFile, KeyError, TypeError, ValueError) as exc:
        raise BackupError(_("%(file)s is not an IKU Admin backup.", file=path)) from exc


def _batches(archive: zipfile.ZipFile, table: Table) -> Iterator[list[dict]]:
    decoders = {c.name: _decoder(c) for c in table.c}
    batch: list[dict] = []
    with archive.open(f"tables/{table.name}.jsonl") as lines:
        for line in lines:
            row = json.loads(line)
            batch.append({name: decode(row[name]) for name, decode in decoders.items()})
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _decoder(column):
    """The reverse of ``json_value`` for the column's type."""
    kind = getattr(column.type, "impl_instance", column.type).python_type
    parse = {datetime: datetime.fromisoformat, date: date.fromisoformat,
             time: time.fromisoformat, Decimal: Decimal,
             bytes: lambda text: base64.b64decode(text, validate=True)}.get(kind)  # fmt: skip
    if parse is None:
        return lambda value: value
    return lambda value: None if value is None else parse(value)


# --- Commands ---------------------------------------------------------------------------------


def register(app: Flask) -> None:
    """Add the ``backup`` and ``restore`` commands."""

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
    def backup_command(file: Path) -> None:
        """Write every table to FILE (a zip of JSON lines with a manifest)."""
        with _clear_errors(), db.engine.connect() as connection:
            manifest = dump(connection, file)
        click.echo(
            _(
                "Backed up %(rows)s rows of %(tables)s tables to %(file)s "
                "(database revision %(revision)s).",
                rows=sum(t["rows"] for t in manifest["tables"]),
                tables=len(manifest["tables"]),
                file=file,
                revision=manifest["alembic_revision"],
            )
        )

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Replace the data of a database that is not empty.")
    @click.option("--yes", is_flag=True, help="With --force: do not ask for confirmation.")
    def restore_command(file: Path, force: bool, yes: bool) -> None:
        """Load a backup FILE into this database (empty, migrated to the backup's revision)."""
        with _clear_errors():
            with db.engine.connect() as connection:
                filled = check(connection, file)[1]
            if filled and force and not yes:
                click.confirm(
                    _(
                        "All data in this database (%(tables)s) will be deleted and replaced "
                        "by the backup. Continue?",
                        tables=", ".join(filled),
                    ),
                    abort=True,
                )
            with db.engine.begin() as connection:
                manifest = load(connection, file, replace=force)
        click.echo(
            _(
                "Restored %(rows)s rows of %(tables)s tables from %(file)s.",
                rows=sum(t["rows"] for t in manifest["tables"]),
                tables=len(manifest["tables"]),
                file=file,
            )
        )


@contextmanager
def _clear_errors() -> Iterator[None]:
    """A refused backup or restore, a file or database problem: a message, not a traceback."""
    try:
        yield
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    except (OSError, SQLAlchemyError) as exc:
        raise click.ClickException(
            _("The database or the file cannot be used: %(error)s", error=_first_line(exc))
        ) from exc


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
