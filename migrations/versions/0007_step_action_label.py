"""the verb on the button that finishes an SOP step ("Beri Paraf", "Tandatangani")

Steps of existing SOP versions whose activity is one of the seeded SOP's get that step's
label; every other step keeps the generic label until IT names its verb in the panel.

Revision ID: 0007_step_action_label
Revises: 0006_search_plan
Create Date: 2026-11-29 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007_step_action_label"
down_revision = "0006_search_plan"
branch_labels = None
depends_on = None

# The seeded SOP's (activity, label) pairs as they were when this revision was written; a
# migration never imports the application, whose seed may change later.
LABELS = [
    ("Memerintahkan untuk menyusun Indikator Kinerja Utama", "Beri Perintah"),
    ("Memerintahkan untuk menyusun Indikator Kinerja Utama, memberikan pengarahan",
     "Beri Pengarahan"),
    ("Menyusun konsep Indikator Kinerja Utama", "Susun Konsep"),
    ("Mengetik konsep Indikator Kinerja Utama", "Ketik Konsep"),
    ("Memeriksa ketikan konsep Indikator Kinerja Utama; bila setuju diserahkan ke Analis "
     "Perencana, jika tidak diserahkan ke staf untuk diperbaiki", "Periksa"),
    ("Pemberian paraf", "Beri Paraf"),
    ("Pemberian tanda tangan", "Tandatangani"),
    ("Memerintahkan untuk mengagendakan, menggandakan dan mendistribusikan",
     "Perintahkan Distribusi"),
    ("Mengagendakan, menggandakan dan mendistribusikan", "Agendakan dan Distribusikan"),
]  # fmt: skip


def upgrade():
    op.add_column(
        "sop_step",
        sa.Column("action_label", sa.String(length=60), server_default="", nullable=False),
    )
    step = sa.table("sop_step", sa.column("activity", sa.String), sa.column("action_label"))
    for activity, label in LABELS:
        op.execute(step.update().where(step.c.activity == activity).values(action_label=label))


def downgrade():
    op.drop_column("sop_step", "action_label")
