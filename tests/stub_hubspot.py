"""A stateful stand-in for HubSpot's CRM v3 API, speaking its documented endpoints and shapes.

`HubSpotStub.handle(method, path, headers, body)` is the whole logic (unit tests call it as an
in-process transport); `serve(stub)` puts it behind http.server on 127.0.0.1 for integration
tests. It checks what HubSpot checks and the adapter could get wrong: the private app token,
JSON bodies, known properties (custom ones must be created through the properties API first),
pipeline stages, task status/priority/type enums, required `hs_timestamp` on engagements,
association type ids valid for the object pair, owners that exist, search filter shapes,
unique properties (`hasUniqueValue`: a second record with the same value is refused; batch
upsert by `idProperty` finds or creates). `search_lag = True` reproduces HubSpot's search
index lagging behind writes: records created through the API stay out of search results
until `catch_up()`.
"""
from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from tests.local_http import serve as serve_on_free_port

SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "notes": "note", "tasks": "task"}
PLURAL = {v: k for k, v in SINGULAR.items()}
# (from type, associationTypeId) → to type: HubSpot-defined default association types.
ASSOCIATION_TYPES = {
    ("contacts", 279): "companies", ("companies", 280): "contacts",
    ("deals", 3): "contacts", ("contacts", 4): "deals", ("deals", 5): "companies", ("companies", 6): "deals",
    ("notes", 202): "contacts", ("notes", 190): "companies", ("notes", 214): "deals",
    ("tasks", 204): "contacts", ("tasks", 192): "companies", ("tasks", 216): "deals",
}
BUILTIN_PROPERTIES = {
    "contacts": {"phone", "mobilephone", "firstname", "lastname", "email", "lifecyclestage", "hubspot_owner_id"},
    "companies": {"domain", "name", "phone", "hubspot_owner_id"},
    "deals": {"dealname", "pipeline", "dealstage", "hubspot_owner_id", "amount", "deal_currency_code",
              "description", "closedate", "hs_is_closed", "createdate"},
    "notes": {"hs_timestamp", "hs_note_body", "hubspot_owner_id"},
    "tasks": {"hs_timestamp", "hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority",
              "hs_task_type", "hubspot_owner_id"},
}
DEFAULT_STAGES = {"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
                  "contractsent", "closedwon", "closedlost"}
ENUMS = {
    ("tasks", "hs_task_status"): {"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"},
    ("tasks", "hs_task_priority"): {"LOW", "MEDIUM", "HIGH"},
    ("tasks", "hs_task_type"): {"CALL", "EMAIL", "TODO"},
}
OPERATORS = {"EQ", "NEQ", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "GT", "GTE", "LT", "LTE"}
ISO_OR_MILLIS = re.compile(r"^(\d{13}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z)$")

Answer = Tuple[int, Any]


