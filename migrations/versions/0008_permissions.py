"""the permission matrix as data: what each role may do on each screen

Filled with the matrix the code held until now, for the roles that exist, so that every
role keeps exactly the access it had; the admin edits it afterwards under System > Permissions.

Revision ID: 0008_permissions
Revises: 0007_step_action_label
Create Date: 2026-11-29 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008_permissions"
down_revision = "0007_step_action_label"
branch_labels = None
depends_on = None

# The matrix as the code held it when this revision was written (a migration never imports
# the application, whose defaults may change later), plus the new screen: the matrix itself.
WORKFLOW_ROLES = ("kepala_dinas", "sekretaris", "perencana", "tim_sakip", "staf")
ROLES = (*WORKFLOW_ROLES, "admin")


def _everyone(level="read", **overrides):
    return {**dict.fromkeys(ROLES, level), **overrides}


MATRIX = {
    "dashboard": _everyone(),
    "documents": _everyone(),
    "iku_excel": _everyone(tim_sakip="write", staf="write"),
    "dossier": _everyone(staf="write", sekretaris="write"),
    "objective": _everyone(tim_sakip="write", staf="write"),
    "indicator": _everyone(tim_sakip="write", staf="write"),
    "target": _everyone(tim_sakip="write", staf="write"),
    "step_record": _everyone(),
    "sop": _everyone(admin="write"),
    "sop_step": _everyone(admin="write"),
    "calendar_day": _everyone(admin="write"),
    "agency": _everyone(admin="write"),
    "user": {"admin": "write"},
    "role": {"admin": "write"},
    "permission": {"admin": "write"},
    "audit_entry": {"admin": "read"},
    "login_attempt": {"admin": "read"},
}


def upgrade():
    op.create_table(
        "permission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("screen", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=5), nullable=False),
        sa.CheckConstraint("level in ('read', 'write')", name=op.f("ck_permission_level")),
        sa.ForeignKeyConstraint(
            ["role_id"], ["role.id"], name=op.f("fk_permission_role_id_role"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission")),
        sa.UniqueConstraint("role_id", "screen", name=op.f("uq_permission_role_id_screen")),
    )
    role = sa.table("role", sa.column("id", sa.Integer), sa.column("code", sa.String))
    permission = sa.table(
        "permission", sa.column("role_id"), sa.column("screen"), sa.column("level")
    )
    for screen, grants in MATRIX.items():
        for code, level in grants.items():
            op.execute(
                permission.insert().from_select(
                    ["role_id", "screen", "level"],
                    sa.select(role.c.id, sa.literal(screen), sa.literal(level)).where(
                        role.c.code == code
                    ),
                )
            )


def downgrade():
    op.drop_table("permission")
