"""Issuetrak's 60 group permissions and the rules between them, as data.

Every value of the OpenAPI `Permissions` enum is here once, with the name Issuetrak's screens
give it. Only seven names are published (in the OpenAPI document or the "Using Zapier with
Issuetrak" help article); the others are derived from the enum name and say so (`name_source`).
The screen's sections are not published either: `SECTIONS` groups the values the way the
permission screen reads (administration first, then issues, modules, notifications), which is
our reading of the enum, not a copy of the screen.

A rule carries the sentence it comes from (paraphrased). The raw API refuses a set that breaks
a rule (400); Zapier repairs it. `connections.permissions.planner` applies the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPENAPI = "Issuetrak API v2 OpenAPI document"
API_NOTES = "Issuetrak API v2 facts (shared/issuetrak-api-v2.md)"
HELP_ARTICLE = "Issuetrak help article \"Using Zapier with Issuetrak\""
DERIVED = "derived from the enum name"


@dataclass(frozen=True)
class Permission:
    """One enum value, its name on Issuetrak's screens, and where that name comes from."""

    value: str
    name: str
    name_source: str
    section: str
    agent_only: bool | None = None  # None: not known from our sources

    @property
    def derived(self) -> bool:
        return self.name_source == DERIVED


@dataclass(frozen=True)
class Prerequisite:
    """`permission` may be granted only together with `requires`."""

    permission: str
    requires: str
    source: str
    sentence: str


@dataclass(frozen=True)
class Conflict:
    """`higher` and `lower` cannot be granted together; a repair keeps `higher`."""

    higher: str
    lower: str
    source: str
    sentence: str


# The `Permissions` enum of the OpenAPI document, in its order (60 values). A test checks that
# this copy still matches the document.
ENUM = (
    "CanManageBilling", "CanManageAssets", "CanManageSurveys", "CanManageProjects",
    "CanManageUsersInOrganization", "CanAssignIssues", "CanBeAssignedIssues",
    "CanSelfAssignIssuesInUnassignedQueue", "CanSubmitIssuesOnBehalfOfOthers", "IsAdmin",
    "CanAssignNextActionOnIssues", "CanBeAssignedNextActionOnIssues", "IsReadOnlyAdmin",
    "ReadOnlyAccessToAssets", "CanInteractWithPrivateNotesOnIssues",
    "CanInteractWithPrivateUserDefinedFieldsOnIssues", "CanSelectPrivateIssueTemplates",
    "CanViewAssignmentInformationInIssuesAndEmailNotifications", "CanSeeIssuesSubmittedByOthers",
    "CanViewPrivateKnowledgeBaseArticles", "CanMaintainKnowledgeBaseArticles",
    "CanMaintainKnowledgeBaseCategories", "CanMaintainCustomRecordTableRecords", "CanChangePassword",
    "ShouldBeNotifiedOfAllIssueEscalations", "ShouldBeNotifiedOfAllUnassignedIssueSubmissions",
    "ShouldBeNotifiedOfAllIssueNotes", "CanAddNotesOnClosedIssues", "CanCloseIssues",
    "ShouldRestrictAbilityToCloseIssuesToThoseSubmittedByThisUser", "CanDeleteIssuesAndTheirAttachments",
    "CanEditIssues", "CanEnterLaborHoursViaIssueNotesAndCompletedTasks", "CanEnterBillingLineItemsOnIssues",
    "CanSetIssueSubmittedDateWhenSubmittingIssues", "CanEditIssueClosedDate",
    "CanEditFirstResponseTimeForIssues", "CanSelectPriorityOnIssues", "CanSelectSeverityOnIssues",
    "CanSelectSubstatusOnIssues", "CanSelectAssetOnIssues", "CanSelectIssueTemplatesWhenSubmittingIssues",
    "CanViewCalendar", "CanViewDashboard", "CanViewKnowledgeBase", "CanViewIssueHub", "CanViewProjects",
    "CanViewReports", "CanViewSearchIssues", "CanViewSubmitIssue", "CanMaintainSharedSavedSearches",
    "CanMaintainReportWriterReportsAndQueries", "CanRunSummaryReports", "SuppressAllEmail",
    "CanAssignTasks", "CanBeAssignedTasks", "CanViewTasksInIssues", "CanEditTasksInIssues", "CanUseApiV2",
    "CanUseQuickNotes",
)  # fmt: skip

@dataclass(frozen=True)
class Override:
    """In a user's combined permissions, `overriding` cancels `cancelled` (unlike a group repair)."""

    overriding: str
    cancelled: str
    source: str
    sentence: str


# The published names: value → (name, source).
_PUBLISHED = {
    "IsAdmin": ("Can access and maintain Administration functions", HELP_ARTICLE),
    "IsReadOnlyAdmin": ("Allowed Read Only access to Administration information", HELP_ARTICLE),
    "CanManageAssets": ("Can access and maintain Asset Management Module functions", HELP_ARTICLE),
    "ReadOnlyAccessToAssets": ("Allowed Read Only access to Asset Management information", HELP_ARTICLE),
    "CanUseApiV2": ("Can authenticate with the API v2", OPENAPI),
    "CanBeAssignedIssues": ("Can be assigned Issues", HELP_ARTICLE),
    "CanViewAssignmentInformationInIssuesAndEmailNotifications": (
        "Can view Assigned To information in Issues and email notifications", HELP_ARTICLE),
}

