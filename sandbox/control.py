"""The control API under /_sandbox/: not part of ClickSend; drives the sandbox from tests and demos.

Every route takes and returns JSON and needs no credentials. The README's
Sandbox section lists them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.accounts import DEFAULT_USERNAME, FICTIONAL_AU_NUMBERS, fictional_numbers
from sandbox.api import SERVER_KEY, inbound_json, read_json, receipt_json
from sandbox.models import GATEWAY_ERRORS, RECEIPT_STATUS, Responder, record_to_dict
from sandbox.pushes import PushTargetError, check_push_url, redact_url
from sandbox.validation import RequestError

if TYPE_CHECKING:
    from sandbox.server import SandboxServer

RESPONDER_KINDS = ("echo", "text", "stop", "fail")


def _ok(data: Any) -> web.Response:
    return web.json_response(data)


def _number(payload: dict[str, Any], name: str, *, minimum: float = 0.0) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise RequestError({name: f"The {name} must be a number of at least {minimum}, got {value!r}."})
    return float(value)


async def _object_body(request: web.Request) -> dict[str, Any]:
    payload = await read_json(request, required=False)
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise RequestError({"body": "The request body must be a JSON object."})
    return payload


async def dump_state(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    data = server.state.to_dict()
    # The dump is for reading, so API keys and webhook paths (often a secret token) stay out of it.
    for account in data["accounts"].values():
        del account["api_key"]
    for push in data["pushes"]:
        push["url"] = redact_url(push["url"])
    for name in ("receipt_url", "inbound_url"):
        if data["settings"][name]:
            data["settings"][name] = redact_url(data["settings"][name])
    return _ok(data)


async def reset(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    server.state.reset()
    return _ok({"reset": True})


async def advance_clock(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    payload = await _object_body(request)
    seconds = _number(payload, "seconds")
    if seconds is None:
        raise RequestError({"seconds": "The seconds field is required, e.g. {\"seconds\": 5}."})
    now = await server.advance(seconds)
    return _ok({"now": now})


async def run_clock(request: web.Request) -> web.Response:
    """Advance event by event until nothing is pending (within max_seconds, default one day)."""
    server = request.app[SERVER_KEY]
    payload = await _object_body(request)
    max_seconds = _number(payload, "max_seconds")
    now = await server.run_until_idle(max_seconds=86400.0 if max_seconds is None else max_seconds)
    return _ok({"now": now})


async def inject_inbound(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    payload = await _object_body(request)
    fields = {}
    for name in ("from", "body"):
        if not isinstance(payload.get(name), str) or not payload[name]:
            fields[name] = f"The {name} field is required and must be a string."
    for name in ("to", "original_message_id", "message_id"):
        if payload.get(name) is not None and not isinstance(payload[name], str):
            fields[name] = f"The {name} field must be a string."
    copies = payload.get("copies", 1)
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= 10:
        fields["copies"] = f"The copies field must be a whole number from 1 to 10, got {copies!r}."
    username = _username(server, payload, fields)
    if fields:
        raise RequestError(fields)
    inbound = server.state.add_inbound(
        username,
        from_=payload["from"],
        body=payload["body"],
        to=payload.get("to"),
        original_message_id=payload.get("original_message_id"),
        message_id=payload.get("message_id"),
        copies=copies,
    )
    await server.pusher.run_due()
    return _ok(inbound_json(inbound))


def _username(server: SandboxServer, payload: dict[str, Any], fields: dict[str, str]) -> str:
    username = payload.get("username", DEFAULT_USERNAME)
    if username not in server.state.accounts:
        fields["username"] = f"No sandbox account named {username!r}."
    return username


async def inject_receipt(request: web.Request) -> web.Response:
    """Store a delivery receipt for any message id, known or not, and push it to the receipt URL."""
    server = request.app[SERVER_KEY]
    payload = await _object_body(request)
    fields: dict[str, str] = {}
    message_id = payload.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        fields["message_id"] = "The message_id field is required and must be a string."
    status_code = payload.get("status_code", "201")
    if status_code not in RECEIPT_STATUS:
        fields["status_code"] = f"The status_code must be one of {', '.join(RECEIPT_STATUS)}, got {status_code!r}."
    custom_string = payload.get("custom_string")
    if custom_string is not None and not isinstance(custom_string, str):
        fields["custom_string"] = "The custom_string field must be a string."
    username = _username(server, payload, fields)
    if fields:
        raise RequestError(fields)
    receipt = server.state.add_receipt(
        username, message_id=message_id, status_code=status_code, custom_string=custom_string
    )
    await server.pusher.run_due()
    return _ok(receipt_json(receipt))


async def seed_history(request: web.Request) -> web.Response:
    """Add delivered history rows without HTTP sends: count, spacing (seconds), numbers (distinct recipients)."""
    server = request.app[SERVER_KEY]
    payload = await _object_body(request)
    fields: dict[str, str] = {}
    count = _whole_number(payload, "count", fields, default=None, maximum=1_000_000)
    recipients = _whole_number(payload, "numbers", fields, default=len(FICTIONAL_AU_NUMBERS), maximum=80_000)
    spacing = _number(payload, "spacing")
    username = _username(server, payload, fields)
    if fields:
        raise RequestError(fields)
    ids = server.state.seed_history(
        username, count, spacing=1.0 if spacing is None else spacing, numbers=fictional_numbers(recipients)
    )
    messages = server.state.messages
    return _ok({
        "count": len(ids),
        "first_date": messages[ids[0]].date if ids else None,
        "last_date": messages[ids[-1]].date if ids else None,
    })


def _whole_number(payload: dict[str, Any], name: str, fields: dict[str, str], *,
                  default: int | None, maximum: int) -> int:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        fields[name] = f"The {name} field must be a whole number from 1 to {maximum}, got {value!r}."
        return 0
    return value


async def list_responders(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    return _ok([record_to_dict(r) for r in server.state.responders.values()])


async def put_responder(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    number = request.match_info["number"]
    payload = await _object_body(request)
    responder = build_responder(number, payload)
    server.state.responders[number] = responder
    server.state.dirty = True
    return _ok(record_to_dict(responder))


def build_responder(number: str, payload: dict[str, Any]) -> Responder:
    kind = payload.get("kind")
    if kind not in RESPONDER_KINDS:
        raise RequestError({"kind": f"The kind must be one of {', '.join(RESPONDER_KINDS)}, got {kind!r}."})
    text = payload.get("text", "")
    if kind == "text" and (not isinstance(text, str) or not text):
        raise RequestError({"text": "A text responder needs the reply text in text."})
    error_code = payload.get("error_code", 8)
    if kind == "fail" and error_code not in GATEWAY_ERRORS:
        raise RequestError(
            {"error_code": f"The error_code must be a gateway error code 7 to 20, got {error_code!r}."}
        )
    delay = _number(payload, "delay")
    return Responder(
        number=number, kind=kind, text=text, delay=5.0 if delay is None else delay, error_code=error_code
    )


async def delete_responder(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    removed = server.state.responders.pop(request.match_info["number"], None)
    server.state.dirty = True
    return _ok({"removed": removed is not None})


async def put_faults(request: web.Request) -> web.Response:
    """Set faults: latency, error_rate, error_status, burst_429, retry_after, drop_after_send, rate_limit."""
    server = request.app[SERVER_KEY]
    payload = await _object_body(request)
    faults = server.state.faults
    unknown = set(payload) - set(faults)
    if unknown:
        raise RequestError({name: f"Unknown fault {name!r}; known: {', '.join(sorted(faults))}." for name in unknown})
    if "latency" in payload:
        latency = payload["latency"]
        if not isinstance(latency, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in latency.values()
        ):
            raise RequestError({"latency": 'The latency must map paths to seconds, e.g. {"/v3/sms/send": 5}.'})
        faults["latency"] = dict(latency)
    rate = _number(payload, "error_rate")
    if rate is not None:
        if rate > 1:
            raise RequestError({"error_rate": f"The error_rate must be between 0 and 1, got {rate}."})
        faults["error_rate"] = rate
    for name in ("error_status", "burst_429", "retry_after", "drop_after_send", "rate_limit"):
        value = payload.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise RequestError({name: f"The {name} must be a whole number of at least 0, got {value!r}."})
            faults[name] = value
    return _ok(faults)


async def put_settings(request: web.Request) -> web.Response:
    """Set push URLs and format, receipt_before_response, history_string_types, delivery timings, message ids."""
    server = request.app[SERVER_KEY]
    state = server.state
    payload = await _object_body(request)
    for name in ("receipt_url", "inbound_url"):
        if name in payload:
            url = payload[name]
            if url is not None:
                try:
                    check_push_url(str(url))
                except PushTargetError as exc:
                    raise RequestError({name: str(exc)}) from None
            setattr(state, name, url)
    if "inbound_webhook_type" in payload:
        if payload["inbound_webhook_type"] not in ("post", "get", "json"):
            raise RequestError({"inbound_webhook_type": "The inbound_webhook_type must be post, get or json."})
        state.inbound_webhook_type = payload["inbound_webhook_type"]
    for name in ("receipt_before_response", "history_string_types", "intermediate_receipts"):
        if name in payload:
            setattr(state, name, bool(payload[name]))
    for name in ("queue_seconds", "delivery_seconds"):
        value = _number(payload, name)
        if value is not None:
            setattr(state, name, value)
    if "next_message_ids" in payload:
        ids = payload["next_message_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise RequestError({"next_message_ids": "The next_message_ids must be a list of strings."})
        state.next_message_ids.extend(ids)
    state.dirty = True
    return _ok(
        {
            "receipt_url": state.receipt_url,
            "inbound_url": state.inbound_url,
            "inbound_webhook_type": state.inbound_webhook_type,
            "receipt_before_response": state.receipt_before_response,
            "history_string_types": state.history_string_types,
            "intermediate_receipts": state.intermediate_receipts,
            "queue_seconds": state.queue_seconds,
            "delivery_seconds": state.delivery_seconds,
            "next_message_ids": list(state.next_message_ids),
        }
    )


async def put_account(request: web.Request) -> web.Response:
    """Change an account's balance, enabled countries, approved senders or prices."""
    server = request.app[SERVER_KEY]
    username = request.match_info["username"]
    account = server.state.accounts.get(username)
    if account is None:
        raise RequestError({"username": f"No sandbox account named {username!r}."})
    payload = await _object_body(request)
    if "balance" in payload:
        account.balance = _decimal(payload["balance"], "balance")
    if "enabled_countries" in payload:
        account.enabled_countries = frozenset(c.upper() for c in _strings(payload["enabled_countries"], "enabled_countries"))
    if "approved_senders" in payload:
        senders = payload["approved_senders"]
        account.approved_senders = None if senders is None else frozenset(_strings(senders, "approved_senders"))
    if "prices" in payload:
        prices = payload["prices"]
        if not isinstance(prices, dict):
            raise RequestError({"prices": 'The prices must map country codes to a price per part, e.g. {"AU": "0.0792"}.'})
        account.prices = {str(c).upper(): _decimal(rate, f"prices.{c}") for c, rate in prices.items()}
    server.state.dirty = True
    data = account.to_dict()
    data.pop("api_key")
    return _ok(data)


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RequestError({name: f"The {name} must be a decimal amount such as \"10.50\", got {value!r}."})
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise RequestError({name: f"The {name} must be a decimal amount such as \"10.50\", got {value!r}."}) from None


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RequestError({name: f"The {name} must be a list of strings, got {value!r}."})
    return value


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_sandbox/state", dump_state)
    app.router.add_post("/_sandbox/reset", reset)
    app.router.add_post("/_sandbox/clock/advance", advance_clock)
    app.router.add_post("/_sandbox/clock/run", run_clock)
    app.router.add_post("/_sandbox/inbound", inject_inbound)
    app.router.add_post("/_sandbox/receipts", inject_receipt)
    app.router.add_post("/_sandbox/history/seed", seed_history)
    app.router.add_get("/_sandbox/responders", list_responders)
    app.router.add_put("/_sandbox/responders/{number}", put_responder)
    app.router.add_delete("/_sandbox/responders/{number}", delete_responder)
    app.router.add_put("/_sandbox/faults", put_faults)
    app.router.add_put("/_sandbox/settings", put_settings)
    app.router.add_put("/_sandbox/accounts/{username}", put_account)
