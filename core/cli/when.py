"""WHEN arguments: ISO 8601 or Unix seconds, read in the configured time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from core.cli.errors import UsageError
from core.config import Settings
from core.service import MAX_SCHEDULE_AHEAD

# A WHEN of this many digits or more is a Unix timestamp. Shorter digit runs
# are ISO 8601 basic dates such as 20261224.
_UNIX_TIMESTAMP = re.compile(r"^\d{9,}(\.\d+)?$")


def parse_when(text: str, *, settings: Settings, option: str = "WHEN") -> datetime:
    """Parse a WHEN argument into a UTC-aware datetime.

    Accepts ISO 8601 with an offset (`2026-12-24T09:00+11:00`, `...Z`), without
    one (read in the configured time zone, else the system's), a date alone
    (midnight), or Unix seconds (`1798063200`).
    """
    value = text.strip()
    if _UNIX_TIMESTAMP.match(value):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise UsageError(f"{option} {text!r} is out of range for a Unix timestamp") from None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"invalid time {text!r} for {option}: use ISO 8601 such as 2026-12-24T09:00 "
            f"(in {zone_name(settings)}), 2026-12-24T09:00+11:00 or the date alone, 2026-12-24 (midnight), "
            "or Unix seconds such as 1798063200"
        ) from None
    return settings.localize(moment).astimezone(UTC)


def check_schedule(moment: datetime, *, now: datetime, settings: Settings) -> datetime:
    """Return `moment`, or raise UsageError when it is in the past or further ahead than the send service accepts."""
    shown = format_time(moment, settings)
    if moment <= now:
        raise UsageError(
            f"--schedule {shown} is in the past (now is {format_time(now, settings)}); "
            "give a future time, or leave --schedule out to send now"
        )
    latest = now + MAX_SCHEDULE_AHEAD
    if moment > latest:
        raise UsageError(
            f"--schedule {shown} is more than {MAX_SCHEDULE_AHEAD.days} days ahead; "
            f"give a time no later than {format_time(latest, settings)}"
        )
    return moment


def format_time(moment: datetime | None, settings: Settings) -> str:
    if moment is None:
        return ""
    return settings.to_local(moment).isoformat(timespec="minutes")


def table_time(moment: datetime | None, settings: Settings) -> str:
    """Format a time for a table: local, to the minute, without the offset."""
    if moment is None:
        return ""
    return settings.to_local(moment).strftime("%Y-%m-%d %H:%M")


def zone_name(settings: Settings) -> str:
    return settings.timezone or "the system's local time zone"
