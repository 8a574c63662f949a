"""The OpenAPI 3.1 document of every public route, built from the same JSON Schema
constants the routes validate with, so the document cannot say one thing while the
code checks another. `python -m chalicelib.admin.openapi` rewrites `openapi.yaml`;
a test compares that file's paths and methods with the app's routes.

Each route of the app needs an entry in OPERATIONS (any domain's routes: keep this
catalogue in step when adding one). Entries for routes the app does not have (yet)
are left out of the written document.
"""
from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from chalicelib import sections, vocabulary
from chalicelib.admin import schemas
from chalicelib.dni import schemas as dni_schemas
from chalicelib.settings import SETTINGS_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi.yaml"
ACCOUNT = "/v1/accounts/{account_id}"

STRING = {"type": "string"}
ANY_OBJECT = {"type": "object"}
PATH_PARAMS: Dict[str, Dict[str, Any]] = {
    "account_id": {"type": "string", "pattern": "^[a-z0-9_-]{1,40}$"},
    "key_id": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "The key's SHA-256 (from the key list)"},
    "number": {**schemas.E164, "description": "E.164; `%2B` for the plus, or digits only"},
    "pool_id": schemas.POOL_ID,
    "section": {"type": "string", "enum": sorted(sections.SECTIONS),
                "description": "A registered configuration section (schemas under x-section-schemas)"},
    "session_id": {"type": "string", "minLength": 1, "maxLength": 160},
    "call_id": {"type": "string", "minLength": 1, "maxLength": 100},
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "subscription_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "user_id": {"type": "string", "minLength": 1, "maxLength": 128, "description": "The person's Cognito sub"},
}


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    tag: str
    auth: str = "key"                       # key | admin | vonage | user | none
    body: Optional[Mapping[str, Any]] = None
    body_types: Tuple[str, ...] = ("application/json",)
    body_optional: bool = False
    status: int = 200
    response: Mapping[str, Any] = field(default_factory=lambda: ANY_OBJECT)
    response_type: str = "application/json"
    query: Sequence[Tuple[str, Mapping[str, Any], str]] = ()
    required_query: Tuple[str, ...] = ()
    also: Tuple[int, ...] = ()              # other success statuses (204: nothing to say)
    errors: Tuple[int, ...] = (400, 404)


