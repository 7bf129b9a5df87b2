"""Every sandbox response checked against the official OpenAPI response schemas.

Each test names the side it follows. "schema": the response validates with no
error. "observed": ClickSend is documented or observed to send something the
schema does not allow, the sandbox sends that, and the test asserts exactly
which locations differ, so any other drift still fails.
"""

from __future__ import annotations

import pytest

from sandbox import SandboxClock, SandboxServer
from sandbox.models import Responder
from tests.sandbox.helpers import call, send
from tests.sandbox.openapi import schema_errors

AU = "+61491570156"
START = 1_767_225_600


@pytest.fixture
async def world(make_sandbox, receiver) -> dict:
    """A sandbox with a delivered message, a reply to it, a scheduled send and a template."""
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True))
    sandbox.state.responders[AU] = Responder(number=AU, kind="text", text="Thanks!", delay=5)
    body = await send(sandbox, [
        {"to": AU, "body": "Your booking", "custom_string": "ticket-42"},
        {"to": "+61491570157", "body": "Later", "schedule": START + 7200},
    ])
    await sandbox.advance(10)
    _, template, _ = await call("POST", f"{sandbox.base_url}/sms/templates",
                                json={"template_name": "Reminder", "body": "Hi {name}"})
    return {
        "sandbox": sandbox,
        "receiver": receiver,
        "delivered_id": body["data"]["messages"][0]["message_id"],
        "scheduled_id": body["data"]["messages"][1]["message_id"],
        "template_id": template["data"]["template_id"],
    }


async def check(world: dict, method: str, spec_path: str, url_path: str, *, json=None) -> tuple[dict, set[str]]:
    sandbox: SandboxServer = world["sandbox"]
    status, body, _ = await call(method, f"{sandbox.root_url}{url_path}", json=json)
    assert status == 200, body
    return body, schema_errors(method, spec_path, body)


async def test_send_accepted_follows_schema(world) -> None:
    _, errors = await check(world, "POST", "/v3/sms/send", "/v3/sms/send",
                            json={"messages": [{"to": "+61491570158", "body": "hi", "custom_string": "x"}]})
    assert errors == set()


async def test_send_rejected_follows_observed(world) -> None:
    # Observed live: rejected messages carry schedule "" where the schema has an integer.
    _, errors = await check(world, "POST", "/v3/sms/send", "/v3/sms/send", json={"messages": [
        {"to": "12", "body": "hi"},
        {"to": "+33612345678", "body": "hi"},
    ]})
    assert errors == {"data.messages.0.schedule", "data.messages.1.schedule"}


async def test_price_follows_schema(world) -> None:
    body, errors = await check(world, "POST", "/v3/sms/price", "/v3/sms/price",
                               json={"messages": [{"to": AU, "body": "hi"}, {"to": "12", "body": "hi"}]})
    assert errors == set()
    assert "_summary" not in body["data"]


async def test_price_summary_follows_observed(world) -> None:
    # ClickSend's own example keys _summary.countries by country; the schema has an array.
    _, errors = await check(world, "POST", "/v3/sms/price", "/v3/sms/price",
                            json={"messages": [{"to": AU, "body": "hi", "show_summary": True}]})
    assert errors == {"data._summary.countries"}


async def test_receipts_list_follows_observed(world) -> None:
    # Every ClickSend receipt example has status_code "201" (a string) and
    # digits null (it is for voice only); the schema has integers for both.
    body, errors = await check(world, "GET", "/v3/sms/receipts", "/v3/sms/receipts")
    assert body["data"]["total"] == 1
    assert errors == {"data.data.0.status_code", "data.data.0.digits"}


async def test_receipt_follows_observed(world) -> None:
    _, errors = await check(world, "GET", "/v3/sms/receipts/{message_id}",
                            f"/v3/sms/receipts/{world['delivered_id']}")
    assert errors == {"data.status_code", "data.digits"}


async def test_test_receipt_follows_observed(world) -> None:
    _, errors = await check(world, "POST", "/v3/sms/receipts", "/v3/sms/receipts",
                            json={"url": world["receiver"].url})
    assert errors == {"data.status_code"}


async def test_mark_receipts_read_follows_schema(world) -> None:
    _, errors = await check(world, "PUT", "/v3/sms/receipts-read", "/v3/sms/receipts-read",
                            json={"date_before": START + 100})
    assert errors == set()


