"""Spam and robocalls: which calls are flagged, why, and what a flag changes
(docs/intelligence.md, "Spam").

A call's reasons are a string set on its item (`Call.spam_flags`); every writer ADDs to it,
so retries and the order writers run in change nothing:

- `blocked`: the caller is on the account's block list. Known at the answer: the caller
  hears the account's blocked NCCO and is never connected; the call is kept (status
  `rejected`) so the block list's effect can be seen.
- `challenge`: on a number under attack (the `challenge` setting) the caller must press a
  key before being connected; a wrong key or none is a failed check.
- `burst`: one of `burst.calls` or more very short calls (at most `burst.max_seconds` from
  start to end) from one caller within `burst.window_minutes`, to at least
  `burst.min_numbers` tracking numbers: what robodialers and number-scraping bots do. Found
  when a call settles, from the caller's history item the settling already updates (no
  extra request); the burst's earlier calls are flagged from the calls stream
  (`follow_burst`), so the settling webhook waits on nothing more.
- `silent`: answered, at least `silence_seconds` of talk, and the caller's channel of the
  transcript has no words (a dead line or a machine listening).
- `rules`: the account's conversation rules labelled the call `spam`.
- `operator`: a person marked the call spam (API, CLI); with `block_caller` the caller's
  number (as its hash) joins the block list, so their next call is refused.

A person's verdict is kept apart (`Call.spam_verdict`, `spam` or `not_spam`): `not_spam`
overrides every automatic reason, `spam` adds the reason `operator`.

A flagged call stays in the call log (marked) and leaves reports, GA4, the Ads exports and
the CRM by default; reports show it with `spam=include` or `spam=only`.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from chalicelib.geo.phone import digits

Clock = Callable[[], float]
REASONS = ("blocked", "challenge", "burst", "silent", "rules", "operator")
VERDICTS = ("spam", "not_spam")
HASH_PREFIX = "hash:"

_TALK = {
    "type": "object", "additionalProperties": False, "required": ["action", "text"],
    "properties": {"action": {"const": "talk"}, "text": {"type": "string", "minLength": 1, "maxLength": 1500},
                   "language": {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Z]{2,3})?$"},
                   "loop": {"type": "integer", "minimum": 1, "maximum": 5}},
}
_STREAM = {
    "type": "object", "additionalProperties": False, "required": ["action", "streamUrl"],
    "properties": {"action": {"const": "stream"},
                   "streamUrl": {"type": "array", "minItems": 1, "maxItems": 1,
                                 "items": {"type": "string", "pattern": "^https://", "maxLength": 2000}},
                   "loop": {"type": "integer", "minimum": 1, "maximum": 5}},
}
SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        # Callers refused at the answer: E.164 numbers, or `hash:<sha256 of the E.164>` (what
        # marking a call spam with block_caller adds, so the list holds no plain numbers).
        "block_list": {"type": "array", "maxItems": 5000, "uniqueItems": True,
                       "items": {"type": "string", "pattern": "^(\\+[1-9][0-9]{6,14}|hash:[0-9a-f]{64})$"}},
        # What a blocked caller hears (Vonage NCCO actions: talk or stream); then the call ends.
        "blocked_ncco": {"type": "array", "maxItems": 3, "items": {"oneOf": [_TALK, _STREAM]}},
        "burst": {
            "type": "object", "additionalProperties": False,
            "properties": {"enabled": {"type": "boolean"},
                           "calls": {"type": "integer", "minimum": 2, "maximum": 50},
                           "window_minutes": {"type": "integer", "minimum": 1, "maximum": 1440},
                           "max_seconds": {"type": "integer", "minimum": 1, "maximum": 120},
                           "min_numbers": {"type": "integer", "minimum": 1, "maximum": 20}},
        },
        # Answered calls with this much talk and no word from the caller (0: off).
        "silence_seconds": {"type": "integer", "minimum": 0, "maximum": 3600},
        # The press-a-key check before connecting, for numbers under attack.
        "challenge": {
            "type": "object", "additionalProperties": False,
            "properties": {"numbers": {"type": "array", "maxItems": 1000, "uniqueItems": True,
                                       "items": {"type": "string", "pattern": "^(\\*|\\+[1-9][0-9]{6,14})$"}},
                           "prompt": {"type": "string", "minLength": 1, "maxLength": 500},
                           "digit": {"type": "string", "pattern": "^[0-9]$"},
                           "timeout_seconds": {"type": "integer", "minimum": 2, "maximum": 10}},
        },
    },
}
DEFAULTS: Dict[str, Any] = {
    "block_list": [],
    "blocked_ncco": [{"action": "talk", "text": "Sorry, this call cannot be completed."}],
    "burst": {"enabled": True, "calls": 3, "window_minutes": 60, "max_seconds": 10, "min_numbers": 2},
    "silence_seconds": 30,
    "challenge": {"numbers": [], "prompt": "To be connected, press {digit}.", "digit": "1", "timeout_seconds": 5},
}
CHALLENGE_FAILED_TEXT = "Sorry, we could not connect your call. Goodbye."


def settings_of(config: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The account's `spam` section with every default filled in (nested sections merged)."""
    from chalicelib.sections import with_defaults

    return with_defaults((config or {}).get("spam"), DEFAULTS)


