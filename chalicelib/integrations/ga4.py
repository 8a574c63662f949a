"""GA4 Measurement Protocol: completed calls as GA4 events joined to the visit.

Per account, config section `ga4` (GA4_SCHEMA): `measurement_id`, `api_secret` (or
`api_secret_parameter`, an SSM SecureString name), optional `endpoint` (base URL: the EU
collection host `https://region1.google-analytics.com`, or a local stub in tests),
`currency` (default for calls without one), `enabled`.

One request per completed call (`build_payload`):
- `client_id`: the visitor's GA client id from the session's `_ga` cookie (`GA1.1.X.Y` → `X.Y`);
  static/offline calls get a stable generated id and `client_id_source: "generated"`;
- `timestamp_micros`: the call's start time (GA accepts up to 72 h back; older calls are a
  permanent failure, kept in the DLQ);
- events: `phone_call` (every call, with `call_status`) plus one per class the call has —
  `call_unique`, `call_target`, `call_repeated`, `call_first_target`, `call_unique_target` —
  so each can be marked a key event in GA;
- params: `session_id`, `engagement_time_msec`, attribution, durations, value/currency.

Never the caller's number or any other PII: string values are cleaned (URL query strings
dropped, phone-number-like and e-mail-like text redacted) and `validate_payload` then checks
the whole request against GA4's limits and the PII rules, raising before anything is sent.
GA answers 2xx even to bad data, so only network failures and 5xx/429 are retried.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any, Callable, Dict, List, Mapping, Optional
from urllib.parse import urlencode, urlsplit, urlunsplit

from chalicelib import accounts
from chalicelib.errors import BadGateway, Conflict, UnknownAccount
from chalicelib.integrations import idempotency, outbound, parameters
from chalicelib.integrations.errors import PermanentError, RetryableError
from chalicelib.observability import count, logger
from chalicelib.times import epoch

DEFAULT_ENDPOINT = "https://www.google-analytics.com"
COLLECT_PATH = "/mp/collect"
MAX_EVENTS = 25
MAX_PARAMS = 25
MAX_NAME = 40
MAX_VALUE = 100
MAX_USER_PROPERTY_NAME = 24
MAX_USER_PROPERTY_VALUE = 36
MAX_BODY_BYTES = 130_000
MAX_AGE_SECONDS = 72 * 3600
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# GA4's reserved names (web and app streams; "Event naming rules" and the MP reference).
RESERVED_EVENT_NAMES = frozenset("""
ad_activeview ad_click ad_exposure ad_impression ad_query ad_reward adunit_exposure app_background
app_clear_data app_exception app_install app_remove app_store_refund app_store_subscription_cancel
app_store_subscription_convert app_store_subscription_renew app_update app_upgrade click
dynamic_link_app_open dynamic_link_app_update dynamic_link_first_open error file_download
firebase_campaign firebase_in_app_message_action firebase_in_app_message_dismiss
firebase_in_app_message_impression first_open first_visit form_start form_submit in_app_purchase
notification_dismiss notification_foreground notification_open notification_receive notification_send
os_update page_view screen_view scroll session_start session_start_with_rollout user_engagement
video_complete video_progress video_start view_complete view_search_results
""".split())
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
# Reserved for collected events; MP documents session_id and engagement_time_msec as the
# way to join a session, so those two are allowed here and only the rest refused.
RESERVED_PARAM_NAMES = frozenset({"gclid", "session_number", "firebase_conversion"})
MP_SESSION_PARAMS = frozenset({"session_id", "engagement_time_msec"})
RESERVED_USER_PROPERTIES = frozenset({"first_open_time", "first_visit_time", "last_deep_link_referrer",
                                      "user_id", "first_open_after_install"})

CLASS_EVENTS = {  # classification key → GA4 event name
    "unique": "call_unique",
    "target": "call_target",
    "repeated": "call_repeated",
    "first_target": "call_first_target",
    "unique_target": "call_unique_target",
}
GENERAL_EVENT = "phone_call"

# Any token with an "@" (or its URL encoding) is treated as an e-mail address, even cut short
# ("jo@", "jo@example.c" are still someone's): GA4 must never hold one, so we over-redact.
EMAIL_RE = re.compile(r"[^\s,;:]*(?:@|%40)[^\s,;:]*", re.IGNORECASE)
# A run of 7–15 digits, optionally with + ( ) . - / or spaces between, not glued to letters.
PHONE_RE = re.compile(r"(?<![A-Za-z0-9_])\+?\(?\d(?:[\s().\-/]{0,3}\d){6,14}(?![A-Za-z0-9_])")
REDACTED = "[redacted]"

GA4_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "required": ["measurement_id"],
    "anyOf": [{"required": ["api_secret"]}, {"required": ["api_secret_parameter"]}],
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean"},
        "measurement_id": {"type": "string", "pattern": "^G-[A-Z0-9]{4,20}$"},
        "api_secret": {"type": "string", "minLength": 8, "maxLength": 100},
        "api_secret_parameter": {"type": "string", "pattern": "^/calltrack/[A-Za-z0-9_./-]{1,200}$"},
        "endpoint": {"type": "string", "pattern": "^https?://[^/?#]+/?$", "maxLength": 200},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    },
}


class InvalidGa4Payload(PermanentError):
    """The request would break a GA4 limit or carry PII: never sent."""


# ---------------------------------------------------------------- payload

def client_id(detail: Mapping[str, Any]) -> tuple:
    """(client id, source): from the `_ga` cookie value when it has one, else generated
    stably from the call so a retry sends the same id."""
    raw = (detail.get("ga_client_id") or "").strip()
    match = re.fullmatch(r"(?:GA\d+\.\d+\.)?(\d{1,20}\.\d{1,20})", raw)
    if match:
        return match.group(1), "cookie"
    digest = hashlib.sha256(f"{detail.get('account_id')}#{detail.get('call_id')}".encode()).hexdigest()
    return f"{int(digest[:8], 16)}.{int(_epoch(detail.get('started_at')) or 0)}", "generated"


def ga_session_id(detail: Mapping[str, Any]) -> Optional[int]:
    """GA4's session id when the snippet captured it (`ga_session_id`), else a stable number
    derived from our session, so the call's events share one session per visit."""
    explicit = detail.get("ga_session_id")
    if explicit and str(explicit).isdigit():
        return int(explicit)
    session = detail.get("session_id")
    if not session:
        return None
    return int(hashlib.sha256(str(session).encode()).hexdigest()[:8], 16)


