"""Scheduled messages of the cache, soonest first, with cancel."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from core.errors import ClickSendError
from core.numbers import format_number
from tui.formatting import format_schedule, one_line
from tui.rows import MessageRow
from tui.screens.confirm_screen import ConfirmScreen

if TYPE_CHECKING:
    from tui.backend import Backend


class ScheduledScreen(ModalScreen[None]):
    """Every message waiting for its schedule time."""

    DEFAULT_CSS = """
    ScheduledScreen {
        align: center middle;
    }
    ScheduledScreen > Vertical {
        width: 100;
        height: 80%;
        border: thick $primary;
        background: $surface;
    }
    ScheduledScreen OptionList {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("x", "cancel_message", "Cancel message"),
    ]

    def __init__(self, backend: Backend, *, tz: tzinfo) -> None:
        super().__init__()
        self.backend = backend
        self.tz = tz
        self.rows: list[MessageRow] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Scheduled messages · x cancels the highlighted one · Esc closes")
            yield OptionList(id="scheduled-list")
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        self.query_one(OptionList).focus()

    @work(exclusive=True, group="scheduled")
    async def load(self) -> None:
        self.rows = await self.backend.scheduled()
        options = self.query_one(OptionList)
        if not self.rows:
            options.set_options([Option(Text("No scheduled messages.", style="dim"), disabled=True)])
            return
        options.set_options(
            Option(
                Text.assemble(
                    (format_schedule(row.entry.schedule, tz=self.tz) if row.entry.schedule else "?", "cyan"),
                    "  ",
                    (row.name or format_number(row.their_number, default_region=self.backend.region), "bold"),
                    "  ",
                    one_line(row.entry.body, 50),
                ),
                id=row.entry.key,
            )
            for row in self.rows
        )
        options.highlighted = 0

    def action_cancel_message(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None or not self.rows:
            return
        key = options.get_option_at_index(options.highlighted).id
        row = next((r for r in self.rows if r.entry.key == key), None)
        if row is not None:
            self.cancel(row)

    @work(group="scheduled-cancel")
    async def cancel(self, row: MessageRow) -> None:
        if not row.entry.message_id:
            self.notify("ClickSend has not given this message an id yet; try again after the next sync.", severity="warning")
            return
        if not await self.app.push_screen_wait(ConfirmScreen("Cancel this scheduled message?", confirm_label="Cancel message", keep_label="Keep it")):
            return
        try:
            await self.backend.cancel(row.entry.message_id)
        except ClickSendError as error:
            self.notify(f"Could not cancel: {error}", severity="error")
            return
        self.notify("Scheduled message cancelled.")
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
