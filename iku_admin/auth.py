"""Every permission rule of the panel, in one place.

The matrix below says, for each screen (a Flask-Admin endpoint) and each role, whether the
role may read it or also write it. Workflow actions are authorised separately, step by step,
by the role each SOP step names (see ``workflow.py``), and so are not in this matrix.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from flask_login import AnonymousUserMixin
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import LoginAttempt, User, utcnow
from models.people import check_password
from models.validation import N_

Level = Literal["read", "write"]
READ: Level = "read"
WRITE: Level = "write"

WORKFLOW_ROLES = ("kepala_dinas", "sekretaris", "perencana", "tim_sakip", "staf")
ROLES = (*WORKFLOW_ROLES, "admin")
ROLE_NAMES = {
    "kepala_dinas": "Kepala Dinas",
    "sekretaris": "Sekretaris",
    "perencana": "Perencana",
    "tim_sakip": "Tim SAKIP",
    "staf": "Staf",
    "admin": "Admin TI",
}


def _everyone(level: Level = READ, **overrides: Level) -> dict[str, Level]:
    return {**dict.fromkeys(ROLES, level), **overrides}


# screen (view endpoint) -> role code -> level. A role not named has no access.
MATRIX: dict[str, dict[str, Level]] = {
    "dashboard": _everyone(),
    "documents": _everyone(),
    "iku_excel": _everyone(tim_sakip=WRITE, staf=WRITE),
    "dossier": _everyone(staf=WRITE, sekretaris=WRITE),
    "objective": _everyone(tim_sakip=WRITE, staf=WRITE),
    "indicator": _everyone(tim_sakip=WRITE, staf=WRITE),
    "target": _everyone(tim_sakip=WRITE, staf=WRITE),
    "step_record": _everyone(),
    "sop": _everyone(admin=WRITE),
    "sop_step": _everyone(admin=WRITE),
    "calendar_day": _everyone(admin=WRITE),
    "agency": _everyone(admin=WRITE),
    "user": {"admin": WRITE},
    "role": {"admin": WRITE},
    "audit_entry": {"admin": READ},
    "login_attempt": {"admin": READ},
}


def level(user: User | AnonymousUserMixin | None, screen: str) -> Level | None:
    """The highest level any of the user's roles has on a screen, or None."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    granted = MATRIX.get(screen, {})
    levels = {granted.get(code) for code in user.role_codes}
    if WRITE in levels:
        return WRITE
    if READ in levels:
        return READ
    return None


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


def matrix_markdown() -> str:
    """The permission matrix as a Markdown table (for the README)."""
    header = "| screen | " + " | ".join(ROLES) + " |"
    rule = "|---" * (len(ROLES) + 1) + "|"
    rows = [
        f"| {screen} | " + " | ".join(grants.get(role, "none") for role in ROLES) + " |"
        for screen, grants in MATRIX.items()
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