class StubError(Exception):
    def __init__(self, status: int, message: str, category: str = "VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.status, self.message, self.category = status, message, category


class HubSpotStub:
    def __init__(self, token: str = "pat-na1-test-token", owners: Optional[List[Dict[str, Any]]] = None) -> None:
        self.token = token
        self.objects: Dict[str, Dict[str, Dict[str, Any]]] = {t: {} for t in SINGULAR}
        self.custom_properties: Dict[str, set] = {t: set() for t in SINGULAR}
        self.unique_properties: Dict[str, set] = {t: set() for t in SINGULAR}
        self.search_lag = False
        self._unindexed: set = set()
        self.owners = owners if owners is not None else [
            {"id": "101", "email": "alice@example.com", "firstName": "Alice", "lastName": "Agent", "userId": 9001},
            {"id": "102", "email": "bob@example.com", "firstName": "Bob", "lastName": "Agent", "userId": 9002},
        ]
        self.requests: List[Dict[str, Any]] = []
        self.fail_next: List[int] = []     # statuses to answer the next requests with (outage drills)
        self.fail_paths: Dict[Tuple[str, str], List[int]] = {}   # (method, path) → statuses, in turn
        self._next_id = 1000
        self._lock = threading.Lock()

    # -- helpers tests use ------------------------------------------------------------
    def seed(self, object_type: str, properties: Dict[str, str], associations: Mapping[str, List[str]] = ()) -> str:
        with self._lock:
            record = self._new(object_type, properties)
            self._unindexed.discard(record["id"])      # seeded data is old: search sees it
        for to_type, ids in dict(associations).items():
            for to_id in ids:
                self._associate(object_type, record["id"], to_type, to_id)
        return record["id"]

    def all(self, object_type: str) -> List[Dict[str, Any]]:
        return list(self.objects[object_type].values())

    def associated(self, object_type: str, object_id: str, to_type: str) -> List[str]:
        return sorted(self.objects[object_type][object_id]["associations"].get(to_type, set()))

    def catch_up(self) -> None:
        """The search index catches up with every write so far."""
        self._unindexed.clear()

    def writes(self) -> List[Dict[str, Any]]:
        return [r for r in self.requests if r["method"] != "GET" and not r["path"].endswith("/search")]

    # -- the HTTP surface -------------------------------------------------------------
    def handle(self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes]) -> Tuple[int, bytes]:
        parts = urlsplit(url)
        path, query = parts.path, parse_qs(parts.query)
        lower = {k.lower(): v for k, v in headers.items()}
        document = json.loads(body) if body else None
        self.requests.append({"method": method, "path": path, "query": query, "body": document})
        try:
            planned = self.fail_paths.get((method, path))
            if self.fail_next or planned:
                status = self.fail_next.pop(0) if self.fail_next else planned.pop(0)
                raise StubError(status, "injected failure", "RATE_LIMITS" if status == 429 else "INTERNAL_ERROR")
            if lower.get("authorization") != f"Bearer {self.token}":
                raise StubError(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
            if body and not lower.get("content-type", "").startswith("application/json"):
                raise StubError(415, "Content-Type must be application/json")
            with self._lock:
                status, answer = self._route(method, path, query, document)
        except StubError as err:
            status, answer = err.status, {"status": "error", "message": err.message, "category": err.category,
                                          "correlationId": "00000000-0000-0000-0000-000000000000"}
        return status, (json.dumps(answer).encode() if answer is not None else b"")

    def transport(self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes],
                  timeout: float = 10.0) -> Tuple[int, bytes]:
        """The adapter's `Transport` signature, without a socket (unit tests)."""
        return self.handle(method, url, headers, body)

    def _route(self, method: str, path: str, query: Dict[str, List[str]], body: Any) -> Answer:
        m = re.fullmatch(r"/crm/v3/objects/(\w+)/search", path)
        if m and method == "POST":
            return 200, self._search(self._type(m[1]), body)
        m = re.fullmatch(r"/crm/v3/objects/(\w+)/batch/upsert", path)
        if m and method == "POST":
            return 200, self._upsert(self._type(m[1]), body)
        m = re.fullmatch(r"/crm/v3/objects/(\w+)", path)
        if m and method == "POST":
            return 201, self._create(self._type(m[1]), body)
        m = re.fullmatch(r"/crm/v3/objects/(\w+)/(\d+)", path)
        if m and method == "PATCH":
            return 200, self._update(self._type(m[1]), m[2], body)
        if m and method == "GET":
            return 200, self._get(self._type(m[1]), m[2], query.get("associations", [""])[0])
        m = re.fullmatch(r"/crm/v4/objects/(\w+)/(\d+)/associations/default/(\w+)/(\d+)", path)
        if m and method == "PUT":
            self._associate(self._type(m[1]), m[2], self._type(m[3]), m[4])
            return 200, {"status": "COMPLETE", "results": []}
        if path == "/crm/v3/owners" and method == "GET":
            email = query.get("email", [None])[0]
            return 200, {"results": [o for o in self.owners if email is None or o["email"] == email]}
        m = re.fullmatch(r"/crm/v3/properties/(\w+)/(\w+)", path)
        if m and method == "GET":
            object_type = self._type(m[1])
            if m[2] not in BUILTIN_PROPERTIES[object_type] | self.custom_properties[object_type]:
                raise StubError(404, f"Unable to find property {m[2]}", "OBJECT_NOT_FOUND")
            return 200, {"name": m[2], "type": "string"}
        m = re.fullmatch(r"/crm/v3/properties/(\w+)", path)
        if m and method == "POST":
            return 201, self._create_property(self._type(m[1]), body)
        raise StubError(404, f"no route {method} {path}", "OBJECT_NOT_FOUND")

    # -- objects ----------------------------------------------------------------------
    def _type(self, name: str) -> str:
        if name not in SINGULAR:
            raise StubError(400, f"unknown object type {name}")
        return name

    def _new(self, object_type: str, properties: Dict[str, Any]) -> Dict[str, Any]:
        self._next_id += 1
        record = {"id": str(self._next_id), "properties": {k: str(v) for k, v in properties.items()},
                  "associations": {}, "createdAt": f"2026-01-01T00:00:{self._next_id % 60:02d}.000Z"}
        record["properties"]["hs_object_id"] = record["id"]
        record["properties"]["createdate"] = str(self._next_id)   # monotonic, for sorts
        for name in self.unique_properties[object_type] & set(record["properties"]):
            if self._by_unique(object_type, name, record["properties"][name]):
                raise StubError(409, f"A {SINGULAR[object_type]} with {name}={record['properties'][name]} "
                                     "already exists", "OBJECT_ALREADY_EXISTS")
        self.objects[object_type][record["id"]] = record
        if self.search_lag:
            self._unindexed.add(record["id"])
        return record

    def _by_unique(self, object_type: str, name: str, value: str) -> Optional[Dict[str, Any]]:
        return next((r for r in self.objects[object_type].values() if r["properties"].get(name) == value), None)

    def _upsert(self, object_type: str, body: Any) -> Dict[str, Any]:
        inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs or len(inputs) > 100:
            raise StubError(400, "inputs must be a list of 1..100")
        results = []
        for item in inputs:
            prop, value = item.get("idProperty"), item.get("id")
            if prop not in self.unique_properties[object_type]:
                raise StubError(400, f"{prop} is not a unique property of {object_type}")
            if not isinstance(value, str) or not value:
                raise StubError(400, "id must be the unique property's value")
            self._check_properties(object_type, item.get("properties") or {}, creating=False)
            record = self._by_unique(object_type, prop, value)
            if record is None:
                record = self._new(object_type, {**(item.get("properties") or {}), prop: value})
                results.append({**self._public(object_type, record), "new": True})
            else:
                record["properties"].update({k: str(v) for k, v in (item.get("properties") or {}).items()})
                results.append({**self._public(object_type, record), "new": False})
        return {"status": "COMPLETE", "results": results, "startedAt": "2026-01-01T00:00:00.000Z",
                "completedAt": "2026-01-01T00:00:00.100Z"}

    def _check_properties(self, object_type: str, properties: Any, creating: bool) -> None:
        if not isinstance(properties, dict):
            raise StubError(400, "properties must be an object")
        known = BUILTIN_PROPERTIES[object_type] | self.custom_properties[object_type]
        for name, value in properties.items():
            if name not in known:
                raise StubError(400, f'Property "{name}" does not exist', "VALIDATION_ERROR")
            if not isinstance(value, (str, int, float, bool)):
                raise StubError(400, f"Property values must be strings or numbers: {name}")
            allowed = ENUMS.get((object_type, name))
            if allowed and value not in allowed:
                raise StubError(400, f"{value} was not a valid option for {name}")
            if name == "hubspot_owner_id" and str(value) not in {o["id"] for o in self.owners}:
                raise StubError(400, f"{value} is not a valid owner id")
            if name == "hs_timestamp" and not ISO_OR_MILLIS.match(str(value)):
                raise StubError(400, f"hs_timestamp {value} is not a datetime")
        if object_type == "deals" and "dealstage" in properties and properties["dealstage"] not in DEFAULT_STAGES:
            raise StubError(400, f"{properties['dealstage']} is not a valid deal stage")
        if creating and object_type in ("notes", "tasks") and "hs_timestamp" not in properties:
            raise StubError(400, "hs_timestamp is required")

    def _create(self, object_type: str, body: Any) -> Dict[str, Any]:
        if not isinstance(body, dict) or set(body) - {"properties", "associations"}:
            raise StubError(400, "body must be {properties, associations}")
        self._check_properties(object_type, body.get("properties"), creating=True)
        pending = []
        for item in body.get("associations") or []:
            to_id = str((item.get("to") or {}).get("id", ""))
            types = item.get("types") or []
            if not to_id or not types:
                raise StubError(400, "association needs to.id and types")
            for t in types:
                if t.get("associationCategory") != "HUBSPOT_DEFINED" or not isinstance(t.get("associationTypeId"), int):
                    raise StubError(400, f"bad association type {t}")
                to_type = ASSOCIATION_TYPES.get((object_type, t["associationTypeId"]))
                if to_type is None:
                    raise StubError(400, f"association type {t['associationTypeId']} is not valid from {object_type}")
                if to_id not in self.objects[to_type]:
                    raise StubError(400, f"{SINGULAR[to_type]} {to_id} does not exist")
                pending.append((to_type, to_id))
        record = self._new(object_type, body["properties"])
        for to_type, to_id in pending:
            self._associate(object_type, record["id"], to_type, to_id)
        return self._public(object_type, record)

    def _update(self, object_type: str, object_id: str, body: Any) -> Dict[str, Any]:
        record = self.objects[object_type].get(object_id)
        if record is None:
            raise StubError(404, f"{object_id} not found", "OBJECT_NOT_FOUND")
        self._check_properties(object_type, (body or {}).get("properties"), creating=False)
        record["properties"].update({k: str(v) for k, v in body["properties"].items()})
        return self._public(object_type, record)

    def _get(self, object_type: str, object_id: str, associations: str) -> Dict[str, Any]:
        record = self.objects[object_type].get(object_id)
        if record is None:
            raise StubError(404, f"{object_id} not found", "OBJECT_NOT_FOUND")
        answer = self._public(object_type, record)
        if associations:
            to_type = self._type(associations)
            ids = sorted(record["associations"].get(to_type, set()))
            if ids:
                answer["associations"] = {to_type: {"results": [
                    {"id": i, "type": f"{SINGULAR[object_type]}_to_{SINGULAR[to_type]}"} for i in ids]}}
        return answer

    def _associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        if from_id not in self.objects[from_type] or to_id not in self.objects[to_type]:
            raise StubError(404, "association endpoint not found", "OBJECT_NOT_FOUND")
        self.objects[from_type][from_id]["associations"].setdefault(to_type, set()).add(to_id)
        self.objects[to_type][to_id]["associations"].setdefault(from_type, set()).add(from_id)

    def _public(self, object_type: str, record: Dict[str, Any], only: Optional[List[str]] = None) -> Dict[str, Any]:
        props = self._computed(object_type, record)
        if only is not None:
            props = {k: props.get(k) for k in set(only) | {"hs_object_id", "createdate"}}
        return {"id": record["id"], "properties": props, "createdAt": record["createdAt"],
                "updatedAt": record["createdAt"], "archived": False}

    def _computed(self, object_type: str, record: Dict[str, Any]) -> Dict[str, Any]:
        props = dict(record["properties"])
        if object_type == "deals":
            props["hs_is_closed"] = "true" if props.get("dealstage") in ("closedwon", "closedlost") else "false"
        return props

    def _create_property(self, object_type: str, body: Any) -> Dict[str, Any]:
        required = {"name", "label", "type", "fieldType", "groupName"}
        if not isinstance(body, dict) or required - set(body):
            raise StubError(400, f"property definition needs {sorted(required)}")
        if body["type"] == "string" and body["fieldType"] not in ("text", "textarea"):
            raise StubError(400, "string properties use fieldType text or textarea")
        if body["name"] in BUILTIN_PROPERTIES[object_type] | self.custom_properties[object_type]:
            raise StubError(409, f"Property {body['name']} already exists", "OBJECT_ALREADY_EXISTS")
        self.custom_properties[object_type].add(body["name"])
        if body.get("hasUniqueValue") is True:
            self.unique_properties[object_type].add(body["name"])
        return dict(body)

    # -- search -----------------------------------------------------------------------
    def _search(self, object_type: str, body: Any) -> Dict[str, Any]:
        if not isinstance(body, dict) or set(body) - {"filterGroups", "properties", "limit", "sorts", "after", "query"}:
            raise StubError(400, "bad search request")
        groups = body.get("filterGroups") or []
        if len(groups) > 5 or any(len(g.get("filters") or []) > 6 for g in groups):
            raise StubError(400, "at most 5 filterGroups of at most 6 filters")
        if not isinstance(body.get("limit", 10), int) or not 0 < body.get("limit", 10) <= 200:
            raise StubError(400, "limit must be 1..200")
        for group in groups:
            for f in group.get("filters") or []:
                if f.get("operator") not in OPERATORS or not f.get("propertyName"):
                    raise StubError(400, f"bad filter {f}")
                if "value" in f and not isinstance(f["value"], str):
                    raise StubError(400, "filter values are strings")
        hits = [r for r in self.objects[object_type].values() if r["id"] not in self._unindexed
                if not groups or any(all(self._match(object_type, r, f) for f in g["filters"]) for g in groups)]
        for sort in reversed(body.get("sorts") or []):
            hits.sort(key=lambda r: int(self._computed(object_type, r).get(sort["propertyName"]) or 0)
                      if sort["propertyName"] == "createdate" else str(self._computed(object_type, r).get(sort["propertyName"])),
                      reverse=sort.get("direction") == "DESCENDING")
        limit = body.get("limit", 10)
        only = body.get("properties") or []
        return {"total": len(hits), "results": [self._public(object_type, r, only) for r in hits[:limit]]}

    def _match(self, object_type: str, record: Dict[str, Any], f: Dict[str, Any]) -> bool:
        name, op, value = f["propertyName"], f["operator"], f.get("value")
        if name.startswith("associations."):
            ids = record["associations"].get(PLURAL.get(name.split(".", 1)[1], ""), set())
            return (value in ids) if op == "EQ" else (value not in ids)
        actual = self._computed(object_type, record).get(name)
        if op == "EQ":
            return actual is not None and actual.lower() == str(value).lower()
        if op == "NEQ":
            return actual is None or actual.lower() != str(value).lower()
        if op == "HAS_PROPERTY":
            return actual not in (None, "")
        if op == "NOT_HAS_PROPERTY":
            return actual in (None, "")
        if op == "IN":
            return actual in f.get("values", [])
        if op == "CONTAINS_TOKEN":
            return actual is not None and str(value).lower() in actual.lower()
        raise StubError(400, f"operator {op} not supported by the stub")


@contextmanager
def serve(stub: HubSpotStub) -> Iterator[str]:
    """The stub on a free 127.0.0.1 port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            status, answer = stub.handle(self.command, self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        def log_message(self, *args: Any) -> None:
            pass

    with serve_on_free_port(Handler) as url:
        yield url
