"""Which connections on a page have an acknowledged notice for their current token (one query)."""

from connections.models import Channel, Notice


def acknowledged_notices(connections) -> dict[int, Notice]:
    """{connection pk: its latest acknowledged e-mail notice about the current token}."""
    current = {c.pk: c.token_fingerprint for c in connections}
    notices = (Notice.objects.filter(connection_id__in=current, channel=Channel.EMAIL,
                                     acknowledged_at__isnull=False, cancelled_at__isnull=True)
               .select_related("acknowledged_by").order_by("connection_id", "-acknowledged_at"))
    found: dict[int, Notice] = {}
    for notice in notices:
        if notice.token_fingerprint == current[notice.connection_id]:
            found.setdefault(notice.connection_id, notice)
    return found
