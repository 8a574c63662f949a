"""Reading and annotating calls: the contract other domains build on.

`get_call`, `query_calls` and `set_tags` answer the API representation of a call
(`CALL_KEYS`, `SPAM_KEYS` and `ANALYSIS_KEYS`, every key present, null when unknown). Reports and integrations read
calls only through here.
"""
from __future__ import annotations

import base64
import json
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.calls import spam
from chalicelib.calls.models import Call
from chalicelib.db import condition_failed
from chalicelib.errors import BadRequest, NotFound
from chalicelib.times import iso  # noqa: F401  (store.iso: what calls and reports write times with)
from chalicelib.vocabulary import CLASSES, score_band

Clock = Callable[[], float]

CALL_KEYS = (
    "account_id", "call_id", "conversation_uuid", "tracking_number", "caller", "caller_hash", "direction",
    "status", "started_at", "answered_at", "ended_at", "wait_seconds", "talk_seconds", "duration_seconds",
    "within_working_hours", "ivr_path", "department", "destination", "agent", "recording_url", "session_id",
    "method", "source", "medium", "campaign", "keyword", "content", "landing_page", "referrer", "pages_seen",
    "click_ids", "ga_client_id", "ga_session_id", "device", "browser", "os", "country", "attribution_confidence",
    "classification", "classification_final", "tags", "value", "currency", "suspected_false_conversion",
)
# Kept beside the record, not derived from Vonage's facts: spam (calls/spam.py) and the
# conversation rules' label and score once the transcript was analysed (intelligence).
SPAM_KEYS = ("spam", "spam_reasons", "spam_verdict")
ANALYSIS_KEYS = ("lead", "lead_score", "score_band", "learned_score")
RULES = "rules"   # the `by` of a tag the conversation rules gave


def to_api(item: Call) -> Dict[str, Any]:
    """The API representation: the derived record plus the annotations stored beside it."""
    out: Dict[str, Any] = {key: None for key in (*CALL_KEYS, *SPAM_KEYS, *ANALYSIS_KEYS)}
    out.update({k: v for k, v in (item.rec or {}).items() if k in out})
    out["call_id"] = item.call_id
    out["account_id"] = item.account_id
    out["tags"] = list(item.tags or [])
    if item.value is not None:
        out["value"] = float(item.value)
    reasons = spam.reasons_of(item.spam_flags, item.spam_verdict)
    out.update(spam=bool(reasons), spam_reasons=reasons, spam_verdict=item.spam_verdict)
    if item.analysis and item.analysis_url:
        score = int(item.analysis.get("score") or 0)
        out.update(lead=item.analysis.get("lead"), lead_score=score, score_band=score_band(score),
                   learned_score=(item.analysis.get("learned") or {}).get("score"))
        # The rules' tags join the call's own (`by: rules`), once per category a person or the
        # keypad did not give already; a PUT of manual tags leaves them (reports/tags.py).
        have = {str(t.get("category") or "").lower() for t in out["tags"]}
        out["tags"] += [{"category": name, "value": None, "by": RULES} for name in item.analysis.get("tags") or []
                        if isinstance(name, str) and name.lower() not in have]
    return out


def item_of(account_id: str, call_id: str) -> Call:
    """The account's stored call item, or NotFound (also for another account's call)."""
    try:
        item = Call.get(call_id)
    except DoesNotExist as err:
        raise NotFound(f"no call '{call_id}'") from err
    if item.account_id != account_id or item.rec is None:
        raise NotFound(f"no call '{call_id}'")
    return item


def get_call(account_id: str, call_id: str) -> Dict[str, Any]:
    """One call of the account, or NotFound (also for another account's call)."""
    return to_api(item_of(account_id, call_id))


def query_calls(account_id: str, since: float, until: float, repair: bool = False) -> Iterator[Dict[str, Any]]:
    """The account's calls started in [since, until], newest first (GSI account_id + started_at).
    `repair` (the roll-up rebuild): also fill the `agent_key` an agent's call list reads,
    for settled calls stored before it existed (one UpdateItem per such call)."""
    for item in Call.account_index.query(account_id, Call.started_at.between(since, until),
                                         scan_index_forward=False):
        if item.rec is not None:
            settled = item.rec.get("classification") is not None
            wanted = agent_key(account_id, item.rec) if settled else None
            if repair and wanted != item.agent_key:
                item.update(actions=[Call.agent_key.set(wanted) if wanted else Call.agent_key.remove()],
                            condition=Call.account_id == account_id)
            yield to_api(item)


def agent_key(account_id: Optional[str], rec: Dict[str, Any]) -> Optional[str]:
    """The key of an agent's calls (AgentCallsIndex), for a call an agent answered."""
    return f"{account_id}#{rec['agent']}" if account_id and rec.get("agent") else None


SPAM_MODES = ("exclude", "include", "only")


def _filter(status: Optional[str], direction: Optional[str], source: Optional[str],
            classification: Optional[str], spam_mode: str = "include") -> Any:
    condition = Call.rec.exists()
    if spam_mode not in SPAM_MODES:
        raise BadRequest(f"spam: use {', '.join(SPAM_MODES)}")
    # Spam: a reason, not overruled by a person, or a person's "spam" (calls/spam.py).
    flagged = (Call.spam_flags.exists() & ((Call.spam_verdict.does_not_exist()) | (Call.spam_verdict != "not_spam"))
               ) | (Call.spam_verdict == "spam")
    if spam_mode == "only":
        condition &= flagged
    elif spam_mode == "exclude":
        condition &= ~flagged
    if status:
        condition &= Call.status == status
    if direction:
        condition &= Call.direction == direction
    if source:
        condition &= Call.source == source
    if classification:
        if classification not in CLASSES:
            raise BadRequest(f"classification must be one of {', '.join(CLASSES)}")
        condition &= Call.classes.contains(classification)
    return condition


