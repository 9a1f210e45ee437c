"""The permission repair: plan (`planning`) and apply (`applying`) the API calls that make a
connection's token user an administrator, with a Sys Admin's token typed for this one action."""

from connections.repair import permission_fix
from connections.repair.applying import Applied, apply_plan
from connections.repair.planning import GROUP_NAME, Call, Option, Planner, RepairError, RepairPlan

__all__ = ["GROUP_NAME", "Applied", "Call", "Option", "Planner", "RepairError", "RepairPlan", "apply_plan",
           "permission_fix"]
