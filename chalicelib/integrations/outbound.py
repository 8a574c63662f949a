"""Outbound HTTP for consumers and vendor adapters (stdlib only: `requests` is not a runtime
dependency), behind one guard: no request ever reaches an internal address.

`post(url, body, headers)` returns `(status, text)` for any HTTP answer and raises
`RetryableError` when no answer came (connection refused, DNS, timeout, reset): the
consumer decides what a status means (GA4 answers 2xx even to bad data; a webhook target's
5xx/429 is worth retrying, its other 4xx are not).

The guard (`check_target`, docs/integrations.md "Outbound guard"):
- https only; plain http only on the local stage, to this machine (the test stand-ins);
- no credentials in the URL (`https://user:pass@host/`): sign with the subscription's
  secret or send a header secret instead;
- the host must resolve to public addresses only: loopback, private (10/8, 172.16/12,
  192.168/16), shared (100.64/10, where some clouds keep their metadata), link-local
  (169.254/16: the cloud metadata service), unique-local (fc00::/7), multicast, reserved,
  unspecified and documentation ranges are refused, IPv4-mapped IPv6 included;
- checked when a URL is saved (a 400 naming the field) and again on the address each
  delivery actually connects to: the connection is opened to the checked address itself
  (the hostname is kept for TLS), so a name that resolves elsewhere after the check
  (DNS rebinding) cannot reach an internal service.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from chalicelib import config
from chalicelib.integrations.errors import PermanentError, RetryableError

TIMEOUT_SECONDS = 5.0
USER_AGENT = "Calltrack-Integrations/1"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
AUTH_HINT = ("put no credentials in the URL: deliveries are signed with the subscription's secret "
             "(X-Calltrack-Signature), or authenticate with a header secret (docs/integrations.md)")
Resolver = Callable[[str, int], List[str]]


SITE_LOCAL = ipaddress.ip_network("fec0::/10")     # deprecated, but routed by some networks


class UnsafeTarget(PermanentError):
    """An outbound URL the guard refuses; never retried (docs/integrations.md)."""


def system_resolver(host: str, port: int) -> List[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


# Tests replace it to make a name resolve where they want (e.g. one that changes address).
resolver: Resolver = system_resolver


def address_refusal(raw: str) -> Optional[str]:
    """Why `raw` (an IP address) is no place to send to, or None when it is public."""
    ip = ipaddress.ip_address(raw.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in SITE_LOCAL:
            return "a site-local address"
        # IPv4 addresses carried in IPv6 (mapped, 6to4, Teredo) are judged as the IPv4 they reach.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    if ip.is_loopback:
        return None if config.is_local() else "a loopback address"
    kinds = (("unspecified", ip.is_unspecified), ("link-local (cloud metadata)", ip.is_link_local),
             ("multicast", ip.is_multicast), ("reserved", ip.is_reserved), ("private", ip.is_private),
             ("not globally routable", not ip.is_global))
    return next((f"a {name} address" for name, hit in kinds if hit), None)


def resolve_checked(host: str, port: int) -> List[str]:
    """The addresses of `host`, all of them public; UnsafeTarget otherwise."""
    try:
        addresses = resolver(host, port)
    except (socket.gaierror, UnicodeError) as err:
        raise RetryableError(f"{host} does not resolve: {err}") from err
    if not addresses:
        raise RetryableError(f"{host} does not resolve")
    for address in addresses:
        why = address_refusal(address)
        if why:
            raise UnsafeTarget(f"refusing to send to {host}: it resolves to {address}, {why}")
    return addresses


def check_target(url: str, resolve: bool = True) -> None:
    """The guard on a URL (save time and delivery): UnsafeTarget with the reason."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as err:
        raise UnsafeTarget(f"refusing a malformed URL: {err}") from err
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget(f"refusing {parts.scheme}://…@{host}: {AUTH_HINT}")
    if not host:
        raise UnsafeTarget(f"refusing '{where(url)}': no host")
    if parts.scheme == "http":
        if not config.is_local():
            raise UnsafeTarget(f"refusing http://{host}: https is required")
        if host not in LOCAL_HOSTS:
            raise UnsafeTarget(f"refusing http://{host}: plain http only to this machine on the local stage")
    elif parts.scheme != "https":
        raise UnsafeTarget(f"refusing {parts.scheme}://{host}: https is required")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as err:
        raise UnsafeTarget(f"refusing {where(url)}: {err}") from err
    if resolve:
        resolve_checked(host, port)


def check_url(url: str) -> None:
    """Scheme and credentials only (the connection checks the address it opens)."""
    check_target(url, resolve=False)


def _guarded_connection(address: Tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
                        source_address: Any = None) -> socket.socket:
    """`socket.create_connection`, to an address the guard checked (never re-resolved)."""
    host, port = address
    last: Optional[OSError] = None
    for ip in resolve_checked(host, port):
        try:
            return socket.create_connection((ip, port), timeout, source_address)
        except OSError as err:
            last = err
    raise last or OSError(f"could not connect to {host}")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_connection


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address; certificate and SNI still for the hostname."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_connection


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the target's answer, not an instruction: urllib would resend a POST as a
    bodyless GET (the target gets nothing, the delivery looks fine) to a URL the guard
    never saw. The 3xx comes back as an HTTPError, which callers treat as a refusal."""

    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


# No proxy from the environment (the guard would check the proxy, not the target).
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects, _GuardedHTTPHandler,
                                     _GuardedHTTPSHandler)


def where(url: str) -> str:
    """A URL fit for logs, answers and DLQ attributes: scheme, host, port and path; never
    credentials or the query, which may carry a key (Kissmetrics' `_k`)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def reason(status: int) -> str:
    """A short, fixed description of an HTTP status (never the target's body)."""
    return f"HTTP {status} {http.client.responses.get(status, '')}".rstrip()


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float = TIMEOUT_SECONDS) -> Tuple[int, str]:
    check_url(url)
    all_headers: Dict[str, str] = {"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
    try:
        with OPENER.open(request, timeout=timeout) as answer:  # noqa: S310 (scheme and address checked)
            return answer.status, answer.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read(4096).decode("utf-8", "replace") if err.fp else ""
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as err:
        raise RetryableError(f"no answer from {where(url)}: {getattr(err, 'reason', err)}") from err


def is_retryable_status(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500
