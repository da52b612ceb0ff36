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


# --- Login throttling: counted in the database so it holds across app processes. ---

MAX_FAILURES = 5
THROTTLE_WINDOW = timedelta(minutes=15)


def _failures_since_success(session: Session, column, value: str, since: datetime) -> int:
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.success)
    )
    start = max(since, last_success) if last_success else since
    return session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(column == value, ~LoginAttempt.success, LoginAttempt.at > start)
    )


def login_blocked(session: Session, username: str, address: str) -> bool:
    """Whether further logins for this username or from this address are refused now."""
    since = utcnow() - THROTTLE_WINDOW
    return (
        _failures_since_success(session, LoginAttempt.username, username, since) >= MAX_FAILURES
        or _failures_since_success(session, LoginAttempt.address, address, since) >= MAX_FAILURES
    )


def authenticate(session: Session, username: str, password: str, address: str) -> User | None:
    """Check a login and record the attempt; None when refused (for whatever reason).

    The caller shows one message for every refusal so that nobody learns which usernames
    exist. Throttled attempts are refused before the password is even checked.
    """
    username = username.strip()[:50]
    address = (address or "unknown")[:64]
    user = session.scalar(select(User).where(User.username == username))
    ok = bool(user and user.active and user.check_password(password))
    session.add(LoginAttempt(username=username, address=address, success=ok))
    session.commit()
    return user if ok else None


def password_error(password: str, username: str) -> str | None:
    """The password policy: at least 10 characters, not containing the username."""
    if len(password) < 10:
        return N_("The password must be at least 10 characters long.")
    if username and username.lower() in password.lower():
        return N_("The password must not contain the username.")
    return None
