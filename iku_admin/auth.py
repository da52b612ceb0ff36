"""Every permission rule of the panel, in one place.

What each role may do on each screen (a Flask-Admin endpoint: read it, or also write it) is
data, the ``permission`` table, which the admin edits in one matrix screen (System >
Permissions); ``DEFAULT_MATRIX`` below is what ``flask seed`` and migration 0008 load. Each
request reads the current user's grants once. Workflow actions are authorised separately,
step by step, by the role each SOP step names (see ``workflow.py``), and so are not in the
matrix.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from flask import g, has_app_context
from flask_login import AnonymousUserMixin
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from models import LoginAttempt, Permission, Role, User, utcnow
from models.people import ADMIN_ROLE, check_password
from models.validation import N_

from .extensions import db

Level = Literal["read", "write"]
READ: Level = "read"
WRITE: Level = "write"

# The roles ``flask seed`` creates (code -> name); the admin may add others in the panel.
WORKFLOW_ROLES = ("kepala_dinas", "sekretaris", "perencana", "tim_sakip", "staf")
ROLES = (*WORKFLOW_ROLES, ADMIN_ROLE)
ROLE_NAMES = {
    "kepala_dinas": "Kepala Dinas",
    "sekretaris": "Sekretaris",
    "perencana": "Perencana",
    "tim_sakip": "Tim SAKIP",
    "staf": "Staf",
    ADMIN_ROLE: "Admin TI",
}


def _everyone(level: Level = READ, **overrides: Level) -> dict[str, Level]:
    return {**dict.fromkeys(ROLES, level), **overrides}


# screen (view endpoint) -> role code -> level. A role not named has no access. Every screen
# of the panel is here (``views.init_views`` checks it), in menu order.
DEFAULT_MATRIX: dict[str, dict[str, Level]] = {
    "dashboard": _everyone(),
    "documents": _everyone(),
    "iku_excel": _everyone(tim_sakip=WRITE, staf=WRITE),
    "dossier": _everyone(staf=WRITE, sekretaris=WRITE),
    "objective": _everyone(tim_sakip=WRITE, staf=WRITE),
    "indicator": _everyone(tim_sakip=WRITE, staf=WRITE),
    "target": _everyone(tim_sakip=WRITE, staf=WRITE),
    "indicator_unit": _everyone(admin=WRITE, tim_sakip=WRITE),
    "step_record": _everyone(),
    "procedure": _everyone(admin=WRITE),
    "sop": _everyone(admin=WRITE),
    "sop_step": _everyone(admin=WRITE),
    "calendar_day": _everyone(admin=WRITE),
    "office_day": _everyone(admin=WRITE),
    "agency": _everyone(admin=WRITE),
    "custom_field": _everyone(admin=WRITE),
    "user": {ADMIN_ROLE: WRITE},
    "role": {ADMIN_ROLE: WRITE},
    "permission": {ADMIN_ROLE: WRITE},
    "audit_entry": {ADMIN_ROLE: READ},
    "login_attempt": {ADMIN_ROLE: READ},
}
SCREENS = tuple(DEFAULT_MATRIX)
# Cells the matrix screen does not change: the admin role always manages users, roles and
# the matrix itself, so that no save can lock IT out of the panel.
FIXED: dict[tuple[str, str], Level] = {
    (ADMIN_ROLE, "user"): WRITE,
    (ADMIN_ROLE, "role"): WRITE,
    (ADMIN_ROLE, "permission"): WRITE,
}
# Where a request keeps the grants it read (``flask.g``).
_CACHE = "iku_grants"


def seed_permissions(session: Session, roles: dict[str, Role]) -> None:
    """Give new roles (code -> role) their ``DEFAULT_MATRIX`` grants."""
    for code, role in roles.items():
        for screen, grants in DEFAULT_MATRIX.items():
            if code in grants:
                session.add(Permission(role=role, screen=screen, level=grants[code]))


def _read_grants(session: Session, role_ids: tuple[int, ...]) -> dict[str, Level]:
    found: dict[str, Level] = {}
    if role_ids:
        rows = session.execute(
            select(Permission.screen, Permission.level).where(Permission.role_id.in_(role_ids))
        )
        for screen, granted in rows:
            if found.get(screen) != WRITE:
                found[screen] = granted
    return found


def grants(user: User) -> dict[str, Level]:
    """Screen -> the highest level any of the user's roles has there; one query per request
    (kept in ``flask.g``, which every request starts without)."""
    role_ids = tuple(sorted(role.id for role in user.roles))
    if not has_app_context():
        return _read_grants(db.session, role_ids)
    cache = g.setdefault(_CACHE, {})
    key = (user.id, role_ids)
    if key not in cache:
        cache[key] = _read_grants(db.session, role_ids)
    return cache[key]


def forget_grants() -> None:
    """Drop the grants read so far (a new request, or the matrix changed)."""
    if has_app_context():
        g.pop(_CACHE, None)


@event.listens_for(Session, "after_flush")
def _matrix_changed(session: Session, flush_context) -> None:
    if any(isinstance(o, Permission) for o in (*session.new, *session.dirty, *session.deleted)):
        forget_grants()


def level(user: User | AnonymousUserMixin | None, screen: str) -> Level | None:
    """The highest level any of the user's roles has on a screen, or None."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return grants(user).get(screen)


def can_read(user, screen: str) -> bool:
    """Whether the user may see a screen."""
    return level(user, screen) is not None


def can_write(user, screen: str) -> bool:
    """Whether the user may create, change or delete on a screen."""
    return level(user, screen) == WRITE


# The screens of the IKU content (objectives, indicators, targets).
CONTENT_SCREENS = ("objective", "indicator", "target")


