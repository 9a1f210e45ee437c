"""The list pages' queries: the connection list (search, filters, reversible sort) and the audit
trail (filters), both paged by keyset, so a page costs what it shows, not what the table holds.

Every sort walks an index (see Connection.Meta.indexes); per-row counts are computed for the
rows shown only.
"""

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count
from django.db.models.functions import Lower
from django.utils import timezone

from connections import keyset, search_index
from connections.choices import AuditAction, Channel
from connections.models import AuditEvent, Connection, Notice

PAGE_SIZE = 50
MAX_QUERY = 100  # characters of ?q= kept; longer input is cut, never an error
# Matches counted for "Check these N": past this the button says "1,000+" (the count stops
# there, so its cost is bounded however many rows match).
COUNT_LIMIT = 1000
SEARCHED = ("label", "base_url", "token_name", "token_user")
# ?sort=NAME walks these keys ascending, ?sort=-NAME descending (the last key makes it unique).
SORTS = {
    "label": ["label_key", "id"],
    "expires": ["expires_key", "label_key", "id"],  # soonest first, "never" last
    "health": ["health_rank", "label_key", "id"],  # failing first, never checked last
    "checked": ["checked_key", "label_key", "id"],  # longest unchecked first
}
HEADERS = (("label", "Label"), ("health", "Health"), ("expires", "Expires"), ("checked", "Last checked"))


@dataclass
class Header:
    title: str
    url: str
    direction: str  # "ascending", "descending" or "" (the aria-sort value)


class ListFilters:
    """Reads ?q=…&expiring=N&failing=1&archived=1&sort=[-]NAME and builds the page."""

    def __init__(self, params):
        self.archived = params.get("archived") == "1"
        self.failing = params.get("failing") == "1"
        self.q = params.get("q", "").strip()[:MAX_QUERY]
        sort = params.get("sort", "")
        known = sort.removeprefix("-") in SORTS
        self.sort = sort.removeprefix("-") if known else "label"
        self.descending = known and sort.startswith("-")
        try:
            self.expiring = max(0, min(int(params.get("expiring", "")), 3650))
        except ValueError:
            self.expiring = None
        self.params = params

    @property
    def sort_param(self) -> str:
        return f"-{self.sort}" if self.descending else self.sort

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the list (search or a filter)."""
        return bool(self.q) or self.failing or self.expiring is not None

    def count(self) -> int:
        """How many connections match, counted up to COUNT_LIMIT + 1 at most: one bounded COUNT,
        asked for only on a filtered list ("Check these N")."""
        return self._filtered().order_by()[:COUNT_LIMIT + 1].count()

    def count_text(self) -> str:
        """The count as the button shows it: "37", or "1,000+" past the limit."""
        count = self.count()
        return f"{COUNT_LIMIT:,}+" if count > COUNT_LIMIT else str(count)

    def _filtered(self):
        queryset = Connection.objects.filter(archived_at__isnull=not self.archived)
        if self.expiring is not None:
            # On the sort key ("never" is 9999-12-31, so excluded): an index range, not a walk.
            queryset = queryset.filter(
                expires_key__lte=timezone.localdate() + dt.timedelta(days=self.expiring))
        if self.failing:
            # health_rank 0 is last_overall "fail": the health index's range, not a table scan.
            queryset = queryset.filter(health_rank=0)
        if self.q:
            queryset = queryset.filter(search_index.contains(Connection._meta.db_table, SEARCHED, self.q))
        return queryset.annotate(label_key=Lower("label"))

    def queryset(self):
        """Every matching connection, in the page's order (for whole-list actions)."""
        keys = SORTS[self.sort]
        return self._filtered().order_by(*(f"-{k}" if self.descending else k for k in keys))

    def page(self, size: int = PAGE_SIZE) -> keyset.KeysetPage:
        """The page the cursor params ask for, each row with its count of e-mail notices sent."""
        page = keyset.paginate(self._filtered(), SORTS[self.sort], descending=self.descending,
                               params=self.params, size=size)
        sent = dict(Notice.objects.filter(
            connection_id__in=[c.pk for c in page.object_list], sent_at__isnull=False,
            channel=Channel.EMAIL).order_by().values_list("connection_id").annotate(n=Count("id")))
        for connection in page.object_list:
            connection.notices_sent = sent.get(connection.pk, 0)
        return page

    def query_string(self, **changes) -> str:
        """This list's filters and sort as a query string (no page cursor), with `changes`."""
        params = {"archived": "1" if self.archived else "", "q": self.q,
                  "expiring": "" if self.expiring is None else self.expiring,
                  "failing": "1" if self.failing else "",
                  "sort": "" if self.sort_param == "label" else self.sort_param}
        params |= changes
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})

    def headers(self) -> dict[str, Header]:
        """Column links: the current column toggles its direction, another starts ascending."""
        found = {}
        for name, title in HEADERS:
            current = name == self.sort
            target = f"-{name}" if current and not self.descending else name
            direction = ("descending" if self.descending else "ascending") if current else ""
            found[name] = Header(title, "?" + self.query_string(sort=target), direction)
        return found


class AuditFilters:
    """Reads ?action=…&actor=…&connection=… for the audit trail, newest first, keyset pages."""

    KEYS = ["created_at", "id"]

    def __init__(self, params):
        self.params = params
        action, actor, label = (params.get(k, "").strip()[:MAX_QUERY]
                                for k in ("action", "actor", "connection"))
        self.action = action if action in AuditAction.values else ""
        self.actor, self.label = actor, label

    @property
    def values(self) -> dict[str, str]:
        return {"action": self.action, "actor": self.actor, "connection": self.label}

    def query_string(self) -> str:
        return urlencode({k: v for k, v in self.values.items() if v})

    def queryset(self):
        events = AuditEvent.objects.select_related("connection")
        if self.action:
            events = events.filter(action=self.action)
        table = AuditEvent._meta.db_table
        if self.actor:
            events = events.filter(search_index.contains(table, ("actor_name",), self.actor))
        if self.label:
            events = events.filter(search_index.contains(table, ("object_repr",), self.label))
        return events

    def page(self, size: int = PAGE_SIZE) -> keyset.KeysetPage:
        return keyset.paginate(self.queryset(), self.KEYS, descending=True, params=self.params,
                               size=size)
