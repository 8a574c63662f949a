"""The learned lead score through the admin API against the emulator: trained on the
account's manually tagged, transcribed calls; shown with its held-out precision and recall
and the words that move it; used on the next analysed call; refused in words when there is
too little to learn from."""
from __future__ import annotations

import json
import random
import time
import uuid
import zlib
from datetime import date, timedelta
from typing import Any, Dict, List

from chalicelib.calls.store import CALL_KEYS
from chalicelib.demo_traffic import write_calls
from chalicelib.intelligence import learning
from chalicelib.intelligence.models import Transcript
from chalicelib.intelligence.rules import Utterance

KEY = "learned-score-key"
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
GOOD = ["can you come and fix the boiler tomorrow", "what would the repair cost", "book me in please",
        "my address is on the high street", "how soon can an engineer visit"]
BAD = ["is this the pizza place", "sorry wrong number", "we are calling about your car warranty",
       "press one to hear our offer", "I was just checking the opening hours"]


def _calls(account_id: str, n: int, rng: random.Random) -> List[Dict[str, Any]]:
    now = time.time()
    calls, transcripts = [], []
    for i in range(n):
        good = rng.random() < 0.45
        call = {k: None for k in CALL_KEYS}
        call.update({"account_id": account_id, "call_id": f"ls-{uuid.uuid4().hex[:12]}", "direction": "inbound",
                     "status": "answered", "started_at": now - rng.uniform(3600, 20 * 86400), "talk_seconds":
                     rng.randint(30, 300), "source": rng.choice(["google", "bing"]), "classification": {},
                     "tags": [{"category": "Sale" if good else "Not a lead", "value": None, "by": "manual"}]
                     if i % 6 else []})                                      # one call in six untagged
        calls.append(call)
        said = rng.sample(GOOD if good else BAD, 2) + [rng.choice(["hello", "thanks", "right"])]
        segments = [{"speaker": "caller", "start": j * 3.0, "end": j * 3.0 + 2.5, "text": t} for j, t in enumerate(said)]
        segments.append({"speaker": "agent", "start": 12.0, "end": 14.0, "text": "thanks for calling"})
        transcripts.append(Transcript(call["call_id"], account_id=account_id, engine="vonage",
                                      segments=zlib.compress(json.dumps(segments).encode()), created_at=now))
    write_calls(calls)                      # (times in epoch seconds, as the demo writes them)
    with Transcript.batch_write() as batch:
        for t in transcripts:
            batch.save(t)
    return calls


def _train(client, account_id: str, **body: Any):
    today = date.today()
    doc = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat(), "positive": ["Sale"],
           "negative": ["Not a lead"], **body}
    return client.http.post(f"/v1/accounts/{account_id}/learned-score/train", headers=AUTH, body=json.dumps(doc))


def test_trained_on_tagged_calls_shown_with_held_out_figures_and_used_on_new_calls(client, account):
    acc = account(api_key=KEY)
    r = client.http.get(f"/v1/accounts/{acc.account_id}/learned-score", headers=AUTH)
    assert r.status_code == 404 and "train one" in r.json_body["message"]
    calls = _calls(acc.account_id, 150, random.Random(5))
    r = _train(client, acc.account_id)
    assert r.status_code == 200, r.body
    doc = r.json_body
    tagged = sum(1 for c in calls if c["tags"])
    assert doc["calls_read"] == 150 and doc["examples"] == tagged
    assert doc["trained_on"] + doc["held_out"]["calls"] == tagged and doc["held_out"]["calls"] >= 10
    assert doc["held_out"]["precision"] >= 0.9 and doc["held_out"]["recall"] >= 0.9
    assert doc["learned_from"] == {"from": (date.today() - timedelta(days=30)).isoformat(),
                                   "to": date.today().isoformat(), "positive": ["Sale"], "negative": ["Not a lead"]}
    assert any(u["feature"].startswith("caller:") for u in doc["raises_the_score"])
    again = client.http.get(f"/v1/accounts/{acc.account_id}/learned-score", headers=AUTH).json_body
    assert again == doc

    good = learning.scored(acc.account_id, [Utterance("caller", 0, 3, "can an engineer fix the boiler tomorrow")],
                           {"status": "answered", "talk_seconds": 90})
    bad = learning.scored(acc.account_id, [Utterance("caller", 0, 3, "sorry wrong number, is this the pizza place")],
                          {"status": "answered", "talk_seconds": 40})
    assert good["score"] > 50 > bad["score"] and good["precision"] == doc["held_out"]["precision"]
    assert learning.scored("no-such-account", [], {}) is None

    r = client.http.delete(f"/v1/accounts/{acc.account_id}/learned-score", headers=AUTH)
    assert r.status_code == 200 and learning.scored(acc.account_id, [], {}) is None
    r = client.http.delete(f"/v1/accounts/{acc.account_id}/learned-score", headers=AUTH)
    assert r.status_code == 404 and set(r.json_body) == {"error", "message"}


def test_too_little_to_learn_from_and_bad_requests_are_refused_in_words(client, account):
    acc = account(api_key=KEY)
    _calls(acc.account_id, 10, random.Random(6))
    r = _train(client, acc.account_id)
    assert r.status_code == 409 and "at least 20" in r.json_body["message"] and "read 10 calls" in r.json_body["message"]
    for bad in ({"positive": []}, {"positive": ["Sale"], "extra": 1}, {"from": "2026-13-01"}):
        r = _train(client, acc.account_id, **bad)
        assert r.status_code == 400 and set(r.json_body) >= {"error", "message"}, (bad, r.body)
    r = client.http.get(f"/v1/accounts/{acc.account_id}/learned-score?x=1", headers=AUTH)
    assert r.status_code == 400
