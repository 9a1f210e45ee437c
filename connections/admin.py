"""Django admin: the app's data is read-only here; schedules and accounts changed here are audited.

Connections, runs, notices, token history and the audit trail change only through the app's pages
and CLI (checked, audited). What admin may still change — Celery beat's schedules, and accounts
for superusers — is mirrored into the audit trail. Roles change on the Roles page, superusers are
made with `createsuperuser`: the account form shows both as read-only.
"""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from connections.admin_audit import AuditedAdmin, audited_beat_actions
from connections.models import (
    AuditEvent,
    ChecklistRun,
    Connection,
    Notice,
    NotifierRun,
    OnboardingConfirmation,
    TokenHistory,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the app writes itself, after its checks: browse them here, never add/change/delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = ("label", "base_url", "token_fingerprint", "expires_on", "hosting", "archived_at")
    list_filter = ("hosting",)
    search_fields = ("label", "base_url", "token_name")
    # The ciphertext is never shown.
    fields = ("label", "base_url", "token_name", "expires_on", "token_user", "hosting", "recipients",
              "token_fingerprint", "token_set_at", "created_by", "archived_at")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_name", "action", "object_repr", "summary")
    list_filter = ("action",)
    search_fields = ("actor_name", "object_repr", "summary")


@admin.register(ChecklistRun)
class ChecklistRunAdmin(ReadOnlyAdmin):
    list_display = ("connection", "created_at", "trigger", "state", "overall", "duration_ms")
    list_filter = ("overall", "trigger", "state")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("connection", "kind", "threshold", "channel", "sent_at", "acknowledged_at")
    list_filter = ("kind", "channel")


@admin.register(NotifierRun)
class NotifierRunAdmin(ReadOnlyAdmin):
    list_display = ("job", "started_at", "finished_at", "summary")
    list_filter = ("job",)


@admin.register(TokenHistory)
class TokenHistoryAdmin(ReadOnlyAdmin):
    list_display = ("connection", "token_fingerprint", "set_at", "retired_at", "retired_by",
                    "revoked_confirmed_at")


@admin.register(OnboardingConfirmation)
class OnboardingConfirmationAdmin(ReadOnlyAdmin):
    list_display = ("connection", "step", "value", "confirmed_by", "confirmed_at")


class AccountAdmin(AuditedAdmin, UserAdmin):
    """Accounts (superusers only: the Sysadmin role has no `auth` permissions)."""

    # Roles and admin access follow the Roles page (audited); superusers come from createsuperuser.
    readonly_fields = ("is_superuser", "is_staff", "groups", "user_permissions", "last_login",
                       "date_joined")


class RoleGroupAdmin(ReadOnlyAdmin, GroupAdmin):
    """The three role groups come from migrations; their permissions are not edited here."""


admin.site.unregister(User)
admin.site.register(User, AccountAdmin)
admin.site.unregister(Group)
admin.site.register(Group, RoleGroupAdmin)

# Celery beat's own admin pages, and django-axes' (deleting an attempt unlocks a sign-in), every
# change mirrored into the audit trail.
for _model in (PeriodicTask, CrontabSchedule, IntervalSchedule, SolarSchedule, ClockedSchedule,
               AccessAttempt, AccessFailureLog, AccessLog):
    if _model not in admin.site._registry:
        continue
    _base = type(admin.site._registry[_model])
    admin.site.unregister(_model)
    _extra = audited_beat_actions(_base) if _model is PeriodicTask else {}
    admin.site.register(_model, type(f"Audited{_base.__name__}", (AuditedAdmin, _base), _extra))
