"""Conversation rules: what an account says makes a call a lead, a sale, support or spam,
over the (redacted) transcript, who said it, and the call's and session's facts.

A rule is JSON (`RULE_SCHEMA`, validated at the admin API):

    {"id": "asked-for-quote", "name": "Asked for a quote",
     "when": {"all": [{"phrase": ["quote", "how much", "estimate"], "speaker": "caller"},
                      {"fact": "talk_seconds", "op": ">=", "value": 30}]},
     "then": {"tags": ["quote"], "lead": "qualified", "score": 30, "value": {"add": 150}}}

Conditions (`when`): `all` / `any` / `not` over
- `phrase`: words or phrases, matched word by word on a simple stem ("quotes", "quoted",
  "quoting" all match "quote"; `exact: true` turns that off); `speaker` `caller` | `agent` |
  `any` (default);
- `regex`: a pattern (case-insensitive, at most 200 characters, no nested repetition);
- `fact`: a call or session fact (`FACTS`) compared with `op` (`=`, `!=`, `>`, `>=`, `<`,
  `<=`, `in`, `contains`) to `value`; `silence` (seconds of the call nobody spoke) is one.
Effects (`then`): `tags` to add, `lead` (`qualified` | `converted` | `not_lead` | `spam`),
`score` (a contribution, −100…100), `value` (`{"set": n}` or `{"add": n}`).

`evaluate` runs an account's rules in order and returns every rule that fired with the
text it matched (speaker, time, sentence, character span), so each tag and point of the
score can be traced to what was said. The score: 0–100, `clamp(Σ contributions)`; the
lead label: the first fired rule (in the account's order) that sets one, like a firewall's
first match. Pure: no I/O, the same answer for the same input (dry runs replay it over past
calls).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

SPEAKERS = ("caller", "agent")
LEADS = ("qualified", "converted", "not_lead", "spam")
OPS = ("=", "!=", ">", ">=", "<", "<=", "in", "contains")
FACTS = ("status", "talk_seconds", "wait_seconds", "duration_seconds", "source", "medium", "campaign", "keyword",
         "device", "direction", "ivr_path", "hour", "weekday", "first_call", "repeat_caller", "tags",
         "tracking_number", "department", "country", "silence", "caller_words", "agent_words", "voicemail")
MAX_REGEX = 200
CONTEXT = 60                 # characters kept either side of a match on the call
MAX_MATCHES = 5              # matches kept per fired rule (100 rules × 5 × ~300 B stays far under 400 KB)
MAX_RULES = 100

_PHRASES = {"type": "array", "minItems": 1, "maxItems": 50,
            "items": {"type": "string", "minLength": 1, "maxLength": 100}}
_CONDITION: Dict[str, Any] = {
    "type": "object",
    "oneOf": [
        {"required": ["all"]}, {"required": ["any"]}, {"required": ["not"]},
        {"required": ["phrase"]}, {"required": ["regex"]}, {"required": ["fact"]},
    ],
    "additionalProperties": False,
    "properties": {
        "all": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"$ref": "#/$defs/CallRuleCondition"}},
        "any": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"$ref": "#/$defs/CallRuleCondition"}},
        "not": {"$ref": "#/$defs/CallRuleCondition"},
        "phrase": _PHRASES,
        "exact": {"type": "boolean"},
        "regex": {"type": "string", "minLength": 1, "maxLength": MAX_REGEX},
        "speaker": {"enum": ["caller", "agent", "any"]},
        "fact": {"enum": list(FACTS)},
        "op": {"enum": list(OPS)},
        "value": {},
    },
}
RULE_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "when", "then"],
    "$defs": {"CallRuleCondition": _CONDITION},
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
        "name": {"type": "string", "maxLength": 120},
        "enabled": {"type": "boolean"},
        "when": {"$ref": "#/$defs/CallRuleCondition"},
        "then": {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "properties": {
                "tags": {"type": "array", "maxItems": 10,
                         "items": {"type": "string", "minLength": 1, "maxLength": 50}},
                "lead": {"enum": list(LEADS)},
                "score": {"type": "number", "minimum": -100, "maximum": 100},
                "value": {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
                          "properties": {"set": {"type": "number", "minimum": 0},
                                         "add": {"type": "number"}}},
            },
        },
    },
}
RULES_SCHEMA: Dict[str, Any] = {"type": "array", "maxItems": MAX_RULES, "items": RULE_SCHEMA,
                                "$defs": RULE_SCHEMA["$defs"]}     # (references resolve from the root)


class RuleError(ValueError):
    """A rule that validates as JSON but cannot run (a bad or dangerous regular expression,
    a duplicate id); the admin API answers it as a 400 naming the rule."""


@dataclass(frozen=True)
class Utterance:
    speaker: str              # caller | agent | any (a mono recording: who spoke is unknown)
    start: float              # seconds from the start of the recording
    end: float
    text: str


@dataclass(frozen=True)
class Match:
    speaker: str
    start: float
    text: str                 # the sentence it was found in
    span: Tuple[int, int]     # the matched characters in `text`

    def as_dict(self) -> Dict[str, Any]:
        """Stored on the call: the match with at most CONTEXT characters either side (the
        whole transcript is in its own table), so an analysis stays small."""
        lo, hi = max(0, self.span[0] - CONTEXT), min(len(self.text), self.span[1] + CONTEXT)
        return {"speaker": self.speaker, "at": round(self.start, 2), "text": self.text[lo:hi],
                "span": [self.span[0] - lo, self.span[1] - lo]}


@dataclass
class Fired:
    rule_id: str
    name: str
    effects: Dict[str, Any]
    matches: List[Match] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        return {"rule": self.rule_id, "name": self.name, "effects": self.effects,
                "matches": [m.as_dict() for m in self.matches]}


@dataclass
class Outcome:
    fired: List[Fired]
    score: int
    lead: Optional[str]
    tags: List[str]
    value: Optional[float]

    def as_dict(self) -> Dict[str, Any]:
        return {"score": self.score, "lead": self.lead, "tags": self.tags, "value": self.value,
                "fired": [f.as_dict() for f in self.fired]}


# --- words -----------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?", re.IGNORECASE)
_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ies", "ied", "ers", "er", "ed", "es", "ly", "s")


def stem(word: str) -> str:
    """A simple suffix-stripping stem: enough that "quotes", "quoted", "quoting" and
    "quote" meet, not a linguist's stemmer (docs/intelligence.md says where it fails)."""
    w = word.lower().replace("'", "")
    for suffix in _SUFFIXES:
        if len(w) - len(suffix) >= (4 if suffix in ("ly", "er") else 3) and w.endswith(suffix):
            w = w[: -len(suffix)]
            if suffix in ("ies", "ied"):
                w += "y"
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]                    # "booking" → "book", "planned" → "plan"
    return w


