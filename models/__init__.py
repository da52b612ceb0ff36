"""IKU Admin's domain model: plain SQLAlchemy 2, importable without Flask."""

from .base import Base, UTCDateTime, utcnow
from .dossier import (
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
from .system import AuditEntry, CalendarDay

__all__ = [
    "AppendOnlyError",
    "AuditEntry",
    "Base",
    "CalendarDay",
    "Dossier",
    "Indicator",
    "IndicatorTarget",
    "LoginAttempt",
    "Role",
    "Sop",
    "SopStep",
    "StepRecord",
    "StrategicObjective",
    "UTCDateTime",
    "User",
    "target_year_error",
    "user_role",
    "utcnow",
]
