"""Call classes (docs/architecture.md, "Concepts"), from a caller's whole history with one account.

- unique: the caller's first call ever (any length, missed too);
- target: talk ≥ target length and no *target* call from the caller within the sales
  cycle before it; repeated: talk ≥ target length with a target call inside the cycle
  before it (the cycle runs from the target call that opened it);
- first_target: the caller's first call ever to reach the target length;
- unique_target: the caller's first call ever, and it reached the target length.

The history is a set of `started_at|call_id|q` strings (q=1: reached the target length)
on one item per (account, caller). Classes are recomputed from the whole set, so a call
that completes late is classified as if it had completed in order; `changed_by` tells
which other calls a late arrival reclassifies.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from chalicelib.vocabulary import CLASSES

CLASS_NAMES = CLASSES


@dataclass(frozen=True)
class Entry:
    started_at: float
    call_id: str
    qualifies: bool


def entry(started_at: float, call_id: str, talk_seconds: Optional[int], target_seconds: int) -> str:
    qualifies = talk_seconds is not None and talk_seconds >= target_seconds
    return f"{started_at:.3f}|{call_id}|{1 if qualifies else 0}"


def parse(raw: Iterable[str]) -> List[Entry]:
    """Entries, one per call (a call recorded twice keeps its earliest start and any qualification)."""
    calls: Dict[str, Tuple[float, bool]] = {}
    for text in raw or ():
        at, call_id, q = text.rsplit("|", 2) if text.count("|") >= 2 else (text, "", "0")
        start, qualifies = float(at), q == "1"
        if call_id in calls:
            prev = calls[call_id]
            start, qualifies = min(start, prev[0]), qualifies or prev[1]
        calls[call_id] = (start, qualifies)
    return sorted((Entry(t, cid, q) for cid, (t, q) in calls.items()), key=lambda e: (e.started_at, e.call_id))


def classify_all(entries: List[Entry], cycle_seconds: float) -> Dict[str, Dict[str, bool]]:
    """Classes of every call in the history (entries sorted by start)."""
    out: Dict[str, Dict[str, bool]] = {}
    if not entries:
        return out
    first = entries[0].call_id
    first_target = next((e.call_id for e in entries if e.qualifies), None)
    last_target: Optional[float] = None
    for e in entries:
        target = repeated = False
        if e.qualifies:
            if last_target is not None and e.started_at - last_target < cycle_seconds:
                repeated = True
            else:
                target, last_target = True, e.started_at
        out[e.call_id] = {"unique": e.call_id == first, "target": target, "repeated": repeated,
                          "first_target": e.call_id == first_target,
                          "unique_target": e.call_id == first and e.qualifies}
    return out


def classify(raw: Iterable[str], call_id: str, cycle_seconds: float) -> Dict[str, bool]:
    return classify_all(parse(raw), cycle_seconds).get(call_id, none())


def changed_by(raw: Iterable[str], call_id: str, cycle_seconds: float) -> Dict[str, Dict[str, bool]]:
    """Other calls whose classes differ with `call_id` in the history versus without it."""
    entries = parse(raw)
    before = classify_all([e for e in entries if e.call_id != call_id], cycle_seconds)
    after = classify_all(entries, cycle_seconds)
    return {cid: classes for cid, classes in after.items() if cid != call_id and before.get(cid) != classes}


def none() -> Dict[str, bool]:
    return {name: False for name in CLASS_NAMES}


def names(classes: Optional[Dict[str, bool]]) -> List[str]:
    return [name for name in CLASS_NAMES if (classes or {}).get(name)]
