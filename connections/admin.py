"""Django admin: connections are listed and editable, the token never readable."""

from django.contrib import admin

from connections.models import (
    AuditEvent,
    ChecklistRun,
    Connection,
    Notice,
    NotifierRun,
    OnboardingConfirmation,
    TokenHistory,
)


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("label", "base_url", "token_fingerprint", "expires_on", "hosting", "archived_at")
    list_filter = ("hosting",)
    search_fields = ("label", "base_url", "token_name")
    # The ciphertext is never shown; tokens are set through the app's form or the CLI.
    fields = ("label", "base_url", "token_name", "expires_on", "token_user", "hosting", "recipients",
              "token_fingerprint", "token_set_at", "created_by", "archived_at")
    readonly_fields = ("token_fingerprint", "token_set_at", "created_by", "archived_at")

    def has_add_permission(self, request):
        return False  # adding needs a token, which only the app's form and CLI take


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail cannot be edited or deleted, here or anywhere in the app."""

    list_display = ("created_at", "actor_name", "action", "object_repr", "summary")
    list_filter = ("action",)
    search_fields = ("actor_name", "object_repr", "summary")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the app itself: browse them here, change them through the app."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
