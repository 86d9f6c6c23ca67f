"""Where a webhook may be sent: the SSRF rules, checked when an endpoint is saved and again, against
the addresses the name resolves to then, before every delivery (a name may be re-pointed at an
internal address after it was saved; the delivery connects to the address checked, not to whatever
a second lookup returns).

Refused unless a setting allows it: plain http (tests and demos), and any address that is not
globally routable: loopback, private networks, link-local (169.254.169.254, the cloud metadata
service), carrier-grade NAT, multicast, reserved and unspecified addresses, IPv4 inside IPv6.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from domain.errors import ValidationFailed

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class TargetRules:
    allow_http: bool = False
    allow_private: bool = False


@dataclass(frozen=True)
class Target:
    """A URL checked: where to connect (an address allowed) and what to say (Host, TLS name)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def connect_url(self) -> str:
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = {"https": 443, "http": 80}[self.scheme]
        return self.host if self.port == default else f"{self.host}:{self.port}"


class TargetRefused(ValidationFailed):
    pass


def _public(ip: IpAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour or ip.teredo):
        return False  # an IPv4 address wrapped in IPv6 is judged as itself: refused rather than unwrapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, rules: TargetRules) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a URL a webhook may use, or TargetRefused naming `url`."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a URL: {exc}", field="url") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and rules.allow_http):
        raise TargetRefused("the URL must use https", field="url")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL must not carry a user name or password (the signature authenticates us)", field="url")
    host = (parts.hostname or "").lower()
    if not host:
        raise TargetRefused("the URL has no host", field="url")
    if parts.fragment:
        raise TargetRefused("the URL must not have a #fragment", field="url")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


async def resolve(url: str, rules: TargetRules) -> Target:
    """The URL checked and its host resolved now: the first address allowed, or TargetRefused
    (every address must be allowed: a name that also points inside is refused as a whole)."""
    scheme, host, port, path = check_url(url, rules)
    try:
        literal: IpAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise TargetRefused(f"the host {host} does not resolve", field="url") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"the host {host} does not resolve", field="url")
    if not rules.allow_private:
        for ip in addresses:
            if not _public(ip):
                raise TargetRefused(
                    f"the URL points at {ip}, a loopback, private, link-local or reserved address; "
                    "webhooks go to public addresses",
                    field="url",
                )
    # IPv4 first: a worker without an IPv6 route would otherwise fail a name that has both
    addresses.sort(key=lambda ip: ip.version)
    return Target(scheme, host, port, path, str(addresses[0]))
