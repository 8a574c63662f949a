"""The learned lead score: a small logistic regression per account, trained on the
account's own manually tagged calls (docs/intelligence.md, "Learned score"). Pure: examples
in, a model (a JSON document) out; the I/O is `learning.py`.

What it learns from, per call:
- the words each side said, stemmed like the rules stem them, as presence features
  `caller:<stem>` and `agent:<stem>` (a word said ten times counts once);
- call facts: answered, voicemail, first call of the caller, talk time (log-scaled), a
  known source, the device, an IVR choice (`ivr:<digit>`).

Labels: a call is positive when one of its manual tags matches the training's `positive`
list (a category, or `category:value`), negative when one matches `negative`; other calls
are not used. One call in five (by a hash of its id, so the same calls every time) is held
out: the model is trained on the rest and its precision and recall at score 50 are measured
on the held-out calls and shown with the model (the model that scores calls is that one). Features seen in fewer than two training
calls are dropped (they can only memorise), the rest capped at MAX_FEATURES by frequency.
Training is full-batch gradient descent on the L2-regularised log loss, from zero weights:
the same examples give the same model.
"""
from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from chalicelib.intelligence.rules import _WORD, Utterance, stem

MAX_FEATURES = 2000
MIN_DOCUMENT_FREQUENCY = 2
EPOCHS = 200
LEARNING_RATE = 0.5
L2 = 0.01
HELD_OUT_ONE_IN = 5
MIN_EXAMPLES = 20            # labelled calls (both kinds together) before a model is trained
MIN_EACH = 5                 # of each kind
Features = Dict[str, float]


def features(said: Sequence[Utterance], facts: Mapping[str, Any]) -> Features:
    """The features of one call (see the module doc)."""
    out: Features = {}
    for u in said:
        speaker = u.speaker if u.speaker in ("caller", "agent") else "any"
        for m in _WORD.finditer(u.text):
            word = stem(m.group(0))
            if len(word) > 1 and not word.isdigit():
                out[f"{speaker}:{word}"] = 1.0
    status = facts.get("status")
    out["fact:answered"] = 1.0 if status == "answered" else 0.0
    if status == "voicemail":
        out["fact:voicemail"] = 1.0
    if facts.get("first_call"):
        out["fact:first_call"] = 1.0
    talk = float(facts.get("talk_seconds") or 0)
    out["fact:talk_log"] = round(math.log1p(max(0.0, talk)) / math.log1p(3600), 4)
    if facts.get("source"):
        out[f"source:{str(facts['source']).lower()}"] = 1.0
    if facts.get("device"):
        out[f"device:{str(facts['device']).lower()}"] = 1.0
    for digit in facts.get("ivr_path") or ():
        out[f"ivr:{digit}"] = 1.0
    return {k: v for k, v in out.items() if v}


def label_of(tags: Iterable[Mapping[str, Any]], positive: Sequence[str], negative: Sequence[str]) -> Optional[bool]:
    """True / False from the call's manual tags, None when it is not a training example (a
    call matching both lists is not one either: the tags contradict each other)."""
    names = set()
    for t in tags or ():
        if t.get("by") == "rules" or not t.get("category"):
            continue                          # the rules' own tags would teach the model the rules
        category = str(t["category"]).lower()
        names.add(category)
        if t.get("value") is not None:
            names.add(f"{category}:{str(t['value']).lower()}")
    pos = bool(names & {p.lower() for p in positive})
    neg = bool(names & {n.lower() for n in negative})
    return None if pos == neg else pos


def held_out(call_id: str) -> bool:
    return int(hashlib.sha256(call_id.encode()).hexdigest()[:8], 16) % HELD_OUT_ONE_IN == 0


@dataclass(frozen=True)
class Example:
    call_id: str
    features: Features
    positive: bool


class NotEnoughExamples(ValueError):
    """Too few labelled calls to learn anything worth showing."""


