"""aiohttp routes that receive ClickSend's inbound SMS and delivery receipt pushes.

Routes (``{token}`` is the secret path segment from ``[webhook] token``):

- ``POST /clicksend/inbound/{token}``: form (ClickSend's ``post`` rule), JSON (``json``)
- ``GET /clicksend/inbound/{token}``: query string (ClickSend's ``get`` rule)
- ``POST /clicksend/receipts/{token}``: form

Responses: 200 only after the payload is committed to the cache. A wrong token gets
404, the same as an unknown path. A body over the size limit gets 413, and a payload
that cannot be stored gets 400 with the reason. When the cache cannot take the write
the response is 503, and ClickSend retries later. Bad input never yields a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from core.events import EventBus
from core.ingest import Ingestor, PayloadError, decode_payload
from core.store import Store, StoreClosedError

__all__ = ["MAX_BODY_BYTES", "build_webhook_routes"]

log = logging.getLogger(__name__)

# An inbound SMS push is well under 4 KiB (8 concatenated parts of 153 characters plus
# the other fields); 64 KiB leaves room for long UCS-2 bodies encoded as %XX escapes.
MAX_BODY_BYTES: Final = 64 * 1024

# Most records stored in one group-commit transaction.
MAX_GROUP_COMMIT: Final = 500

INBOUND_PATH: Final = "/clicksend/inbound/{token}"
RECEIPTS_PATH: Final = "/clicksend/receipts/{token}"


class _GroupCommit:
    """Store the records of concurrent requests together: one transaction for all that are waiting.

    Each request still gets its response only after the transaction holding its record
    has committed. A burst of pushes then costs a few transactions instead of one each.
    """

    def __init__(self, kind: str, store_batch: Callable[[list[Any]], Awaitable[Any]]) -> None:
        self._kind = kind
        self._store_batch = store_batch
        self._queue: asyncio.Queue[tuple[Any, asyncio.Future[None]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, record: Any) -> None:
        """Queue a record and wait until it is committed; raise what storing it raised."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_forever(), name=f"smsdesk-{self._kind}-writer")
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((record, committed))
        await committed

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_GROUP_COMMIT and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._store_batch([record for record, _ in batch])
            except Exception as error:  # every waiter gets the error, and responds 503 or re-raises it
                for _, committed in batch:
                    if not committed.done():
                        committed.set_exception(error)
            else:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_result(None)

    async def close(self) -> None:
        """Stop the writer; records still queued fail with StoreClosedError (ClickSend retries them)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        while not self._queue.empty():
            _, committed = self._queue.get_nowait()
            if not committed.done():
                committed.set_exception(StoreClosedError("The webhook receiver is shutting down."))


class _WebhookHandlers:
    def __init__(self, *, ingestor: Ingestor, token: str, max_body_bytes: int) -> None:
        if not token:
            raise ValueError("The webhook token is empty: set [webhook] token or SMSDESK_WEBHOOK_TOKEN to a long random string.")
        self._ingestor = ingestor
        self._token = token.encode()
        self._max_body_bytes = max_body_bytes
        self.inbound_writer = _GroupCommit("inbound", ingestor.add_inbound)
        self.receipt_writer = _GroupCommit("receipt", ingestor.add_receipts)

    async def close(self, app: web.Application) -> None:
        await self.inbound_writer.close()
        await self.receipt_writer.close()

    def _check_token(self, request: web.Request) -> None:
        # compare_digest: the time taken does not reveal how much of the token matched.
        if not hmac.compare_digest(request.match_info["token"].encode(), self._token):
            log.warning("webhook %s %s with a wrong token from %s", request.method, request.path.rsplit("/", 1)[0], request.remote)
            raise web.HTTPNotFound()

    async def _payload(self, request: web.Request) -> dict:
        if request.content_length is not None and request.content_length > self._max_body_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=self._max_body_bytes, actual_size=request.content_length)
        # Read to the end in chunks: one read() returns only what has arrived so far.
        body = bytearray()
        async for chunk in request.content.iter_any():
            body += chunk
            if len(body) > self._max_body_bytes:
                raise web.HTTPRequestEntityTooLarge(max_size=self._max_body_bytes, actual_size=len(body))
        return decode_payload(bytes(body), content_type=request.headers.get("Content-Type", ""), query=request.query)

    async def inbound(self, request: web.Request) -> web.Response:
        self._check_token(request)
        try:
            payload = await self._payload(request)
            record = self._ingestor.parse_inbound(payload)
        except PayloadError as error:
            log.warning("rejected an inbound push: %s", error)
            return web.Response(status=400, text=f"Invalid inbound payload: {error}\n")
        try:
            await self.inbound_writer.submit(record)
        except (sqlite3.Error, OSError, StoreClosedError) as error:
            return _unavailable("inbound", record.message_id, error)
        return web.Response(text="OK\n")

    async def receipt(self, request: web.Request) -> web.Response:
        self._check_token(request)
        try:
            payload = await self._payload(request)
            record = self._ingestor.parse_receipt(payload)
        except PayloadError as error:
            log.warning("rejected a receipt push: %s", error)
            return web.Response(status=400, text=f"Invalid receipt payload: {error}\n")
        try:
            await self.receipt_writer.submit(record)
        except (sqlite3.Error, OSError, StoreClosedError) as error:
            return _unavailable("receipt", record.message_id, error)
        return web.Response(text="OK\n")


def _unavailable(kind: str, message_id: str, error: Exception) -> web.Response:
    log.error("could not store %s %s: %s", kind, message_id, error)
    return web.Response(status=503, text="The cache is unavailable; retry later.\n", headers={"Retry-After": "10"})


def build_webhook_routes(
    app: web.Application,
    *,
    store: Store,
    token: str,
    events: EventBus | None = None,
    ingestor: Ingestor | None = None,
    settings: object | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> None:
    """Add the ClickSend webhook routes to ``app``.

    ``settings`` (optional) supplies the default region and opt-out keywords; pass a
    ready ``ingestor`` instead to share one with the pollers.
    """
    if ingestor is None:
        ingestor = (
            Ingestor.from_settings(settings, store=store, events=events)
            if settings is not None
            else Ingestor(store=store, events=events)
        )
    handlers = _WebhookHandlers(ingestor=ingestor, token=token, max_body_bytes=max_body_bytes)
    # on_cleanup runs after in-flight requests have finished, and before the caller closes the store.
    app.on_cleanup.append(handlers.close)
    app.router.add_post(INBOUND_PATH, handlers.inbound)
    app.router.add_get(INBOUND_PATH, handlers.inbound, allow_head=False)
    app.router.add_post(RECEIPTS_PATH, handlers.receipt)