def _schema(module: str, name: str) -> Mapping[str, Any]:
    """Another domain's schema constant; an open object until that module exists."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return ANY_OBJECT


# Responses ----------------------------------------------------------------------------
ACCOUNT_VIEW = {"type": "object", "required": ["account_id", "name", "domains", "default_number"],
                "properties": {"account_id": STRING, "name": STRING, "domains": {"type": "array", "items": STRING},
                               "default_number": STRING, "created_at": {"type": ["string", "null"]}}}
KEY_VIEW = {"type": "object", "required": ["key_id", "label", "created_at", "revoked"],
            "properties": {"key_id": STRING, "label": STRING, "created_at": {"type": ["string", "null"]},
                           "revoked": {"type": "boolean"},
                           "key": {"type": "string", "description": "Plaintext: only in the create/rotate answer"},
                           "replaces": STRING}}
NUMBER_VIEW = {"type": "object", "required": ["number", "kind", "enabled", "leased"],
               "properties": {"number": STRING, "display": STRING, "kind": {"enum": ["pool", "static", "default"]},
                              "pool_id": {"type": ["string", "null"]}, "source": {"type": ["string", "null"]},
                              "country": {"type": ["string", "null"]}, "enabled": {"type": "boolean"},
                              "leased": {"type": "boolean"}, "lease_until": {"type": ["string", "null"]},
                              "lease_count": {"type": "integer"}, "created": {"type": "boolean"}}}
POOL_VIEW = {"type": "object", "required": ["pool_id", "size", "busy"],
             "properties": {"pool_id": STRING, "size": {"type": "integer"}, "enabled": {"type": "integer"},
                            "busy": {"type": "integer"}, "free": {"type": "integer"},
                            "utilisation": {"type": ["number", "null"]}, "default": {"type": "boolean"},
                            "numbers": {"type": "array", "items": NUMBER_VIEW}}}
SECTION_VIEW = {"type": "object", "required": ["section", "value"], "properties": {"section": STRING, "value": {}}}
LEASE_VIEW = {"type": "object", "required": ["number", "method"],
              "properties": {"session_id": {"type": ["string", "null"]}, "number": STRING, "display": STRING,
                             "method": {"enum": ["dynamic", "static", "default"]}, "expires_at": {"type": ["string", "null"]},
                             "heartbeat_seconds": {"type": ["integer", "null"]},
                             "idle_seconds": {"type": "integer", "minimum": 0, "description": (
                                 "A pool number's page stops beating after this long without input "
                                 "(pointer, key, scroll, touch, focus) and resumes on the next; 0: never")},
                             "cookie_domain": {"type": "string", "description": (
                                 "Domain the snippet sets its session cookie on so subdomains "
                                 "share the session; absent: the page's own host")}}}

PUBLIC_TYPES = ("application/json", "text/plain")
VONAGE_TYPES = ("application/json",)
VONAGE_BODY = {"type": "object", "properties": {
    "uuid": STRING, "conversation_uuid": STRING, "to": STRING, "from": STRING, "status": STRING,
    "direction": STRING, "timestamp": STRING, "duration": STRING, "recording_url": STRING,
    "dtmf": {"type": ["object", "string"], "description": "{digits, timed_out}; legacy: the digits as a string"},
    "timed_out": {"type": "boolean"}, "speech": {"type": "object"}, "call_uuid": STRING, "sub_state": STRING,
    "payload": {"type": "object", "description": "notify: our NCCO's payload"}}}
FALLBACK_BODY = {"type": "object", "required": ["original_request"], "properties": {
    **VONAGE_BODY["properties"], "reason": STRING,
    "original_request": {"type": "object", "required": ["url"], "properties": {"url": STRING, "type": STRING}}}}
VONAGE_QUERY = (("to", STRING, "Called number"), ("from", STRING, "Caller"), ("uuid", STRING, "Leg"),
                ("conversation_uuid", STRING, "Conversation"))
WHISPER_QUERY = (("source", STRING, "Source"), ("department", STRING, "Department"), ("lang", STRING, "Language"))
NCCO = {"type": "array", "items": {"type": "object"}}
CSV = "text/csv"
DATE = {"type": "string", "description": "YYYY-MM-DD (a whole day in the account's time zone) or ISO 8601"}
LIST = {"type": "string", "description": "comma-separated values"}
BOOL = {"type": "string", "enum": ["true", "false"]}
SECONDS = {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"}
REPORT_GROUPS = ["source", "medium", "campaign", "keyword", "content", "landing_page", "method", "tracking_number",
                 "country", "device", "browser", "os", "referrer", "status", "tag", "agent", "direction",
                 "department", "lead", "score_band", "day", "week", "hour"]
REPORT_QUERY = (
    ("group_by", {"type": "string", "enum": REPORT_GROUPS}, "Group rows by (default source)"),
    ("series", {"type": "string", "enum": REPORT_GROUPS}, "A second dimension, e.g. day, for charts"),
    ("from", DATE, "Start (default: 30 days before `to`)"),
    ("to", DATE, "End (default: now)"),
    ("direction", LIST, "inbound, outbound, callback"),
    ("status", LIST, "Final statuses (answered, missed, voicemail, ...)"),
    ("outcome", {"type": "string", "enum": ["answered", "missed"]}, "Answered or any missed status"),
    ("within_working_hours", BOOL, "Only calls inside/outside working hours"),
    ("min_wait", SECONDS, "Minimum wait (ring) seconds"),
    ("min_talk", SECONDS, "Minimum talk seconds"),
    ("class", LIST, "unique, target, first_target, unique_target, repeated"),
    ("tag", LIST, "Tag categories or category:value"),
    ("source", LIST, "Any source field filters likewise: medium, campaign, keyword, country, device, ..."),
    ("medium", LIST, "Medium"), ("campaign", LIST, "Campaign"), ("country", LIST, "Country (ISO 3166 alpha-2)"),
    ("lead", LIST, "The conversation rules' labels: qualified, converted, not_lead, spam, (none)"),
    ("score_band", LIST, "Lead score bands: 0-24, 25-49, 50-74, 75-100, (none)"),
    ("spam", {"type": "string", "enum": ["exclude", "include", "only"]},
     "Spam calls: left out (default), counted with the rest, or alone"),
    ("include", {"type": "string", "enum": ["calls"]}, "Also list the matching calls (drill-down)"),
    ("limit", {"type": "string", "pattern": "^[0-9]{1,4}$"}, "Calls listed with include=calls (1-1000)"),
    ("format", {"type": "string", "enum": ["json", "csv"]}, "csv: a CSV export of the rows or calls"),
)

SIGNED_IN = {"type": "object", "properties": {
    "access_token": {**STRING, "description": "Send as `Authorization: Bearer …` (one hour)"},
    "id_token": STRING, "refresh_token": STRING, "expires_in": {"type": "integer"},
    "accounts": {"type": "array", "items": {"type": "object", "properties": {"account_id": STRING, "role": STRING}}},
    "challenge": {**STRING, "description": "Instead of tokens: what to answer at /v1/auth/challenge"},
    "session": STRING}}

OPERATIONS: List[Op] = [
    # The snippet (docs/snippet.md).
    Op("POST", "/v1/sessions", "Lease a tracking number for a visit", "sessions", auth="none",
       body=dni_schemas.SESSION_REQUEST, body_types=PUBLIC_TYPES, response=LEASE_VIEW, errors=(400, 404)),
    Op("POST", "/v1/sessions/{session_id}/heartbeat", "Keep the visit's number", "sessions", auth="none",
       body=dni_schemas.HEARTBEAT_REQUEST, body_types=PUBLIC_TYPES, body_optional=True, errors=(400, 404, 410)),
    Op("POST", "/v1/callbacks", "Callback widget: call the business, then the visitor", "calls", auth="none",
       body=_schema("chalicelib.calls.callbacks", "REQUEST_SCHEMA"), body_types=PUBLIC_TYPES, status=202,
       errors=(400, 404)),
    # Vonage Voice API webhooks (docs/vonage.md), as Vonage sends them; signed JWT when configured.
    Op("GET", "/vonage/answer", "Answer URL: the call's NCCO", "vonage", auth="vonage", query=VONAGE_QUERY,
       response=NCCO, also=(204,)),
    Op("POST", "/vonage/answer", "Answer URL: the call's NCCO", "vonage", auth="vonage", body=VONAGE_BODY,
       body_types=VONAGE_TYPES, response=NCCO, also=(204,)),
    Op("POST", "/vonage/events", "Event URL: call status changes", "vonage", auth="vonage", body=VONAGE_BODY,
       body_types=VONAGE_TYPES, response=NCCO, also=(204,), query=VONAGE_QUERY),
    Op("POST", "/vonage/ivr", "Voice menu input", "vonage", auth="vonage", body=VONAGE_BODY,
       body_types=VONAGE_TYPES, response=NCCO, also=(204,), query=VONAGE_QUERY),
    Op("POST", "/vonage/challenge", "The caller's key at the press-a-key check (numbers under attack)", "vonage",
       auth="vonage", body=VONAGE_BODY, body_types=VONAGE_TYPES, response=NCCO, also=(204,), query=VONAGE_QUERY),
    Op("POST", "/vonage/recording", "Recording ready", "vonage", auth="vonage", body=VONAGE_BODY,
       body_types=VONAGE_TYPES, status=204, response=NCCO, query=VONAGE_QUERY),
    Op("POST", "/vonage/transcription", "Transcript of the call's recording ready (kept, read later)", "vonage",
       auth="vonage", body=VONAGE_BODY, body_types=VONAGE_TYPES, status=204, response=NCCO,
       query=(("call", STRING, "Call id"),)),
    Op("POST", "/vonage/tagging", "Post-call tagging keypad input", "vonage", auth="vonage", body=VONAGE_BODY,
       body_types=VONAGE_TYPES, response=NCCO, also=(204,), query=VONAGE_QUERY),
    Op("POST", "/vonage/notify", "A step our NCCO reached (notify action)", "vonage", auth="vonage",
       body=VONAGE_BODY, body_types=VONAGE_TYPES, status=204, response=NCCO,
       query=(("call", STRING, "Call id"), ("step", STRING, "voicemail | bridged"))),
    Op("GET", "/vonage/fallback", "Fallback URL: what the answer or event URL did not take", "vonage",
       auth="vonage", query=VONAGE_QUERY + (("original_request", STRING, "JSON {url, type}"),
                                            ("reason", STRING, "Why Vonage fell back")), response=NCCO, also=(204,)),
    Op("POST", "/vonage/fallback", "Fallback URL: what the answer or event URL did not take", "vonage",
       auth="vonage", body=FALLBACK_BODY, body_types=VONAGE_TYPES, response=NCCO, also=(204,)),
    Op("GET", "/vonage/whisper", "Whisper to the agent: the call's source", "vonage", auth="vonage",
       query=VONAGE_QUERY + WHISPER_QUERY, response=NCCO, also=(204,)),
    Op("POST", "/vonage/whisper", "Whisper to the agent: the call's source", "vonage", auth="vonage",
       body=VONAGE_BODY, body_types=VONAGE_TYPES, query=WHISPER_QUERY, response=NCCO, also=(204,)),
    # Calls (docs/calls.md).
    Op("GET", ACCOUNT + "/calls", "Calls, newest first, paginated", "calls",
       query=(("since", DATE, "ISO 8601 or epoch seconds (default: 31 days before until)"),
              ("until", DATE, "ISO 8601 or epoch seconds (default: now)"),
              ("limit", {"type": "string", "pattern": "^[0-9]{1,3}$"}, "1-200 (default 50)"),
              ("next", STRING, "The `next` cursor of the previous page"),
              ("status", STRING, "Final status"), ("direction", {"type": "string", "enum": ["inbound", "outbound", "callback"]}, "Direction"),
              ("source", STRING, "Source"),
              ("classification", {"type": "string", "enum": list(vocabulary.CLASSES)}, "Class"),
              ("spam", {"type": "string", "enum": ["include", "exclude", "only"]},
               "Spam calls: listed and marked (default), left out, or alone")),
       response={"type": "object", "required": ["calls", "next"],
                 "properties": {"calls": {"type": "array", "items": ANY_OBJECT}, "next": {"type": ["string", "null"]}}}),
    Op("GET", ACCOUNT + "/calls/{call_id}", "One call with its attribution and classification", "calls"),
    Op("GET", ACCOUNT + "/calls/{call_id}/story", "The call's detail page: the caller (formatted, where the number "
       "is registered), its timeline, the visit's journey with the pages and their times, the caller's other calls",
       "calls", errors=(404,)),
    # Accounts and keys.
    Op("POST", "/v1/accounts", "Create an account (operator's admin token); answers its first API key once",
       "accounts", auth="admin", body=schemas.CREATE_ACCOUNT, status=201, errors=(400, 401, 409),
       response={"type": "object", "required": ["account", "api_key"],
                 "properties": {"account": ACCOUNT_VIEW, "api_key": KEY_VIEW}}),
    Op("GET", ACCOUNT, "The account's profile", "accounts", response=ACCOUNT_VIEW),
    Op("PATCH", ACCOUNT, "Change name, domains or default number", "accounts", body=schemas.UPDATE_ACCOUNT,
       response=ACCOUNT_VIEW, errors=(400, 404, 409)),
    Op("GET", ACCOUNT + "/keys", "API keys (hashes and labels, never plaintext)", "keys",
       response={"type": "object", "properties": {"keys": {"type": "array", "items": KEY_VIEW}}}),
    Op("POST", ACCOUNT + "/keys", "Create an API key; the plaintext is in this answer only", "keys",
       body=schemas.CREATE_KEY, body_optional=True, status=201, response=KEY_VIEW),
    Op("POST", ACCOUNT + "/keys/{key_id}/rotate", "Replace a key: new key answered, old one revoked", "keys",
       status=201, response=KEY_VIEW, errors=(404, 409)),
    Op("DELETE", ACCOUNT + "/keys/{key_id}", "Revoke a key (not the last active one)", "keys",
       response=KEY_VIEW, errors=(404, 409)),
    # Settings and configuration.
    Op("GET", ACCOUNT + "/settings", "Every setting, stored or default", "settings", response=SETTINGS_SCHEMA),
    Op("PATCH", ACCOUNT + "/settings", "Change some settings (merged)", "settings", body=SETTINGS_SCHEMA,
       response=ANY_OBJECT),
    Op("GET", ACCOUNT + "/rules", "Tracking rules", "configuration", response=schemas.RULES),
    Op("PUT", ACCOUNT + "/rules", "Replace the tracking rules", "configuration", body=schemas.RULES,
       response=schemas.RULES),
    Op("GET", ACCOUNT + "/geo", "Geo rules", "configuration", response=schemas.GEO),
    Op("PUT", ACCOUNT + "/geo", "Replace the geo rules", "configuration", body=schemas.GEO, response=schemas.GEO),
    Op("GET", ACCOUNT + "/config", "Every registered configuration section's value", "configuration",
       response={"type": "object", "properties": {
           "sections": ANY_OBJECT, "schemas": {**ANY_OBJECT, "description": "each section's JSON Schema"},
           "resources": {**ANY_OBJECT, "description": "the bodies of PUT /rules and PUT /geo"}}}),
    Op("GET", ACCOUNT + "/config/{section}", "One configuration section", "configuration", response=SECTION_VIEW),
    Op("PUT", ACCOUNT + "/config/{section}", "Replace one section; `value` is validated by the section's schema "
       "(x-section-schemas)", "configuration", body=schemas.SECTION_VALUE, response=SECTION_VIEW),
    Op("DELETE", ACCOUNT + "/config/{section}", "Remove one section (defaults apply)", "configuration",
       response=SECTION_VIEW),
    Op("POST", ACCOUNT + "/call-rules/dry-run", "Which of a range's calls conversation rules would tag, label "
       "and score (nothing is changed)", "configuration",
       body=_schema("chalicelib.intelligence.analysis", "DRY_RUN_SCHEMA"), response=ANY_OBJECT),
    Op("POST", ACCOUNT + "/learned-score/train", "Fit the learned lead score on a range's manually tagged calls; "
       "answers its held-out precision and recall", "configuration",
       body=_schema("chalicelib.intelligence.learning", "TRAIN_SCHEMA"), response=ANY_OBJECT, errors=(400, 409)),
    Op("GET", ACCOUNT + "/learned-score", "The learned lead score: what it learned from, its held-out precision "
       "and recall, the words and facts that move it most", "configuration", response=ANY_OBJECT, errors=(404,)),
    Op("DELETE", ACCOUNT + "/learned-score", "Forget the learned lead score", "configuration", response=ANY_OBJECT,
       errors=(404,)),
    # Numbers and pools.
    Op("GET", ACCOUNT + "/numbers", "Every number of the account with its lease state", "numbers",
       response={"type": "object", "properties": {"numbers": {"type": "array", "items": NUMBER_VIEW}}}),
    Op("POST", ACCOUNT + "/numbers", "Add one number (pool, static or default); 200 if it already was", "numbers",
       body=schemas.ADD_NUMBER, status=201, also=(200,), response=NUMBER_VIEW, errors=(400, 404, 409)),
    Op("GET", ACCOUNT + "/numbers/{number}", "One number", "numbers", response=NUMBER_VIEW),
    Op("PATCH", ACCOUNT + "/numbers/{number}", "Enable/disable (a lease in progress is kept), source, country",
       "numbers", body=schemas.UPDATE_NUMBER, response=NUMBER_VIEW),
    Op("DELETE", ACCOUNT + "/numbers/{number}", "Remove a number (409 while a visitor holds it)", "numbers",
       errors=(400, 404, 409)),
    Op("GET", ACCOUNT + "/pools/{pool_id}", "A pool's numbers and their leases now", "numbers", response=POOL_VIEW),
    Op("GET", ACCOUNT + "/pools/{pool_id}/advice", "Smallest pool reaching an accuracy, from the pool's own sessions",
       "numbers", response=ANY_OBJECT,
       query=(("accuracy", {"type": "string", "pattern": "^(0(\\.[0-9]{1,4})?|1(\\.0{1,4})?)$"},
               "Share of calls during or ≤10 min after the visit attributed right (default 0.99)"),
              ("days", {"type": "string", "pattern": "^[0-9]{1,2}(\\.[0-9]{1,2})?$"},
               "Recorded sessions of the last N days (default 14, max 90)"))),
    Op("POST", ACCOUNT + "/pools/{pool_id}/numbers", "Add numbers to a pool (all or none)", "numbers",
       body=schemas.ADD_POOL_NUMBERS, errors=(400, 404, 409),
       response={"type": "object", "properties": {"pool_id": STRING, "added": {"type": "array"},
                                                  "existing": {"type": "array"}, "pool": POOL_VIEW}}),
    Op("DELETE", ACCOUNT + "/pools/{pool_id}/numbers/{number}", "Remove a number from a pool", "numbers",
       errors=(400, 404, 409)),
    Op("GET", ACCOUNT + "/vonage/numbers", "Search numbers Vonage sells (CALLTRACK_NUMBER_PURCHASES)", "numbers",
       query=tuple((name, dict(schema), name) for name, schema in schemas.VONAGE_SEARCH_QUERY["properties"].items()),
       required_query=("country",), errors=(400, 404, 502)),
    Op("POST", ACCOUNT + "/vonage/numbers", "Buy a number from Vonage, link it to the Calltrack application and "
       "add it to a pool or as a static number (CALLTRACK_NUMBER_PURCHASES)", "numbers", body=schemas.BUY_NUMBER,
       status=201, response=NUMBER_VIEW, errors=(400, 404, 409, 502)),
    # Reports, tags, recordings, pool health, dashboard (docs/reports.md).
    Op("GET", ACCOUNT + "/reports", "Calls and sessions grouped, with drill-down filters; CSV with format=csv",
       "reports", query=REPORT_QUERY),
    Op("PUT", ACCOUNT + "/calls/{call_id}/tags", "Manual tags and value of a call", "reports",
       body=_schema("chalicelib.reports.schemas", "TAGS_REQUEST")),
    Op("PUT", ACCOUNT + "/calls/{call_id}/spam", "A person's verdict on a call: spam (optionally blocking the "
       "caller) or not spam", "reports", body=_schema("chalicelib.calls.spam", "MARK_SCHEMA"), errors=(400, 404)),
    Op("GET", ACCOUNT + "/calls/{call_id}/recording", "The call's recording: a 302 to the archived copy's "
       "short-lived link, else the audio from Vonage (up to 5 MB)", "reports",
       response={"type": "string", "format": "binary"}, response_type="audio/mpeg", also=(302,),
       errors=(400, 404, 413, 502)),
    Op("GET", ACCOUNT + "/calls/{call_id}/recording-link", "A presigned link (five minutes) to the call's archived "
       "recording", "reports",
       response={"type": "object", "required": ["url", "expires_at", "content_type", "bytes", "kind"],
                 "properties": {"url": STRING, "expires_at": STRING, "content_type": STRING,
                                "bytes": {"type": "integer"}, "kind": {"enum": ["call", "voicemail"]},
                                "archived_at": STRING}}),
    Op("GET", ACCOUNT + "/calls/{call_id}/transcript", "The call's redacted transcript and the rules' analysis",
       "reports", response={"type": "object", "required": ["call_id", "segments", "analysis"],
                            "properties": {"call_id": STRING, "segments": {"type": "array", "items": ANY_OBJECT},
                                           "analysis": {"type": ["object", "null"]}}}),
    Op("GET", ACCOUNT + "/pool-health", "Pool utilisation: leased now, peak concurrent leases, exhaustions, "
       "recommended size", "reports",
       query=(("days", {"type": "string", "pattern": "^[0-9]{1,2}(\\.[0-9]+)?$"}, "Window in days (default 7, max 90)"),
              ("pool", {"type": "string", "pattern": "^[a-z0-9_-]{1,32}$"}, "One pool only"))),
    Op("GET", "/dashboard", "The dashboard (HTML)", "dashboard", auth="none", response={"type": "string"},
       response_type="text/html", errors=(404,)),
    Op("GET", "/dashboard/{name}", "A dashboard asset", "dashboard", auth="none", response={"type": "string"},
       response_type="text/plain", errors=(404,)),
    # Integrations (docs/integrations.md).
    Op("GET", ACCOUNT + "/integrations", "Each configured integration: last success, last error and why",
       "integrations"),
    Op("POST", ACCOUNT + "/integrations/ga4/validate", "GA4's validation server on what a call would send",
       "integrations", body={"type": "object", "properties": {"call_id": STRING}}, errors=(404, 409, 502)),
    Op("GET", ACCOUNT + "/webhooks/{subscription_id}/deliveries", "Delivery log of a webhook subscription",
       "integrations", query=(("limit", {"type": "string", "pattern": "^[0-9]{1,3}$"}, "1-100 (default 50)"),
                              ("next", STRING, "the cursor the previous page answered"),
                              ("outcome", {"type": "string", "enum": ["ok", "failed"]}, "only these attempts"))),
    Op("GET", ACCOUNT + "/exports/google-ads.csv", "Google Ads offline conversion upload file", "integrations",
       response={"type": "string"}, response_type=CSV,
       query=(("kind", {"type": "string", "enum": ["click", "call"]}, "click (gclid) or call (caller id)"),
              ("since", DATE, "From"), ("until", DATE, "Until"))),
    Op("GET", ACCOUNT + "/exports/microsoft-ads.csv", "Microsoft Ads offline conversion upload file",
       "integrations", response={"type": "string"}, response_type=CSV,
       query=(("since", DATE, "From"), ("until", DATE, "Until"))),
    Op("GET", ACCOUNT + "/feeds/conversions", "Conversion feed for bid tools", "integrations",
       query=(("after", STRING, "Cursor: the last id seen"),
              ("limit", {"type": "string", "pattern": "^[0-9]{1,3}$"}, "1-500 (default 100)"),
              ("platform", {"type": "string", "enum": ["google_ads", "microsoft_ads"]}, "One platform only"))),
    # People: sign-in, users and roles, the audit log (docs/admin.md).
    Op("POST", "/v1/auth/sign-in", "Sign in with email and password: tokens and the accounts you may open, or the "
       "next challenge (a new password, an MFA code)", "people", auth="none",
       body=_schema("chalicelib.people.api", "SIGN_IN"), response=SIGNED_IN, errors=(400, 401, 429)),
    Op("POST", "/v1/auth/challenge", "Answer a sign-in challenge: NEW_PASSWORD_REQUIRED or SOFTWARE_TOKEN_MFA",
       "people", auth="none", body=_schema("chalicelib.people.api", "CHALLENGE"), response=SIGNED_IN,
       errors=(400, 401, 429)),
    Op("POST", "/v1/auth/refresh", "Fresh tokens from the refresh token", "people", auth="none",
       body=_schema("chalicelib.people.api", "REFRESH"), response=SIGNED_IN, errors=(400, 401)),
    Op("POST", "/v1/auth/forgot-password", "E-mail a reset code (answers the same whether the email has an account)",
       "people", auth="none", body=_schema("chalicelib.people.api", "FORGOT"), status=202, errors=(400, 429)),
    Op("POST", "/v1/auth/reset-password", "Set a new password with the e-mailed code", "people", auth="none",
       body=_schema("chalicelib.people.api", "RESET"), errors=(400, 429)),
    Op("POST", "/v1/auth/sign-out", "End the sign-in everywhere: the person's refresh tokens stop working "
       "(Bearer: their access token)", "people", auth="user"),
    Op("POST", "/v1/auth/mfa", "Start authenticator-app MFA for the signed-in person: the secret and its otpauth "
       "URI (Bearer: their access token)", "people", auth="user"),
    Op("PUT", "/v1/auth/mfa", "Confirm MFA with the app's first code; every sign-in then asks for one", "people",
       auth="user", body=_schema("chalicelib.people.api", "MFA_CODE"), errors=(400,)),
    Op("DELETE", "/v1/auth/mfa", "Stop asking for an MFA code at sign-in", "people", auth="user"),
    Op("GET", ACCOUNT + "/me", "Who is signed in: role, agent number, what the role may do, the account's name",
       "people"),
    Op("GET", ACCOUNT + "/users", "The account's people and their roles", "people"),
    Op("POST", ACCOUNT + "/users", "Invite a person (Cognito e-mails a temporary password) with a role", "people",
       body=_schema("chalicelib.people.users", "USER_SCHEMA"), status=201, errors=(400, 409)),
    Op("PATCH", ACCOUNT + "/users/{user_id}", "Change a person's role or agent number", "people",
       body=_schema("chalicelib.people.users", "UPDATE_SCHEMA"), errors=(400, 404)),
    Op("DELETE", ACCOUNT + "/users/{user_id}", "Remove a person from the account", "people", errors=(404,)),
    Op("GET", ACCOUNT + "/audit", "Who changed what: every change made through the API, newest first", "people",
       query=(("since", STRING, "ISO 8601 or epoch seconds (default: 90 days before until)"),
              ("until", STRING, "ISO 8601 or epoch seconds (default: now)"),
              ("limit", {"type": "string", "pattern": "^[0-9]{1,3}$"}, "1-200 (default 50)"),
              ("next", STRING, "the cursor the previous page answered"))),
]


def _error_response(status: int) -> Dict[str, Any]:
    words = {400: "Bad input", 401: "No or unknown API key or sign-in token",
             403: "Key of another account, or a role that may not do this", 404: "Not found",
             409: "Conflict with the current state", 410: "Gone", 413: "Body too large", 429: "Too many attempts"}
    return {"description": words.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _success(op: Op, status: int) -> Dict[str, Any]:
    if status == 204:
        return {"description": "No content"}
    return {"description": "Created" if status == 201 else "OK",
            "content": {op.response_type: {"schema": dict(op.response)}}}


def _operation(op: Op) -> Dict[str, Any]:
    names = [seg[1:-1] for seg in op.path.split("/") if seg.startswith("{")]
    params = [{"name": n, "in": "path", "required": True, "schema": PATH_PARAMS[n]} for n in names]
    params += [{"name": n, "in": "query", "required": n in op.required_query, "schema": dict(s), "description": d}
               for n, s, d in op.query]
    out: Dict[str, Any] = {"summary": op.summary, "tags": [op.tag],
                           "operationId": f"{op.method.lower()}_{'_'.join(s.strip('{}') for s in op.path.split('/') if s)}"}
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": not op.body_optional,
                              "content": {t: {"schema": dict(op.body)} for t in op.body_types}}
    errors = set(op.errors) | {"key": {401, 403}, "admin": {401}, "vonage": {401}, "user": {401}}.get(op.auth, set())
    successes = {str(s): _success(op, s) for s in (op.status, *op.also)}
    out["responses"] = {**successes, **{str(s): _error_response(s) for s in sorted(errors)}}
    security = {"key": [{"apiKey": []}, {"userToken": []}], "admin": [{"adminToken": []}],
                "vonage": [{"vonageSignature": []}], "user": [{"userToken": []}], "none": []}[op.auth]
    out["security"] = security
    if op.auth == "key":
        from chalicelib import auth

        out["x-roles"] = [r for r in auth.ROLES if auth.allowed(r, op.method, op.path, {})]
    return out


def build(routes: Optional[Mapping[str, Sequence[str]]] = None) -> Dict[str, Any]:
    """The document for the routes given (the app's, by default)."""
    if routes is None:
        from app import app
        routes = {p: list(m) for p, m in app.routes.items()}
    paths: Dict[str, Dict[str, Any]] = {}
    for op in OPERATIONS:
        if op.method in routes.get(op.path, ()):
            paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return hoist_defs({
        "openapi": "3.1.0",
        "info": {"title": "Calltrack API", "version": "1.0.0",
                 "description": "Number insertion, calls, reports and self-service administration. "
                                "Errors are `{\"error\", \"message\"}` with a 4xx status. Generated by "
                                "`python -m chalicelib.admin.openapi` from the schemas the routes validate with."},
        "servers": [{"url": "http://127.0.0.1:8000", "description": "make run"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer",
                           "description": "An API key of the account in the path (acts as its admin)"},
                "userToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                              "description": "A signed-in person's Cognito access token (/v1/auth/sign-in); "
                                             "`x-roles` on each operation lists the roles that may call it"},
                "adminToken": {"type": "http", "scheme": "bearer", "description": "The operator's CALLTRACK_ADMIN_TOKEN"},
                "vonageSignature": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                    "description": "Vonage signed webhook (HS256, payload_hash); enforced when "
                                                   "VONAGE_SIGNATURE_SECRET is set"},
            },
            "schemas": {"Error": {"type": "object", "required": ["error", "message"],
                                  "properties": {"error": STRING, "message": STRING}}},
        },
        "x-section-schemas": {name: dict(schema) for name, schema in sorted(sections.SECTIONS.items())},
    })


