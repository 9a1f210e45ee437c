"""The app's tables, one module per topic; import models from here.

Choices live in connections.choices (re-exported here for convenience).
"""

from connections.choices import (  # noqa: F401 - re-exported for callers and tests
    EXPIRY_KINDS,
    HEALTH_KINDS,
    AuditAction,
    Channel,
    Hosting,
    NoticeKind,
    NotifierJob,
    RunState,
    SiteHealth,
    StepStatus,
    Trigger,
)
from connections.models.audit import AuditEvent, OnboardingConfirmation
from connections.models.batch import CheckBatch
from connections.models.connection import (
    Connection,
    ConnectionQuerySet,
    OriginChangeRefused,
    RestoreRefused,
    RotatedMeanwhile,
    Rotation,
    RotationRefused,
    TokenHistory,
)
from connections.models.notice import Notice, NoticeRecipient, NotifierRun
from connections.models.ratelimit import RateCall, RateSite
from connections.models.rotation_check import CheckOutcome, RotationCheck
from connections.models.run import ChecklistRun

__all__ = [
    "AuditEvent",
    "CheckBatch",
    "CheckOutcome",
    "ChecklistRun",
    "Connection",
    "ConnectionQuerySet",
    "Notice",
    "NoticeRecipient",
    "NotifierRun",
    "OnboardingConfirmation",
    "OriginChangeRefused",
    "RateCall",
    "RateSite",
    "RestoreRefused",
    "RotatedMeanwhile",
    "Rotation",
    "RotationCheck",
    "RotationRefused",
    "TokenHistory",
]
