"""SVG snapshots of the inbox, the composer, the templates screen and the help screen.

Fixed terminal size, clock, time zone and cache contents, and a frozen sandbox,
so a snapshot changes only when the screen does. Textual and Rich are pinned in
pyproject.toml; after bumping them, rerun with `--snapshot-update` on purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from core.store import HistoryRecord, Store
from sandbox import SandboxServer
from sandbox.clock import SandboxClock
from tui.app import SmsDeskApp
from tui.backend import Backend, open_backend
from tui.screens.inbox_screen import InboxScreen
from tui.screens.templates_screen import TemplatesScreen
from tui.widgets.composer import Composer
from tui.widgets.live_line import LiveLine
from tui.widgets.thread_view import ThreadView

from .conftest import SIZE, ZONE, _wait_until, make_settings, seed_inbound

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)  # 20:30 in Melbourne

pytestmark = pytest.mark.snapshot


async def _seed(path: Path) -> None:
    await seed_inbound(
        path,
        [
            ("+61491570157", "Running 10 minutes late, sorry!", NOW - timedelta(hours=3)),
            ("+61491570156", "Great, thanks. Is the side gate open?", NOW - timedelta(minutes=50)),
        ],
    )
    async with Store.open(path) as store:
        await store.merge_history(
            [
                HistoryRecord(
                    message_id="FIXED-0001",
                    direction="out",
                    our_number="+61411000000",
                    their_number="+61491570156",
                    body="Your plumber Alex is on the way and should arrive by 9:30am.",
                    status="delivered",
                    ts=NOW - timedelta(hours=1),
                    parts=1,
                    price=Decimal("0.077"),
                )
            ]
        )


def snapshot_app(tmp_path: Path) -> SmsDeskApp:
    """The inbox on a frozen sandbox and a cache with three fixed messages."""
    app_settings = make_settings(tmp_path, base_url="http://127.0.0.1:9/v3")

    @asynccontextmanager
    async def backend() -> AsyncIterator[Backend]:
        async with SandboxServer(clock=SandboxClock(start=NOW.timestamp(), frozen=True)) as server:
            settings = make_settings(tmp_path, base_url=server.base_url)
            await _seed(settings.cache_path)
            async with open_backend(settings) as opened:
                yield opened

    return SmsDeskApp(app_settings, backend=backend, clock=lambda: NOW, tz=ZONE, sync_interval=3600)


async def _inbox_ready(pilot) -> None:
    app = pilot.app
    await _wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
    screen = app.screen
    await _wait_until(lambda: len(screen.query_one(ThreadView).entries) == 2, message="thread loaded")
    await _wait_until(lambda: "synced" in screen.query_one("#status-bar").sync_state, message="first sync done")
    await _wait_until(lambda: screen.query_one("#status-bar").unread == 2, message="unread total")
    screen.query_one(Composer).cursor_blink = False


def test_inbox_snapshot(tmp_path, snap_compare) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=_inbox_ready)


def test_composer_unicode_snapshot(tmp_path, snap_compare) -> None:
    async def write(pilot) -> None:
        await _inbox_ready(pilot)
        screen = pilot.app.screen
        await pilot.press("r")
        # Replying marks the conversation read; wait for it so the badge is stable.
        await _wait_until(lambda: screen.query_one("#status-bar").unread == 1, message="marked read")
        screen.query_one(Composer).insert("Café ☕ at 10 — see you there")
        line = screen.query_one(LiveLine)
        await _wait_until(lambda: line.price_text.startswith("price ") and "…" not in line.price_text, message="price")

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=write)


def test_templates_snapshot(tmp_path, snap_compare) -> None:
    async def open_templates(pilot) -> None:
        await _inbox_ready(pilot)
        backend = pilot.app.backend
        await backend.create_template(name="Appointment reminder", body="Hi, a reminder of your appointment tomorrow at 9am.")
        await backend.create_template(name="Running late", body="Sorry, we are running about 15 minutes late.")
        await pilot.press("t")
        await _wait_until(lambda: isinstance(pilot.app.screen, TemplatesScreen), message="templates shown")
        await _wait_until(lambda: len(pilot.app.screen.templates) == 2, message="templates loaded")

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=open_templates)


def test_help_snapshot(tmp_path, snap_compare) -> None:
    async def open_help(pilot) -> None:
        await _inbox_ready(pilot)
        await pilot.press("f1")

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=open_help)
