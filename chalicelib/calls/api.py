"""Routes of the calls domain: Vonage's webhooks, the callback widget, reading calls."""
from __future__ import annotations

import contextvars
import functools
import json
import time
from urllib.parse import parse_qsl, urlsplit
from typing import Any, Callable, Dict, Optional

from chalice import Blueprint, CORSConfig, Response

from chalicelib import config, web
from chalicelib.auth import require_account, require_own_call
from chalicelib.errors import BadRequest, CalltrackError
from chalicelib.lazy import lazy

# Domain modules load on first use (chalicelib/lazy.py): a cold start pays for routes only.
callbacks = lazy("chalicelib.calls.callbacks")
ncco = lazy("chalicelib.calls.ncco")
signatures = lazy("chalicelib.calls.signatures")
store = lazy("chalicelib.calls.store")
story = lazy("chalicelib.calls.story")
tagging = lazy("chalicelib.calls.tagging")
webhooks = lazy("chalicelib.calls.webhooks")

bp = Blueprint(__name__)
PUBLIC_CORS = CORSConfig(allow_origin="*", max_age=86400)
VONAGE_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain", "application/octet-stream"]
DEFAULT_WINDOW_SECONDS = 31 * 86400
MAX_LIMIT = 200
LIST_PARAMETERS = ("since", "until", "limit", "next", "status", "direction", "source", "classification", "spam")
# "Now" for the webhooks; tests replace it to replay calls at chosen times.
clock: Callable[[], float] = time.time


def links() -> ncco.Links:
    """Our public base URL: configured, or as the request reached us."""
    base = config.public_base_url()
    if not base:
        request = bp.current_request
        host = web.header(request, "host") or "localhost"
        proto = web.header(request, "x-forwarded-proto") or ("http" if config.is_local() else "https")
        stage = (request.context or {}).get("stage")
        base = f"{proto}://{host}" + (f"/{stage}" if host.endswith("amazonaws.com") and stage else "")
    return ncco.Links(base)


_token: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("vonage_token", default=None)


def vonage_request() -> Dict[str, Any]:
    """The webhook's parameters (JSON body, or the query string of a GET), signature checked."""
    request = bp.current_request
    claims = signatures.verify(web.header(request, "authorization"), request.raw_body or b"")
    _token.set((claims or {}).get("jti"))
    if request.method == "GET":
        return dict(request.query_params or {})
    body = web.json_body(request, allow_empty=True)
    if not isinstance(body, dict):
        raise BadRequest("a Vonage webhook body is a JSON object")
    return body


def query() -> Dict[str, str]:
    return dict(bp.current_request.query_params or {})


def retryable(route: Callable[[], Response]) -> Callable[[], Response]:
    """A webhook we could not take (a 503: Vonage retries it) forgets its token, so the retry
    is not taken for a replay should Vonage send the same token again. A client error (4xx)
    keeps it: that request is not retried."""
    @functools.wraps(route)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        _token.set(None)
        try:
            return route(*args, **kwargs)
        except Exception as err:
            if not (isinstance(err, CalltrackError) and err.status < 500):
                signatures.forget(_token.get())
            raise
    return wrapped


def ncco_response(actions: Optional[ncco.Ncco]) -> Response:
    if actions is None:
        return Response(body="", status_code=204)
    return Response(body=actions, status_code=200, headers=web.json_headers())


@bp.route("/vonage/answer", methods=["GET", "POST"], content_types=VONAGE_TYPES)
def vonage_answer() -> Response:
    return ncco_response(webhooks.answer(vonage_request(), links(), clock))


@bp.route("/vonage/events", methods=["POST"], content_types=VONAGE_TYPES)
@retryable
def vonage_events() -> Response:
    return ncco_response(webhooks.event(vonage_request(), query(), links(), clock))


@bp.route("/vonage/ivr", methods=["POST"], content_types=VONAGE_TYPES)
@retryable
def vonage_ivr() -> Response:
    return ncco_response(webhooks.ivr_input(vonage_request(), query(), links(), clock))


@bp.route("/vonage/challenge", methods=["POST"], content_types=VONAGE_TYPES)
@retryable
def vonage_challenge() -> Response:
    return ncco_response(webhooks.challenge_input(vonage_request(), query(), links(), clock))


@bp.route("/vonage/recording", methods=["POST"], content_types=VONAGE_TYPES)
@retryable
def vonage_recording() -> Response:
    webhooks.recording(vonage_request(), query(), clock)
    return ncco_response(None)


@bp.route("/vonage/transcription", methods=["POST"], content_types=VONAGE_TYPES)
@retryable
def vonage_transcription() -> Response:
    webhooks.transcription(vonage_request(), query(), clock)
    return ncco_response(None)


@bp.route("/vonage/tagging", methods=["POST"], content_types=VONAGE_TYPES)
def vonage_tagging() -> Response:
    return ncco_response(tagging.menu_input(vonage_request(), query(), links()))


@bp.route("/vonage/whisper", methods=["GET", "POST"], content_types=VONAGE_TYPES)
def vonage_whisper() -> Response:
    vonage_request()
    q = query()
    call_id = webhooks.call_id_of(q, {}) if q.get("call") else None
    return ncco_response(ncco.whisper(q.get("source") or "direct", q.get("department"), q.get("lang") or "en-US",
                                      links(), call_id))


