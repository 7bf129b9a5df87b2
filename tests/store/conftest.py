"""Fixtures for the cache tests: a real SQLite file in tmp_path per test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from aiohttp import web
from aiohttp.test_utils import TestServer

from core.store import Store
from core.webhooks import build_webhook_routes

WEBHOOK_TOKEN = "store-test-token-0123456789"


def aiosqlite_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if "_connection_worker_thread" in thread.name]


async def wait_for(predicate: Callable[[], object], *, timeout: float = 10.0, interval: float = 0.01) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite3"


@pytest.fixture
async def store(cache_path: Path) -> AsyncIterator[Store]:
    async with Store.open(cache_path) as opened:
        yield opened


@pytest.fixture
async def webhook_base(store: Store) -> AsyncIterator[str]:
    """Our webhook routes on 127.0.0.1 over ``store``; yields ``http://127.0.0.1:PORT/clicksend``.

    The routes are ``{base}/inbound/{WEBHOOK_TOKEN}`` and ``{base}/receipts/{WEBHOOK_TOKEN}``.
    """
    app = web.Application()
    build_webhook_routes(app, store=store, token=WEBHOOK_TOKEN)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("/clicksend"))
    finally:
        await server.close()
