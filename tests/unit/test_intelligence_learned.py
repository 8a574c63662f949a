"""The learned lead score's model (pure): features, labels, the held-out split, training."""
from __future__ import annotations

import random

import pytest

from chalicelib.intelligence import learned
from chalicelib.intelligence.rules import Utterance, stem


def said(caller: str, agent: str = "") -> list:
    return [Utterance("caller", 0, 3, caller), Utterance("agent", 3, 6, agent)]


def test_features_tell_the_speakers_apart_and_stem_like_the_rules():
    f = learned.features(said("I need a quote for booking", "Booked you in"), {"status": "answered",
                                                                            "talk_seconds": 120, "source": "Google"})
    assert {"caller:quot", "caller:book", "agent:book", "source:google", "fact:answered"} <= set(f)
    assert "agent:quot" not in f and 0 < f["fact:talk_log"] < 1
    assert "fact:answered" not in learned.features([], {"status": "missed"})


def test_labels_come_from_manual_tags_only():
    pos, neg = ["Sale", "quote:boiler"], ["not a lead"]
    assert learned.label_of([{"category": "Sale", "value": None, "by": "manual"}], pos, neg) is True
    assert learned.label_of([{"category": "Quote", "value": "Boiler"}], pos, neg) is True
    assert learned.label_of([{"category": "Not a lead"}], pos, neg) is False
    assert learned.label_of([{"category": "Sale", "by": "rules"}], pos, neg) is None      # the rules' own tag
    assert learned.label_of([{"category": "Sale"}, {"category": "Not a lead"}], pos, neg) is None
    assert learned.label_of([], pos, neg) is None


def _examples(n: int, seed: int = 1, noise: float = 0.0) -> list:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        good = rng.random() < 0.4
        words = rng.sample(["book", "visit", "price", "tomorrow", "address"], 3) if good else \
            rng.sample(["wrong", "number", "sorry", "survey", "robot"], 3)
        words += rng.sample(["hello", "yes", "ok", "thanks", "the"], 2)
        if rng.random() < noise:
            good = not good
        out.append(learned.Example(f"call-{seed}-{i}", learned.features(said(" ".join(words)), {
            "status": "answered", "talk_seconds": rng.randint(20, 400)}), good))
    return out


def test_training_learns_a_separable_account_and_says_how_well_on_held_out_calls():
    examples = _examples(200)
    model = learned.train(examples)
    held = model["held_out"]
    assert held["calls"] == sum(1 for e in examples if learned.held_out(e.call_id)) and 20 < held["calls"] < 60
    assert held["precision"] == 1.0 and held["recall"] == 1.0
    assert model["trained_on"] + held["calls"] == 200
    up, down = learned.top_weights(model, 3)
    assert {u["feature"] for u in up} <= {"caller:" + stem(w) for w in ("book", "visit", "price", "tomorrow",
                                                                        "address")}
    assert {d["feature"] for d in down} <= {"caller:" + stem(w) for w in ("wrong", "number", "sorry", "survey",
                                                                          "robot")}
    good = learned.score(model, learned.features(said("can I book a visit tomorrow"), {"status": "answered"}))
    bad = learned.score(model, learned.features(said("sorry wrong number"), {"status": "answered"}))
    assert good["score"] > 80 > 20 > bad["score"]
    assert good["why"][0]["weight"] > 0 and bad["why"][0]["weight"] < 0
    assert learned.train(examples) == model                    # deterministic


def test_noisy_labels_lower_the_measured_figures_rather_than_hide_them():
    model = learned.train(_examples(300, seed=2, noise=0.25))
    assert model["held_out"]["precision"] < 1.0 or model["held_out"]["recall"] < 1.0


def test_too_few_labelled_calls_is_said_not_guessed():
    with pytest.raises(learned.NotEnoughExamples, match="at least 20"):
        learned.train(_examples(12))
    with pytest.raises(learned.NotEnoughExamples):
        learned.train([learned.Example(f"c{i}", {"caller:x": 1.0}, True) for i in range(50)])
    assert learned.held_out("call-a") == learned.held_out("call-a")
