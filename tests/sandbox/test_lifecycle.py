"""Messages over time on the sandbox clock: delivery, failure, schedules and cancels."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox import SandboxClock, SandboxServer
from sandbox.models import Responder
from tests.sandbox.helpers import call, send

AU = "+61491570156"


@pytest.fixture
async def frozen(make_sandbox) -> SandboxServer:
    return await make_sandbox(clock=SandboxClock(start=1_767_225_600, frozen=True))


async def history_row(sandbox: SandboxServer, message_id: str) -> dict:
    status, body, _ = await call("GET", f"{sandbox.base_url}/sms/history?q=message_id:{message_id}")
    assert status == 200
    [row] = body["data"]["data"]
    return row


async def test_queued_sent_delivered(frozen: SandboxServer) -> None:
    body = await send(frozen, [{"to": AU, "body": "hello"}])
    message_id = body["data"]["messages"][0]["message_id"]

    row = await history_row(frozen, message_id)
    assert (row["status"], row["status_code"]) == ("Queued", "200")

    await frozen.advance(1)
    row = await history_row(frozen, message_id)
    assert (row["status"], row["status_code"]) == ("Sent", "200")
    assert frozen.state.receipts == []

    await frozen.advance(2)
    row = await history_row(frozen, message_id)
    assert (row["status"], row["status_code"]) == ("Sent", "201")
    assert row["status_text"] == "Message delivered to the handset"
    [receipt] = frozen.state.receipts_for(message_id)
    assert receipt.status_code == "201"
    assert receipt.timestamp == 1_767_225_603


async def test_failing_number_gets_gateway_error(frozen: SandboxServer) -> None:
    frozen.state.responders["+61491570160"] = Responder(number="+61491570160", kind="fail", error_code=12)
    body = await send(frozen, [{"to": "+61491570160", "body": "hello"}])
    message_id = body["data"]["messages"][0]["message_id"]
    await frozen.advance(10)

    row = await history_row(frozen, message_id)
    assert row["status"] == "Failed"
    assert row["status_code"] == "301"
    assert row["error_code"] == "12"
    assert row["error_text"].startswith("Absent Subscriber")
    _, receipt, _ = await call("GET", f"{frozen.base_url}/sms/receipts/{message_id}")
    assert receipt["data"]["status_code"] == "301"
    assert receipt["data"]["error_code"] == 12


async def test_scheduled_waits_until_due(frozen: SandboxServer) -> None:
    due = 1_767_225_600 + 3600
    body = await send(frozen, [{"to": AU, "body": "later", "schedule": due}])
    message = body["data"]["messages"][0]
    assert message["schedule"] == due
    message_id = message["message_id"]

    await frozen.advance(3599)
    assert (await history_row(frozen, message_id))["status"] == "Scheduled"
    await frozen.advance(1)
    assert (await history_row(frozen, message_id))["status"] == "Queued"
    await frozen.advance(3)
    assert (await history_row(frozen, message_id))["status_code"] == "201"


async def test_past_schedule_sends_now(frozen: SandboxServer) -> None:
    body = await send(frozen, [{"to": AU, "body": "now", "schedule": 1_700_000_000}])
    message_id = body["data"]["messages"][0]["message_id"]
    assert (await history_row(frozen, message_id))["status"] == "Queued"


async def test_cancel_scheduled_refunds(frozen: SandboxServer) -> None:
    body = await send(frozen, [{"to": AU, "body": "later", "schedule": 1_767_229_200}])
    message_id = body["data"]["messages"][0]["message_id"]
    assert frozen.state.accounts["demo-user"].balance == Decimal("100") - Decimal("0.0792")

    status, cancelled, _ = await call("PUT", f"{frozen.base_url}/sms/{message_id}/cancel")
    assert status == 200
    assert cancelled["response_msg"] == "Scheduled sms message has been cancelled."
    assert cancelled["data"] is None
    assert frozen.state.accounts["demo-user"].balance == Decimal("100")
    await frozen.advance(7200)
    row = await history_row(frozen, message_id)
    assert (row["status"], row["status_code"]) == ("Cancelled", "301")
    assert frozen.state.receipts_for(message_id) == []


async def test_cancel_twice_is_404(frozen: SandboxServer) -> None:
    body = await send(frozen, [{"to": AU, "body": "later", "schedule": 1_767_229_200}])
    message_id = body["data"]["messages"][0]["message_id"]
    first, _, _ = await call("PUT", f"{frozen.base_url}/sms/{message_id}/cancel")
    second, again, _ = await call("PUT", f"{frozen.base_url}/sms/{message_id}/cancel")
    assert first == 200
    assert second == 404
    assert again["response_code"] == "NOT_FOUND"


@pytest.mark.parametrize("target", ["immediate", "unknown"])
async def test_cancel_not_scheduled_is_404(frozen: SandboxServer, target: str) -> None:
    body = await send(frozen, [{"to": AU, "body": "now"}])
    message_id = body["data"]["messages"][0]["message_id"] if target == "immediate" else "B3C1F1E2-0000-4000-8000-000000000000"
    status, answer, _ = await call("PUT", f"{frozen.base_url}/sms/{message_id}/cancel")
    assert status == 404
    assert answer["response_code"] == "NOT_FOUND"
    assert answer["data"] is None


async def test_cancel_all_and_by_custom_string(frozen: SandboxServer) -> None:
    later = 1_767_229_200
    await send(frozen, [
        {"to": AU, "body": "a", "schedule": later, "custom_string": "batch-1"},
        {"to": "+61491570157", "body": "b", "schedule": later, "custom_string": "batch-1"},
        {"to": "+61491570158", "body": "c", "schedule": later, "custom_string": "batch-2"},
        {"to": "+61491570159", "body": "d", "custom_string": "batch-1"},
    ])
    status, body, _ = await call("PUT", f"{frozen.base_url}/sms/cancel-all", json={"custom_string": "batch-1"})
    assert status == 200
    assert body["data"] == {"count": 2}
    assert body["response_msg"] == "2 sms messages have been cancelled."

    status, body, _ = await call("PUT", f"{frozen.base_url}/sms/cancel-all")
    assert status == 200
    assert body["data"] == {"count": 1}
    stages = sorted(m.stage for m in frozen.state.messages.values())
    assert stages == ["cancelled", "cancelled", "cancelled", "queued"]


async def test_run_until_idle_finishes_everything(frozen: SandboxServer) -> None:
    await send(frozen, [{"to": AU, "body": "a"}, {"to": "+61491570157", "body": "b", "schedule": 1_767_300_000}])
    status, body, _ = await call("POST", f"{frozen.root_url}/_sandbox/clock/run", json={}, username=None)
    assert status == 200
    assert body["now"] >= 1_767_300_003
    assert {m.stage for m in frozen.state.messages.values()} == {"delivered"}
    assert frozen.state.next_due() is None
