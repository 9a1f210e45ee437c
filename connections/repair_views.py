"""The permission repair page (sysadmins only): type a Sys Admin's token, review the plan, apply it."""

from django.contrib import messages
from django.shortcuts import render

from connections.access import get_connection_for
from connections.choices import Trigger
from connections.forms import RepairForm
from connections.repair import RepairError, permission_fix

APPLY = "apply"


def fix_permissions(request, public_id):
    """GET: the form. POST: the plan (a dry run), or with action=apply the reviewed plan applied."""
    connection = get_connection_for(request, public_id, manage=True)
    form = RepairForm(request.POST or None)
    context = {"connection": connection, "outcome": None}
    if request.method == "POST" and form.is_valid():
        data, apply = form.cleaned_data, request.POST.get("action") == APPLY
        try:
            outcome = permission_fix.run(
                connection, data["admin_token"], apply=apply, trigger=Trigger.BROWSER, by=request.user,
                remove_readonly_override=data["remove_readonly_override"],
                reactivate_user=data["reactivate_user"], reviewed=data["reviewed"] if apply else None)
        except RepairError as refused:
            form.add_error(None, str(refused))
        else:
            context["outcome"] = outcome
            if outcome.stale:
                messages.warning(request, "The site changed since you reviewed the plan: nothing was "
                                 "applied. Review the new plan below.")
            kept = {key: data[key] for key in ("remove_readonly_override", "reactivate_user")}
            form = RepairForm(initial=kept | {"reviewed": outcome.digest})
    context["form"] = form
    return render(request, "connections/fix_permissions.html", context)
