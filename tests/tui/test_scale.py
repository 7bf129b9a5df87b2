"""A cache of 5,000 conversations opens with one page in the list and pages in on scroll."""

from __future__ import annotations

from datetime import timedelta

from core.store import InboundRecord, Store
from tui.screens.inbox_screen import InboxScreen
from tui.widgets.conversation_list import PAGE_SIZE, ConversationList
from tui.widgets.thread_view import PAGE_SIZE as THREAD_PAGE, ThreadView

from .conftest import BASE_TIME, SIZE

CONVERSATIONS = 5000
# Seconds for one page load; generous because CI machines are loaded, and a passing run is fast.
PAGE_TIMEOUT = 30.0


async def fill_cache(path, *, conversations: int, thread_length: int) -> None:
    records = [
        InboundRecord(
            message_id=f"bulk-{n}",
            from_number=f"+6149157{n:04d}",
            to_number="+61411000000",
            body=f"message from contact {n}",
            received_at=BASE_TIME - timedelta(minutes=n),
            is_read=True,
        )
        for n in range(conversations)
    ]
    # One long thread with the newest contact, to page through.
    records += [
        InboundRecord(
            message_id=f"long-{n}",
            from_number="+61491570000",
            to_number="+61411000000",
            body=f"long thread message {n}",
            received_at=BASE_TIME - timedelta(days=1, minutes=n),
            is_read=True,
        )
        for n in range(thread_length)
    ]
    async with Store.open(path) as store:
        await store.add_inbound(records)


async def test_5000_conversations_open_and_scroll(settings, make_app, wait_until) -> None:
    await fill_cache(settings.cache_path, conversations=CONVERSATIONS, thread_length=250)
    app = make_app(sync_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        conversations = app.screen.query_one(ConversationList)
        await wait_until(lambda: conversations.option_count > 0, message="first page listed")
        assert conversations.option_count == PAGE_SIZE
        assert conversations.rows[0].their_number == "+61491570000"

        await pilot.press("end")
        await wait_until(
            lambda: conversations.option_count == 2 * PAGE_SIZE, timeout=PAGE_TIMEOUT, message="second page on End"
        )
        assert conversations.rows[PAGE_SIZE].their_number == f"+6149157{PAGE_SIZE:04d}"

        while conversations.option_count < CONVERSATIONS:
            loaded = conversations.option_count
            await pilot.press("end")
            await wait_until(
                lambda: conversations.option_count > loaded, timeout=PAGE_TIMEOUT, message=f"page after {loaded} rows"
            )
        assert len({row.id for row in conversations.rows}) == CONVERSATIONS
        await pilot.press("home")
        assert conversations.highlighted == 0


async def test_long_thread_pages_older_on_scroll(settings, make_app, wait_until) -> None:
    await fill_cache(settings.cache_path, conversations=1, thread_length=250)
    app = make_app(sync_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        thread = screen.query_one(ThreadView)
        await wait_until(lambda: thread.entries, message="thread loaded")
        # The list's first row is the contact with the long thread (its newest message is newest).
        assert screen.conversation.their_number == "+61491570000"
        assert len(thread.entries) == THREAD_PAGE
        assert thread.entries[-1].body == "message from contact 0"
        thread.focus()
        await pilot.press("home")
        await wait_until(lambda: len(thread.entries) == 2 * THREAD_PAGE, timeout=PAGE_TIMEOUT, message="older page loaded")
        await pilot.press("home")
        await wait_until(lambda: len(thread.entries) == 251, timeout=PAGE_TIMEOUT, message="oldest page loaded")
        assert thread.entries[0].body == "long thread message 249"
        assert thread.exhausted


async def test_thread_paging_with_equal_times(settings, make_app, wait_until) -> None:
    same_time = BASE_TIME - timedelta(hours=1)
    records = [
        InboundRecord(
            message_id=f"same-{n}",
            from_number="+61491570000",
            to_number="+61411000000",
            body=f"same second {n}",
            received_at=same_time,
            is_read=True,
        )
        for n in range(THREAD_PAGE + 50)
    ]
    async with Store.open(settings.cache_path) as store:
        await store.add_inbound(records)
    app = make_app(sync_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        thread = app.screen.query_one(ThreadView)
        await wait_until(lambda: len(thread.entries) == THREAD_PAGE, message="newest page")
        thread.focus()
        await pilot.press("home")
        await wait_until(lambda: len(thread.entries) == THREAD_PAGE + 50, timeout=PAGE_TIMEOUT, message="older page")
        assert sorted(e.body for e in thread.entries) == sorted(r.body for r in records)
