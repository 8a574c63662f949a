"""Canned Vonage webhook sequences (one JSON file per final status) and their one loader.

Each file holds: `routing` (the account's routing section for the scenario), `settings`,
`answer` (the answer webhook's query parameters, for inbound calls) or `callback`
(the widget request), `webhooks` (each `path`, `query`, `body` — bodies shaped as
Vonage's Voice API webhook reference documents them), and `expect`.

Placeholders filled per run so every replay is a new call: {{CONV}} conversation_uuid,
{{CALLER_UUID}} / {{AGENT_UUID}} / {{AGENT2_UUID}} / {{CLIENT_UUID}} / {{CLIENT2_UUID}} leg
uuids, {{TO}} tracking number and {{FROM}} caller (digits, no '+', as Vonage sends them),
{{DEST}} the destination's digits, {{CALL}} our call id.
"""
from __future__ import annotations

import copy
import json
import random
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
PLACEHOLDERS = ("CONV", "CALLER_UUID", "AGENT_UUID", "AGENT2_UUID", "CLIENT_UUID", "CLIENT2_UUID")


def names() -> List[str]:
    return sorted(p.stem for p in HERE.glob("*.json"))


def _fill(node: Any, values: Dict[str, str]) -> Any:
    if isinstance(node, str):
        for key, value in values.items():
            node = node.replace("{{" + key + "}}", value)
        return node
    if isinstance(node, list):
        return [_fill(n, values) for n in node]
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    return node


def load(name: str, **values: str) -> Dict[str, Any]:
    """The scenario `name` with fresh uuids; `values` fill TO, FROM, DEST, CALL (digits)."""
    raw = json.loads((HERE / f"{name}.json").read_text())
    fresh = {key: str(uuid.uuid4()) for key in PLACEHOLDERS}
    fresh["CONV"] = "CON-" + fresh["CONV"]
    fresh.update(values)
    scenario = _fill(raw, fresh)
    scenario["name"] = name
    scenario["values"] = fresh
    scenario["clock"] = datetime.fromisoformat(scenario["start"].replace("Z", "+00:00")).timestamp()
    return scenario


def variants(webhooks: List[Dict[str, Any]], seed: int = 7) -> Dict[str, List[Dict[str, Any]]]:
    """The same webhooks in order, each delivered twice (Vonage retries), and shuffled."""
    rng = random.Random(seed)
    doubled = [copy.deepcopy(w) for w in webhooks for _ in range(2)]
    shuffled = copy.deepcopy(webhooks) + copy.deepcopy(webhooks[: len(webhooks) // 2])
    rng.shuffle(shuffled)
    return {"in_order": copy.deepcopy(webhooks), "duplicated": doubled, "shuffled": shuffled}


def iso(ts: float) -> str:
    """Vonage's timestamp format: ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def answered_call(tracking: str, caller: str, at: float, talk: int) -> tuple:
    """A fresh inbound call answered by the agent after 4 s of ringing who talks `talk` s:
    the answer webhook's query and the events Vonage then sends, as (query, body) pairs
    (agent-leg events carry the `leg=agent` query our connect NCCO gives Vonage)."""
    conv, leg, agent = "CON-" + str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    to, frm = tracking.lstrip("+"), caller.lstrip("+")
    answer = {"to": to, "from": frm, "uuid": leg, "conversation_uuid": conv}
    base = {"conversation_uuid": conv, "timestamp": iso(at)}
    inbound = {**base, "from": frm, "to": to, "uuid": leg, "direction": "inbound"}
    outbound = {**base, "from": to, "to": "14155550199", "uuid": agent, "direction": "outbound"}
    agent_q = {"call": conv, "leg": "agent"}
    events = [
        ({}, {**inbound, "status": "started"}),
        (agent_q, {**outbound, "status": "ringing", "timestamp": iso(at + 1)}),
        (agent_q, {**outbound, "status": "answered", "timestamp": iso(at + 4)}),
        (agent_q, {**outbound, "status": "completed", "duration": str(talk), "start_time": iso(at + 4),
                   "end_time": iso(at + 4 + talk), "timestamp": iso(at + 4 + talk)}),
        ({}, {**inbound, "status": "completed", "duration": str(talk + 4), "start_time": iso(at),
              "end_time": iso(at + 5 + talk), "timestamp": iso(at + 5 + talk)}),
    ]
    return answer, events
