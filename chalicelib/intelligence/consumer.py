"""The `intelligence` consumer: `Call Transcribed` → the transcript read, redacted, stored
and scored (`analysis.analyze`), off every webhook and every request. Its outcome leaves
as `Call Analyzed` through the calls stream (calls/outbox.py)."""
from __future__ import annotations

from typing import Any, Dict

from chalicelib.integrations.errors import PermanentError, RetryableError


def handle(event: Dict[str, Any]) -> None:
    from chalicelib.intelligence import analysis, transcripts
    from chalicelib.reports.recordings import RecordingTooLarge, RecordingUnavailable

    call_id = (event.get("detail") or {}).get("call_id")
    if not call_id:
        raise PermanentError("a Call Transcribed event without call_id")
    try:
        analysis.analyze(call_id)
    except analysis.NotReady as err:
        raise PermanentError(str(err)) from err
    except (transcripts.TranscriptError, RecordingTooLarge) as err:
        raise PermanentError(f"the transcript cannot be read: {err}") from err
    except KeyError as err:                       # an engine this deployment does not have
        raise PermanentError(f"unknown transcription engine: {err}") from err
    except RecordingUnavailable as err:
        if "only" in str(err) or "not an http" in str(err):   # an address we will never fetch
            raise PermanentError(f"the transcript cannot be fetched: {err}") from err
        raise RetryableError(f"the transcript could not be fetched: {err}") from err   # Vonage down, a timeout
