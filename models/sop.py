"""The SOP as data: its identity header (Sop) and its procedure steps (SopStep)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .base import Base
from .people import Role
from .validation import N_, TIME_UNITS, RuleError, standard_minutes

SOP_STATUSES = ("draft", "active", "retired")
STEP_KINDS = ("task", "review")
# What the step's actor does on the IKU document: "sign" (the signature under the table; the
# person who did the step signs), "initial" (a row of the paraf table), or nothing.
STEP_SIGNATURES = ("", "sign", "initial")


class Procedure(Base):
    """An SOP as a whole ("Penyusunan IKU", "Penyusunan LKjIP"): its versions (``Sop``) come
    and go, one of them active; a dossier is registered under one procedure and runs on the
    version active then. The dashboard, the evaluation form and the lists keep procedures
    apart."""

    __tablename__ = "sop_procedure"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Whether its dossiers draft an IKU: the IKU content, its editor and the IKU document.
    carries_iku: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # What the registration form offers first (exactly one procedure, kept by the panel).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def ordered():
        """The order procedures are offered in everywhere: the default first, then by name."""
        return Procedure.is_default.desc(), Procedure.name

    @staticmethod
    def default_id(session) -> int | None:
        """The procedure marked as default, else the first in ``ordered`` (one query)."""
        return session.scalar(select(Procedure.id).order_by(*Procedure.ordered()).limit(1))


class Sop(Base):
    """One version of an SOP sheet (PermenPAN-RB 35/2012 format) of a ``Procedure``."""

    __tablename__ = "sop"
    __table_args__ = (
        UniqueConstraint("number", "version"),
        CheckConstraint("status in ('draft', 'active', 'retired')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("sop_procedure.id"), index=True)
    number: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    agency: Mapped[str] = mapped_column(String(200), default="")
    government: Mapped[str] = mapped_column(String(200), default="")
    made_on: Mapped[str] = mapped_column(String(60), default="")
    revised_on: Mapped[str] = mapped_column(String(60), default="")
    ratified_on: Mapped[str] = mapped_column(String(60), default="")
    ratified_by_title: Mapped[str] = mapped_column(String(200), default="")
    ratified_by_name: Mapped[str] = mapped_column(String(150), default="")
    ratified_by_nip: Mapped[str] = mapped_column(String(18), default="")
    ratified_by_rank: Mapped[str] = mapped_column(String(100), default="", server_default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    qualifications: Mapped[str] = mapped_column(Text, default="")
    related_sops: Mapped[str] = mapped_column(Text, default="")
    equipment: Mapped[str] = mapped_column(Text, default="")
    warning: Mapped[str] = mapped_column(Text, default="")
    records: Mapped[str] = mapped_column(Text, default="")
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    procedure: Mapped[Procedure] = relationship(lazy="joined")
    steps: Mapped[list[SopStep]] = relationship(
        back_populates="sop", order_by="SopStep.position", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"

    @property
    def total_minutes(self) -> int:
        return sum(step.standard_minutes for step in self.steps)


class SopStep(Base):
    """One row of the SOP's procedure table."""

    __tablename__ = "sop_step"
    __table_args__ = (
        UniqueConstraint("sop_id", "position"),
        CheckConstraint("time_value > 0", name="time_positive"),
        CheckConstraint("kind in ('task', 'review')", name="kind"),
        CheckConstraint("signature in ('', 'sign', 'initial')", name="signature"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sop_id: Mapped[int] = mapped_column(ForeignKey("sop.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    activity: Mapped[str] = mapped_column(String(300))
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"), index=True)
    input: Mapped[str] = mapped_column(String(300), default="")
    output: Mapped[str] = mapped_column(String(300), default="")
    time_value: Mapped[int] = mapped_column(Integer)
    time_unit: Mapped[str] = mapped_column(String(10))
    standard_minutes: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(10), default="task")
    # A review's return target: a step, by identity, so that renumbering keeps it.
    return_to_step_id: Mapped[int | None] = mapped_column(
        ForeignKey("sop_step.id", ondelete="SET NULL")
    )
    # What is checked before the step can be finished (Kelengkapan): names of named checks and
    # of dossier fields, chosen in the panel; iku_admin/requirements.py is their vocabulary and
    # checks the names at every flush.
    requirements: Mapped[list[str]] = mapped_column(JSON, default=lambda: [], server_default="[]")
    # The verb on the button that finishes this step ("Beri Paraf", "Tandatangani"); a review
    # step's buttons are "approve" and "return" and ignore it. Empty: the generic label.
    action_label: Mapped[str] = mapped_column(String(60), default="", server_default="")
    signature: Mapped[str] = mapped_column(String(10), default="", server_default="")
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    sop: Mapped[Sop] = relationship(back_populates="steps")
    role: Mapped[Role] = relationship(lazy="joined")
    return_to: Mapped[SopStep | None] = relationship(
        remote_side=[id], foreign_keys=[return_to_step_id]
    )

    def __str__(self) -> str:
        return f"{self.position}. {self.activity}"

    @property
    def time_label(self) -> str:
        """The standard time as written on the sheet, e.g. "1 hari"."""
        return f"{self.time_value} {self.time_unit}"

    @validates("requirements")
    def _check_requirements(self, key: str, value) -> list[str]:
        """A list of names, each once; always a list of its own (a copied step does not share
        its original's)."""
        names = list(value or [])
        if not all(isinstance(name, str) for name in names):
            raise RuleError(N_("A requirement is a name."))
        twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
        if twice is not None:
            raise RuleError(N_("The requirement %(name)s is listed twice."), name=twice)
        return names

    @validates("time_value", "time_unit")
    def _sync_minutes(self, key: str, value):
        if key == "time_value":
            if value is None or int(value) <= 0:
                raise RuleError(N_("The standard time must be greater than zero."))
            value = int(value)
        elif value not in TIME_UNITS:
            raise RuleError(N_("Unknown time unit."))
        unit = value if key == "time_unit" else self.time_unit
        amount = value if key == "time_value" else self.time_value
        if unit in TIME_UNITS and amount:
            self.standard_minutes = standard_minutes(amount, unit)
        return value
