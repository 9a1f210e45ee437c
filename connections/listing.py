"""The dashboard list: filters (expiring within N days, failing), sorting, per-row counts."""

import datetime as dt
from urllib.parse import urlencode

from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.utils import timezone

from connections.choices import Channel, StepStatus
from connections.models import Connection

SORTS = {
    "label": ["label"],
    "expires": [F("expires_on").asc(nulls_last=True), "label"],
    "health": ["-last_overall_rank", "label"],
    "checked": [F("last_checked_at").desc(nulls_last=True), "label"],
}


class ListFilters:
    """Reads ?expiring=N&failing=1&sort=…&archived=1 and builds the page's queryset."""

    def __init__(self, params):
        self.archived = params.get("archived") == "1"
        self.failing = params.get("failing") == "1"
        self.sort = params.get("sort") if params.get("sort") in SORTS else "label"
        try:
            self.expiring = max(0, min(int(params.get("expiring", "")), 3650))
        except ValueError:
            self.expiring = None

    def queryset(self):
        queryset = Connection.objects.filter(archived_at__isnull=not self.archived)
        if self.expiring is not None:
            queryset = queryset.filter(
                expires_on__lte=timezone.localdate() + dt.timedelta(days=self.expiring))
        if self.failing:
            queryset = queryset.filter(last_overall=StepStatus.FAIL)
        queryset = queryset.annotate(
            notices_sent=Count("notices", filter=Q(notices__sent_at__isnull=False,
                                                   notices__channel=Channel.EMAIL)),
            last_overall_rank=Case(When(last_overall=StepStatus.FAIL, then=Value(3)),
                                   When(last_overall=StepStatus.WARN, then=Value(2)),
                                   When(last_overall=StepStatus.PASS, then=Value(1)),
                                   default=Value(0), output_field=IntegerField()),
        )
        return queryset.order_by(*SORTS[self.sort])

    def query_string(self, **changes) -> str:
        params = {"archived": "1" if self.archived else "", "failing": "1" if self.failing else "",
                  "expiring": "" if self.expiring is None else self.expiring, "sort": self.sort}
        params |= changes
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})
