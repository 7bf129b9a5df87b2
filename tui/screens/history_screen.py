"""History search over the cache's full-text index, with filters and CSV export."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Select, Static

from core.numbers import InvalidNumberError, format_number, normalize_number
from core.status import OUTBOUND_STATUSES, RECEIVED
from tui.formatting import format_list_time, one_line
from tui.rows import MessageRow

if TYPE_CHECKING:
    from tui.backend import Backend, SearchFilters

PAGE_SIZE = 50


def parse_day(text: str, *, field: str) -> date | None:
    """Parse an optional YYYY-MM-DD filter, naming the field in the error."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{field} {text.strip()!r} is not a date; write it as 2026-12-24") from None


class HistoryScreen(ModalScreen[str | None]):
    """Dismissed with the number of the conversation to open, or None."""

    DEFAULT_CSS = """
    HistoryScreen {
        align: center middle;
    }
    HistoryScreen > Vertical {
        width: 95%;
        height: 90%;
        border: thick $primary;
        background: $surface;
    }
    HistoryScreen Horizontal {
        height: auto;
    }
    HistoryScreen #search-query {
        width: 1fr;
    }
    HistoryScreen #search-number, HistoryScreen #search-since, HistoryScreen #search-until {
        width: 18;
    }
    HistoryScreen Select {
        width: 18;
    }
    HistoryScreen DataTable {
        height: 1fr;
    }
    HistoryScreen #search-export-path {
        width: 1fr;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        # Priority, because a focused Input binds ctrl+e to "end of line".
        Binding("ctrl+e", "export", "Export CSV", priority=True),
    ]

    def __init__(self, backend: Backend, *, tz: tzinfo, export_dir: Path | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.tz = tz
        self.results: list[MessageRow] = []
        self.exhausted = True
        self.filters: SearchFilters | None = None
        self.export_dir = export_dir or Path.cwd()

    def compose(self) -> ComposeResult:
        statuses = [(status, status) for status in (RECEIVED, *OUTBOUND_STATUSES)]
        with Vertical():
            yield Static("Search messages · Enter searches · Enter in the table opens the conversation · Ctrl+E exports CSV · Esc closes")
            with Horizontal():
                yield Input(placeholder="words in the message", id="search-query")
                yield Input(placeholder="number", id="search-number")
                yield Select(statuses, prompt="any status", id="search-status")
                yield Input(placeholder="from YYYY-MM-DD", id="search-since")
                yield Input(placeholder="to YYYY-MM-DD", id="search-until")
            yield Static("", id="search-summary")
            yield DataTable(id="search-results", cursor_type="row", zebra_stripes=True)
            with Horizontal():
                yield Static("Export to: ")
                stamp = datetime.now(self.tz).strftime("%Y%m%d-%H%M")
                yield Input(value=str(self.export_dir / f"smsdesk-history-{stamp}.csv"), id="search-export-path")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("when", "number", "dir", "status", "message")
        self.query_one("#search-query", Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "search-export-path":
            self.start_search()
        else:
            self.action_export()

    @on(Select.Changed, "#search-status")
    def status_changed(self) -> None:
        if self.filters is not None:
            self.start_search()

    def _read_filters(self) -> SearchFilters:
        from tui.backend import SearchFilters

        number_text = self.query_one("#search-number", Input).value.strip()
        number = None
        if number_text:
            try:
                number = normalize_number(number_text, default_region=self.backend.region)
            except InvalidNumberError as error:
                raise ValueError(str(error)) from None
        status = self.query_one("#search-status", Select).value
        since = parse_day(self.query_one("#search-since", Input).value, field="from date")
        until = parse_day(self.query_one("#search-until", Input).value, field="to date")
        return SearchFilters(
            query=self.query_one("#search-query", Input).value.strip() or None,
            number=number,
            status=None if status is Select.NULL else str(status),
            since=datetime.combine(since, time.min, self.tz) if since else None,
            until=datetime.combine(until + timedelta(days=1), time.min, self.tz) if until else None,
        )

    def start_search(self) -> None:
        try:
            self.filters = self._read_filters()
        except ValueError as error:
            self.query_one("#search-summary", Static).update(str(error))
            return
        self.results = []
        self.query_one(DataTable).clear()
        self.search_page()

    @work(exclusive=True, group="search")
    async def search_page(self) -> None:
        assert self.filters is not None
        rows = await self.backend.search(self.filters, limit=PAGE_SIZE, offset=len(self.results))
        self.exhausted = len(rows) < PAGE_SIZE
        self.results.extend(rows)
        table = self.query_one(DataTable)
        now = datetime.now(self.tz)
        for row in rows:
            entry = row.entry
            table.add_row(
                format_list_time(entry.at, now=now, tz=self.tz),
                row.name or format_number(row.their_number, default_region=self.backend.region),
                "in" if entry.direction == "in" else "out",
                entry.status or "",
                one_line(entry.body, 80),
                key=entry.key,
            )
        more = "" if self.exhausted else " (scroll down for more)"
        self.query_one("#search-summary", Static).update(f"{len(self.results)} message{'s' if len(self.results) != 1 else ''}{more}")
        if rows and table.cursor_row is None:
            table.move_cursor(row=0)

    @on(DataTable.RowHighlighted, "#search-results")
    def maybe_load_more(self, event: DataTable.RowHighlighted) -> None:
        if not self.exhausted and event.cursor_row >= len(self.results) - 5:
            self.exhausted = True  # claimed until the page arrives
            self.search_page()

    @on(DataTable.RowSelected, "#search-results")
    def open_result(self, event: DataTable.RowSelected) -> None:
        row = self.results[event.cursor_row]
        self.dismiss(row.their_number)

    def action_export(self) -> None:
        if self.filters is None:
            self.notify("Search first; the export contains the search results.", severity="warning")
            return
        path = Path(self.query_one("#search-export-path", Input).value.strip()).expanduser()
        self.export(path)

    @work(exclusive=True, group="export")
    async def export(self, path: Path) -> None:
        assert self.filters is not None
        try:
            count = await self.backend.export_csv(self.filters, path)
        except OSError as error:
            self.notify(f"Could not write {path}: {error.strerror or error}", severity="error")
            return
        self.notify(f"Exported {count} message{'s' if count != 1 else ''} to {path}.")

    def action_close(self) -> None:
        self.dismiss(None)
