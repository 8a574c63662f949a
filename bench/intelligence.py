"""The conversation rules on a corpus of synthetic transcripts (tests/data/transcripts.md):
precision and recall of the starter rules' labels, and processing time per call
(redaction + rules)."""
from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "transcripts.md"
HELD_OUT = CORPUS.with_name("transcripts-heldout.md")     # written without sight of the rules
BUSINESS = ("+14155550100",)
WORDS_PER_SECOND = 2.5


@dataclass(frozen=True)
class Sample:
    id: str
    label: str
    status: str
    talk_seconds: int
    lines: Tuple[Tuple[str, str], ...]     # (caller | agent, text)


def load(path: Path = CORPUS) -> List[Sample]:
    samples, head, lines = [], None, []  # type: List[Sample], Any, List[Tuple[str, str]]

    def flush() -> None:
        if head:
            samples.append(Sample(head[0], head[1], head[2], int(head[3]), tuple(lines)))

    for raw in path.read_text().splitlines():
        if raw.startswith("## "):
            flush()
            head, lines = [p.strip() for p in raw[3:].split("|")], []
        elif head and re.match(r"^[CA]: ", raw):
            text = re.sub(r"\[[^\]]*\]", "", raw[3:]).strip()     # stage directions: no engine writes them
            if re.search(r"\w", text):
                lines.append(("caller" if raw[0] == "C" else "agent", text))
    flush()
    return samples


def utterances(sample: Sample) -> List[Any]:
    """Lines as utterances, timed by their length (the corpus carries no times)."""
    from chalicelib.intelligence.rules import Utterance

    out, t = [], 0.0
    for speaker, text in sample.lines:
        seconds = max(1.0, len(text.split()) / WORDS_PER_SECOND)
        out.append(Utterance(speaker, t, t + seconds, text))
        t += seconds + 0.5
    return out


def analyse(sample: Sample, rules: Sequence[Dict[str, Any]]) -> Any:
    from chalicelib.intelligence import redaction
    from chalicelib.intelligence.rules import Utterance, derived_facts, evaluate

    said = [Utterance(u.speaker, u.start, u.end, redaction.redact(u.text, BUSINESS).text) for u in utterances(sample)]
    facts = {"status": sample.status, "talk_seconds": sample.talk_seconds,
             **derived_facts(said, float(sample.talk_seconds))}
    return evaluate(rules, said, facts)


def predicted(outcome: Any) -> str:
    """The corpus's label from a rules outcome."""
    if outcome.lead in ("qualified", "converted"):
        return "qualified"
    if outcome.lead == "spam":
        return "spam"
    if "wrong-number" in outcome.tags:
        return "wrong_number"
    if "existing-customer" in outcome.tags:
        return "support"
    return "other"


def scores(samples: Sequence[Sample], rules: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    from chalicelib.intelligence.starter import STARTER_RULES

    rules = rules or STARTER_RULES
    got, times = [], []
    for s in samples:
        start = time.perf_counter()
        outcome = analyse(s, rules)
        times.append((time.perf_counter() - start) * 1000)
        # A voicemail is the call's status, not the rules' finding: judged as the status says.
        got.append((s.label, "voicemail" if s.status == "voicemail" else predicted(outcome), outcome.score))
    per_label = {}
    for label in ("qualified", "support", "wrong_number", "spam"):
        tp = sum(1 for want, have, _ in got if want == label and have == label)
        fp = sum(1 for want, have, _ in got if want != label and have == label)
        fn = sum(1 for want, have, _ in got if want == label and have != label)
        per_label[label] = {"precision": round(tp / (tp + fp), 3) if tp + fp else None,
                            "recall": round(tp / (tp + fn), 3) if tp + fn else None, "n": tp + fn}
    return {"calls": len(samples), "labels": per_label, "ms_per_call_p50": round(statistics.median(times), 2),
            "ms_per_call_max": round(max(times), 2),
            "misses": [(s.id, want, have) for s, (want, have, _) in zip(samples, got) if want != have]}


def learned_examples(samples: Sequence[Sample]) -> List[Any]:
    """The corpus as the learned score's examples: `qualified` calls positive, the rest not."""
    from chalicelib.intelligence import learned, redaction
    from chalicelib.intelligence.rules import Utterance

    out = []
    for s in samples:
        said = [Utterance(u.speaker, u.start, u.end, redaction.redact(u.text, BUSINESS).text) for u in utterances(s)]
        out.append(learned.Example(s.id, learned.features(said, {"status": s.status, "talk_seconds": s.talk_seconds}),
                                   s.label == "qualified"))
    return out


def learned_scores() -> Dict[str, Any]:
    """The learned score fitted on the first corpus (as an account's tagged calls would be)
    and measured on the held-out corpus it never saw."""
    from chalicelib.intelligence import learned

    written, held = learned_examples(load()), learned_examples(load(HELD_OUT))
    start = time.perf_counter()
    model = learned.fit(written)
    seconds = time.perf_counter() - start
    return {"trained_on": len(written), "positive": sum(e.positive for e in written),
            "held_out": learned.measure(model, held), "fit_seconds": round(seconds, 3),
            "features": len(model["weights"])}


def measure() -> Dict[str, Any]:
    out = {"written_with_the_rules": scores(load(), [])}
    if HELD_OUT.exists():
        out["held_out"] = scores(load(HELD_OUT), [])
        out["learned"] = learned_scores()
    return out


def lines(result: Any) -> List[str]:
    if not result:
        return []
    out = ["", "Conversation rules (the starter rules, chalicelib/intelligence/starter.py) on synthetic transcripts "
           "(docs/intelligence.md, \"Measured\"); redaction + rules per call, in-process:", "",
           "| corpus | calls | qualified P / R | support P / R | wrong number P / R | spam P / R | ms per call p50 / max |",
           "|---|---:|---|---|---|---|---|"]
    for name, label in (("written_with_the_rules", "written with the rules (regression check)"),
                        ("held_out", "held out (written without sight of the rules)")):
        r = result.get(name)
        if not r:
            continue
        cells = [f"{_pct(r['labels'][k]['precision'])} / {_pct(r['labels'][k]['recall'])} (n={r['labels'][k]['n']})"
                 for k in ("qualified", "support", "wrong_number", "spam")]
        out.append(f"| {label} | {r['calls']} | " + " | ".join(cells) +
                   f" | {r['ms_per_call_p50']} / {r['ms_per_call_max']} |")
    lr = result.get("learned")
    if lr:
        h = lr["held_out"]
        out += ["", f"Learned score (chalicelib/intelligence/learned.py) fitted on the first corpus's "
                    f"{lr['trained_on']} calls ({lr['positive']} qualified; {lr['features']} features, "
                    f"{lr['fit_seconds']} s) and measured on the {h['calls']} held-out calls at score 50: "
                    f"qualified precision {_pct(h['precision'])}, recall {_pct(h['recall'])} (n={h['positive']}: "
                    f"{h['true_positive']} found, {h['false_positive']} wrongly qualified, "
                    f"{h['false_negative']} missed)."]
    return out


def _pct(x: Any) -> str:
    return "–" if x is None else f"{x * 100:.0f}%"


if __name__ == "__main__":          # python -m bench.intelligence: this table alone
    print("\n".join(lines(measure())))