def clean_text(value: Any) -> Optional[str]:
    """A string param value GA may hold: no query string, no PII-looking text, ≤ 100 chars."""
    if value is None:
        return None
    text = str(value)
    if "://" in text:
        parts = urlsplit(text)
        text = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    text = EMAIL_RE.sub(REDACTED, text)
    text = PHONE_RE.sub(REDACTED, text)
    return text[:MAX_VALUE]


def common_params(detail: Mapping[str, Any], currency: Optional[str], id_source: str) -> Dict[str, Any]:
    params: Dict[str, Any] = {
        "session_id": ga_session_id(detail),
        "engagement_time_msec": 1,
        "call_status": clean_text(detail.get("status")),
        "call_direction": clean_text(detail.get("direction")),
        "tracking_method": clean_text(detail.get("method")),
        "call_source": clean_text(detail.get("source")),
        "call_medium": clean_text(detail.get("medium")),
        "call_campaign": clean_text(detail.get("campaign")),
        "call_keyword": clean_text(detail.get("keyword")),
        "call_content": clean_text(detail.get("content")),
        "landing_page": clean_text(detail.get("landing_page")),
        "department": clean_text(detail.get("department")),
        "country": clean_text(detail.get("country")),
        "talk_seconds": _number(detail.get("talk_seconds")),
        "wait_seconds": _number(detail.get("wait_seconds")),
        "duration_seconds": _number(detail.get("duration_seconds")),
        "within_working_hours": None if detail.get("within_working_hours") is None
        else int(bool(detail.get("within_working_hours"))),
        "tags": clean_text(",".join(f"{t.get('category')}:{t.get('value')}" for t in detail.get("tags") or [])) or None,
        "client_id_source": id_source,
    }
    value = _number(detail.get("value"))
    if value is not None:
        params["value"] = value
        params["currency"] = detail.get("currency") or currency
    return {k: v for k, v in params.items() if v is not None and v != ""}


def event_names(detail: Mapping[str, Any]) -> List[str]:
    classes = detail.get("classification") or {}
    return [GENERAL_EVENT] + [name for key, name in CLASS_EVENTS.items() if classes.get(key)]


def build_payload(detail: Mapping[str, Any], currency: Optional[str] = None) -> Dict[str, Any]:
    cid, source = client_id(detail)
    params = common_params(detail, currency, source)
    payload: Dict[str, Any] = {
        "client_id": cid,
        "events": [{"name": name, "params": dict(params)} for name in event_names(detail)],
    }
    started = _epoch(detail.get("started_at"))
    if started:
        payload["timestamp_micros"] = int(started * 1_000_000)
    return payload


# ---------------------------------------------------------------- validation

