"""Fixtures for sandbox tests: a webhook receiver on 127.0.0.1 that records what it gets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web


@dataclass
class ReceivedPush:
    method: str
    path: str
    content_type: str
    query: dict[str, str]
    form: dict[str, str]
    json: Any


@dataclass
class WebhookReceiver:
    """Records every request and returns 500 to the first `fail_next` of them."""

    url: str = ""
    received: list[ReceivedPush] = field(default_factory=list)
    fail_next: int = 0
    attempts: int = 0

    async def wait_for(self, predicate: Callable[[list[ReceivedPush]], bool], timeout: float = 5.0) -> None:
        """Poll until `predicate(received)` holds; fail the test after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate(self.received):
                await asyncio.sleep(0.01)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    state = WebhookReceiver()

    async def handle(request: web.Request) -> web.Response:
        state.attempts += 1
        if state.fail_next > 0:
            state.fail_next -= 1
            return web.Response(status=500, text="receiver down")
        form: dict[str, str] = {}
        payload = None
        if request.content_type == "application/x-www-form-urlencoded":
            form = {key: str(value) for key, value in (await request.post()).items()}
        elif request.content_type == "application/json":
            payload = await request.json()
        state.received.append(
            ReceivedPush(request.method, request.path, request.content_type, dict(request.query), form, payload)
        )
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield state
    finally:
        await runner.cleanup()
