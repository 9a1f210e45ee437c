"""Django admin: connections are listed and editable, the token never readable."""

from django.contrib import admin

from connections.models import AuditEvent, Connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("label", "base_url", "token_fingerprint", "expires_on", "hosting", "archived_at")
    list_filter = ("hosting",)
    search_fields = ("label", "base_url", "token_name")
    # The ciphertext is never shown; tokens are set through the app's form or the CLI.
    fields = ("label", "base_url", "token_name", "expires_on", "token_user", "hosting", "notify",
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
