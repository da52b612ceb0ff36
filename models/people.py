"""Users, the roles they hold, and what each role may do on each screen."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    distinct,
    event,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from .base import Base, UTCDateTime, utcnow
from .validation import N_, RuleError, fixed_code, format_nip, nip_error

# Hash method for new passwords; tests switch to a cheaper one to stay fast.
PASSWORD_METHOD = "scrypt"


@cache
def _dummy_hash(method: str) -> str:
    """A hash of no one's password, made once per process and method."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def check_password(user: User | None, password: str) -> bool:
    """Whether ``user`` is active and ``password`` is theirs. Always costs one check of a
    ``PASSWORD_METHOD`` hash, so the time taken does not tell whether the username exists."""
    if user is not None and user.active and user.password_hash:
        return user.check_password(password)
    check_password_hash(_dummy_hash(PASSWORD_METHOD), password)
    return False


user_role = Table(
    "user_role",
    Base.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)


# The role whose holders run the panel (users, roles, permissions): at least one active user
# keeps it (see ``_keep_an_admin``).
ADMIN_ROLE = "admin"
# What a role may do on a screen; a screen without a row for the role is closed to it.
PERMISSION_LEVELS = ("read", "write")


class Role(Base):
    """A role such as ``sekretaris``; SOP steps name the role that does them, the permission
    matrix the screens it reads or writes. Its code never changes once it is stored (the
    history, the documents and the SOP steps of past versions refer to the role); its name
    may."""

    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    users: Mapped[list[User]] = relationship(secondary=user_role, back_populates="roles")
    permissions: Mapped[list[Permission]] = relationship(
        back_populates="role", cascade="all, delete-orphan", passive_deletes=True
    )

    def __str__(self) -> str:
        return self.name

    @validates("code")
    def _check_code(self, key: str, value: str | None) -> str | None:
        return fixed_code(
            self, value, N_("A role's code cannot change once the role is created."),
            N_("A role's code is lowercase letters, digits and underscores, starting with a "
               "letter, e.g. verifikator."),
        )  # fmt: skip


class Permission(Base):
    """One cell of the permission matrix: what a role may do on a screen (a Flask-Admin view
    endpoint). No row: no access."""

    __tablename__ = "permission"
    __table_args__ = (
        UniqueConstraint("role_id", "screen"),
        CheckConstraint("level in ('read', 'write')", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"))
    screen: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(5))

    role: Mapped[Role] = relationship(back_populates="permissions")

    def __str__(self) -> str:
        return f"{self.role.code}: {self.screen} = {self.level}"

    @validates("level")
    def _check_level(self, key: str, value: str) -> str:
        if value not in PERMISSION_LEVELS:
            raise RuleError(N_("Unknown permission level."))
        return value


class User(Base):
    """A person who logs in (Flask-Login's user protocol, without importing Flask)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    full_name: Mapped[str] = mapped_column(String(150))
    nip: Mapped[str | None] = mapped_column(String(18))
    position: Mapped[str | None] = mapped_column(String(150))
    # Pangkat/golongan, printed under the name, e.g. "Pembina Utama Muda (IV/c)".
    rank: Mapped[str] = mapped_column(String(100), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(5), default="id")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Stored in each session at login and checked on every request: raising it ends all of
    # the user's sessions on every process.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    roles: Mapped[list[Role]] = relationship(
        secondary=user_role, back_populates="users", lazy="selectin", order_by=Role.code
    )

    def __str__(self) -> str:
        return f"{self.full_name} ({self.username})"

    @validates("nip")
    def _check_nip(self, key: str, value: str | None) -> str | None:
        value = (value or "").replace(" ", "") or None
        error = nip_error(value)
        if error:
            raise RuleError(error)
        return value

    @property
    def nip_display(self) -> str:
        return format_nip(self.nip)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def role_codes(self) -> set[str]:
        return {role.code for role in self.roles}

    # Flask-Login's user protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The id a session holds: the user's id and session version (the app's user loader
        refuses a session whose version is no longer the user's)."""
        return f"{self.id}:{self.session_version}"


def end_sessions(connection: Connection, user_ids: list[int]) -> None:
    """End every session of these users on every process: raise the session version that
    each request compares with the one its session was given at login. A Core statement: it
    is not an edit of the user (no row_version, no audit entry)."""
    table = User.__table__
    connection.execute(
        update(table)
        .where(table.c.id.in_(user_ids))
        .values(session_version=table.c.session_version + 1)
    )


# What, once changed, ends every session of the user: the password, being active, the roles.
SESSION_ENDING = ("password_hash", "active", "roles")


@event.listens_for(Session, "after_flush")
def _end_sessions_on_change(session: Session, flush_context) -> None:
    """End the sessions of every user whose password, active flag or roles changed, whoever
    changed them (the Users screen, ``create-user``, any other code; roles changed through
    ``Role.users`` too, as the backref changes the loaded ``User.roles``)."""
    changed = [
        user.id
        for user in session.dirty  # still what the flush wrote, with its history
        if isinstance(user, User)
        and any(inspect(user).attrs[key].history.has_changes() for key in SESSION_ENDING)
    ]
    if changed:
        end_sessions(session.connection(), changed)


class LoginAttempt(Base):
    """One login try, kept to throttle guessing across every app process."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(50))
    address: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)

    def __str__(self) -> str:
        return f"{self.username} @ {self.at:%Y-%m-%d %H:%M}"


# What can take the admin role from its last active holder: a user's active flag or roles, a
# role's holders, deleting a user or a role.
_ADMIN_KEY = "active_admins_before"


def active_admins(connection: Connection) -> int:
    """How many active users hold the admin role."""
    return connection.scalar(
        select(func.count(distinct(User.id)))
        .select_from(User)
        .join(user_role, user_role.c.user_id == User.id)
        .join(Role, Role.id == user_role.c.role_id)
        .where(User.active, Role.code == ADMIN_ROLE)
    )


def _touches_admins(session: Session) -> bool:
    for obj in [*session.dirty, *session.deleted]:
        if isinstance(obj, User) and (
            obj in session.deleted
            or any(inspect(obj).attrs[key].history.has_changes() for key in ("active", "roles"))
        ):
            return True
        if isinstance(obj, Role) and (
            obj in session.deleted or inspect(obj).attrs.users.history.has_changes()
        ):
            return True
    return False


@event.listens_for(Session, "before_flush")
def _count_admins(session: Session, flush_context, instances) -> None:
    session.info.pop(_ADMIN_KEY, None)
    if _touches_admins(session):
        session.info[_ADMIN_KEY] = active_admins(session.connection())


@event.listens_for(Session, "after_flush")
def _keep_an_admin(session: Session, flush_context) -> None:
    """Refuse (and so roll back) a flush that leaves no active admin where there was one:
    nobody could then manage users, roles or permissions in the panel."""
    if session.info.pop(_ADMIN_KEY, 0) and not active_admins(session.connection()):
        raise RuleError(
            N_("The last active administrator cannot lose the admin role or be deactivated.")
        )
