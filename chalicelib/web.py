"""The HTTP edge shared by every route: JSON bodies validated by JSON Schema, and one
place where domain errors become `{"error", "message"}` answers."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Mapping, Optional

if TYPE_CHECKING:  # jsonschema is imported on the first validation, not at cold start
    from jsonschema import Draft202012Validator

from chalice import Response
from chalice.app import Request

from chalicelib import config
from chalicelib.errors import BadRequest, CalltrackError, InvalidJson, PayloadTooLarge, ValidationFailed
from chalicelib.observability import logger

MAX_BODY_BYTES = 16 * 1024


def json_headers() -> Dict[str, str]:
    """Fresh headers for a JSON answer. Never share one dict between answers: Chalice and
    our middleware add headers (CORS) to a response's dict in place."""
    return {"Content-Type": "application/json"}


def error_response(status: int, code: str, message: str) -> Response:
    return Response(body={"error": code, "message": message}, status_code=status, headers=json_headers())


# Routes browsers call from customers' sites. Chalice adds CORS headers only to answers a
# view returns, so errors on these paths get them here — otherwise the snippet could not
# read a 410 and lease again.
BROWSER_PATHS = ("/v1/sessions", "/v1/callbacks")


_CHALICE_CODES = {"MethodNotAllowedError": "method_not_allowed", "UnsupportedMediaType": "unsupported_media_type",
                  "NotFoundError": "not_found", "BadRequestError": "bad_request"}


def _contract_shaped(response: Response) -> Response:
    """Answers Chalice writes itself ({Code, Message}: a wrong method, a content type no
    route takes, an unexpected exception) in the contract's {error, message} shape."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or "Code" not in body:
        return response
    if response.status_code >= 500:
        # An unexpected exception (e.g. DynamoDB unreachable), already logged by Chalice.
        return error_response(503, "unavailable", "the service could not complete the request; retry shortly")
    shaped = error_response(response.status_code, _CHALICE_CODES.get(body["Code"], "bad_request"),
                            str(body.get("Message", "")))
    shaped.headers.update({k: v for k, v in response.headers.items() if k.lower() != "content-type"})
    return shaped


def error_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice HTTP middleware: map the domain's exception tree to HTTP answers."""
    try:
        response = _contract_shaped(get_response(event))
    except CalltrackError as err:
        if err.status >= 500:
            logger.exception("request failed", extra={"code": err.code})
        response = error_response(err.status, err.code, err.message)
    if response.status_code >= 400 and str(getattr(event, "path", "")).startswith(BROWSER_PATHS):
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


_validators: Dict[int, Draft202012Validator] = {}


def validate(document: Any, schema: Mapping[str, Any], what: str = "body") -> Any:
    """Raise ValidationFailed with the most relevant error, in words a person can act on."""
    validator = _validators.get(id(schema))
    if validator is None:
        validator = _validators[id(schema)] = _validator(schema)
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or what
        raise ValidationFailed(f"{where}: {_in_words(error)}")
    return document


def _in_words(error: Any) -> str:
    """jsonschema's message, except where it names no field: "one of these is required"
    alternatives (`anyOf` of `required`) say which fields are missing."""
    if error.validator == "anyOf" and all(set(alt) == {"required"} for alt in error.validator_value):
        names = [" and ".join(alt["required"]) for alt in error.validator_value]
        return f"missing {names[0]}" + "".join(f" (or {n})" for n in names[1:])
    return str(error.message)


def json_body(request: Request, schema: Optional[Mapping[str, Any]] = None, max_bytes: int = MAX_BODY_BYTES,
              allow_empty: bool = False) -> Any:
    """The request's JSON (any content type: browsers send text/plain to skip CORS
    preflight), size-checked and validated."""
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"body is {len(raw)} bytes; at most {max_bytes} are accepted")
    if not raw.strip():
        if allow_empty:
            document: Any = {}
        else:
            raise InvalidJson("a JSON body is required")
    else:
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidJson(f"body is not valid JSON: {err}") from err
    return validate(document, schema) if schema is not None else document


def refuse_unknown(params: Optional[Mapping[str, Any]], known: Iterable[str] = ()) -> None:
    """Rule of the API: a query parameter a route does not know is a 400 naming it (and what
    it was probably meant to be), never silently dropped: `?sourse=google` would otherwise
    report every source. `known` empty: the route takes none."""
    from difflib import get_close_matches

    allowed = sorted(set(known))
    unknown = sorted(set(params or {}) - set(allowed))
    if not unknown:
        return
    hints = [f"'{u}'" + (f" (did you mean '{m[0]}'?)" if (m := get_close_matches(u, allowed, 1)) else "")
             for u in unknown]
    raise BadRequest(f"unknown parameter(s): {', '.join(hints)}; "
                     + (f"known: {', '.join(allowed)}" if allowed else "this request takes none"))


def header(request: Request, name: str) -> Optional[str]:
    return (request.headers or {}).get(name.lower())


def client_ip(request: Request) -> Optional[str]:
    """The client's address for the per-IP lease limit. API Gateway's `sourceIp`, unless
    trusted proxies of ours sit in front (config.trusted_proxies): then the address the
    outermost of them saw, counted from the right of `X-Forwarded-For`. The header's first
    entry is whatever the client wrote, so trusting it would let anyone dodge the limit."""
    hops = config.trusted_proxies()
    forwarded = [h.strip() for h in (header(request, "x-forwarded-for") or "").split(",") if h.strip()]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops]
    identity = (request.context or {}).get("identity") or {}
    return identity.get("sourceIp")

# Browsers post text/plain (no CORS preflight); servers post JSON; be lenient on the rest
# and let the JSON parser decide.
PUBLIC_CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded",
                        "application/octet-stream"]
