"""Inbound pushes at 32 at a time while the inbox and the Slack bot read and write the same cache.

Four parts share one cache file. The webhook receiver has its own Store
connection and EventBus, as ``smsdesk serve`` runs it. The Slack bot has its own
connection and relays what another connection stored through its
DataVersionWatcher. The terminal inbox runs headless, and an inbox-like reader on
one more connection polls ``data_version``, the conversation list and the unread
count as fast as it can. A second layout mounts the webhook routes on the bot's own
server, as ``smsdesk slack`` does, so the relay follows the shared EventBus.

Every 25th push is sent twice at the same time, like a ClickSend retry that
arrives while the first push is still being handled. In the end every message
is stored once, published once, relayed to Slack once and shown as unread in
the inbox, and every push got a 200.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from core.client import ClickSendClient
from core.events import EventBus, InboundReceived
from core.service import SmsService
from core.store import Store
from core.webhooks import build_webhook_routes
from slackbot import server as slack_server
from slackbot.app import SlackBot
from tests.reliability.helpers import wait_until
from tests.slackbot.conftest import WEBHOOK_TOKEN, make_settings
from tests.slackbot.fake_slack import SIGNING_SECRET
from tui.app import SmsDeskApp
from tui.backend import open_backend
from tui.widgets.status_bar import StatusBar

CONCURRENCY = 32
MESSAGES_PER_CONVERSATION = 5
RETRIED_EVERY = 25
OUR_NUMBER = "+61481070001"
LOAD_BODY = re.compile(r"Load message \d{5}")


@dataclass
class ReaderStats:
    """What the inbox-like reader saw while the pushes ran."""

    polls: int = 0
    versions: set[int] = field(default_factory=set)
    max_conversations: int = 0
    errors: list[BaseException] = field(default_factory=list)


async def read_like_the_inbox(cache: Path, stop: asyncio.Event, stats: ReaderStats) -> None:
    async with Store.open(cache) as store:
        while not stop.is_set():
            try:
                stats.versions.add(await store.data_version())
                conversations = await store.list_conversations(order="unread", limit=50)
                stats.max_conversations = max(stats.max_conversations, await store.count_conversations())
                await store.unread_total()
                if conversations:
                    await store.thread(conversations[0].our_number or None, conversations[0].their_number, limit=20)
            except Exception as error:  # every failure is reported by the test, none may happen
                stats.errors.append(error)
            stats.polls += 1
            await asyncio.sleep(0.01)


async def count_published(events: EventBus, counter: Counter[str], ready: asyncio.Event) -> None:
    with events.subscribe() as subscription:
        ready.set()
        async for event in subscription:
            if isinstance(event, InboundReceived):
                counter[event.message.message_id] += 1


def inbox_unread(app: SmsDeskApp) -> int | None:
    bars = app.screen.query(StatusBar)
    return bars.first().unread if bars else None


def their_number(index: int) -> str:
    return f"+614915{index // MESSAGES_PER_CONVERSATION:05d}"


def push_form(index: int) -> dict[str, str]:
    return {
        "message_id": f"LOAD-{index:05d}",
        "from": their_number(index).lstrip("+"),
        "to": OUR_NUMBER.lstrip("+"),
        "body": f"Load message {index:05d}",
        "custom_string": "",
    }


async def push_all(url: str, count: int) -> Counter[int]:
    """POST every push (some twice at once), 32 at a time; return the count of each HTTP status."""
    statuses: Counter[int] = Counter()
    slots = asyncio.Semaphore(CONCURRENCY)

    async def push(session: aiohttp.ClientSession, index: int) -> None:
        async with slots:
            async with session.post(url, data=push_form(index)) as response:
                statuses[response.status] += 1
                await response.read()

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        jobs = []
        for index in range(count):
            jobs.append(push(session, index))
            if index % RETRIED_EVERY == 0:
                jobs.append(push(session, index))
        await asyncio.gather(*jobs)
    return statuses


async def start_site(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = await slack_server.start_http(app, host="127.0.0.1", port=0)
    return runner, f"http://127.0.0.1:{slack_server.bound_port(runner)}"


async def run_load(count: int, *, layout: str, fake_slack, sandbox, tmp_path: Path) -> None:
    settings = make_settings(fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path)
    cache = settings.cache_path
    cleanups: list[Any] = []
    stop_reader = asyncio.Event()
    stats = ReaderStats()
    published: Counter[str] = Counter()
    subscribed = asyncio.Event()
    background: list[asyncio.Task[Any]] = []
    try:
        # The bot: its own connection, client and bus, as in `smsdesk slack`.
        bot_store = await Store.connect(cache)
        cleanups.append(bot_store.close)
        client = ClickSendClient(username="demo-user", api_key="demo-key", base_url=sandbox.base_url)
        cleanups.append(client.aclose)
        bot_events = EventBus()
        service = SmsService(client=client, store=bot_store, settings=settings, events=bot_events)
        bot = SlackBot(settings=settings, service=service, store=bot_store, events=bot_events)
        await bot.start()
        cleanups.append(bot.close)
        bot_app = web.Application()
        slack_server.add_slack_routes(bot_app, bolt_app=bot.app, signing_secret=SIGNING_SECRET)

        if layout == "bot-receives":
            build_webhook_routes(bot_app, store=bot_store, token=WEBHOOK_TOKEN, events=bot_events, settings=settings)
            receiver_events = bot_events
        else:
            # The receiver: another connection and bus, as in `smsdesk serve`.
            receiver_store = await Store.connect(cache)
            cleanups.append(receiver_store.close)
            receiver_events = EventBus()
            receiver_app = web.Application()
            build_webhook_routes(receiver_app, store=receiver_store, token=WEBHOOK_TOKEN, events=receiver_events, settings=settings)
            receiver_runner, receiver_url = await start_site(receiver_app)
            cleanups.append(receiver_runner.cleanup)

        bot_runner, bot_url = await start_site(bot_app)
        cleanups.append(bot_runner.cleanup)
        push_url = f"{bot_url if layout == 'bot-receives' else receiver_url}/clicksend/inbound/{WEBHOOK_TOKEN}"

        background.append(asyncio.create_task(read_like_the_inbox(cache, stop_reader, stats)))
        background.append(asyncio.create_task(count_published(receiver_events, published, subscribed)))
        await subscribed.wait()

        # The terminal inbox itself, headless, on the same cache file while the pushes run.
        inbox = SmsDeskApp(settings, backend=lambda: open_backend(settings), sync_interval=5.0)
        async with inbox.run_test(size=(120, 40)):
            statuses = await push_all(push_url, count)
            await wait_until(lambda: inbox_unread(inbox) == count, timeout=max(60.0, count / 20), interval=0.1, what="the inbox showing every message as unread")

        bodies = {f"Load message {index:05d}" for index in range(count)}

        def relayed() -> Counter[str]:
            found: Counter[str] = Counter()
            for call in fake_slack.calls_to("chat.postMessage", ok=True):
                found.update(set(LOAD_BODY.findall(str(call.params))))
            return found

        try:
            await wait_until(lambda: len(relayed()) == count, timeout=max(60.0, count / 20), interval=0.2, what="every message relayed")
        except AssertionError:
            async with Store.open(cache) as check:
                states = Counter(message.relay_status for message in await check.messages(direction="in", limit=count * 2))
            raise AssertionError(f"{len(relayed())} of {count} messages relayed; relay states in the cache: {dict(states)}") from None
        await bot.idle()
        stop_reader.set()
        await background[0]

        expected_ids = {f"LOAD-{index:05d}" for index in range(count)}
        async with Store.open(cache) as check:
            inbound = await check.messages(direction="in", limit=count * 2)
            unread = await check.unread_total()
            conversations = await check.count_conversations()

        assert statuses == Counter({200: count + len(range(0, count, RETRIED_EVERY))})
        assert Counter(message.message_id for message in inbound) == Counter(expected_ids)
        assert {message.relay_status for message in inbound} == {"relayed"}
        assert published == Counter(expected_ids)
        assert relayed() == Counter(bodies)
        assert unread == count
        assert conversations == count // MESSAGES_PER_CONVERSATION
        assert stats.errors == []
        assert stats.polls > 1
        assert len(stats.versions) > 1
    finally:
        stop_reader.set()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for cleanup in reversed(cleanups):
            await cleanup()


@pytest.mark.parametrize("layout", ["separate-receiver", "bot-receives"])
async def test_inbound_load_stored_and_relayed_once(fake_slack, sandbox, tmp_path: Path, layout: str) -> None:
    # With 2,000 pushes the bot's event queue (1,000 events) can overflow, and the
    # catch-up then needs more than one batch (500 rows): relays were once lost there.
    await run_load(2000, layout=layout, fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path)


@pytest.mark.long
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("layout", ["separate-receiver", "bot-receives"])
async def test_inbound_load_stored_and_relayed_once_long(fake_slack, sandbox, tmp_path: Path, layout: str) -> None:
    await run_load(5000, layout=layout, fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path)
