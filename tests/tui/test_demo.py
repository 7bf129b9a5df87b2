"""Demo mode: the embedded sandbox with demo data, and a banner that states it."""

from __future__ import annotations

from tui.app import SmsDeskApp
from tui.backend import open_backend
from tui.screens.inbox_screen import InboxScreen
from tui.widgets.banner import Banner
from tui.widgets.conversation_list import ConversationList
from tui.widgets.status_bar import StatusBar

from .conftest import SIZE, ZONE


async def test_demo_mode_banner_and_data(tmp_path, wait_until) -> None:
    from core.config import load_settings

    config = tmp_path / "config.toml"
    config.write_text("")
    settings = load_settings(config_path=config, cache_path=tmp_path / "never-used.sqlite3")
    assert not settings.has_credentials
    app = SmsDeskApp(settings, backend=lambda: open_backend(settings, demo=True), tz=ZONE)
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        banner = screen.query_one("#demo-banner", Banner)
        assert banner.has_class("-visible")
        text = str(banner.render())
        assert "local ClickSend sandbox" in text
        assert "Nothing is sent" in text
        assert screen.query_one(StatusBar).demo
        conversations = screen.query_one(ConversationList)
        await wait_until(lambda: conversations.option_count >= 5, timeout=10, message="demo conversations synced")
        assert app.backend.client.base_url.startswith("http://127.0.0.1:")
    # The real cache path was never touched in demo mode.
    assert not (tmp_path / "never-used.sqlite3").exists()


async def test_demo_walkthrough(tmp_path, wait_until) -> None:
    """The first-run tasks: reply, delivery, a reply back, schedule and cancel, template, search."""
    from core.config import load_settings
    from core.service import render
    from tui.screens.confirm_screen import ConfirmScreen
    from tui.screens.help_screen import HelpScreen
    from tui.screens.history_screen import HistoryScreen
    from tui.screens.schedule_screen import ScheduleScreen
    from tui.formatting import placeholders
    from tui.screens.template_values_screen import TemplateValuesScreen
    from tui.screens.templates_screen import TemplatesScreen
    from tui.widgets.composer import Composer
    from tui.widgets.thread_view import ThreadView

    config = tmp_path / "config.toml"
    config.write_text("")
    settings = load_settings(config_path=config)
    app = SmsDeskApp(settings, backend=lambda: open_backend(settings, demo=True), tz=ZONE, sync_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, InboxScreen), message="inbox shown")
        screen = app.screen
        await wait_until(lambda: screen.synced_once, timeout=10, message="demo synced")

        await pilot.press("f1")
        await wait_until(lambda: isinstance(app.screen, HelpScreen), message="help shown")
        echo_number = next(number for number, what in app.screen.demo_numbers if "your own text" in what)
        await pilot.press("escape")

        await pilot.press("c")
        await pilot.press(*echo_number, "enter")
        await wait_until(lambda: screen.query_one(Composer).has_focus, message="composer focused")
        await pilot.press(*"Hello sandbox", "ctrl+s")
        thread = screen.query_one(ThreadView)
        await wait_until(lambda: thread.entries and thread.entries[-1].direction == "out", message="reply shown")
        await app.backend.sandbox.advance(30)
        await wait_until(
            lambda: any(e.direction == "out" and e.status == "delivered" for e in thread.entries),
            timeout=10,
            message="delivered",
        )
        await wait_until(
            lambda: any(e.direction == "in" and e.body == "Hello sandbox" for e in thread.entries),
            timeout=10,
            message="reply back from the sandbox",
        )

        def later():
            # Found by body: the sandbox clock was moved ahead, so its reply sorts last.
            return next((e for e in thread.entries if e.body == "Later"), None)

        await pilot.press("escape", "r", *"Later", "ctrl+t")
        await wait_until(lambda: isinstance(app.screen, ScheduleScreen), message="schedule dialog")
        await pilot.press("enter")
        await wait_until(
            lambda: later() is not None and later().status == "scheduled" and later().message_id, message="scheduled"
        )
        thread.focus()
        thread.highlighted = thread.get_option_index(later().key)
        await pilot.press("x")
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen), message="cancel confirmation")
        await pilot.press("y")
        await wait_until(lambda: later().status == "cancelled", message="cancelled")

        await pilot.press("escape", "r", "ctrl+g")
        await wait_until(lambda: isinstance(app.screen, TemplatesScreen), message="templates shown")
        templates = app.screen
        await wait_until(lambda: templates.templates, message="demo templates loaded")
        first = templates.current
        names = placeholders(first.body)
        await pilot.press("enter")
        if names:
            await wait_until(lambda: isinstance(app.screen, TemplateValuesScreen), message="values asked")
            for name in names:
                await pilot.press(*f"my {name}", "enter")
        expected = render(first.body, {name: f"my {name}" for name in names})
        await wait_until(lambda: screen.query_one(Composer).text == expected, message="template inserted")

        screen.query_one("#conversations").focus()
        await pilot.press("slash")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), message="search shown")
        await pilot.press(*"prescription", "enter")
        await wait_until(lambda: app.screen.results, message="old message found")
        assert "prescription" in app.screen.results[0].entry.body
