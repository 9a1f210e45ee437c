"""Connection pages: thin views that look up, call one verb, message and redirect."""


from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django_htmx.http import HttpResponseClientRedirect

from connections import onboarding, test_notice
from connections.access import (
    ONBOARDING,
    ROLES,
    SYSADMIN,
    can_run_checklist,
    get_connection_for,
    is_sysadmin,
    primary_role,
    require_role,
    set_role,
    sysadmin_addresses,
)
from connections.choices import AuditAction, Channel, StepStatus
from connections.forms import AcknowledgeForm, ConnectionForm, RotateForm
from connections.listing import AuditFilters, ListFilters
from connections.models import CheckBatch, Notice, RestoreRefused, RotationRefused
from connections.notifier_watch import notifier_status_for
from connections.repair.diagnosis import explain
from connections.tasks import queue_batch, queue_run

RUNS_PAGE_SIZE = 20


def connection_list(request):
    require_role(request.user, *ROLES)
    listing = ListFilters(request.GET)
    return render(request, "connections/list.html", {
        "page": listing.page(), "listing": listing, "show_archived": listing.archived,
        "can_manage": is_sysadmin(request.user), "notifier": notifier_status_for(request),
        "can_add": can_run_checklist(request.user),
    })


@sensitive_post_parameters("token")
def connection_add(request):
    """Sysadmins add a connection with its token; onboarding staff add one without, and start
    on its onboarding checklist (a sysadmin stores the token later with "Store the token")."""
    require_role(request.user, SYSADMIN, ONBOARDING)
    sysadmin = is_sysadmin(request.user)
    default_notify = [request.user.email] if request.user.email else sysadmin_addresses()
    form = ConnectionForm(request.POST or None, default_notify=default_notify, with_token=sysadmin)
    if request.method == "POST" and form.is_valid():
        form.instance.created_by = request.user
        connection = form.save(actor=request.user)
        messages.success(request, f"Connection “{connection.label}” saved.")
        if "and_test" in request.POST:
            return _saved(request, _test_now(request, connection))
        if not sysadmin:
            return _saved(request, reverse("connections:onboarding", args=[connection.public_id]))
        return _saved(request, connection.get_absolute_url())
    return render(request, "connections/form.html", {"form": form, "connection": None})


def connection_detail(request, public_id):
    connection = get_connection_for(request, public_id)
    latest = connection.runs.select_related("started_by").first()
    return render(request, "connections/detail.html", {
        "connection": connection,
        "can_manage": is_sysadmin(request.user),
        "can_run": can_run_checklist(request.user),
        "run": latest,
        "rows": latest.rows() if latest else [],
        "diagnosis": explain(latest),
        "recent_runs": connection.runs.select_related("started_by")[:5],
        "notices": connection.notices.select_related("acknowledged_by")
        .filter(channel=Channel.EMAIL)[:10],
        "ack_form": AcknowledgeForm(),
        "webhook_on": bool(settings.EXPIRY_WEBHOOK_URL),
    })


@sensitive_post_parameters("token")  # not a field here, but a crafted POST may carry one
def connection_edit(request, public_id):
    connection = get_connection_for(request, public_id, manage=True, active=True)
    form = ConnectionForm(request.POST or None, instance=connection)
    if request.method == "POST" and form.is_valid():
        form.save(actor=request.user)
        messages.success(request, f"Connection “{connection.label}” updated.")
        if "and_test" in request.POST:
            return _saved(request, _test_now(request, connection))
        return _saved(request, connection.get_absolute_url())
    return render(request, "connections/form.html", {"form": form, "connection": connection})


def _saved(request, url: str):
    """After a saved form: a redirect, or for a form htmx submitted, a full-page navigation."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _test_now(request, connection) -> str:
    """Queue a checklist run ("Save & test") and return its live page."""
    run = queue_run(connection, by=request.user)
    messages.info(request, "Checklist queued: the steps fill in below as the site answers.",
                  extra_tags="run-queued")  # removed from the page once the run ends
    return reverse("connections:run", args=[connection.public_id, run.public_id])


def connection_archive(request, public_id):
    connection = get_connection_for(request, public_id, manage=True, active=True)
    if request.method == "POST":
        connection.archive(by=request.user)
        messages.success(request, f"Connection “{connection.label}” archived.")
        return redirect("connections:list")
    return render(request, "connections/confirm_archive.html", {"connection": connection})


def connection_restore(request, public_id):
    """A sysadmin brings an archived connection back (POST only; refused if its label is taken)."""
    connection = get_connection_for(request, public_id, manage=True)
    if request.method != "POST":
        return redirect(connection)
    try:
        connection.restore(by=request.user)
    except RestoreRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Connection “{connection.label}” restored: it is checked and "
                                  "watched for expiry again.")
    return redirect(connection)


def start_run(request, public_id):
    """Queue a checklist run (POST) and show it filling in."""
    connection = get_connection_for(request, public_id, run=True, active=True)
    if request.method != "POST":
        return redirect(connection)
    return redirect(_test_now(request, connection))


def check_all(request):
    """Check every connection on the (filtered) list as one batch, then watch it fill in."""
    require_role(request.user, SYSADMIN, ONBOARDING)
    if request.method != "POST":
        return redirect("connections:list")
    params = request.POST.copy()
    params.pop("archived", None)  # archived connections are never checked
    listing = ListFilters(params)
    scope = listing.query_string(sort="") or "all active"
    batch = queue_batch(listing.queryset(), by=request.user, scope=scope)
    return redirect("connections:batch", batch_id=batch.public_id)


def batch_detail(request, batch_id):
    """A "Check all": a progress bar htmx polls until every run has ended."""
    require_role(request.user, *ROLES)
    batch = get_object_or_404(CheckBatch.objects.select_related("created_by"), public_id=batch_id)
    failures = batch.runs.filter(overall=StepStatus.FAIL).select_related("connection")[:100]
    context = {"batch": batch, "failures": failures}
    if request.htmx:
        return render(request, "connections/_batch_progress.html", context)
    return render(request, "connections/batch.html", context)


def send_test_notice(request, public_id):
    """Send a test notice to the connection's recipients and webhook; say how each went."""
    connection = get_connection_for(request, public_id, manage=True, active=True)
    if request.method == "POST":
        for delivery in test_notice.send(connection, by=request.user):
            if delivery.ok:
                messages.success(request, f"Test notice delivered to {delivery.target}.")
            else:
                messages.error(request, f"Test notice to {delivery.target} failed: {delivery.error}")
    return redirect(reverse("connections:detail", args=[connection.public_id]) + "#notices")


