"""The reference CRM adapter: HubSpot (CRM v3 API), fed by `Call Completed` and `Call Analyzed`.

For every completed call with a caller id:
- the contact is found by phone (`POST /crm/v3/objects/contacts/search`) or created by
  upsert on the unique contact property `calltrack_caller` (the caller's E.164 number,
  `POST /crm/v3/objects/contacts/batch/upsert` with `idProperty`): HubSpot's search lags
  behind writes by seconds, so two calls from a new caller close together would otherwise
  create two contacts; the upsert makes the second one land on the first's contact. Its
  company is the one already associated with it, or one found/created by domain when the call
  carries a `company_domain` hint;
- answered: open call tasks of the contact are completed (the caller was reached), then a
  note goes on the contact's open deal if there is one, otherwise a new deal is created, owned
  by the HubSpot owner of the agent who answered, carrying UTM tags and click ids in
  `calltrack_*` deal properties (created once per portal through the properties API);
- missed (no answer, busy, voicemail, IVR drop-outs, callback failures): a call-back task for
  the owner, associated with the contact and its open deal.

Deals carry `calltrack_call_id`, so a redelivered event finds its deal instead of creating a
second one. The caller's number is read with `calls.store.get_call`: events carry it hashed.

When the call's transcript has been scored (`Call Analyzed`, docs/intelligence.md), the
call's deal gets the lead score and label (`calltrack_lead_score`, `calltrack_lead`) and a
note with the summary lines: score, label, the rules that fired and the caller's sentiment,
never the transcript. A call without a deal of its own (a note on an open deal, a missed
call) gets the note on its contact and open deal. Spam stays out unless `include_spam`.
"""
from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from chalicelib.errors import NotFound
from chalicelib.geo.phone import display
from chalicelib.integrations import parameters
from chalicelib.integrations.errors import PermanentError, RetryableError, account_of
from chalicelib.integrations.transport import (
    DeliveryFailed, Transport, consumer_error, send_json, urllib_transport,
)
from chalicelib.observability import count, logger
from chalicelib.times import epoch
from chalicelib.vocabulary import CALL_BACK_OWED

API_BASE = "https://api.hubapi.com"
SECTION = "hubspot"

# HubSpot-defined association type ids (CRM associations v4 "default" types).
DEAL_TO_CONTACT = 3
DEAL_TO_COMPANY = 5
CONTACT_TO_COMPANY = 279
NOTE_TO_CONTACT = 202
NOTE_TO_COMPANY = 190
NOTE_TO_DEAL = 214
TASK_TO_CONTACT = 204
TASK_TO_COMPANY = 192
TASK_TO_DEAL = 216

REACHED = frozenset({"answered"})
MISSED = CALL_BACK_OWED
CLICK_IDS = ("gclid", "gbraid", "wbraid", "msclkid", "fbclid", "ttclid")

# Deal properties this adapter writes beyond HubSpot's defaults: name → (label, call field).
DEAL_FIELDS: Dict[str, Tuple[str, str]] = {
    "calltrack_call_id": ("Calltrack call id", "call_id"),
    "calltrack_utm_source": ("UTM source (Calltrack)", "source"),
    "calltrack_utm_medium": ("UTM medium (Calltrack)", "medium"),
    "calltrack_utm_campaign": ("UTM campaign (Calltrack)", "campaign"),
    "calltrack_utm_term": ("UTM term (Calltrack)", "keyword"),
    "calltrack_utm_content": ("UTM content (Calltrack)", "content"),
    "calltrack_landing_page": ("Landing page (Calltrack)", "landing_page"),
    "calltrack_referrer": ("Referrer (Calltrack)", "referrer"),
    "calltrack_ga_client_id": ("GA client id (Calltrack)", "ga_client_id"),
    "calltrack_session_id": ("Visitor session (Calltrack)", "session_id"),
    "calltrack_tracking_number": ("Tracking number (Calltrack)", "tracking_number"),
    "calltrack_lead_score": ("Lead score 0-100 (Calltrack)", "lead_score"),
    "calltrack_lead": ("Lead label (Calltrack)", "lead"),
}
for _click in CLICK_IDS:
    DEAL_FIELDS[f"calltrack_{_click}"] = (f"{_click} (Calltrack)", f"click_ids.{_click}")
