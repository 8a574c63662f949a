"""The starter rules on the hand-written corpus (tests/data/transcripts.md): they validate,
run on every call, and keep the labels they were written against (a regression check; the
held-out corpus's figures are the benchmark's, not a test's, so nothing is tuned to it)."""
from __future__ import annotations

from collections import Counter

import jsonschema

from bench import intelligence
from chalicelib.intelligence.rules import RULES_SCHEMA, check
from chalicelib.intelligence.starter import STARTER_RULES


def test_the_corpus_has_every_kind_of_call() -> None:
    samples = intelligence.load()
    assert len(samples) >= 40 and len({s.id for s in samples}) == len(samples)
    kinds = Counter(s.label for s in samples)
    assert set(kinds) == {"qualified", "support", "wrong_number", "spam", "voicemail", "other"}
    assert all(s.lines for s in samples)


def test_the_starter_rules_are_valid_rules() -> None:
    jsonschema.validate(STARTER_RULES, RULES_SCHEMA)
    check(STARTER_RULES)


def test_the_starter_rules_keep_their_labels_on_the_corpus() -> None:
    result = intelligence.scores(intelligence.load(), STARTER_RULES)
    assert result["misses"] == []
    for label, got in result["labels"].items():
        assert got["precision"] == 1.0 and got["recall"] == 1.0, label