def find_pii(text: str, caller: Optional[str] = None) -> Optional[str]:
    """What PII `text` holds ('email', 'phone number', 'caller'), or None."""
    if EMAIL_RE.search(text):
        return "email"
    if PHONE_RE.search(text):
        return "phone number"
    if caller:
        digits = re.sub(r"\D", "", caller)
        if len(digits) >= 7 and digits[-7:] in re.sub(r"\D", "", text):
            return "caller"
    return None


def _check_name(name: Any, what: str, max_len: int = MAX_NAME) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidGa4Payload(f"{what} {name!r}: letters, digits and _ only, starting with a letter")
    if len(name) > max_len:
        raise InvalidGa4Payload(f"{what} {name!r} is longer than {max_len} characters")
    if name.lower().startswith(RESERVED_PREFIXES):
        raise InvalidGa4Payload(f"{what} {name!r} uses a reserved prefix")


def validate_payload(payload: Mapping[str, Any], caller: Optional[str] = None,
                     now: Optional[float] = None) -> None:
    """Raise InvalidGa4Payload if GA4 would drop or refuse it, or if it carries PII."""
    if not isinstance(payload.get("client_id"), str) or not payload["client_id"]:
        raise InvalidGa4Payload("client_id is required")
    events = payload.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise InvalidGa4Payload(f"a request holds 1–{MAX_EVENTS} events")
    for event in events:
        name = event.get("name")
        _check_name(name, "event name")
        if name in RESERVED_EVENT_NAMES:
            raise InvalidGa4Payload(f"event name {name!r} is reserved")
        params = event.get("params") or {}
        if len(params) > MAX_PARAMS:
            raise InvalidGa4Payload(f"event {name!r} has {len(params)} params; at most {MAX_PARAMS}")
        for key, value in params.items():
            _check_name(key, "param name")
            if key in RESERVED_PARAM_NAMES:
                raise InvalidGa4Payload(f"param name {key!r} is reserved")
            _check_value(f"{name}.{key}", value, MAX_VALUE, caller, key in MP_SESSION_PARAMS)
    for key, prop in (payload.get("user_properties") or {}).items():
        _check_name(key, "user property", MAX_USER_PROPERTY_NAME)
        if key in RESERVED_USER_PROPERTIES:
            raise InvalidGa4Payload(f"user property {key!r} is reserved")
        _check_value(f"user_properties.{key}", (prop or {}).get("value"), MAX_USER_PROPERTY_VALUE, caller)
    stamp = payload.get("timestamp_micros")
    if stamp is not None and now is not None and stamp / 1e6 < now - MAX_AGE_SECONDS:
        raise InvalidGa4Payload("timestamp_micros is more than 72 hours back: GA4 would drop the events")
    size = len(json.dumps(payload).encode())
    if size >= MAX_BODY_BYTES:
        raise InvalidGa4Payload(f"body is {size} bytes; GA4 takes less than {MAX_BODY_BYTES}")


def _check_value(where: str, value: Any, max_len: int, caller: Optional[str], numeric_id: bool = False) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        if caller and not numeric_id and isinstance(value, int) and find_pii(str(value), caller) == "caller":
            raise InvalidGa4Payload(f"{where} holds the caller's number")
        return
    if not isinstance(value, str):
        raise InvalidGa4Payload(f"{where}: values are strings or numbers")
    if len(value) > max_len:
        raise InvalidGa4Payload(f"{where} is {len(value)} characters; at most {max_len}")
    pii = find_pii(value, caller)
    if pii:
        raise InvalidGa4Payload(f"{where} looks like it holds PII ({pii})")


# ---------------------------------------------------------------- sending

def collect_url(cfg: Mapping[str, Any], api_secret: str) -> str:
    base = (cfg.get("endpoint") or DEFAULT_ENDPOINT).rstrip("/")
    return f"{base}{COLLECT_PATH}?" + urlencode({"measurement_id": cfg["measurement_id"], "api_secret": api_secret})


def api_secret(cfg: Mapping[str, Any]) -> str:
    if cfg.get("api_secret"):
        return str(cfg["api_secret"])
    if cfg.get("api_secret_parameter"):
        return parameters.secret(cfg["api_secret_parameter"])
    raise PermanentError("ga4: no api_secret or api_secret_parameter configured")


def send(payload: Mapping[str, Any], cfg: Mapping[str, Any]) -> int:
    status, text = outbound.post(collect_url(cfg, api_secret(cfg)), json.dumps(payload).encode(), {})
    if outbound.is_retryable_status(status):
        raise RetryableError(f"GA4 answered {status}")
    if status >= 300:
        raise PermanentError(f"GA4 answered {outbound.reason(status)}")   # never the target's body
    return status