PROPERTY_GROUP = "dealinformation"

HUBSPOT_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean"},
        "include_spam": {"type": "boolean"},      # spam calls too (default: left out)
        "token": {"type": "string", "minLength": 8, "maxLength": 512,
                  "description": "Private app access token (stored in the account's configuration, never in git)"},
        "token_ssm_parameter": {"type": "string", "pattern": "^/calltrack/[A-Za-z0-9_.\\-/]{1,200}$",
                                "description": "SSM SecureString parameter (under /calltrack/) holding the token"},
        "base_url": {"type": "string", "pattern": "^https?://[^\\s]+$"},
        "pipeline": {"type": "string", "minLength": 1, "maxLength": 64},
        "dealstage": {"type": "string", "minLength": 1, "maxLength": 64},
        "owners": {"type": "object", "maxProperties": 500,
                   "additionalProperties": {"type": "string", "pattern": "^[0-9]{1,20}$"},
                   "description": "agent (or department) → HubSpot owner id"},
        "default_owner_id": {"type": "string", "pattern": "^[0-9]{1,20}$"},
        "min_talk_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
        "task_due_minutes": {"type": "integer", "minimum": 0, "maximum": 43200},
        "create_companies": {"type": "boolean"},
        "deal_currency": {"type": "boolean",
                          "description": "set deal_currency_code from the call (portals with multiple currencies)"},
    },
    "required": ["enabled"],
}

Clock = Callable[[], float]
GetCall = Callable[[str, str], Dict[str, Any]]


@dataclass(frozen=True)
class HubSpotConfig:
    token: str
    base_url: str = API_BASE
    pipeline: str = "default"
    dealstage: str = "appointmentscheduled"
    owners: Mapping[str, str] = field(default_factory=dict)
    default_owner_id: Optional[str] = None
    min_talk_seconds: int = 0
    task_due_minutes: int = 60
    create_companies: bool = True
    deal_currency: bool = False

    @classmethod
    def from_section(cls, section: Mapping[str, Any], token: str) -> "HubSpotConfig":
        return cls(token=token, base_url=(section.get("base_url") or API_BASE).rstrip("/"),
                   pipeline=section.get("pipeline", "default"),
                   dealstage=section.get("dealstage", "appointmentscheduled"),
                   owners=dict(section.get("owners") or {}), default_owner_id=section.get("default_owner_id"),
                   min_talk_seconds=int(section.get("min_talk_seconds", 0)),
                   task_due_minutes=int(section.get("task_due_minutes", 60)),
                   create_companies=bool(section.get("create_companies", True)),
                   deal_currency=bool(section.get("deal_currency", False)))


@dataclass
class Outcome:
    """What the adapter did for one call (logged, and asserted by tests)."""
    action: str
    contact_id: Optional[str] = None
    company_id: Optional[str] = None
    deal_id: Optional[str] = None
    note_id: Optional[str] = None
    task_id: Optional[str] = None
    closed_tasks: List[str] = field(default_factory=list)
    created: List[str] = field(default_factory=list)


def association(to_id: str, type_id: int) -> Dict[str, Any]:
    return {"to": {"id": str(to_id)}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}


def eq(prop: str, value: Any) -> Dict[str, Any]:
    return {"propertyName": prop, "operator": "EQ", "value": str(value)}


