"""The client's IP address, trusting X-Forwarded-For only as far as TRUSTED_PROXY_COUNT says."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """REMOTE_ADDR, or with N trusted proxies the N-th X-Forwarded-For entry from the right.

    Each trusted proxy appends the address it was reached from, so entries further left were
    written by the client (or an untrusted hop) and are never believed.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < count:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote
