"""Vonage Voice API (vonage 4.x SDK), created lazily once per container.

`calls()` gives a `VonageCalls` adapter around the SDK's `voice` client; SDK errors are
translated to `VonageUnavailable` here so callers handle one exception. NCCOs are built
as plain dicts (`ncco.py`) and turned into the SDK's models at this edge.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from chalicelib import config
from chalicelib.errors import BadGateway

TIMEOUT_SECONDS = 5


class VonageUnavailable(BadGateway):
    """Vonage refused or could not be reached."""
    code = "vonage_unavailable"


def sdk_ncco(actions: List[Dict[str, Any]]) -> List[Any]:
    """Our dict NCCO as the SDK's pydantic actions (its `Connect` wants `from_`)."""
    from vonage_voice.models.ncco import Connect, Input, Notify, Record, Talk

    kinds = {"talk": Talk, "input": Input, "record": Record, "connect": Connect, "notify": Notify}
    out = []
    for action in actions:
        data = {("from_" if k == "from" else k): v for k, v in action.items()}
        out.append(kinds[action["action"]].model_validate(data))
    return out


class VonageCalls:
    """The outbound operations calls need: create a call, read a leg, transfer a leg to an NCCO."""

    def __init__(self, vonage: Any) -> None:
        self.vonage = vonage

    def create(self, to: str, from_: str, ncco: List[Dict[str, Any]], event_url: str,
               ringing_timer: Optional[int] = None,
               machine_detection: Optional[Dict[str, Any]] = None) -> Tuple[str, str]:
        """Dial `to` (digits) from `from_` (digits); returns (uuid, conversation_uuid).
        `ringing_timer`: seconds Vonage rings before giving up (its default is 60);
        `machine_detection`: Vonage's `advanced_machine_detection` for the dialled leg."""
        from vonage_voice import CreateCallRequest

        options: Dict[str, Any] = {}
        if ringing_timer is not None:
            options["ringing_timer"] = ringing_timer
        if machine_detection:
            options["advanced_machine_detection"] = machine_detection
        request = CreateCallRequest(to=[{"type": "phone", "number": to}], from_={"type": "phone", "number": from_},
                                    ncco=sdk_ncco(ncco), event_url=[event_url], event_method="POST", **options)
        try:
            response = self.vonage.voice.create_call(request)
        except Exception as err:  # the SDK raises its own tree and requests' errors
            raise VonageUnavailable(f"create call failed: {err}") from err
        return response.uuid, response.conversation_uuid

    def get(self, uuid: str) -> Dict[str, Any]:
        """One leg as Vonage knows it now (GET /v1/calls/{uuid}): status, direction, duration,
        start_time, end_time, to (the number), uuid, conversation_uuid; {} for a leg Vonage
        does not know."""
        from vonage_http_client.errors import NotFoundError

        try:
            info = self.vonage.voice.get_call(uuid)
        except NotFoundError:
            return {}
        except Exception as err:
            raise VonageUnavailable(f"get call {uuid} failed: {err}") from err
        out = info.model_dump(exclude_none=True)
        out.pop("from_", None)
        out["to"] = getattr(info.to, "number", None)
        return out

    def transfer(self, uuid: str, ncco: List[Dict[str, Any]]) -> None:
        try:
            self.vonage.voice.transfer_call_ncco(uuid, sdk_ncco(ncco))
        except Exception as err:
            raise VonageUnavailable(f"transfer of {uuid} failed: {err}") from err


@lru_cache(maxsize=1)
def vonage() -> Any:
    from vonage import Auth, HttpClientOptions, Vonage

    auth = Auth(application_id=config.required(config.VONAGE_APPLICATION_ID), private_key=config.vonage_private_key())
    return Vonage(auth, HttpClientOptions(api_host=config.vonage_api_host(), timeout=TIMEOUT_SECONDS))


def calls() -> VonageCalls:
    try:
        return VonageCalls(vonage())
    except config.MissingSetting as err:
        raise VonageUnavailable(str(err)) from err


def reset() -> None:
    """Forget the cached client (tests change the settings between cases)."""
    vonage.cache_clear()
