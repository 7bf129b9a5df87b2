"""The 20 ClickSend v3 SMS operations, served from SandboxState."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox import wire
from sandbox.accounts import Account
from sandbox.history import export_columns, history_row, query_history
from sandbox.models import InboundMessage, OutboundMessage, Receipt, Template
from sandbox.pushes import PushTargetError, check_push_url
from sandbox.search import matches_all, parse_order, parse_q
from sandbox.state import NotFound, inbound_push_fields, keyword_of, new_message_id, receipt_push_fields
from sandbox.validation import RequestError, optional_int, parse_messages, require_string

if TYPE_CHECKING:
    from sandbox.server import SandboxServer

SERVER_KEY: web.AppKey[SandboxServer] = web.AppKey("sandbox_server", object)  # type: ignore[arg-type]
ACCOUNT_KEY: web.RequestKey[Account] = web.RequestKey("account", Account)


def server_of(request: web.Request) -> SandboxServer:
    return request.app[SERVER_KEY]


def account_of(request: web.Request) -> Account:
    return request[ACCOUNT_KEY]


async def read_json(request: web.Request, *, required: bool = True) -> Any:
    """Parse the JSON body; malformed JSON is a 400 naming the parse error, never a 500."""
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError({"body": f"The request body is not UTF-8 text: invalid byte at position {exc.start}."}) from None
    if not text.strip():
        if required:
            raise RequestError({"body": "The request body is empty; send a JSON object."})
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError({"body": f"The request body is not valid JSON: {exc.msg} at line "
                                    f"{exc.lineno} column {exc.colno}."}) from None


# ---- send and price ---------------------------------------------------------


def _send_message_json(result: dict[str, Any]) -> dict[str, Any]:
    if isinstance(result.get("message_price"), Decimal):
        result = {**result, "message_price": wire.price_string(result["message_price"])}
    return result


def _price_message_json(result: dict[str, Any]) -> dict[str, Any]:
    """Reshape a send result into the `sms` object of price responses.

    Price responses carry `date` and `schedule` as strings, "" because nothing
    was sent (ClickSend's description: "may be an empty string in
    price-calculation responses").
    """
    # contact_id is left out: the `sms` schema has it as a non-null string and
    # the sandbox has no contacts.
    keys = ("to", "body", "from", "message_id", "message_parts", "message_price",
            "custom_string", "is_shared_system_number", "country", "status")
    shaped: dict[str, Any] = {"date": "", "schedule": ""}
    for key in keys:
        if key in result:
            shaped[key] = result[key]
    if isinstance(shaped.get("message_price"), Decimal):
        shaped["message_price"] = wire.price_string(shaped["message_price"])
    return shaped


async def send_sms(request: web.Request) -> web.StreamResponse:
    server = server_of(request)
    account = account_of(request)
    payload = await read_json(request)
    messages = parse_messages(payload)

    data = server.state.send(account, messages, price_only=False)
    accepted_ids = [m["message_id"] for m in data["messages"] if m["status"] == "SUCCESS"]
    await server.after_send(accepted_ids)

    body = {
        "total_price": wire.price_number(data["total_price"]),
        "total_count": data["total_count"],
        "queued_count": data["queued_count"],
        "messages": [_send_message_json(m) for m in data["messages"]],
        "_currency": dict(wire.CURRENCY_AUD),
        "blocked_count": data["blocked_count"],
    }
    if server.take_drop_fault():
        # The outcome-unknown case: the send is recorded, then the connection
        # closes without a response, as after a network failure mid-response.
        server.drop_connection(request)
    return wire.envelope(body, "Messages queued for delivery.")


async def price_sms(request: web.Request) -> web.Response:
    server = server_of(request)
    account = account_of(request)
    payload = await read_json(request)
    messages = parse_messages(payload)

    data = server.state.send(account, messages, price_only=True)
    body: dict[str, Any] = {
        "total_price": wire.price_number(data["total_price"]),
        "total_count": data["total_count"],
        "queued_count": data["queued_count"],
        "messages": [_price_message_json(m) for m in data["messages"]],
        "_currency": dict(wire.CURRENCY_AUD),
        "blocked_count": data["blocked_count"],
    }
    if _wants_summary(payload):
        body["_summary"] = _price_summary(data["messages"])
    return wire.envelope(body, "Here is some pricing.")


def _wants_summary(payload: Any) -> bool:
    # The description puts show_summary inside each message; accept it at the top level too.
    if payload.get("show_summary") is True:
        return True
    return any(isinstance(m, dict) and m.get("show_summary") is True for m in payload["messages"])


def _price_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Build `_summary`, keyed by country as in ClickSend's example.

    The description's schema types `countries` as an array. Its example, the
    only sample of a real response, is an object keyed by ISO code, so the
    sandbox follows the example.
    """
    countries: dict[str, dict[str, Any]] = {}
    for result in results:
        country = result.get("country")
        if not country:
            continue
        entry = countries.setdefault(
            country,
            {"registration_type": 0, "recipient_count": 0, "usable_sender_id": True,
             "selected": True, "name": country},
        )
        entry["recipient_count"] += 1
    return {"test_message": "", "countries": countries}


# ---- receipts -----------------------------------------------------------------


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    """Return a receipt as ClickSend lists it.

    status_code is the string "201", as in every ClickSend example, although
    the description's schema types it as an integer.
    """
    return {
        "timestamp_send": receipt.timestamp_send,
        "timestamp": receipt.timestamp,
        "message_id": receipt.message_id,
        "status_code": receipt.status_code,
        "status_text": receipt.status_text,
        "error_code": receipt.error_code,
        "error_text": receipt.error_text,
        "custom_string": receipt.custom_string,
        "subaccount_id": receipt.subaccount_id,
        "message_type": "sms",
        "digits": None,
    }


async def list_receipts(request: web.Request) -> web.Response:
    server = server_of(request)
    page, limit = wire.read_paging(request)
    receipts = server.state.unread_receipts(account_of(request).username)
    data = wire.paginate(request, receipts, page, limit, receipt_json)
    return wire.envelope(data, "Here are your delivery receipts.")


async def get_receipt(request: web.Request) -> web.Response:
    server = server_of(request)
    receipt = server.state.get_receipt(account_of(request).username, request.match_info["message_id"])
    return wire.envelope(receipt_json(receipt), "Your receipt.")


async def create_test_receipt(request: web.Request) -> web.Response:
    server = server_of(request)
    account = account_of(request)
    payload = await read_json(request)
    url = require_string(payload, "url")
    now = server.clock.timestamp()
    receipt = Receipt(
        message_id=new_message_id(),
        username=account.username,
        timestamp_send=now,
        timestamp=now,
        status="Delivered",
        status_code="201",
        status_text="Success: Message received on handset.",
        error_code=None,
        error_text=None,
        # ClickSend: custom_string on the test receipt "is deprecated and will return null".
        custom_string=None,
        subaccount_id=account.subaccount_id,
        user_id=account.user_id,
    )
    if url == "poll":
        server.state.receipts.append(receipt)
        server.state.dirty = True
    else:
        _check_target(url)
        push = server.state.queue_push("receipt", url, "post", receipt_push_fields(receipt))
        await server.pusher.attempt(push)
    return wire.envelope(receipt_json(receipt), "Receipt has been added")


async def mark_receipts_read(request: web.Request) -> web.Response:
    server = server_of(request)
    date_before = optional_int(await read_json(request, required=False), "date_before")
    server.state.mark_receipts_read(account_of(request).username, date_before)
    # `data` is deprecated and null.
    return wire.envelope(None, "Receipts have been marked as read.")


# ---- inbound ------------------------------------------------------------------


def inbound_json(message: InboundMessage) -> dict[str, Any]:
    return {
        "timestamp": message.timestamp,
        "from": message.from_,
        "body": message.body,
        "original_body": message.original_body,
        "original_message_id": message.original_message_id,
        "to": message.to,
        "custom_string": message.custom_string,
        "message_id": message.message_id,
        "_keyword": keyword_of(message.body),
    }


async def list_inbound(request: web.Request) -> web.Response:
    server = server_of(request)
    page, limit = wire.read_paging(request)
    items = server.state.unread_inbound(account_of(request).username)
    return wire.envelope(wire.paginate(request, items, page, limit, inbound_json), "Here are your data.")


async def get_inbound(request: web.Request) -> web.Response:
    server = server_of(request)
    message = server.state.first_reply_to(
        account_of(request).username, request.match_info["original_message_id"]
    )
    return wire.envelope(inbound_json(message), "Here are your result.")


async def create_test_inbound(request: web.Request) -> web.Response:
    server = server_of(request)
    account = account_of(request)
    payload = await read_json(request)
    url = require_string(payload, "url")
    webhook_type = require_string(payload, "webhook_type", required=False) or "post"
    if webhook_type not in ("post", "get", "json"):
        raise RequestError({"webhook_type": f"The webhook_type must be post, get or json, got {webhook_type!r}."})
    _check_target(url)

    test = InboundMessage(
        message_id=new_message_id(),
        username=account.username,
        timestamp=server.clock.timestamp(),
        from_="+61411111111",
        to="+61422222222",
        body="This is a test inbound message.",
        original_body="This is a test outbound message.",
        original_message_id=new_message_id(),
        custom_string="",
    )
    push = server.state.queue_push("inbound", url, webhook_type, inbound_push_fields(test, account, webhook_type))
    await server.pusher.attempt(push)

    data = inbound_json(test)
    data["timestamp_send"] = data.pop("timestamp")
    return wire.envelope(data, "Test inbound message has been added.")


async def mark_inbound_read(request: web.Request) -> web.Response:
    server = server_of(request)
    date_before = optional_int(await read_json(request, required=False), "date_before")
    server.state.mark_inbound_read(account_of(request).username, date_before)
    return wire.envelope(None, "Inbound messages have been marked as read.")


async def mark_inbound_message_read(request: web.Request) -> web.Response:
    server = server_of(request)
    count = server.state.mark_inbound_message_read(
        account_of(request).username, request.match_info["message_id"]
    )
    # ClickSend's own wording for this inbound operation.
    return wire.envelope(count, "Receipt have been marked as read.")


# ---- cancel -------------------------------------------------------------------


async def cancel_sms(request: web.Request) -> web.Response:
    server = server_of(request)
    server.state.cancel(account_of(request).username, request.match_info["message_id"])
    return wire.envelope(None, "Scheduled sms message has been cancelled.")


async def cancel_all(request: web.Request) -> web.Response:
    server = server_of(request)
    payload = await read_json(request, required=False)
    custom_string = None
    if payload is not None:
        custom_string = require_string(payload, "custom_string", required=False)
    count = server.state.cancel_all(account_of(request).username, custom_string)
    return wire.envelope({"count": count}, f"{count} sms messages have been cancelled.")


# ---- templates ----------------------------------------------------------------


def template_json(template: Template) -> dict[str, Any]:
    return {
        "template_id": template.template_id,
        "body": template.body,
        "template_name": template.template_name,
    }


def _template_id(request: web.Request) -> int:
    raw = request.match_info["template_id"]
    try:
        return int(raw)
    except ValueError:
        raise NotFound("Template not found.") from None


async def list_templates(request: web.Request) -> web.Response:
    server = server_of(request)
    page, limit = wire.read_paging(request)
    templates = server.state.list_templates(account_of(request).username)

    # Searchable and sortable fields of ClickSend's template list; the default order is template_id:asc.
    filters = parse_q(request.query.get("q", ""), TEMPLATE_FIELDS)
    field, descending = parse_order(request.query.get("order_by", ""), TEMPLATE_FIELDS, default="template_id")
    items = [t for t in templates if matches_all(_template_values(t), filters)]
    items.sort(key=lambda t: t.template_id if field == "template_id" else _template_values(t)[field].lower(),
               reverse=descending)
    return wire.envelope(wire.paginate(request, items, page, limit, template_json), "Here are your templates.")


TEMPLATE_FIELDS = ("template_id", "template_name", "body")


def _template_values(template: Template) -> dict[str, str]:
    return {"template_id": str(template.template_id), "template_name": template.template_name, "body": template.body}


async def _read_template_body(request: web.Request) -> tuple[str, str]:
    payload = await read_json(request)
    name = require_string(payload, "template_name")
    body = require_string(payload, "body")
    fields = {}
    if not name.strip():
        fields["template_name"] = "The template_name must not be empty."
    if not body.strip():
        fields["body"] = "The body must not be empty."
    if fields:
        raise RequestError(fields)
    return name, body


async def create_template(request: web.Request) -> web.Response:
    server = server_of(request)
    name, body = await _read_template_body(request)
    template = server.state.create_template(account_of(request).username, name, body)
    return wire.envelope(template_json(template), "New template has been saved.")


async def get_template(request: web.Request) -> web.Response:
    server = server_of(request)
    template = server.state.get_template(account_of(request).username, _template_id(request))
    return wire.envelope(template_json(template), "Here is your template.")


async def update_template(request: web.Request) -> web.Response:
    server = server_of(request)
    template = server.state.get_template(account_of(request).username, _template_id(request))
    name, body = await _read_template_body(request)
    template.template_name = name
    template.body = body
    server.state.dirty = True
    return wire.envelope(template_json(template), "Your template has been updated.")


async def delete_template(request: web.Request) -> web.Response:
    server = server_of(request)
    server.state.delete_template(account_of(request).username, _template_id(request))
    return wire.envelope(None, "Your template has been deleted.")


# ---- history ------------------------------------------------------------------


async def view_history(request: web.Request) -> web.Response:
    server = server_of(request)
    account = account_of(request)
    page, limit = wire.read_paging(request)
    messages = query_history(server.state, account.username, request.query)
    string_types = server.state.history_string_types

    def row(message: OutboundMessage) -> dict[str, Any]:
        return history_row(message, account, string_types=string_types)

    return wire.envelope(wire.paginate(request, messages, page, limit, row), "Here are your data.")


async def export_history(request: web.Request) -> web.Response:
    server = server_of(request)
    account = account_of(request)
    filename = request.query.get("filename") or "export.csv"
    messages = query_history(server.state, account.username, request.query)

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=export_columns(), extrasaction="ignore")
    writer.writeheader()
    for message in messages:
        writer.writerow(history_row(message, account))
    file_id = new_message_id()
    server.state.exports[file_id] = (filename, buffer.getvalue())
    server.state.dirty = True

    url = f"{server.root_url}/files/{file_id}?filename={filename}"
    return wire.envelope({"url": url}, "Download your file here.")


