"""Activity log: a bounded number of lines, and huge bodies logged as a preview with their size."""

from __future__ import annotations

from datetime import datetime, timezone

from textual.app import App, ComposeResult
from textual.widgets import Input

from tui.widgets.activity_log import MAX_LINES, ActivityLog, describe_body

from .conftest import SIZE, ZONE

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)


class LogHarness(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(id="probe")
        yield ActivityLog(clock=lambda: NOW, tz=ZONE, id="log", classes="-visible")


def test_describe_body_short_and_long() -> None:
    assert describe_body("On my way") == "On my way"
    huge = "x" * (1024 * 1024)
    preview = describe_body(huge)
    assert preview.endswith("(1.0 MB)")
    assert len(preview) < 100


async def test_log_keeps_last_500_lines(wait_until) -> None:
    app = LogHarness()
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ActivityLog)
        for n in range(2000):
            log.record(f"event {n}")
        assert MAX_LINES == 500
        assert log.line_count == 500
        assert log.lines[0].endswith("event 1500")
        assert log.lines[-1].endswith("event 1999")
        await wait_until(lambda: log.scroll_y == log.max_scroll_y and log.max_scroll_y > 0, message="newest visible")

        log.record_message("in", "+61491570156", "y" * (1024 * 1024))
        assert log.line_count == 500
        assert log.lines[-1].endswith("(1.0 MB)")
        assert len(log.lines[-1]) < 200

        # The app still handles keys right after the huge write.
        app.query_one("#probe", Input).focus()
        await pilot.press("o", "k")
        await wait_until(lambda: app.query_one("#probe", Input).value == "ok", timeout=1, message="key handled")
