"""the user's session version: raised to end all of a user's sessions on every process

Existing users start at 1; sessions made before this revision carry no version and end
(everyone logs in again once).

Revision ID: 0004_session_version
Revises: 0003_search_indexes
Create Date: 2026-11-29 15:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004_session_version"
down_revision = "0003_search_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "app_user",
        sa.Column("session_version", sa.Integer(), server_default="1", nullable=False),
    )


def downgrade():
    # SQLite 3.35 and newer drop a column in place (no copy of the table).
    op.drop_column("app_user", "session_version")
