"""several SOPs side by side: each SOP version belongs to a procedure ("Penyusunan IKU",
"Penyusunan LKjIP", ...) with its own active version; the totals are kept per procedure

A database in use gets one procedure per SOP number, named after its latest version, carrying
an IKU; the one whose version new dossiers took until now (the active one with the highest
version) is the default. The dashboard's totals get the procedure in their key and are rebuilt
from the history. The admin keeps the procedures; the other roles read them. Going back, the
totals keep each key's sum over the procedures.

Revision ID: 0012_sop_procedures
Revises: 0011_indicator_units
Create Date: 2026-11-29 23:00:00

"""

from alembic import op
import sqlalchemy as sa

import models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = "0012_sop_procedures"
down_revision = "0011_indicator_units"
branch_labels = None
depends_on = None

GRANTS = {"kepala_dinas": "read", "sekretaris": "read", "perencana": "read",
          "tim_sakip": "read", "staf": "read", "admin": "write"}  # fmt: skip
# The totals' key, before the period (see models/summary.py).
TOTALS = {
    "dossier_total": (["step_id", "revision_round", "year", "half"], ["dossiers"]),
    "minutes_count": (["year", "half", "position", "minutes", "standard_minutes"], ["tally"]),
    "step_total": (["position", "role_id", "user_id", "year", "half"], ["finished", "minutes"]),
}
LARGE = {"step_id", "role_id", "user_id", "minutes", "standard_minutes", "dossiers", "tally",
         "finished"}  # fmt: skip


def _totals_table(name: str, procedure: bool) -> None:
    key, values = TOTALS[name]
    if procedure:
        key = [*key, "procedure_id"]
    key = [*key, "period_start", "period_end"]
    columns = [
        sa.Column(c, sa.Integer() if c in LARGE else sa.SmallInteger(), nullable=False)
        for c in [*key, *values]
    ]
    extra = []
    if name == "step_total":
        extra = [
            sa.ForeignKeyConstraint(["role_id"], ["role.id"], name=op.f("fk_step_total_role_id_role")),
            sa.ForeignKeyConstraint(["user_id"], ["app_user.id"],
                                    name=op.f("fk_step_total_user_id_app_user")),
        ]  # fmt: skip
    op.create_table(
        name, *columns, *extra, sa.PrimaryKeyConstraint(*key, name=op.f(f"pk_{name}")),
        **({"sqlite_with_rowid": False} if name == "minutes_count" else {}),
    )  # fmt: skip


def upgrade():
    procedure = op.create_table(
        "sop_procedure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("carries_iku", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_procedure")),
        sa.UniqueConstraint("name", name=op.f("uq_sop_procedure_name")),
    )
    with op.batch_alter_table("sop") as batch_op:
        batch_op.add_column(sa.Column("procedure_id", sa.Integer(), nullable=True))
    bind = op.get_bind()
    sop = sa.table("sop", sa.column("id", sa.Integer), sa.column("number", sa.String),
                   sa.column("name", sa.String), sa.column("version", sa.Integer),
                   sa.column("status", sa.String), sa.column("procedure_id", sa.Integer))  # fmt: skip
    rows = bind.execute(
        sa.select(sop.c.number, sop.c.name, sop.c.version, sop.c.status)
        .order_by(sop.c.number, sop.c.version)
    ).all()  # fmt: skip
    latest = {number: name for number, name, _version, _status in rows}
    active = [(version, number) for number, _name, version, status in rows if status == "active"]
    default = max(active)[1] if active else (rows[0][0] if rows else None)
    used = set()
    for number, name in latest.items():
        label = name if name not in used else f"{name} ({number})"[-200:]
        used.add(label)
        bind.execute(procedure.insert().values(name=label, carries_iku=True,
                                               is_default=number == default, row_version=1))  # fmt: skip
        made = bind.scalar(sa.select(procedure.c.id).where(procedure.c.name == label))
        bind.execute(sop.update().where(sop.c.number == number).values(procedure_id=made))
    with op.batch_alter_table("sop") as batch_op:
        batch_op.alter_column("procedure_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_sop_procedure_id"), ["procedure_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_sop_procedure_id_sop_procedure"),
                                    "sop_procedure", ["procedure_id"], ["id"])  # fmt: skip

    # The totals, now per procedure: made again and filled from the history.
    for name in TOTALS:
        op.drop_table(name)
        _totals_table(name, procedure=True)
    from iku_admin.mutu import rebuild_totals

    rebuild_totals(bind)

    role = sa.table("role", sa.column("id", sa.Integer), sa.column("code", sa.String))
    if not bind.scalar(sa.select(sa.func.count()).select_from(role)):
        return  # a new database: ``flask seed`` grants the screen
    permission = sa.table("permission", sa.column("role_id"), sa.column("screen"),
                          sa.column("level"))  # fmt: skip
    for code, level in GRANTS.items():
        op.execute(
            permission.insert().from_select(
                ["role_id", "screen", "level"],
                sa.select(role.c.id, sa.literal("procedure"), sa.literal(level)).where(
                    role.c.code == code
                ),
            )
        )


def downgrade():
    permission = sa.table("permission", sa.column("screen"))
    op.execute(permission.delete().where(permission.c.screen == "procedure"))
    bind = op.get_bind()
    for name, (key, values) in TOTALS.items():
        # The totals without the procedure: each key's sums over every procedure.
        key = [*key, "period_start", "period_end"]
        table = sa.table(name, *(sa.column(c) for c in [*key, *values]))
        rows = bind.execute(
            sa.select(*(table.c[c] for c in key), *(sa.func.sum(table.c[c]).label(c) for c in values))
            .group_by(*(table.c[c] for c in key))
        ).mappings().all()  # fmt: skip
        op.drop_table(name)
        _totals_table(name, procedure=False)
        if rows:
            op.bulk_insert(sa.table(name, *(sa.column(c) for c in [*key, *values])),
                           [dict(row) for row in rows])  # fmt: skip
    with op.batch_alter_table("sop") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_sop_procedure_id_sop_procedure"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_sop_procedure_id"))
        batch_op.drop_column("procedure_id")
    op.drop_table("sop_procedure")
