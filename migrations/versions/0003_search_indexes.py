"""search indexes on the dossier list

PostgreSQL: pg_trgm and a GIN trigram index per searched column (ILIKE '%…%' uses them),
with a short pending list (see models/search.py).
SQLite: the FTS5 table dossier_search (trigram tokenizer, case-insensitive) over the same
columns, its content read from dossier and kept in step by triggers. Needs SQLite 3.34+.

Revision ID: 0003_search_indexes
Revises: 0002_mutu_summaries
Create Date: 2026-11-28 10:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0003_search_indexes"
down_revision = "0002_mutu_summaries"
branch_labels = None
depends_on = None

COLUMNS = ("title", "letter_number", "letter_subject", "letter_sender")
LISTED = ", ".join(COLUMNS)
NEW = ", ".join(f"new.{c}" for c in COLUMNS)
OLD = ", ".join(f"old.{c}" for c in COLUMNS)
INSERT = f"INSERT INTO dossier_search (rowid, {LISTED}) VALUES (new.id, {NEW});"
DELETE = (
    f"INSERT INTO dossier_search (dossier_search, rowid, {LISTED}) "
    f"VALUES ('delete', old.id, {OLD});"
)
SQLITE_UPGRADE = [
    f"CREATE VIRTUAL TABLE dossier_search USING fts5({LISTED}, content='dossier', "
    "content_rowid='id', columnsize=0, tokenize='trigram case_sensitive 0')",
    f"CREATE TRIGGER dossier_search_insert AFTER INSERT ON dossier BEGIN {INSERT} END",
    f"CREATE TRIGGER dossier_search_delete AFTER DELETE ON dossier BEGIN {DELETE} END",
    f"CREATE TRIGGER dossier_search_update AFTER UPDATE OF {LISTED} ON dossier "
    f"BEGIN {DELETE} {INSERT} END",
    "INSERT INTO dossier_search (dossier_search) VALUES ('rebuild')",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS dossier_search_update",
    "DROP TRIGGER IF EXISTS dossier_search_delete",
    "DROP TRIGGER IF EXISTS dossier_search_insert",
    "DROP TABLE IF EXISTS dossier_search",
]


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in COLUMNS:
            op.create_index(f"ix_dossier_{column}_trgm", "dossier", [column],
                            postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
                            postgresql_with={"gin_pending_list_limit": 64})
    elif dialect == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for column in COLUMNS:
            op.drop_index(f"ix_dossier_{column}_trgm", table_name="dossier")
        op.execute("DROP EXTENSION IF EXISTS pg_trgm")
    elif dialect == "sqlite":
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
