"""Activity log: syncs, sends, replies and errors, newest at the bottom.

A message body can be megabytes long (a pasted file, a broken integration), so
the log writes a one-line preview with the body's size, never the body itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from textual.widgets import Log

from core.numbers import format_number
from tui.formatting import human_size, one_line

MAX_LINES = 500
PREVIEW_WIDTH = 60


def describe_body(body: str) -> str:
    """One-line preview of a body; the size is added when the preview cuts it."""
    preview = one_line(body, PREVIEW_WIDTH)
    if len(body) > PREVIEW_WIDTH or "\n" in body:
        return f"{preview} ({human_size(len(body.encode('utf-8')))})"
    return preview


class ActivityLog(Log):
    """The last `MAX_LINES` events of this session."""

    DEFAULT_CSS = """
    ActivityLog {
        height: 8;
        border-top: solid $primary-background;
        display: none;
    }
    ActivityLog.-visible {
        display: block;
    }
    """

    def __init__(
        self, *, clock: Callable[[], datetime], tz: tzinfo, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(max_lines=MAX_LINES, id=id, classes=classes)
        self._clock = clock
        self._tz = tz

    def record(self, text: str) -> None:
        """Write one event line, stamped with the local time."""
        stamp = self._clock().astimezone(self._tz).strftime("%H:%M:%S")
        self.write_line(f"{stamp} {one_line(text, 200)}")

    def record_message(self, direction: str, number: str, body: str) -> None:
        """Write a sent or received message with a preview of its body."""
        arrow = "→" if direction == "out" else "←"
        self.record(f"{arrow} {format_number(number)}: {describe_body(body)}")
