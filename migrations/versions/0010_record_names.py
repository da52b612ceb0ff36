"""who acted, as named when a step was finished: signed documents keep their names

Existing records get the names their user and role carry now (the earlier names are not
known).

Revision ID: 0010_record_names
Revises: 0009_office_hours
Create Date: 2026-11-29 19:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_record_names"
down_revision = "0009_office_hours"
branch_labels = None
depends_on = None

COLUMNS = {"actor_name": 150, "actor_nip": 18, "actor_rank": 100, "role_name": 100}


def upgrade():
    for name, length in COLUMNS.items():
        op.add_column(
            "step_record",
            sa.Column(name, sa.String(length=length), server_default="", nullable=False),
        )
    record = sa.table("step_record", sa.column("user_id"), sa.column("role_id"),
                      *(sa.column(name) for name in COLUMNS))  # fmt: skip
    user = sa.table("app_user", sa.column("id"), sa.column("full_name"), sa.column("nip"),
                    sa.column("rank"))  # fmt: skip
    role = sa.table("role", sa.column("id"), sa.column("name"))

    def of_user(column):
        value = sa.select(column).where(user.c.id == record.c.user_id).scalar_subquery()
        return sa.func.coalesce(value, "")

    op.execute(
        record.update().values(
            actor_name=of_user(user.c.full_name),
            actor_nip=of_user(user.c.nip),
            actor_rank=of_user(user.c.rank),
            role_name=sa.func.coalesce(
                sa.select(role.c.name).where(role.c.id == record.c.role_id).scalar_subquery(), ""
            ),
        )
    )


def downgrade():
    for name in COLUMNS:
        op.drop_column("step_record", name)
