"""custom fields on dossiers and indicators, defined in the panel

The definitions go in ``custom_field``; each dossier and indicator keeps its values in a JSON
column ``extra`` (code -> text), empty for the rows that exist. The admin keeps the
definitions; the other roles read them.

Revision ID: 0014_custom_fields
Revises: 0013_step_requirements
Create Date: 2026-11-29 22:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_custom_fields"
down_revision = "0013_step_requirements"
branch_labels = None
depends_on = None

GRANTS = {"kepala_dinas": "read", "sekretaris": "read", "perencana": "read",
          "tim_sakip": "read", "staf": "read", "admin": "write"}  # fmt: skip
EXTENDED = ("dossier", "indicator")


def upgrade():
    op.create_table(
        "custom_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("in_list", sa.Boolean(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("entity in ('dossier', 'indicator')",
                           name=op.f("ck_custom_field_entity")),  # fmt: skip
        sa.CheckConstraint("kind in ('text', 'number', 'date', 'choice')",
                           name=op.f("ck_custom_field_kind")),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_field")),
        sa.UniqueConstraint("entity", "code", name=op.f("uq_custom_field_entity_code")),
    )
    for table in EXTENDED:
        op.add_column(table, sa.Column("extra", sa.JSON(), server_default="{}", nullable=False))
    role = sa.table("role", sa.column("id", sa.Integer), sa.column("code", sa.String))
    if not op.get_bind().scalar(sa.select(sa.func.count()).select_from(role)):
        return  # a new database: ``flask seed`` grants the screen
    permission = sa.table("permission", sa.column("role_id"), sa.column("screen"),
                          sa.column("level"))  # fmt: skip
    for code, level in GRANTS.items():
        op.execute(
            permission.insert().from_select(
                ["role_id", "screen", "level"],
                sa.select(role.c.id, sa.literal("custom_field"), sa.literal(level)).where(
                    role.c.code == code
                ),
            )
        )


def downgrade():
    permission = sa.table("permission", sa.column("screen"))
    op.execute(permission.delete().where(permission.c.screen == "custom_field"))
    for table in EXTENDED:
        op.drop_column(table, "extra")
    op.drop_table("custom_field")
