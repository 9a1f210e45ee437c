"""What Django admin still changes (beat schedules; accounts, for superusers) goes into the audit trail.

Admin calls `log_addition` / `log_change` / `log_deletions` for every form save and delete; the
mixin mirrors each into an `admin_changed` audit row. Beat's bulk actions (enable, disable, toggle,
run now) write with `queryset.update` and log nothing, so they are wrapped one by one.
"""

import functools

from django.contrib import admin

from connections.choices import AuditAction
from connections.models import AuditEvent


def _record(request, model, names: list[str], verb: str, detail: str = "") -> None:
    kind = model._meta.verbose_name
    shown = ", ".join(f"“{n}”" for n in names)
    AuditEvent.objects.record(
        AuditAction.ADMIN_CHANGED, actor=request.user, object_repr=", ".join(names),
        summary=f"Django admin: {kind} {shown} {verb}" + (f" ({detail})" if detail else ""))


class AuditedAdmin:
    """ModelAdmin mixin: every add, change and delete made in admin gets an audit row."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        _record(request, type(obj), [str(obj)], "added")
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        _record(request, type(obj), [str(obj)], "changed", entry.get_change_message())
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        _record(request, self.model, [str(obj) for obj in queryset], "deleted")
        return entries


def _audited_action(method, verb: str):
    @functools.wraps(method)
    def action(self, request, queryset):
        names = [str(obj) for obj in queryset]  # before the update changes what matches
        response = method(self, request, queryset)
        _record(request, self.model, names, verb)
        return response

    return admin.action(description=method.short_description)(action)


def audited_beat_actions(periodic_task_admin) -> dict:
    """Audited replacements for django-celery-beat's bulk actions on periodic tasks."""
    verbs = {"enable_tasks": "enabled", "disable_tasks": "disabled", "toggle_tasks": "toggled",
             "run_tasks": "run now"}
    return {name: _audited_action(getattr(periodic_task_admin, name), verb)
            for name, verb in verbs.items() if hasattr(periodic_task_admin, name)}
