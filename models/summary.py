"""Totals of the step history for the quality dashboard.

Written by the workflow in the same transaction as the StepRecords they count, so they can
never disagree with the committed history (they are not a cache); ``iku_admin.mutu`` can
rebuild them from the history at any time. Keyed by the half-year, in office time, in which
a step or a dossier finished (or a dossier was registered), by the dossier's procedure (its
SOP: procedures are measured apart) and by its IKU period: the dashboard's filters.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from . import base
from .base import Base

#: The position under which ``MinutesCount`` counts whole dossiers (cycle times).
CYCLE = 0
#: The (year, half) under which ``MinutesCount`` also counts everything, whenever it finished.
ALL_TIME = (0, 0)
#: The step id under which ``DossierTotal`` counts finished dossiers.
FINISHED = 0


def half_year(at: datetime) -> tuple[int, int]:
    """The (year, half) in office time of a moment: half 1 is January–June, 2 July–December."""
    local = at.astimezone(base.LOCAL_TZ)
    return local.year, 1 if local.month <= 6 else 2


class StepTotal(Base):
    """Finished steps and their working minutes, per step, role, person, half-year, period."""

    __tablename__ = "step_total"

    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    half: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    period_start: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    period_end: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    finished: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int] = mapped_column(Integer, default=0)


class MinutesCount(Base):
    """How many steps (or, at position ``CYCLE``, whole dossiers) took exactly so many working
    minutes against a standard time: exact medians, percentiles and shares within the
    standard from a few thousand rows instead of the whole history.

    The key starts with the half-year, then what the dashboard groups by, so one half-year's
    rows (or the ``ALL_TIME`` ones) are read in that order; on SQLite the table is the key's
    B-tree itself (WITHOUT ROWID).
    """

    __tablename__ = "minutes_count"
    __table_args__ = {"sqlite_with_rowid": False}

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    half: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, primary_key=True)
    standard_minutes: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    period_start: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    period_end: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    tally: Mapped[int] = mapped_column(Integer, default=0)


class DossierTotal(Base):
    """Dossiers per current step (``FINISHED`` once done), revision rounds, half-year of
    registration and IKU period: what is open now, without counting the dossier table."""

    __tablename__ = "dossier_total"

    step_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_round: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    half: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    period_start: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    period_end: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    dossiers: Mapped[int] = mapped_column(Integer, default=0)
