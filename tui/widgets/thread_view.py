"""Messages of one conversation as bubbles, newest page first, older pages on scroll.

Each message is one OptionList option, so a message can be highlighted for
copy, cancel, resend and receipts, and a long thread never becomes a widget
per message. Day separators are disabled options.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo

from rich.align import Align
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text
from textual import work
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.formatting import format_clock, format_day, format_price, format_schedule, status_glyph
from tui.rows import ThreadEntry

PAGE_SIZE = 100
# Room kept beside a bubble so inbound and outbound stand apart.
BUBBLE_INDENT = 10

# Returns the page of messages older than the cursor entry (None: the newest
# page), oldest first.
ThreadLoader = Callable[[ThreadEntry | None, int], Awaitable[list[ThreadEntry]]]

STATUS_STYLES = {"failed": "red", "delivered": "green", "sent": "green", "scheduled": "cyan", "cancelled": "dim"}


class ThreadView(OptionList):
    """The open conversation."""

    DEFAULT_CSS = """
    ThreadView {
        height: 1fr;
    }
    """

    def __init__(self, *, clock: Callable[[], datetime], tz: tzinfo, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[ThreadEntry] = []
        self.loader: ThreadLoader | None = None
        self.conversation_id: str | None = None
        self.exhausted = True
        self._loading = False
        self._rebuilding = False
        self._clock = clock
        self._tz = tz

    @property
    def current(self) -> ThreadEntry | None:
        """Message under the highlight."""
        if self.highlighted is None:
            return None
        option = self.get_option_at_index(self.highlighted)
        return self._entry(option.id)

    def show(self, conversation_id: str | None, loader: ThreadLoader | None) -> None:
        """Open a conversation (None clears the view) and load its newest page."""
        self.conversation_id = conversation_id
        self.loader = loader
        self.entries = []
        self.exhausted = loader is None
        self._loading = False
        self.workers.cancel_group(self, "thread-older")
        self.clear_options()
        if loader is not None:
            self._load_newest(conversation_id)

    def refresh_thread(self) -> None:
        """Reload the newest page after new messages or status changes, keeping older pages."""
        if self.loader is not None:
            self._load_newest(self.conversation_id, keep_older=True)

    @work(exclusive=True, group="thread-newest")
    async def _load_newest(self, conversation_id: str | None, keep_older: bool = False) -> None:
        assert self.loader is not None
        at_bottom = self.highlighted is None or self.highlighted >= self.option_count - 1
        highlighted_key = None if at_bottom or self.current is None else self.current.key
        newest = await self.loader(None, PAGE_SIZE)
        if conversation_id != self.conversation_id:
            return
        if keep_older and self.entries and newest:
            # Older pages stay; "older" is by (time, row), because messages can share a time.
            first_new = _position(newest[0])
            newest_keys = {entry.key for entry in newest}
            older = [e for e in self.entries if _position(e) < first_new and e.key not in newest_keys]
            entries = older + newest
        else:
            entries = newest
            self.exhausted = len(newest) < PAGE_SIZE
        if keep_older and self._extend(entries, follow=at_bottom):
            return
        self._rebuild(entries, highlight_key=highlighted_key)

    def _extend(self, entries: list[ThreadEntry], *, follow: bool) -> bool:
        """Append messages newer than every shown one and redraw changed ones in place.

        Returns False, so that the caller rebuilds, when ``entries`` is not the shown
        list followed by newer messages. Appending keeps a new reply from rebuilding
        every bubble of a long thread.
        """
        count = len(self.entries)
        if not count or len(entries) < count:
            return False
        if [entry.key for entry in entries[:count]] != [entry.key for entry in self.entries]:
            return False
        for displayed, entry in zip(self.entries, entries):
            if displayed != entry:
                self.replace_option_prompt(entry.key, self._bubble(entry))

        last_day = self.entries[-1].at.astimezone(self._tz).date()
        options: list[Option] = []
        for entry in entries[count:]:
            day = entry.at.astimezone(self._tz).date()
            if day != last_day:
                options.append(self._day_separator(entry))
                last_day = day
            options.append(Option(self._bubble(entry), id=entry.key))
        self.entries = list(entries)
        if options:
            self.add_options(options)
            if follow:
                self.highlighted = self.get_option_index(entries[-1].key)
                self.scroll_to_highlight()
        return True

    def _request_older(self) -> None:
        # Claimed before the worker starts, so the highlight and the scroll
        # reaching the top together load one page, not two.
        if self.loader is None or self.exhausted or self._loading or self._rebuilding or not self.entries:
            return
        self._loading = True
        self._load_older()

    @work(exclusive=True, group="thread-older")
    async def _load_older(self) -> None:
        assert self.loader is not None
        conversation_id = self.conversation_id
        try:
            older = await self.loader(self.entries[0], PAGE_SIZE)
            if conversation_id != self.conversation_id:
                return
            self.exhausted = len(older) < PAGE_SIZE
            known = {e.key for e in self.entries}
            keep = self.current.key if self.current else None
            self._rebuild([e for e in older if e.key not in known] + self.entries, highlight_key=keep)
        finally:
            self._loading = False

    def update_entry(self, entry: ThreadEntry) -> None:
        """Redraw one message in place (a status change) if it is loaded."""
        for index, existing in enumerate(self.entries):
            if existing.key == entry.key:
                self.entries[index] = entry
                self.replace_option_prompt(entry.key, self._bubble(entry))
                return

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        if highlighted is None or not self.entries or self.exhausted or self._loading:
            return
        # The first option is a day separator, so the oldest message is the top reachable row.
        if self.get_option_at_index(highlighted).id == self.entries[0].key:
            self._request_older()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old:
            self._request_older()

    def _rebuild(self, entries: list[ThreadEntry], *, highlight_key: str | None) -> None:
        # set_options resets the highlight and the scroll position; those resets are
        # not the user reaching the top, so the watchers ignore them.
        self._rebuilding = True
        try:
            self._set_entries(entries, highlight_key=highlight_key)
        finally:
            self._rebuilding = False

    def _set_entries(self, entries: list[ThreadEntry], *, highlight_key: str | None) -> None:
        self.entries = entries
        options: list[Option] = []
        last_day = None
        for entry in entries:
            day = entry.at.astimezone(self._tz).date()
            if day != last_day:
                options.append(self._day_separator(entry))
                last_day = day
            options.append(Option(self._bubble(entry), id=entry.key))
        self.set_options(options)
        if not entries:
            return
        target = highlight_key if highlight_key and self._entry(highlight_key) else entries[-1].key
        self.highlighted = self.get_option_index(target)
        self.scroll_to_highlight()

    def _day_separator(self, entry: ThreadEntry) -> Option:
        day = entry.at.astimezone(self._tz).date()
        label = Text(f"── {format_day(entry.at, now=self._clock(), tz=self._tz)} ──", style="dim", justify="center")
        return Option(label, id=f"day:{day.isoformat()}", disabled=True)

    def _entry(self, key: str | None) -> ThreadEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def _bubble(self, entry: ThreadEntry) -> RenderableType:
        footer = Text(format_clock(entry.at, tz=self._tz), style="dim")
        if entry.direction == "out":
            footer.append("  ")
            footer.append_text(self._status_text(entry))
        elif entry.relay_status == "failed":
            reason = f": {entry.relay_error}" if entry.relay_error else ""
            footer.append(f"  not posted to Slack{reason} (P posts it again)", style="red")
        elif entry.relay_status == "retry":
            footer.append("  waiting for the Slack bot to post it", style="dim")
        panel = Panel(
            Text(entry.body),
            expand=False,
            border_style="blue" if entry.direction == "out" else "magenta",
            padding=(0, 1),
        )
        body = Group(panel, footer)
        if entry.direction == "out":
            return Padding(Align.right(Group(Align.right(panel), Align.right(footer))), (0, 0, 0, BUBBLE_INDENT))
        return Padding(body, (0, BUBBLE_INDENT, 0, 0))

    def _status_text(self, entry: ThreadEntry) -> Text:
        status = entry.status or "queued"
        text = Text(f"{status_glyph(status)} {status}", style=STATUS_STYLES.get(status, ""))
        if status == "scheduled" and entry.schedule is not None:
            text.append(f" for {format_schedule(entry.schedule, tz=self._tz)}")
        if status == "failed" and entry.error:
            text.append(f": {entry.error}")
        details = []
        if entry.parts:
            details.append(f"{entry.parts} part{'s' if entry.parts != 1 else ''}")
        if entry.price is not None:
            details.append(format_price(entry.price))
        if details:
            text.append(" · " + " · ".join(details), style="dim")
        return text


def _position(entry: ThreadEntry) -> tuple[datetime, int]:
    return entry.at, entry.row_id or 0