async def test_empty_list_follows_observed(world) -> None:
    # Observed live for an empty list: total 0, last_page 0; from and to are null,
    # where the schema has an integer.
    await call("PUT", f"{world['sandbox'].base_url}/sms/receipts-read")
    body, errors = await check(world, "GET", "/v3/sms/receipts", "/v3/sms/receipts")
    assert (body["data"]["total"], body["data"]["current_page"], body["data"]["last_page"]) == (0, 1, 0)
    assert errors == {"data.from", "data.to"}


async def test_inbound_list_follows_schema(world) -> None:
    body, errors = await check(world, "GET", "/v3/sms/inbound", "/v3/sms/inbound")
    assert body["data"]["total"] == 1
    assert errors == set()


async def test_inbound_one_follows_schema(world) -> None:
    _, errors = await check(world, "GET", "/v3/sms/inbound/{original_message_id}",
                            f"/v3/sms/inbound/{world['delivered_id']}")
    assert errors == set()


async def test_test_inbound_follows_schema(world) -> None:
    _, errors = await check(world, "POST", "/v3/sms/inbound", "/v3/sms/inbound",
                            json={"url": world["receiver"].url, "webhook_type": "json"})
    assert errors == set()


async def test_mark_inbound_read_follows_schema(world) -> None:
    _, errors = await check(world, "PUT", "/v3/sms/inbound-read", "/v3/sms/inbound-read", json={})
    assert errors == set()


async def test_mark_inbound_message_read_follows_schema(world) -> None:
    inbound_id = world["sandbox"].state.inbound[0].message_id
    body, errors = await check(world, "PUT", "/v3/sms/inbound-read/{message_id}",
                               f"/v3/sms/inbound-read/{inbound_id}")
    assert body["data"] == 1
    assert errors == set()


async def test_cancel_follows_observed(world) -> None:
    # The description marks data deprecated and its example is null; the schema has an object.
    _, errors = await check(world, "PUT", "/v3/sms/{message_id}/cancel",
                            f"/v3/sms/{world['scheduled_id']}/cancel")
    assert errors == {"data"}


async def test_cancel_all_follows_schema(world) -> None:
    _, errors = await check(world, "PUT", "/v3/sms/cancel-all", "/v3/sms/cancel-all", json={})
    assert errors == set()


async def test_templates_list_follows_schema(world) -> None:
    _, errors = await check(world, "GET", "/v3/sms/templates", "/v3/sms/templates")
    assert errors == set()


async def test_template_create_follows_schema(world) -> None:
    _, errors = await check(world, "POST", "/v3/sms/templates", "/v3/sms/templates",
                            json={"template_name": "New", "body": "Text"})
    assert errors == set()


async def test_template_get_follows_schema(world) -> None:
    _, errors = await check(world, "GET", "/v3/sms/templates/{template_id}",
                            f"/v3/sms/templates/{world['template_id']}")
    assert errors == set()


async def test_template_update_follows_schema(world) -> None:
    _, errors = await check(world, "PUT", "/v3/sms/templates/{template_id}",
                            f"/v3/sms/templates/{world['template_id']}",
                            json={"template_name": "Renamed", "body": "New text"})
    assert errors == set()


async def test_template_delete_follows_observed(world) -> None:
    # data is deprecated: null in the example, an array in the schema.
    _, errors = await check(world, "DELETE", "/v3/sms/templates/{template_id}",
                            f"/v3/sms/templates/{world['template_id']}")
    assert errors == {"data"}


async def test_history_follows_observed(world) -> None:
    # ClickSend's history examples give date and message_parts as strings
    # ("1436932432", "1.00"); live rows had status_code null before delivery.
    # from_email and contact_id are null when unused, as in send responses.
    body, errors = await check(world, "GET", "/v3/sms/history", "/v3/sms/history")
    rows = body["data"]["data"]
    assert len(rows) == 2
    expected = set()
    for index in range(len(rows)):
        expected |= {f"data.data.{index}.{name}" for name in ("date", "message_parts", "from_email", "contact_id")}
    assert errors == expected


async def test_history_integer_mode_follows_schema(world) -> None:
    world["sandbox"].state.history_string_types = False
    _, errors = await check(world, "GET", "/v3/sms/history", "/v3/sms/history")
    assert {e.rsplit(".", 1)[1] for e in errors} == {"from_email", "contact_id"}


async def test_export_follows_schema(world) -> None:
    _, errors = await check(world, "GET", "/v3/sms/history/export", "/v3/sms/history/export?filename=export.csv")
    assert errors == set()
