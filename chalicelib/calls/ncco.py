"""NCCO building: pure functions from a call's plan to Vonage Call Control Objects.

Shapes follow Vonage's NCCO reference: `talk`, `input` (DTMF), `record`, `connect`
(one phone endpoint, `from` without '+', `timeout`, `eventType: synchronous` so the
connect's final status comes back to us and our answer can continue with voicemail).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlencode

from chalicelib.geo.phone import digits

Ncco = List[Dict[str, Any]]
# Vonage's advanced machine detection: it sends a `machine` or `human` event for the leg;
# `hangup` ends a leg a machine answered (a callback is never bridged to a voicemail box).
MACHINE_DETECTION_CONTINUE = {"behavior": "continue", "mode": "detect"}
MACHINE_DETECTION_HANGUP = {"behavior": "hangup", "mode": "detect"}
UNKNOWN_NUMBER_TEXT = "Sorry, this number is not in service."
IVR_NO_INPUT_TEXT = "Sorry, we did not receive your choice. Goodbye."
TAG_CATEGORY_TEXT = "Call ended. Enter the category code, then press hash."
TAG_VALUE_TEXT = "Enter the value, then press hash."
TAG_DONE_TEXT = "Thank you. The call is tagged."


@dataclass(frozen=True)
class Links:
    """Absolute URLs of our `/vonage/...` webhooks (Vonage needs absolute URLs)."""
    base: str

    def url(self, path: str, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base.rstrip('/')}{path}" + (f"?{query}" if query else "")


def talk(text: str, language: str, barge_in: bool = False) -> Dict[str, Any]:
    action: Dict[str, Any] = {"action": "talk", "text": text[:1500], "language": language}
    if barge_in:
        action["bargeIn"] = True
    return action


def dtmf_input(event_url: str, max_digits: int, timeout: int, submit_on_hash: bool = False) -> Dict[str, Any]:
    dtmf: Dict[str, Any] = {"maxDigits": max_digits, "timeOut": timeout}
    if submit_on_hash:
        dtmf["submitOnHash"] = True
    return {"action": "input", "type": ["dtmf"], "dtmf": dtmf, "eventUrl": [event_url]}


def unknown_number() -> Ncco:
    """A valid NCCO for a number we do not track: Vonage plays it and hangs up."""
    return [talk(UNKNOWN_NUMBER_TEXT, "en-US")]


def answer(plan: Mapping[str, Any], links: Links, call_id: str, tracking_number: str,
           source: Optional[str], checked: bool = False) -> Ncco:
    """The NCCO for a new inbound call, as the plan decided. A blocked caller hears the
    account's blocked NCCO; on a number under attack the caller first presses a key
    (`checked`: they did, the rest of the plan runs; calls/spam.py)."""
    lang = plan["language"]
    if plan["action"] == "blocked":
        return [dict(a) for a in plan.get("blocked_ncco") or ()] or [talk(UNKNOWN_NUMBER_TEXT, lang)]
    challenge = plan.get("challenge")
    if challenge and not checked:
        return [talk(challenge["prompt"], lang, barge_in=True),
                dtmf_input(links.url("/vonage/challenge", call=call_id), 1, challenge.get("timeout_seconds", 5))]
    actions: Ncco = []
    if plan.get("greeting"):
        actions.append(talk(plan["greeting"], lang))
    if plan["action"] == "message":
        return actions + [talk(plan["message"], lang)]
    if plan["action"] == "voicemail":
        return actions + voicemail(plan, links, call_id)
    ivr = plan.get("ivr")
    if ivr:
        actions.append(talk(ivr["prompt"], lang, barge_in=True))
        actions.append(dtmf_input(links.url("/vonage/ivr", call=call_id), 1, ivr.get("timeout_seconds", 5)))
        return actions
    return actions + connect(plan, links, call_id, tracking_number, plan["destination"], source)


def record_call(plan: Mapping[str, Any], links: Links, call_id: str) -> Dict[str, Any]:
    """The call's `record` action. With transcription, the two sides are recorded apart
    (`split: conversation`: the caller in the first channel, what they hear in the second)
    so the transcript tells caller and agent apart, and Vonage announces the transcript at
    our transcription URL."""
    action: Dict[str, Any] = {"action": "record", "eventUrl": [links.url("/vonage/recording", call=call_id, kind="call")]}
    transcription = plan.get("transcription")
    if isinstance(transcription, Mapping):
        action.update(split="conversation", channels=2, transcription={
            "language": transcription.get("language") or "en-US",
            "eventUrl": [links.url("/vonage/transcription", call=call_id)], "eventMethod": "POST",
            "sentimentAnalysis": bool(transcription.get("sentiment")),
        })
    return action


def connect(plan: Mapping[str, Any], links: Links, call_id: str, tracking_number: str, destination: str,
            source: Optional[str], department: Optional[str] = None) -> Ncco:
    """Record (optionally, after a consent notice) and ring the destination."""
    actions: Ncco = []
    if plan.get("record"):
        if plan.get("consent"):
            actions.append(talk(plan["consent"], plan["language"]))
        actions.append(record_call(plan, links, call_id))
    endpoint: Dict[str, Any] = {"type": "phone", "number": digits(destination)}
    if plan.get("whisper"):
        endpoint["onAnswer"] = {"url": links.url("/vonage/whisper", source=source or "direct",
                                                 department=department, lang=plan["language"],
                                                 call=call_id if plan.get("steps") else None)}
    action: Dict[str, Any] = {
        "action": "connect", "from": digits(tracking_number), "timeout": plan["ring_seconds"],
        "eventType": "synchronous", "eventUrl": [links.url("/vonage/events", call=call_id, leg="agent")],
        "endpoint": [endpoint],
    }
    if plan.get("steps"):
        # The business's own voicemail answering is no answer (calls/state.py); the caller stays
        # connected to it and can leave a message there, as without call tracking.
        action["advancedMachineDetection"] = dict(MACHINE_DETECTION_CONTINUE)
    actions.append(action)
    return actions


def degraded_connect(links: Links, call_id: str, tracking_number: str, caller: Optional[str], destination: str,
                     ring_seconds: int, at: float) -> Dict[str, Any]:
    """The connect of a call answered without the database (calls/outage.py): straight to the
    business line; its event URL carries what recording the call later needs."""
    return {
        "action": "connect", "from": digits(tracking_number), "timeout": ring_seconds, "eventType": "synchronous",
        "eventUrl": [links.url("/vonage/events", call=call_id, leg="agent", degraded=1, tracking=digits(tracking_number),
                               caller=digits(caller) if caller else None, at=f"{at:.3f}")],
        "endpoint": [{"type": "phone", "number": digits(destination)}],
    }


def voicemail(plan: Mapping[str, Any], links: Links, call_id: str) -> Ncco:
    box = plan.get("voicemail") or {}
    if not box:
        return []
    actions: Ncco = [talk(box.get("prompt") or "Please leave a message after the tone.", plan["language"])]
    if plan.get("steps"):
        actions.append(notify(links, call_id, "voicemail"))
    actions.append({"action": "record", "beepStart": True, "endOnSilence": 3, "timeOut": box.get("max_seconds", 120),
                    "eventUrl": [links.url("/vonage/recording", call=call_id, kind="voicemail")]})
    return actions


def notify(links: Links, call_id: str, step: str) -> Dict[str, Any]:
    """Vonage POSTs `payload` to `eventUrl` when the NCCO reaches this point and goes on
    (our answer is empty: an NCCO in it would replace the rest)."""
    return {"action": "notify", "payload": {"step": step},
            "eventUrl": [links.url("/vonage/notify", call=call_id, step=step)]}


def ivr_no_input(plan: Mapping[str, Any]) -> Ncco:
    return [talk(IVR_NO_INPUT_TEXT, plan["language"])]


def whisper_text(source: str, department: Optional[str]) -> str:
    return f"Call from {source}" + (f", for {department}" if department else "") + "."


def whisper(source: str, department: Optional[str], language: str, links: Optional[Links] = None,
            call_id: Optional[str] = None) -> Ncco:
    """Said to the agent before the caller is joined; then (with the call's id) a `notify`
    marks the moment the two are joined, where talk time starts."""
    actions = [talk(whisper_text(source, department), language)]
    if links is not None and call_id:
        actions.append(notify(links, call_id, "bridged"))
    return actions


def tag_category(links: Links, call_id: str, language: str, timeout: int) -> Ncco:
    return [talk(TAG_CATEGORY_TEXT, language),
            dtmf_input(links.url("/vonage/tagging", call=call_id, step="category"), 4, timeout, True)]


def tag_value(links: Links, call_id: str, language: str, timeout: int, category: str) -> Ncco:
    return [talk(TAG_VALUE_TEXT, language),
            dtmf_input(links.url("/vonage/tagging", call=call_id, step="value", category=category), 8, timeout, True)]


def tag_done(language: str) -> Ncco:
    return [talk(TAG_DONE_TEXT, language)]


def callback_agent(plan: Mapping[str, Any], links: Links, call_id: str, attempt: int, caller_id: str,
                   client: str, prompt: str) -> Ncco:
    """The NCCO run on the business's leg of a callback: announce, then ring the client."""
    return [talk(prompt, plan["language"]), {
        "action": "connect", "from": digits(caller_id), "timeout": plan["ring_seconds"],
        "eventUrl": [links.url("/vonage/events", call=call_id, leg="client", attempt=attempt)],
        "endpoint": [{"type": "phone", "number": digits(client)}],
        "advancedMachineDetection": dict(MACHINE_DETECTION_HANGUP),
    }]
