"""Delivery receipts of one outbound message."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tui.formatting import format_price, format_schedule, one_line
from tui.rows import ThreadEntry

if TYPE_CHECKING:
    from tui.backend import Backend


class ReceiptsScreen(ModalScreen[None]):
    """The message's status, parts, price and every receipt ClickSend sent for it."""

    DEFAULT_CSS = """
    ReceiptsScreen {
        align: center middle;
    }
    ReceiptsScreen > Vertical {
        width: 100;
        height: 70%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ReceiptsScreen DataTable {
        height: 1fr;
    }
    """

    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, backend: Backend, entry: ThreadEntry, *, tz: tzinfo) -> None:
        super().__init__()
        self.backend = backend
        self.entry = entry
        self.tz = tz

    def compose(self) -> ComposeResult:
        entry = self.entry
        facts = [f"status {entry.status or 'unknown'}"]
        if entry.message_id:
            facts.append(f"ClickSend id {entry.message_id}")
        if entry.parts:
            facts.append(f"{entry.parts} part{'s' if entry.parts != 1 else ''}")
        if entry.price is not None:
            facts.append(f"price {format_price(entry.price)}")
        if entry.schedule is not None:
            facts.append(f"scheduled for {format_schedule(entry.schedule, tz=self.tz)}")
        if entry.error:
            facts.append(f"error: {entry.error}")
        with Vertical():
            yield Static(f"Receipts of “{one_line(entry.body, 60)}”")
            yield Static(" · ".join(facts), id="receipt-facts")
            yield DataTable(id="receipts", cursor_type="row")
            yield Static("Esc closes", classes="dim")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("received", "status", "code", "detail")
        self.load()

    @work(exclusive=True, group="receipts")
    async def load(self) -> None:
        table = self.query_one(DataTable)
        receipts = await self.backend.receipts(self.entry)
        if not receipts:
            table.add_row("", "no receipts yet", "", "")
            return
        for receipt in receipts:
            when = format_schedule(receipt.at, tz=self.tz) if receipt.at else ""
            table.add_row(when, receipt.status, receipt.status_code, one_line(receipt.detail, 50))

    def action_close(self) -> None:
        self.dismiss(None)