# Section → its values, in the enum's order within each section.
SECTIONS: dict[str, tuple[str, ...]] = {
    "Administration": ("IsAdmin", "IsReadOnlyAdmin", "CanManageUsersInOrganization", "CanUseApiV2"),
    "Asset Management": ("CanManageAssets", "ReadOnlyAccessToAssets", "CanSelectAssetOnIssues"),
    "Issue assignment": (
        "CanAssignIssues", "CanBeAssignedIssues", "CanSelfAssignIssuesInUnassignedQueue",
        "CanAssignNextActionOnIssues", "CanBeAssignedNextActionOnIssues",
        "CanViewAssignmentInformationInIssuesAndEmailNotifications"),
    "Issue submission": (
        "CanSubmitIssuesOnBehalfOfOthers", "CanSelectPrivateIssueTemplates",
        "CanSetIssueSubmittedDateWhenSubmittingIssues", "CanSelectPriorityOnIssues",
        "CanSelectSeverityOnIssues", "CanSelectSubstatusOnIssues",
        "CanSelectIssueTemplatesWhenSubmittingIssues"),
    "Issue editing and closing": (
        "CanInteractWithPrivateNotesOnIssues", "CanInteractWithPrivateUserDefinedFieldsOnIssues",
        "CanSeeIssuesSubmittedByOthers", "CanAddNotesOnClosedIssues", "CanCloseIssues",
        "ShouldRestrictAbilityToCloseIssuesToThoseSubmittedByThisUser",
        "CanDeleteIssuesAndTheirAttachments", "CanEditIssues",
        "CanEnterLaborHoursViaIssueNotesAndCompletedTasks", "CanEnterBillingLineItemsOnIssues",
        "CanEditIssueClosedDate", "CanEditFirstResponseTimeForIssues", "CanUseQuickNotes"),
    "Tasks": ("CanAssignTasks", "CanBeAssignedTasks", "CanViewTasksInIssues", "CanEditTasksInIssues"),
    "Knowledge Base": (
        "CanViewPrivateKnowledgeBaseArticles", "CanMaintainKnowledgeBaseArticles",
        "CanMaintainKnowledgeBaseCategories"),
    "Modules": (
        "CanManageBilling", "CanManageSurveys", "CanManageProjects",
        "CanMaintainCustomRecordTableRecords"),
    "Menu access": (
        "CanViewCalendar", "CanViewDashboard", "CanViewKnowledgeBase", "CanViewIssueHub",
        "CanViewProjects", "CanViewReports", "CanViewSearchIssues", "CanViewSubmitIssue"),
    "Searches and reports": (
        "CanMaintainSharedSavedSearches", "CanMaintainReportWriterReportsAndQueries",
        "CanRunSummaryReports"),
    "E-mail and notifications": (
        "ShouldBeNotifiedOfAllIssueEscalations", "ShouldBeNotifiedOfAllUnassignedIssueSubmissions",
        "ShouldBeNotifiedOfAllIssueNotes", "SuppressAllEmail"),
    "Account": ("CanChangePassword",),
}  # fmt: skip

# Known to need an agent account; the rest are not known either way from our sources.
AGENT_ONLY: dict[str, str] = {
    "CanUseApiV2": "API tokens are created for Issuetrak agent accounts (OpenAPI, Authentication).",
    "IsAdmin": "A token for Zapier must represent an agent account holding Sys Admin or this "
               "permission (help article, Create an API Token).",
}

PREREQUISITES: tuple[Prerequisite, ...] = (
    Prerequisite(
        "CanBeAssignedIssues", "CanViewAssignmentInformationInIssuesAndEmailNotifications", HELP_ARTICLE,
        "Creating a group with \"Can be assigned Issues\" but without \"Can view Assigned To information "
        "in Issues and email notifications\" is a validation error; Zapier grants the latter for you."),
)

CONFLICTS: tuple[Conflict, ...] = (
    Conflict(
        "IsAdmin", "IsReadOnlyAdmin", HELP_ARTICLE,
        "A group with both read-only and maintain access to Administration is a 400 validation error; "
        "Zapier removes one of the two, biased towards the higher."),
    Conflict(
        "CanManageAssets", "ReadOnlyAccessToAssets", HELP_ARTICLE,
        "Given both maintain and read-only access to Asset Management, Zapier grants the maintain "
        "permission, because it gives the greater level of access."),
)

# A user's rights are the union of its groups'; across groups the read-only permission wins.
OVERRIDES: tuple[Override, ...] = (
    Override(
        "IsReadOnlyAdmin", "IsAdmin", API_NOTES,
        "Read-only Administration access overrides the maintain permission a user has from any group."),
    Override(
        "ReadOnlyAccessToAssets", "CanManageAssets", API_NOTES,
        "Read-only Asset Management access overrides the maintain permission likewise."),
)

_ACRONYMS = {"Api": "API", "V2": "v2"}


def derive_name(value: str) -> str:
    """A readable name from an enum value: ``CanViewCalendar`` → "Can view calendar"."""
    words = re.findall(r"[A-Z][a-z]*\d*|\d+", value)
    words = [_ACRONYMS.get(w, w if i == 0 else w.lower()) for i, w in enumerate(words)]
    return " ".join(words)


def _build() -> dict[str, Permission]:
    catalogue = {}
    if sorted(v for values in SECTIONS.values() for v in values) != sorted(ENUM):
        raise ImportError("SECTIONS must hold every Permissions value exactly once")
    for section, values in SECTIONS.items():
        for value in values:
            name, source = _PUBLISHED.get(value, (derive_name(value), DERIVED))
            agent_only = True if value in AGENT_ONLY else None
            catalogue[value] = Permission(value, name, source, section, agent_only)
    return catalogue


CATALOGUE: dict[str, Permission] = _build()


def permission(value: str) -> Permission:
    """The catalogue entry of an enum value (KeyError when Issuetrak has no such value)."""
    return CATALOGUE[value]


def name_of(value: str) -> str:
    """The screen name of a value, e.g. "Can be assigned Issues"."""
    return CATALOGUE[value].name