DEBUG_PATH = "/debug/mp/collect"


def debug_url(cfg: Mapping[str, Any], api_secret: str) -> str:
    """GA4's validation server: the same request, checked and answered, never recorded."""
    return collect_url(cfg, api_secret).replace(COLLECT_PATH + "?", DEBUG_PATH + "?", 1)


def validate_with_ga4(account_id: str, detail: Mapping[str, Any], clock: Callable[[], float] = time.time
                      ) -> Dict[str, Any]:
    """What GA4's validation server says of the request this call would send: its
    `validationMessages`, next to our own check (PII, names, sizes). Nothing is recorded
    in GA and nothing is marked sent."""
    cfg = accounts.get_account(account_id).config.get("ga4") or {}
    if not cfg.get("measurement_id"):
        raise Conflict("this account has no ga4 section (measurement_id) to validate")
    payload = build_payload(detail, cfg.get("currency"))
    try:
        validate_payload(payload, caller=detail.get("caller"), now=clock())
        ours: Optional[str] = None
    except PermanentError as err:
        ours = str(err)
    try:
        url = debug_url(cfg, api_secret(cfg))
        status, text = outbound.post(url, json.dumps(payload).encode(), {})
    except (PermanentError, RetryableError) as err:
        raise BadGateway(f"ga4 validation server: {err}") from err
    try:
        answer = json.loads(text) if text else {}
    except ValueError:
        answer = {}
    messages = answer.get("validationMessages") if isinstance(answer, dict) else None
    return {
        "endpoint": outbound.where(url), "status_code": status, "call_id": detail.get("call_id"),
        "events": [e["name"] for e in payload["events"]],
        "validation_messages": messages if isinstance(messages, list) else [],
        "local_check": ours,
        "valid": 200 <= status < 300 and not messages and ours is None,
    }


VALUE_EVENT = "call_value_update"
QUALIFIED_EVENT = "qualified_lead"   # the account's rules labelled the call a qualified lead (Call Analyzed)


def call_value(detail: Mapping[str, Any], nominal: float) -> Optional[float]:
    """The value GA gets for a call: its own (tags), else the account's nominal value."""
    value = _number(detail.get("value"))
    if value is None and nominal > 0:
        value = float(nominal)
    return value


def handle(event: Dict[str, Any], clock: Callable[[], float] = time.time) -> None:
    """Consumer entry point (registry `ga4`): one MP request per completed call; a value
    update when a tagged call's value changes after GA got it."""
    detail = event["detail"]
    try:
        account = accounts.get_account(detail["account_id"])
    except UnknownAccount:
        return  # the account was deleted: nothing to report to
    cfg = account.config.get("ga4") or {}
    if not cfg.get("measurement_id") or cfg.get("enabled") is False:
        return
    if event.get("detail-type") == "Call Tagged":
        return value_update(detail, cfg, account.settings.default_value, clock)
    if event.get("detail-type") == "Call Analyzed":
        return qualified_lead(detail, cfg, account.settings.default_value, clock)
    if event.get("detail-type") != "Call Completed" or detail.get("status") == "in_progress":
        return
    if detail.get("spam"):
        count("Ga4SpamSkipped")          # spam never reaches GA (calls/spam.py)
        return
    value = call_value(detail, account.settings.default_value)
    payload = build_payload({**detail, "value": value}, cfg.get("currency"))
    validate_payload(payload, caller=detail.get("caller"), now=clock())
    if detail.get("classification_final") is False:
        # An earlier call of the same caller is still open: its end may make it the first
        # and this one a repeat. GA cannot take an event back, so the class events wait for
        # the call's announcement with final classes (the earlier call's settling sends it).
        payload["events"] = [e for e in payload["events"] if e["name"] == GENERAL_EVENT]
        count("Ga4ClassEventsWithheld")
    # Each GA event once per call: a call is announced again when it is corrected (a late
    # webhook, a reclassification), and GA cannot take an event back, so a second
    # `phone_call` or class event would count the call twice in GA and in Ads imports.
    keys = {e["name"]: f"ga4#call#{detail['account_id']}#{detail.get('call_id')}#{e['name']}"
            for e in payload["events"]}
    payload["events"] = [e for e in payload["events"] if idempotency.claim(keys[e["name"]], clock)]
    if not payload["events"]:
        count("Ga4CallAlreadySent")
        return
    try:
        send(payload, cfg)
    except Exception:
        for e in payload["events"]:
            idempotency.release(keys[e["name"]])
        raise
    for e in payload["events"]:
        idempotency.mark_done(keys[e["name"]], clock)
    if any(e["name"] == GENERAL_EVENT for e in payload["events"]):
        idempotency.remember_value(_value_key(detail), value or 0.0, clock)
    count("Ga4EventsSent", len(payload["events"]))
    logger.info("ga4 sent", extra={"call_id": detail.get("call_id"), "events": [e["name"] for e in payload["events"]]})


