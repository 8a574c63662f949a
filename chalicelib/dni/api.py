"""Routes of the snippet's public API: lease a number, keep it with heartbeats."""
from __future__ import annotations

from chalice import Blueprint, CORSConfig

from chalicelib import web
from chalicelib.dni import schemas
from chalicelib.lazy import lazy

sessions = lazy("chalicelib.dni.sessions")

bp = Blueprint(__name__)
# Any allowed site calls these from the browser; the account's domain list, not CORS,
# decides who gets a lease. No credentials travel, so "*" is safe.
PUBLIC_CORS = CORSConfig(allow_origin="*", max_age=86400)


@bp.route("/v1/sessions", methods=["POST"], cors=PUBLIC_CORS, content_types=web.PUBLIC_CONTENT_TYPES)
def create_session() -> dict:
    request = bp.current_request
    body = web.json_body(request, schemas.SESSION_REQUEST)
    lease = sessions.start(sessions.SessionRequest(
        account=body["account"], url=body["url"], referrer=body.get("referrer"),
        ga_client_id=body.get("ga_client_id"), ga_session_id=body.get("ga_session_id"),
        session_id=body.get("session_id"), country=body.get("country"),
        header_country=web.header(request, "cloudfront-viewer-country"), ip=web.client_ip(request),
        user_agent=web.header(request, "user-agent") or "", origin=web.header(request, "origin"),
    ))
    return lease.as_response()


@bp.route("/v1/sessions/{session_id}/heartbeat", methods=["POST"], cors=PUBLIC_CORS,
          content_types=web.PUBLIC_CONTENT_TYPES)
def session_heartbeat(session_id: str) -> dict:
    body = web.json_body(bp.current_request, schemas.HEARTBEAT_REQUEST, allow_empty=True)
    return sessions.heartbeat(session_id, body.get("url"), ga_session_id=body.get("ga_session_id"))