def _vocabulary(examples: Sequence[Example]) -> List[str]:
    frequency: Counter = Counter()
    for e in examples:
        frequency.update(e.features)
    kept = [f for f, n in frequency.items() if n >= MIN_DOCUMENT_FREQUENCY or f.startswith("fact:")]
    kept.sort(key=lambda f: (-frequency[f], f))
    return sorted(kept[:MAX_FEATURES])


def fit(examples: Sequence[Example]) -> Dict[str, Any]:
    """Weights and bias for the examples (every one of them: `train` splits)."""
    vocabulary = _vocabulary(examples)
    index = {f: i for i, f in enumerate(vocabulary)}
    rows = [([(index[f], v) for f, v in e.features.items() if f in index], 1.0 if e.positive else 0.0)
            for e in examples]
    weights = [0.0] * len(vocabulary)
    bias = 0.0
    n = float(len(rows))
    for _ in range(EPOCHS):
        grad = [0.0] * len(vocabulary)
        grad_bias = 0.0
        for row, y in rows:
            error = _sigmoid(bias + sum(weights[i] * v for i, v in row)) - y
            grad_bias += error
            for i, v in row:
                grad[i] += error * v
        bias -= LEARNING_RATE * grad_bias / n
        for i in range(len(weights)):
            weights[i] -= LEARNING_RATE * (grad[i] / n + L2 * weights[i])
    return {"bias": round(bias, 6), "weights": {f: round(w, 6) for f, w in zip(vocabulary, weights) if abs(w) > 1e-6}}


def _sigmoid(z: float) -> float:
    if z < -30:
        return 0.0
    if z > 30:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


def probability(model: Mapping[str, Any], feats: Features) -> float:
    w = model.get("weights") or {}
    return _sigmoid(float(model.get("bias") or 0.0) + sum(w.get(f, 0.0) * v for f, v in feats.items()))


def score(model: Mapping[str, Any], feats: Features, top: int = 5) -> Dict[str, Any]:
    """0–100 and the features that moved it most (explainable: weight × value)."""
    w = model.get("weights") or {}
    moved = sorted(((f, w[f] * v) for f, v in feats.items() if f in w), key=lambda fc: (-abs(fc[1]), fc[0]))
    return {"score": int(round(100 * probability(model, feats))),
            "why": [{"feature": f, "weight": round(c, 3)} for f, c in moved[:top]]}


def measure(model: Mapping[str, Any], examples: Sequence[Example]) -> Dict[str, Any]:
    """Precision and recall at score 50 (probability ½) on these examples."""
    tp = fp = fn = tn = 0
    for e in examples:
        predicted = probability(model, e.features) >= 0.5
        if predicted and e.positive:
            tp += 1
        elif predicted:
            fp += 1
        elif e.positive:
            fn += 1
        else:
            tn += 1
    return {"calls": len(examples), "positive": tp + fn, "true_positive": tp, "false_positive": fp,
            "false_negative": fn, "true_negative": tn,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None}


def train(examples: Sequence[Example]) -> Dict[str, Any]:
    """The model: fitted on four calls in five and measured on the fifth; the figures shown
    are those of the model that scores calls (it never saw the held-out calls)."""
    positives = sum(1 for e in examples if e.positive)
    if len(examples) < MIN_EXAMPLES or min(positives, len(examples) - positives) < MIN_EACH:
        raise NotEnoughExamples(f"{len(examples)} labelled calls ({positives} positive): the learned score needs "
                                f"at least {MIN_EXAMPLES}, with {MIN_EACH} of each kind")
    train_set = [e for e in examples if not held_out(e.call_id)]
    test_set = [e for e in examples if held_out(e.call_id)]
    model = fit(train_set)
    model.update(examples=len(examples), positive=positives, held_out=measure(model, test_set),
                 trained_on=len(train_set), features=len(model["weights"]))
    return model


def top_weights(model: Mapping[str, Any], n: int = 10) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The features that push a call up most, and those that push it down most."""
    items = sorted((model.get("weights") or {}).items(), key=lambda fw: (-fw[1], fw[0]))
    up = [{"feature": f, "weight": w} for f, w in items[:n] if w > 0]
    down = [{"feature": f, "weight": w} for f, w in reversed(items[-n:]) if w < 0]
    return up, down
