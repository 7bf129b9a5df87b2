"""SandboxServer: the aiohttp application, its middlewares and its lifecycle."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import api, control, wire
from sandbox.accounts import STATUS_BANNED, STATUS_NOT_ACTIVE, Account
from sandbox.clock import SandboxClock
from sandbox.persistence import load_state, save_state
from sandbox.pushes import Pusher, check_push_url
from sandbox.state import NotFound, SandboxState
from sandbox.validation import RequestError
from sandbox.wire import PagingError

logger = logging.getLogger(__name__)

# How often the background task applies due events, in wall seconds.
TICK_SECONDS = 0.05

# Wall seconds that stop() waits for requests still in progress.
SHUTDOWN_TIMEOUT_SECONDS = 1.0

# Minimum wall seconds between background saves; the whole state is rewritten each time.
SAVE_INTERVAL_SECONDS = 1.0

# 1000 messages of 8 parts each are about 1.4 MB of JSON, above aiohttp's 1 MiB default.
MAX_BODY_BYTES = 16 * 1024 * 1024


class SandboxServer:
    """A local ClickSend v3 SMS API on 127.0.0.1; use as an async context manager.

    `base_url` is what ClickSendClient takes; `state` gives tests direct access
    to messages, balances and pushes; `advance()` moves the sandbox clock.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: dict[str, Account] | None = None,
        demo_data: bool = False,
        state_path: str | Path | None = None,
        receipt_url: str | None = None,
        inbound_url: str | None = None,
        clock: SandboxClock | None = None,
        inbound_webhook_type: str = "post",
        receipt_before_response: bool = False,
        rate_limit: int | None = None,
        seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.clock = clock or SandboxClock()
        self.state = SandboxState(clock=self.clock, accounts=accounts, seed=seed)
        if rate_limit is not None:
            self.state.default_rate_limit = rate_limit
        self._rate_limit = rate_limit
        self.state_path = Path(state_path) if state_path is not None else None
        self.demo_data = demo_data
        self._receipt_url = receipt_url
        self._inbound_url = inbound_url
        self._inbound_webhook_type = inbound_webhook_type
        self._receipt_before_response = receipt_before_response
        for url in (receipt_url, inbound_url):
            if url is not None:
                check_push_url(url)
        if inbound_webhook_type not in ("post", "get", "json"):
            raise ValueError(f"inbound_webhook_type must be post, get or json, got {inbound_webhook_type!r}")
        self.pusher = Pusher(self.state)
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._advance_lock = asyncio.Lock()
        self._last_save = 0.0
        self.base_url = ""
        self.root_url = ""

    def __repr__(self) -> str:
        return f"SandboxServer(root_url={self.root_url!r}, clock={self.clock!r})"

    # ---- lifecycle ----------------------------------------------------------

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._load_or_seed()
        app = web.Application(
            middlewares=[_error_middleware, _fault_middleware, _auth_middleware],
            client_max_size=MAX_BODY_BYTES,
        )
        app[api.SERVER_KEY] = self
        api.add_routes(app)
        control.add_routes(app)
        # Like a real server, a request keeps running when its client gives up, so a
        # send delayed by the latency fault is still accepted after a client timeout.
        # stop() gives such requests SHUTDOWN_TIMEOUT_SECONDS before cancelling them.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=False, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        self.root_url = f"http://{self.host}:{self.port}"
        self.base_url = f"{self.root_url}/v3"
        self._ticker = asyncio.create_task(self._tick_forever(), name="sandbox-ticker")
        logger.info("sandbox listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.pusher.close()
        self.save()
        logger.info("sandbox stopped")

    def _load_or_seed(self) -> None:
        saved = load_state(self.state_path) if self.state_path is not None else None
        if saved is not None:
            self.state.load_dict(saved)
            logger.info("sandbox state loaded from %s", self.state_path)
        elif self.demo_data:
            from sandbox.demo import seed_demo_data

            seed_demo_data(self.state)
        # Constructor options win over saved settings.
        if self._receipt_url is not None:
            self.state.receipt_url = self._receipt_url
        if self._inbound_url is not None:
            self.state.inbound_url = self._inbound_url
            self.state.inbound_webhook_type = self._inbound_webhook_type
        if self._receipt_before_response:
            self.state.receipt_before_response = True
        if self._rate_limit is not None:
            self.state.faults["rate_limit"] = self._rate_limit

    def save(self) -> None:
        """Write the state to the --state file now, if it changed."""
        if self.state_path is None or not self.state.dirty:
            return
        save_state(self.state_path, self.state.to_dict())
        self.state.dirty = False

    async def _save_in_background(self) -> None:
        """Save at most every SAVE_INTERVAL_SECONDS, encoding and writing in a worker thread."""
        now = time.monotonic()
        if self.state_path is None or not self.state.dirty or now - self._last_save < SAVE_INTERVAL_SECONDS:
            return
        # The snapshot is taken on the event loop, so no request changes it mid-copy.
        data = self.state.to_dict()
        self.state.dirty = False
        self._last_save = now
        try:
            await asyncio.to_thread(save_state, self.state_path, data)
        except (OSError, sqlite3.Error):
            self.state.dirty = True
            raise

    # ---- time -----------------------------------------------------------------

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self.run_due()
                await self._save_in_background()
            except Exception:
                # The ticker must survive a broken push target or a full disk.
                logger.exception("sandbox background step failed")
            await asyncio.sleep(TICK_SECONDS)

    async def run_due(self) -> int:
        """Apply due deliveries and replies, then make due push attempts."""
        async with self._advance_lock:
            ran = self.state.run_due()
            ran += await self.pusher.run_due()
            return ran

    async def advance(self, seconds: float) -> float:
        """Move the sandbox clock forward, applying each event at its own time.

        Returns the new sandbox time. No real time passes, except for push HTTP calls.
        """
        target = self.clock.now() + seconds
        while True:
            due = self.state.next_due()
            if due is None or due > target:
                break
            self.clock.advance(max(0.0, due - self.clock.now()))
            await self.run_due()
        self.clock.advance(max(0.0, target - self.clock.now()))
        await self.run_due()
        return self.clock.now()

    async def run_until_idle(self, *, max_seconds: float = 86400.0) -> float:
        """Advance the clock event by event until nothing is pending within `max_seconds`."""
        limit = self.clock.now() + max_seconds
        while True:
            due = self.state.next_due()
            if due is None or due > limit:
                return self.clock.now()
            await self.advance(max(0.0, due - self.clock.now()))

    # ---- send hooks -------------------------------------------------------------

    async def after_send(self, message_ids: list[str]) -> None:
        """Deliver and push receipts before the send response when that option is on."""
        if not self.state.receipt_before_response:
            return
        for message_id in message_ids:
            message = self.state.messages[message_id]
            if message.next_event_at is not None and message.schedule is None:
                self.state.deliver_now(message)
        await self.pusher.run_due()

    def take_drop_fault(self) -> bool:
        if self.state.faults["drop_after_send"] > 0:
            self.state.faults["drop_after_send"] -= 1
            return True
        return False

    @staticmethod
    def drop_connection(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise _ConnectionDropped


class _ConnectionDropped(Exception):
    """Raised after aborting the socket so that no response is written."""


@web.middleware
async def _error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn every failure into ClickSend's envelope; a bad request never becomes a 500."""
    if request.match_info.http_exception is not None:
        # Observed: an unknown path and a wrong method both return this 404.
        return wire.not_found()
    try:
        return await handler(request)
    except RequestError as exc:
        return wire.error(400, exc.response_code, exc.response_msg, exc.fields)
    except PagingError as exc:
        return wire.bad_request(exc.fields)
    except NotFound as exc:
        return wire.not_found(exc.message)
    except _ConnectionDropped:
        # The socket is already closed; this response is never written.
        return web.Response(status=499)
    except ConnectionResetError:
        logger.info("client of %s %s closed the connection before the request was read",
                    request.method, request.path)
        return web.Response(status=499)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        logger.info("sandbox rejected %s %s: %s", request.method, request.path, exc.reason)
        return wire.error(exc.status, "BAD_REQUEST" if exc.status < 500 else "INTERNAL_SERVER_ERROR", exc.reason)
    except Exception:
        logger.exception("sandbox handler failed for %s %s", request.method, request.path)
        return wire.error(500, "INTERNAL_SERVER_ERROR", "Something is broken.")


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/v3/")


@web.middleware
async def _fault_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Apply the faults set through the control API to ClickSend paths only."""
    if not _is_api(request):
        return await handler(request)
    server = request.app[api.SERVER_KEY]
    faults = server.state.faults
    latency = faults["latency"].get(request.path, faults["latency"].get("*", 0))
    if latency:
        # Read the body first: a client that times out during the delay closes
        # the connection, and the late request must still see its body.
        await request.read()
        await asyncio.sleep(latency)

    # Observed on 200 and 401 responses: x-ratelimit-limit, x-ratelimit-remaining
    # and ratelimit-reset (seconds until the reset, not a time).
    limit, remaining, reset = server.state.count_request()
    if remaining < 0:
        return _too_many_requests(limit, reset)
    if faults["burst_429"] > 0:
        faults["burst_429"] -= 1
        return _too_many_requests(limit, int(faults["retry_after"]))
    if faults["error_rate"] and server.state.random.random() < faults["error_rate"]:
        status = int(faults["error_status"])
        return wire.error(status, "INTERNAL_SERVER_ERROR", "Something is broken.")

    response = await handler(request)
    response.headers["x-ratelimit-limit"] = str(limit)
    response.headers["x-ratelimit-remaining"] = str(remaining)
    response.headers["ratelimit-reset"] = str(reset)
    return response


def _too_many_requests(limit: int, retry_after: int) -> web.Response:
    # Observed: response_code HTTP_TOO_MANY_REQUESTS, not the documented TOO_MANY_REQUESTS.
    return wire.error(
        429,
        "HTTP_TOO_MANY_REQUESTS",
        wire.TOO_MANY_ATTEMPTS_MSG,
        headers={
            "Retry-After": str(retry_after),
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": "0",
            "ratelimit-reset": str(retry_after),
        },
    )


@web.middleware
async def _auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Check HTTP Basic credentials as ClickSend does: 401 without a WWW-Authenticate header."""
    if not _is_api(request):
        return await handler(request)
    server = request.app[api.SERVER_KEY]
    account = _authenticate(server.state, request.headers.get("Authorization", ""))
    if account is None or account.status == STATUS_NOT_ACTIVE:
        return wire.error(401, "UNAUTHORIZED", wire.UNAUTHORIZED_MSG)
    if account.status == STATUS_BANNED:
        return wire.error(403, "FORBIDDEN", wire.SUSPENDED_MSG)
    request[api.ACCOUNT_KEY] = account
    return await handler(request)


def _authenticate(state: SandboxState, header: str) -> Account | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, api_key = decoded.partition(":")
    if not sep:
        return None
    return state.authenticate(username, api_key)
