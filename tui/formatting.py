"""Text helpers shared by the inbox widgets: previews, times, numbers, status glyphs."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from decimal import Decimal

PREVIEW_WIDTH = 80

# Glyph per delivery status of an outbound message, in the order a message moves.
STATUS_GLYPHS = {
    "scheduled": "◷",
    "queued": "○",
    "sent": "✓",
    "delivered": "✓✓",
    "failed": "✗",
    "cancelled": "⊘",
}


def one_line(text: str, width: int = PREVIEW_WIDTH) -> str:
    """Return `text` on one line: line breaks become spaces, cut to `width` with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    return flat[: width - 1].rstrip() + "…"


def format_list_time(when: datetime | None, *, now: datetime, tz: tzinfo) -> str:
    """Short time for the conversation list: clock time today, else day and month."""
    if when is None:
        return ""
    local = when.astimezone(tz)
    today = now.astimezone(tz).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%d %b")
    return local.strftime("%d %b %Y")


def format_clock(when: datetime, *, tz: tzinfo) -> str:
    """Clock time of a message in the thread, in the local time zone."""
    return when.astimezone(tz).strftime("%H:%M")


def format_day(when: datetime, *, now: datetime, tz: tzinfo) -> str:
    """Day separator text in the thread ('Today', 'Yesterday' or the date)."""
    day = when.astimezone(tz).date()
    today = now.astimezone(tz).date()
    delta = (today - day).days
    if delta == 0:
        return "Today"
    if delta == 1:
        return "Yesterday"
    return day.strftime("%A %d %B %Y")


def format_schedule(when: datetime, *, tz: tzinfo) -> str:
    """Scheduled time with the time zone name, so the zone is never ambiguous."""
    local = when.astimezone(tz)
    return local.strftime("%d %b %Y %H:%M ") + (local.tzname() or "")


def format_price(amount: Decimal | None, currency: str | None = None) -> str:
    """Money as shown on screen; ClickSend prices are in the account's currency."""
    if amount is None:
        return ""
    text = f"{amount:.4f}".rstrip("0")
    if text.endswith("."):
        text += "00"
    elif len(text.split(".")[1]) < 2:
        text += "0"
    return f"{text} {currency}" if currency else text


def status_glyph(status: str | None) -> str:
    """Glyph for a normalised delivery status, or an empty string when unknown."""
    if not status:
        return ""
    return STATUS_GLYPHS.get(status.lower(), "")


def human_size(size: int) -> str:
    """Size in bytes as a short human-readable string."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# `{name}` but not the escaped `{{name}}`, as core.service.render reads placeholders.
_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


def placeholders(text: str) -> list[str]:
    """Distinct template placeholder names in `text`, in order of appearance."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))
