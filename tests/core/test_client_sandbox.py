"""Every ClickSendClient operation against the sandbox over HTTP on 127.0.0.1."""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from core.client import ClickSendClient
from core.errors import (
    AuthenticationError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
)
from core.models import SmsMessage
from core.segments import count_segments
from sandbox import SandboxClock
from sandbox.models import Responder

AU = "+61491570156"
AU_OTHER = "+61491570157"
START = 1_767_225_600  # 2026-01-01 00:00:00 UTC


class FakeClock:
    """A monotonic clock that moves only when the client sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    async def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
async def frozen(make_sandbox):
    """A sandbox whose clock moves only on `advance`, starting at 2026-01-01 UTC."""
    return await make_sandbox(clock=SandboxClock(start=START, frozen=True))


@pytest.fixture
async def client(frozen):
    async with ClickSendClient(username="demo-user", api_key="demo-key", base_url=frozen.base_url) as client:
        yield client


@pytest.fixture
def clock():
    return FakeClock()


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that records the fields of every push."""

    url: str = ""
    received: list = field(default_factory=list)

    async def wait_for(self, predicate, timeout=5.0):
        async with asyncio.timeout(timeout):
            while not predicate(self.received):
                await asyncio.sleep(0.01)


@pytest.fixture
async def receiver():
    state = Receiver()

    async def handle(request):
        if request.content_type == "application/json":
            fields = await request.json()
        elif request.method == "GET":
            fields = dict(request.query)
        else:
            fields = dict(await request.post())
        state.received.append(fields)
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_route("*", "/hook", handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield state
    finally:
        await runner.cleanup()


async def control(sandbox, method, path, payload=None):
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"{sandbox.root_url}/_sandbox{path}", json=payload) as response:
            assert response.status == 200, await response.text()
            return await response.json()


# --- send and price ------------------------------------------------------------


# The custom_string value survives the round trip: send result, receipt and reply.
async def test_custom_string_round_trip(frozen, client):
    frozen.state.responders[AU] = Responder(number=AU, kind="text", text="Yes", delay=5.0)

    sent = await client.send_sms(to=AU, body="Your booking", custom_string="ticket-42")
    message_id = sent.messages[0].message_id
    await frozen.advance(10)
    receipt = await client.get_receipt(message_id)
    reply = await client.get_inbound(message_id)

    assert frozen.state.messages[message_id].custom_string == "ticket-42"
    assert sent.messages[0].custom_string == "ticket-42"
    assert receipt.custom_string == "ticket-42"
    assert reply.custom_string == "ticket-42"
    assert reply.body == "Yes"


async def test_send_sms_result(frozen, client):
    response = await client.send_sms(to=AU, body="hello", sender="ACMEPLUMB")

    [message] = response.messages
    assert message.accepted
    assert message.to == AU
    assert message.from_ == "ACMEPLUMB"
    assert message.message_parts == 1
    assert message.message_price == Decimal("0.0792")
    assert message.date == datetime.fromtimestamp(START, tz=UTC)
    assert response.total_price == Decimal("0.0792")
    assert response.currency.currency_name_short == "AUD"
    assert frozen.state.accounts["demo-user"].balance == Decimal("100") - Decimal("0.0792")


# One accepted and one rejected recipient in one send.
async def test_send_mixed_results(client):
    response = await client.send_sms(to=[AU, "+610000"], body="hello")

    accepted, rejected = response.messages
    assert accepted.accepted
    assert accepted.message_id
    assert not rejected.accepted
    assert rejected.status == "INVALID_RECIPIENT"
    assert rejected.schedule is None
    assert response.queued_count == 1


# An unapproved alpha tag is a failed result, not "sent".
async def test_send_unapproved_sender(client):
    response = await client.send_sms(to=AU, body="hello", sender="RandomCo")

    assert not response.messages[0].accepted
    assert response.messages[0].status == "INVALID_SENDER_ID"


async def test_send_country_not_enabled(frozen, client):
    await control(frozen, "PUT", "/accounts/demo-user", {"enabled_countries": ["NZ"]})

    response = await client.send_sms(to=AU, body="hello")

    assert response.messages[0].status == "COUNTRY_NOT_ENABLED"
    assert response.blocked_count == 1


# The price preview counts parts as core.segments does.
@pytest.mark.parametrize("body", ["Price: 5€", "]" * 80, "]" * 81, "x" * 99 + "’", "😎" * 70])
async def test_price_parts_match_counter(client, body):
    quote = await client.price([SmsMessage(to=AU, body=body)])

    assert quote.messages[0].message_parts == count_segments(body).parts
    assert quote.total_price == count_segments(body).parts * Decimal("0.0792")


async def test_price_sends_nothing(frozen, client):
    await client.price([SmsMessage(to=AU, body="hello")])

    assert frozen.state.messages == {}


