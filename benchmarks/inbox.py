"""Inbox open: the terminal inbox on a large cache against a bare OptionList app."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from benchmarks import cache, data
from core.config import load_settings
from core.store import Store

CONVERSATIONS = 5_000
SIZE = (120, 40)
TIMEOUT = 120.0


async def build_cache(path: Path) -> None:
    """Fill a cache with 100,000 messages spread over 5,000 conversations."""
    rows = data.history_rows(cache.MESSAGES, end=int(time.time()) - 60, conversations=CONVERSATIONS)
    async with Store.open(path) as store:
        await store.merge_history(cache.history_records(rows))
        if await store.count_conversations() != CONVERSATIONS:
            raise RuntimeError("the inbox cache does not hold the expected conversations")


async def smsdesk_inbox_open(folder: Path, cache_path: Path, base_url: str) -> float:
    """Seconds from starting the inbox to its first idle screen with conversations and a thread."""
    from tui.app import SmsDeskApp
    from tui.backend import open_backend
    from tui.screens.inbox_screen import InboxScreen
    from tui.widgets.conversation_list import ConversationList
    from tui.widgets.thread_view import ThreadView

    config = folder / "config.toml"
    config.write_text("")
    settings = load_settings(
        config_path=config,
        clicksend_username="bench-user",
        clicksend_api_key="bench-key",
        clicksend_base_url=base_url,
        cache_path=cache_path,
    )
    app = SmsDeskApp(settings, backend=lambda: open_backend(settings), sync_interval=3600)

    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await _wait(lambda: isinstance(app.screen, InboxScreen))
        conversations = app.screen.query_one(ConversationList)
        thread = app.screen.query_one(ThreadView)
        await _wait(lambda: conversations.option_count > 0 and bool(thread.entries))
        await pilot.pause()
        elapsed = time.perf_counter() - started
    return elapsed


async def _wait(predicate, *, timeout: float = TIMEOUT) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError("the inbox did not show its conversations in time")
        await asyncio.sleep(0.005)
