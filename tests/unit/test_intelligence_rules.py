"""Conversation rules: phrases on stems and speakers, regexes, facts, first-label-wins,
explainable matches, the score's clamp, and the schema and safety checks."""
from __future__ import annotations

import jsonschema
import pytest

from chalicelib.intelligence.rules import (RULES_SCHEMA, RuleError, Utterance, check, derived_facts, evaluate,
                                           stem)

CALL = [Utterance("agent", 0.0, 3.0, "Acme Plumbing, how can I help?"),
        Utterance("caller", 3.5, 9.0, "Hi, I'm getting quotes for a new water heater."),
        Utterance("agent", 9.5, 14.0, "We quoted one last week, I can book you Friday at nine."),
        Utterance("caller", 30.0, 32.0, "Friday works.")]


def rule(id_: str, when: dict, **then) -> dict:
    return {"id": id_, "when": when, "then": then}


def test_stems_meet() -> None:
    assert {stem(w) for w in ("quote", "quotes", "quoted", "quoting")} == {stem("quote")}
    assert stem("booking") == stem("booked") == stem("book")
    assert stem("replies") == stem("reply")


def test_a_phrase_matches_on_stems_for_its_speaker_with_the_span() -> None:
    out = evaluate([rule("price", {"phrase": ["get quote"], "speaker": "caller"}, tags=["pricing"], score=30)],
                   CALL, {})
    [fired] = out.fired
    [m] = fired.matches
    assert (m.speaker, m.start) == ("caller", 3.5)
    assert m.text[m.span[0]:m.span[1]] == "getting quotes"
    assert (out.tags, out.score) == (["pricing"], 30)
    agent_only = evaluate([rule("q", {"phrase": ["quote"], "speaker": "agent"}, score=5)], CALL, {})
    assert [m.text for m in agent_only.fired[0].matches] == [CALL[2].text]
    exact = evaluate([rule("q", {"phrase": ["quote"], "exact": True}, score=5)], CALL, {})
    assert exact.fired == []


def test_conditions_combine_and_facts_compare() -> None:
    rules = [rule("long-quote", {"all": [{"phrase": ["quote"]}, {"fact": "talk_seconds", "op": ">=", "value": 30}]},
                  score=40),
             rule("not-spam", {"not": {"phrase": ["press one"]}}, score=5),
             rule("google", {"fact": "source", "op": "in", "value": ["google", "bing"]}, tags=["search"]),
             rule("weekend", {"fact": "weekday", "op": ">=", "value": 5}, score=50)]
    out = evaluate(rules, CALL, {"talk_seconds": 31, "source": "google", "weekday": 2})
    assert [f.rule_id for f in out.fired] == ["long-quote", "not-spam", "google"]
    assert (out.score, out.tags) == (45, ["search"])
    assert [f.rule_id for f in evaluate(rules, CALL, {"talk_seconds": 10}).fired] == ["not-spam"]


def test_the_first_label_wins_and_the_score_is_clamped() -> None:
    rules = [rule("spam", {"phrase": ["water heater"]}, lead="spam", score=-100),
             rule("lead", {"phrase": ["quote"]}, lead="qualified", score=60)]
    out = evaluate(rules, CALL, {})
    assert (out.lead, out.score) == ("spam", 0)
    out = evaluate(list(reversed(rules)), CALL, {})
    assert (out.lead, out.score) == ("qualified", 0)
    big = evaluate([rule(f"r{i}", {"phrase": ["friday"]}, score=40) for i in range(4)], CALL, {})
    assert big.score == 100


def test_value_set_and_add_and_disabled_rules() -> None:
    rules = [rule("set", {"phrase": ["heater"]}, value={"set": 200}),
             rule("add", {"phrase": ["friday"]}, value={"add": 50}),
             {**rule("off", {"phrase": ["friday"]}, value={"add": 1000}), "enabled": False}]
    assert evaluate(rules, CALL, {}, base_value=10).value == 250


def test_regex_and_its_safety() -> None:
    out = evaluate([rule("day", {"regex": r"\b(friday|monday) at \w+", "speaker": "agent"}, score=20)], CALL, {})
    [m] = out.fired[0].matches
    assert m.text[m.span[0]:m.span[1]] == "Friday at nine"
    for bad in (r"(a+)+$", r"(\w+\s?)*x", r"(a)\1", "([unclosed", r"((a+))+$", r"(a|a?)+$", r"(?:x|y+)*z"):
        with pytest.raises(RuleError):
            check([rule("bad", {"regex": bad}, score=1)])
    with pytest.raises(RuleError):
        check([rule("same", {"phrase": ["a"]}, score=1), rule("same", {"phrase": ["b"]}, score=1)])
    check([rule("fine", {"regex": r"\b(?:is this|isn't this) (?:the )?(?:dr\.? \w+|pizza)\b"}, score=1)])


def test_a_match_keeps_a_window_of_its_sentence() -> None:
    long = Utterance("caller", 0.0, 60.0, "x " * 500 + "how much is it" + " y" * 500)
    [fired] = evaluate([rule("p", {"phrase": ["how much"]}, score=1)], [long], {}).fired
    m = fired.matches[0].as_dict()
    assert len(m["text"]) <= 60 * 2 + len("how much") and m["text"][m["span"][0]:m["span"][1]] == "how much"


def test_the_schema_refuses_what_cannot_run() -> None:
    ok = [rule("a", {"any": [{"phrase": ["x"], "speaker": "caller"}, {"fact": "status", "op": "=", "value": "missed"}]},
               tags=["t"], lead="not_lead", score=-10, value={"add": 5})]
    jsonschema.validate(ok, RULES_SCHEMA)
    for bad in ([rule("A b", {"phrase": ["x"]}, score=1)],                            # id
                [rule("a", {"phrase": ["x"], "regex": "y"}, score=1)],                   # two kinds in one condition
                [rule("a", {"phrase": ["x"], "speeker": "caller"}, score=1)],            # misspelt key
                [rule("a", {"fact": "colour", "value": 1}, score=1)],                    # unknown fact
                [rule("a", {"phrase": ["x"]})],                                          # no effect
                [rule("a", {"phrase": ["x"]}, score=500)],
                [rule("a", {"phrase": ["x"]}, lead="hot")]):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, RULES_SCHEMA)


def test_derived_facts_count_words_and_silence() -> None:
    facts = derived_facts(CALL, 40.0)
    assert (facts["caller_words"], facts["agent_words"]) == (11, 18)
    assert facts["silence"] == pytest.approx(40.0 - (3.0 + 5.5 + 4.5 + 2.0), abs=0.1)
    assert derived_facts([], 12.0) == {"caller_words": 0, "agent_words": 0, "silence": 12.0}
