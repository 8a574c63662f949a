"""Training and using the account's learned lead score (the model: `learned.py`).

`train_account` reads the newest calls of a range (at most MAX_TRAINING_CALLS, spam left
out), keeps those a person tagged as positive or negative, reads their stored transcripts
(BatchGetItem, 100 a request) and fits the model: a request reads a bounded number of items
whatever the traffic. `scored` runs the stored model on one analysed call (one GetItem,
cached in the container for a few minutes).
"""
from __future__ import annotations

import json
import time
import zlib
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from pynamodb.exceptions import DoesNotExist

from chalicelib.intelligence import learned
from chalicelib.intelligence.models import LearnedModel, Transcript
from chalicelib.intelligence.rules import Utterance

Clock = Callable[[], float]
MAX_TRAINING_CALLS = 3000
MAX_TRAINING_DAYS = 400
PAGE = 500
CACHE_SECONDS = 300
TAG_SPEC = {"type": "string", "minLength": 1, "maxLength": 120}
TRAIN_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["from", "to", "positive"],
    "properties": {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
                   # Manual tags (a category, or category:value) that make a call a good lead / not one.
                   "positive": {"type": "array", "minItems": 1, "maxItems": 20, "uniqueItems": True, "items": TAG_SPEC},
                   "negative": {"type": "array", "maxItems": 20, "uniqueItems": True, "items": TAG_SPEC}},
}
_cache: Dict[str, Tuple[float, Optional[Dict[str, Any]]]] = {}


def _pack(model: Mapping[str, Any]) -> bytes:
    return zlib.compress(json.dumps(model, separators=(",", ":")).encode(), 6)


def _unpack(item: LearnedModel) -> Dict[str, Any]:
    return json.loads(zlib.decompress(item.model))


def examples_of(calls: Sequence[Mapping[str, Any]], said: Mapping[str, List[Utterance]], tz: Any,
                positive: Sequence[str], negative: Sequence[str]) -> List[learned.Example]:
    """The training examples among these calls (API representation) with a transcript."""
    from chalicelib.intelligence.analysis import facts_of

    out = []
    for call in calls:
        label = learned.label_of(call.get("tags") or [], positive, negative)
        if label is None or call["call_id"] not in said:
            continue
        words = said[call["call_id"]]
        out.append(learned.Example(call["call_id"], learned.features(words, facts_of(call, tz, words)), label))
    return out


def train_account(account_id: str, body: Mapping[str, Any], clock: Clock = time.time) -> Dict[str, Any]:
    """Fit and store the account's model from a range's tagged calls; answers `view`."""
    from chalicelib.accounts import get_account
    from chalicelib.calls import store
    from chalicelib.errors import Conflict
    from chalicelib.intelligence.analysis import _said, _unpack as unpack_transcript, local_range
    from chalicelib.reports.filters import zone

    account = get_account(account_id, clock)
    tz = zone(account.settings.timezone)
    first, last, since, until = local_range(body, tz, MAX_TRAINING_DAYS)
    positive, negative = list(body["positive"]), list(body.get("negative") or [])
    labelled: List[Dict[str, Any]] = []
    read, cursor = 0, None
    while read < MAX_TRAINING_CALLS:
        calls, cursor = store.page_calls(account_id, since, until, limit=min(PAGE, MAX_TRAINING_CALLS - read),
                                         cursor=cursor, spam_mode="exclude")
        read += len(calls)
        labelled += [c for c in calls if learned.label_of(c.get("tags") or [], positive, negative) is not None]
        if not cursor:
            break
    said: Dict[str, List[Utterance]] = {}
    for offset in range(0, len(labelled), 100):
        for t in Transcript.batch_get([c["call_id"] for c in labelled[offset:offset + 100]]):
            if t.account_id == account_id:
                said[t.call_id] = _said(unpack_transcript(t))
    examples = examples_of(labelled, said, tz, positive, negative)
    try:
        model = learned.train(examples)
    except learned.NotEnoughExamples as err:
        raise Conflict(f"{err} (read {read} calls of {first}..{last}; {len(labelled)} tagged as positive or "
                       f"negative, {len(examples)} with a transcript)") from err
    model["calls_read"] = read
    spec = {"from": first.isoformat(), "to": last.isoformat(), "positive": positive, "negative": negative}
    LearnedModel(account_id, model=_pack(model), trained_at=clock(), spec=spec).save()
    _cache.pop(account_id, None)
    return view(account_id)


def _load(account_id: str) -> Optional[LearnedModel]:
    try:
        return LearnedModel.get(account_id)
    except DoesNotExist:
        return None


def view(account_id: str) -> Dict[str, Any]:
    """What the account's model learned, from what, and how well it did on held-out calls."""
    from chalicelib.calls.store import iso
    from chalicelib.errors import NotFound

    item = _load(account_id)
    if item is None:
        raise NotFound("no learned score yet: train one (POST …/learned-score/train)")
    model = _unpack(item)
    up, down = learned.top_weights(model)
    return {"account_id": account_id, "trained_at": iso(item.trained_at), "learned_from": item.spec,
            "calls_read": model.get("calls_read"), "examples": model.get("examples"),
            "positive": model.get("positive"), "trained_on": model.get("trained_on"),
            "features": model.get("features"), "held_out": model.get("held_out"),
            "raises_the_score": up, "lowers_the_score": down}


def delete(account_id: str) -> Dict[str, Any]:
    """Forget the account's model (NotFound when there is none): one conditional DeleteItem."""
    from pynamodb.exceptions import DeleteError

    from chalicelib.db import condition_failed
    from chalicelib.errors import NotFound

    try:
        LearnedModel(account_id).delete(condition=LearnedModel.account_id.exists())
    except DeleteError as err:
        if condition_failed(err):
            raise NotFound("no learned score to forget") from err
        raise
    _cache.pop(account_id, None)
    return {"account_id": account_id, "deleted": True}


def model_of(account_id: str, clock: Clock = time.time) -> Optional[Dict[str, Any]]:
    now = clock()
    hit = _cache.get(account_id)
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    item = _load(account_id)
    model = {**_unpack(item), "trained_at": item.trained_at} if item is not None else None
    _cache[account_id] = (now, model)
    return model


def scored(account_id: str, said: Sequence[Utterance], facts: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The learned score of one call (None: the account has no model): 0–100, the features
    that moved it most, and the model's held-out precision and recall."""
    model = model_of(account_id)
    if model is None:
        return None
    held = model.get("held_out") or {}
    return {**learned.score(model, learned.features(said, facts)), "trained_at": model.get("trained_at"),
            "precision": held.get("precision"), "recall": held.get("recall")}
