"""Receipts and inbound replies: polling, pushes in ClickSend's formats, retries, test endpoints."""

from __future__ import annotations

import pytest

from sandbox import SandboxClock, SandboxServer
from sandbox.models import Responder
from tests.sandbox.helpers import call, send

AU = "+61491570156"
START = 1_767_225_600

RECEIPT_PUSH_KEYS = {
    "timestamp_send", "timestamp", "message_id", "messageid", "status", "status_code", "status_text",
    "error_code", "error_text", "custom_string", "customstring", "user_id", "subaccount_id", "message_type",
}
INBOUND_PUSH_KEYS = {
    "originalsenderid", "body", "message", "sms", "from", "to", "timestamp", "message_id",
    "original_message_id", "originalmessageid", "original_body", "originalmessage",
    "custom_string", "customstring", "user_id", "subaccount_id",
}


@pytest.fixture
async def frozen(make_sandbox) -> SandboxServer:
    return await make_sandbox(clock=SandboxClock(start=START, frozen=True))


async def test_receipts_unread_until_marked(frozen: SandboxServer) -> None:
    body = await send(frozen, [{"to": AU, "body": "hi", "custom_string": "ticket-42"}])
    message_id = body["data"]["messages"][0]["message_id"]
    await frozen.advance(5)

    status, listing, _ = await call("GET", f"{frozen.base_url}/sms/receipts")
    assert status == 200
    [receipt] = listing["data"]["data"]
    assert receipt["message_id"] == message_id
    assert receipt["status_code"] == "201"  # a string, as in ClickSend's examples
    assert receipt["custom_string"] == "ticket-42"
    assert receipt["timestamp_send"] == START

    # Listing does not mark read; the mark-read call does.
    _, again, _ = await call("GET", f"{frozen.base_url}/sms/receipts")
    assert again["data"]["total"] == 1
    status, marked, _ = await call("PUT", f"{frozen.base_url}/sms/receipts-read")
    assert status == 200
    assert marked["data"] is None
    _, after, _ = await call("GET", f"{frozen.base_url}/sms/receipts")
    assert after["data"]["total"] == 0
    assert after["data"]["last_page"] == 0

    # A read receipt stays fetchable by id.
    status, single, _ = await call("GET", f"{frozen.base_url}/sms/receipts/{message_id}")
    assert status == 200
    assert single["data"]["message_id"] == message_id


async def test_mark_receipts_read_before_date(frozen: SandboxServer) -> None:
    await send(frozen, [{"to": AU, "body": "first"}])
    await frozen.advance(100)
    await send(frozen, [{"to": AU, "body": "second"}])
    await frozen.advance(100)
    status, _, _ = await call("PUT", f"{frozen.base_url}/sms/receipts-read", json={"date_before": START + 50})
    assert status == 200
    _, listing, _ = await call("GET", f"{frozen.base_url}/sms/receipts")
    assert listing["data"]["total"] == 1


async def test_unknown_receipt_is_404(frozen: SandboxServer) -> None:
    status, body, _ = await call("GET", f"{frozen.base_url}/sms/receipts/B3C1F1E2-0000-4000-8000-000000000000")
    assert status == 404
    assert body["response_msg"] == "Receipt record not found."


async def test_receipt_pushed_form_encoded(make_sandbox, receiver) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True), receipt_url=receiver.url)
    body = await send(sandbox, [{"to": AU, "body": "hi", "custom_string": "ticket-42"}])
    message_id = body["data"]["messages"][0]["message_id"]
    await sandbox.advance(5)
    await receiver.wait_for(lambda received: len(received) == 1)

    push = receiver.received[0]
    assert push.method == "POST"
    assert push.content_type == "application/x-www-form-urlencoded"
    assert set(push.form) == RECEIPT_PUSH_KEYS
    assert push.form["message_id"] == push.form["messageid"] == message_id
    assert push.form["custom_string"] == push.form["customstring"] == "ticket-42"
    assert push.form["status_code"] == "201"
    assert push.form["status"] == "Delivered"
    assert push.form["error_code"] == ""
    assert push.form["message_type"] == "sms"