# --- before the call ---------------------------------------------------------------------

def blocked(cfg: Mapping[str, Any], caller: Optional[str], caller_hash: Optional[str]) -> bool:
    listed = cfg.get("block_list") or ()
    return bool(listed) and ((caller is not None and caller in listed)
                             or (caller_hash is not None and f"{HASH_PREFIX}{caller_hash}" in listed))


def challenge_of(cfg: Mapping[str, Any], tracking: str) -> Optional[Dict[str, Any]]:
    """The press-a-key check this number's callers get (None: the number is not under attack)."""
    check = cfg.get("challenge") or {}
    numbers = check.get("numbers") or ()
    if "*" not in numbers and tracking not in numbers:
        return None
    digit = str(check.get("digit") or "1")
    return {"prompt": str(check.get("prompt") or DEFAULTS["challenge"]["prompt"]).replace("{digit}", digit),
            "digit": digit, "timeout_seconds": int(check.get("timeout_seconds") or 5)}


def blocked_ncco(cfg: Mapping[str, Any], language: str) -> List[Dict[str, Any]]:
    actions = [dict(a) for a in cfg.get("blocked_ncco") or ()]
    for a in actions:
        if a["action"] == "talk":
            a.setdefault("language", language)
    return actions or [{"action": "talk", "text": DEFAULTS["blocked_ncco"][0]["text"], "language": language}]


# --- after the call: bursts ----------------------------------------------------------------

def short_entry(started_at: float, call_id: str, tracking: Optional[str]) -> str:
    """A very short call in the caller's history (`CallerHistory.shorts`)."""
    return f"{started_at:.3f}|{call_id}|{digits(tracking or '') or '-'}"


def is_short(outcome: Mapping[str, Any], cfg: Mapping[str, Any]) -> bool:
    burst = cfg.get("burst") or {}
    duration = outcome.get("duration_seconds")
    return bool(burst.get("enabled", True)) and duration is not None and duration <= burst.get("max_seconds", 10)


def _parse(shorts: Iterable[str]) -> List[Tuple[float, str, str]]:
    out = []
    for text in shorts or ():
        parts = text.split("|")
        if len(parts) == 3:
            try:
                out.append((float(parts[0]), parts[1], parts[2]))
            except ValueError:
                continue
    return sorted(set(out))


def burst_of(shorts: Iterable[str], call_id: str, cfg: Mapping[str, Any]) -> List[str]:
    """The calls of every burst `call_id` belongs to (empty: it is in none): windows of
    `window_minutes` holding at least `calls` short calls to at least `min_numbers` numbers."""
    burst = cfg.get("burst") or {}
    if not burst.get("enabled", True):
        return []
    entries = _parse(shorts)
    need, numbers, window = int(burst.get("calls", 3)), int(burst.get("min_numbers", 2)), \
        float(burst.get("window_minutes", 60)) * 60
    found: set = set()
    for i, (start, _, _) in enumerate(entries):
        inside = [e for e in entries[i:] if e[0] - start <= window]
        if len(inside) >= need and len({e[2] for e in inside}) >= numbers and any(e[1] == call_id for e in inside):
            found.update(e[1] for e in inside)
    return sorted(found)


# --- after the call: the transcript ------------------------------------------------------

def transcript_reasons(lead: Optional[str], facts: Mapping[str, Any], cfg: Mapping[str, Any]) -> List[str]:
    """`rules` when the rules labelled the call spam; `silent` for answered talk without one
    word from the caller (a mono recording, whose words are unknown, is never silent)."""
    out = ["rules"] if lead == "spam" else []
    limit = int(cfg.get("silence_seconds") or 0)
    if limit and facts.get("status") == "answered" and (facts.get("talk_seconds") or 0) >= limit \
            and facts.get("caller_words") == 0:
        out.append("silent")
    return out


