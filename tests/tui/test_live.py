"""Live updates: inbound messages and receipts arrive without a refresh; offline banner."""

from __future__ import annotations

import socket

from tui.screens.inbox_screen import InboxScreen
from tui.widgets.banner import Banner
from tui.widgets.conversation_list import ConversationList
from tui.widgets.status_bar import StatusBar
from tui.widgets.thread_view import ThreadView

from .conftest import BASE_TIME, SIZE, make_settings

ALICE = "+61491570156"
BOB = "+61491570157"


async def test_inbound_appears_with_notification(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)], read=True)
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        await wait_until(lambda: screen.conversation is not None, message="Alice open")
        await wait_until(lambda: screen.synced_once, message="first sync done")
        sandbox.state.add_inbound("demo-user", from_=BOB, body="Running late, 10 minutes")
        conversations = screen.query_one(ConversationList)
        await wait_until(
            lambda: any(row.their_number == BOB for row in conversations.rows), timeout=10, message="Bob listed"
        )
        await wait_until(
            lambda: any("Running late" in str(n.message) for n in app._notifications), message="notification"
        )
        await wait_until(lambda: screen.query_one(StatusBar).unread == 1, message="unread total")


async def test_reply_in_open_thread_no_notification(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)], read=True)
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        await wait_until(lambda: screen.conversation is not None, message="Alice open")
        sandbox.state.add_inbound("demo-user", from_=ALICE, body="One more thing", to="+61411000000")
        thread = screen.query_one(ThreadView)
        await wait_until(
            lambda: thread.entries and thread.entries[-1].body == "One more thing", timeout=10, message="reply shown"
        )
        assert not any("One more thing" in str(n.message) for n in app._notifications)


async def test_delivery_status_updates_live(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)], read=True)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        await wait_until(lambda: screen.conversation is not None, message="Alice open")
        await pilot.press("r", *"ok", "ctrl+s")
        thread = screen.query_one(ThreadView)
        await wait_until(
            lambda: thread.entries and thread.entries[-1].status in {"queued", "sent"}, message="queued shown"
        )
        await sandbox.advance(120)
        await wait_until(
            lambda: thread.entries[-1].status == "delivered", timeout=10, message="delivered without a refresh"
        )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_offline_banner_and_cache(tmp_path, make_app, seed, wait_until) -> None:
    settings = make_settings(tmp_path, base_url=f"http://127.0.0.1:{_closed_port()}/v3", clicksend_timeout=1.0)
    await seed(settings, [(ALICE, "cached message", BASE_TIME)])
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        banner = screen.query_one("#offline-banner", Banner)
        await wait_until(lambda: banner.has_class("-visible"), timeout=15, message="offline banner")
        assert "unreachable" in str(banner.render())
        assert screen.query_one(StatusBar).online is False
        thread = screen.query_one(ThreadView)
        await wait_until(lambda: thread.entries, message="cache still readable")
        assert thread.entries[0].body == "cached message"
        await pilot.press("r", *"hi", "ctrl+s")
        await wait_until(
            lambda: any("not sent" in str(n.message) for n in app._notifications), timeout=15, message="send refused"
        )


async def test_first_sync_backlog_not_notified(settings, sandbox, make_app, wait_until) -> None:
    sandbox.state.add_inbound("demo-user", from_=BOB, body="Sent while the inbox was closed")
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        await wait_until(lambda: screen.synced_once, message="first sync done")
        conversations = screen.query_one(ConversationList)
        await wait_until(lambda: conversations.rows and conversations.rows[0].unread == 1, message="backlog listed")
        assert not any("closed" in str(n.message) for n in app._notifications)


async def test_sync_error_keeps_app_open(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, "Hi", BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        await wait_until(lambda: screen.synced_once, message="first sync done")
        # A closed client raises RuntimeError, not a ClickSend error: the kind of bug
        # that must not take the whole inbox down.
        await app.backend.client.aclose()
        status = screen.query_one(StatusBar)
        await wait_until(lambda: status.sync_state.startswith("sync failed:"), message="failure shown")
        assert app.is_running
        assert isinstance(app.screen, InboxScreen)


async def test_rejected_credentials_banner(tmp_path, sandbox, make_app, wait_until) -> None:
    settings = make_settings(tmp_path, base_url=sandbox.base_url, clicksend_api_key="wrong-key")
    app = make_app(settings)
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        banner = screen.query_one("#offline-banner", Banner)
        await wait_until(lambda: banner.has_class("-visible"), message="banner shown")
        text = str(banner.render())
        assert "rejected the credentials" in text
        assert "unreachable" not in text
        assert "wrong-key" not in text
        status = screen.query_one(StatusBar)
        assert status.credentials_rejected
        assert "credentials rejected" in str(status.render())


async def test_reply_appended_without_rebuilding_thread(settings, sandbox, make_app, seed, wait_until) -> None:
    await seed(settings, [(ALICE, f"Message {n}", BASE_TIME.replace(minute=n)) for n in range(20)], read=True)
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        thread = screen.query_one(ThreadView)
        await wait_until(lambda: len(thread.entries) == 20, message="thread loaded")
        # A rebuild (set_options) would replace every Option object; appending keeps them.
        first_option = thread.get_option_at_index(0)

        sandbox.state.add_inbound("demo-user", from_=ALICE, body="Appended reply", to="+61411000000")
        await wait_until(
            lambda: thread.entries[-1].body == "Appended reply", timeout=10, message="reply shown"
        )

        assert thread.get_option_at_index(0) is first_option
        assert thread.get_option_at_index(thread.option_count - 1).id == thread.entries[-1].key
        assert thread.highlighted == thread.option_count - 1