async def test_send_large_batch(frozen, client):
    messages = [SmsMessage(to=AU, body=f"hello {index}", custom_string=f"ref-{index}") for index in range(1201)]

    response = await client.send(messages)

    assert response.total_count == 1201
    assert response.queued_count == 1201
    assert len(frozen.state.messages) == 1201
    assert [message.custom_string for message in response.messages] == [f"ref-{index}" for index in range(1201)]


# --- schedule and cancel ---------------------------------------------------------


# An aware schedule becomes an integer; after a cancel the history status is Cancelled.
async def test_schedule_and_cancel(frozen, client):
    due = datetime.fromtimestamp(START, tz=UTC) + timedelta(hours=1)

    sent = await client.send_sms(to=AU, body="later", schedule=due)
    message_id = sent.messages[0].message_id
    await client.cancel(message_id)
    await frozen.advance(7200)
    [row] = (await client.history(q=f"message_id:{message_id}")).data

    assert sent.messages[0].schedule == due
    assert frozen.state.messages[message_id].schedule == START + 3600
    assert row.status == "Cancelled"


async def test_cancel_unknown_not_found(client):
    with pytest.raises(NotFoundError):
        await client.cancel("00000000-0000-0000-0000-000000000000")


async def test_cancel_all_by_custom_string(client):
    due = datetime.fromtimestamp(START, tz=UTC) + timedelta(hours=1)
    await client.send_sms(to=[AU, AU_OTHER], body="later", schedule=due, custom_string="batch-1")
    # A different body, because the sandbox throttles a repeated body to one number as ClickSend does.
    await client.send_sms(to=AU, body="later again", schedule=due, custom_string="batch-2")

    assert await client.cancel_all("batch-1") == 2
    assert await client.cancel_all() == 1


# --- receipts ---------------------------------------------------------------------


async def test_receipts_list_and_mark_read(frozen, client):
    sent = await client.send_sms(to=[AU, AU_OTHER], body="hello")
    await frozen.advance(10)

    receipts = [receipt async for receipt in client.iter_receipts()]
    await client.mark_receipts_read()
    after = await client.list_receipts()

    assert {receipt.message_id for receipt in receipts} == {message.message_id for message in sent.messages}
    assert {receipt.status_code for receipt in receipts} == {"201"}
    assert receipts[0].timestamp.tzinfo is not None
    assert after.data == []


async def test_mark_receipts_read_before(frozen, client):
    await client.send_sms(to=AU, body="first")
    await frozen.advance(10)
    second = await client.send_sms(to=AU_OTHER, body="second")
    await frozen.advance(10)

    await client.mark_receipts_read(date_before=datetime.fromtimestamp(START + 5, tz=UTC))
    remaining = await client.list_receipts()

    assert [receipt.message_id for receipt in remaining.data] == [second.messages[0].message_id]


async def test_get_receipt_unknown(client):
    with pytest.raises(NotFoundError):
        await client.get_receipt("00000000-0000-0000-0000-000000000000")


async def test_test_receipt_poll(client):
    receipt = await client.test_receipt("poll")

    assert receipt.message_id
    assert receipt.status_code is not None


async def test_test_receipt_push(frozen, client, receiver):
    receipt = await client.test_receipt(receiver.url)
    await frozen.advance(1)
    await receiver.wait_for(lambda received: len(received) == 1)

    assert receiver.received[0]["message_id"] == receipt.message_id


# --- inbound ------------------------------------------------------------------------


async def test_inbound_list_get_and_mark_read(frozen, client):
    frozen.state.responders[AU] = Responder(number=AU, kind="echo", delay=5.0)
    sent = await client.send_sms(to=AU, body="ping", custom_string="ticket-7")
    await frozen.advance(10)

    inbound = [message async for message in client.iter_inbound()]
    first = await client.get_inbound(sent.messages[0].message_id)
    marked = await client.mark_inbound_message_read(inbound[0].message_id)
    after = await client.list_inbound()

    assert [message.body for message in inbound] == ["ping"]
    assert inbound[0].from_ == AU
    assert inbound[0].original_message_id == sent.messages[0].message_id
    assert first.message_id == inbound[0].message_id
    assert marked == 1
    assert after.data == []


async def test_mark_inbound_read_all(frozen, client):
    await control(frozen, "POST", "/inbound", {"from": AU, "body": "hello"})
    await control(frozen, "POST", "/inbound", {"from": AU_OTHER, "body": "hi"})

    before = await client.list_inbound()
    await client.mark_inbound_read()
    after = await client.list_inbound()

    assert before.total == 2
    assert after.total == 0


async def test_test_inbound_push(frozen, client, receiver):
    inbound = await client.test_inbound(receiver.url, "json")
    await frozen.advance(1)
    await receiver.wait_for(lambda received: len(received) == 1)

    assert inbound.message_id
    assert receiver.received[0]["message_id"] == inbound.message_id
    assert receiver.received[0]["body"] == inbound.body


