"""Downloader middleware: never follow a redirect into the machine's own or private networks.

A product page (any retailer URL a user watches) answering ``302 Location: http://169.254.169.254/…``
would otherwise make the crawler fetch cloud metadata, a router's admin page or a local service, and
archive the answer. A redirected request whose host is a loopback, private, link-local (or otherwise
non-public) address is refused, unless the configured URL itself was such an address (a crawl of a
local test server or an intranet shop redirects within it). The refusal reaches the spider's
errback, which reports the page as failed with the reason.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)


class InternalRedirectRefused(IgnoreRequest):
    """A redirect pointed at a loopback, private or link-local address."""


def address_kind(address: str) -> str | None:
    """``loopback``/``link-local``/``private``/… for a non-public IP address, else ``None``."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                       ("unspecified", ip.is_unspecified), ("multicast", ip.is_multicast),
                       ("private", ip.is_private), ("reserved", ip.is_reserved)):
        if flag:
            return kind
    return None


def internal_kind(host: str) -> str | None:
    """The kind of non-public address ``host`` is or resolves to; ``None`` when every address is public
    (or the name does not resolve: then nothing is fetched anyway)."""
    host = host.strip("[]")
    if not host:
        return None
    kind = address_kind(host)
    if kind is not None or _is_ip(host):
        return kind
    if host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
        return "loopback"
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        kind = address_kind(str(info[4][0]))
        if kind is not None:
            return kind
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class InternalRedirectMiddleware:
    """Refuses redirected requests into non-public networks (see the module docstring)."""

    def process_request(self, request: Request, spider: object = None) -> None:
        chain = request.meta.get("redirect_urls")
        if not chain:
            return None  # not a redirect: the configured URL is the user's choice
        target = urlsplit(request.url).hostname or ""
        kind = internal_kind(target)
        if kind is None:
            return None
        origin = urlsplit(str(chain[0])).hostname or ""
        if internal_kind(origin) is not None:
            return None  # the configured URL is itself internal (local test server, intranet)
        message = f"redirect from {origin} to {target} ({kind} address) refused"
        logger.warning("%s: %s", request.url, message)
        raise InternalRedirectRefused(message)
