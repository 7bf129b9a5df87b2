"""Sending and pricing through the sandbox over HTTP."""

from __future__ import annotations

from decimal import Decimal

from sandbox import SandboxServer
from tests.sandbox.helpers import call


async def test_send_accepts_message(sandbox: SandboxServer) -> None:
    status, body, _ = await call(
        "POST",
        f"{sandbox.base_url}/sms/send",
        json={"messages": [{"to": "+61491570156", "body": "Your booking", "custom_string": "ticket-42"}]},
    )
    assert status == 200
    assert body["response_code"] == "SUCCESS"
    message = body["data"]["messages"][0]
    assert message["status"] == "SUCCESS"
    assert message["custom_string"] == "ticket-42"
    assert message["message_price"] == "0.0792"
    assert message["message_id"] == message["message_id"].upper()
    assert len(message["message_id"]) == 36
    assert sandbox.state.accounts["demo-user"].balance == Decimal("100.0000") - Decimal("0.0792")


async def test_send_without_credentials_is_401(sandbox: SandboxServer) -> None:
    status, body, headers = await call(
        "POST", f"{sandbox.base_url}/sms/send", json={"messages": []}, username=None
    )
    assert status == 401
    assert body == {"http_code": 401, "response_code": "UNAUTHORIZED",
                    "response_msg": "Authorization failed.", "data": None}
    assert "WWW-Authenticate" not in headers
