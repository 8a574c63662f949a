"""What the demo month shows beyond numbers: recordings (generated audio in the local
recordings archive, played through the same presigned links as in AWS), transcripts
analysed by the account's conversation rules through the product's own analysis, and
the Ads conversions of paid clicks (gclid, msclkid) recorded as the Ads consumer records
them. Called by `demo_traffic.seed_month`; idempotent (fixed keys, set semantics)."""
from __future__ import annotations

import io
import math
import time
import wave
from typing import Any, Dict, List, Mapping

from chalicelib import accounts
from chalicelib.dni.models import Account

SAMPLE_RATE = 8000
SECONDS = 6.0
ADS_SECTIONS = {"google_ads": {"enabled": True, "call_conversions": True}, "microsoft_ads": {"enabled": True}}

# Two-channel Vonage transcripts (channel 0 the caller, 1 the agent), as Vonage sends them.
SCRIPTS: List[List[tuple]] = [
    [(0, 0.5, "Hi, my boiler stopped working this morning and there's no hot water."),
     (1, 4.0, "Sorry to hear that. What make is the boiler and how old is it?"),
     (0, 8.0, "It's a Worcester, about ten years old. Can someone come today?"),
     (1, 12.0, "Yes, we can be there at two o'clock. The call-out fee is eighty dollars."),
     (0, 16.5, "Great, please book it. My address is on Elm Street.")],
    [(0, 0.4, "Hello, I'd like a quote for a new bathroom, shower and vanity."),
     (1, 3.5, "Of course. Roughly how big is the room?"),
     (0, 6.5, "About eight by ten feet. We're hoping to start next month."),
     (1, 10.0, "I'll send a surveyor on Thursday to measure up and give you a price.")],
    [(0, 0.3, "Hi, water is leaking under my kitchen sink, it's an emergency."),
     (1, 2.5, "We have an emergency plumber nearby. Is the water turned off?"),
     (0, 5.0, "Yes, I turned the valve. How soon can you come?"),
     (1, 7.5, "Within the hour. I'm booking it now.")],
    [(0, 0.5, "Hi, I'm calling to ask if you fix tankless water heaters."),
     (1, 3.0, "We do, we service all the major brands."),
     (0, 5.5, "Okay thanks, I'll think about it and call back.")],
]


def tone_wav(seed: int, seconds: float = SECONDS) -> bytes:
    """A short generated recording: alternating 'voices' (two tones), 8 kHz mono WAV."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        frames = bytearray()
        for i in range(int(SAMPLE_RATE * seconds)):
            t = i / SAMPLE_RATE
            turn = int(t / 1.5) % 2
            freq = (220 + 20 * (seed % 5)) if turn == 0 else (330 + 15 * (seed % 7))
            envelope = 0.5 + 0.5 * math.sin(2 * math.pi * 3 * t)
            frames += int(2500 * envelope * math.sin(2 * math.pi * freq * t)).to_bytes(2, "little", signed=True)
        w.writeframes(bytes(frames))
    return out.getvalue()


def vonage_transcript(script: List[tuple]) -> Dict[str, Any]:
    channels: List[Dict[str, Any]] = [{"transcript": []}, {"transcript": []}]
    for channel, start, sentence in script:
        channels[channel]["transcript"].append({
            "sentence": sentence, "timestamp": int(start * 1000), "duration": 2800,
            "words": [{"word": w, "confidence": 0.93} for w in sentence.split()]})
    return {"channels": channels}


def _archive(call: Mapping[str, Any], index: int, now: float) -> None:
    from chalicelib import aws
    from chalicelib.calls import lifecycle
    from chalicelib.reports import archive

    body = tone_wav(index)
    key = archive.key_of(call["account_id"], call["call_id"], float(call["started_at"]), "rec", "audio/wav")
    aws.client("s3").put_object(Bucket=archive.bucket(), Key=key, Body=body, ContentType="audio/wav")
    lifecycle.keep_archive(call["call_id"], {"u": call["recording_url"], "kind": "call", "key": key, "b": len(body),
                                             "ct": "audio/wav", "ret": 90, "at": round(float(call["ended_at"]), 3)})


def _transcribe(call: Mapping[str, Any], script: List[tuple], now: float) -> None:
    from chalicelib.calls import lifecycle
    from chalicelib.calls.models import Call
    from chalicelib.intelligence import analysis

    note = {"url": f"{call['recording_url']}/transcription", "engine": "vonage",
            "recording_uuid": call["recording_url"].rsplit("/", 1)[-1], "at": round(float(call["ended_at"]), 3)}
    lifecycle.announce_transcript(call["call_id"], note)
    item = Call.get(call["call_id"], consistent_read=True)
    if item.analysis_url != (item.transcript or {}).get("url"):
        analysis.analyze_document(item, vonage_transcript(script), item.transcript or note, lambda: now)


def _conversions(account_id: str, calls: List[Mapping[str, Any]]) -> int:
    from chalicelib.integrations import bidding

    by_id = {c["call_id"]: c for c in calls}
    recorded = 0
    for c in calls:
        if c.get("direction") == "outbound":     # agents' own calls are no conversions
            continue
        event = {"detail": {"account_id": account_id, "call_id": c["call_id"]}}
        recorded += sum(bidding.handle(event, get_call=lambda a, i: dict(by_id[i])).values())
    return recorded


def _ensure_ads(account_id: str) -> None:
    account = Account.get(account_id)
    config = dict(account.config or {})
    missing = {k: v for k, v in ADS_SECTIONS.items() if k not in config}
    if missing:
        account.update(actions=[Account.config.set({**config, **missing})])
        accounts.invalidate(account_id)


def seed(account_id: str, calls: List[Dict[str, Any]], now: float | None = None) -> Dict[str, int]:
    now = time.time() if now is None else now
    recorded = sorted((c for c in calls if c.get("recording_url")), key=lambda c: c["call_id"])
    for i, c in enumerate(recorded):
        _archive(c, i, now)
        if i < len(SCRIPTS):
            _transcribe(c, SCRIPTS[i], now)
    _ensure_ads(account_id)
    return {"recordings": len(recorded), "transcripts": min(len(recorded), len(SCRIPTS)),
            "conversions": _conversions(account_id, calls)}
