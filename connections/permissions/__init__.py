"""Issuetrak's group permissions: the catalogue (`catalogue`) and the Zapier-style planner (`planner`)."""

from connections.permissions.catalogue import CATALOGUE, CONFLICTS, PREREQUISITES, SECTIONS, name_of
from connections.permissions.planner import Change, Plan, UnknownPermission, effective, plan, violations

__all__ = ["CATALOGUE", "CONFLICTS", "PREREQUISITES", "SECTIONS", "Change", "Plan", "UnknownPermission",
           "effective", "name_of", "plan", "violations"]
