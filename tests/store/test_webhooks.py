"""Webhook routes over real HTTP on 127.0.0.1: tokens, limits, formats, idempotency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.events import EventBus, InboundReceived
from core.store import Store
from core.webhooks import build_webhook_routes

TOKEN = "test-webhook-token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Receiver:
    server: TestServer
    session: aiohttp.ClientSession
    events: EventBus

    def url(self, kind: str, token: str = TOKEN) -> str:
        return str(self.server.make_url(f"/clicksend/{kind}/{token}"))


@pytest.fixture
async def receiver(store: Store) -> AsyncIterator[Receiver]:
    events = EventBus()
    app = web.Application()
    build_webhook_routes(app, store=store, token=TOKEN, events=events, max_body_bytes=4096)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield Receiver(server, session, events)
    finally:
        await server.close()


async def post(receiver: Receiver, kind: str, data, *, headers=None, token: str = TOKEN) -> tuple[int, str]:
    async with receiver.session.post(receiver.url(kind, token), data=data, headers=headers) as response:
        return response.status, await response.text()


async def test_form_inbound_without_plus_is_stored(receiver: Receiver, store: Store) -> None:
    status, _ = await post(receiver, "inbound", "from=61491570156&to=61491570999&body=Fish+%26+chips", headers=FORM)
    (message,) = await store.thread(None, "+61491570156")
    assert status == 200
    assert message.body == "Fish & chips"
    assert message.their_number == "+61491570156"


async def test_inbound_without_sender_is_400(receiver: Receiver, store: Store) -> None:
    with receiver.events.subscribe() as events:
        status, text = await post(receiver, "inbound", "to=61491570999&body=hi", headers=FORM)
        with pytest.raises(TimeoutError):
            await events.get(timeout=0.05)
    assert status == 400
    assert "'from' (or 'sms') is missing" in text
    assert await store.count_conversations() == 0


async def test_json_inbound_is_accepted(receiver: Receiver, store: Store) -> None:
    async with receiver.session.post(
        receiver.url("inbound"), json={"from": "61491570156", "body": "Fish & chips", "message_id": "IN-9"}
    ) as response:
        assert response.status == 200
    assert (await store.message_by_message_id("IN-9", direction="in")).body == "Fish & chips"


async def test_get_inbound_reads_query(receiver: Receiver, store: Store) -> None:
    async with receiver.session.get(
        receiver.url("inbound"), params={"sms": "61491570156", "message": "Yes", "message_id": "IN-7"}
    ) as response:
        assert response.status == 200
    assert (await store.message_by_message_id("IN-7", direction="in")).body == "Yes"


async def test_legacy_inbound_form_matches_snake_case(receiver: Receiver, store: Store) -> None:
    await post(receiver, "inbound", "message_id=IN-1&originalmessageid=MSG-0001&customstring=ticket-42&sms=61491570156&message=Yes", headers=FORM)
    await post(receiver, "inbound", "message_id=IN-2&original_message_id=MSG-0001&custom_string=ticket-42&from=61491570156&body=Yes", headers=FORM)
    legacy = await store.message_by_message_id("IN-1", direction="in")
    snake = await store.message_by_message_id("IN-2", direction="in")
    for message in (legacy, snake):
        assert message.reply_to_message_id == "MSG-0001"
        assert message.custom_string == "ticket-42"
        assert message.their_number == "+61491570156"
        assert message.body == "Yes"


async def test_wrong_token_is_404(receiver: Receiver, store: Store) -> None:
    status, _ = await post(receiver, "inbound", "from=61491570156&body=hi", headers=FORM, token="wrong")
    assert status == 404
    assert await store.count_conversations() == 0


async def test_oversized_body_is_413(receiver: Receiver) -> None:
    status, _ = await post(receiver, "inbound", "from=61491570156&body=" + "x" * 5000, headers=FORM)
    assert status == 413


@pytest.mark.parametrize(
    ("kind", "body", "content_type"),
    [
        ("inbound", b'{"from": ', "application/json"),
        ("inbound", b"[]", "application/json"),
        ("inbound", b"from=12&body=x", "application/x-www-form-urlencoded"),
        ("inbound", b"from=61491570156&timestamp=soon", "application/x-www-form-urlencoded"),
        ("inbound", b"\xff\xfe\x00", "application/octet-stream"),
        ("receipts", b"status_code=201", "application/x-www-form-urlencoded"),
        ("receipts", b"", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_payload_is_400_with_reason(receiver: Receiver, kind: str, body: bytes, content_type: str) -> None:
    status, text = await post(receiver, kind, body, headers={"Content-Type": content_type})
    assert status == 400
    assert text.startswith("Invalid ")


async def test_same_inbound_twice_stored_and_published_once(receiver: Receiver, store: Store) -> None:
    payload = "message_id=IN-0001&from=%2B61491570156&body=ok"
    with receiver.events.subscribe() as events:
        first, _ = await post(receiver, "inbound", payload, headers=FORM)
        second, _ = await post(receiver, "inbound", payload, headers=FORM)
        third, _ = await post(receiver, "inbound", "message_id=IN-0002&from=%2B61491570156&body=ok", headers=FORM)
        received = [await events.get(timeout=1), await events.get(timeout=1)]
        with pytest.raises(TimeoutError):
            await events.get(timeout=0.05)
    assert (first, second, third) == (200, 200, 200)
    assert [event.message.message_id for event in received if isinstance(event, InboundReceived)] == ["IN-0001", "IN-0002"]
    assert len(await store.thread(None, "+61491570156")) == 2


async def test_fifty_concurrent_pushes_all_stored(receiver: Receiver, store: Store) -> None:
    results = await asyncio.gather(
        *(post(receiver, "inbound", f"message_id=IN-{n}&from=61491570156&body=n{n}", headers=FORM) for n in range(50))
    )
    assert {status for status, _ in results} == {200}
    assert len(await store.thread(None, "+61491570156", limit=100)) == 50


async def test_receipt_for_unknown_message_is_200(receiver: Receiver, store: Store) -> None:
    status, _ = await post(receiver, "receipts", "message_id=MSG-9999&messageid=MSG-9999&status_code=201", headers=FORM)
    assert status == 200
    assert [orphan.message_id for orphan in await store.orphan_receipts()] == ["MSG-9999"]


async def test_closed_store_is_503_not_500(receiver: Receiver, store: Store) -> None:
    await store.close()
    status, _ = await post(receiver, "inbound", "from=61491570156&body=hi", headers=FORM)
    assert status == 503


def test_empty_token_rejected(store: Store) -> None:
    with pytest.raises(ValueError, match="webhook token is empty"):
        build_webhook_routes(web.Application(), store=store, token="")


async def test_body_sent_in_pieces_is_read_whole(receiver: Receiver, store: Store) -> None:
    async def pieces():
        yield b"message_id=IN-5&from=61491570156&body="
        await asyncio.sleep(0.01)
        yield b"second+half"

    status, _ = await post(receiver, "inbound", pieces(), headers=FORM)
    assert status == 200
    assert (await store.message_by_message_id("IN-5", direction="in")).body == "second half"


async def test_chunked_oversized_body_is_413(receiver: Receiver) -> None:
    async def pieces():
        for _ in range(10):
            yield b"x" * 1000

    status, _ = await post(receiver, "inbound", pieces(), headers=FORM)
    assert status == 413


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"[" * 4000, "application/json", "nested too deeply"),
        (b'{"from": "61491570156", "body": "hi", "timestamp": 1e400}', "application/json", "out of range"),
        (b"from=61491570156&body=hi&timestamp=99999999999999999999", "application/x-www-form-urlencoded", "out of range"),
        (b"from=61491570156&body=hi&timestamp=nan", "application/x-www-form-urlencoded", "out of range"),
    ],
    ids=["deep-json", "json-huge-float", "form-huge-integer", "form-nan"],
)
async def test_hostile_payloads_are_400(receiver: Receiver, store: Store, body: bytes, content_type: str, reason: str) -> None:
    status, text = await post(receiver, "inbound", body, headers={"Content-Type": content_type})
    assert status == 400
    assert reason in text
    assert await store.count_conversations() == 0
