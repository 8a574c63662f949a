"""Transcripts: Vonage's transcription of a `record` action, read into utterances.

The `record` action asks for it with `transcription: {language, eventUrl, sentimentAnalysis}`
and `split: "conversation"`, `channels: 2`: the caller's side in the first channel, what
the caller hears (the agent, the greeting) in the second, so speakers are told apart by
channel. Vonage then calls the event URL with

    {"conversation_uuid": "CON-…", "recording_uuid": "…", "status": "transcribed",
     "transcription_url": "https://api.nexmo.com/v1/files/…", "type": "record"}

and the file at `transcription_url` (fetched with the application's JWT) is

    {"ver": "…", "request_id": "…",
     "channels": [{"transcript": [{"sentence": "…", "raw_sentence": "…", "timestamp": 9630,
                                   "duration": 2642, "words": [{"word": "…", "start_time": …,
                                   "end_time": …, "confidence": 0.99}, …]}, …],
                   "duration": 16.2}, …]}

with times in milliseconds. With sentiment analysis Vonage scores each segment from −1 to
1; the field's name is not documented, so `sentiment` and `sentiment_score` are both read.

`Engine` is the small interface another transcription engine (Amazon Transcribe) would
implement: the announcement it understands and how its file becomes utterances.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence

from chalicelib.intelligence.rules import Utterance

CHANNEL_SPEAKERS = ("caller", "agent")      # split "conversation": caller left, what they hear right
MAX_SEGMENTS = 5000
MAX_TEXT = 2000


class TranscriptError(ValueError):
    """A transcript file that is not the documented shape."""


@dataclass(frozen=True)
class Announcement:
    """A transcript is ready: where to fetch it, for which recording of which conversation."""
    conversation_uuid: Optional[str]
    recording_uuid: Optional[str]
    url: str


@dataclass(frozen=True)
class Segment:
    utterance: Utterance
    sentiment: Optional[float] = None
    confidence: Optional[float] = None

    def as_dict(self) -> Dict[str, Any]:
        u = self.utterance
        out: Dict[str, Any] = {"speaker": u.speaker, "start": round(u.start, 2), "end": round(u.end, 2),
                               "text": u.text}
        if self.sentiment is not None:
            out["sentiment"] = self.sentiment
        if self.confidence is not None:
            out["confidence"] = self.confidence
        return out


class Engine(Protocol):
    name: str

    def announcement(self, payload: Mapping[str, Any]) -> Optional[Announcement]: ...

    def segments(self, document: Mapping[str, Any]) -> List[Segment]: ...


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class VonageEngine:
    name = "vonage"

    def announcement(self, payload: Mapping[str, Any]) -> Optional[Announcement]:
        url = payload.get("transcription_url")
        if payload.get("status") != "transcribed" or not isinstance(url, str) or not url:
            return None
        return Announcement(payload.get("conversation_uuid"), payload.get("recording_uuid"), url)

    def segments(self, document: Mapping[str, Any]) -> List[Segment]:
        channels = document.get("channels") if isinstance(document, Mapping) else None
        if not isinstance(channels, list):
            raise TranscriptError("a Vonage transcript has a `channels` list")
        mono = len(channels) == 1
        out: List[Segment] = []
        for index, channel in enumerate(channels):
            entries = channel.get("transcript") if isinstance(channel, Mapping) else None
            if not isinstance(entries, list):
                raise TranscriptError(f"channel {index} has no `transcript` list")
            speaker = "any" if mono else CHANNEL_SPEAKERS[index] if index < len(CHANNEL_SPEAKERS) else "agent"
            for entry in entries:
                if not isinstance(entry, Mapping):
                    continue
                text = entry.get("sentence") or entry.get("raw_sentence") or ""
                start = _number(entry.get("timestamp"))
                if not isinstance(text, str) or not text.strip() or start is None:
                    continue
                length = _number(entry.get("duration")) or 0.0
                words = [w for w in entry.get("words") or [] if isinstance(w, Mapping)]
                confidences = [c for c in (_number(w.get("confidence")) for w in words) if c is not None]
                sentiment = _number(entry.get("sentiment", entry.get("sentiment_score")))
                out.append(Segment(Utterance(speaker, start / 1000.0, (start + length) / 1000.0, text.strip()[:MAX_TEXT]),
                                   None if sentiment is None else max(-1.0, min(1.0, sentiment)),
                                   round(sum(confidences) / len(confidences), 3) if confidences else None))
        if len(out) > MAX_SEGMENTS:
            raise TranscriptError(f"more than {MAX_SEGMENTS} segments")
        return sorted(out, key=lambda s: (s.utterance.start, s.utterance.speaker))


ENGINES: Dict[str, Engine] = {"vonage": VonageEngine()}


def utterances(segments: Sequence[Segment]) -> List[Utterance]:
    return [s.utterance for s in segments]


def sentiment(segments: Sequence[Segment], speaker: str = "caller") -> Optional[float]:
    """The speaker's mean segment sentiment, weighted by length, if the engine gave any."""
    scored = [(s.sentiment, max(0.1, s.utterance.end - s.utterance.start)) for s in segments
              if s.sentiment is not None and s.utterance.speaker in (speaker, "any")]
    if not scored:
        return None
    return round(sum(v * w for v, w in scored) / sum(w for _, w in scored), 3)
