"""the weekly office hours, per weekday, edited in the panel instead of in code

A database already in use is filled with the hours the working calendar used until now: Monday to Thursday 07:30–16:00
with a break 12:00–13:00, Friday 07:30–16:30 with a break 11:30–13:00, weekend off; a new one
gets them from ``flask seed`` (an empty table means those hours too). Each role may do on the
new screen what it may do on the working calendar's.

Revision ID: 0009_office_hours
Revises: 0008b_step_identity
Create Date: 2026-11-29 19:30:00

"""
from datetime import time

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009_office_hours"
down_revision = "0008b_step_identity"
branch_labels = None
depends_on = None

MON_THU = (time(7, 30), time(16, 0), time(12, 0), time(13, 0))
FRIDAY = (time(7, 30), time(16, 30), time(11, 30), time(13, 0))


def upgrade():
    office_day = op.create_table(
        "office_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("start", sa.Time(), nullable=True),
        sa.Column("finish", sa.Time(), nullable=True),
        sa.Column("break_start", sa.Time(), nullable=True),
        sa.Column("break_end", sa.Time(), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("weekday between 0 and 6", name=op.f("ck_office_day_weekday")),
        sa.CheckConstraint(
            "not working or (start < finish and start <= break_start "
            "and break_start <= break_end and break_end <= finish)",
            name=op.f("ck_office_day_hours_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_day")),
        sa.UniqueConstraint("weekday", name=op.f("uq_office_day_weekday")),
    )
    role = sa.table("role", sa.column("id"))
    if not op.get_bind().scalar(sa.select(sa.func.count()).select_from(role)):
        return  # a new database, nothing to keep: ``flask seed`` fills it
    rows = []
    for weekday in range(7):
        hours = MON_THU if weekday < 4 else FRIDAY if weekday == 4 else (None,) * 4
        start, finish, break_start, break_end = hours
        rows.append({"id": weekday + 1, "weekday": weekday, "working": weekday < 5, "start": start,
                     "finish": finish, "break_start": break_start, "break_end": break_end,
                     "row_version": 1})  # fmt: skip
    op.bulk_insert(office_day, rows)
    permission = sa.table("permission", sa.column("role_id"), sa.column("screen"),
                          sa.column("level"))  # fmt: skip
    op.execute(
        permission.insert().from_select(
            ["role_id", "screen", "level"],
            sa.select(permission.c.role_id, sa.literal("office_day"), permission.c.level).where(
                permission.c.screen == "calendar_day"
            ),
        )
    )


def downgrade():
    permission = sa.table("permission", sa.column("screen"))
    op.execute(permission.delete().where(permission.c.screen == "office_day"))
    op.drop_table("office_day")
