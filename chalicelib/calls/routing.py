"""The account's `routing` section: how an inbound call is handled, and the plan for one call.

The plan is decided once, at answer time, and stored with the call: the NCCOs that
follow (IVR choice, voicemail, post-call tagging) and the final-status reducer read
the plan, never the account again, so a configuration change mid-call changes nothing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.settings import Settings

# The `language` codes Vonage's text-to-speech (`talk`) accepts, as its SDKs list them.
TTS_LANGUAGES = (
    "af-ZA", "ar", "bg-BG", "bn-IN", "ca-ES", "cmn-CN", "cmn-TW", "cs-CZ", "cy-GB",
    "da-DK", "de-AT", "de-DE", "el-GR", "en-AU", "en-GB", "en-GB-SCT", "en-GB-WLS",
    "en-IE", "en-IN", "en-NZ", "en-US", "en-ZA", "es-CO", "es-ES", "es-MX", "es-US",
    "eu-ES", "fi-FI", "fil-PH", "fr-CA", "fr-FR", "gl-ES", "gu-IN", "he-IL", "hi-IN",
    "hu-HU", "id-ID", "is-IS", "it-IT", "ja-JP", "kn-IN", "ko-KR", "lt-LT", "lv-LV",
    "ml-IN", "mr-IN", "ms-MY", "nb-NO", "nl-BE", "nl-NL", "no-NO", "pa-IN", "pl-PL",
    "pt-BR", "pt-PT", "ro-RO", "ru-RU", "sk-SK", "sr-RS", "sv-SE", "ta-IN", "te-IN",
    "th-TH", "tr-TR", "uk-UA", "vi-VN", "yue-CN",
)
E164 = {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"}
SAY = {"type": "string", "minLength": 1, "maxLength": 1500}

ROUTING_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "destination": E164,
        "language": {"enum": list(TTS_LANGUAGES)},
        "greeting": {"type": ["string", "null"], "minLength": 1, "maxLength": 1500},
        "ring_seconds": {"type": "integer", "minimum": 5, "maximum": 120},
        "whisper": {"type": "boolean"},
        "record": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"}, "consent": {"type": ["string", "null"], "maxLength": 1500},
                # Vonage's transcription of the recording (paid per minute; docs/intelligence.md):
                # the record action then records the two sides apart and asks for a transcript.
                "transcription": {
                    "type": ["object", "null"], "additionalProperties": False,
                    "properties": {"language": {"type": "string", "pattern": "^[a-z]{2,3}-[A-Z]{2}$"},
                                   "sentiment": {"type": "boolean"}},
                },
            },
        },
        "ivr": {
            "type": ["object", "null"], "additionalProperties": False, "required": ["prompt", "options"],
            "properties": {
                "prompt": SAY,
                "timeout_seconds": {"type": "integer", "minimum": 1, "maximum": 10},
                "options": {
                    "type": "object", "minProperties": 1, "maxProperties": 10,
                    "propertyNames": {"pattern": "^[0-9]$"},
                    "additionalProperties": {
                        "type": "object", "additionalProperties": False, "required": ["department"],
                        "properties": {"department": {"type": "string", "minLength": 1, "maxLength": 40},
                                       "destination": E164},
                    },
                },
            },
        },
        "voicemail": {
            "type": "object", "additionalProperties": False,
            "properties": {"enabled": {"type": "boolean"}, "prompt": SAY,
                           "max_seconds": {"type": "integer", "minimum": 3, "maximum": 300}},
        },
        "out_of_hours": {
            "type": "object", "additionalProperties": False,
            "properties": {"action": {"enum": ["voicemail", "message", "connect"]}, "message": SAY,
                           "destination": E164},
        },
        "callback": {
            "type": "object", "additionalProperties": False,
            "properties": {"retries": {"type": "integer", "minimum": 0, "maximum": 5},
                           "ring_seconds": {"type": "integer", "minimum": 5, "maximum": 120},
                           "agent_prompt": SAY},
        },
        "tagging": {
            "type": "object", "additionalProperties": False,
            "properties": {"enabled": {"type": "boolean"}, "timeout_seconds": {"type": "integer", "minimum": 1,
                                                                               "maximum": 10}},
        },
    },
}

DEFAULTS: Dict[str, Any] = {
    "language": "en-US", "greeting": None, "ring_seconds": 25, "whisper": False,
    "record": {"enabled": False, "consent": None}, "ivr": None,
    "voicemail": {"enabled": True, "prompt": "Sorry, nobody can take your call right now. "
                                              "Please leave a message after the tone.", "max_seconds": 120},
    "out_of_hours": {"action": "voicemail",
                     "message": "We are closed now. Please call again during our opening hours."},
    "callback": {"retries": 2, "ring_seconds": 25,
                 "agent_prompt": "Callback request from a website visitor. Connecting you now."},
    "tagging": {"enabled": False, "timeout_seconds": 5},
}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def routing_of(config: Mapping[str, Any]) -> Dict[str, Any]:
    """The account's routing with every default filled in (nested sections merged)."""
    from chalicelib.sections import with_defaults

    raw = config.get("routing") or {}
    merged = with_defaults(raw, DEFAULTS)
    merged["destination"] = raw.get("destination")
    return merged


def within_working_hours(settings: Settings, at: float) -> bool:
    """Whether `at` falls in the account's working hours, in the account's timezone."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = datetime.fromtimestamp(at, tz=zone)
    hours = (settings.working_hours or {}).get(DAYS[local.weekday()])
    if not hours:
        return False
    now = local.strftime("%H:%M")
    return hours[0] <= now < hours[1]


def plan(routing: Mapping[str, Any], in_hours: bool) -> Dict[str, Any]:
    """What happens to this call: a small JSON document stored with it."""
    out_of_hours = routing["out_of_hours"]
    action = "connect" if in_hours else out_of_hours["action"]
    destination = routing.get("destination")
    if not in_hours and action == "connect":
        destination = out_of_hours.get("destination") or destination
    if action == "connect" and not destination:
        action = "voicemail" if routing["voicemail"]["enabled"] else "message"
    ivr = routing.get("ivr") if action == "connect" else None
    return {
        "action": action,                       # connect | voicemail | message
        "language": routing["language"],
        "greeting": routing.get("greeting"),
        "message": out_of_hours.get("message") if action == "message" else None,
        "ivr": ivr,
        "destination": destination,
        "ring_seconds": routing["ring_seconds"],
        "whisper": bool(routing["whisper"]),
        "record": bool(routing["record"]["enabled"]) and action == "connect",
        "consent": routing["record"].get("consent"),
        "transcription": routing["record"].get("transcription"),
        "voicemail": routing["voicemail"] if (routing["voicemail"]["enabled"] or action == "voicemail") else None,
        "tagging": bool(routing["tagging"]["enabled"]),
        "tagging_timeout": routing["tagging"]["timeout_seconds"],
        "steps": True,                          # our NCCOs report their steps with `notify` (calls/state.py)
    }


def department_of(plan_doc: Mapping[str, Any], digits: Optional[str]) -> Optional[Dict[str, Any]]:
    """The IVR option chosen by `digits` (its department and destination), or None."""
    ivr = plan_doc.get("ivr") or {}
    option = (ivr.get("options") or {}).get((digits or "")[:1])
    if not option:
        return None
    return {"department": option["department"], "destination": option.get("destination") or plan_doc["destination"]}
