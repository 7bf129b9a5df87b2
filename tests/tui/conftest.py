"""Fixtures for the inbox tests: settings pointed at the sandbox, the app, and `wait_until`."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.config import Settings, load_settings
from sandbox import SandboxServer
from tui.app import SmsDeskApp
from tui.backend import open_backend

ZONE = ZoneInfo("Australia/Melbourne")
SIZE = (120, 40)

Predicate = Callable[[], Any]


# Seconds a wait_until polls by default. Generous, because the suite shares two cores with
# other work; a condition that never comes true still fails with its message.
WAIT_TIMEOUT = 10.0


async def _wait_until(predicate: Predicate, *, timeout: float = WAIT_TIMEOUT, message: str | None = None) -> Any:
    """Poll `predicate` (plain or async) until it returns something truthy; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            what = message or getattr(predicate, "__name__", "condition")
            # AssertionError, not pytest.fail: Textual's auto-pilot (snapshot tests) only
            # stops the app on an Exception, and pytest's outcome is a BaseException.
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def wait_until() -> Callable[..., Awaitable[Any]]:
    """`await wait_until(predicate, timeout=..., message=...)`: poll instead of sleeping a fixed time."""
    return _wait_until


def make_settings(tmp_path: Path, *, base_url: str, **overrides: Any) -> Settings:
    """Settings for the sandbox account, isolated from the user's own configuration file."""
    config = tmp_path / "config.toml"
    config.write_text("")
    values: dict[str, Any] = {
        "clicksend_username": "demo-user",
        "clicksend_api_key": "demo-key",
        "clicksend_base_url": base_url,
        "cache_path": tmp_path / "cache.sqlite3",
        "timezone": "Australia/Melbourne",
    }
    values.update(overrides)
    return load_settings(config_path=config, **values)


@pytest.fixture
def settings(tmp_path: Path, sandbox: SandboxServer) -> Settings:
    return make_settings(tmp_path, base_url=sandbox.base_url)


@pytest.fixture
def make_app(settings: Settings) -> Callable[..., SmsDeskApp]:
    """Build the inbox on the `sandbox` fixture; `sync_interval` is short so replies arrive fast."""

    def build(app_settings: Settings | None = None, *, sync_interval: float = 0.2, clock: Callable[[], datetime] | None = None) -> SmsDeskApp:
        chosen = app_settings or settings
        options: dict[str, Any] = {"tz": ZONE, "sync_interval": sync_interval}
        if clock is not None:
            options["clock"] = clock
        return SmsDeskApp(chosen, backend=lambda: open_backend(chosen), **options)

    return build


BASE_TIME = datetime(2026, 12, 4, 9, 30, tzinfo=ZONE).astimezone(ZONE)


async def seed_inbound(cache_path: Path, messages: list[tuple[str, str, datetime]], *, read: bool = False) -> None:
    """Write inbound messages (from, body, received_at) straight into the cache file."""
    from core.store import InboundRecord, Store

    records = [
        InboundRecord(
            message_id=f"seed-{index}-{sender}",
            from_number=sender,
            to_number="+61411000000",
            body=body,
            received_at=received_at,
            is_read=read,
        )
        for index, (sender, body, received_at) in enumerate(messages)
    ]
    async with Store.open(cache_path) as store:
        await store.add_inbound(records)


@pytest.fixture
def seed() -> Callable[..., Awaitable[None]]:
    """`await seed(settings, [(from, body, received_at), ...])`: fill the cache before the app opens."""

    async def fill(app_settings: Settings, messages: list[tuple[str, str, datetime]], *, read: bool = False) -> None:
        await seed_inbound(app_settings.cache_path, messages, read=read)

    return fill