def qualified_lead(analyzed: Mapping[str, Any], cfg: Mapping[str, Any], nominal: float,
                   clock: Callable[[], float] = time.time) -> None:
    """The account's rules labelled the call a qualified lead (`Call Analyzed`): one
    `qualified_lead` event per call, ever — a repeated or re-analysed call sends nothing more,
    as GA cannot take an event back. It carries the call's facts, the lead score and the ids
    of the rules that fired, never the transcript's text."""
    from chalicelib.calls import store
    from chalicelib.errors import NotFound

    if analyzed.get("lead") != "qualified":
        return
    try:
        call = store.get_call(str(analyzed["account_id"]), str(analyzed.get("call_id")))
    except NotFound:
        return
    if call.get("spam"):
        count("Ga4SpamSkipped")          # spam never reaches GA (calls/spam.py)
        return
    started = _epoch(call.get("started_at"))
    if started is None or clock() - started > MAX_AGE_SECONDS:
        count("Ga4QualifiedTooLate")       # GA refuses events this old: nothing to send
        return
    payload = build_payload({**call, "classification": None, "value": call_value(call, nominal)}, cfg.get("currency"))
    params = dict(payload["events"][0]["params"])
    params["lead_score"] = int(analyzed.get("score") or 0)
    rules = clean_text(",".join(str(r.get("rule")) for r in analyzed.get("rules_fired") or [] if r.get("rule")))
    if rules:
        params["lead_rules"] = rules
    payload["events"] = [{"name": QUALIFIED_EVENT, "params": params}]
    validate_payload(payload, caller=call.get("caller"), now=clock())
    key = f"ga4#call#{analyzed['account_id']}#{analyzed.get('call_id')}#{QUALIFIED_EVENT}"
    if not idempotency.claim(key, clock):
        count("Ga4CallAlreadySent")
        return
    try:
        send(payload, cfg)
    except Exception:
        idempotency.release(key)
        raise
    idempotency.mark_done(key, clock)
    count("Ga4EventsSent")


def _value_key(detail: Mapping[str, Any]) -> str:
    return f"ga4#value#{detail['account_id']}#{detail.get('call_id')}"


def value_update(tagged: Mapping[str, Any], cfg: Mapping[str, Any], nominal: float,
                 clock: Callable[[], float] = time.time) -> None:
    """A call's value changed after GA got its `phone_call`: send `call_value_update` with the
    difference as `value` (GA sums it: value reports add up to the call's latest value), and
    never another `phone_call` or class event, so no conversion is counted twice. The value GA
    holds is kept beside the receipts; a conditional write makes each change count once."""
    from chalicelib.calls import store
    from chalicelib.errors import NotFound

    try:
        call = store.get_call(str(tagged["account_id"]), str(tagged.get("call_id")))
    except NotFound:
        return
    if call.get("spam"):
        return      # spam: GA got no phone_call for it (or, found late, gets nothing more)
    key = _value_key(tagged)
    sent = idempotency.value_of(key)
    started = _epoch(call.get("started_at"))
    if sent is None and (started is None or clock() - started > MAX_AGE_SECONDS):
        return      # GA never got this call and never will (too old for it): nothing to update
    if sent is None:
        # GA has not got the call yet (its Call Completed is on the way): retried until it has.
        raise RetryableError(f"ga4: call {tagged.get('call_id')} not sent yet; its value update waits")
    # The call's value now, not the event's: two tags in a row can be handled out of order.
    new = call_value(call, nominal) or 0.0
    delta = round(new - sent, 6)
    if delta == 0:
        return
    payload = build_payload({**call, "classification": None, "value": delta}, cfg.get("currency"))
    payload["events"] = [{"name": VALUE_EVENT, "params": {**payload["events"][0]["params"], "call_value": new}}]
    validate_payload(payload, caller=call.get("caller"), now=clock())
    if not idempotency.change_value(key, sent, new, clock):
        raise RetryableError(f"ga4: value of {tagged.get('call_id')} changed meanwhile; retried")
    try:
        send(payload, cfg)
    except Exception:
        idempotency.change_value(key, new, sent, clock)      # GA did not get it: hold the old value again
        raise
    count("Ga4ValueUpdates")


def _number(value: Any) -> Optional[float]:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else round(number, 2)


def _epoch(iso: Optional[str]) -> Optional[float]:
    return epoch(iso)
