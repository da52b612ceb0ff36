"""IKU Admin's domain model: plain SQLAlchemy 2, importable without Flask."""

from . import search  # noqa: F401  (indexes on dossier)
from .agency import Agency
from .base import Base, UTCDateTime, utcnow
from .dossier import (
    DOSSIER_STATUSES,
    AppendOnlyError,
    Dossier,
    Indicator,
    IndicatorTarget,
    IndicatorUnit,
    StepRecord,
    StrategicObjective,
    target_year_error,
)
from .fields import CustomField
from .people import LoginAttempt, Permission, Role, User, user_role
from .sop import Procedure, Sop, SopStep
from .summary import ALL_TIME, CYCLE, FINISHED, DossierTotal, MinutesCount, StepTotal, half_year
from .system import AuditEntry, CalendarDay, OfficeDay

__all__ = [
    "ALL_TIME",
    "CYCLE",
    "DOSSIER_STATUSES",
    "FINISHED",
    "Agency",
    "AppendOnlyError",
    "AuditEntry",
    "Base",
    "CalendarDay",
    "CustomField",
    "Dossier",
    "DossierTotal",
    "Indicator",
    "IndicatorTarget",
    "IndicatorUnit",
    "LoginAttempt",
    "MinutesCount",
    "OfficeDay",
    "Permission",
    "Procedure",
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
