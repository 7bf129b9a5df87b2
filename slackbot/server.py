"""Transports between the bot and Slack: HTTP with signed requests, or Socket Mode.

HTTP mode serves Slack's requests on one aiohttp server, which also mounts the
cache's ClickSend webhook routes when a webhook token is configured. Socket Mode
opens a WebSocket to Slack instead, so no public URL is needed; a watchdog
replaces the Socket Mode client when it stays disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from slackbot.payloads import payload_problem
from slackbot.signing import ReplayGuard, SignatureError, verify_request

logger = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
# Socket Mode: how often the watchdog looks, and how long a connection may stay down before
# the client is replaced.
WATCHDOG_INTERVAL_SECONDS = 5.0
WATCHDOG_MAX_DOWN_SECONDS = 30.0


# -- HTTP mode --------------------------------------------------------------------------------


def add_slack_routes(app: web.Application, *, bolt_app: Any, signing_secret: str) -> None:
    """Serve Slack's commands, interactions and events on `SLACK_PATH`, verifying each signature."""
    replays = ReplayGuard()

    async def handle(request: web.Request) -> web.Response:
        try:
            # The signature covers the body bytes exactly as sent; never re-encode them first.
            raw = await request.read()
        except ConnectionResetError:
            logger.info("Slack request to %s: the client closed the connection before the body arrived", request.path)
            return web.Response(status=400)
        try:
            verify_request(secret=signing_secret, body=raw, headers=request.headers)
        except SignatureError as error:
            logger.warning("Rejected Slack request to %s from %s: %s", request.path, request.remote, error)
            return web.json_response({"error": "invalid request"}, status=401)
        if not replays.first_use(request.headers["X-Slack-Signature"]):
            logger.warning("Rejected Slack request to %s from %s: replayed (this signature was already used)",
                           request.path, request.remote)
            return web.json_response({"error": "invalid request"}, status=401)

        bolt_request, problem = _bolt_request(raw, request)
        if bolt_request is None:
            logger.warning("Rejected Slack request to %s: %s", request.path, problem)
            return web.json_response({"error": "invalid request body"}, status=400)
        bolt_response = await bolt_app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    app.router.add_post(SLACK_PATH, handle)


def _bolt_request(raw: bytes, request: web.Request) -> tuple[AsyncBoltRequest | None, str]:
    """Build Bolt's request from a signed body, or return None and why the body is unusable."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "the body is not UTF-8"
    try:
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as error:
        # Bolt parses the body on construction: invalid JSON, or JSON nested too deeply to decode.
        return None, f"unreadable body ({type(error).__name__})"
    problem = payload_problem(bolt_request.body)
    if problem is not None:
        return None, f"malformed payload: {problem}"
    return bolt_request, ""


async def start_http(app: web.Application, *, host: str, port: int) -> web.AppRunner:
    """Start serving `app`; the caller must `await runner.cleanup()`."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


@contextlib.contextmanager
def startup_objects_frozen() -> Iterator[None]:
    """Keep what start-up allocated out of garbage collections while the bot serves.

    Modules, settings and the apps live as long as the bot. Full collections that
    scanned them paused responses for 30-60 ms (measured) under a burst of commands.
    """
    # Collect first, so that start-up garbage is freed instead of frozen with the rest.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def bound_port(runner: web.AppRunner) -> int:
    return int(runner.addresses[0][1])


# -- Socket Mode ------------------------------------------------------------------------------


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler with the same payload shape check as HTTP mode.

    A malformed envelope is acknowledged without a payload (so Slack does not
    redeliver it) and never reaches Bolt.
    """

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        problem = payload_problem(req.payload)
        if problem is not None:
            logger.warning("Rejected Socket Mode envelope %s: malformed payload: %s", req.envelope_id, problem)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        await super().handle(client, req)


class SocketModeRunner:
    """Keep a Socket Mode connection up, replacing the client when it stays down.

    The aiohttp Socket Mode client reconnects by itself. After a server
    `disconnect` followed by a failed reconnect it can stay down for good, so the
    watchdog closes it and opens a new one.
    """

    def __init__(
        self,
        *,
        bolt_app: Any,
        app_token: str,
        web_client: Any,
        interval: float = WATCHDOG_INTERVAL_SECONDS,
        max_down: float = WATCHDOG_MAX_DOWN_SECONDS,
        ping_interval: float = 10.0,
        handler_factory: Callable[..., AsyncSocketModeHandler] = CheckedSocketModeHandler,
    ) -> None:
        self._bolt_app = bolt_app
        self._app_token = app_token
        self._web_client = web_client
        self._interval = interval
        self._max_down = max_down
        self._ping_interval = ping_interval
        self._factory = handler_factory
        self.handler: AsyncSocketModeHandler | None = None
        self.replacements = 0
        self._watchdog: asyncio.Task[None] | None = None

    def _new_handler(self) -> AsyncSocketModeHandler:
        return self._factory(
            self._bolt_app, self._app_token, web_client=self._web_client, ping_interval=self._ping_interval
        )

    async def start(self) -> None:
        self.handler = self._new_handler()
        await self.handler.connect_async()
        logger.info("Connected to Slack over Socket Mode")
        self._watchdog = asyncio.create_task(self._watch(), name="slack-socket-watchdog")

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        down_since: float | None = None
        while True:
            await asyncio.sleep(self._interval)
            assert self.handler is not None
            if await self.handler.client.is_connected():
                down_since = None
                continue
            now = loop.time()
            if down_since is None:
                down_since = now
                logger.warning("Socket Mode connection is down; waiting for the client to reconnect")
            if now - down_since < self._max_down:
                continue
            logger.error("Socket Mode connection down for %.0f s; replacing the client", now - down_since)
            await self._replace()
            down_since = None

    async def _replace(self) -> None:
        old = self.handler
        if old is not None:
            try:
                await old.close_async()
            except Exception as error:
                logger.warning("Closing the old Socket Mode client failed: %r", error)
        self.handler = self._new_handler()
        self.replacements += 1
        try:
            await self.handler.connect_async()
        except Exception as error:
            # The next watchdog round tries again.
            logger.error("Socket Mode reconnect failed: %r", error)

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
            self._watchdog = None
        if self.handler is not None:
            await self.handler.close_async()
            self.handler = None