def run_detail(request, public_id, run_id):
    """One run; htmx polls the steps partial until the run is done."""
    connection = get_connection_for(request, public_id)
    run = get_object_or_404(connection.runs.select_related("started_by"), public_id=run_id)
    context = {"connection": connection, "run": run, "rows": run.rows()}
    if request.htmx:
        return render(request, "connections/_run_steps.html", context)
    return render(request, "connections/run.html", context)


def run_history(request, public_id):
    connection = get_connection_for(request, public_id)
    runs = connection.runs.select_related("started_by")
    page = Paginator(runs, RUNS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "connections/history.html", {"connection": connection, "page": page})


def acknowledge_notice(request, public_id, notice_id):
    """A sysadmin notes that rotation is planned; the notice is not repeated, the next still fires."""
    connection = get_connection_for(request, public_id, manage=True, active=True)
    notice = get_object_or_404(Notice, pk=notice_id, connection=connection)
    form = AcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.acknowledge(notice, by=request.user)
        messages.success(request, "Notice acknowledged.")
    elif request.method == "POST":
        messages.error(request, " ".join(form.errors.get("planned_on", ["Check the date."])))
    return redirect(connection)


@sensitive_post_parameters("token")
def rotate(request, public_id):
    """Paste a new token (optionally with a new Base URL); it is proved on the site before it
    replaces the old one."""
    connection = get_connection_for(request, public_id, manage=True, active=True)
    if request.method != "POST" and not connection.has_token:
        return redirect("connections:store_token", public_id=connection.public_id)
    return _token_page(request, connection, storing=False)


@sensitive_post_parameters("token")
def store_token(request, public_id):
    """A connection's first token, through the same check (there is no old token to revoke)."""
    connection = get_connection_for(request, public_id, manage=True, active=True)
    if request.method != "POST" and connection.has_token:
        return redirect("connections:rotate", public_id=connection.public_id)
    return _token_page(request, connection, storing=True)


def _token_page(request, connection, *, storing: bool):
    initial = {"token_name": connection.token_name,
               "expected_fingerprint": connection.token_fingerprint}
    form = RotateForm(request.POST or None, initial=initial, storing=storing)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            rotation = form.rotate(connection, by=request.user)
        except RotationRefused as exc:
            refused = exc
        else:
            messages.success(request, rotation.message())
            return _saved(request, rotation.connection.get_absolute_url())
    return render(request, "connections/rotate.html", {
        "connection": connection, "form": form, "refused": refused, "storing": storing,
        "rows": refused.results if refused else [],
        "history": connection.token_history.select_related("retired_by")[:20],
    })


def audit_trail(request):
    """Sysadmins browse and filter the audit trail; nobody can change it."""
    require_role(request.user, SYSADMIN)
    trail = AuditFilters(request.GET)
    return render(request, "connections/audit.html", {
        "page": trail.page(), "filters": trail.values, "actions": AuditAction.choices,
        "query": trail.query_string(),
    })


def roles(request):
    """Sysadmins give each account one role."""
    require_role(request.user, SYSADMIN)
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    if request.method == "POST":
        user = get_object_or_404(users, pk=request.POST.get("user"))
        role = request.POST.get("role", "")
        if role not in (*ROLES, "") or user == request.user:
            messages.error(request, "Choose one of the roles; you cannot change your own.")
        else:
            set_role(user, role, by=request.user)
            messages.success(request, f"{user.get_username()} is now {role or 'without a role'}.")
        return redirect("roles")
    rows = [{"user": u, "role": primary_role(u)} for u in users.prefetch_related("groups")]
    return render(request, "connections/roles.html", {"rows": rows, "roles": ROLES})


def onboarding_page(request, public_id):
    connection = get_connection_for(request, public_id)
    states = onboarding.progress(connection)
    done = sum(state.done for state in states)
    return render(request, "connections/onboarding.html", {
        "connection": connection, "states": states, "done": done, "total": len(states),
        "can_confirm": can_run_checklist(request.user), "run": onboarding.latest_run(connection),
        "can_fix": is_sysadmin(request.user) and not connection.is_archived,
    })


def onboarding_confirm(request, public_id, step):
    connection = get_connection_for(request, public_id, run=True, active=True)
    if request.method == "POST":
        try:
            onboarding.confirm(connection, step, by=request.user, value=request.POST.get("value", ""))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Step confirmed.")
    return redirect(reverse("connections:onboarding", args=[connection.public_id]) + f"#onboarding-{step}")


@login_not_required
def favicon(request):
    """Browsers ask for /favicon.ico on pages without a <link rel="icon"> (/health/, the admin)."""
    return redirect(static("favicon.svg"), permanent=True)