def hoist_defs(document: Dict[str, Any]) -> Dict[str, Any]:
    """Schemas with local definitions (`$defs`, referenced as `#/$defs/<name>` from their own
    root, like the conversation rules' recursive condition) are embedded deep in the
    document, where such a reference would point at the document's root: their definitions
    move to `components/schemas` and the references follow."""
    doc = json.loads(json.dumps(document))
    found: Dict[str, Any] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for name, schema in (node.pop("$defs", None) or {}).items():
                if name in found and found[name] != schema:
                    raise ValueError(f"two schemas define $defs/{name} differently")
                found[name] = schema
                collect(schema)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (f"#/components/schemas/{v[len('#/$defs/'):]}" if k == "$ref" and isinstance(v, str)
                        and v.startswith("#/$defs/") else rewrite(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    collect(doc)
    doc = rewrite(doc)
    doc["components"]["schemas"].update(rewrite(found))
    return doc


def render(document: Mapping[str, Any]) -> str:
    plain = json.loads(json.dumps(document))  # no shared objects, so no YAML anchors
    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, width=120)


def main(argv: Optional[List[str]] = None) -> int:
    DOCUMENT.write_text(render(build()), encoding="utf-8")
    print(f"wrote {DOCUMENT} ({len(build()['paths'])} paths)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
