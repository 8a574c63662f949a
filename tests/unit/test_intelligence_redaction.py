"""Redaction of transcripts: cards by Luhn however spoken, ids, e-mails, phone numbers but
the business's own, and what must stay readable (dates, amounts, times, small counts)."""
from __future__ import annotations

import pytest

from chalicelib.intelligence.redaction import luhn, redact

OURS = ["+14155550100"]


@pytest.mark.parametrize("text,expected,counts", [
    ("card 4242 4242 4242 4242 exp 12/27", "card [card] exp 12/27", {"card": 1}),
    ("it's 4242-4242-4242-4242", "it's [card]", {"card": 1}),
    ("four two four two four two four two four two four two four two four two", "[card]", {"card": 1}),
    ("4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2.", "[card].", {"card": 1}),
    ("amex 3782 822463 10005 please", "amex [card] please", {"card": 1}),
    ("call me on 415-555-0123", "call me on [phone]", {"phone": 1}),
    ("+1 (650) 555 0178 or 650.555.0199", "[phone] or [phone]", {"phone": 2}),
    ("five five five, oh one two three", "[phone]", {"phone": 1}),
    ("four one five, double five five, oh one two three", "[phone]", {"phone": 1}),
    ("our main line is (415) 555-0100", "our main line is (415) 555-0100", {}),
    ("ssn 123-45-6789", "ssn [id]", {"id": 1}),
    ("NI number AB 12 34 56 C", "NI number [id]", {"id": 1}),
    ("mail sam.hill@example.com today", "mail [email] today", {"email": 1}),
    ("it's sam at example dot com", "it's [email]", {"email": 1}),
    ("4242 4242 4242 4242 415 555 0123", "[card] [phone]", {"card": 1, "phone": 1}),     # said in one breath
    ("4242 4242 4242 4242, 415 555 0123", "[card], [phone]", {"card": 1, "phone": 1}),
    ("(415) 555-0100 or 415 555 0123", "(415) 555-0100 or [phone]", {"phone": 1}),
])
def test_what_is_redacted(text: str, expected: str, counts: dict) -> None:
    r = redact(text, OURS)
    assert (r.text, r.counts) == (expected, counts)


@pytest.mark.parametrize("text", [
    "Thursday at two, on 12/05/2026",
    "about $14,500,000 in total",
    "one or two of them, at nine",
    "order number 1234567890123456",        # 16 digits, not Luhn: not a card, too long for a phone
    "we came out 3 times in 2024",
    "the 15th at 10 30",
    "model 8675309",                          # seven digits after a word: still a phone-shaped run
])
def test_what_stays(text: str) -> None:
    r = redact(text, OURS)
    if text == "model 8675309":
        assert r.text == "model [phone]"      # the documented cost of reading digit runs
    else:
        assert r.text == text and r.counts == {}


def test_each_kind_can_be_turned_off() -> None:
    text = "4242 4242 4242 4242, 415 555 0123, a@b.co, 123-45-6789"
    assert redact(text, OURS, {"card": False}).text == "4242 4242 4242 4242, [phone], [email], [id]"  # 16 digits: no phone
    assert redact(text, OURS, {"phone": False, "email": False}).text == "[card], 415 555 0123, a@b.co, [id]"


def test_luhn() -> None:
    assert luhn("4242424242424242") and luhn("378282246310005") and not luhn("4242424242424241")


def test_long_digit_runs_are_read_in_linear_time() -> None:
    """A run of digits followed by a letter once backtracked exponentially (22 digits took
    over a second); 60 now read at once."""
    assert redact("ref " + "7" * 60 + "x", OURS).text == "ref " + "7" * 60 + "x"
    assert redact("1 2 3 4 5 6 7 8 9 " * 8 + "end", OURS).text.endswith("end")   # (stretches of it are read)
