"""A call's recording, fetched for an authorised user of the account.

Vonage keeps recordings behind its API: the file is fetched with the application's JWT
(the Vonage SDK's `voice.download_recording`) and passed through. Browsers cannot add
an `Authorization` header to `<audio src>`, so the dashboard fetches the bytes with its
API key and plays them from a blob URL.

Only Vonage hosts are fetched outside the local stage (no request forgery through a
stored URL); locally any http(s) URL is, so tests can serve a recording from a stub.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit


from chalicelib import config
from chalicelib.calls import store
from chalicelib.errors import BadGateway, CalltrackError, NotFound

MAX_BYTES = 5 * 1024 * 1024  # what a Lambda answer through API Gateway can carry, base64-encoded
VONAGE_HOSTS = ("nexmo.com", "vonage.com")
TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".ogg": "audio/ogg", ".m4a": "audio/mp4"}


class RecordingUnavailable(BadGateway):
    code = "recording_unavailable"


class RecordingTooLarge(CalltrackError):
    status = 413
    code = "recording_too_large"


@dataclass(frozen=True)
class Recording:
    body: bytes
    content_type: str


def is_vonage(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in VONAGE_HOSTS)


def _vonage_client() -> Any:
    """The calls domain's Vonage SDK client (application JWT auth), created once per container."""
    try:
        from chalicelib.calls import vonage_client
    except ImportError as err:  # the calls domain ships without its Vonage adapter
        raise RecordingUnavailable("the recording is stored at Vonage and no Vonage client is available") from err
    try:
        return vonage_client.vonage()
    except config.MissingSetting as err:
        raise RecordingUnavailable(f"the recording is stored at Vonage: {err}") from err


def _from_vonage(url: str, client: Any) -> Recording:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "recording")
        try:
            client.voice.download_recording(url, path)
        except Exception as err:  # the SDK raises its own tree; any failure means "not available now"
            raise RecordingUnavailable(f"Vonage did not hand out the recording: {type(err).__name__}") from err
        if os.path.getsize(path) > MAX_BYTES:
            raise RecordingTooLarge("the recording is larger than the 5 MB an API answer can carry")
        with open(path, "rb") as fh:
            return Recording(fh.read(), "audio/mpeg")


def _from_url(url: str, http: Optional[Callable[..., Any]]) -> Recording:
    import requests   # only here (local stand-ins): not on every cold start

    try:
        answer = (http or requests.get)(url, timeout=10, stream=True)
    except requests.RequestException as err:
        raise RecordingUnavailable(f"the recording could not be fetched: {type(err).__name__}") from err
    if answer.status_code != 200:
        raise RecordingUnavailable(f"the recording store answered {answer.status_code}")
    body = answer.raw.read(MAX_BYTES + 1, decode_content=True)
    if len(body) > MAX_BYTES:
        raise RecordingTooLarge("the recording is larger than the 5 MB an API answer can carry")
    kind = (answer.headers.get("Content-Type") or "").split(";")[0].strip()
    if not kind.startswith("audio/"):
        kind = TYPES.get(os.path.splitext(urlsplit(url).path)[1].lower(), "audio/mpeg")
    return Recording(body, kind)


def fetch(url: str, vonage_client: Optional[Any] = None, http: Optional[Callable[..., Any]] = None) -> Recording:
    if urlsplit(url).scheme not in ("http", "https"):
        raise RecordingUnavailable("the stored recording address is not an http(s) URL")
    if is_vonage(url):
        return _from_vonage(url, vonage_client or _vonage_client())
    if not config.is_local():
        raise RecordingUnavailable("recordings are fetched from Vonage only")
    return _from_url(url, http)


def recording_of(account_id: str, call_id: str, vonage_client: Optional[Any] = None) -> Recording:
    call = store.get_call(account_id, call_id)
    if not call.get("recording_url"):
        raise NotFound(f"call '{call_id}' has no recording")
    return fetch(call["recording_url"], vonage_client)
