"""Cross-cutting records: the audit log, the weekly office hours and the working calendar's
exceptions."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow
from .dossier import _refuse_change


class AuditEntry(Base):
    """Who created, changed or deleted which record, with old and new values (JSON)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_table_name_row_id", "table_name", "row_id"),
        CheckConstraint("action in ('create', 'update', 'delete')", name="action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    username: Mapped[str] = mapped_column(String(50), default="")
    action: Mapped[str] = mapped_column(String(10))
    table_name: Mapped[str] = mapped_column(String(50))
    row_id: Mapped[str] = mapped_column(String(50))
    changes: Mapped[str] = mapped_column(Text, default="{}")

    def __str__(self) -> str:
        return f"{self.action} {self.table_name}#{self.row_id}"


class OfficeDay(Base):
    """The office hours of one weekday (0 = Monday … 6 = Sunday), or a day off. The working
    calendar reads them; "1 hari" in a standard time stays 450 working minutes."""

    __tablename__ = "office_day"
    __table_args__ = (
        CheckConstraint("weekday between 0 and 6", name="weekday"),
        CheckConstraint(
            "not working or (start < finish and start <= break_start "
            "and break_start <= break_end and break_end <= finish)",
            name="hours_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer, unique=True)
    working: Mapped[bool] = mapped_column(Boolean, default=True)
    start: Mapped[time | None] = mapped_column(Time)
    finish: Mapped[time | None] = mapped_column(Time)
    break_start: Mapped[time | None] = mapped_column(Time)
    break_end: Mapped[time | None] = mapped_column(Time)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    def __str__(self) -> str:
        return str(self.weekday)


class CalendarDay(Base):
    """An exception to the working calendar: an extra day off or an extra working day."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("kind in ('off', 'work')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(4), default="off")
    description: Mapped[str] = mapped_column(String(200))
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.description}"


event.listen(AuditEntry, "before_update", _refuse_change)
event.listen(AuditEntry, "before_delete", _refuse_change)
