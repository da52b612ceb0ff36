"""IKU Admin's domain model: plain SQLAlchemy 2, importable without Flask."""

from .base import Base, UTCDateTime, utcnow
from .dossier import (
    DOSSIER_STATUSES,
    AppendOnlyError,
    Dossier,
    Indicator,
    IndicatorTarget,
    StepRecord,
    StrategicObjective,
    target_year_error,
)
from .people import LoginAttempt, Role, User, user_role
from .sop import Sop, SopStep
from .summary import CYCLE, MinutesCount, StepTotal, half_year
from .system import AuditEntry, CalendarDay

__all__ = [
    "CYCLE",
    "DOSSIER_STATUSES",
    "AppendOnlyError",
    "AuditEntry",
    "Base",
    "CalendarDay",
    "Dossier",
    "Indicator",
    "IndicatorTarget",
    "LoginAttempt",
    "MinutesCount",
    "Role",
    "Sop",
    "SopStep",
    "StepRecord",
    "StepTotal",
    "StrategicObjective",
    "UTCDateTime",
    "User",
    "half_year",
    "target_year_error",
    "user_role",
    "utcnow",
]
