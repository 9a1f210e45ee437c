"""Repair a requested permission set the way Zapier does, and say what changed and why.

`plan()` drops the lower permission of each conflicting pair whose higher one is requested,
then adds missing prerequisites, repeating until nothing changes. Every change names its rule,
so a repair (or a person) can show the reason before anything is sent to Issuetrak.
`violations()` is the raw API's view of the same rules: what it would refuse with a 400.
`effective()` is the other direction, for a *user*: across groups the read-only permission wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from connections.permissions.catalogue import CATALOGUE, CONFLICTS, OVERRIDES, PREREQUISITES, name_of

ADDED = "added"
REMOVED = "removed"


class UnknownPermission(ValueError):
    """A value that is not in Issuetrak's `Permissions` enum."""

    def __init__(self, values: list[str]):
        self.values = values
        super().__init__(f"not Issuetrak permissions: {', '.join(values)}")


@dataclass(frozen=True, order=True)
class Change:
    """One permission added to or removed from the requested set, with a one-sentence reason."""

    permission: str
    action: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    """The repaired set (sorted) and the changes that led there (sorted by permission)."""

    permissions: tuple[str, ...]
    changes: tuple[Change, ...]

    def as_dict(self) -> dict:
        return {"permissions": list(self.permissions), "changes": [c.as_dict() for c in self.changes]}


def check_known(values: Iterable[str]) -> set[str]:
    """The values as a set; UnknownPermission naming any that Issuetrak does not have."""
    values = set(values)
    unknown = sorted(values - CATALOGUE.keys())
    if unknown:
        raise UnknownPermission(unknown)
    return values


def plan(requested: Iterable[str]) -> Plan:
    """The smallest valid set around `requested`: lower of a conflict dropped, prerequisites added."""
    current = check_known(requested)
    changes: dict[str, Change] = {}
    while True:
        step = _conflict_removals(current) or _prerequisite_additions(current)
        if not step:
            break
        for change in step:
            if change.permission in changes:  # only rules that contradict each other get here
                raise RuntimeError(f"the permission rules loop on {change.permission}")
            changes[change.permission] = change
            (current.discard if change.action == REMOVED else current.add)(change.permission)
    return Plan(tuple(sorted(current)), tuple(sorted(changes.values())))


def violations(permissions: Iterable[str]) -> list[str]:
    """What Issuetrak's API refuses in this set, one message per broken rule ([] when valid)."""
    granted = set(permissions)
    messages = [
        f"Permission '{c.higher}' cannot be granted together with '{c.lower}'."
        for c in CONFLICTS if {c.higher, c.lower} <= granted
    ]
    messages += [
        f"Permission '{p.permission}' requires permission '{p.requires}'."
        for p in PREREQUISITES if p.permission in granted and p.requires not in granted
    ]
    return messages


def effective(granted: Iterable[str]) -> set[str]:
    """What a user may really do with the union of its groups' permissions: read-only overrides applied."""
    granted = set(granted)
    return granted - {o.cancelled for o in OVERRIDES if o.overriding in granted}


def _conflict_removals(current: set[str]) -> list[Change]:
    return [
        Change(c.lower, REMOVED, f"\u201c{name_of(c.lower)}\u201d conflicts with "
                                 f"\u201c{name_of(c.higher)}\u201d, and the higher of the two is kept.")
        for c in CONFLICTS if c.higher in current and c.lower in current
    ]


def _prerequisite_additions(current: set[str]) -> list[Change]:
    return [
        Change(p.requires, ADDED, f"\u201c{name_of(p.permission)}\u201d requires "
                                  f"\u201c{name_of(p.requires)}\u201d.")
        for p in PREREQUISITES if p.permission in current and p.requires not in current
    ]