def _tokens(text: str, exact: bool) -> List[Tuple[str, int, int]]:
    return [((m.group(0).lower() if exact else stem(m.group(0))), m.start(), m.end()) for m in _WORD.finditer(text)]


# --- checking rules ----------------------------------------------------------------------

def _risky(parsed: Any, inside_repeat: bool = False) -> bool:
    """Whether a parsed pattern repeats something that itself repeats or branches, or
    refers back to a group: the shapes that backtrack exponentially."""
    c = _sre()[1]
    for op, arg in parsed:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            if inside_repeat or _risky(sub, high > 1):
                return True
        elif op == c.BRANCH:
            if inside_repeat or any(_risky(b, inside_repeat) for b in arg[1]):
                return True
        elif op == c.SUBPATTERN:
            if _risky(arg[-1], inside_repeat):
                return True
        elif op in (c.GROUPREF, c.GROUPREF_EXISTS):
            return True
        elif op in (c.ASSERT, c.ASSERT_NOT):
            if _risky(arg[1], inside_repeat):
                return True
    return False


def _sre() -> Tuple[Any, Any]:
    """The regular-expression parser and its constants (re._parser from Python 3.11 on)."""
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]
        return _parser, _constants
    except ImportError:  # pragma: no cover — before 3.11
        import sre_constants
        import sre_parse
        return sre_parse, sre_constants


def compile_regex(pattern: str) -> "re.Pattern[str]":
    if len(pattern) > MAX_REGEX:
        raise RuleError(f"regular expression longer than {MAX_REGEX} characters")
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as err:
        raise RuleError(f"regular expression does not compile: {err}") from err
    if _risky(_sre()[0].parse(pattern)):
        raise RuleError("regular expression with nested repetition, a repeated alternative or a back-reference "
                        "(it could run for minutes on one transcript): simplify it")
    return compiled


def check(rules: Sequence[Mapping[str, Any]]) -> None:
    """What JSON Schema cannot say: unique ids, regular expressions that compile and are safe."""
    seen: set = set()
    for rule in rules:
        if rule["id"] in seen:
            raise RuleError(f"two rules have the id '{rule['id']}'")
        seen.add(rule["id"])
        for cond in _walk(rule["when"]):
            if "regex" in cond:
                try:
                    compile_regex(cond["regex"])
                except RuleError as err:
                    raise RuleError(f"rule '{rule['id']}': {err}") from err


