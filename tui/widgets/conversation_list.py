"""Conversation list on an OptionList, loaded a page at a time.

A widget per row does not scale past a few hundred rows, so each conversation
is one OptionList option, and the next page is fetched from the cache only
when the highlight comes near the end of what is loaded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo

from rich.table import Table
from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from core.numbers import format_number
from tui.formatting import format_list_time, one_line, status_glyph
from tui.rows import ConversationRow

PAGE_SIZE = 200
# Fetch the next page when the highlight is this close to the last loaded row.
PREFETCH_MARGIN = 20

PageLoader = Callable[[int, int], Awaitable[list[ConversationRow]]]


class ConversationList(OptionList):
    """Conversations, newest or unread first, with badges and delivery glyphs."""

    DEFAULT_CSS = """
    ConversationList {
        height: 1fr;
    }
    """

    class Chosen(Message):
        """The user opened a conversation (Enter or click)."""

        def __init__(self, row: ConversationRow) -> None:
            super().__init__()
            self.row = row

    class HighlightMoved(Message):
        """The highlight moved to a conversation."""

        def __init__(self, row: ConversationRow) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, clock: Callable[[], datetime], tz: tzinfo, region: str = "AU", id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[ConversationRow] = []
        self.loader: PageLoader | None = None
        self.exhausted = False
        self._loading = False
        self._clock = clock
        self._tz = tz
        self._region = region

    @property
    def current(self) -> ConversationRow | None:
        """Conversation under the highlight."""
        if self.highlighted is None or self.highlighted >= len(self.rows):
            return None
        return self.rows[self.highlighted]

    def reload(self, loader: PageLoader, *, keep: str | None = None) -> None:
        """Load the first page again (after a sort change or new data), keeping a selection."""
        # NOTE: a change reloads every loaded row in one query and one set_options. That is
        # cheap for the first pages. A user who paged through thousands of rows pays for a
        # rebuild of all of them on each burst of changes.
        self.loader = loader
        self._load_first(keep)

    @work(exclusive=True, group="conversation-page")
    async def _load_first(self, keep: str | None) -> None:
        assert self.loader is not None
        self._loading = True
        # Keep as many rows as are loaded, so a background reload does not cut
        # the list under a user who has scrolled far down.
        size = max(PAGE_SIZE, len(self.rows))
        # The flag stays set through set_options, whose scroll reset must not load a page.
        try:
            rows = await self.loader(0, size)
            if keep is None and self.current is not None:
                keep = self.current.id
            self.rows = rows
            self.exhausted = len(rows) < size
            self.set_options([self._option(row) for row in rows])
            index = next((i for i, row in enumerate(rows) if _matches(row, keep)), 0 if rows else None)
            self.highlighted = index
        finally:
            self._loading = False
        self._prefetch_if_near_end()

    def _request_more(self) -> None:
        # Claimed before the worker starts, so the highlight and the scroll
        # reaching the end together load one page, not two.
        if self.loader is None or self.exhausted or self._loading or not self.rows:
            return
        self._loading = True
        self._load_more()

    @work(exclusive=True, group="conversation-page")
    async def _load_more(self) -> None:
        assert self.loader is not None
        try:
            rows = await self.loader(len(self.rows), PAGE_SIZE)
        finally:
            self._loading = False
        known = {row.id for row in self.rows}
        fresh = [row for row in rows if row.id not in known]
        self.exhausted = len(rows) < PAGE_SIZE
        self.rows.extend(fresh)
        self.add_options([self._option(row) for row in fresh])
        self._prefetch_if_near_end()

    def _prefetch_if_near_end(self) -> None:
        # A key press at the end that came while another load ran was dropped; catch up.
        if self.highlighted is not None and self.highlighted >= len(self.rows) - PREFETCH_MARGIN:
            self._request_more()

    def update_row(self, row: ConversationRow) -> None:
        """Redraw one conversation in place if it is loaded."""
        for index, existing in enumerate(self.rows):
            if existing.id == row.id:
                self.rows[index] = row
                self.replace_option_prompt_at_index(index, self._prompt(row))
                return

    def index_of(self, conversation_id: str) -> int | None:
        """Position of a loaded conversation."""
        return next((i for i, row in enumerate(self.rows) if row.id == conversation_id), None)

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        if highlighted is None:
            return
        self._prefetch_if_near_end()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # Scrolling with the mouse wheel to the bottom loads the next page too.
        if new >= self.max_scroll_y - 2:
            self._request_more()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list is self and event.option_index < len(self.rows):
            event.stop()
            self.post_message(self.HighlightMoved(self.rows[event.option_index]))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list is self and event.option_index < len(self.rows):
            event.stop()
            self.post_message(self.Chosen(self.rows[event.option_index]))

    def _option(self, row: ConversationRow) -> Option:
        return Option(self._prompt(row), id=row.id)

    def _prompt(self, row: ConversationRow) -> Table:
        title = row.name or format_number(row.their_number, default_region=self._region)
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        unread = row.unread > 0
        grid.add_row(
            Text(title, style="bold" if unread else ""),
            Text(format_list_time(row.last_at, now=self._clock(), tz=self._tz), style="dim"),
        )
        glyph = status_glyph(row.last_status)
        preview = Text()
        if glyph:
            preview.append(glyph + " ", style="red" if row.last_status == "failed" else "green")
        preview.append(one_line(row.last_body), style="" if unread else "dim")
        if unread:
            badge = Text(f" {row.unread} ", style="bold reverse")
        elif row.done:
            badge = Text("✔ done", style="dim")
        else:
            badge = Text("")
        grid.add_row(preview, badge)
        return grid


def _matches(row: ConversationRow, key: str | None) -> bool:
    # A conversation started from a number has the key "new:<number>" until its
    # first message gives it a cache id.
    if key is not None and key.startswith("new:"):
        return row.their_number == key[4:]
    return row.id == key
