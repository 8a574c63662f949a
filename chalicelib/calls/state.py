"""The call state machine as a reducer: one final status from a *set* of facts.

Every webhook Vonage sends becomes one compact, canonical fact (a JSON string). The
call item keeps them as a DynamoDB string set, so a retried webhook adds nothing and
arrival order does not exist. `derive(ctx, facts)` is a pure function of the set:
replaying any sequence — in order, duplicated, shuffled — yields the same record.

Legs: `caller` (the inbound leg, answer `uuid`), `agent` (the leg `connect` creates;
for callbacks the business's leg Vonage dials first), `client` (callbacks: the
visitor's leg). Callback legs carry their attempt number.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from chalicelib import vocabulary

STATUSES = frozenset({"started", "ringing", "answered", "busy", "cancelled", "unanswered", "disconnected",
                      "rejected", "failed", "timeout", "machine", "human", "completed"})
TERMINAL = frozenset({"completed", "busy", "cancelled", "unanswered", "rejected", "failed", "timeout"})
NO_ANSWER = frozenset({"timeout", "unanswered", "busy", "rejected", "failed"})
# A caller still on the line this long after the voicemail prompt (its spoken length estimated
# at WORDS_PER_SECOND) reached the `record` action, and Vonage will post a recording; one who
# hung up sooner may not have (then the call settles without waiting for one).
VOICEMAIL_MIN_STAY = 2.0
WORDS_PER_SECOND = 2.5
# Settlement sweep (`overdue`): how long to wait for a webhook that may never come before the
# call is settled with the facts known (a `sweep` fact; see `derive`). Vonage stops retrying a
# webhook our endpoint failed to take, and our endpoint may be down: without these bounds the
# call would stay `in_progress` forever and `Call Completed` would never be sent.
# - Before anyone answered, every NCCO step is bounded by the routing schema: greeting and IVR
#   prompts (≤ 1500 characters each, about 100 s spoken), IVR input (≤ 10 s), ringing
#   (≤ 120 s), voicemail prompt + recording (≤ 300 s). Half an hour without a new fact is far
#   beyond all of them together, so the caller has gone and the event was lost.
QUIET_SECONDS = 30 * 60
# - Once an agent answered, Vonage sends nothing until the conversation ends, and a `connect`
#   without `limit` lasts at most 7200 s (Vonage's default and maximum for `limit`).
CONNECT_LIMIT_SECONDS = 7200
# - After the caller hung up, what we still wait for (the recording Vonage posts once it has
#   processed the file, the agent leg's last events, the post-call tagging menu ≤ 2 × 10 s)
#   normally arrives within seconds; a quarter of an hour covers slow processing.
AFTER_END_SECONDS = 15 * 60
# Added to the talking bound: Vonage's clock vs ours, and the last webhook's own delivery.
SETTLE_MARGIN_SECONDS = 10 * 60
# Steps of our NCCOs that a `notify` action reports (docs/calls.md): `voicemail` — the caller
# reached the voicemail recording; `bridged` — the whisper ended, the agent is joined to the caller.
STEPS = frozenset({"voicemail", "bridged"})
FINAL_STATUSES = vocabulary.FINAL_STATUSES
Fact = Dict[str, Any]


# Times outside this range are not Vonage's: dropped, so one bad value cannot make the call's
# record unbuildable (facts are kept for good; a fact that breaks the record breaks it forever).
EARLIEST, LATEST = 946684800.0, 4102444800.0      # 2000-01-01, 2100-01-01 UTC
LONGEST_SECONDS = 7 * 86400                       # durations and costs beyond this are garbage


def epoch(value: Any) -> Optional[float]:
    """Vonage's ISO 8601 timestamps ('2020-01-01T12:05:01.200Z') → epoch seconds; None for
    anything unreadable or outside 2000–2100."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            at = float(value)
        else:
            at = round(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp(), 3)
    except (ValueError, OverflowError, OSError):
        return None
    return at if EARLIEST <= at <= LATEST else None


