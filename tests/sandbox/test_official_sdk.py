"""ClickSend's official Python SDK (clicksend-client 6.0.2) against the sandbox.

The SDK is synchronous (urllib3), so each call runs in a worker thread while
the sandbox serves on the test's event loop. Where the SDK's strict pydantic
models (StrictInt) reject what ClickSend is documented to send, the test
asserts that failure and names the field that causes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from sandbox import SandboxClock, SandboxServer
from sandbox.models import Responder

clicksend = pytest.importorskip("clicksend", reason="the official SDK clicksend-client is a dev dependency")
from clicksend import models  # noqa: E402
from clicksend.api.sms_api import SmsApi  # noqa: E402
from clicksend.exceptions import ApiException  # noqa: E402

AU = "+61491570156"
START = 1_767_225_600


@pytest.fixture
async def sdk(make_sandbox) -> tuple[SandboxServer, SmsApi]:
    sandbox = await make_sandbox(clock=SandboxClock(start=START, frozen=True))
    sandbox.state.responders[AU] = Responder(number=AU, kind="echo", delay=5)
    # The SDK's paths start with /v3, so its host is the sandbox root, never ClickSend's.
    configuration = clicksend.Configuration(host=sandbox.root_url, username="demo-user", password="demo-key")
    api_client = clicksend.ApiClient(configuration)
    try:
        yield sandbox, SmsApi(api_client)
    finally:
        api_client.rest_client.pool_manager.clear()


async def in_thread(function: Callable[..., Any], /, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, **kwargs)


def message(**fields: Any) -> models.SendSmsRequestMessagesInner:
    return models.SendSmsRequestMessagesInner(**fields)


async def send_one(api: SmsApi, **fields: Any) -> models.SmsSendSms:
    request = models.SendSmsRequest(messages=[message(**fields)])
    result = await in_thread(api.send_sms, send_sms_request=request)
    return result.data.messages[0]


async def test_sdk_send(sdk) -> None:
    sandbox, api = sdk
    request = models.SendSmsRequest(messages=[
        message(to=AU, body="Your booking", custom_string="ticket-42", source="sdk-python"),
        message(to="+61491570157", body="Later", schedule=START + 3600),
    ])
    result = await in_thread(api.send_sms, send_sms_request=request)
    assert result.http_code == 200
    assert result.response_code == "SUCCESS"
    assert result.data.queued_count == 2
    assert result.data.total_price == pytest.approx(0.1584)
    first = result.data.messages[0]
    assert first.status == "SUCCESS"
    assert first.custom_string == "ticket-42"
    assert first.message_price == "0.0792"
    assert first.schedule == START
    assert result.data.messages[1].schedule == START + 3600
    assert sandbox.state.messages[first.message_id].source == "sdk-python"


async def test_sdk_cannot_parse_rejected_send(sdk) -> None:
    sandbox, api = sdk
    # ClickSend sends schedule "" on a rejected message; the SDK's SmsSendSms
    # types schedule as StrictInt and raises although the send was processed.
    request = models.SendSmsRequest(messages=[message(to="12", body="hi")])
    with pytest.raises(pydantic.ValidationError, match="schedule"):
        await in_thread(api.send_sms, send_sms_request=request)
    assert sandbox.state.messages == {}


async def test_sdk_price(sdk) -> None:
    _, api = sdk
    request = models.CalculateSmsPriceRequest(
        messages=[models.CalculateSmsPriceRequestMessagesInner(to=AU, body="a" * 161)]
    )
    result = await in_thread(api.calculate_sms_price, calculate_sms_price_request=request)
    assert result.data.total_price == pytest.approx(0.1584)
    assert result.data.messages[0].message_parts == 2
    assert result.data.messages[0].var_date == ""


async def test_sdk_cannot_parse_receipts(sdk) -> None:
    sandbox, api = sdk
    sent = await send_one(api, to=AU, body="hi")
    await sandbox.advance(5)
    # Receipts carry status_code "201" as a string, as in every ClickSend
    # example; the SDK's SmsReceipt wants StrictInt.
    with pytest.raises(pydantic.ValidationError, match="status_code"):
        await in_thread(api.view_sms_receipts)
    with pytest.raises(pydantic.ValidationError, match="status_code"):
        await in_thread(api.view_specific_sms_receipt, message_id=sent.message_id)
    with pytest.raises(pydantic.ValidationError, match="status_code"):
        await in_thread(api.create_test_sms_receipt,
                        create_test_sms_receipt_request=models.CreateTestSmsReceiptRequest(url="poll"))


async def test_sdk_mark_receipts_read(sdk) -> None:
    sandbox, api = sdk
    await send_one(api, to=AU, body="hi")
    await sandbox.advance(5)
    result = await in_thread(
        api.mark_sms_receipt_as_read,
        mark_sms_receipt_as_read_request=models.MarkSmsReceiptAsReadRequest(date_before=START + 100),
    )
    assert result.response_msg == "Receipts have been marked as read."
    assert sandbox.state.unread_receipts("demo-user") == []


async def test_sdk_inbound(sdk, receiver) -> None:
    sandbox, api = sdk
    sent = await send_one(api, to=AU, body="Echo me", custom_string="c-9")
    await sandbox.advance(10)

    listing = await in_thread(api.view_inbound_sms)
    assert listing.data.total == 1
    reply = listing.data.data[0]
    assert reply.body == "Echo me"
    assert reply.custom_string == "c-9"
    first = await in_thread(api.view_a_specific_inbound_sms_message, original_message_id=sent.message_id)
    assert first.data.message_id == reply.message_id

    marked = await in_thread(api.mark_specific_inbound_sms_message_as_read, message_id=reply.message_id)
    assert marked.data == 1
    everything = await in_thread(api.mark_inbound_sms_as_read)
    assert everything.http_code == 200

    test = await in_thread(
        api.create_test_inbound_sms,
        create_test_inbound_sms_request=models.CreateTestInboundSmsRequest(url=receiver.url, webhook_type="json"),
    )
    assert test.data.body == "This is a test inbound message."
    assert len(receiver.received) == 1


async def test_sdk_cancel(sdk) -> None:
    sandbox, api = sdk
    sent = await send_one(api, to=AU, body="Later", schedule=START + 3600, custom_string="batch")
    cancelled = await in_thread(api.cancel_sms, message_id=sent.message_id)
    assert cancelled.response_msg == "Scheduled sms message has been cancelled."
    with pytest.raises(ApiException) as raised:
        await in_thread(api.cancel_sms, message_id=sent.message_id)
    assert raised.value.status == 404

    await send_one(api, to=AU, body="Later again", schedule=START + 3600, custom_string="batch")
    result = await in_thread(api.cancel_all_sms,
                             cancel_all_sms_request=models.CancelAllSmsRequest(custom_string="batch"))
    assert result.data.count == 1


async def test_sdk_templates(sdk) -> None:
    _, api = sdk
    created = await in_thread(
        api.create_sms_template,
        create_sms_template_request=models.CreateSmsTemplateRequest(template_name="Reminder", body="Hi {name}"),
    )
    # The SDK types template_id as a string in paths and an integer in bodies.
    template_id = str(created.data.template_id)
    fetched = await in_thread(api.view_a_specific_sms_template, template_id=template_id)
    assert fetched.data.body == "Hi {name}"
    updated = await in_thread(
        api.update_sms_template, template_id=template_id,
        create_sms_template_request=models.CreateSmsTemplateRequest(template_name="Reminder", body="Hello"),
    )
    assert updated.data.body == "Hello"
    listing = await in_thread(api.view_sms_templates, page=1, limit=15)
    assert [t.template_name for t in listing.data.data] == ["Reminder"]
    deleted = await in_thread(api.delete_sms_template, template_id=template_id)
    assert deleted.response_msg == "Your template has been deleted."
    with pytest.raises(ApiException) as raised:
        await in_thread(api.view_a_specific_sms_template, template_id=template_id)
    assert raised.value.status == 404


async def test_sdk_cannot_parse_string_history(sdk) -> None:
    sandbox, api = sdk
    await send_one(api, to=AU, body="hi")
    # History rows give date and message_parts as strings ("1436932432", "1.00")
    # in ClickSend's examples; the SDK wants StrictInt.
    with pytest.raises(pydantic.ValidationError, match="message_parts"):
        await in_thread(api.view_sms_history)


async def test_sdk_history_in_schema_mode(sdk) -> None:
    sandbox, api = sdk
    sandbox.state.history_string_types = False
    await send_one(api, to=AU, body="first")
    await sandbox.advance(10)
    await send_one(api, to="+61491570157", body="second")
    await sandbox.advance(5)
    result = await in_thread(api.view_sms_history, q="status:Sent", order_by="date:desc", limit=15,
                             date_from=START, date_to=START + 20)
    assert result.data.total == 2
    assert [row.body for row in result.data.data] == ["second", "first"]
    assert result.data.data[0].status_code == "201"
    exported = await in_thread(api.export_sms_history, filename="export.csv")
    assert exported.data.url.startswith(sandbox.root_url + "/files/")


async def test_sdk_wrong_key_is_401(sdk) -> None:
    sandbox, _ = sdk
    configuration = clicksend.Configuration(host=sandbox.root_url, username="demo-user", password="wrong")
    api = SmsApi(clicksend.ApiClient(configuration))
    with pytest.raises(ApiException) as raised:
        await in_thread(api.view_sms_templates)
    assert raised.value.status == 401


async def test_sdk_cannot_parse_price_summary(sdk) -> None:
    _, api = sdk
    request = models.CalculateSmsPriceRequest(
        messages=[models.CalculateSmsPriceRequestMessagesInner(to=AU, body="hi", show_summary=True)]
    )
    # ClickSend's example keys _summary.countries by country code; the SDK's
    # model wants the list that the schema describes.
    with pytest.raises(pydantic.ValidationError, match="CalculateSmsPriceDataSummaryCountriesInner"):
        await in_thread(api.calculate_sms_price, calculate_sms_price_request=request)
