"""a step's completeness check is a list of requirements chosen in the panel

``sop_step.requirement`` held one of three fixed values; ``requirements`` holds a list of
names from iku_admin/requirements.py (named checks and dossier fields). Each step's value is
copied: "iku_content" stays the IKU check, "outgoing_letter" becomes the two dossier fields it
checked. The old column goes with its CHECK constraint.

Going down, a list becomes the old value that checked the most of it: the IKU check when it
is listed, else "outgoing_letter" when a field is, else nothing.

Revision ID: 0013_step_requirements
Revises: 0012_sop_procedures
Create Date: 2026-11-29 22:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013_step_requirements"
down_revision = "0012_sop_procedures"
branch_labels = None
depends_on = None

COPIED = {
    "iku_content": ["iku_content"],
    "outgoing_letter": ["outgoing_agenda_number", "distribution_record"],
}
OLD_VALUES = "requirement in ('', 'iku_content', 'outgoing_letter')"

step = sa.table(
    "sop_step",
    sa.column("id", sa.Integer),
    sa.column("requirement", sa.String),
    sa.column("requirements", sa.JSON),
)


def upgrade():
    with op.batch_alter_table("sop_step") as batch_op:
        batch_op.add_column(
            sa.Column("requirements", sa.JSON(), server_default="[]", nullable=False)
        )
    for old, names in COPIED.items():
        op.execute(step.update().where(step.c.requirement == old).values(requirements=names))
    with op.batch_alter_table("sop_step") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_sop_step_requirement"), type_="check")
        batch_op.drop_column("requirement")


def _old_value(names: list[str]) -> str:
    if "iku_content" in names:
        return "iku_content"
    return "outgoing_letter" if names else ""


def downgrade():
    with op.batch_alter_table("sop_step") as batch_op:
        batch_op.add_column(
            sa.Column("requirement", sa.String(length=20), server_default="", nullable=False)
        )
    connection = op.get_bind()
    for step_id, names in connection.execute(sa.select(step.c.id, step.c.requirements)).all():
        value = _old_value(names or [])
        if value:
            connection.execute(step.update().where(step.c.id == step_id).values(requirement=value))
    with op.batch_alter_table("sop_step") as batch_op:
        batch_op.alter_column("requirement", server_default=None)
        batch_op.create_check_constraint(batch_op.f("ck_sop_step_requirement"), OLD_VALUES)
        batch_op.drop_column("requirements")
