"""The dossier (berkas), its append-only step history, and the IKU it drafts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
)
from sqlalchemy import inspect as inspect_model
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .base import Base, UTCDateTime, utcnow
from .people import Role, User
from .sop import Sop, SopStep
from .validation import N_, RuleError

DOSSIER_STATUSES = ("in_progress", "done")
OUTCOMES = ("done", "approved", "returned")
POLARITIES = ("max", "min")


class Dossier(Base):
    """One run of the SOP: from an incoming letter to the distributed IKU."""

    __tablename__ = "dossier"
    __table_args__ = (
        Index("ix_dossier_current_step_id_status", "current_step_id", "status"),
        Index("ix_dossier_status_step_started_at", "status", "step_started_at"),
        # The dashboard: the dossiers not yet due, the most overdue ones, the latest
        # finished ones.
        Index("ix_dossier_status_step_due_at", "status", "step_due_at"),
        Index("ix_dossier_status_finished_at", "status", "finished_at"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("status in ('in_progress', 'done')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[int] = mapped_column(Integer)
    period_end: Mapped[int] = mapped_column(Integer)
    letter_number: Mapped[str] = mapped_column(String(100))
    letter_date: Mapped[date] = mapped_column(Date)
    letter_sender: Mapped[str] = mapped_column(String(200))
    letter_subject: Mapped[str] = mapped_column(String(300))
    sop_id: Mapped[int] = mapped_column(ForeignKey("sop.id"), index=True)
    current_step_id: Mapped[int | None] = mapped_column(ForeignKey("sop_step.id"))
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    revision_round: Mapped[int] = mapped_column(Integer, default=0)
    outgoing_agenda_number: Mapped[str] = mapped_column(String(100), default="")
    distribution_record: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    step_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Working minutes of all its steps, written when the last step finishes.
    cycle_minutes: Mapped[int | None] = mapped_column(Integer)
    # The custom fields' values (``CustomField``): code -> text; an empty field has no key.
    extra: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Optimistic locking: ORM updates check and bump it; workflow transitions compare-and-set it.
    __mapper_args__ = {"version_id_col": version}

    sop: Mapped[Sop] = relationship()
    current_step: Mapped[SopStep | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    records: Mapped[list[StepRecord]] = relationship(
        back_populates="dossier", order_by="StepRecord.id", viewonly=True
    )
    objectives: Mapped[list[StrategicObjective]] = relationship(
        back_populates="dossier",
        order_by="StrategicObjective.order",
        cascade="all, delete-orphan",
    )

    def __str__(self) -> str:
        return self.title

    @property
    def carries_iku(self) -> bool:
        """Whether this dossier drafts an IKU (a property of its SOP's procedure)."""
        return self.sop is not None and self.sop.procedure.carries_iku

    @property
    def period_label(self) -> str:
        return f"{self.period_start}–{self.period_end}"

    @property
    def years(self) -> list[int]:
        return list(range(self.period_start, self.period_end + 1))

    @validates("period_start", "period_end")
    def _check_period(self, key: str, value: int) -> int:
        if value is None or not 2000 <= int(value) <= 2100:
            raise RuleError(N_("The period year must be between 2000 and 2100."))
        other = self.period_end if key == "period_start" else self.period_start
        if other is not None:
            start, end = (value, other) if key == "period_start" else (other, value)
            if end < start:
                raise RuleError(N_("The period cannot end before it starts."))
            if end - start > 9:
                raise RuleError(N_("A period spans at most 10 years."))
        return int(value)


class StepRecord(Base):
    """One finished SOP step of a dossier. Append-only: never updated or deleted."""

    __tablename__ = "step_record"
    __table_args__ = (
        # The dossier version the transition started from: a second record for the
        # same version is a lost race, refused by the database itself.
        UniqueConstraint("dossier_id", "dossier_version"),
        Index("ix_step_record_user_id_finished_at", "user_id", "finished_at"),
        Index("ix_step_record_step_id_finished_at", "step_id", "finished_at"),
        CheckConstraint("outcome in ('done', 'approved', 'returned')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    dossier_version: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[int] = mapped_column(ForeignKey("sop_step.id"))
    position: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    outcome: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    working_minutes: Mapped[int] = mapped_column(Integer, default=0)
    standard_minutes: Mapped[int] = mapped_column(Integer, default=0)
    sop_version: Mapped[int] = mapped_column(Integer)
    # Who acted, as named when the step was finished: a signed document keeps printing
    # these when a user or a role is renamed later.
    actor_name: Mapped[str] = mapped_column(String(150), default="", server_default="")
    actor_nip: Mapped[str] = mapped_column(String(18), default="", server_default="")
    actor_rank: Mapped[str] = mapped_column(String(100), default="", server_default="")
    role_name: Mapped[str] = mapped_column(String(100), default="", server_default="")

    dossier: Mapped[Dossier] = relationship(back_populates="records")
    step: Mapped[SopStep] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")
    role: Mapped[Role] = relationship(lazy="joined")

    def __str__(self) -> str:
        return f"#{self.dossier_id} langkah {self.position}: {self.outcome}"

    @property
    def on_time(self) -> bool:
        return self.working_minutes <= self.standard_minutes


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an append-only record."""


def _refuse_change(mapper, connection, target) -> None:
    raise AppendOnlyError(f"{type(target).__name__} is append-only")


class StrategicObjective(Base):
    """A strategic objective (sasaran strategis) of the IKU being drafted."""

    __tablename__ = "strategic_objective"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    order: Mapped[int] = mapped_column(Integer, default=1)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    dossier: Mapped[Dossier] = relationship(back_populates="objectives")
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="objective", order_by="Indicator.order", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return labelled(self.dossier, self.name)


class Indicator(Base):
    """A key performance indicator (indikator kinerja utama)."""

    __tablename__ = "indicator"
    __table_args__ = (CheckConstraint("polarity in ('max', 'min')", name="polarity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("strategic_objective.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    definition: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(40), default="")
    polarity: Mapped[str] = mapped_column(String(3), default="max")
    baseline: Mapped[str] = mapped_column(String(100), default="")
    data_source: Mapped[str] = mapped_column(String(300), default="")
    responsible: Mapped[str] = mapped_column(String(300), default="")
    order: Mapped[int] = mapped_column(Integer, default=1)
    # The custom fields' values (``CustomField``): code -> text; an empty field has no key.
    extra: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    objective: Mapped[StrategicObjective] = relationship(back_populates="indicators")
    targets: Mapped[list[IndicatorTarget]] = relationship(
        back_populates="indicator", order_by="IndicatorTarget.year", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return labelled(self.objective and self.objective.dossier, self.name)


class IndicatorUnit(Base):
    """A unit an indicator may be measured in (Satuan): a list kept in the panel."""

    __tablename__ = "indicator_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    def __str__(self) -> str:
        return self.name

    @classmethod
    def names(cls, session) -> list[str]:
        """The units of the list, alphabetically."""
        return list(session.scalars(select(cls.name).order_by(cls.name)))


def _check_unit(mapper, connection, target: Indicator) -> None:
    """An indicator's unit, when set or changed, is one of the list (on every write path).
    A unit taken off the list later stays on the indicators that have it."""
    if not target.unit or not inspect_model(target).attrs.unit.history.added:
        return
    known = connection.scalar(select(IndicatorUnit.id).where(IndicatorUnit.name == target.unit))
    if known is None:
        raise RuleError(N_("Unknown unit."))


class IndicatorTarget(Base):
    """The target of an indicator for one year of the period."""

    __tablename__ = "indicator_target"
    __table_args__ = (UniqueConstraint("indicator_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    target: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    indicator: Mapped[Indicator] = relationship(back_populates="targets")

    def __str__(self) -> str:
        return f"{self.indicator or ''} · {self.year}: {self.target}".removeprefix(" · ")


def dossier_label(dossier: Dossier) -> str:
    """A dossier as the content screens name it: "#4 · IKU Sekretariat 2026–2030" (titles
    repeat from period to period and between fields; the number does not)."""
    return f"#{dossier.id} · {dossier.title}" if dossier.id else dossier.title


def labelled(dossier: Dossier | None, name: str) -> str:
    """A content row's label, naming its dossier, so that rows of different dossiers with
    the same name tell apart in lists and selects."""
    return f"{dossier_label(dossier)} · {name}" if dossier is not None else name


def target_year_error(dossier: Dossier | None, year: int | None) -> str | None:
    """A target's year must lie inside its dossier's period."""
    if dossier is None or year is None:
        return None
    if not dossier.period_start <= year <= dossier.period_end:
        return N_("The target year must lie inside the dossier's period.")
    return None


event.listen(Indicator, "before_insert", _check_unit)
event.listen(Indicator, "before_update", _check_unit)
event.listen(StepRecord, "before_update", _refuse_change)
event.listen(StepRecord, "before_delete", _refuse_change)
