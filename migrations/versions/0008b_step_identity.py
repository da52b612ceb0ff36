"""SOP steps refer to each other by identity; steps say who signs and who initials the IKU

A review's return target was a position (``return_to_position``), which renumbering the
steps silently changed; it becomes a reference to the step (``return_to_step_id``), filled
from the position within the same SOP version.

``signature`` says which step's actor signs the IKU document and which steps' actors
initial it. It is filled as the document read the steps until now, so that no document
changes: per SOP version, the signing step is the last step of ``kepala_dinas``; the
initialling steps run from the first review up to the signing step.

Revision ID: 0008b_step_identity
Revises: 0008_permissions
Create Date: 2026-11-29 19:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008b_step_identity"
down_revision = "0008_permissions"
branch_labels = None
depends_on = None

HEAD_ROLE = "kepala_dinas"  # who signed, in the code this revision replaces

step = sa.table(
    "sop_step",
    sa.column("id", sa.Integer),
    sa.column("sop_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("role_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("return_to_position", sa.Integer),
    sa.column("return_to_step_id", sa.Integer),
    sa.column("signature", sa.String),
)
role = sa.table("role", sa.column("id", sa.Integer), sa.column("code", sa.String))


def _signatures(connection) -> dict[int, str]:
    """Step id -> "sign" or "initial", as the IKU document read the steps before."""
    rows = connection.execute(
        sa.select(step.c.id, step.c.sop_id, step.c.position, step.c.kind, role.c.code)
        .join(role, role.c.id == step.c.role_id)
        .order_by(step.c.sop_id, step.c.position)
    ).all()
    by_sop: dict[int, list] = {}
    for row in rows:
        by_sop.setdefault(row.sop_id, []).append(row)
    marks: dict[int, str] = {}
    for steps in by_sop.values():
        heads = [s for s in steps if s.code == HEAD_ROLE]
        signing = heads[-1] if heads else None
        if signing is not None:
            marks[signing.id] = "sign"
        review = next((s for s in steps if s.kind == "review"), None)
        if review is None:
            continue
        end = signing.position if signing and signing.position > review.position else None
        for s in steps:
            if s.position >= review.position and (end is None or s.position < end):
                marks.setdefault(s.id, "initial")
    return marks


def upgrade():
    with op.batch_alter_table("sop_step") as batch_op:
        batch_op.add_column(sa.Column("return_to_step_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("signature", sa.String(length=10), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_sop_step_return_to_step_id_sop_step"),
            "sop_step",
            ["return_to_step_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_sop_step_signature"), "signature in ('', 'sign', 'initial')"
        )
    target = step.alias("target")
    op.execute(
        step.update()
        .where(step.c.return_to_position.is_not(None))
        .values(
            return_to_step_id=sa.select(target.c.id)
            .where(
                target.c.sop_id == step.c.sop_id,
                target.c.position == step.c.return_to_position,
            )
            .scalar_subquery()
        )
    )
    connection = op.get_bind()
    for step_id, mark in _signatures(connection).items():
        connection.execute(step.update().where(step.c.id == step_id).values(signature=mark))
    with op.batch_alter_table("sop_step") as batch_op:
        batch_op.drop_column("return_to_position")


def downgrade():
    with op.batch_alter_table("sop_step") as batch_op:
        batch_op.add_column(sa.Column("return_to_position", sa.Integer(), nullable=True))
    target = step.alias("target")
    op.execute(
        step.update()
        .where(step.c.return_to_step_id.is_not(None))
        .values(
            return_to_position=sa.select(target.c.position)
            .where(target.c.id == step.c.return_to_step_id)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("sop_step") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_sop_step_signature"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_sop_step_return_to_step_id_sop_step"), type_="foreignkey"
        )
        batch_op.drop_column("signature")
        batch_op.drop_column("return_to_step_id")
