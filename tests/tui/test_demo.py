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