def _int(value: Any) -> Optional[int]:
    """A whole number of seconds from a webhook field; None for garbage (nan, inf, 1e300…)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and abs(number) <= LONGEST_SECONDS else None


def leg_role(payload: Mapping[str, Any], leg: Optional[str]) -> Optional[str]:
    """Our URLs name the leg (`?leg=agent|client`); the application's event URL gets the
    inbound leg (direction inbound) and, when Vonage has no leg-specific URL, outbound legs.
    An event without a direction there (Vonage documents `disconnected` so for WebSocket
    legs) is no leg of ours: None."""
    if leg in ("agent", "client", "caller"):
        return leg
    direction = payload.get("direction")
    return {"inbound": "caller", "outbound": "agent"}.get(direction) if isinstance(direction, str) else None


def keyed_digits(payload: Mapping[str, Any]) -> Tuple[str, bool]:
    """The digits of an `input` webhook and whether it timed out. Vonage's current shape is
    `dtmf: {digits, timed_out}`; the legacy one (still sent to older applications) is
    `dtmf: "2"` with a top-level `timed_out`."""
    dtmf = payload.get("dtmf")
    if isinstance(dtmf, dict):
        return str(dtmf.get("digits") or ""), bool(dtmf.get("timed_out"))
    digits = dtmf if isinstance(dtmf, (str, int)) and not isinstance(dtmf, bool) else ""
    return str(digits), bool(payload.get("timed_out"))


def fact_of(payload: Mapping[str, Any], kind: str = "event", leg: Optional[str] = None,
            attempt: Optional[int] = None, purpose: Optional[str] = None) -> Optional[Fact]:
    """The canonical fact of one webhook, or None when it says nothing we keep."""
    ts = epoch(payload.get("timestamp"))
    uuid = payload.get("uuid") or payload.get("call_uuid")
    if not isinstance(uuid, (str, type(None))):
        uuid = str(uuid)
    if kind == "record":
        if not isinstance(payload.get("recording_url"), str) or not payload.get("recording_url"):
            return None
        return {"k": "record", "kind": purpose or "call", "url": payload["recording_url"],
                "rid": str(payload.get("recording_uuid") or "") or None, "st": epoch(payload.get("start_time")),
                "et": epoch(payload.get("end_time"))}
    if kind == "input":
        digits, timed_out = keyed_digits(payload)
        return {"k": "input", "p": purpose or "ivr", "u": uuid, "t": ts, "d": digits, "x": timed_out}
    if kind == "step":
        # A `notify` action of our NCCO was reached (its `payload` names the step).
        return {"k": "step", "s": purpose, "u": uuid, "t": ts} if purpose in STEPS else None
    status = payload.get("status")
    role = leg_role(payload, leg)
    if not isinstance(status, str) or status not in STATUSES or role is None:
        return None
    fact: Fact = {"k": "leg", "r": role, "a": int(attempt or 1), "u": uuid, "s": status, "t": ts}
    if fact["r"] != "caller" and payload.get("to"):
        fact["to"] = str(payload["to"])
    if status == "completed":
        fact.update(d=_int(payload.get("duration")), st=epoch(payload.get("start_time")),
                    et=epoch(payload.get("end_time")))
    if payload.get("detail"):
        fact["det"] = str(payload["detail"])
    return fact


def notify_fact(payload: Mapping[str, Any], step: Optional[str], received_at: Optional[float]) -> Optional[Fact]:
    """The fact of a `notify` webhook: Vonage posts `{"payload": {...}, "conversation_uuid",
    "timestamp"}` (our payload nested, no leg uuid). The step is named by our URL (`step`),
    else by the payload; without a timestamp, the moment it reached us."""
    inner = payload.get("payload") if isinstance(payload.get("payload"), dict) else {}
    name = step or inner.get("step")
    at = payload.get("timestamp") or received_at
    return fact_of({"timestamp": at, "uuid": payload.get("uuid")}, "step", purpose=name if isinstance(name, str) else None)


def encode(fact: Fact) -> str:
    return json.dumps({k: v for k, v in fact.items() if v is not None}, sort_keys=True, separators=(",", ":"))


def decode(facts: Iterable[str]) -> List[Fact]:
    return [json.loads(f) for f in sorted(facts or ())]


class Leg:
    """What we know of one leg: the earliest timestamp of each status, and its completion."""

    def __init__(self, role: str, attempt: int, uuid: str) -> None:
        self.role, self.attempt, self.uuid = role, attempt, uuid
        self.at: Dict[str, float] = {}
        self.completed: Fact = {}
        self.to: Optional[str] = None
        self.cut: Optional[float] = None    # set by a sweep: assumed over, at its last known time

    def add(self, fact: Fact) -> None:
        ts, prev = fact.get("t"), self.at.get(fact["s"])
        if fact["s"] not in self.at or (ts is not None and (prev is None or ts < prev)):
            self.at[fact["s"]] = ts
        if fact["s"] == "completed" and (not self.completed or encode(fact) < encode(self.completed)):
            self.completed = fact
        if fact.get("to") and (self.to is None or fact["to"] < self.to):
            self.to = fact["to"]

    @property
    def terminal(self) -> bool:
        return self.cut is not None or any(s in TERMINAL for s in self.at)

    @property
    def machine(self) -> bool:
        """Machine detection said an answering machine or voicemail greeting took the leg."""
        return "machine" in self.at and "human" not in self.at

    @property
    def answered(self) -> bool:
        """A person answered (a machine's answer is not an answer)."""
        return "answered" in self.at and not self.machine

    @property
    def outcome(self) -> Optional[str]:
        """The leg's failure status, if it ended without being answered."""
        for status in ("busy", "rejected", "failed", "timeout", "unanswered", "cancelled"):
            if status in self.at:
                return status
        return None

    def first(self) -> Optional[float]:
        known = [t for t in self.at.values() if t is not None]
        return min(known) if known else None

    def end(self) -> Optional[float]:
        if self.completed.get("et"):
            return self.completed["et"]
        ends = [self.at[s] for s in TERMINAL if self.at.get(s)]
        return max(ends) if ends else self.cut

    def talk(self) -> Optional[int]:
        if self.completed.get("d") is not None:
            return int(self.completed["d"])
        start, end = self.at.get("answered"), self.end()
        return max(0, int(round(end - start))) if start and end else None

    def conversation(self, other_end: Optional[float], lead: float = 0.0, bridged: Optional[float] = None) -> int:
        """Seconds this answered leg talked with the other party: from when both were joined
        (`bridged`, reported by our NCCO; else its answer plus `lead`, what it heard before
        being joined, e.g. the whisper) to whichever leg ended first — the other party
        hanging up ends the conversation even if this leg stays up (the post-call tagging
        menu). Falls back to the leg's own duration only when its times are unknown."""
        start = self.at.get("answered") or self.completed.get("st")
        if bridged is not None and start is not None:
            start, lead = max(start, bridged), 0.0
        ends = [e for e in (self.end(), other_end) if e]
        if start is None or not ends:
            own = self.talk()
            return max(0, int(round(own - lead))) if own is not None else 0
        return max(0, int(round(min(ends) - start - lead)))


def legs_of(facts: List[Fact]) -> List[Leg]:
    legs: Dict[Tuple[str, int, str], Leg] = {}
    for fact in facts:
        if fact["k"] != "leg":
            continue
        key = (fact["r"], fact.get("a", 1), fact.get("u") or "")
        legs.setdefault(key, Leg(*key)).add(fact)
    out = [legs[k] for k in sorted(legs)]
    if any(f["k"] == "sweep" for f in facts):
        # Settled by the sweep: a leg whose end never arrived is taken as over at the last
        # moment the call is known to have been alive (a lower bound of its end).
        last = last_seen(facts)
        for leg in out:
            if not any(s in TERMINAL for s in leg.at):
                leg.cut = max([t for t in (last, leg.first()) if t is not None], default=0.0)
    return out


def last_seen(facts: List[Fact]) -> Optional[float]:
    """The latest timestamp among the facts Vonage sent (sweep facts excluded)."""
    times = [t for f in facts if f["k"] != "sweep" for t in (f.get("t"), f.get("et")) if t is not None]
    return max(times) if times else None


def sweep_fact(reason: str, at: float) -> Fact:
    """The fact the sweep adds to settle an overdue call. `at` is the deadline computed from
    the facts (not the sweep's clock), so concurrent sweeps add the same fact."""
    return {"k": "sweep", "why": reason, "t": round(at, 3)}


def swept(facts: List[Fact]) -> bool:
    return any(f["k"] == "sweep" for f in facts)


def open_legs(ctx: Mapping[str, Any], raw_facts: Iterable[str]) -> List[Tuple[str, int, str]]:
    """(role, attempt, uuid) of the legs whose end we never heard of (the caller's from the
    answer, when none of its events came): what the sweep asks Vonage about."""
    legs = legs_of([f for f in decode(raw_facts) if f["k"] != "sweep"])
    out = [(l.role, l.attempt, l.uuid) for l in legs
           if l.uuid and not l.uuid.startswith("not-dialled") and not l.terminal]
    if ctx.get("direction") == "inbound" and ctx.get("caller_uuid") and not any(l.role == "caller" for l in legs):
        out.insert(0, ("caller", 1, str(ctx["caller_uuid"])))
    return out


def vonage_time(value: Any) -> Optional[str]:
    """Vonage's call-detail times ('2026-01-05 10:00:50', or ISO 8601) as our ISO 'Z' form;
    a time without zone is UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def leg_fact(info: Mapping[str, Any], role: str, attempt: int) -> Optional[Fact]:
    """The fact of a leg's final state as Vonage's call detail (GET /v1/calls/{uuid}) gives
    it — what its lost last event would have said — or None while the leg is not over."""
    if info.get("status") not in TERMINAL:
        return None
    start, end = vonage_time(info.get("start_time")), vonage_time(info.get("end_time"))
    payload = {**info, "start_time": start, "end_time": end, "timestamp": end or start}
    return fact_of(payload, "event", leg=role, attempt=attempt)


def complete(ctx: Mapping[str, Any], raw_facts: Iterable[str]) -> bool:
    """Settled on Vonage's facts alone (sweep facts ignored)."""
    real = [raw for raw in raw_facts or () if json.loads(raw).get("k") != "sweep"]
    return bool(derive(ctx, real)["settled"])


def overdue(ctx: Mapping[str, Any], raw_facts: Iterable[str], now: float) -> Optional[Fact]:
    """The sweep fact that settles the call now, or None while its facts may still come.

    Pure. The deadline depends on where the call stands (see the constants): caller hung up
    → AFTER_END_SECONDS after the caller's end; an agent (or a callback's visitor) answered
    and no end yet → CONNECT_LIMIT_SECONDS + SETTLE_MARGIN_SECONDS after the answer; otherwise
    QUIET_SECONDS after the last fact (or the call's start when there is none)."""
    if not ctx:
        return None
    facts = decode(raw_facts)
    if swept(facts) or derive(ctx, raw_facts)["settled"]:
        return None
    reason, deadline = deadline_of(ctx, facts)
    return sweep_fact(reason, deadline) if now >= deadline else None


def deadline_of(ctx: Mapping[str, Any], facts: List[Fact]) -> Tuple[str, float]:
    legs = legs_of(facts)
    start = ctx.get("started_at") or 0.0
    last = max(t for t in (last_seen(facts), start) if t is not None)
    first_role = "agent" if ctx.get("direction") == "callback" else "caller"
    talking_role = "client" if ctx.get("direction") == "callback" else "agent"
    firsts = [l for l in legs if l.role == first_role]
    if ctx.get("direction") != "callback" and firsts and all(l.terminal for l in firsts):
        end = max([e for e in (l.end() for l in firsts) if e] or [last])
        return "after_end", end + AFTER_END_SECONDS
    talking = [l.at["answered"] for l in legs if l.role == talking_role and l.at.get("answered")
               and not l.terminal]
    if talking:
        return "no_end", max(talking) + CONNECT_LIMIT_SECONDS + SETTLE_MARGIN_SECONDS
    return "quiet", last + QUIET_SECONDS


def _secs(a: Optional[float], b: Optional[float]) -> Optional[int]:
    return max(0, int(round(b - a))) if a is not None and b is not None else None


def derive(ctx: Mapping[str, Any], raw_facts: Iterable[str]) -> Dict[str, Any]:
    """The call's outcome from its context and facts (pure, order- and duplicate-free)."""
    facts = decode(raw_facts)
    legs = legs_of(facts)
    if ctx.get("direction") == "callback":
        return _callback(ctx, facts, legs)
    return _inbound(ctx, facts, legs)


def _recording(facts: List[Fact], kind: str) -> Optional[str]:
    urls = sorted(f["url"] for f in facts if f["k"] == "record" and f.get("kind") == kind)
    return urls[0] if urls else None


def _ivr(ctx: Mapping[str, Any], facts: List[Fact]) -> Tuple[List[str], Optional[Dict[str, Any]], bool]:
    """IVR path (digits in order), the chosen option, and whether any input arrived."""
    from chalicelib.calls.routing import department_of

    inputs = sorted((f for f in facts if f["k"] == "input" and f.get("p") == "ivr"),
                    key=lambda f: (f.get("t") or 0, f.get("d") or ""))
    path = [f["d"] for f in inputs if f.get("d")]
    choice = None
    for digits in path:
        choice = department_of(ctx.get("plan") or {}, digits) or choice
    return path, choice, bool(inputs)


def _inbound(ctx: Mapping[str, Any], facts: List[Fact], legs: List[Leg]) -> Dict[str, Any]:
    plan = ctx.get("plan") or {}
    callers = [l for l in legs if l.role == "caller"]
    agents = [l for l in legs if l.role == "agent"]
    start = min([t for t in (l.first() for l in callers) if t] or [ctx.get("started_at") or 0.0])
    caller_end = max([e for e in (l.end() for l in callers) if e] or [0.0]) or None
    answered = [l for l in agents if l.answered]
    answered_at = min((l.at["answered"] for l in answered if l.at.get("answered")), default=None)
    path, choice, had_input = _ivr(ctx, facts)
    voicemail_url = _recording(facts, "voicemail")
    call_url = _recording(facts, "call")
    done = swept(facts)   # the sweep gave up waiting: settle with what is known
    caller_terminal = done or (bool(callers) and all(l.terminal for l in callers))

    status = "in_progress"
    refused = refusal(plan, facts) if not agents else None
    if caller_terminal:
        status = "rejected" if refused else _inbound_status(ctx, plan, callers, agents, answered, voicemail_url,
                                                            path, choice, had_input, start, caller_end)
    settled = done or (caller_terminal and all(l.terminal for l in agents) and _recordings_in(
        plan, status, agents, voicemail_url, call_url, start, caller_end, _step_at(facts, "voicemail")))
    lead = whisper_seconds(ctx, plan, choice)
    talk = sum(l.conversation(caller_end, lead, _bridged_at(facts, l)) for l in answered) if answered else 0
    destination = (choice or {}).get("destination") or plan.get("destination")
    duration = next((l.completed.get("d") for l in callers if l.completed.get("d") is not None), None)
    return {
        "status": status, "settled": settled, "answered_at": answered_at, "ended_at": caller_end,
        "wait_seconds": _secs(start, answered_at or caller_end),
        "talk_seconds": talk if caller_terminal or answered else None,
        "duration_seconds": duration if duration is not None else _secs(start, caller_end),
        "ivr_path": path, "department": (choice or {}).get("department"), "destination": destination,
        "agent": next((("+" + l.to.lstrip("+")) for l in answered if l.to), None),
        "recording_url": call_url or voicemail_url, "suspected_false_conversion": False, "attempts": None,
        "refused": refused,
    }


def refusal(plan: Mapping[str, Any], facts: List[Fact]) -> Optional[str]:
    """Why a call was not put through before any routing (calls/spam.py): `blocked` (the
    block list), `challenge` (a wrong key or none at the press-a-key check), `unchecked`
    (hung up during the check); None when it was put through or is still in the check."""
    if plan.get("action") == "blocked":
        return "blocked"
    check = plan.get("challenge")
    if not check:
        return None
    inputs = [f for f in facts if f["k"] == "input" and f.get("p") == "challenge"]
    if any(challenge_passed(plan, f.get("d")) for f in inputs):
        return None
    return "challenge" if inputs else "unchecked"


def challenge_passed(plan: Mapping[str, Any], digits: Optional[str]) -> bool:
    """Whether the keys pressed pass the plan's press-a-key check (a plan without one: yes)."""
    check = plan.get("challenge")
    return not check or (digits is not None and digits == check.get("digit"))


def _inbound_status(ctx: Mapping[str, Any], plan: Mapping[str, Any], callers: List[Leg], agents: List[Leg],
                    answered: List[Leg], voicemail_url: Optional[str], path: List[str],
                    choice: Optional[Dict[str, Any]], had_input: bool, start: float,
                    caller_end: Optional[float]) -> str:
    if answered:
        return "answered"
    if voicemail_url:
        return "voicemail"
    caller_fail = next((l.outcome for l in callers if l.outcome in ("failed", "rejected")), None)
    if caller_fail and not agents:
        return caller_fail
    stayed = (caller_end - start) if caller_end else 0.0
    greeting_seconds = (ctx.get("settings") or {}).get("greeting_seconds", 0)
    if plan.get("greeting") and not agents and not had_input and stayed < greeting_seconds:
        return "abandoned_in_greeting"
    if plan.get("ivr") and not agents:
        if not had_input:
            return "ivr_abandoned"
        if choice is None:
            return "ivr_no_input"
    outcomes = {l.outcome for l in agents}
    for status in ("busy", "rejected", "failed"):
        if status in outcomes:
            return status
    return "missed"


def whisper_seconds(ctx: Mapping[str, Any], plan: Mapping[str, Any], choice: Optional[Mapping[str, Any]]) -> float:
    """How long the agent hears the whisper before the caller is bridged (estimated from
    its text; Vonage sends no event when the `onAnswer` NCCO ends)."""
    if not plan.get("whisper"):
        return 0.0
    from chalicelib.calls.ncco import whisper_text

    source = (ctx.get("attribution") or {}).get("source") or "direct"
    return speech_seconds(whisper_text(source, (choice or {}).get("department")))


def _step_at(facts: List[Fact], step: str, uuid: Optional[str] = None) -> Optional[float]:
    """When our NCCO reported reaching `step` (the earliest report; of leg `uuid` if given)."""
    times = [f["t"] for f in facts if f["k"] == "step" and f.get("s") == step and f.get("t") is not None
             and (uuid is None or f.get("u") in (None, uuid))]
    return min(times) if times else None


def _bridged_at(facts: List[Fact], leg: Leg) -> Optional[float]:
    return _step_at(facts, "bridged", leg.uuid or None)


def voicemail_offered_at(plan: Mapping[str, Any], agents: List[Leg], start: float) -> Optional[float]:
    """When the caller was sent to voicemail (connect failed, or the plan goes there directly)."""
    if not plan.get("voicemail"):
        return None
    prompt = speech_seconds((plan.get("voicemail") or {}).get("prompt"))
    if plan.get("action") == "voicemail":
        return start + speech_seconds(plan.get("greeting")) + prompt
    ends = [l.end() or l.first() or start for l in agents if l.outcome in NO_ANSWER]
    return min(ends) + prompt if ends else None


def speech_seconds(text: Optional[str]) -> float:
    """About how long text-to-speech takes to say `text`."""
    return len((text or "").split()) / WORDS_PER_SECOND


def _recordings_in(plan: Mapping[str, Any], status: str, agents: List[Leg], voicemail_url: Optional[str],
                   call_url: Optional[str], start: float, caller_end: Optional[float],
                   recording_reached: Optional[float] = None) -> bool:
    """Recordings arrive after the call ends: wait for the ones we know are coming.

    A voicemail recording is coming only if the caller reached the `record` action and
    stayed: plans whose NCCOs report their steps (`steps`) say so exactly (the `notify`
    before `record`); older plans fall back to an estimate of when the prompt ended."""
    if status == "answered" and plan.get("record") and not call_url:
        return False
    if plan.get("steps"):
        if status == "answered" or voicemail_url or recording_reached is None:
            return True
        return not (caller_end and caller_end - recording_reached >= VOICEMAIL_MIN_STAY)
    offered = voicemail_offered_at(plan, agents, start)
    if status != "answered" and offered is not None and not voicemail_url:
        return not (caller_end and caller_end - offered >= VOICEMAIL_MIN_STAY)
    return True


def _callback(ctx: Mapping[str, Any], facts: List[Fact], legs: List[Leg]) -> Dict[str, Any]:
    plan = ctx.get("plan") or {}
    max_attempts = int(plan.get("retries", 0)) + 1
    attempts = sorted({l.attempt for l in legs}) or [1]
    clients = [l for l in legs if l.role == "client"]
    answered = [l for l in clients if l.answered]
    last = attempts[-1]
    last_done = attempt_done(legs, last)
    exhausted = last >= max_attempts and last_done
    agent_answered = any(l.answered for l in legs if l.role == "agent")
    if answered:
        status, settled = "answered", all(l.terminal for l in legs)
    elif exhausted or swept(facts):
        status, settled = ("callback_client_no_answer" if agent_answered else "callback_agent_no_answer"), True
    else:
        status, settled = "in_progress", False
    start = ctx.get("started_at") or 0.0
    answered_at = min((l.at["answered"] for l in answered if l.at.get("answered")), default=None)
    ends = [e for e in (l.end() for l in legs) if e]
    ended_at = max(ends) if settled and ends else None
    return {
        "status": status, "settled": settled, "answered_at": answered_at, "ended_at": ended_at,
        "wait_seconds": _secs(start, answered_at or ended_at),
        "talk_seconds": sum(l.conversation(_attempt_end(legs, "agent", l.attempt)) for l in answered)
        if settled or answered else None,
        "duration_seconds": _secs(start, ended_at), "ivr_path": [], "department": None,
        "destination": plan.get("destination"),
        "agent": plan.get("destination") if agent_answered else None,
        "recording_url": _recording(facts, "call"),
        "suspected_false_conversion": status == "callback_client_no_answer", "attempts": len(attempts),
    }


def _attempt_end(legs: List[Leg], role: str, attempt: int) -> Optional[float]:
    ends = [e for e in (l.end() for l in legs if l.role == role and l.attempt == attempt) if e]
    return min(ends) if ends else None


def attempt_done(legs: List[Leg], attempt: int) -> bool:
    """A callback attempt is over: the business's leg ended, and the visitor's too if it was dialled."""
    agents = [l for l in legs if l.role == "agent" and l.attempt == attempt]
    clients = [l for l in legs if l.role == "client" and l.attempt == attempt]
    if not agents or not all(l.terminal for l in agents):
        return False
    if any(l.answered for l in agents):
        return bool(clients) and all(l.terminal for l in clients)
    return True


def next_callback_attempt(ctx: Mapping[str, Any], raw_facts: Iterable[str]) -> Optional[int]:
    """The attempt to start now, when the last one ended without the visitor answering."""
    facts = decode(raw_facts)
    legs = legs_of(facts)
    if not legs or swept(facts) or any(l.answered for l in legs if l.role == "client"):
        return None   # (a swept callback is settled: a late webhook must not dial again)
    last = max(l.attempt for l in legs)
    max_attempts = int((ctx.get("plan") or {}).get("retries", 0)) + 1
    if last < max_attempts and attempt_done(legs, last):
        return last + 1
    return None
