"""`smsdesk slack`: check the settings, then run the bot with its own client, cache and pollers.

Every missing setting is reported before anything starts, so the bot never runs
half up (in Socket Mode, Slack returns `dispatch_failed` to every command while no
client is connected).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError

from core.client import ClickSendClient
from core.config import Settings
from core.errors import ClickSendError
from core.events import EventBus
from core.ingest import Ingestor
from core.service import SmsService
from core.store import Store
from core.sync import Syncer
from core.webhooks import build_webhook_routes
from slackbot import server
from slackbot.app import SlackBot, SlackConfigError
from slackbot.relay import slack_error_code

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunPlan:
    """Connection mode and listen address of `smsdesk slack`, checked before anything starts."""

    socket_mode: bool
    host: str
    port: int

    @classmethod
    def from_settings(cls, settings: Settings, args: Any) -> RunPlan:
        slack = settings.slack
        if slack.bot_token is None:
            raise SlackConfigError(
                "SLACK_BOT_TOKEN is not set. Copy the Bot User OAuth Token (xoxb-...) from the Slack app's "
                "OAuth & Permissions page into SLACK_BOT_TOKEN or [slack] bot_token."
            )
        if not settings.has_credentials:
            raise SlackConfigError(
                "CLICKSEND_USERNAME and CLICKSEND_API_KEY are not set, so the bot could not send anything. "
                "Set them (ClickSend dashboard, Developers, API Credentials), or run `smsdesk sandbox` and "
                "point CLICKSEND_BASE_URL at it."
            )
        wants_socket = getattr(args, "socket_mode", None)
        if wants_socket and slack.app_token is None:
            raise SlackConfigError(
                "Socket Mode was requested but SLACK_APP_TOKEN is not set. Create an app-level token with the "
                "connections:write scope (Slack app settings, Basic Information, App-Level Tokens) and set "
                "SLACK_APP_TOKEN, or drop --socket-mode to use HTTP mode."
            )
        socket_mode = slack.app_token is not None if wants_socket is None else bool(wants_socket)
        if not socket_mode and slack.signing_secret is None:
            raise SlackConfigError(
                "SLACK_SIGNING_SECRET is not set, and HTTP mode needs it to verify Slack's requests. Copy the "
                "Signing Secret from the Slack app's Basic Information page, or set SLACK_APP_TOKEN for Socket Mode."
            )
        port = getattr(args, "port", None)
        host = getattr(args, "host", None)
        return cls(socket_mode=socket_mode, host=host or slack.host, port=slack.port if port is None else port)


def run_main(settings: Settings, args: Any) -> int:
    try:
        plan = RunPlan.from_settings(settings, args)
    except SlackConfigError as error:
        print(f"smsdesk: error: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run_until_signal(settings, plan))
    except KeyboardInterrupt:
        pass
    except SlackConfigError as error:
        print(f"smsdesk: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"smsdesk: error: could not listen on {plan.host}:{plan.port}: {error}", file=sys.stderr)
        return 1
    return 0


async def _run_until_signal(settings: Settings, plan: RunPlan) -> None:
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await run(settings, plan, stop=stop)


async def run(
    settings: Settings,
    plan: RunPlan,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[str], Any] | None = None,
) -> None:
    """Run the bot until `stop` is set; `on_ready` gets the HTTP URL (or 'socket mode') once serving."""
    events = EventBus()
    api_key = settings.clicksend_api_key
    async with (
        ClickSendClient(
            username=settings.clicksend_username or "",
            api_key=api_key if api_key is not None else "",
            base_url=settings.clicksend_base_url,
            timeout=settings.clicksend_timeout,
            max_requests_per_second=settings.clicksend_max_requests_per_second,
        ) as clicksend,
        Store.open(settings.cache_path) as store,
    ):
        service = SmsService(client=clicksend, store=store, settings=settings, events=events)
        ingestor = Ingestor.from_settings(settings, store=store, events=events)
        syncer = Syncer(client=clicksend, store=store, ingestor=ingestor, events=events)
        bot = SlackBot(settings=settings, service=service, store=store, events=events)
        await check_slack_tokens(settings, plan, bot)
        await bot.start()
        poller = asyncio.create_task(_poll_forever(settings, syncer, service), name="slack-clicksend-poller")
        try:
            if plan.socket_mode:
                await _serve_socket_mode(settings, bot, stop, on_ready)
            else:
                await _serve_http(settings, plan, bot, store, ingestor, stop, on_ready)
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            await bot.close()
            events.close()


async def check_slack_tokens(settings: Settings, plan: RunPlan, bot: SlackBot) -> None:
    """Raise SlackConfigError unless Slack accepts the bot token (and the app token in Socket Mode).

    Without this check a wrong token leaves the bot running but deaf: the Socket Mode
    client retries forever, and every command fails in Slack with `dispatch_failed`.
    """
    try:
        await bot.verify_identity()
    except SlackApiError as error:
        raise SlackConfigError(
            f"Slack rejected SLACK_BOT_TOKEN ({slack_error_code(error)}). Copy the Bot User OAuth Token "
            "again from the Slack app's OAuth & Permissions page, and reinstall the app if it was revoked."
        ) from None
    except aiohttp.ClientError as error:
        raise SlackConfigError(
            f"Could not reach the Slack Web API at {settings.slack.api_url} ({type(error).__name__}). "
            "Check the network, a proxy, or SLACK_API_URL."
        ) from None
    if not plan.socket_mode:
        return
    assert settings.slack.app_token is not None
    try:
        # Issues a WebSocket URL that is never used; unused URLs expire on Slack's side.
        await bot.client.apps_connections_open(app_token=settings.slack.app_token.get_secret_value())
    except SlackApiError as error:
        raise SlackConfigError(
            f"Slack rejected SLACK_APP_TOKEN ({slack_error_code(error)}). Create an app-level token with the "
            "connections:write scope (Basic Information, App-Level Tokens) and check that Socket Mode is on."
        ) from None


async def _serve_socket_mode(settings: Settings, bot: SlackBot, stop: asyncio.Event,
                             on_ready: Callable[[str], Any] | None) -> None:
    assert settings.slack.app_token is not None
    runner = server.SocketModeRunner(
        bolt_app=bot.app, app_token=settings.slack.app_token.get_secret_value(), web_client=bot.client
    )
    await runner.start()
    try:
        with server.startup_objects_frozen():
            if on_ready is not None:
                on_ready("socket mode")
            await stop.wait()
    finally:
        await runner.close()


async def _serve_http(settings: Settings, plan: RunPlan, bot: SlackBot, store: Store, ingestor: Ingestor,
                      stop: asyncio.Event, on_ready: Callable[[str], Any] | None) -> None:
    assert settings.slack.signing_secret is not None
    app = web.Application()
    server.add_slack_routes(app, bolt_app=bot.app, signing_secret=settings.slack.signing_secret.get_secret_value())
    if settings.webhook.token is not None:
        build_webhook_routes(app, store=store, token=settings.webhook.token.get_secret_value(), ingestor=ingestor)
    else:
        logger.warning("No webhook token ([webhook] token or SMSDESK_WEBHOOK_TOKEN): ClickSend webhooks are off, "
                       "inbound SMS and receipts arrive by polling only")
    runner = await server.start_http(app, host=plan.host, port=plan.port)
    url = f"http://{plan.host}:{server.bound_port(runner)}"
    logger.info("Slack bot listening on %s%s", url, server.SLACK_PATH)
    try:
        with server.startup_objects_frozen():
            if on_ready is not None:
                on_ready(url)
            await stop.wait()
    finally:
        await runner.cleanup()


async def _poll_forever(settings: Settings, syncer: Syncer, service: SmsService) -> None:
    """Poll ClickSend for inbound SMS and receipts, and settle the outbox, every `[sync] poll_interval`."""
    interval = settings.sync.poll_interval
    await _logged("outbox reconcile", service.reconcile)
    if interval <= 0:
        logger.info("Polling is off ([sync] poll_interval = 0); inbound SMS arrive by webhook only")
        return
    while True:
        await _logged("inbound poll", syncer.poll_inbound)
        await _logged("receipt poll", syncer.poll_receipts)
        await asyncio.sleep(interval)
        await _logged("outbox reconcile", service.reconcile)


async def _logged(name: str, action: Callable[[], Awaitable[Any]]) -> None:
    """Run one poll step; a ClickSend or cache error is logged and polling goes on."""
    try:
        await action()
    except ClickSendError as error:
        logger.warning("%s failed: %s", name, error)
    except (OSError, sqlite3.Error) as error:
        logger.error("%s failed: %s", name, error)
