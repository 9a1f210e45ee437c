"""The permission planner page: Issuetrak's 60 group permissions as checkboxes, the plan live."""

from django.shortcuts import render

from connections.access import ROLES, require_role
from connections.permissions import CATALOGUE, CONFLICTS, PREREQUISITES, SECTIONS, plan
from connections.permissions.catalogue import OVERRIDES

FIELD = "permission"


def permission_planner(request):
    """Every role may read it; htmx asks for the plan partial whenever a box changes."""
    require_role(request.user, *ROLES)
    chosen = request.GET.getlist(FIELD)
    unknown = sorted({value for value in chosen if value not in CATALOGUE})
    requested = {value for value in chosen if value in CATALOGUE}
    context = {"plan": plan(requested), "requested": requested, "unknown": unknown, "field": FIELD}
    if request.htmx:
        return render(request, "connections/_permission_plan.html", context)
    sections = [(name, [CATALOGUE[v] for v in values]) for name, values in SECTIONS.items()]
    return render(request, "connections/permissions.html", context | {
        "sections": sections, "prerequisites": PREREQUISITES, "conflicts": CONFLICTS, "overrides": OVERRIDES,
    })