def can_write_content(user) -> bool:
    """Whether the user may write IKU content, on its own screens or in the dossier page's
    editor: write access to all of its screens."""
    return all(can_write(user, screen) for screen in CONTENT_SCREENS)


def holds_role(user, role_code: str) -> bool:
    """Whether the user holds a role (used by the workflow for SOP steps)."""
    return bool(user is not None and user.is_authenticated and role_code in user.role_codes)


class MatrixConflict(Exception):
    """The matrix (a role) changed after the form was opened; nothing was saved."""


def save_matrix(
    session: Session, versions: dict[int, int], cells: dict[tuple[int, str], Level | None]
) -> int:
    """Store the matrix as the admin left it; return how many cells changed.

    ``versions``: role id -> the role's version when the form was opened; ``cells``: (role
    id, screen) -> level (None: no access), for those roles. Each role's version goes up,
    compared and set in one statement, so of two saves of the same form one wins and the
    other gets ``MatrixConflict``; so does a save over a role renamed or deleted meanwhile.
    ``FIXED`` cells keep their level. In the caller's transaction (it commits or rolls back).
    """
    table = Role.__table__
    for role_id, seen in versions.items():
        moved = session.execute(
            table.update()
            .where(table.c.id == role_id, table.c.row_version == seen)
            .values(row_version=table.c.row_version + 1)
        )
        if moved.rowcount != 1:
            raise MatrixConflict
    roles = {role.id: role for role in session.scalars(select(Role).where(Role.id.in_(versions)))}
    stored = {
        (p.role_id, p.screen): p
        for p in session.scalars(select(Permission).where(Permission.role_id.in_(versions)))
    }
    changed = 0
    for (role_id, screen), wanted in cells.items():
        wanted = FIXED.get((roles[role_id].code, screen), wanted)
        row = stored.get((role_id, screen))
        if row is None and wanted:
            session.add(Permission(role_id=role_id, screen=screen, level=wanted))
        elif row is not None and not wanted:
            session.delete(row)
        elif row is not None and row.level != wanted:
            row.level = wanted
        else:
            continue
        changed += 1
    return changed


def current_matrix(session: Session) -> dict[str, dict[str, Level]]:
    """The stored matrix: screen -> role code -> level."""
    matrix: dict[str, dict[str, Level]] = {screen: {} for screen in SCREENS}
    rows = session.execute(
        select(Permission.screen, Role.code, Permission.level).join(Permission.role)
    )
    for screen, code, granted in rows:
        matrix.setdefault(screen, {})[code] = granted
    return matrix


def matrix_markdown(matrix: dict[str, dict[str, Level]] | None = None, roles=ROLES) -> str:
    """A permission matrix (by default the seeded one) as a Markdown table."""
    matrix = DEFAULT_MATRIX if matrix is None else matrix
    header = "| screen | " + " | ".join(roles) + " |"
    rule = "|---" * (len(roles) + 1) + "|"
    rows = [
        f"| {screen} | " + " | ".join(grants.get(role, "none") for role in roles) + " |"
        for screen, grants in matrix.items()
    ]
    return "\n".join([header, rule, *rows])


# --- Login and sessions: counted and versioned in the database, so they hold across every
# app process and host. ---

THROTTLE_WINDOW = timedelta(minutes=15)


class LoginThrottled(Exception):
    """Too many failed logins: refused before the password is checked."""


def _failures(session: Session, since: datetime, *where) -> int:
    return session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(*where, ~LoginAttempt.success, LoginAttempt.at > since)
    )


def _throttled(
    session: Session, username: str, address: str, max_failures: int, max_address_failures: int
) -> bool:
    """Whether the failures recorded so far (this attempt's included) exceed either limit:
    ``max_failures`` for this username from this address since its last success, and
    ``max_address_failures`` from this address for all usernames together."""
    since = utcnow() - THROTTLE_WINDOW
    pair = (LoginAttempt.username == username, LoginAttempt.address == address)
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(*pair, LoginAttempt.success)
    )
    return (
        _failures(session, max(since, last_success or since), *pair) > max_failures
        or _failures(session, since, LoginAttempt.address == address) > max_address_failures
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    address: str,
    max_failures: int,
    max_address_failures: int,
) -> User | None:
    """Check a login and record the attempt; None when refused, LoginThrottled when the
    password was not even checked.

    The caller shows one message for a wrong password, an unknown user and an inactive one,
    which all cost the same hash check, so that nobody learns which usernames exist.

    The attempt is recorded as a failure and committed *before* the failures are counted:
    of any number of parallel attempts, each counts every attempt committed before its
    count, itself included, so the last of them to count sees them all, and no more than
    ``max_failures`` passwords of a username are checked from an address between successes
    in a window, on any number of processes (fewer when many arrive at once).
    """
    username = username.strip()[:50]
    address = (address or "unknown")[:64]
    attempt = LoginAttempt(username=username, address=address, success=False)
    session.add(attempt)
    session.commit()
    if _throttled(session, username, address, max_failures, max_address_failures):
        raise LoginThrottled
    user = session.scalar(select(User).where(User.username == username))
    if not check_password(user, password):
        return None
    attempt.success = True
    session.commit()
    return user


def session_user(session: Session, session_id: str) -> User | None:
    """The active user a session's id (``User.get_id``) belongs to, if still valid."""
    user_id, _sep, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    return session.scalar(
        select(User).where(
            User.id == int(user_id), User.session_version == int(version), User.active
        )
    )


def password_error(password: str, username: str) -> str | None:
    """The password policy: at least 10 characters, not containing the username."""
    if len(password) < 10:
        return N_("The password must be at least 10 characters long.")
    if username and username.lower() in password.lower():
        return N_("The password must not contain the username.")
    return None
