"""Shared fixtures: a running sandbox per test and a ClickSend client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from sandbox import SandboxServer


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """A fresh sandbox on 127.0.0.1 (port 0) with the default account demo-user / demo-key.

    Its clock follows real time; call `await sandbox.advance(seconds)` to
    deliver messages, due scheduled sends, replies and push retries at once.
    """
    server = SandboxServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def make_sandbox() -> AsyncIterator[Callable[..., Awaitable[SandboxServer]]]:
    """A factory for sandboxes with options, e.g. `await make_sandbox(clock=SandboxClock(frozen=True))`.

    Every sandbox it started is stopped after the test.
    """
    started: list[SandboxServer] = []

    async def start(**options: Any) -> SandboxServer:
        server = SandboxServer(**options)
        await server.start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            await server.stop()


@pytest.fixture
async def clicksend(sandbox: SandboxServer) -> AsyncIterator[Any]:
    """core.client.ClickSendClient logged in as demo-user against the `sandbox` fixture."""
    # Imported here so that test folders that do not use the client still
    # collect while core.client is being written.
    from core.client import ClickSendClient

    client = ClickSendClient(username="demo-user", api_key="demo-key", base_url=sandbox.base_url)
    try:
        yield client
    finally:
        await client.aclose()
