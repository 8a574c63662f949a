"""Redaction of transcript text before it is stored or sent anywhere.

What is replaced, per account setting (`redaction`: each kind on by default):
- `card`: payment card numbers, 13–19 digits that pass the Luhn check, however spoken
  ("4111 1111 1111 1111", "4 1 1 1 …", "four one one one …") → `[card]`;
- `id`: national identity numbers — US social security numbers (3-2-4 digits with a valid
  area and group) and UK National Insurance numbers (`QQ 12 34 56 C`) → `[id]`;
- `email`: e-mail addresses, also spoken as "name at example dot com" → `[email]`;
- `phone`: phone numbers (7–15 digits, with `+`, spaces, dashes, dots, brackets, or spelled
  out digit by digit, "double"/"triple" included) other than the business's own numbers,
  which stay readable (an agent giving the office line) → `[phone]`.

A digit run is read once, whole: the same run is never both a card and a phone number, and
a 16-digit run that fails the Luhn check is still a phone-length run only if it has at most
15 digits (else it is left as it is: an order or tracking number). Limits (docs/intelligence.md):
numbers spoken as quantities ("four hundred and fifteen") are not digit runs; a number split
across two speakers' turns is two runs; dates (`12/05/2026`) and amounts after a currency
sign are left as they are, so a phone number written like a date is too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional

KINDS = ("card", "id", "email", "phone")
TOKENS = {kind: f"[{kind}]" for kind in KINDS}
SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {kind: {"type": "boolean"} for kind in KINDS},
}

_WORDS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
          "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_DIGIT_WORD = r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine)"
_UNIT = rf"(?:(?:double|triple)[ -]?)?(?:\d+(?!\d)|{_DIGIT_WORD})"   # (?!\d): no backtracking into a run
# A run: a `+` at most once in front, units joined by up to three separators (spaces,
# dashes, dots, slashes, brackets, commas between spoken digits).
_UNIT_RE = re.compile(_UNIT, re.IGNORECASE)
_RUN = re.compile(rf"(?<![\w@.])(?:\+\s?)?\(?{_UNIT}(?:[\s\-./(),]{{0,3}}{_UNIT})*(?![\w@])", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+", re.IGNORECASE)
_SPOKEN_EMAIL = re.compile(r"\b[\w.+-]{1,64}\s+at\s+[\w-]{1,63}(?:\s+dot\s+[a-z]{2,24})+\b", re.IGNORECASE)
_UK_NINO = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b",
                      re.IGNORECASE)
_SSN_SHAPE = re.compile(r"^\d{3}[\s-]\d{2}[\s-]\d{4}$")
_DATE = re.compile(r"^(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{2}|\d{4})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2})$")
_MONEY = "$£€¥"


@dataclass
class Redacted:
    text: str
    counts: Dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _ssn(raw: str, digits: str) -> bool:
    if len(digits) != 9 or not _SSN_SHAPE.match(raw.strip()):
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _digits(run: str) -> str:
    """The digits a run says: numerals as written, digit words as digits, "double five" = 55."""
    out: List[str] = []
    for token in re.findall(rf"(?:double|triple)[ -]?(?:\d|{_DIGIT_WORD})|\d+|{_DIGIT_WORD}", run, re.IGNORECASE):
        word = token.lower()
        times = 2 if word.startswith("double") else 3 if word.startswith("triple") else 1
        if times > 1:
            word = re.sub(r"^(double|triple)[ -]?", "", word)
        out.append((word if word.isdigit() else _WORDS[word]) * times)
    return "".join(out)


def _spoken_words(run: str) -> int:
    return len(re.findall(rf"\b{_DIGIT_WORD}\b", run, re.IGNORECASE))


def national(number: str) -> str:
    """The last ten digits: what a caller says of a number, with or without its country code."""
    digits = re.sub(r"\D", "", number)
    return digits[-10:]


def redact(text: str, business_numbers: Iterable[str] = (), settings: Optional[Mapping[str, bool]] = None) -> Redacted:
    """`text` with what the settings name replaced, and how many of each were."""
    on = {kind: bool((settings or {}).get(kind, True)) for kind in KINDS}
    counts: Dict[str, int] = {}
    ours = {national(n) for n in business_numbers if len(national(n)) >= 7}

    def count(kind: str) -> str:
        counts[kind] = counts.get(kind, 0) + 1
        return TOKENS[kind]

    if on["email"]:
        text = _EMAIL.sub(lambda m: count("email"), text)
        text = _SPOKEN_EMAIL.sub(lambda m: count("email"), text)
    if on["id"]:
        text = _UK_NINO.sub(lambda m: count("id"), text)

    def kind_of(raw: str, digits: str) -> Optional[str]:
        if 13 <= len(digits) <= 19 and luhn(digits):
            return "card" if on["card"] else "keep"      # read whole either way, never as phones
        if _ssn(raw, digits):
            return "id" if on["id"] else "keep"
        if 7 <= len(digits) <= 15:
            if digits[-10:] in ours or national(digits) in ours:
                return "keep"
            return "phone" if on["phone"] else "keep"
        return None

    def run(m: "re.Match[str]") -> str:
        raw = m.group(0)
        before = m.string[max(0, m.start() - 2):m.start()]
        if _DATE.match(raw.strip()) or any(c in before for c in _MONEY):
            return raw                      # a date or an amount, not a number to call
        words = _spoken_words(raw)
        if words and words < 4 and len(_digits(raw)) - words < 3:
            return raw                      # "one or two", "oh, nine o'clock": words, not a number
        # Two numbers said one after the other ("4242 … 4242, 415 555 0123") make one run:
        # from each unit, the longest stretch that reads as a card, an id or a phone number.
        units = list(_UNIT_RE.finditer(raw))
        out, i, last = [], 0, 0
        while i < len(units):
            for j in range(min(len(units), i + 19), i, -1):
                piece = raw[units[i].start():units[j - 1].end()]
                kind = kind_of(piece, _digits(piece))
                if kind:
                    break
            else:
                i += 1
                continue
            if kind != "keep":
                out.append(raw[last:0 if i == 0 else units[i].start()] + count(kind))   # "+1 (…" whole
                last = units[j - 1].end()
            i = j
        return "".join(out) + raw[last:] if out else raw

    text = _RUN.sub(run, text)
    return Redacted(text, counts)
