"""One-line previews, list times and prices as the inbox shows them."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tui.formatting import format_day, format_list_time, format_price, one_line, placeholders, status_glyph

ZONE = ZoneInfo("Australia/Melbourne")
NOW = datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)  # 20:30 in Melbourne


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Line one\nLine two", "Line one Line two"),
        ("tabs\tand\r\nwindows  breaks", "tabs and windows breaks"),
        ("  padded  ", "padded"),
        ("", ""),
    ],
)
def test_one_line_flattens_breaks(text: str, expected: str) -> None:
    assert one_line(text) == expected


def test_one_line_cuts_with_ellipsis() -> None:
    preview = one_line("word " * 100, 80)
    assert len(preview) <= 80
    assert preview.endswith("…")
    assert "\n" not in preview


def test_one_line_of_100_line_body() -> None:
    body = "\n".join(f"line {n} of a long body" for n in range(100))
    preview = one_line(body)
    assert "\n" not in preview
    assert len(preview) == 80
    assert preview.startswith("line 0 of a long body line 1")


def test_list_time_today_and_earlier() -> None:
    assert format_list_time(datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc), now=NOW, tz=ZONE) == "20:00"
    assert format_list_time(datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc), now=NOW, tz=ZONE) == "30 Nov"
    assert format_list_time(datetime(2025, 1, 2, 1, 0, tzinfo=timezone.utc), now=NOW, tz=ZONE) == "02 Jan 2025"
    assert format_list_time(None, now=NOW, tz=ZONE) == ""


def test_day_separator_uses_local_date() -> None:
    # 14:00 UTC on 3 December is 01:00 on 4 December in Melbourne, so it is today there.
    assert format_day(datetime(2026, 12, 3, 14, 0, tzinfo=timezone.utc), now=NOW, tz=ZONE) == "Today"
    assert format_day(datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc), now=NOW, tz=ZONE) == "Yesterday"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("0.077"), "AUD", "0.077 AUD"),
        (Decimal("1"), None, "1.00"),
        (Decimal("12.5"), "AUD", "12.50 AUD"),
        (None, "AUD", ""),
    ],
)
def test_format_price(amount: Decimal | None, currency: str | None, expected: str) -> None:
    assert format_price(amount, currency) == expected


def test_status_glyphs_distinguish_outcomes() -> None:
    assert status_glyph("delivered") == "✓✓"
    assert status_glyph("failed") == "✗"
    assert status_glyph("scheduled") == "◷"
    assert status_glyph(None) == ""


def test_placeholders_skip_escaped_braces() -> None:
    assert placeholders("Hi {name}, {{literal}} at {time}, bye {name}") == ["name", "time"]
    assert placeholders("no fields {} here { spaced }") == []
