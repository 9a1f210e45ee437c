"""Roles are enforced on the server for every view; every change lands in the audit trail."""

import uuid

import pytest
from django.urls import reverse

from connections.choices import AuditAction
from connections.models import AuditEvent, CheckBatch, ChecklistRun, Notice

ANY = uuid.UUID(int=1)


def urls_for(connection, notice):
    c = connection.public_id
    run = ChecklistRun.check_now(connection)
    batch, _runs = CheckBatch.start([connection], trigger="cli", claim=True)
    return {
        # name: (url, methods allowed per role)
        "list": reverse("connections:list"),
        "permissions": reverse("connections:permissions"),
        "detail": reverse("connections:detail", args=[c]),
        "history": reverse("connections:history", args=[c]),
        "run": reverse("connections:run", args=[c, run.public_id]),
        "onboarding": reverse("connections:onboarding", args=[c]),
        "add": reverse("connections:add"),
        "edit": reverse("connections:edit", args=[c]),
        "archive": reverse("connections:archive", args=[c]),
        "restore": reverse("connections:restore", args=[c]),
        "rotate": reverse("connections:rotate", args=[c]),
        "store_token": reverse("connections:store_token", args=[c]),
        "fix_permissions": reverse("connections:fix_permissions", args=[c]),
        "acknowledge": reverse("connections:acknowledge", args=[c, notice.pk]),
        "check": reverse("connections:check", args=[c]),
        "check_all": reverse("connections:check_all"),
        "batch": reverse("connections:batch", args=[batch.public_id]),
        "test_notice": reverse("connections:test_notice", args=[c]),
        "confirm": reverse("connections:onboarding_confirm", args=[c, "version"]),
        "audit": reverse("connections:audit"),
        "roles": reverse("roles"),
    }


READ = {"list", "permissions", "detail", "history", "run", "onboarding", "batch"}
RUN = {"check", "confirm", "check_all"}
MANAGE = {"add", "edit", "archive", "restore", "rotate", "store_token", "fix_permissions", "acknowledge",
          "audit", "roles", "test_notice"}
POSTED = RUN | {"acknowledge", "restore", "test_notice"}


@pytest.mark.parametrize("role", ["sysadmin", "onboarding_clerk", "viewer", "nobody"])
def test_every_view_answers_each_role_as_its_role_allows(role, client, request, make_connection,
                                                          simulator, django_user_model):
    person = (django_user_model.objects.create_user("nobody", password="x") if role == "nobody"
              else request.getfixturevalue(role))
    zapier = make_connection(token="good-token", base_url=simulator.site_url("healthy"))
    notice = Notice.objects.create(connection=zapier, token_fingerprint=zapier.token_fingerprint,
                                   kind="expiring", threshold=7, channel="email", summary="x")
    allowed = {"sysadmin": READ | RUN | MANAGE, "onboarding_clerk": READ | RUN | {"add"},
               "viewer": READ, "nobody": set()}[role]
    client.force_login(person)
    for name, url in urls_for(zapier, notice).items():
        method = client.post if name in POSTED else client.get
        status = method(url).status_code
        if name in allowed:
            assert status in (200, 302), f"{role} should reach {name}, got {status}"
        else:
            assert status == 403, f"{role} must be refused {name}, got {status}"


def test_buttons_a_role_cannot_use_are_hidden(client, onboarding_clerk, make_connection):
    zapier = make_connection()
    client.force_login(onboarding_clerk)
    page = client.get(zapier.get_absolute_url()).content.decode()
    assert "Rotate token" not in page and "Archive" not in page and "Edit" not in page
    assert "Run checklist" in page


def test_changes_are_audited_with_field_names_but_never_token_values(sam_client, sysadmin, make_connection):
    sam_client.post(reverse("connections:add"), {
        "label": "Zapier", "base_url": "https://x.example.com", "token": "super-secret-value",
        "hosting": "self_hosted", "notify": "sam@example.com"})
    from connections.models import Connection

    zapier = Connection.objects.get()
    sam_client.post(reverse("connections:edit", args=[zapier.public_id]), {
        "label": "Zapier", "base_url": "https://x.example.com/issuetrak",
        "token": "another-secret-value", "hosting": "self_hosted", "notify": "sam@example.com"})
    sam_client.post(reverse("connections:archive", args=[zapier.public_id]))
    events = list(AuditEvent.objects.order_by("pk").values_list("action", "actor_name", "summary"))
    assert [e[0] for e in events] == ["connection_created", "connection_edited", "connection_archived"]
    assert all(e[1] == "sam" for e in events)
    assert "Base URL" in events[1][2] and "API Token" not in events[1][2]
    assert "secret" not in repr(events)


def test_failed_sign_ins_and_role_changes_are_audited(client, sam_client, viewer):
    client.post(reverse("login"), {"username": "vic", "password": "wrong-password"})
    failed = AuditEvent.objects.get(action="login_failed")
    assert "vic" in failed.summary and "wrong-password" not in failed.summary

    sam_client.post(reverse("roles"), {"user": viewer.pk, "role": "Onboarding"})
    changed = AuditEvent.objects.get(action="role_changed")
    assert changed.summary == "vic: Viewer → Onboarding" and changed.actor_name == "sam"
    assert viewer.groups.get().name == "Onboarding"


def test_the_trail_can_be_filtered_and_not_changed(sam_client, make_connection, django_user_model):
    make_connection().archive()
    page = sam_client.get(reverse("connections:audit"), {"action": "connection_archived"}).content.decode()
    assert "Connection archived" in page
    page = sam_client.get(reverse("connections:audit"), {"action": "token_rotated"}).content.decode()
    assert "Nothing recorded matches" in page
    event = AuditEvent.objects.get()
    sam_client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw"))
    assert sam_client.post(reverse("admin:connections_auditevent_delete", args=[event.pk])).status_code == 403
    assert sam_client.post(reverse("admin:connections_auditevent_change", args=[event.pk]),
                           {"summary": "rewritten"}).status_code == 403
    event.refresh_from_db()
    assert event.summary != "rewritten"


def test_the_audit_trail_pages_keep_the_filter(sam_client):
    for n in range(55):
        AuditEvent.objects.record(AuditAction.CONNECTION_EDITED, via="cli", summary=f"Change {n}")
    AuditEvent.objects.record(AuditAction.ROLE_CHANGED, via="cli", summary="Not this one")
    page = sam_client.get(reverse("connections:audit"), {"action": "connection_edited"}).content.decode()
    assert "Change 54" in page and "Change 4<" not in page and "Not this one" not in page
    assert 'href="?action=connection_edited&page=last"' in page
    older = page.split('href="?action=connection_edited&after=')[1].split('"')[0]
    page = sam_client.get(reverse("connections:audit"),
                          {"action": "connection_edited", "after": older}).content.decode()
    assert "Change 4<" in page and "Change 5<" not in page and "Not this one" not in page