class HubSpotApi:
    """The few CRM v3 endpoints the adapter uses, with the private app token."""

    def __init__(self, token: str, base_url: str = API_BASE, transport: Transport = urllib_transport) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._transport = transport

    def call(self, method: str, path: str, body: Any = None) -> Any:
        _, answer = send_json(self._transport, method, self.base_url + path, self._headers, body, what="HubSpot")
        return answer

    def search(self, object_type: str, filter_groups: List[Dict[str, Any]], properties: Sequence[str] = (),
               limit: int = 10, sorts: Sequence[Dict[str, str]] = ()) -> List[Dict[str, Any]]:
        body: Dict[str, Any] = {"filterGroups": filter_groups, "properties": list(properties), "limit": limit}
        if sorts:
            body["sorts"] = list(sorts)
        return (self.call("POST", f"/crm/v3/objects/{object_type}/search", body) or {}).get("results", [])

    def create(self, object_type: str, properties: Mapping[str, Any],
               associations: Iterable[Dict[str, Any]] = ()) -> Dict[str, Any]:
        body = {"properties": {k: v for k, v in properties.items() if v is not None},
                "associations": list(associations)}
        return self.call("POST", f"/crm/v3/objects/{object_type}", body)

    def upsert(self, object_type: str, id_property: str, id_value: str,
               properties: Mapping[str, Any]) -> Dict[str, Any]:
        """Create or update the record whose unique property `id_property` is `id_value`
        (batch upsert of one); the answer's `new` tells which."""
        body = {"inputs": [{"id": id_value, "idProperty": id_property,
                            "properties": {k: v for k, v in properties.items() if v is not None}}]}
        results = (self.call("POST", f"/crm/v3/objects/{object_type}/batch/upsert", body) or {}).get("results") or []
        if not results:
            raise DeliveryFailed("HubSpot upsert answered no result", retryable=True, http_status=502)
        return results[0]

    def update(self, object_type: str, object_id: str, properties: Mapping[str, Any]) -> Dict[str, Any]:
        return self.call("PATCH", f"/crm/v3/objects/{object_type}/{object_id}", {"properties": dict(properties)})

    def associated_ids(self, object_type: str, object_id: str, to_type: str) -> List[str]:
        record = self.call("GET", f"/crm/v3/objects/{object_type}/{object_id}?associations={to_type}") or {}
        results = ((record.get("associations") or {}).get(to_type) or {}).get("results") or []
        return [str(r["id"]) for r in results]

    def owner_id_by_email(self, email: str) -> Optional[str]:
        from urllib.parse import quote

        results = (self.call("GET", f"/crm/v3/owners?email={quote(email)}&limit=1") or {}).get("results") or []
        return str(results[0]["id"]) if results else None

    def property_exists(self, object_type: str, name: str) -> bool:
        try:
            self.call("GET", f"/crm/v3/properties/{object_type}/{name}")
            return True
        except DeliveryFailed as err:
            if err.http_status == 404:
                return False
            raise

    def create_property(self, object_type: str, name: str, label: str, unique: bool = False) -> None:
        definition = {"name": name, "label": label, "type": "string", "fieldType": "text",
                      "groupName": PROPERTY_GROUP}
        if unique:
            definition["hasUniqueValue"] = True
        self.call("POST", f"/crm/v3/properties/{object_type}", definition)


_ensured: set = set()


def ensure_deal_properties(api: HubSpotApi) -> List[str]:
    """Create the `calltrack_*` deal properties the portal lacks (once per container and portal)."""
    if api.base_url + api._headers["Authorization"] in _ensured:
        return []
    created = []
    for name, (label, _) in DEAL_FIELDS.items():
        if not api.property_exists("deals", name):
            api.create_property("deals", name, label)
            created.append(name)
    _ensured.add(api.base_url + api._headers["Authorization"])
    return created


# --- reading the call ---------------------------------------------------------------

def field_of(call: Mapping[str, Any], path: str) -> Optional[str]:
    value: Any = call
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return None if value in (None, "") else str(value)


