"""the agency's letterhead (kop surat) and the officials' rank (pangkat/golongan)

The agency row itself is created by ``flask seed`` from the IKU_GOVERNMENT, IKU_AGENCY and
IKU_PLACE settings (iku_admin/letterhead.py).

Revision ID: 0005_agency_letterhead
Revises: 0003_search_indexes
Create Date: 2026-11-29 15:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005_agency_letterhead"
down_revision = "0004_session_version"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("government", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=150), nullable=False),
        sa.Column("website", sa.String(length=150), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("emblem", sa.LargeBinary(), nullable=True),
        sa.Column("emblem_type", sa.String(length=20), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency")),
    )
    op.add_column(
        "app_user", sa.Column("rank", sa.String(length=100), server_default="", nullable=False)
    )
    op.add_column(
        "sop",
        sa.Column("ratified_by_rank", sa.String(length=100), server_default="", nullable=False),
    )


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of app_user would trip
    # over the foreign keys that point at it.
    op.drop_column("sop", "ratified_by_rank")
    op.drop_column("app_user", "rank")
    op.drop_table("agency")