# --- templates -----------------------------------------------------------------------


async def test_template_crud(client):
    created = await client.create_template("Reminder", "See you at 9")
    fetched = await client.get_template(created.template_id)
    updated = await client.update_template(created.template_id, "Reminder", "See you at 10")
    listed = [template async for template in client.iter_templates()]
    await client.delete_template(created.template_id)

    assert fetched == created
    assert updated.body == "See you at 10"
    assert [template.template_id for template in listed] == [created.template_id]
    with pytest.raises(NotFoundError):
        await client.get_template(created.template_id)


async def test_templates_paging(client):
    for index in range(20):
        await client.create_template(f"t{index:02d}", "body")

    first = await client.list_templates(limit=15)
    names = [template.template_name async for template in client.iter_templates(limit=15)]

    assert first.has_next
    assert len(first.data) == 15
    assert names == [f"t{index:02d}" for index in range(20)]


# --- history, export and account --------------------------------------------------------


# The sandbox sends history fields as strings; they parse to int, Decimal, datetime.
async def test_history_types(frozen, client):
    await client.send_sms(to=AU, body="hello")
    await frozen.advance(10)

    [row] = (await client.history()).data

    assert row.message_parts == 1
    assert row.message_price == Decimal("0.0792")
    assert row.date == datetime.fromtimestamp(START, tz=UTC)
    assert row.status_code == "201"


async def test_history_filters(frozen, client):
    await client.send_sms(to=AU, body="first")
    await frozen.advance(100)
    await client.send_sms(to=AU_OTHER, body="second")

    by_number = (await client.history(q=f"to:{AU_OTHER}")).data
    by_date = (await client.history(date_from=datetime.fromtimestamp(START + 50, tz=UTC))).data
    newest_first = (await client.history(order_by="date:desc")).data
    everything = [row async for row in client.iter_history(limit=15)]

    assert [row.body for row in by_number] == ["second"]
    assert [row.body for row in by_date] == ["second"]
    assert [row.body for row in newest_first] == ["second", "first"]
    assert len(everything) == 2


async def test_export_history_url(frozen, client):
    await client.send_sms(to=AU, body="hello")

    url = await client.export_history("report.csv")

    assert url.startswith(frozen.root_url)
    assert "report.csv" in url


# The balance arrives as text and parses to Decimal.
async def test_account_balance(frozen, client):
    await control(frozen, "PUT", "/accounts/demo-user", {"balance": "10.500000"})

    account = await client.get_account()

    assert account.balance == Decimal("10.5")
    assert not account.balance < Decimal("9.00")


# --- errors, faults and secrets ------------------------------------------------------------


async def test_wrong_key_authentication_error(frozen, caplog):
    caplog.set_level(logging.DEBUG)
    async with ClickSendClient(username="demo-user", api_key="wrong-key-123", base_url=frozen.base_url) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.list_inbound()

    assert caught.value.http_code == 401
    assert "wrong-key-123" not in str(caught.value)
    assert "wrong-key-123" not in caplog.text


async def test_banned_account_permission_denied(frozen):
    async with ClickSendClient(username="banned", api_key="D83DED51-9E35-4D42-9BB9-0E34B7CA85AE",
                               base_url=frozen.base_url) as client:
        with pytest.raises(PermissionDeniedError):
            await client.list_inbound()


async def test_burst_429_retried_after_retry_after(frozen, clock):
    await control(frozen, "PUT", "/faults", {"burst_429": 2, "retry_after": 3})

    async with ClickSendClient(username="demo-user", api_key="demo-key", base_url=frozen.base_url,
                               sleep=clock.sleep, clock=clock) as client:
        page = await client.list_templates()

    assert page.data == []
    assert clock.sleeps == [3.0, 3.0]


async def test_burst_429_on_send_raised(frozen, clock):
    await control(frozen, "PUT", "/faults", {"burst_429": 1, "retry_after": 3})

    async with ClickSendClient(username="demo-user", api_key="demo-key", base_url=frozen.base_url,
                               sleep=clock.sleep, clock=clock) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.send_sms(to=AU, body="hello")

    assert caught.value.retry_after == 3.0
    assert frozen.state.messages == {}


async def test_dropped_send_outcome_unknown(frozen, client):
    await control(frozen, "PUT", "/faults", {"drop_after_send": 1})

    with pytest.raises(OutcomeUnknownError) as caught:
        await client.send_sms(to=AU, body="hello", custom_string="ticket-42")
    rows = (await client.history()).data

    assert caught.value.custom_strings == ["ticket-42"]
    assert len(frozen.state.messages) == 1
    assert [row.custom_string for row in rows] == ["ticket-42"]


async def test_shared_fixture_client(sandbox, clicksend):
    response = await clicksend.send_sms(to=AU, body="hello")

    assert response.messages[0].accepted
    assert "demo-key" not in repr(clicksend)