@bp.route("/vonage/notify", methods=["POST"], content_types=VONAGE_TYPES)
@retryable
def vonage_notify() -> Response:
    webhooks.notify(vonage_request(), query(), clock)
    return ncco_response(None)


FALLBACK_ROUTES: Dict[str, Callable[[Dict[str, Any], Dict[str, str]], Optional[ncco.Ncco]]] = {
    "/vonage/answer": lambda body, q: webhooks.answer(body, links(), clock),
    "/vonage/events": lambda body, q: webhooks.event(body, q, links(), clock),
    "/vonage/ivr": lambda body, q: webhooks.ivr_input(body, q, links(), clock),
    "/vonage/challenge": lambda body, q: webhooks.challenge_input(body, q, links(), clock),
    "/vonage/notify": lambda body, q: webhooks.notify(body, q, clock),
    "/vonage/recording": lambda body, q: webhooks.recording(body, q, clock),
    "/vonage/tagging": lambda body, q: tagging.menu_input(body, q, links()),
    "/vonage/transcription": lambda body, q: webhooks.transcription(body, q, clock),
}


@bp.route("/vonage/fallback", methods=["GET", "POST"], content_types=VONAGE_TYPES)
@retryable
def vonage_fallback() -> Response:
    """The application's `fallback_answer_url`: Vonage sends here what the answer or event URL
    did not take (the original data plus `reason` and `original_request {url, type}`), and
    uses the NCCO we answer. Handled as the original webhook would have been."""
    body = vonage_request()
    original = body.get("original_request")
    if isinstance(original, str):           # a GET fallback carries it JSON-encoded
        try:
            original = json.loads(original)
        except ValueError:
            original = None
    if not isinstance(original, dict) or not isinstance(original.get("url"), str):
        raise BadRequest("a Vonage fallback names its original_request {url, type}")
    parts = urlsplit(original["url"])
    path = parts.path[parts.path.find("/vonage/"):] if "/vonage/" in parts.path else parts.path
    route = FALLBACK_ROUTES.get(path)
    if route is None:
        raise BadRequest(f"original_request.url: not a Calltrack webhook ({path})")
    webhooks.count_fallback(str(original.get("type") or ""), str(body.get("reason") or ""))
    data = {k: v for k, v in body.items() if k not in ("reason", "original_request")}
    return ncco_response(route(data, dict(parse_qsl(parts.query))))


@bp.route("/v1/callbacks", methods=["POST"], cors=PUBLIC_CORS, content_types=web.PUBLIC_CONTENT_TYPES)
def create_callback() -> Response:
    request = bp.current_request
    body = web.json_body(request, callbacks.REQUEST_SCHEMA)
    answer = callbacks.request(body, links(), clock, origin=web.header(request, "origin"),
                               user_agent=web.header(request, "user-agent") or "")
    return Response(body=answer, status_code=202, headers=web.json_headers())


def timestamp(raw: Optional[str], name: str, default: float) -> float:
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        pass
    from chalicelib.times import epoch

    at = epoch(raw)               # a time without an offset is UTC, whatever the server's zone
    if at is None:
        raise BadRequest(f"{name}: expected ISO 8601 or epoch seconds, got '{raw}'")
    return at


@bp.route("/v1/accounts/{account_id}/calls", methods=["GET"])
def list_calls(account_id: str) -> Dict[str, Any]:
    request = bp.current_request
    principal = require_account(web.header(request, "authorization"), account_id)
    q = dict(request.query_params or {})
    web.refuse_unknown(q, LIST_PARAMETERS)
    until = timestamp(q.get("until"), "until", clock())
    since = timestamp(q.get("since"), "since", until - DEFAULT_WINDOW_SECONDS)
    if since > until:
        raise BadRequest("since must not be after until")
    try:
        limit = min(MAX_LIMIT, max(1, int(q.get("limit") or 50)))
    except ValueError as err:
        raise BadRequest("limit: expected an integer") from err
    calls, cursor = store.page_calls(account_id, since, until, limit=limit, cursor=q.get("next"),
                                     status=q.get("status"), direction=q.get("direction"), source=q.get("source"),
                                     classification=q.get("classification"), spam_mode=q.get("spam") or "include",
                                     # an agent lists the calls they answered, whatever they ask
                                     agent=(principal.agent or "-") if principal.role == "agent" else None)
    return {"calls": calls, "next": cursor}


@bp.route("/v1/accounts/{account_id}/calls/{call_id}/story", methods=["GET"])
def get_call_story(account_id: str, call_id: str) -> Dict[str, Any]:
    """The call's detail page: caller, timeline, the visit's journey, the caller's other calls."""
    principal = require_account(web.header(bp.current_request, "authorization"), account_id)
    web.refuse_unknown(bp.current_request.query_params)
    told = story.story(account_id, call_id)
    require_own_call(principal, told["call"])
    if principal.role == "agent":     # the caller's other calls: only those this agent answered
        told["history"] = [h for h in told["history"] if h.get("agent") == principal.agent]
    return told


@bp.route("/v1/accounts/{account_id}/calls/{call_id}", methods=["GET"])
def get_call(account_id: str, call_id: str) -> Dict[str, Any]:
    principal = require_account(web.header(bp.current_request, "authorization"), account_id)
    return require_own_call(principal, store.get_call(account_id, call_id))
