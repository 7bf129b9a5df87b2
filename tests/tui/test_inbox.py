"""Reading the inbox with Pilot: list, thread, marks, next unread, sort, copy, keys."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console

from tui.screens.inbox_screen import InboxScreen
from tui.widgets.conversation_list import ConversationList
from tui.widgets.status_bar import StatusBar
from tui.widgets.thread_view import ThreadView

from .conftest import BASE_TIME, SIZE, make_settings

ALICE = "+61491570156"
BOB = "+61491570157"
CAROL = "+61491570158"


def three_conversations() -> list[tuple[str, str, object]]:
    return [
        (ALICE, "Is the plumber coming today?", BASE_TIME - timedelta(hours=3)),
        (BOB, "Thanks for the reminder", BASE_TIME - timedelta(hours=2)),
        (CAROL, "See you at 10", BASE_TIME - timedelta(hours=1)),
    ]


async def loaded_inbox(app, wait_until, count: int) -> InboxScreen:
    await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox screen shown")
    screen = app.screen
    conversations = screen.query_one(ConversationList)
    await wait_until(lambda: conversations.option_count >= count, message=f"{count} conversations listed")
    return screen


async def test_list_shows_newest_first(settings, make_app, seed, wait_until) -> None:
    await seed(settings, three_conversations())
    app = make_app()
    async with app.run_test(size=SIZE):
        screen = await loaded_inbox(app, wait_until, 3)
        rows = screen.query_one(ConversationList).rows
        assert [row.their_number for row in rows] == [CAROL, BOB, ALICE]
        assert all(row.unread == 1 for row in rows)
        assert rows[0].last_body == "See you at 10"


async def test_open_conversation_marks_read(settings, make_app, seed, wait_until) -> None:
    await seed(settings, three_conversations())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded_inbox(app, wait_until, 3)
        await pilot.press("enter")
        thread = screen.query_one(ThreadView)
        await wait_until(lambda: thread.entries, message="thread loaded")
        assert thread.entries[-1].body == "See you at 10"
        assert thread.entries[-1].direction == "in"
        conversations = screen.query_one(ConversationList)
        await wait_until(lambda: conversations.rows[0].unread == 0, message="conversation marked read")
        await wait_until(lambda: screen.query_one(StatusBar).unread == 2, message="unread total 2")


async def test_mark_unread_then_done(settings, make_app, seed, wait_until) -> None:
    await seed(settings, three_conversations(), read=True)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded_inbox(app, wait_until, 3)
        conversations = screen.query_one(ConversationList)
        await wait_until(lambda: screen.conversation is not None, message="first conversation open")
        await pilot.press("u")
        await wait_until(lambda: conversations.rows[0].unread == 1, message="marked unread")
        await wait_until(lambda: screen.query_one(StatusBar).unread == 1, message="unread total 1")
        await pilot.press("d")
        await wait_until(lambda: conversations.rows[0].done, message="marked done")
        assert conversations.rows[0].unread == 0
        await pilot.press("m")
        await wait_until(lambda: screen.query_one(StatusBar).unread == 0, message="unread total 0")


async def test_next_unread_skips_read(settings, make_app, seed, wait_until) -> None:
    await seed(settings, three_conversations()[:2], read=True)
    await seed(settings, [(CAROL, "unread one", BASE_TIME - timedelta(hours=5))])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded_inbox(app, wait_until, 3)
        await pilot.press("n")
        await wait_until(
            lambda: screen.conversation is not None and screen.conversation.their_number == CAROL,
            message="next unread opened Carol",
        )


async def test_next_unread_when_none(settings, make_app, seed, wait_until) -> None:
    await seed(settings, three_conversations(), read=True)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded_inbox(app, wait_until, 3)
        await pilot.press("n")
        await wait_until(
            lambda: any("No unread" in str(n.message) for n in app._notifications), message="no-unread notice"
        )


async def test_sort_unread_first(settings, make_app, seed, wait_until) -> None:
    await seed(settings, three_conversations()[1:], read=True)
    await seed(settings, [(ALICE, "old but unread", BASE_TIME - timedelta(days=2))])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded_inbox(app, wait_until, 3)
        conversations = screen.query_one(ConversationList)
        assert conversations.rows[-1].their_number == ALICE
        await pilot.press("o")
        await wait_until(lambda: conversations.rows[0].their_number == ALICE, message="unread sorted first")


async def test_copy_message_to_clipboard(settings, make_app, seed, wait_until) -> None:
    await seed(settings, three_conversations())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded_inbox(app, wait_until, 3)
        await pilot.press("enter")
        thread = screen.query_one(ThreadView)
        await wait_until(lambda: thread.current is not None, message="message highlighted")
        await pilot.press("y")
        assert app.clipboard == "See you at 10"


async def test_thread_preview_is_one_line(settings, make_app, seed, wait_until) -> None:
    body = "\n".join(f"line {n}" for n in range(100))
    await seed(settings, [(ALICE, body, BASE_TIME)])
    app = make_app()
    async with app.run_test(size=SIZE):
        screen = await loaded_inbox(app, wait_until, 1)
        conversations = screen.query_one(ConversationList)
        # Two lines per conversation: the name and time, then the one-line preview.
        assert conversations.get_option_at_index(0).prompt.row_count == 2
        thread = screen.query_one(ThreadView)
        await wait_until(lambda: thread.entries, message="thread loaded")
        assert thread.entries[0].body == body


async def test_rebound_key_works(tmp_path, sandbox, make_app, seed, wait_until) -> None:
    settings = make_settings(tmp_path, base_url=sandbox.base_url, tui={"keys": {"next_unread": "j"}})
    await seed(settings, three_conversations()[:2], read=True)
    await seed(settings, [(CAROL, "unread one", BASE_TIME - timedelta(hours=5))])
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded_inbox(app, wait_until, 3)
        await pilot.press("n")
        assert screen.conversation is None or screen.conversation.their_number != CAROL
        await pilot.press("j")
        await wait_until(
            lambda: screen.conversation is not None and screen.conversation.their_number == CAROL,
            message="rebound key opened the next unread",
        )


async def test_help_lists_every_binding(settings, make_app, wait_until) -> None:
    from tui.keys import ALL_ACTIONS
    from tui.screens.help_screen import HelpScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        await pilot.press("f1")
        await wait_until(lambda: isinstance(app.screen, HelpScreen), message="help shown")
        help_screen = app.screen
        listed = {binding_id: (keys, description) for keys, description, binding_id in help_screen.rows}
        for action in ALL_ACTIONS:
            assert listed[action.id][1] == action.description
        assert listed["send"][0] == "Ctrl+S"
        assert listed["next_unread"][0] == "n"
        console = Console(width=120, record=True)
        console.print(help_screen._bindings_table())
        rendered = console.export_text()
        for action in ALL_ACTIONS:
            assert action.description in rendered, action.id
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="help closed")
        await pilot.press("question_mark")
        await wait_until(lambda: isinstance(app.screen, HelpScreen), message="help shown with ?")


async def test_palette_lists_actions(settings, make_app, wait_until) -> None:
    from textual.command import CommandPalette

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("New conversation", "Schedule send", "Cancel all scheduled", "Next unread", "Templates", "Search"):
            assert title in titles
        await pilot.press("f2")
        await wait_until(lambda: isinstance(app.screen, CommandPalette), message="theme picker open")


async def test_palette_command_runs_action(settings, make_app, seed, wait_until) -> None:
    await seed(settings, three_conversations()[:2], read=True)
    await seed(settings, [(CAROL, "unread one", BASE_TIME - timedelta(hours=5))])
    app = make_app()
    async with app.run_test(size=SIZE):
        screen = await loaded_inbox(app, wait_until, 3)
        command = next(c for c in app.get_system_commands(screen) if c.title == "Next unread")
        await command.callback()
        await wait_until(
            lambda: screen.conversation is not None and screen.conversation.their_number == CAROL,
            message="palette command opened the next unread",
        )


async def test_activity_log_toggles_and_records(settings, sandbox, make_app, seed, wait_until) -> None:
    from tui.widgets.activity_log import ActivityLog

    await seed(settings, [(ALICE, "Hi", BASE_TIME)], read=True)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded_inbox(app, wait_until, 1)
        log = screen.query_one(ActivityLog)
        assert not log.display
        await pilot.press("l")
        assert log.display
        sandbox.state.add_inbound("demo-user", from_=BOB, body="Running late\nsee you soon")
        await wait_until(
            lambda: any("Running late see you soon" in line for line in log.lines), timeout=10, message="inbound logged"
        )
        await pilot.press("l")
        assert not log.display
