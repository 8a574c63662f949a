"""Vonage's transcript shapes read into utterances: channels to speakers, milliseconds to
seconds, sentiment where given, the announcement webhook; mono recordings."""
from __future__ import annotations

import pytest

from chalicelib.intelligence import rules, transcripts

# The transcript file as Vonage documents it (ver 1.0.19 sample), with a second channel.
DOCUMENT = {
    "ver": "1.0.19", "request_id": "6226182254ce513117079b58",
    "channels": [
        {"transcript": [
            {"sentence": "Hi, how much is a new water heater?", "timestamp": 4100, "duration": 2600,
             "action_items": [], "questions": [], "answers": [], "raw_sentence": "hi how much is a new water heater",
             "sentiment": 0.4,
             "words": [{"word": "hi", "start_time": 4100, "end_time": 4300, "confidence": 1},
                       {"word": "how", "start_time": 4400, "end_time": 4600, "confidence": 0.8}]},
            {"sentence": "Friday works.", "timestamp": 15000, "duration": 900, "raw_sentence": "friday works",
             "words": []}],
         "duration": 16.2},
        {"transcript": [
            {"sentence": "Acme Plumbing, how can I help?", "timestamp": 0, "duration": 3500,
             "raw_sentence": "acme plumbing how can i help", "words": []},
            {"sentence": "About fourteen hundred installed. Friday at nine?", "timestamp": 7200, "duration": 3100,
             "raw_sentence": "about fourteen hundred installed friday at nine", "sentiment_score": -2,
             "words": []}],
         "duration": 16.2},
    ],
}


def test_channels_become_speakers_in_time_order() -> None:
    segs = transcripts.VonageEngine().segments(DOCUMENT)
    assert [(s.utterance.speaker, s.utterance.start) for s in segs] == [
        ("agent", 0.0), ("caller", 4.1), ("agent", 7.2), ("caller", 15.0)]
    first = segs[1]
    assert (first.utterance.end, first.sentiment, first.confidence) == (6.7, 0.4, 0.9)
    assert segs[2].sentiment == -1.0                          # clamped to Vonage's −1…1
    assert transcripts.sentiment(segs, "caller") == 0.4


def test_the_announcement() -> None:
    engine = transcripts.VonageEngine()
    payload = {"conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
               "recording_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "status": "transcribed",
               "transcription_url": "https://api.nexmo.com/v1/files/bbbbbbbb-aaaa-cccc-dddd-0123456789ab",
               "type": "record"}
    got = engine.announcement(payload)
    assert got and got.url.endswith("0123456789ab") and got.recording_uuid.startswith("aaaa")
    assert engine.announcement({**payload, "status": "failed"}) is None
    assert engine.announcement({k: v for k, v in payload.items() if k != "transcription_url"}) is None


def test_a_mono_recording_has_no_speakers_and_speaker_rules_still_read_it() -> None:
    mono = {"channels": [DOCUMENT["channels"][0]]}
    segs = transcripts.VonageEngine().segments(mono)
    assert {s.utterance.speaker for s in segs} == {"any"}
    said = transcripts.utterances(segs)
    out = rules.evaluate([{"id": "p", "when": {"phrase": ["how much"], "speaker": "caller"}, "then": {"score": 5}}],
                         said, rules.derived_facts(said, 16.2))
    assert out.score == 5
    assert rules.derived_facts(said, 16.2)["caller_words"] is None     # not "a silent caller"


@pytest.mark.parametrize("bad", [{}, {"channels": {}}, {"channels": [{"transcript": "x"}]}, []])
def test_what_is_not_a_transcript(bad) -> None:
    with pytest.raises(transcripts.TranscriptError):
        transcripts.VonageEngine().segments(bad)
