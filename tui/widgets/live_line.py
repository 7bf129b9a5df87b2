"""The line under the composer: characters, parts, encoding, units left, price."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.widgets import Static

from core.segments import SegmentInfo, count_segments
from tui.formatting import format_price


class LiveLine(Static):
    """Segment count of the draft, updated on every keystroke, and its price when known."""

    DEFAULT_CSS = """
    LiveLine {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.info: SegmentInfo = count_segments("")
        self.chars = 0
        self.price_text = ""

    def on_mount(self) -> None:
        self._render_line()

    def show_draft(self, text: str) -> None:
        """Recount the draft; the previous price no longer applies."""
        self.info = count_segments(text)
        self.chars = len(text)
        self.price_text = "price …" if text else ""
        self._render_line()

    def show_price(self, total: Decimal | None, currency: str | None = None) -> None:
        """Show the price that ClickSend quoted for the draft."""
        self.price_text = f"price {format_price(total, currency)}" if total is not None else ""
        self._render_line()

    def show_price_unavailable(self, reason: str) -> None:
        """Say why there is no price, e.g. no recipient or ClickSend unreachable."""
        self.price_text = reason
        self._render_line()

    def _render_line(self) -> None:
        info = self.info
        chars = self.chars
        line = Text()
        line.append(f"{chars} chars · {info.parts} part{'s' if info.parts != 1 else ''} · ")
        line.append(info.encoding, style="bold yellow" if info.encoding == "UCS-2" else "")
        line.append(f" · {info.remaining} left")
        if self.price_text:
            line.append(f" · {self.price_text}")
        if info.unicode_chars:
            shown = " ".join(repr(char)[1:-1] if not char.isprintable() else char for char in info.unicode_chars[:8])
            more = "…" if len(info.unicode_chars) > 8 else ""
            line.append(f" · Unicode because of: {shown}{more}", style="yellow")
        self.update(line)
