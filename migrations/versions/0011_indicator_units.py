"""indicator units (Satuan) as a list kept in the panel, not in code

Filled with the units the code offered until now and any other unit already used by an
indicator, so every existing indicator keeps a unit of the list.

Revision ID: 0011_indicator_units
Revises: 0010_record_names
Create Date: 2026-11-29 20:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011_indicator_units"
down_revision = "0010_record_names"
branch_labels = None
depends_on = None

UNITS = ["Persen", "Indeks", "Nilai", "Rupiah", "Miliar Rupiah", "Juta Rupiah", "Jumlah",
         "Dokumen", "Izin", "Investor", "Hari", "Jam", "Predikat", "Orang", "Unit"]  # fmt: skip


def upgrade():
    unit = op.create_table(
        "indicator_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_unit")),
        sa.UniqueConstraint("name", name=op.f("uq_indicator_unit_name")),
    )
    indicator = sa.table("indicator", sa.column("unit", sa.String))
    used = op.get_bind().scalars(
        sa.select(indicator.c.unit).where(indicator.c.unit != "").distinct()
    )
    names = UNITS + sorted(set(used) - set(UNITS))
    op.bulk_insert(unit, [{"name": name, "row_version": 1} for name in names])


def downgrade():
    op.drop_table("indicator_unit")