async def download_export(request: web.Request) -> web.Response:
    """Serve an exported CSV; like ClickSend's file links it needs no credentials."""
    server = server_of(request)
    export = server.state.exports.get(request.match_info["file_id"])
    if export is None:
        return wire.not_found("File not found.")
    filename, text = export
    return web.Response(
        text=text,
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ---- account (outside the SMS section, used for the balance) -------------------


async def view_account(request: web.Request) -> web.Response:
    account = account_of(request)
    data = {
        "user_id": account.user_id,
        "subaccount_id": account.subaccount_id,
        "username": account.username,
        # ClickSend's account object: balance is a 6-decimal string while
        # balance_commission is a number.
        "balance": wire.price_string(account.balance, 6),
        "balance_commission": 0,
        "country": "AU",
        "default_country_sms": "AU",
        "_currency": dict(wire.CURRENCY_AUD),
    }
    return wire.envelope(data, "Here are your data.")


def _check_target(url: str) -> None:
    try:
        check_push_url(url)
    except PushTargetError as exc:
        raise RequestError({"url": str(exc)}) from None


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v3/sms/send", send_sms)
    app.router.add_post("/v3/sms/price", price_sms)
    app.router.add_get("/v3/sms/receipts", list_receipts)
    app.router.add_post("/v3/sms/receipts", create_test_receipt)
    app.router.add_put("/v3/sms/receipts-read", mark_receipts_read)
    app.router.add_get("/v3/sms/receipts/{message_id}", get_receipt)
    app.router.add_get("/v3/sms/inbound", list_inbound)
    app.router.add_post("/v3/sms/inbound", create_test_inbound)
    app.router.add_put("/v3/sms/inbound-read", mark_inbound_read)
    app.router.add_put("/v3/sms/inbound-read/{message_id}", mark_inbound_message_read)
    app.router.add_get("/v3/sms/inbound/{original_message_id}", get_inbound)
    app.router.add_put("/v3/sms/cancel-all", cancel_all)
    app.router.add_put("/v3/sms/{message_id}/cancel", cancel_sms)
    app.router.add_get("/v3/sms/templates", list_templates)
    app.router.add_post("/v3/sms/templates", create_template)
    app.router.add_get("/v3/sms/templates/{template_id}", get_template)
    app.router.add_put("/v3/sms/templates/{template_id}", update_template)
    app.router.add_delete("/v3/sms/templates/{template_id}", delete_template)
    app.router.add_get("/v3/sms/history", view_history)
    app.router.add_get("/v3/sms/history/export", export_history)
    app.router.add_get("/v3/account", view_account)
    app.router.add_get("/files/{file_id}", download_export)
