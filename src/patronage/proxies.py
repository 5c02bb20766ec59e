"""Who the client is and whether it reached us over https, believing a reverse proxy's
``X-Forwarded-For`` and ``X-Forwarded-Proto`` headers only when the request came from one of the
configured proxies (``PATRONAGE_TRUSTED_PROXIES``: addresses or networks, comma separated; empty
by default, so the headers are ignored and anyone could not pick the address their sign-in
failures are counted against)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from patronage.errors import PatronageError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str, *, place: str = "PATRONAGE_TRUSTED_PROXIES") -> tuple[Network, ...]:
    """``"10.0.0.1, 10.1.0.0/16, ::1"`` -> the networks; refuses anything else, naming it."""
    networks: list[Network] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise PatronageError(f"{place}: {part!r} is not an IP address or network") from exc
    return tuple(networks)


def _trusted(address: str | None, proxies: Sequence[Network]) -> bool:
    if not address or not proxies:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str | None, forwarded_for: str | None,
                   proxies: Sequence[Network]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the nearest
    address in ``X-Forwarded-For`` that is not itself a trusted proxy."""
    address = peer or "unknown"
    if not forwarded_for or not _trusted(peer, proxies):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        address = hop
        if not _trusted(hop, proxies):
            break
    return address


def is_https(scheme: str, peer: str | None, forwarded_proto: str | None,
             proxies: Sequence[Network]) -> bool:
    """Served over https: the request's own scheme, or ``X-Forwarded-Proto`` from a trusted
    proxy."""
    if scheme == "https":
        return True
    if forwarded_proto and _trusted(peer, proxies):
        return forwarded_proto.split(",")[0].strip().lower() == "https"
    return False
