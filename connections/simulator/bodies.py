"""Request bodies of the simulated writes, checked as Issuetrak checks them.

The field lists mirror the OpenAPI schemas `CreateGroup`, `UpdateGroup`, `UpdateUser` and
`GroupMembership` (a test compares them with the document). Every schema forbids unknown
properties. What Issuetrak does with a field a PUT leaves out is documented only for
`isActive` (defaults to true); for the others the simulator **assumes** the type's empty value
(false, "", null), which is why a real update must be a merge: GET, change, PUT everything back.
All refusals use the documented 400 envelope (`type: "Validation"`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from connections.permissions.catalogue import CATALOGUE
from connections.simulator.replies import ApiError

HOME_PAGES = ("IssueHub", "IssueSubmit", "IssueSearch", "Calendar", "KnowledgeBase", "Projects", "Reports",
              "Dashboard", "ProjectSummary")
REDIRECTS = ("IssueView", "IssueSubmit", "Dashboard", "IssueHub")
TIME_ZONES = (
    "AFT", "AK", "ARAB", "ARABIA", "ARABIC", "AST", "ACST", "AEDT", "AZOST", "SSK", "CVT", "CCS", "ACDT",
    "CAST", "CAT", "CET", "CEST", "CPST", "CST", "CHN", "DST", "EAT", "AEST", "EET", "ESAST", "EST", "EGY",
    "EKB", "FJT", "FLE", "GMT", "CGT", "GST", "GTB", "HAST", "IST", "IRST", "ISRAEL", "KST",
    "MexicoStandardTime", "MexicoStandardTime2", "MAST", "MST", "MMT", "NCAST", "NPT", "NZST", "NLT", "NAEST",
    "NAST", "PSA", "PST", "ROM", "MSK", "SAEST", "SAPST", "SAWST", "SMO", "SEA", "SST", "SAST", "SLST", "TWT",
    "TSM", "JST", "TON", "USEST", "USMST", "VVS", "AWST", "WCAST", "WET", "WAT", "WPT", "YAKT", "AZT", "CBST",
    "CSTM", "GET", "JRD", "MEST", "MVD", "MSTM", "NMT", "PSTM", "VET", "UTC", "PTBC",
)  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One property: its kind, and for strings the longest value, for enums the allowed ones."""

    kind: str  # "string", "bool", "int", "enum", "uuid", "permissions", "udfs"
    nullable: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    default: Any = None

    def empty(self) -> Any:
        """What Issuetrak stores when a PUT leaves the field out (see the module docstring)."""
        if self.default is not None or self.nullable:
            return self.default
        return {"string": "", "bool": False, "int": 0, "permissions": [],
                "udfs": {"textFields": [], "dateFields": [], "listFields": []}}.get(self.kind)


def _s(max_length: int, nullable: bool = False) -> Field:
    return Field("string", nullable, max_length)


_GROUP = {
    "name": _s(50), "isActive": Field("bool", default=True), "primaryOrganizationIid": Field("int"),
    "isAgentOnly": Field("bool"), "phoneNumber": _s(50), "email": _s(100), "sms": _s(100),
    "departmentIid": Field("int", nullable=True), "isRoundRobin": Field("bool"),
    "permissions": Field("permissions"),
}
CREATE_GROUP = {**_GROUP, "id": _s(50)}
UPDATE_GROUP = dict(_GROUP)
GROUP_REQUIRED = ("name", "primaryOrganizationIid")

UPDATE_USER = {
    "isAgent": Field("bool"), "firstName": _s(50), "lastName": _s(50), "displayName": _s(50),
    "isActive": Field("bool", default=True), "canLogin": Field("bool"), "isSysAdmin": Field("bool"),
    "phoneNumber": _s(50), "email": _s(100), "sms": _s(100), "primaryOrganizationIid": Field("int"),
    "locationIid": Field("int", nullable=True), "departmentIid": Field("int", nullable=True),
    "timeZone": Field("enum", choices=TIME_ZONES), "shouldHonorDaylightSavingsTime": Field("bool"),
    "addressLineOne": _s(50), "addressLineTwo": _s(50), "city": _s(50), "state": _s(50),
    "postalCode": _s(20), "country": _s(20), "issueHubViewIid": Field("uuid", nullable=True),
    "redirectAfterIssueSubmit": Field("enum", choices=REDIRECTS),
    "homePage": Field("enum", choices=HOME_PAGES), "listFormat": _s(4000, nullable=True),
    "udfs": Field("udfs"), "loginAttempts": Field("int", nullable=True),
}  # fmt: skip
USER_REQUIRED = ("displayName", "firstName", "homePage", "lastName", "primaryOrganizationIid",
                 "redirectAfterIssueSubmit", "timeZone")


def invalid(message: str) -> ApiError:
    return ApiError(400, "Validation", message)


def json_body(raw: bytes) -> Any:
    """The decoded JSON body; 400 when it is missing or not JSON."""
    try:
        return json.loads(raw) if raw.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise invalid("The request body is not valid JSON.") from None


def desired_state(raw: bytes, spec: dict[str, Field], required: tuple[str, ...]) -> dict[str, Any]:
    """A create/update body as the whole desired state: every field of `spec`, omitted ones empty."""
    body = json_body(raw)
    if not isinstance(body, dict):
        raise invalid("A request body with a JSON object is required.")
    unknown = sorted(set(body) - set(spec))
    if unknown:
        raise invalid(f"Unknown field(s): {', '.join(unknown)}. This object allows no other properties.")
    missing = [name for name in required if body.get(name) is None]
    if missing:
        raise invalid(f"Required field(s) missing: {', '.join(missing)}.")
    for name, value in body.items():
        _check(name, value, spec[name])
    return {name: body[name] if name in body else field.empty() for name, field in spec.items()}


def memberships(raw: bytes) -> list[int]:
    """The group iids of a ``[{"groupIid": n}, ...]`` body (at least one)."""
    body = json_body(raw)
    if not isinstance(body, list) or not body:
        raise invalid('A request body with a JSON array of {"groupIid": n} is required.')
    for item in body:
        if not isinstance(item, dict) or set(item) != {"groupIid"} or not _is_int(item["groupIid"]):
            raise invalid('Each membership must be exactly {"groupIid": <integer>}.')
    return [item["groupIid"] for item in body]


def _check(name: str, value: Any, field: Field) -> None:
    if value is None:
        if not field.nullable:
            raise invalid(f"The field {name} cannot be null.")
        return
    if not _KIND_CHECKS[field.kind](value, field):
        raise invalid(f"The value {json.dumps(value)[:60]} is not valid for {name}.")
    if field.max_length is not None and len(value) > field.max_length:
        raise invalid(f"The field {name} must be at most {field.max_length} characters long.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def _is_udfs(value: Any) -> bool:
    # The simulated sites define no user-defined fields, so only empty lists can be valid.
    keys = {"textFields", "dateFields", "listFields"}
    return isinstance(value, dict) and set(value) <= keys and all(v == [] for v in value.values())


def _is_permissions(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v in CATALOGUE for v in value)


_KIND_CHECKS = {
    "string": lambda v, f: isinstance(v, str),
    "bool": lambda v, f: isinstance(v, bool),
    "int": lambda v, f: _is_int(v),
    "enum": lambda v, f: v in f.choices,
    "uuid": lambda v, f: _is_uuid(v),
    "udfs": lambda v, f: _is_udfs(v),
    "permissions": lambda v, f: _is_permissions(v),
}
