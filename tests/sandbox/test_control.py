"""The /_sandbox/ control API: faults, responders, inbound injection, settings, reset, dump."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import aiohttp
import pytest

from sandbox import SandboxClock, SandboxServer
from tests.sandbox.helpers import call, send

AU = "+61491570156"


async def control(sandbox: SandboxServer, method: str, path: str, payload=None) -> tuple[int, dict]:
    status, body, _ = await call(method, f"{sandbox.root_url}/_sandbox/{path}", json=payload, username=None)
    return status, body


async def test_burst_429_with_retry_after(sandbox: SandboxServer) -> None:
    status, _ = await control(sandbox, "PUT", "faults", {"burst_429": 2, "retry_after": 3})
    assert status == 200
    for _ in range(2):
        status, body, headers = await call("GET", f"{sandbox.base_url}/sms/history")
        assert status == 429
        assert body == {"http_code": 429, "response_code": "HTTP_TOO_MANY_REQUESTS",
                        "response_msg": "Too many attempts.", "data": None}
        assert headers["Retry-After"] == "3"
    status, _, _ = await call("GET", f"{sandbox.base_url}/sms/history")
    assert status == 200


async def test_error_rate_one_fails_everything(sandbox: SandboxServer) -> None:
    await control(sandbox, "PUT", "faults", {"error_rate": 1.0, "error_status": 503})
    status, body, _ = await call("GET", f"{sandbox.base_url}/sms/history")
    assert status == 503
    assert body["http_code"] == 503
    await control(sandbox, "PUT", "faults", {"error_rate": 0})
    status, _, _ = await call("GET", f"{sandbox.base_url}/sms/history")
    assert status == 200


async def test_latency_send_accepted_after_timeout(sandbox: SandboxServer) -> None:
    await control(sandbox, "PUT", "faults", {"latency": {"/v3/sms/send": 0.5}})
    headers = {"Authorization": aiohttp.encode_basic_auth("demo-user", "demo-key")}
    timeout = aiohttp.ClientTimeout(total=0.1)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        # Other paths are not delayed.
        async with session.get(f"{sandbox.base_url}/sms/history") as response:
            assert response.status == 200
        with pytest.raises(asyncio.TimeoutError):
            async with session.post(f"{sandbox.base_url}/sms/send",
                                    json={"messages": [{"to": AU, "body": "hi", "custom_string": "late-1"}]}):
                pass
    assert sandbox.state.messages == {}
    # The request keeps running after the client gave up, so the send is accepted late.
    async with asyncio.timeout(5):
        while not sandbox.state.messages:
            await asyncio.sleep(0.01)
    [message] = sandbox.state.messages.values()
    assert message.custom_string == "late-1"


async def test_stop_does_not_wait_for_long_latency(make_sandbox) -> None:
    sandbox = await make_sandbox()
    await control(sandbox, "PUT", "faults", {"latency": {"*": 60}})
    headers = {"Authorization": aiohttp.encode_basic_auth("demo-user", "demo-key")}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=0.1)) as session:
        with pytest.raises(asyncio.TimeoutError):
            async with session.get(f"{sandbox.base_url}/sms/history"):
                pass
    async with asyncio.timeout(10):
        await sandbox.stop()
    assert sandbox.state.messages == {}


async def test_drop_after_send_records_message(sandbox: SandboxServer) -> None:
    await control(sandbox, "PUT", "faults", {"drop_after_send": 1})
    headers = {"Authorization": aiohttp.encode_basic_auth("demo-user", "demo-key")}
    async with aiohttp.ClientSession(headers=headers) as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with session.post(f"{sandbox.base_url}/sms/send",
                                    json={"messages": [{"to": AU, "body": "hi", "custom_string": "ref-7"}]}):
                pass
    # The send was accepted even though no response arrived.
    [message] = sandbox.state.messages.values()
    assert message.custom_string == "ref-7"
    body = await send(sandbox, [{"to": AU, "body": "next"}])
    assert body["data"]["queued_count"] == 1


async def test_unknown_fault_rejected(sandbox: SandboxServer) -> None:
    status, body = await control(sandbox, "PUT", "faults", {"explode": True})
    assert status == 400
    assert "explode" in body["data"]


async def test_inject_inbound_links_latest_message(make_sandbox, receiver) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=1_767_225_600, frozen=True),
                                 inbound_url=receiver.url, inbound_webhook_type="json")
    body = await send(sandbox, [{"to": AU, "body": "Are you coming?", "custom_string": "ticket-9"}])
    status, inbound = await control(sandbox, "POST", "inbound", {"from": AU, "body": "Yes, 5 min"})
    assert status == 200
    assert inbound["original_message_id"] == body["data"]["messages"][0]["message_id"]
    assert inbound["custom_string"] == "ticket-9"
    assert receiver.received[0].json["body"] == "Yes, 5 min"


async def test_inject_inbound_requires_fields(sandbox: SandboxServer) -> None:
    status, body = await control(sandbox, "POST", "inbound", {"from": AU})
    assert status == 400
    assert "body" in body["data"]


async def test_responder_via_control(make_sandbox) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=1_767_225_600, frozen=True))
    status, _ = await control(sandbox, "PUT", f"responders/{AU}", {"kind": "text", "text": "OK!", "delay": 2})
    assert status == 200
    status, _ = await control(sandbox, "PUT", "responders/+61491570160", {"kind": "fail", "error_code": 19})
    assert status == 200
    await send(sandbox, [{"to": AU, "body": "hi"}, {"to": "+61491570160", "body": "hi"}])
    status, _ = await control(sandbox, "POST", "clock/advance", {"seconds": 10})
    assert status == 200
    assert [m.body for m in sandbox.state.inbound] == ["OK!"]
    failed = [m for m in sandbox.state.messages.values() if m.to == "+61491570160"][0]
    assert failed.stage == "failed"
    assert failed.error_code == 19
    status, listing = await control(sandbox, "GET", "responders")
    assert {r["number"] for r in listing} == {AU, "+61491570160"}
    status, removed = await control(sandbox, "DELETE", f"responders/{AU}")
    assert removed == {"removed": True}


@pytest.mark.parametrize(
    "payload",
    [{"kind": "shout"}, {"kind": "text"}, {"kind": "fail", "error_code": 99}, {"kind": "echo", "delay": -1}],
)
async def test_bad_responder_rejected(sandbox: SandboxServer, payload: dict) -> None:
    status, _ = await control(sandbox, "PUT", f"responders/{AU}", payload)
    assert status == 400


async def test_settings_and_account(sandbox: SandboxServer) -> None:
    status, body = await control(sandbox, "PUT", "settings", {"receipt_url": "http://example.com/x"})
    assert status == 400
    status, body = await control(sandbox, "PUT", "settings", {"next_message_ids": ["MSG-0001", ""]})
    assert body["next_message_ids"] == ["MSG-0001", ""]
    status, account = await control(sandbox, "PUT", "accounts/demo-user",
                                    {"balance": "10.5", "enabled_countries": ["AU"]})
    assert status == 200
    assert "api_key" not in account
    assert sandbox.state.accounts["demo-user"].balance == Decimal("10.5")
    body = await send(sandbox, [{"to": AU, "body": "a"}, {"to": "+447700900123", "body": "b"}])
    assert [m["message_id"] for m in body["data"]["messages"]] == ["MSG-0001", ""]
    assert [m["status"] for m in body["data"]["messages"]] == ["SUCCESS", "COUNTRY_NOT_ENABLED"]


async def test_reset_and_dump(sandbox: SandboxServer) -> None:
    await send(sandbox, [{"to": AU, "body": "hi"}])
    status, dump = await control(sandbox, "GET", "state")
    assert status == 200
    assert len(dump["messages"]) == 1
    assert "api_key" not in dump["accounts"]["demo-user"]
    status, _ = await control(sandbox, "POST", "reset")
    assert status == 200
    status, dump = await control(sandbox, "GET", "state")
    assert dump["messages"] == []
    assert dump["accounts"]["demo-user"]["balance"] == "100.0000"


async def test_advance_requires_seconds(sandbox: SandboxServer) -> None:
    status, body = await control(sandbox, "POST", "clock/advance", {})
    assert status == 400
    status, body = await control(sandbox, "POST", "clock/advance", {"seconds": -5})
    assert status == 400


@pytest.mark.parametrize(
    "payload",
    [{"balance": "lots"}, {"balance": True}, {"enabled_countries": "AU"}, {"approved_senders": [1]},
     {"prices": {"AU": "cheap"}}, {"prices": ["AU"]}],
)
async def test_bad_account_change_is_400(sandbox: SandboxServer, payload: dict) -> None:
    status, body = await control(sandbox, "PUT", "accounts/demo-user", payload)
    assert status == 400
    assert body["response_code"] == "BAD_REQUEST"
    assert sandbox.state.accounts["demo-user"].balance == Decimal("100")


async def test_inject_inbound_copies_same_id(make_sandbox, receiver) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=1_767_225_600, frozen=True), inbound_url=receiver.url)
    status, inbound = await control(sandbox, "POST", "inbound",
                                    {"from": AU, "body": "ok", "message_id": "IN-0001", "copies": 2})
    assert status == 200
    assert inbound["message_id"] == "IN-0001"
    await receiver.wait_for(lambda received: len(received) == 2)
    assert [p.form["message_id"] for p in receiver.received] == ["IN-0001", "IN-0001"]
    assert [p.form["from"] for p in receiver.received] == ["61491570156", "61491570156"]


@pytest.mark.parametrize("payload", [{"from": AU, "body": "x", "copies": 0}, {"from": AU, "body": "x", "to": 5},
                                     {"from": AU, "body": "x", "username": "nobody"}])
async def test_inject_inbound_bad_fields(sandbox: SandboxServer, payload: dict) -> None:
    status, _ = await control(sandbox, "POST", "inbound", payload)
    assert status == 400
    assert sandbox.state.inbound == []


async def test_inject_receipt_for_unknown_id(make_sandbox, receiver) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=1_767_225_600, frozen=True), receipt_url=receiver.url)
    status, receipt = await control(sandbox, "POST", "receipts", {"message_id": "MSG-9999", "status_code": "301"})
    assert status == 200
    assert receipt["status_code"] == "301"
    await receiver.wait_for(lambda received: len(received) == 1)
    push = receiver.received[0].form
    assert push["message_id"] == "MSG-9999"
    assert push["status"] == "Failed"
    assert push["error_code"] == "7"
    status, fetched, _ = await call("GET", f"{sandbox.base_url}/sms/receipts/MSG-9999")
    assert status == 200
    assert fetched["data"]["status_code"] == "301"


@pytest.mark.parametrize("payload", [{}, {"message_id": "M", "status_code": 201}, {"message_id": "M", "custom_string": 5}])
async def test_inject_receipt_bad_fields(sandbox: SandboxServer, payload: dict) -> None:
    status, _ = await control(sandbox, "POST", "receipts", payload)
    assert status == 400
    assert sandbox.state.receipts == []


async def test_rate_limit_headers_and_429(make_sandbox) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=1_767_225_600, frozen=True))
    await control(sandbox, "PUT", "faults", {"rate_limit": 2})
    status, _, headers = await call("GET", f"{sandbox.base_url}/sms/history")
    assert status == 200
    assert headers["x-ratelimit-limit"] == "2"
    assert headers["x-ratelimit-remaining"] == "1"
    assert headers["ratelimit-reset"] == "60"
    status, _, headers = await call("GET", f"{sandbox.base_url}/sms/history", api_key="wrong")
    assert status == 401
    assert headers["x-ratelimit-remaining"] == "0"
    status, body, headers = await call("GET", f"{sandbox.base_url}/sms/history")
    assert status == 429
    assert body["response_code"] == "HTTP_TOO_MANY_REQUESTS"
    assert headers["Retry-After"] == "60"
    await sandbox.advance(60)
    status, _, _ = await call("GET", f"{sandbox.base_url}/sms/history")
    assert status == 200


async def test_inject_inbound_without_plus(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": AU, "body": "Are you coming?"}])
    status, inbound = await control(sandbox, "POST", "inbound", {"from": "61491570156", "body": "Yes"})
    assert status == 200
    assert inbound["from"] == AU
    assert inbound["original_message_id"] == body["data"]["messages"][0]["message_id"]


async def test_dump_hides_webhook_token(make_sandbox, receiver) -> None:
    sandbox = await make_sandbox(receipt_url=f"{receiver.url}/secret-token-123?token=tok-9f8e7d")
    await call("POST", f"{sandbox.base_url}/sms/receipts", json={"url": f"{receiver.url}/secret-token-123"})
    status, dump = await control(sandbox, "GET", "state")
    assert status == 200
    text = str(dump)
    assert "secret-token-123" not in text
    assert "tok-9f8e7d" not in text
    assert dump["settings"]["receipt_url"].startswith("http://127.0.0.1:")


async def test_seed_history_route(make_sandbox) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(start=1_767_225_600, frozen=True))
    status, body = await control(sandbox, "POST", "history/seed", {"count": 1200, "spacing": 30, "numbers": 1300})
    assert status == 200
    assert body["count"] == 1200
    assert body["last_date"] - body["first_date"] == 1199 * 30
    numbers = {m.to for m in sandbox.state.messages.values()}
    assert len(numbers) == 1200
    assert any(n.startswith("+44") for n in numbers)
    _, history, _ = await call("GET", f"{sandbox.base_url}/sms/history?limit=100&page=12")
    assert history["data"]["total"] == 1200
    assert len(history["data"]["data"]) == 100


@pytest.mark.parametrize("payload", [{}, {"count": 0}, {"count": "10"}, {"count": 10, "numbers": 0},
                                     {"count": 10, "spacing": -1}])
async def test_seed_history_bad_fields(sandbox: SandboxServer, payload: dict) -> None:
    status, _ = await control(sandbox, "POST", "history/seed", payload)
    assert status == 400
    assert sandbox.state.messages == {}
