"""``smsdesk serve``: the webhook receiver and the pollers, headless, until interrupted.

Start-up: open the cache, open the ClickSend client, settle the outbox once
(``reconcile``), mount the webhook routes, start listening, start polling.

Shutdown runs in this order, so that nothing still uses a resource that is gone:
stop accepting HTTP and let in-flight webhook requests finish (each one either
committed or failed with an error status, which ClickSend retries) -> cancel and await the
poller -> close the ClickSend session -> close the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from core.client import ClickSendClient
from core.errors import ClickSendError
from core.events import EventBus
from core.ingest import Ingestor
from core.service import SmsService
from core.store import Store
from core.sync import Syncer
from core.webhooks import build_webhook_routes

__all__ = ["Server", "run_serve"]

log = logging.getLogger(__name__)

# Seconds that in-flight webhook requests get to finish at shutdown.
SHUTDOWN_GRACE_SECONDS: Final = 5.0


class Server:
    """The running receiver and pollers; ``start()`` then ``stop()``, or ``async with``."""

    def __init__(self, settings: Any, *, host: str | None = None, port: int | None = None, events: EventBus | None = None) -> None:
        self.settings = settings
        webhook = getattr(settings, "webhook", None)
        self.host = host if host is not None else getattr(webhook, "host", "127.0.0.1")
        self.port = port if port is not None else getattr(webhook, "port", 8080)
        sync = getattr(settings, "sync", None)
        self.poll_interval = float(getattr(sync, "poll_interval", 30.0))
        self.events = events or EventBus()
        self.url: str | None = None
        self.store: Store | None = None
        self.client: ClickSendClient | None = None
        self._runner: web.AppRunner | None = None
        self._poller: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        settings = self.settings
        try:
            self.store = await Store.connect(settings.cache_path)
            self.client = ClickSendClient(
                username=settings.clicksend_username,
                api_key=settings.clicksend_api_key,
                base_url=settings.clicksend_base_url,
                timeout=getattr(settings, "clicksend_timeout", 30.0),
                max_requests_per_second=getattr(settings, "clicksend_max_requests_per_second", None),
            )
            ingestor = Ingestor.from_settings(settings, store=self.store, events=self.events)
            service = SmsService(client=self.client, store=self.store, settings=settings, events=self.events)
            syncer = Syncer(client=self.client, store=self.store, ingestor=ingestor, events=self.events)
            await _logged("outbox reconcile", service.reconcile)

            app = web.Application()
            app.router.add_get("/health", _health)
            token = getattr(getattr(settings, "webhook", None), "token", None)
            if token is not None:
                secret = token.get_secret_value() if hasattr(token, "get_secret_value") else str(token)
                build_webhook_routes(app, store=self.store, token=secret, ingestor=ingestor)
            else:
                log.warning("no webhook token configured ([webhook] token or SMSDESK_WEBHOOK_TOKEN): webhooks are off, polling only")
            # No access log: a webhook path contains the secret token.
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
            address = self._runner.addresses[0]
            self.url = f"http://{address[0]}:{address[1]}"
            log.info("serving ClickSend webhooks on %s (/clicksend/inbound/<token>, /clicksend/receipts/<token>)", self.url)

            if self.poll_interval > 0:
                self._poller = asyncio.create_task(self._poll_forever(syncer, service), name="smsdesk-poller")
            else:
                log.info("polling is off ([sync] poll_interval = 0)")
        except BaseException:
            await self.stop()
            raise

    async def _poll_forever(self, syncer: Syncer, service: SmsService) -> None:
        log.info("polling ClickSend every %s s", self.poll_interval)
        while True:
            await _logged("inbound poll", syncer.poll_inbound)
            await _logged("receipt poll", syncer.poll_receipts)
            await _logged("outbox reconcile", service.reconcile)
            await asyncio.sleep(self.poll_interval)

    async def stop(self) -> None:
        """Shut down in order: HTTP, then background tasks, then the ClickSend session, then the cache."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()
        store, self.store = self.store, None
        if store is not None:
            await store.close()
        if runner is not None:
            log.info("stopped serving")


async def _logged(name: str, action: Callable[[], Awaitable[Any]]) -> Any:
    """Run one poll step; a ClickSend or cache error is logged and the loop goes on."""
    try:
        return await action()
    except ClickSendError as error:
        log.warning("%s failed: %s", name, error)
    except (OSError, sqlite3.Error) as error:
        log.error("%s failed: %s", name, error)
    return None


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def run_serve(settings: Any, *, host: str | None = None, port: int | None = None) -> int:
    """Run the receiver and pollers until SIGINT or SIGTERM (or cancellation); return 0."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stopped.set)
            handled.append(signum)
    try:
        async with Server(settings, host=host, port=port):
            await stopped.wait()
            log.info("shutting down")
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
    return 0