def _walk(cond: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield cond
    for key in ("all", "any"):
        for sub in cond.get(key) or ():
            yield from _walk(sub)
    if "not" in cond:
        yield from _walk(cond["not"])


# --- evaluating --------------------------------------------------------------------------

class _Context:
    def __init__(self, utterances: Sequence[Utterance], facts: Mapping[str, Any]) -> None:
        self.utterances = list(utterances)
        self.facts = dict(facts)
        self._tokens: Dict[Tuple[int, bool], List[Tuple[str, int, int]]] = {}

    def tokens(self, i: int, exact: bool) -> List[Tuple[str, int, int]]:
        key = (i, exact)
        if key not in self._tokens:
            self._tokens[key] = _tokens(self.utterances[i].text, exact)
        return self._tokens[key]


def _spoken(ctx: _Context, speaker: str) -> Iterable[Tuple[int, Utterance]]:
    for i, u in enumerate(ctx.utterances):
        if speaker == "any" or u.speaker in (speaker, "any"):   # mono: either side may have said it
            yield i, u


def _phrase(ctx: _Context, cond: Mapping[str, Any]) -> List[Match]:
    exact = bool(cond.get("exact"))
    wanted = [[t for t, _, _ in _tokens(p, exact)] for p in cond["phrase"]]
    found: List[Match] = []
    for i, u in _spoken(ctx, cond.get("speaker", "any")):
        words = ctx.tokens(i, exact)
        stems = [w for w, _, _ in words]
        for phrase in wanted:
            n = len(phrase)
            for j in range(len(stems) - n + 1):
                if n and stems[j:j + n] == phrase:
                    found.append(Match(u.speaker, u.start, u.text, (words[j][1], words[j + n - 1][2])))
    return found


def _regex(ctx: _Context, cond: Mapping[str, Any]) -> List[Match]:
    pattern = compile_regex(cond["regex"])
    found: List[Match] = []
    for _, u in _spoken(ctx, cond.get("speaker", "any")):
        for m in pattern.finditer(u.text):
            if m.end() > m.start():
                found.append(Match(u.speaker, u.start, u.text, (m.start(), m.end())))
    return found


def _compare(have: Any, op: str, want: Any) -> bool:
    try:
        if op == "=":
            return bool(have == want)
        if op == "!=":
            return bool(have != want)
        if op == "in":
            return have in (want if isinstance(want, list) else [want])
        if op == "contains":
            return want in (have or [])
        if have is None:
            return False
        return bool({">": have > want, ">=": have >= want, "<": have < want, "<=": have <= want}[op])
    except TypeError:
        return False


def _holds(ctx: _Context, cond: Mapping[str, Any]) -> Tuple[bool, List[Match]]:
    if "all" in cond:
        matches: List[Match] = []
        for sub in cond["all"]:
            ok, got = _holds(ctx, sub)
            if not ok:
                return False, []
            matches += got
        return True, matches
    if "any" in cond:
        hits = [(ok, got) for ok, got in (_holds(ctx, sub) for sub in cond["any"]) if ok]
        return (True, [m for _, got in hits for m in got]) if hits else (False, [])
    if "not" in cond:
        ok, _ = _holds(ctx, cond["not"])
        return not ok, []
    if "phrase" in cond:
        got = _phrase(ctx, cond)
        return bool(got), got
    if "regex" in cond:
        got = _regex(ctx, cond)
        return bool(got), got
    return _compare(ctx.facts.get(cond["fact"]), cond.get("op", "="), cond.get("value")), []


def derived_facts(utterances: Sequence[Utterance], duration: Optional[float]) -> Dict[str, Any]:
    """Facts a transcript gives: words per speaker (unknown, None, on a mono recording) and
    the seconds nobody spoke."""
    words: Dict[str, Any] = {s: 0 for s in SPEAKERS}
    spoken: List[Tuple[float, float]] = []
    for u in utterances:
        words[u.speaker] = words.get(u.speaker, 0) + len(_WORD.findall(u.text))
        spoken.append((u.start, max(u.start, u.end)))
    covered, reach = 0.0, 0.0
    for start, end in sorted(spoken):
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    total = duration if duration is not None else reach
    if any(u.speaker not in SPEAKERS for u in utterances):
        words = {s: None for s in SPEAKERS}
    return {"caller_words": words["caller"], "agent_words": words["agent"],
            "silence": round(max(0.0, total - covered), 1)}


def evaluate(rules: Sequence[Mapping[str, Any]], utterances: Sequence[Utterance],
             facts: Mapping[str, Any], base_value: Optional[float] = None) -> Outcome:
    """Run the rules in order over one call."""
    ctx = _Context(utterances, facts)
    fired: List[Fired] = []
    score, lead, tags, value = 0.0, None, [], base_value
    for rule in rules:
        if rule.get("enabled", True) is False:
            continue
        ok, matches = _holds(ctx, rule["when"])
        if not ok:
            continue
        then = dict(rule["then"])
        fired.append(Fired(rule["id"], rule.get("name") or rule["id"], then, _dedupe(matches)))
        score += float(then.get("score", 0))
        if lead is None and then.get("lead"):
            lead = then["lead"]
        for tag in then.get("tags", ()):
            if tag not in tags:
                tags.append(tag)
        change = then.get("value") or {}
        if "set" in change:
            value = float(change["set"])
        elif "add" in change:
            value = max(0.0, (value or 0.0) + float(change["add"]))
    return Outcome(fired, int(round(min(100.0, max(0.0, score)))), lead, tags, value)


def _dedupe(matches: List[Match]) -> List[Match]:
    seen, out = set(), []
    for m in matches:
        key = (m.speaker, m.start, m.span)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out[:MAX_MATCHES]
