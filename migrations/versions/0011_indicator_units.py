"""indicator units (Satuan) as a list kept in the panel, not in code

A database already in use is filled with the units the code offered until now and any other
unit already used by an indicator, so every existing indicator keeps a unit of the list; a new
one gets them from ``flask seed``. The admin and Tim SAKIP keep
the list; the other roles read it.

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


GRANTS = {"kepala_dinas": "read", "sekretaris": "read", "perencana": "read",
          "tim_sakip": "write", "staf": "read", "admin": "write"}  # fmt: skip


def upgrade():
    unit = op.create_table(
        "indicator_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_unit")),
        sa.UniqueConstraint("name", name=op.f("uq_indicator_unit_name")),
    )
    role = sa.table("role", sa.column("id"))
    if not op.get_bind().scalar(sa.select(sa.func.count()).select_from(role)):
        return  # a new database, nothing to keep: ``flask seed`` fills it
    indicator = sa.table("indicator", sa.column("unit", sa.String))
    used = op.get_bind().scalars(
        sa.select(indicator.c.unit).where(indicator.c.unit != "").distinct()
    )
    names = UNITS + sorted(set(used) - set(UNITS))
    op.bulk_insert(unit, [{"name": name, "row_version": 1} for name in names])
    role = sa.table("role", sa.column("id", sa.Integer), sa.column("code", sa.String))
    permission = sa.table("permission", sa.column("role_id"), sa.column("screen"),
                          sa.column("level"))  # fmt: skip
    for code, level in GRANTS.items():
        op.execute(
            permission.insert().from_select(
                ["role_id", "screen", "level"],
                sa.select(role.c.id, sa.literal("indicator_unit"), sa.literal(level)).where(
                    role.c.code == code
                ),
            )
        )


def downgrade():
    permission = sa.table("permission", sa.column("screen"))
    op.execute(permission.delete().where(permission.c.screen == "indicator_unit"))
    op.drop_table("indicator_unit")
