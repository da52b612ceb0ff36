"""one trigram index over the searched text of the dossier list

PostgreSQL: the four GIN trigram indexes of 0003, one per searched column, are replaced by one
over the columns joined by spaces, which the search queries as one text (see
models/search.py): with four OR-ed ILIKEs the planner scanned the whole table for a common
word. ANALYZE gathers the new expression's statistics at once.
SQLite: nothing (its FTS5 table of 0003 stays).

Revision ID: 0006_search_plan
Revises: 0003_search_indexes
Create Date: 2026-11-29 16:00:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0006_search_plan"
down_revision = "0005_agency_letterhead"
branch_labels = None
depends_on = None

COLUMNS = ("title", "letter_number", "letter_subject", "letter_sender")
SEARCH_TEXT = " || ' ' || ".join(COLUMNS)
INDEX = "ix_dossier_search_trgm"  # models.search.TRIGRAM_INDEX
PENDING_LIST_KB = 64


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE INDEX {INDEX} ON dossier USING gin (({SEARCH_TEXT}) gin_trgm_ops) "
        f"WITH (gin_pending_list_limit = {PENDING_LIST_KB})"
    )
    for column in COLUMNS:
        op.drop_index(f"ix_dossier_{column}_trgm", table_name="dossier")
    op.execute("ANALYZE dossier")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.create_index(
            f"ix_dossier_{column}_trgm",
            "dossier",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            postgresql_with={"gin_pending_list_limit": PENDING_LIST_KB},
        )
    op.drop_index(INDEX, table_name="dossier")
