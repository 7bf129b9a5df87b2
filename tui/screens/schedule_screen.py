"""Dialog for the date and time of a scheduled send, in the local time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

TIME_FORMAT = "%Y-%m-%d %H:%M"


def parse_schedule(text: str, *, tz: tzinfo, now: datetime) -> datetime:
    """Parse 'YYYY-MM-DD HH:MM' in `tz` into an aware datetime in the future.

    Raises ValueError naming the value and the expected form.
    """
    try:
        naive = datetime.strptime(text.strip(), TIME_FORMAT)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a date and time; write it as 2026-12-24 09:30") from None
    when = naive.replace(tzinfo=tz)
    if when <= now:
        raise ValueError(f"{text.strip()} is in the past; choose a time after {now.astimezone(tz).strftime(TIME_FORMAT)}")
    return when


class ScheduleScreen(ModalScreen[datetime | None]):
    """Dismissed with an aware datetime, or None when cancelled."""

    DEFAULT_CSS = """
    ScheduleScreen {
        align: center middle;
    }
    ScheduleScreen > Vertical {
        width: 70;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    #schedule-feedback.-invalid {
        color: $error;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, tz: tzinfo, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.tz = tz
        self.clock = clock
        self.when: datetime | None = None

    def compose(self) -> ComposeResult:
        now = self.clock().astimezone(self.tz)
        zone = now.tzname() or str(self.tz)
        # The full hour at least 30 minutes ahead, so the suggestion is never about to pass.
        suggestion = (now + timedelta(minutes=90)).replace(minute=0, second=0, microsecond=0).strftime(TIME_FORMAT)
        with Vertical():
            yield Static(f"Send at (YYYY-MM-DD HH:MM, time zone {zone})")
            yield Input(value=suggestion, id="schedule-input")
            yield Static("", id="schedule-feedback")
            yield Static("Enter schedules the message · Esc cancels", classes="dim")

    def on_mount(self) -> None:
        self._check(self.query_one("#schedule-input", Input).value)

    @on(Input.Changed, "#schedule-input")
    def check_time(self, event: Input.Changed) -> None:
        self._check(event.value)

    def _check(self, value: str) -> None:
        feedback = self.query_one("#schedule-feedback", Static)
        try:
            self.when = parse_schedule(value, tz=self.tz, now=self.clock())
        except ValueError as error:
            self.when = None
            feedback.update(str(error))
            feedback.add_class("-invalid")
            return
        feedback.remove_class("-invalid")
        feedback.update(f"✓ {self.when.strftime('%A %d %B %Y, %H:%M %Z')}")

    @on(Input.Submitted, "#schedule-input")
    def submit(self) -> None:
        if self.when is None:
            self.notify("Enter a future date and time first.", severity="warning")
            return
        self.dismiss(self.when)

    def action_cancel(self) -> None:
        self.dismiss(None)
