"""The landing page "Tugas Saya": dossiers waiting on my roles, most urgent first, with what
was returned for revision and what is overdue."""

from __future__ import annotations

from flask import current_app
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from models import Dossier, SopStep, user_role, utcnow

from .. import auth, mutu, workflow
from ..calendar import WorkingCalendar
from ..extensions import db
from .base import GuardedIndexView

# The screen on which incoming letters are registered as dossiers: whoever may write on it
# gets the "register an incoming letter" button (see auth.MATRIX).
REGISTER_SCREEN = "dossier"


def my_tasks_query(user):
    """Open dossiers whose current step belongs to one of the user's roles, oldest first."""
    role_ids = select(user_role.c.role_id).where(user_role.c.user_id == user.id)
    return (
        select(Dossier)
        .join(Dossier.current_step)
        .options(contains_eager(Dossier.current_step))
        .where(Dossier.status == "in_progress", SopStep.role_id.in_(role_ids))
        .order_by(Dossier.step_started_at, Dossier.id)
    )


class HomeView(GuardedIndexView):
    @expose("/")
    def index(self):
        tasks = db.session.scalars(my_tasks_query(current_user).limit(50)).all()
        calendar = WorkingCalendar.from_session(db.session, current_app.config["IKU_TIMEZONE"])
        now = utcnow()
        ids = [d.id for d in tasks]
        late = mutu.overdue_minutes(tasks, now, calendar)
        returns = {
            pk: note for pk, note in workflow.latest_returns(db.session, ids).items()
            if note.pending
        }  # fmt: skip
        rows = [
            (d, calendar.working_minutes(d.step_started_at, now), d.current_step.standard_minutes)
            for d in tasks
        ]
        # Most urgent first: the largest share of the standard time already used.
        rows.sort(key=lambda r: (-(r[1] / max(r[2], 1)), r[0].step_started_at))
        return self.render(
            "admin/index.html",
            rows=rows,
            late=late,
            returns=returns,
            late_badge=mutu.late_badge,
            can_register=auth.can_write(current_user, REGISTER_SCREEN),
        )
