"""Who may do what: roles are Django groups; every view asks here first."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404

from connections.choices import AuditAction
from connections.models import AuditEvent, Connection
from connections.models.connection import ARCHIVED_REFUSAL

SYSADMIN = "Sysadmin"
ONBOARDING = "Onboarding"
VIEWER = "Viewer"
ROLES = (SYSADMIN, ONBOARDING, VIEWER)


def roles_of(user) -> set[str]:
    """The role names a user holds (a superuser is a Sysadmin)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    if not hasattr(user, "_issuetrak_roles"):
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(SYSADMIN)
        user._issuetrak_roles = names
    return user._issuetrak_roles


def primary_role(user) -> str:
    """The one role shown for a user (the most powerful they hold), or ""."""
    names = {g.name for g in user.groups.all()} | ({SYSADMIN} if user.is_superuser else set())
    return next((role for role in ROLES if role in names), "")


def set_role(user, role: str, *, by) -> None:
    """Give a user exactly this role (or none), and record it in the audit trail."""
    before = primary_role(user)
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    if not user.is_superuser:  # Sysadmins change schedules and accounts in Django admin
        user.is_staff = role == SYSADMIN
        user.save(update_fields=["is_staff"])
    AuditEvent.objects.record(AuditAction.ROLE_CHANGED, actor=by, object_repr=user.get_username(),
                              summary=f"{user.get_username()}: {before or 'no role'} → {role or 'no role'}")


def sysadmin_addresses() -> list[str]:
    """The e-mail addresses of active sysadmins (where notices go when nobody else is named)."""
    users = get_user_model().objects.filter(Q(is_superuser=True) | Q(groups__name=SYSADMIN),
                                            is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def is_sysadmin(user) -> bool:
    return SYSADMIN in roles_of(user)


def can_run_checklist(user) -> bool:
    return bool(roles_of(user) & {SYSADMIN, ONBOARDING})


def require_role(user, *allowed: str) -> None:
    """Raise PermissionDenied unless the user holds one of the allowed roles."""
    if not roles_of(user) & set(allowed or ROLES):
        raise PermissionDenied


def get_connection_for(request, public_id, *, manage: bool = False, run: bool = False,
                       active: bool = False):
    """The connection behind a URL, or 404; 403 when the user's role may not do this to it,
    or when `active` (a page that changes it) and the connection is archived."""
    if manage:
        require_role(request.user, SYSADMIN)
    elif run:
        require_role(request.user, SYSADMIN, ONBOARDING)
    else:
        require_role(request.user, *ROLES)
    connection = get_object_or_404(Connection, public_id=public_id)
    if active and connection.is_archived:
        raise PermissionDenied(ARCHIVED_REFUSAL.format(label=connection.label))
    return connection