def hs_time(seconds: float) -> str:
    """HubSpot datetime properties take ISO 8601 UTC (or epoch milliseconds)."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(seconds * 1000) % 1000:03d}Z"


def duration(seconds: Optional[float]) -> str:
    total = int(seconds or 0)
    return f"{total // 60}m {total % 60:02d}s"


def summary_lines(call: Mapping[str, Any]) -> List[str]:
    """What a sales rep wants to read on the deal/note/task: the call and where it came from."""
    lines = [f"{(call.get('direction') or 'inbound').capitalize()} call, {call.get('status')}"
             + (f", answered by {call['agent']}" if call.get("agent") else "")
             + (f", talk {duration(call.get('talk_seconds'))}" if call.get("talk_seconds") else "")]
    source = " / ".join(str(call[k]) for k in ("source", "medium") if call.get(k))
    if source:
        lines.append(f"Source: {source}")
    for key, label in (("campaign", "Campaign"), ("keyword", "Keyword"), ("landing_page", "Landing page"),
                       ("tracking_number", "Tracking number"), ("department", "Department"),
                       ("recording_url", "Recording")):
        if call.get(key):
            lines.append(f"{label}: {call[key]}")
    clicks = ", ".join(f"{k}={v}" for k, v in sorted((call.get("click_ids") or {}).items()) if v)
    if clicks:
        lines.append(f"Click ids: {clicks}")
    if call.get("lead_score") is not None:
        lines.append(f"Lead score: {call['lead_score']}/100" + (f" ({call['lead']})" if call.get("lead") else ""))
    lines.append(f"Calltrack call {call.get('call_id')}")
    return lines


def analysis_lines(call: Mapping[str, Any], analyzed: Mapping[str, Any]) -> List[str]:
    """The summary of a `Call Analyzed` for a rep: score, label, why (never the transcript)."""
    lead = analyzed.get("lead")
    lines = [f"Call scored {int(analyzed.get('score') or 0)}/100" + (f": {lead.replace('_', ' ')}" if lead else "")]
    for fired in analyzed.get("rules_fired") or []:
        points = fired.get("score")
        lines.append(f"Rule: {fired.get('name') or fired.get('rule')}" + (f" ({points:+g})" if points else ""))
    if analyzed.get("tags"):
        lines.append(f"Tags: {', '.join(analyzed['tags'])}")
    sentiment = analyzed.get("caller_sentiment")
    if sentiment is not None:
        lines.append(f"Caller sentiment: {float(sentiment):+.2f} (-1 negative … +1 positive)")
    lines.append(f"Calltrack call {call.get('call_id')}")
    return lines


def html_body(lines: Iterable[str]) -> str:
    return "<br>".join(html.escape(line) for line in lines)


# --- the sync -----------------------------------------------------------------------

def owner_for(call: Mapping[str, Any], cfg: HubSpotConfig, api: HubSpotApi) -> Optional[str]:
    """The HubSpot owner: configured for the agent, else the owner with the agent's email,
    else configured for the department, else the default owner."""
    agent = call.get("agent")
    if agent and agent in cfg.owners:
        return cfg.owners[agent]
    if agent and "@" in agent:
        found = api.owner_id_by_email(agent)
        if found:
            return found
    department = call.get("department")
    if department and department in cfg.owners:
        return cfg.owners[department]
    return cfg.default_owner_id


CONTACT_KEY = "calltrack_caller"
DEAL_KEY = "calltrack_deal_key"


def ensure_unique_property(api: HubSpotApi, object_type: str, name: str, label: str) -> bool:
    """Create a unique (`hasUniqueValue`) property if the portal lacks it (once per
    container and portal). True when it was created now."""
    marker = f"{object_type}:{name}:" + api.base_url + api._headers["Authorization"]
    if marker in _ensured:
        return False
    created = not api.property_exists(object_type, name)
    if created:
        api.create_property(object_type, name, label, unique=True)
    _ensured.add(marker)
    return created


def ensure_contact_key(api: HubSpotApi) -> bool:
    return ensure_unique_property(api, "contacts", CONTACT_KEY, "Caller number (Calltrack)")


def find_or_create_contact(api: HubSpotApi, caller: str, out: Outcome) -> str:
    # HubSpot keeps numbers as typed: try E.164 and the national format people usually type.
    variants = [("phone", caller), ("mobilephone", caller), ("phone", display(caller)), ("mobilephone", display(caller))]
    groups = [{"filters": [eq(prop, value)]} for prop, value in dict.fromkeys(variants)]
    found = api.search("contacts", groups, ["phone", "mobilephone", "firstname", "lastname"], limit=1)
    if found:
        return str(found[0]["id"])
    # Not searchable (yet): upsert on the caller key, so a contact created for this caller a
    # few seconds ago — still invisible to search — is found instead of duplicated.
    ensure_contact_key(api)
    contact = api.upsert("contacts", CONTACT_KEY, caller, {"phone": caller, "lifecyclestage": "lead"})
    if contact.get("new", True):
        out.created.append("contact")
    return str(contact["id"])


def company_of(api: HubSpotApi, contact_id: str, call: Mapping[str, Any], cfg: HubSpotConfig,
               contact_is_new: bool, out: Outcome) -> Optional[str]:
    if not contact_is_new:
        existing = api.associated_ids("contacts", contact_id, "companies")
        if existing:
            return existing[0]
    domain = (call.get("company_domain") or "").strip().lower()
    if not (domain and cfg.create_companies):
        return None
    found = api.search("companies", [{"filters": [eq("domain", domain)]}], ["domain", "name"], limit=1)
    if found:
        company_id = str(found[0]["id"])
    else:
        company_id = str(api.create("companies", {"domain": domain, "name": call.get("company_name") or domain})["id"])
        out.created.append("company")
    api.call("PUT", f"/crm/v4/objects/contacts/{contact_id}/associations/default/companies/{company_id}")
    return company_id


def open_deal_of(api: HubSpotApi, contact_id: str) -> Optional[str]:
    deals = api.search("deals", [{"filters": [eq("associations.contact", contact_id), eq("hs_is_closed", "false")]}],
                       ["dealname", "dealstage", "hs_is_closed"], limit=1,
                       sorts=[{"propertyName": "createdate", "direction": "DESCENDING"}])
    return str(deals[0]["id"]) if deals else None


def deal_of_call(api: HubSpotApi, call_id: str) -> Optional[str]:
    deals = api.search("deals", [{"filters": [eq("calltrack_call_id", call_id)]}], ["calltrack_call_id"], limit=1)
    return str(deals[0]["id"]) if deals else None


TASK_MARK = "Calltrack"     # a word in the subject of the tasks this adapter opens (and may close)


def open_call_tasks(api: HubSpotApi, contact_id: str) -> List[str]:
    """The contact's open call-back tasks opened by this adapter (reps' own tasks stay theirs)."""
    filters = [eq("associations.contact", contact_id), eq("hs_task_type", "CALL"),
               {"propertyName": "hs_task_status", "operator": "NEQ", "value": "COMPLETED"},
               {"propertyName": "hs_task_subject", "operator": "CONTAINS_TOKEN", "value": TASK_MARK}]
    return [str(t["id"]) for t in api.search("tasks", [{"filters": filters}], ["hs_task_status", "hs_task_subject"],
                                            limit=100)]


def deal_properties(call: Mapping[str, Any], cfg: HubSpotConfig, owner: Optional[str]) -> Dict[str, Any]:
    caller = call.get("caller") or ""
    source = " / ".join(str(call[k]) for k in ("source", "medium") if call.get(k))
    props: Dict[str, Any] = {
        "dealname": f"Call from {display(caller)}" + (f" ({source})" if source else ""),
        "pipeline": cfg.pipeline, "dealstage": cfg.dealstage, "hubspot_owner_id": owner,
        "amount": call.get("value") if call.get("value") else None,
        # Only portals with that currency enabled accept it: opt-in, else the portal's currency.
        "deal_currency_code": call.get("currency") if cfg.deal_currency and call.get("value") else None,
        "description": "\n".join(summary_lines(call)),
    }
    for name, (_, path) in DEAL_FIELDS.items():
        props[name] = field_of(call, path)
    return props


def add_note(api: HubSpotApi, call: Mapping[str, Any], when: float, owner: Optional[str],
             targets: Sequence[Tuple[str, int]]) -> str:
    note = api.create("notes", {"hs_timestamp": hs_time(when), "hs_note_body": html_body(summary_lines(call)),
                                "hubspot_owner_id": owner}, [association(i, t) for i, t in targets if i])
    return str(note["id"])


def sync_call(call: Mapping[str, Any], cfg: HubSpotConfig, api: HubSpotApi, clock: Clock = time.time) -> Outcome:
    """Bring HubSpot up to date with one completed call (see the module docstring)."""
    status, caller = call.get("status"), call.get("caller")
    if not caller:
        return Outcome("skipped_no_caller")
    if status not in REACHED | MISSED:
        return Outcome(f"skipped_{status}")
    out = Outcome("pending")
    contact_id = out.contact_id = find_or_create_contact(api, caller, out)
    out.company_id = company_of(api, contact_id, call, cfg, "contact" in out.created, out)
    when = epoch(call.get("started_at")) or clock()
    owner = owner_for(call, cfg, api)
    if status in REACHED:
        return _reached(api, call, cfg, out, when, owner)
    return _missed(api, call, cfg, out, when, owner)


def sync_analysis(call: Mapping[str, Any], analyzed: Mapping[str, Any], cfg: HubSpotConfig, api: HubSpotApi,
                  clock: Clock = time.time) -> Outcome:
    """The scored transcript on HubSpot: score and label on the call's deal, the summary as a
    note on the deal (or on the contact and its open deal)."""
    caller = call.get("caller")
    if not caller:
        return Outcome("skipped_no_caller")
    out = Outcome("pending")
    ensure_deal_properties(api)
    deal = deal_of_call(api, str(call["call_id"]))
    if deal:
        api.update("deals", deal, {"calltrack_lead_score": str(int(analyzed.get("score") or 0)),
                                   "calltrack_lead": analyzed.get("lead") or ""})
    contact_id = out.contact_id = find_or_create_contact(api, caller, out)
    out.deal_id = deal or open_deal_of(api, contact_id)
    note = api.create("notes", {"hs_timestamp": hs_time(epoch(analyzed.get("analyzed_at")) or clock()),
                                "hs_note_body": html_body(analysis_lines(call, analyzed)),
                                "hubspot_owner_id": owner_for(call, cfg, api)},
                      [association(i, t) for i, t in ((contact_id, NOTE_TO_CONTACT), (out.deal_id or "", NOTE_TO_DEAL))
                       if i])
    out.note_id = str(note["id"])
    out.action = "analysis_on_deal" if deal else "analysis_note"
    return out


def _reached(api: HubSpotApi, call: Mapping[str, Any], cfg: HubSpotConfig, out: Outcome, when: float,
             owner: Optional[str]) -> Outcome:
    contact_id = out.contact_id or ""
    for task_id in open_call_tasks(api, contact_id):
        api.update("tasks", task_id, {"hs_task_status": "COMPLETED"})
        out.closed_tasks.append(task_id)
    ensure_deal_properties(api)
    already = deal_of_call(api, str(call["call_id"]))
    if already:
        out.action, out.deal_id = "already_synced", already
        return out
    open_deal = open_deal_of(api, contact_id)
    # Outbound calls (an agent calling) follow up; leads come in (inbound calls, callbacks).
    if open_deal or call.get("direction") == "outbound" or (call.get("talk_seconds") or 0) < cfg.min_talk_seconds:
        out.deal_id = open_deal
        out.note_id = add_note(api, call, when, owner, [(contact_id, NOTE_TO_CONTACT), (open_deal or "", NOTE_TO_DEAL),
                                                        (out.company_id or "", NOTE_TO_COMPANY)])
        out.action = "note_on_open_deal" if open_deal else "note_on_contact"
        return out
    # Upsert on the call's own unique key: a retry (after a partial failure) reuses the deal
    # it made even while search does not show it yet. Associations are separate, idempotent PUTs.
    ensure_unique_property(api, "deals", DEAL_KEY, "Call id (Calltrack, unique)")
    deal = api.upsert("deals", DEAL_KEY, str(call["call_id"]), deal_properties(call, cfg, owner))
    out.deal_id = str(deal["id"])
    api.call("PUT", f"/crm/v4/objects/deals/{out.deal_id}/associations/default/contacts/{contact_id}")
    if out.company_id:
        api.call("PUT", f"/crm/v4/objects/deals/{out.deal_id}/associations/default/companies/{out.company_id}")
    if deal.get("new", True):
        out.created.append("deal")
        out.action = "deal_created"
    else:
        out.action = "already_synced"
    return out


def _missed(api: HubSpotApi, call: Mapping[str, Any], cfg: HubSpotConfig, out: Outcome, when: float,
            owner: Optional[str]) -> Outcome:
    contact_id = out.contact_id or ""
    open_deal = out.deal_id = open_deal_of(api, contact_id)
    targets = [(contact_id, TASK_TO_CONTACT), (open_deal or "", TASK_TO_DEAL), (out.company_id or "", TASK_TO_COMPANY)]
    pending = open_call_tasks(api, contact_id)
    if pending:
        # One call-back task is enough: later misses add a note to the contact instead.
        out.task_id = pending[0]
        out.note_id = add_note(api, call, when, owner, [(contact_id, NOTE_TO_CONTACT), (open_deal or "", NOTE_TO_DEAL)])
        out.action = "note_on_open_task"
        return out
    due = (epoch(call.get("ended_at")) or when) + timedelta(minutes=cfg.task_due_minutes).total_seconds()
    caller = call.get("caller") or ""
    task = api.create("tasks", {
        "hs_timestamp": hs_time(due), "hs_task_subject": f"Call back {display(caller)}: {call.get('status')} call ({TASK_MARK})",
        "hs_task_body": html_body(summary_lines(call)), "hs_task_status": "NOT_STARTED",
        "hs_task_priority": "HIGH", "hs_task_type": "CALL", "hubspot_owner_id": owner,
    }, [association(i, t) for i, t in targets if i])
    out.task_id = str(task["id"])
    out.created.append("task")
    out.action = "task_created"
    return out


# --- the consumer -------------------------------------------------------------------

def token_of(section: Mapping[str, Any]) -> Optional[str]:
    if section.get("token"):
        return str(section["token"])
    if section.get("token_ssm_parameter"):
        return parameters.secret(section["token_ssm_parameter"])
    return None


def default_get_call(account_id: str, call_id: str) -> Dict[str, Any]:
    from chalicelib.calls import store  # the calls domain; imported late on purpose

    return store.get_call(account_id, call_id)


def handle(event: Mapping[str, Any], get_call: Optional[GetCall] = None, transport: Transport = urllib_transport,
           clock: Clock = time.time) -> Optional[Outcome]:
    """Consumer entry point: an EventBridge `Call Completed` or `Call Analyzed` event (the
    whole event dict). Vendor refusals become PermanentError (DLQ), outages RetryableError
    (retried, then DLQ)."""
    detail = event.get("detail") or {}
    account_id, call_id = detail.get("account_id"), detail.get("call_id")
    section = account_of(account_id).config.get(SECTION) or {}
    if not section.get("enabled"):
        return None
    token = token_of(section)
    if not token:
        raise PermanentError(f"hubspot is enabled for {account_id} but no token is configured")
    try:
        call = (get_call or default_get_call)(account_id, call_id)
    except NotFound as err:
        raise RetryableError(f"call {call_id} of {account_id} not readable yet") from err
    if call.get("spam") and not section.get("include_spam"):
        count("HubSpotSpamSkipped")      # spam stays out of the CRM (calls/spam.py)
        return None
    cfg = HubSpotConfig.from_section(section, token)
    api = HubSpotApi(token, cfg.base_url, transport)
    try:
        if event.get("detail-type") == "Call Analyzed":
            outcome = sync_analysis(call, detail, cfg, api, clock)
        else:
            outcome = sync_call(call, cfg, api, clock)
    except DeliveryFailed as err:
        count("HubSpotFailed")
        raise consumer_error(err) from err
    count(f"HubSpot_{outcome.action}")
    logger.info("hubspot sync", extra={"account_id": account_id, "call_id": call_id, "action": outcome.action,
                                       "deal_id": outcome.deal_id, "task_id": outcome.task_id})
    return outcome