async def test_receipt_push_retries_with_backoff(make_sandbox, receiver) -> None:
    receiver.fail_next = 2
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True), receipt_url=receiver.url)
    await send(sandbox, [{"to": AU, "body": "hi"}])
    await sandbox.advance(3)
    assert receiver.attempts == 1
    assert receiver.received == []

    await sandbox.advance(9)  # the first retry is due 10 s after the failure
    assert receiver.attempts == 1
    await sandbox.advance(1)
    assert receiver.attempts == 2
    await sandbox.advance(60)  # then 1 minute
    assert receiver.attempts == 3
    assert len(receiver.received) == 1
    [push] = sandbox.state.pushes
    assert [a["outcome"] for a in push.attempts] == ["HTTP 500", "HTTP 500", "HTTP 200"]
    assert push.delivered


async def test_push_gives_up_after_retries(make_sandbox, receiver) -> None:
    receiver.fail_next = 100
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True), receipt_url=receiver.url)
    await send(sandbox, [{"to": AU, "body": "hi"}])
    await sandbox.run_until_idle()
    [push] = sandbox.state.pushes
    assert len(push.attempts) == 6
    assert not push.delivered
    assert push.next_attempt_at is None


@pytest.mark.parametrize("webhook_type", ["post", "get", "json"])
async def test_inbound_reply_pushed(make_sandbox, receiver, webhook_type: str) -> None:
    sandbox = await make_sandbox(
        clock=SandboxClock(start=START, frozen=True),
        inbound_url=receiver.url + "?token=abc",
        inbound_webhook_type=webhook_type,
    )
    sandbox.state.responders[AU] = Responder(number=AU, kind="text", text="See you soon", delay=30)
    body = await send(sandbox, [{"to": AU, "body": "Your booking", "custom_string": "ticket-42"}])
    original = body["data"]["messages"][0]
    await sandbox.advance(32)
    assert receiver.received == []
    await sandbox.advance(1)
    await receiver.wait_for(lambda received: len(received) == 1)

    push = receiver.received[0]
    if webhook_type == "post":
        assert (push.method, push.content_type) == ("POST", "application/x-www-form-urlencoded")
        fields = push.form
    elif webhook_type == "get":
        assert push.method == "GET"
        fields = {key: value for key, value in push.query.items() if key != "token"}
        assert push.query["token"] == "abc"
    else:
        assert (push.method, push.content_type) == ("POST", "application/json")
        fields = push.json
        assert isinstance(fields["timestamp"], int)
        assert isinstance(fields["user_id"], int)
    assert set(fields) == INBOUND_PUSH_KEYS
    # Form and query pushes carry numbers without the leading "+", JSON pushes with it.
    plus = "+" if webhook_type == "json" else ""
    assert fields["body"] == fields["message"] == "See you soon"
    assert fields["from"] == fields["sms"] == plus + AU[1:]
    assert fields["to"] == fields["originalsenderid"] == plus + original["from"][1:]
    assert fields["original_message_id"] == fields["originalmessageid"] == original["message_id"]
    assert fields["original_body"] == fields["originalmessage"] == "Your booking"
    assert fields["custom_string"] == fields["customstring"] == "ticket-42"


