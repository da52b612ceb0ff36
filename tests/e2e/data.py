"""Setting the scene without the browser: moving dossiers along with ``iku_admin.workflow``."""

from __future__ import annotations

from collections.abc import Iterable

from iku_admin import workflow
from models import Dossier, User

DONE = 10  # the "position" of a finished dossier


def position(dossier: Dossier) -> int:
    return DONE if dossier.status == "done" else dossier.current_step.position


def advance(
    dossier: Dossier, users: Iterable[User], until: int, returns: dict[int, str] | None = None
) -> Dossier:
    """Act on the dossier as the holder of each step's role until it stands at ``until``.

    The dossier needs its IKU content already; the outgoing letter is filled in at step 9.
    ``returns`` maps a review step to the reason it returns the draft, once.
    """
    users = list(users)
    returns = dict(returns or {})
    while position(dossier) < until:
        step = dossier.current_step
        actor = next(u for u in users if step.role.code in u.role_codes)
        if "outgoing_agenda_number" in step.requirements and not dossier.outgoing_agenda_number:
            dossier.outgoing_agenda_number = "050/045/DPMPTSP/2026"
            dossier.distribution_record = "Bappeda, Inspektorat dan BPKAD (buku ekspedisi)"
        if step.kind == "review" and step.position in returns:
            workflow.return_for_revision(dossier, actor, returns.pop(step.position))
        elif step.kind == "review":
            workflow.approve(dossier, actor)
        else:
            workflow.complete(dossier, actor, note="")
    return dossier
