"""Connection pages: thin views that look up, call one verb, message and redirect."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from connections.access import ROLES, SYSADMIN, get_connection_for, is_sysadmin, require_role
from connections.forms import ConnectionForm
from connections.models import Connection

PAGE_SIZE = 50


def connection_list(request):
    require_role(request.user, *ROLES)
    show_archived = request.GET.get("archived") == "1"
    queryset = Connection.objects.filter(archived_at__isnull=not show_archived)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "connections/list.html",
        {"page": page, "show_archived": show_archived, "can_manage": is_sysadmin(request.user)},
    )


def connection_add(request):
    require_role(request.user, SYSADMIN)
    default_notify = [request.user.email] if request.user.email else []
    form = ConnectionForm(request.POST or None, default_notify=default_notify)
    if request.method == "POST" and form.is_valid():
        form.instance.created_by = request.user
        connection = form.save()
        messages.success(request, f"Connection “{connection.label}” saved.")
        return redirect(connection)
    return render(request, "connections/form.html", {"form": form, "connection": None})


def connection_detail(request, public_id):
    connection = get_connection_for(request, public_id)
    return render(
        request,
        "connections/detail.html",
        {"connection": connection, "can_manage": is_sysadmin(request.user)},
    )


def connection_edit(request, public_id):
    connection = get_connection_for(request, public_id, manage=True)
    form = ConnectionForm(request.POST or None, instance=connection)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Connection “{connection.label}” updated.")
        return redirect(connection)
    return render(request, "connections/form.html", {"form": form, "connection": connection})


def connection_archive(request, public_id):
    connection = get_connection_for(request, public_id, manage=True)
    if request.method == "POST":
        connection.archive(by=request.user)
        messages.success(request, f"Connection “{connection.label}” archived.")
        return redirect("connections:list")
    return render(request, "connections/confirm_archive.html", {"connection": connection})
