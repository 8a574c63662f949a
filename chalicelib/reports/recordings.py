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


def sniff(head: bytes, fallback: str = "audio/mpeg") -> str:
    """The audio type of a file from its first bytes (Vonage hands out no Content-Type
    through the SDK; the record action writes mp3 unless told wav or ogg)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    return fallback


def _vonage_to_file(url: str, path: str, client: Any) -> None:
    try:
        client.voice.download_recording(url, path)
    except Exception as err:  # the SDK raises its own tree; any failure means "not available now"
        raise RecordingUnavailable(f"Vonage did not hand out the recording: {type(err).__name__}") from err


def _url_to_file(url: str, path: str, http: Optional[Callable[..., Any]], limit: Optional[int]) -> str:
    import requests   # only here (local stand-ins): not on every cold start

    try:
        answer = (http or requests.get)(url, timeout=10, stream=True)
    except requests.RequestException as err:
        raise RecordingUnavailable(f"the recording could not be fetched: {type(err).__name__}") from err
    if answer.status_code != 200:
        raise RecordingUnavailable(f"the recording store answered {answer.status_code}")
    size = 0
    try:
        with open(path, "wb") as fh:
            for chunk in answer.iter_content(64 * 1024):
                size += len(chunk)
                if limit is not None and size > limit:
                    break
                fh.write(chunk)
    except requests.RequestException as err:
        raise RecordingUnavailable(f"the recording could not be fetched: {type(err).__name__}") from err
    if limit is not None and size > limit:
        raise RecordingTooLarge("the recording is larger than the 5 MB an API answer can carry")
    kind = (answer.headers.get("Content-Type") or "").split(";")[0].strip()
    return kind if kind.startswith("audio/") else ""


def download(url: str, path: str, vonage_client: Optional[Any] = None, http: Optional[Callable[..., Any]] = None,
             limit: Optional[int] = None) -> str:
    """Stream a recording (or transcript) file to `path`, whatever its size unless `limit`
    bytes is given; answer its content type (audio/..., sniffed when the store names none)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise RecordingUnavailable("the stored recording address is not an http(s) URL")
    if is_vonage(url):
        _vonage_to_file(url, path, vonage_client or _vonage_client())
        kind = ""
    elif not config.is_local():
        raise RecordingUnavailable("recordings are fetched from Vonage only")
    else:
        kind = _url_to_file(url, path, http, limit)
    if limit is not None and os.path.getsize(path) > limit:
        raise RecordingTooLarge("the recording is larger than the 5 MB an API answer can carry")
    if kind:
        return kind
    with open(path, "rb") as fh:
        head = fh.read(16)
    return sniff(head, TYPES.get(os.path.splitext(urlsplit(url).path)[1].lower(), "audio/mpeg"))


def fetch(url: str, vonage_client: Optional[Any] = None, http: Optional[Callable[..., Any]] = None) -> Recording:
    """A recording (or transcript) file in memory, up to what an API answer can carry."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "recording")
        kind = download(url, path, vonage_client, http, limit=MAX_BYTES)
        with open(path, "rb") as fh:
            return Recording(fh.read(), kind)


def recording_of(account_id: str, call_id: str, vonage_client: Optional[Any] = None) -> Recording:
    call = store.get_call(account_id, call_id)
    if not call.get("recording_url"):
        raise NotFound(f"call '{call_id}' has no recording")
    return fetch(call["recording_url"], vonage_client)