async def test_inbound_polling_and_read(frozen: SandboxServer) -> None:
    frozen.state.responders[AU] = Responder(number=AU, kind="echo", delay=5)
    body = await send(frozen, [{"to": AU, "body": "Reply please", "custom_string": "c-1"}])
    original_id = body["data"]["messages"][0]["message_id"]
    await frozen.advance(10)

    _, listing, _ = await call("GET", f"{frozen.base_url}/sms/inbound")
    [inbound] = listing["data"]["data"]
    assert inbound["body"] == "Reply please"
    assert inbound["from"] == AU
    assert inbound["original_message_id"] == original_id
    assert inbound["custom_string"] == "c-1"
    assert inbound["_keyword"] == "reply"

    status, first, _ = await call("GET", f"{frozen.base_url}/sms/inbound/{original_id}")
    assert status == 200
    assert first["data"]["message_id"] == inbound["message_id"]

    status, marked, _ = await call("PUT", f"{frozen.base_url}/sms/inbound-read/{inbound['message_id']}")
    assert status == 200
    assert marked["data"] == 1
    _, after, _ = await call("GET", f"{frozen.base_url}/sms/inbound")
    assert after["data"]["total"] == 0
    status, still, _ = await call("GET", f"{frozen.base_url}/sms/inbound/{original_id}")
    assert status == 200


async def test_mark_all_inbound_read(frozen: SandboxServer) -> None:
    frozen.state.add_inbound("demo-user", from_=AU, body="one")
    frozen.state.add_inbound("demo-user", from_=AU, body="two")
    status, body, _ = await call("PUT", f"{frozen.base_url}/sms/inbound-read", json={})
    assert status == 200
    assert body["response_msg"] == "Inbound messages have been marked as read."
    _, after, _ = await call("GET", f"{frozen.base_url}/sms/inbound")
    assert after["data"]["total"] == 0


async def test_unknown_inbound_is_404(frozen: SandboxServer) -> None:
    status, _, _ = await call("GET", f"{frozen.base_url}/sms/inbound/B3C1F1E2-0000-4000-8000-000000000000")
    assert status == 404
    status, _, _ = await call("PUT", f"{frozen.base_url}/sms/inbound-read/B3C1F1E2-0000-4000-8000-000000000000")
    assert status == 404


@pytest.mark.parametrize(("kind", "expected"), [("echo", "Are you free?"), ("stop", "STOP")])
async def test_responders_reply(frozen: SandboxServer, kind: str, expected: str) -> None:
    frozen.state.responders[AU] = Responder(number=AU, kind=kind, delay=5)
    await send(frozen, [{"to": AU, "body": "Are you free?"}])
    await frozen.advance(7)
    assert frozen.state.inbound == []
    await frozen.advance(1)
    assert [m.body for m in frozen.state.inbound] == [expected]


async def test_test_receipt_endpoint_pushes(frozen: SandboxServer, receiver) -> None:
    status, body, _ = await call("POST", f"{frozen.base_url}/sms/receipts", json={"url": receiver.url})
    assert status == 200
    assert body["response_msg"] == "Receipt has been added"
    assert body["data"]["custom_string"] is None
    assert len(receiver.received) == 1
    assert receiver.received[0].form["message_id"] == body["data"]["message_id"]


async def test_test_receipt_poll_is_stored(frozen: SandboxServer) -> None:
    status, body, _ = await call("POST", f"{frozen.base_url}/sms/receipts", json={"url": "poll"})
    assert status == 200
    _, listing, _ = await call("GET", f"{frozen.base_url}/sms/receipts")
    assert [r["message_id"] for r in listing["data"]["data"]] == [body["data"]["message_id"]]


@pytest.mark.parametrize("webhook_type", ["post", "get", "json"])
async def test_test_inbound_endpoint_pushes(frozen: SandboxServer, receiver, webhook_type: str) -> None:
    status, body, _ = await call("POST", f"{frozen.base_url}/sms/inbound",
                                 json={"url": receiver.url, "webhook_type": webhook_type})
    assert status == 200
    assert body["response_msg"] == "Test inbound message has been added."
    assert "timestamp_send" in body["data"]
    assert len(receiver.received) == 1
    push = receiver.received[0]
    assert push.method == ("GET" if webhook_type == "get" else "POST")


