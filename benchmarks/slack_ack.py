"""Slack ack: time to the HTTP response for signed `/sms price` commands, ClickSend slowed to 10 s."""

from __future__ import annotations

import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from aiohttp import web

from benchmarks import baselines
from benchmarks.bulk_send import API_KEY, USERNAME
from core.client import ClickSendClient
from core.config import load_settings
from core.events import EventBus
from core.service import SmsService
from core.store import Store
from benchmarks.remote_sandbox import RemoteSandbox
from tests.slackbot.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack

COMMANDS = 512
CONCURRENCY = 16
CLICKSEND_DELAY = 10.0


def _command(response_url: str, index: int) -> dict[str, str]:
    return {
        "team_id": "T0FAKE001",
        "channel_id": "C0FAKE001",
        "user_id": "U0FAKE001",
        "command": "/sms",
        "text": "price +61491570156 Your table is ready",
        "response_url": response_url,
        "trigger_id": f"trigger.{index}",
    }


async def smsdesk_ack_p99(server: RemoteSandbox, slack: FakeSlack) -> float:
    """p99 seconds to the HTTP response of the smsdesk bot, 16 commands in flight."""
    from slackbot import server as slack_server
    from slackbot.app import SlackBot

    await server.control("PUT", "faults", {"latency": {"/v3/sms/price": CLICKSEND_DELAY}})

    with tempfile.TemporaryDirectory() as folder:
        async with AsyncExitStack() as stack:
            settings = load_settings(
                config_path=_empty_config(Path(folder)),
                clicksend_username=USERNAME,
                clicksend_api_key=API_KEY,
                clicksend_base_url=server.base_url,
                cache_path=Path(folder) / "cache.sqlite3",
                slack={"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET, "api_url": slack.api_url},
            )
            client = await stack.enter_async_context(
                ClickSendClient(username=USERNAME, api_key=API_KEY, base_url=server.base_url)
            )
            store = await stack.enter_async_context(Store.open(settings.cache_path))
            events = EventBus()
            stack.callback(events.close)
            service = SmsService(client=client, store=store, settings=settings, events=events)
            bot = SlackBot(settings=settings, service=service, store=store, events=events)
            await bot.start()
            stack.push_async_callback(bot.close)

            app = web.Application()
            slack_server.add_slack_routes(app, bolt_app=bot.app, signing_secret=SIGNING_SECRET)
            runner = await slack_server.start_http(app, host="127.0.0.1", port=0)
            stack.push_async_callback(runner.cleanup)
            stack.enter_context(slack_server.startup_objects_frozen())  # as `smsdesk slack` does
            url = f"http://127.0.0.1:{slack_server.bound_port(runner)}{slack_server.SLACK_PATH}"
            return await _p99(url, slack)


async def bare_ack_p99(slack: FakeSlack) -> float:
    """p99 seconds to the HTTP response of a bare Bolt app whose handler only calls ack()."""
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult

    async def authorize(**_: object) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=None, team_id="T0FAKE001", bot_token=BOT_TOKEN, bot_user_id="U0BOT")

    bolt = AsyncApp(signing_secret=SIGNING_SECRET, authorize=authorize, process_before_response=True)

    @bolt.command("/sms")
    async def only_ack(ack) -> None:
        await ack()

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    async with baselines.serving(app) as root_url:
        return await _p99(f"{root_url}/slack/events", slack)


async def _p99(url: str, slack: FakeSlack) -> float:
    requests = [
        baselines.signed_command(SIGNING_SECRET, _command(slack.response_url(f"bench-{index}"), index))
        for index in range(COMMANDS)
    ]
    return baselines.p99(await baselines.command_latencies(url, requests, concurrency=CONCURRENCY))


def _empty_config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text("")
    return path
