"""Every fixed set of values the app stores or compares: one home, imported by models and services.

A leaf module (it imports only Django): the checklist, notices and templates compare against
these members, never against string literals.
"""

from django.db import models


class Hosting(models.TextChoices):
    SELF_HOSTED = "self_hosted", "Self-hosted"
    CLOUD = "cloud", "Issuetrak cloud"


class StepStatus(models.TextChoices):
    """A checklist step's (and a run's overall) result; the CSS badge class is the value."""

    PASS = "pass", "Pass"
    WARN = "warn", "Warning"
    FAIL = "fail", "Fail"
    SKIP = "skip", "Skipped"
    ERROR = "error", "Error"

    @property
    def ok(self) -> bool:
        """Passed, perhaps with a warning: a step that needs this one may go ahead."""
        return self in (StepStatus.PASS, StepStatus.WARN)

    @property
    def is_problem(self) -> bool:
        """Something a person must fix (a warning included)."""
        return self in (StepStatus.FAIL, StepStatus.ERROR, StepStatus.WARN)

    @property
    def is_failure(self) -> bool:
        return self in (StepStatus.FAIL, StepStatus.ERROR)


# The values a run's overall result can take (a step may also be skipped or error).
OVERALL_STATUSES = (StepStatus.PASS, StepStatus.WARN, StepStatus.FAIL)


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    CRASHED = "crashed", "Crashed"


class Trigger(models.TextChoices):
    BROWSER = "browser", "Browser"
    CLI = "cli", "Command line"
    SCHEDULE = "schedule", "Schedule"
    ROTATION = "rotation", "Rotation check"


class SiteHealth(models.TextChoices):
    """The site steps of a scheduled run, summed up: does the connection itself work?"""

    PASS = "pass", "Working"
    WARN = "warn", "Working with warnings"
    FAIL = "fail", "Broken"

    @property
    def rank(self) -> int:
        return _HEALTH_RANK[self]

    @classmethod
    def of(cls, status: StepStatus) -> "SiteHealth":
        """A step's status as health: skipped counts as working, an error as broken."""
        if status.is_failure:
            return cls.FAIL
        return cls.WARN if status == StepStatus.WARN else cls.PASS


_HEALTH_RANK = {SiteHealth.PASS: 0, SiteHealth.WARN: 1, SiteHealth.FAIL: 2}


class NoticeKind(models.TextChoices):
    EXPIRING = "expiring", "Token expiring"
    EXPIRED = "expired", "Token expired"
    NEVER_EXPIRES = "never_expires", "Token never expires"
    BROKEN = "broken", "Connection broken"
    REVOKED = "revoked", "Token stopped working early"
    RECOVERED = "recovered", "Connection recovered"


EXPIRY_KINDS = (NoticeKind.EXPIRING, NoticeKind.EXPIRED, NoticeKind.NEVER_EXPIRES)
HEALTH_KINDS = (NoticeKind.BROKEN, NoticeKind.REVOKED, NoticeKind.RECOVERED)


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class NotifierJob(models.TextChoices):
    EXPIRY_SCAN = "expiry_scan", "Expiry scan"
    REVALIDATION = "revalidation", "Re-validation"


class AuditAction(models.TextChoices):
    CONNECTION_CREATED = "connection_created", "Connection created"
    CONNECTION_EDITED = "connection_edited", "Connection edited"
    CONNECTION_ARCHIVED = "connection_archived", "Connection archived"
    CONNECTION_RESTORED = "connection_restored", "Connection restored"
    TOKEN_ROTATED = "token_rotated", "Token rotated"
    CHECKLIST_STARTED = "checklist_started", "Checklist run started"
    NOTICE_ACKNOWLEDGED = "notice_acknowledged", "Notice acknowledged"
    ONBOARDING_CONFIRMED = "onboarding_confirmed", "Onboarding step confirmed"
    ROLE_CHANGED = "role_changed", "Role changed"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    PERMISSIONS_REPAIRED = "permissions_repaired", "Issuetrak permissions repaired"
    ADMIN_CHANGED = "admin_changed", "Changed in Django admin"
    LOGIN_LOCKED = "login_locked", "Sign-in locked"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset asked for"
    CHECK_ALL_STARTED = "check_all_started", "Checklist started for many"
    TEST_NOTICE_SENT = "test_notice_sent", "Test notice sent"
