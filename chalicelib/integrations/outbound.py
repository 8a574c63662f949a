"""Outbound HTTP for consumers (stdlib only: `requests` is not a runtime dependency).

`post(url, body, headers)` returns `(status, text)` for any HTTP answer and raises
`RetryableError` when no answer came (connection refused, DNS, timeout, reset): the
consumer decides what a status means (GA4 answers 2xx even to bad data; a webhook target's
5xx/429 is worth retrying, its other 4xx are not).
"""
from __future__ import annotations

import socket
import urllib.error
import urllib.request
from typing import Dict, Mapping, Tuple
from urllib.parse import urlsplit

from chalicelib import config
from chalicelib.integrations.errors import PermanentError, RetryableError

TIMEOUT_SECONDS = 5.0
USER_AGENT = "Calltrack-Integrations/1"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_url(url: str) -> None:
    """https everywhere; plain http only to this machine on the local stage (stubs)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and config.is_local():
        return
    raise PermanentError(f"refusing to send to {parts.scheme}://{parts.hostname}: https is required")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the target's answer, not an instruction: urllib would resend a POST as a
    bodyless GET (the target gets nothing, the delivery looks fine) to a URL `check_url`
    never saw. The 3xx comes back as an HTTPError, which callers treat as a refusal."""

    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


OPENER = urllib.request.build_opener(_NoRedirects)


def where(url: str) -> str:
    """A URL fit for logs and DLQ attributes: scheme, host and path; never the query, which
    may carry a key (Kissmetrics' `_k`)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float = TIMEOUT_SECONDS) -> Tuple[int, str]:
    check_url(url)
    all_headers: Dict[str, str] = {"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
    try:
        with OPENER.open(request, timeout=timeout) as answer:  # noqa: S310 (scheme checked)
            return answer.status, answer.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read(4096).decode("utf-8", "replace") if err.fp else ""
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as err:
        raise RetryableError(f"no answer from {urlsplit(url).netloc}: {err}") from err


def is_retryable_status(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500