# --- reading and marking -----------------------------------------------------------------

def reasons_of(flags: Optional[Iterable[str]], verdict: Optional[str] = None) -> List[str]:
    """The reasons a call is spam (empty: it is not), in REASONS order."""
    if verdict == "not_spam":
        return []
    have = set(flags or ()) | ({"operator"} if verdict == "spam" else set())
    return [r for r in REASONS if r in have]


def flag(call_id: str, reasons: Sequence[str], clock: Clock = time.time) -> bool:
    """Add reasons to a stored call found to be spam after it settled (a burst's earlier
    calls). A set ADD, so repeating it changes nothing; the new `tagged` stamp makes the calls
    stream announce `Call Tagged`, so the consumers that keep a call's conversions (Ads
    exports, BI) take it out. False when the call is not stored or has the reason already
    (so a burst's fourth call does not announce the first three again)."""
    from chalicelib.calls import store

    return not reasons or store.add_spam_reasons(call_id, reasons, {"at": round(clock(), 3), "by": "spam"})


def _announce_again(item: Any, verdict: str) -> None:
    """A settled call whose verdict changed is announced again (`Call Completed` with the new
    `spam`): a call cleared of spam reaches GA4, the CRM and webhooks now; one marked spam
    tells partners on the bus. A new fingerprint, the record's own plus the verdict, makes
    the calls stream announce it (a later retried webhook restores the record's fingerprint
    with the same content, which consumers recognise and drop)."""
    from chalicelib.calls import store

    if item.completed_sig and item.rec_sig:      # not settled yet: its first announcement carries the verdict
        store.announce_again(item, f"{item.rec_sig}:{verdict}")


def follow_burst(old: Any, new: Any) -> int:
    """A call that just gained the reason `burst` (found when it settled) flags the earlier
    calls of its burst, which settled before it was one. Run from the calls stream, not the
    settling webhook (Vonage waits on that): one GetItem of the caller's history and one
    conditional UpdateItem per earlier call, only when a burst was found. How many it flagged."""
    from chalicelib.calls.lifecycle import caller_shorts

    had = set(old.spam_flags or ()) if old is not None else set()
    ctx = new.ctx or {}
    if "burst" not in set(new.spam_flags or ()) or "burst" in had or not ctx.get("caller_hash"):
        return 0
    cfg = ctx.get("spam_settings") or DEFAULTS
    return sum(1 for other in burst_of(caller_shorts(new.account_id, ctx["caller_hash"]), new.call_id, cfg)
               if other != new.call_id and flag(other, ["burst"]))


MARK_SCHEMA: Dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["spam"],
    "properties": {"spam": {"type": "boolean"}, "block_caller": {"type": "boolean"}},
}


def mark(account_id: str, call_id: str, body: Mapping[str, Any], clock: Clock = time.time,
         by: str = "api") -> Dict[str, Any]:
    """A person's verdict on one call: spam (reason `operator`) or not (which overrides
    every automatic reason). `block_caller` with spam adds the caller's hash to the block
    list. The new `tagged` stamp makes the calls stream announce `Call Tagged`, so the
    consumers that keep a call's conversions (Ads exports, BI) take it out or back."""
    from chalicelib.admin import accounts
    from chalicelib.calls import store
    from chalicelib.calls.models import Call
    from chalicelib.errors import ValidationFailed

    spam = bool(body["spam"])
    if body.get("block_caller") and not spam:
        raise ValidationFailed("block_caller: only with spam true")
    verdict = "spam" if spam else "not_spam"
    item = store.annotate(account_id, call_id, [Call.spam_verdict.set(verdict),
                                                 Call.tagged.set({"at": round(clock(), 3), "by": by})])
    _announce_again(item, verdict)
    caller_hash = (item.ctx or {}).get("caller_hash")
    if body.get("block_caller"):
        if not caller_hash:
            raise ValidationFailed("block_caller: the call has no caller id to block")
        entry = f"{HASH_PREFIX}{caller_hash}"

        def mutate(account: Any) -> None:
            section = dict((account.config or {}).get("spam") or {})
            listed = list(section.get("block_list") or [])
            if entry not in listed:
                if len(listed) >= SCHEMA["properties"]["block_list"]["maxItems"]:
                    raise ValidationFailed("block_caller: the block list is full (5000 entries)")
                section["block_list"] = listed + [entry]
                account.config = {**(account.config or {}), "spam": section}

        accounts.update(account_id, mutate)
    return store.to_api(item)
