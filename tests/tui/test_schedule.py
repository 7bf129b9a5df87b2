"""Parsing the date and time of a scheduled send in the local time zone."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from tui.screens.schedule_screen import parse_schedule

ZONE = ZoneInfo("Australia/Melbourne")
NOW = datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)  # 20:30 in Melbourne


def test_parse_schedule_local_zone() -> None:
    when = parse_schedule("2026-12-05 09:00", tz=ZONE, now=NOW)
    assert when.utcoffset() is not None
    assert when.astimezone(timezone.utc) == datetime(2026, 12, 4, 22, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 9am", "is not a date and time"),
        ("2026-12-04 20:00", "is in the past"),
        ("", "is not a date and time"),
    ],
)
def test_parse_schedule_rejects(text: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_schedule(text, tz=ZONE, now=NOW)
