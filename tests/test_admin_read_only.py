"""Django admin: the app's data is read-only, the Sysadmin role has no `auth` permissions, and
what admin still changes (beat schedules, accounts) lands in the audit trail."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from connections.access import SYSADMIN, set_role
from connections.models import AuditEvent, ChecklistRun, Connection, Notice, TokenHistory

APP_MODELS = ["connection", "checklistrun", "notice", "tokenhistory", "auditevent"]


@pytest.fixture
def staff_sam(client, sysadmin, db):
    """Sam as `make run` and the Roles page leave a sysadmin: in the group, with admin access."""
    sysadmin.is_staff = True
    sysadmin.save()
    client.force_login(sysadmin)
    return client


def _app_rows(make_connection):
    zapier = make_connection()
    run = ChecklistRun.start(zapier, trigger="manual")
    history = TokenHistory.objects.create(connection=zapier, token_fingerprint="0badf00d",
                                          set_at=timezone.now())
    notice = Notice.objects.create(connection=zapier, kind="expiring", threshold=7, channel="email",
                                   recipients=["sam@example.com"], token_fingerprint="0badf00d",
                                   summary="7 days left", sent_at=timezone.now())
    event = AuditEvent.objects.record("connection_created", via="cli", connection=zapier)
    return {"connection": zapier, "checklistrun": run, "notice": notice, "tokenhistory": history,
            "auditevent": event}


def test_a_sysadmin_sees_the_apps_records_but_cannot_add_change_or_delete_them(staff_sam, make_connection):
    rows = _app_rows(make_connection)
    for model in APP_MODELS:
        pk = rows[model].pk
        assert staff_sam.get(reverse(f"admin:connections_{model}_changelist")).status_code == 200, model
        assert staff_sam.get(reverse(f"admin:connections_{model}_add")).status_code == 403, model
        assert staff_sam.post(reverse(f"admin:connections_{model}_change", args=[pk]),
                              {"label": "Renamed", "base_url": "http://attacker:9/x"}).status_code == 403
        assert staff_sam.post(reverse(f"admin:connections_{model}_delete", args=[pk]),
                              {"post": "yes"}).status_code == 403, model
        bulk = staff_sam.post(reverse(f"admin:connections_{model}_changelist"),
                              {"action": "delete_selected", "_selected_action": [pk], "post": "yes"})
        assert bulk.status_code in (200, 302), model
    assert Connection.objects.get().label == "Zapier"
    assert Connection.objects.get().base_url == "https://support.example.com"
    assert (ChecklistRun.objects.count(), Notice.objects.count(), TokenHistory.objects.count()) == (1, 1, 1)


def test_not_even_a_superuser_changes_the_apps_records_in_admin(client, make_connection):
    zapier = make_connection()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    response = client.post(reverse("admin:connections_connection_change", args=[zapier.pk]),
                           {"label": "Zapier", "base_url": "ftp://elsewhere.example.com"})
    assert response.status_code == 403
    assert client.post(reverse("admin:connections_connection_delete", args=[zapier.pk]),
                       {"post": "yes"}).status_code == 403
    zapier.refresh_from_db()
    assert zapier.base_url == "https://support.example.com"


def test_the_sysadmin_role_holds_no_auth_permissions_but_keeps_the_schedules(db):
    held = set(Group.objects.get(name=SYSADMIN).permissions.values_list(
        "content_type__app_label", "codename"))
    assert not {perm for perm in held if perm[0] == "auth"}
    assert ("django_celery_beat", "change_periodictask") in held
    assert ("django_celery_beat", "change_crontabschedule") in held
    assert ("connections", "view_connection") in held
    assert ("connections", "change_connection") not in held


def test_a_sysadmin_cannot_edit_users_or_groups_nor_make_anyone_a_superuser(staff_sam, sysadmin, viewer):
    for url in [reverse("admin:auth_user_changelist"), reverse("admin:auth_user_add"),
                reverse("admin:auth_group_changelist"),
                reverse("admin:auth_group_change", args=[Group.objects.get(name=SYSADMIN).pk])]:
        assert staff_sam.get(url).status_code == 403, url
    response = staff_sam.post(reverse("admin:auth_user_change", args=[sysadmin.pk]), {
        "username": "sam", "is_superuser": "on", "is_staff": "on", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    assert response.status_code == 403
    sysadmin.refresh_from_db()
    assert not sysadmin.is_superuser


def test_superusers_come_only_from_createsuperuser_not_the_account_form(client, viewer):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    url = reverse("admin:auth_user_change", args=[viewer.pk])
    form = client.get(url).context["adminform"].form
    assert {"is_superuser", "is_staff", "groups", "user_permissions"}.isdisjoint(form.fields)
    response = client.post(url, {"username": "vic", "email": "vic@example.com", "is_active": "on",
                                 "is_superuser": "on", "is_staff": "on",
                                 "groups": [Group.objects.get(name=SYSADMIN).pk]})
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert not viewer.is_superuser and not viewer.is_staff
    assert list(viewer.groups.values_list("name", flat=True)) == ["Viewer"]
    changed = AuditEvent.objects.get(action="admin_changed")
    assert changed.actor_name == "root" and "vic" in changed.summary


def _form_data(form) -> dict:
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
        if hasattr(field, "widget") and field.widget.__class__.__name__ == "SplitDateTimeWidget":
            data.pop(name)
    return data


def test_a_schedule_changed_in_admin_is_audited(staff_sam):
    task = PeriodicTask.objects.get(name__icontains="expiry")
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    data = _form_data(staff_sam.get(url).context["adminform"].form)
    data["description"] = "moved to 06:00 for the night shift"
    response = staff_sam.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="admin_changed")
    assert event.actor_name == "sam" and task.name in event.summary and "changed" in event.summary
    assert "Description" in event.summary


def test_beats_bulk_actions_are_audited_too(staff_sam):
    task = PeriodicTask.objects.get(name__icontains="expiry")
    response = staff_sam.post(reverse("admin:django_celery_beat_periodictask_changelist"),
                              {"action": "disable_tasks", "_selected_action": [task.pk]})
    assert response.status_code == 302
    task.refresh_from_db()
    assert not task.enabled
    event = AuditEvent.objects.get(action="admin_changed")
    assert event.summary == f"Django admin: periodic task “{task}” disabled"


def test_the_roles_page_still_gives_admin_access_for_schedules(client, sysadmin, viewer):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    set_role(viewer, SYSADMIN, by=sysadmin)
    client.force_login(viewer)
    assert client.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_taking_the_auth_permissions_reverses_cleanly():
    def auth_perms():
        return Group.objects.get(name=SYSADMIN).permissions.filter(content_type__app_label="auth").count()

    assert auth_perms() == 0
    try:
        call_command("migrate", "connections", "0012", verbosity=0)
        assert auth_perms() == Permission.objects.filter(content_type__app_label="auth").count() > 0
    finally:
        call_command("migrate", "connections", verbosity=0)
    assert auth_perms() == 0
