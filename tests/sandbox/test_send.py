"""Sending and pricing through the sandbox over HTTP: statuses, money, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox import Account, SandboxClock, SandboxServer
from tests.sandbox.helpers import call, send

AU = "+61491570156"


async def test_send_accepts_message(sandbox: SandboxServer) -> None:
    status, body, _ = await call(
        "POST",
        f"{sandbox.base_url}/sms/send",
        json={"messages": [{"to": AU, "body": "Your booking", "custom_string": "ticket-42"}]},
    )
    assert status == 200
    assert body["response_code"] == "SUCCESS"
    assert body["response_msg"] == "Messages queued for delivery."
    message = body["data"]["messages"][0]
    assert message["status"] == "SUCCESS"
    assert message["custom_string"] == "ticket-42"
    assert message["message_price"] == "0.0792"
    assert message["message_parts"] == 1
    assert message["country"] == "AU"
    assert message["schedule"] == message["date"]
    assert isinstance(message["date"], int)
    assert message["message_id"] == message["message_id"].upper()
    assert len(message["message_id"]) == 36
    assert body["data"]["total_price"] == 0.0792
    assert body["data"]["_currency"]["currency_name_short"] == "AUD"


async def test_send_charges_parts_times_rate(sandbox: SandboxServer) -> None:
    # 161 GSM-7 characters need 2 parts; one emoji makes 71 characters UCS-2, also 2 parts.
    messages = [{"to": AU, "body": "a" * 161}, {"to": "+61491570157", "body": "😀" + "b" * 69}]
    body = await send(sandbox, messages)
    parts = [m["message_parts"] for m in body["data"]["messages"]]
    assert parts == [2, 2]
    assert [m["message_price"] for m in body["data"]["messages"]] == ["0.1584", "0.1584"]
    assert body["data"]["total_price"] == 0.3168
    assert sandbox.state.accounts["demo-user"].balance == Decimal("100") - Decimal("0.3168")


async def test_invalid_recipient_has_minimal_object(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": "12", "body": "hi"}, {"to": AU, "body": "hi"}])
    rejected = body["data"]["messages"][0]
    assert set(rejected) == {"to", "body", "from", "schedule", "message_id", "custom_string",
                             "is_shared_system_number", "status"}
    assert rejected["status"] == "INVALID_RECIPIENT"
    assert rejected["schedule"] == ""
    assert len(rejected["message_id"]) == 36
    # Observed: INVALID_RECIPIENT is not counted as blocked.
    assert body["data"]["blocked_count"] == 0
    assert body["data"]["queued_count"] == 1
    assert body["data"]["total_count"] == 2


async def test_country_not_enabled_is_blocked(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": "+33612345678", "body": "Bonjour"}])
    rejected = body["data"]["messages"][0]
    assert rejected["status"] == "COUNTRY_NOT_ENABLED"
    assert rejected["message_price"] == "0.0000"
    assert rejected["message_parts"] == 0
    assert rejected["country"] == "FR"
    assert rejected["schedule"] == ""
    assert body["data"]["blocked_count"] == 1
    assert body["data"]["queued_count"] == 0
    assert body["data"]["total_price"] == 0


async def test_test_numbers_are_free_without_receipt(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": "+61411111111", "body": "test message, please ignore"}])
    message = body["data"]["messages"][0]
    assert message["status"] == "SUCCESS"
    assert message["message_price"] == "0.0000"
    assert message["message_parts"] == 0
    assert body["data"]["total_price"] == 0
    assert sandbox.state.accounts["demo-user"].balance == Decimal("100")
    await sandbox.advance(60)
    assert sandbox.state.receipts == []
    _, history, _ = await call("GET", f"{sandbox.base_url}/sms/history")
    assert history["data"]["data"][0]["status"] == "Completed"
    assert history["data"]["data"][0]["status_code"] is None


async def test_empty_body_is_empty_message(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": AU, "body": "   "}])
    assert body["data"]["messages"][0]["status"] == "EMPTY_MESSAGE"
    assert body["data"]["queued_count"] == 0


async def test_same_body_same_number_is_throttled(make_sandbox) -> None:
    sandbox = await make_sandbox(clock=SandboxClock(frozen=True))
    first = await send(sandbox, [{"to": AU, "body": "Running late"}])
    second = await send(sandbox, [{"to": AU, "body": "Running late"}])
    other_body = await send(sandbox, [{"to": AU, "body": "Running very late"}])
    assert first["data"]["messages"][0]["status"] == "SUCCESS"
    assert second["data"]["messages"][0]["status"] == "THROTTLED"
    assert other_body["data"]["messages"][0]["status"] == "SUCCESS"
    await sandbox.advance(11)
    later = await send(sandbox, [{"to": AU, "body": "Running late"}])
    assert later["data"]["messages"][0]["status"] == "SUCCESS"


async def test_insufficient_credit_per_message(make_sandbox) -> None:
    accounts = {"demo-user": Account(username="demo-user", api_key="demo-key", balance=Decimal("0.1000"))}
    sandbox = await make_sandbox(accounts=accounts)
    body = await send(sandbox, [{"to": AU, "body": "one"}, {"to": "+61491570157", "body": "two"}])
    statuses = [m["status"] for m in body["data"]["messages"]]
    assert statuses == ["SUCCESS", "INSUFFICIENT_CREDIT"]
    assert sandbox.state.accounts["demo-user"].balance == Decimal("0.0208")


async def test_nocredit_account_gets_insufficient_credit(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": AU, "body": "hi"}], username="nocredit",
                      api_key="D83DED51-9E35-4D42-9BB9-0E34B7CA85AE")
    assert body["data"]["messages"][0]["status"] == "INSUFFICIENT_CREDIT"


async def test_nocredit_account_sends_to_test_numbers(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": "+61411111111", "body": "hi"}], username="nocredit",
                      api_key="D83DED51-9E35-4D42-9BB9-0E34B7CA85AE")
    assert body["data"]["messages"][0]["status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("ACMEPLUMB", "SUCCESS"),
        ("acmeplumb", "SUCCESS"),
        ("Random Co", "INVALID_SENDER_ID"),  # a space is never allowed
        ("ACMEPLUMBING1", "INVALID_SENDER_ID"),  # 13 characters, more than 11
        ("RandomCo", "INVALID_SENDER_ID"),  # well formed but not approved
        ("+61491570999", "SUCCESS"),
    ],
)
async def test_sender_id_rules(make_sandbox, sender: str, expected: str) -> None:
    accounts = {"demo-user": Account(username="demo-user", api_key="demo-key",
                                     approved_senders=frozenset({"ACMEPLUMB"}))}
    sandbox = await make_sandbox(accounts=accounts)
    body = await send(sandbox, [{"to": AU, "body": "Your plumber is on the way", "from": sender}])
    message = body["data"]["messages"][0]
    assert message["status"] == expected
    assert body["data"]["blocked_count"] == (0 if expected == "SUCCESS" else 1)


async def test_shared_number_used_without_sender(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": AU, "body": "hi"}])
    message = body["data"]["messages"][0]
    assert message["is_shared_system_number"] is True
    assert message["from"].startswith("+61")


async def test_local_number_with_country(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": "0491 570 156", "body": "hi"}, {"to": "07700 900123", "body": "hi", "country": "GB"}])
    assert [m["to"] for m in body["data"]["messages"]] == [AU, "+447700900123"]
    assert [m["status"] for m in body["data"]["messages"]] == ["SUCCESS", "SUCCESS"]


async def test_custom_string_echoed(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": AU, "body": "Your booking", "custom_string": "ticket-42"}])
    assert body["data"]["messages"][0]["custom_string"] == "ticket-42"
    stored = sandbox.state.messages[body["data"]["messages"][0]["message_id"]]
    assert stored.custom_string == "ticket-42"


MALFORMED = [
    # (request body, field named in the 400 response)
    ({"messages": [{"to": AU, "body": "hi", "from": ["+61491570157", "ACME"]}]}, "messages.0.from"),
    ({"messages": [{"to": AU, "body": "hi", "schedule": "1767225600"}]}, "messages.0.schedule"),
    ({"messages": [{"to": AU, "body": "hi", "schedule": True}]}, "messages.0.schedule"),
    ({"messages": [{"to": AU, "body": 42}]}, "messages.0.body"),
    ({"messages": [{"to": 61491570156, "body": "hi"}]}, "messages.0.to"),
    ({"messages": [{"body": "hi"}]}, "messages.0.to"),
    ({"messages": [{"to": AU, "body": "hi", "custom_string": {"id": 1}}]}, "messages.0.custom_string"),
    ({"messages": ["hello"]}, "messages.0"),
    ({"messages": "hello"}, "messages"),
    ({"messages": []}, "messages"),
    ({}, "messages"),
    (["not", "an", "object"], "body"),
]


@pytest.mark.parametrize(("payload", "field"), MALFORMED)
async def test_malformed_send_is_400(sandbox: SandboxServer, payload, field: str) -> None:
    status, body, _ = await call("POST", f"{sandbox.base_url}/sms/send", json=payload)
    assert status == 400
    assert body["http_code"] == 400
    assert body["response_code"] == "BAD_REQUEST"
    assert field in body["data"]
    assert sandbox.state.messages == {}


async def test_invalid_json_is_400(sandbox: SandboxServer) -> None:
    status, body, _ = await call("POST", f"{sandbox.base_url}/sms/send", data=b'{"messages": [')
    assert status == 400
    assert "not valid JSON" in body["data"]["body"]


async def test_more_than_1000_messages_refused(sandbox: SandboxServer) -> None:
    messages = [{"to": AU, "body": f"hello {i}"} for i in range(1001)]
    status, body, _ = await call("POST", f"{sandbox.base_url}/sms/send", json={"messages": messages})
    assert status == 400
    assert body["response_code"] == "TOO_MANY_RECIPIENTS"
    assert "1000" in body["data"]["messages"]
    assert sandbox.state.messages == {}


async def test_exactly_1000_messages_accepted(sandbox: SandboxServer) -> None:
    messages = [{"to": AU, "body": f"hello {i}"} for i in range(1000)]
    body = await send(sandbox, messages)
    assert body["data"]["queued_count"] == 1000
    assert len(sandbox.state.messages) == 1000


async def test_price_has_no_side_effects(sandbox: SandboxServer) -> None:
    status, body, _ = await call("POST", f"{sandbox.base_url}/sms/price",
                                 json={"messages": [{"to": AU, "body": "]" * 81}]})
    assert status == 200
    assert body["response_msg"] == "Here is some pricing."
    message = body["data"]["messages"][0]
    # 81 GSM-7 extension characters are 162 septets: 2 parts.
    assert message["message_parts"] == 2
    assert message["message_price"] == "0.1584"
    assert message["date"] == ""
    assert message["schedule"] == ""
    assert "_summary" not in body["data"]
    assert sandbox.state.messages == {}
    assert sandbox.state.accounts["demo-user"].balance == Decimal("100")


async def test_price_summary_on_request(sandbox: SandboxServer) -> None:
    _, body, _ = await call("POST", f"{sandbox.base_url}/sms/price",
                            json={"messages": [{"to": AU, "body": "hi", "show_summary": True}]})
    assert body["data"]["_summary"]["countries"]["AU"]["recipient_count"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v3/sms/nothing"), ("PUT", "/v3/sms/history"), ("GET", "/v3/sms/send"), ("POST", "/v2/sms/send")],
)
async def test_unknown_endpoint_is_404(sandbox: SandboxServer, method: str, path: str) -> None:
    status, body, _ = await call(method, f"{sandbox.root_url}{path}")
    assert status == 404
    assert body == {"http_code": 404, "response_code": "NOT_FOUND",
                    "response_msg": "Invalid endpoint. Please try again.", "data": None}


@pytest.mark.parametrize(
    ("username", "api_key"),
    [(None, ""), ("demo-user", "wrong"), ("nobody", "demo-key"),
     ("notactive", "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE")],
)
async def test_bad_credentials_are_401(sandbox: SandboxServer, username, api_key: str) -> None:
    status, body, headers = await call("GET", f"{sandbox.base_url}/sms/history",
                                       username=username, api_key=api_key)
    assert status == 401
    assert body == {"http_code": 401, "response_code": "UNAUTHORIZED",
                    "response_msg": "Authorization failed.", "data": None}
    assert "WWW-Authenticate" not in headers


async def test_banned_account_is_403(sandbox: SandboxServer) -> None:
    status, body, _ = await call("GET", f"{sandbox.base_url}/sms/history", username="banned",
                                 api_key="D83DED51-9E35-4D42-9BB9-0E34B7CA85AE")
    assert status == 403
    assert body["response_code"] == "FORBIDDEN"
    assert body["response_msg"] == "Your account is suspended. Please contact support for more information."
    assert body["data"] is None


async def test_account_balance_is_six_decimal_string(make_sandbox) -> None:
    accounts = {"demo-user": Account(username="demo-user", api_key="demo-key", balance=Decimal("10.5"))}
    sandbox = await make_sandbox(accounts=accounts)
    status, body, _ = await call("GET", f"{sandbox.base_url}/account")
    assert status == 200
    assert body["data"]["balance"] == "10.500000"
    assert body["data"]["balance_commission"] == 0


async def test_api_key_not_in_repr() -> None:
    account = Account(username="demo-user", api_key="very-secret-key")
    assert "very-secret-key" not in repr(account)


async def test_largest_send_fits_body_limit(make_sandbox) -> None:
    accounts = {"demo-user": Account(username="demo-user", api_key="demo-key", balance=Decimal("1000"))}
    sandbox = await make_sandbox(accounts=accounts)
    # 1000 messages of 8 full GSM-7 parts each (1224 characters).
    messages = [{"to": f"+614915{70000 + i:05d}", "body": "x" * 1224} for i in range(1000)]
    body = await send(sandbox, messages)
    assert body["data"]["queued_count"] == 1000
    assert {m["message_parts"] for m in body["data"]["messages"]} == {8}


async def test_parts_capped_at_eight(sandbox: SandboxServer) -> None:
    body = await send(sandbox, [{"to": AU, "body": "x" * 2000}])
    message = body["data"]["messages"][0]
    assert message["message_parts"] == 8
    assert message["message_price"] == "0.6336"


@pytest.mark.parametrize("raw", [b"\xff\xfe{}", b"", b"   ", b"null", b"42", b'"text"'])
async def test_unusable_body_is_400(sandbox: SandboxServer, raw: bytes) -> None:
    status, body, _ = await call("POST", f"{sandbox.base_url}/sms/send", data=raw)
    assert status == 400
    assert body["http_code"] == 400
    assert body["data"]
