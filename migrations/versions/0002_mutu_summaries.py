"""Totals of the step history and of the dossiers for the quality dashboard, dossier cycle
minutes, and the indexes the dashboard reads from.

The totals are filled from the existing history by revision 0012 (``iku_admin.mutu.
rebuild_totals``), keyed by half-year in the office time zone the app is configured with
(IKU_TIMEZONE).

Revision ID: 0002_mutu_summaries
Revises: 0001_initial
Create Date: 2026-11-28 03:28:00.051427

"""
from alembic import op
import sqlalchemy as sa

import models.base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0002_mutu_summaries'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dossier_total',
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('revision_round', sa.SmallInteger(), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('half', sa.SmallInteger(), nullable=False),
    sa.Column('period_start', sa.SmallInteger(), nullable=False),
    sa.Column('period_end', sa.SmallInteger(), nullable=False),
    sa.Column('dossiers', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('step_id', 'revision_round', 'year', 'half', 'period_start', 'period_end', name=op.f('pk_dossier_total'))
    )
    op.create_table('minutes_count',
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('half', sa.SmallInteger(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('standard_minutes', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.SmallInteger(), nullable=False),
    sa.Column('period_end', sa.SmallInteger(), nullable=False),
    sa.Column('tally', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', 'half', 'position', 'minutes', 'standard_minutes', 'period_start', 'period_end', name=op.f('pk_minutes_count')),
    sqlite_with_rowid=False
    )
    op.create_table('step_total',
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('half', sa.SmallInteger(), nullable=False),
    sa.Column('period_start', sa.SmallInteger(), nullable=False),
    sa.Column('period_end', sa.SmallInteger(), nullable=False),
    sa.Column('finished', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_step_total_role_id_role')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_step_total_user_id_app_user')),
    sa.PrimaryKeyConstraint('position', 'role_id', 'user_id', 'year', 'half', 'period_start', 'period_end', name=op.f('pk_step_total'))
    )
    op.add_column('dossier', sa.Column('cycle_minutes', sa.Integer(), nullable=True))
    op.create_index('ix_dossier_status_finished_at', 'dossier', ['status', 'finished_at'], unique=False)
    op.create_index('ix_dossier_status_step_due_at', 'dossier', ['status', 'step_due_at'], unique=False)
    # The totals are filled from the history by 0012_sop_procedures, which gives them their
    # present key (with the procedure); the code that fills them reads that schema, so it runs
    # there, not here.


def downgrade():
    op.drop_index('ix_dossier_status_step_due_at', table_name='dossier')
    op.drop_index('ix_dossier_status_finished_at', table_name='dossier')
    # SQLite 3.35 and newer drop a column in place (no copy of the table).
    op.drop_column('dossier', 'cycle_minutes')

    op.drop_table('step_total')
    op.drop_table('minutes_count')
    op.drop_table('dossier_total')