@pytest.mark.parametrize(
    "url", ["http://example.com/hook", "http://10.0.0.1/hook", "ftp://127.0.0.1/hook", "http://169.254.169.254/"]
)
async def test_push_only_to_loopback(frozen: SandboxServer, url: str) -> None:
    status, body, _ = await call("POST", f"{frozen.base_url}/sms/receipts", json={"url": url})
    assert status == 400
    assert "url" in body["data"]
    status, body, _ = await call("POST", f"{frozen.base_url}/sms/inbound", json={"url": url})
    assert status == 400
    assert frozen.state.pushes == []


async def test_non_loopback_receipt_url_rejected() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(receipt_url="http://example.com/receipts")


async def test_receipt_before_send_response(make_sandbox, receiver) -> None:
    sandbox = await make_sandbox(
        clock=SandboxClock(start=START, frozen=True), receipt_url=receiver.url, receipt_before_response=True
    )
    sandbox.state.next_message_ids.append("MSG-0001")
    body = await send(sandbox, [{"to": AU, "body": "hi"}])
    # The receipt reached the webhook before the send response was returned.
    assert [p.form["message_id"] for p in receiver.received] == ["MSG-0001"]
    assert receiver.received[0].form["status_code"] == "201"
    assert body["data"]["messages"][0]["message_id"] == "MSG-0001"


async def test_custom_string_in_receipt_and_reply(make_sandbox, receiver) -> None:
    sandbox = await make_sandbox(
        clock=SandboxClock(start=START, frozen=True), receipt_url=receiver.url, inbound_url=receiver.url
    )
    sandbox.state.responders[AU] = Responder(number=AU, kind="text", text="Thanks", delay=1)
    body = await send(sandbox, [{"to": AU, "body": "Your booking", "custom_string": "ticket-42"}])
    assert body["data"]["messages"][0]["custom_string"] == "ticket-42"
    await sandbox.advance(10)
    await receiver.wait_for(lambda received: len(received) == 2)
    assert [p.form["custom_string"] for p in receiver.received] == ["ticket-42", "ticket-42"]


async def test_no_reply_to_alpha_sender(frozen: SandboxServer) -> None:
    frozen.state.responders[AU] = Responder(number=AU, kind="echo", delay=1)
    await send(frozen, [{"to": AU, "body": "From a name", "from": "SMSDESK"}])
    await frozen.advance(60)
    [message] = frozen.state.messages.values()
    assert message.stage == "delivered"
    assert frozen.state.inbound == []


@pytest.mark.parametrize("webhook_type", ["post", "get", "json"])
async def test_inbound_push_retries(make_sandbox, receiver, webhook_type: str) -> None:
    receiver.fail_next = 1
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True), inbound_url=receiver.url,
                                 inbound_webhook_type=webhook_type)
    sandbox.state.add_inbound("demo-user", from_=AU, body="Running late")
    await sandbox.run_due()
    assert receiver.attempts == 1
    assert receiver.received == []
    await sandbox.advance(10)
    assert receiver.attempts == 2
    [push] = receiver.received
    if webhook_type == "json":
        fields = push.json
    elif webhook_type == "get":
        fields = push.query
    else:
        fields = push.form
    assert fields["body"] == "Running late"


async def test_intermediate_receipts(make_sandbox, receiver) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True), receipt_url=receiver.url)
    sandbox.state.intermediate_receipts = True
    body = await send(sandbox, [{"to": AU, "body": "hi"}])
    message_id = body["data"]["messages"][0]["message_id"]
    await sandbox.advance(5)
    assert [r.status_code for r in sandbox.state.receipts_for(message_id)] == ["200", "201"]
    await receiver.wait_for(lambda received: len(received) == 2)
    assert [p.form["status"] for p in receiver.received] == ["Sent", "Delivered"]
    _, listing, _ = await call("GET", f"{sandbox.base_url}/sms/receipts")
    assert [r["status_code"] for r in listing["data"]["data"]] == ["200", "201"]
    _, latest, _ = await call("GET", f"{sandbox.base_url}/sms/receipts/{message_id}")
    assert latest["data"]["status_code"] == "201"
