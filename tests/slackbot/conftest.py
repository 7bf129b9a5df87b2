"""Fixtures for the Slack bot: the Slack stand-in, the sandbox, a real cache and the bot over HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from core.config import STANDARD_ENV_NAMES, Settings, load_settings
from tests.slackbot.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, SlackRequester

WEBHOOK_TOKEN = "test-webhook-token-0123456789"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Keep the user's Slack and ClickSend settings out of the tests."""
    for name in list(STANDARD_ENV_NAMES) + ["SMSDESK_CONFIG"]:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("SMSDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(private_channels=("G0PRIVATE",)) as slack:
        yield slack


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_settings(
    *, fake_slack: FakeSlack, sandbox: Any, tmp_path: Any, poll_interval: float = 0, **slack: Any
) -> Settings:
    options: dict[str, Any] = {
        "bot_token": BOT_TOKEN,
        "signing_secret": SIGNING_SECRET,
        "api_url": fake_slack.api_url,
        "default_channel": "C0FAKE001",
        "confirm_above": None,
        "confirm_recipients_above": None,
    }
    options.update(slack)
    return load_settings(
        clicksend_username="demo-user",
        clicksend_api_key="demo-key",
        clicksend_base_url=sandbox.base_url,
        cache_path=tmp_path / "cache.sqlite3",
        webhook={"token": WEBHOOK_TOKEN},
        sync={"poll_interval": poll_interval},
        slack=options,
    )


@dataclass
class BotUnderTest:
    """The bot behind its HTTP server, with everything a test drives or inspects."""

    bot: Any
    store: Any
    events: Any
    service: Any
    settings: Settings
    slack: FakeSlack
    sandbox: Any
    requester: SlackRequester
    root_url: str

    def webhook_url(self, kind: str) -> str:
        return f"{self.root_url}/clicksend/{kind}/{WEBHOOK_TOKEN}"


@pytest.fixture
async def start_bot(fake_slack, sandbox, tmp_path, http_session) -> AsyncIterator[Callable[..., Awaitable[BotUnderTest]]]:
    """Start the bot in HTTP mode on 127.0.0.1 port 0; keyword arguments set `[slack]` options."""
    from core.client import ClickSendClient
    from core.events import EventBus
    from core.service import SmsService
    from core.store import Store
    from core.webhooks import build_webhook_routes
    from slackbot import server
    from slackbot.app import SlackBot

    cleanups: list[Callable[[], Awaitable[Any]]] = []

    async def start(**slack: Any) -> BotUnderTest:
        settings = make_settings(fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path, **slack)
        clicksend = ClickSendClient(username="demo-user", api_key="demo-key", base_url=sandbox.base_url)
        cleanups.append(clicksend.aclose)
        store = await Store.connect(settings.cache_path)
        cleanups.append(store.close)
        events = EventBus()
        cleanups.append(_as_async(events.close))
        service = SmsService(client=clicksend, store=store, settings=settings, events=events)
        bot = SlackBot(settings=settings, service=service, store=store, events=events)
        await bot.start()
        cleanups.append(bot.close)

        app = web.Application()
        server.add_slack_routes(app, bolt_app=bot.app, signing_secret=SIGNING_SECRET)
        build_webhook_routes(app, store=store, token=WEBHOOK_TOKEN, events=events, settings=settings)
        runner = await server.start_http(app, host="127.0.0.1", port=0)
        cleanups.append(runner.cleanup)
        root = f"http://127.0.0.1:{server.bound_port(runner)}"
        requester = SlackRequester(url=root + server.SLACK_PATH, slack=fake_slack, session=http_session)
        return BotUnderTest(bot, store, events, service, settings, fake_slack, sandbox, requester, root)

    try:
        yield start
    finally:
        for cleanup in reversed(cleanups):
            await cleanup()


def _as_async(function: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        function()

    return run