def encode_cursor(key: Optional[Dict[str, Any]]) -> Optional[str]:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def decode_cursor(cursor: Optional[str]) -> Optional[Dict[str, Any]]:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest("next: not a cursor this API gave out") from err
    by_agent = isinstance(key, dict) and "agent_key" in key
    shape = {"call_id": "S", "agent_key" if by_agent else "account_id": "S", "started_at": "N"}
    if not isinstance(key, dict) or set(key) != set(shape) or any(
            not isinstance(key[k], dict) or not isinstance(key[k].get(t), str) or len(key[k]) != 1
            for k, t in shape.items()):
        raise BadRequest("next: not a cursor this API gave out")
    try:
        float(key["started_at"]["N"])
    except ValueError as err:
        raise BadRequest("next: not a cursor this API gave out") from err
    return key


def page_calls(account_id: str, since: float, until: float, limit: int = 50, cursor: Optional[str] = None,
               status: Optional[str] = None, direction: Optional[str] = None, source: Optional[str] = None,
               classification: Optional[str] = None, spam_mode: str = "include", agent: Optional[str] = None
               ) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """One page of filtered calls, newest first, and the cursor of the next page (None at the end).
    `agent`: only the settled calls that agent answered, read from their own index.

    Filters run server-side (FilterExpression); a page may hold fewer than `limit` calls
    while more remain, so clients follow `next` until it is null."""
    start = decode_cursor(cursor)
    index, hash_key = (Call.agent_index, f"{account_id}#{agent}") if agent else (Call.account_index, account_id)
    if start and start.get("agent_key" if agent else "account_id", {}).get("S") != hash_key:
        raise BadRequest("next: not a cursor of this account")
    result = index.query(
        hash_key, Call.started_at.between(since, until), filter_condition=_filter(status, direction, source,
                                                                                   classification, spam_mode),
        scan_index_forward=False, limit=limit, last_evaluated_key=start, page_size=limit,
    )
    calls = [to_api(item) for item in result]
    return calls, encode_cursor(result.last_evaluated_key)


def set_tags(account_id: str, call_id: str, tags: List[Dict[str, Any]], value: Optional[float],
             clock: Clock = time.time, tagged_by: str = "api") -> Dict[str, Any]:
    """Replace the call's tags (and value, when given). The new `tagged` stamp makes the
    calls stream announce `Call Tagged` (calls/outbox.py)."""
    actions = [Call.tags.set(list(tags)), Call.tagged.set({"at": round(clock(), 3), "by": tagged_by})]
    if value is not None:
        actions.append(Call.value.set(value))
    return to_api(annotate(account_id, call_id, actions))


def add_spam_reasons(call_id: str, reasons: Iterable[str], stamp: Dict[str, Any]) -> bool:
    """Spam reasons found after the call settled, with a `tagged` stamp (so the calls stream
    announces `Call Tagged`); False when the call is not stored or has the first reason
    already (nothing is announced twice)."""
    names = sorted(set(reasons))
    try:
        Call(call_id).update(actions=[Call.spam_flags.add(set(names)), Call.tagged.set(dict(stamp))],
                             condition=Call.account_id.exists() & ~Call.spam_flags.contains(names[0]))
        return True
    except UpdateError as err:
        if condition_failed(err):
            return False
        raise


def announce_again(item: Call, fingerprint: str) -> None:
    """Make the calls stream announce a settled call again (`Call Completed`): a new
    announced fingerprint, written only if nobody announced it meanwhile."""
    try:
        Call(item.call_id).update(actions=[Call.completed_sig.set(fingerprint)],
                                  condition=Call.completed_sig == item.completed_sig)
    except UpdateError as err:
        if not condition_failed(err):
            raise


def annotate(account_id: str, call_id: str, actions: List[Any]) -> Call:
    """One UpdateItem of a person's annotation on one of the account's stored calls; the
    call as it is now, or NotFound (also for another account's call)."""
    item = Call(call_id)
    try:
        item.update(actions=actions, condition=(Call.account_id == account_id) & Call.rec.exists())
    except UpdateError as err:
        if condition_failed(err):
            raise NotFound(f"no call '{call_id}'") from err
        raise
    return item


def caller_calls(account_id: str, caller_hash: Optional[str], limit: int = 20) -> List[Call]:
    """The caller's call items of the account, newest first (up to `limit`): their history
    entries (one GetItem), then the calls themselves (one BatchGetItem)."""
    from chalicelib.calls.models import CallerHistory

    if not caller_hash:
        return []
    try:
        entries = CallerHistory.get(f"{account_id}#{caller_hash}").entries or set()
    except CallerHistory.DoesNotExist:
        return []
    newest = sorted((e.split("|") for e in entries), key=lambda p: -float(p[0]))[:limit]
    found = {c.call_id: c for c in Call.batch_get([p[1] for p in newest])}
    return [found[p[1]] for p in newest
            if p[1] in found and found[p[1]].account_id == account_id and found[p[1]].rec is not None]
