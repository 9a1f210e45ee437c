"""Where this server may connect: the outbound policy, checked on the address actually connected to.

Allowed: public addresses and the private ranges (10/8, 172.16/12, 192.168/16, fc00::/7: Issuetrak
is often self-hosted on a LAN), on ports 80 and 443. Everything else (loopback, link-local such as
169.254.169.254, unspecified, multicast, reserved and other special-purpose addresses) needs
ISSUETRAK_ALLOWED_NETWORKS; another port needs ISSUETRAK_ALLOWED_PORTS.

The host name is resolved once, every address is checked, and the socket is opened to a checked
address: a name that resolves differently a moment later (DNS rebinding) changes nothing. TLS,
SNI and the Host header keep using the host name, since only the socket creation changes.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

from connections.issuetrak.deadline import GuardedConnection

NETWORKS_SETTING = "ISSUETRAK_ALLOWED_NETWORKS"
PORTS_SETTING = "ISSUETRAK_ALLOWED_PORTS"
STANDARD_PORTS = frozenset({80, 443})
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                          "192.168.0.0/16", "fc00::/7"))
# IPv4 "this network": Linux connects 0.x.x.x to this host, so it counts as unspecified.
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PolicyRefused(Exception):
    """The outbound policy refuses this address or port; nothing was sent. The message names
    the setting that would allow it. Deliberately not an OSError, so urllib3 neither wraps nor
    retries it."""


def _kind(ip: IPAddress) -> str | None:
    """Why an address is refused by default ("a loopback address", …), or None if allowed."""
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if any(ip in network for network in PRIVATE_RANGES if network.version == ip.version):
        return None
    if ip.is_global:
        return None
    return "a special-purpose address"


def _plain(ip: IPAddress) -> IPAddress:
    """::ffff:127.0.0.1 is 127.0.0.1 to the kernel, so it is judged as that."""
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


@dataclass(frozen=True)
class OutboundPolicy:
    """The rules, with the networks and ports an operator added; `ports=None` allows any port."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    ports: frozenset[int] | None = frozenset()

    @classmethod
    def parse(cls, networks: str, ports: str) -> OutboundPolicy:
        """From the settings' text (comma-separated CIDRs; ports or `*`); ValueError names the setting."""
        found = []
        for item in filter(None, (part.strip() for part in networks.split(","))):
            try:
                found.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{NETWORKS_SETTING}: “{item}” is not a network such as "
                                 "127.0.0.1/32 or fd00::/8") from None
        items = [part.strip() for part in ports.split(",") if part.strip()]
        if items == ["*"]:
            return cls(tuple(found), None)
        if not all(item.isdigit() and 0 < int(item) < 65536 for item in items):
            raise ValueError(f"{PORTS_SETTING}: list port numbers (1-65535) separated by commas, or *")
        return cls(tuple(found), frozenset(int(item) for item in items))

    @classmethod
    def from_settings(cls) -> OutboundPolicy:
        """The policy the settings describe (defaults only when Django is not configured)."""
        if not settings.configured:
            return cls()
        return cls.parse(getattr(settings, NETWORKS_SETTING, ""), getattr(settings, PORTS_SETTING, ""))

    def check_port(self, port: int, host: str = "the site") -> None:
        if self.ports is None or port in STANDARD_PORTS or port in self.ports:
            return
        raise PolicyRefused(f"{host}: port {port} is refused: this server connects to ports 80 and 443 "
                            f"only, unless {PORTS_SETTING} lists the port")

    def check_address(self, address: str, host: str = "") -> None:
        """PolicyRefused unless the address may be connected to; `host` names it in the message."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
        if any(candidate in network for candidate in {ip, _plain(ip)} for network in self.networks
               if network.version == candidate.version):
            return
        kind = _kind(_plain(ip))
        if kind:
            what = f"{host} resolves to {address}," if host and host != address else f"{address} is"
            raise PolicyRefused(f"{what} {kind}, which this server does not connect to unless "
                                f"{NETWORKS_SETTING} lists it")

    def addresses(self, host: str, port: int) -> list[tuple]:
        """Resolve once; the (family, sockaddr) pairs the policy allows, or PolicyRefused."""
        self.check_port(port, host)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        allowed, refusal = [], None
        for family, _type, _proto, _name, sockaddr in found:
            try:
                self.check_address(sockaddr[0], host)
            except PolicyRefused as exc:
                refusal = refusal or exc
            else:
                allowed.append((family, sockaddr))
        if not allowed:
            raise refusal or PolicyRefused(f"{host} resolves to no address")
        return allowed


# --- Opening sockets only to checked addresses ---------------------------------------------------


class _Checked:
    """Mixin for urllib3 connections: `_new_conn` opens the socket to a checked address."""

    outbound_policy: OutboundPolicy

    def _new_conn(self) -> socket.socket:
        try:
            addresses = self.outbound_policy.addresses(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        last: Exception | None = None
        for _family, sockaddr in addresses:
            try:
                # An IP literal: create_connection's own getaddrinfo does no DNS lookup.
                return create_connection((sockaddr[0], self.port), self.timeout,
                                         source_address=self.source_address,
                                         socket_options=self.socket_options)
            except TimeoutError as exc:
                last = ConnectTimeoutError(self, f"Connection to {self.host} timed out.")
                last.__cause__ = exc
            except OSError as exc:
                last = NewConnectionError(self, f"Failed to establish a new connection: {exc}")
                last.__cause__ = exc
        raise last


def _pool_classes(policy: OutboundPolicy) -> dict[str, type]:
    attrs = {"outbound_policy": policy}
    # Guarded first: it registers the socket _Checked opened with the exchange's deadline.
    http = type("CheckedHTTPConnection", (GuardedConnection, _Checked, HTTPConnection), attrs)
    https = type("CheckedHTTPSConnection", (GuardedConnection, _Checked, HTTPSConnection), attrs)
    return {
        "http": type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class CheckedAdapter(HTTPAdapter):
    """A requests adapter whose every connection (redirect targets included) obeys `policy`."""

    def __init__(self, policy: OutboundPolicy):
        self.outbound_policy = policy
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.outbound_policy)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # Through a proxy, the socket goes to the proxy and the proxy picks the address, so the
        # policy could not be checked on what is really reached: proxies are not used.
        raise PolicyRefused("an HTTP proxy is configured (HTTP_PROXY/HTTPS_PROXY), and the "
                            "outbound policy cannot be checked through a proxy")

