"""`smsdesk history`, `receipts` and `inbound`: ClickSend's lists, as tables, JSON or CSV."""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core import reference
from core.cli.context import open_client, settings_from
from core.cli.errors import EXIT_OK, UsageError
from core.cli.output import cell, note, preview, print_json, print_line, print_table, table_number, to_jsonable
from core.cli.when import parse_when, table_time
from core.config import Settings
from core.numbers import normalize_number

# Fields that ClickSend's history accepts in `q=field:value`.
HISTORY_QUERY_FIELDS = ("status", "to", "from", "message_id", "subaccount_id")

DEFAULT_LIST_LIMIT = 100

# A schedule at least this long after the creation date is shown in the history table.
SCHEDULE_SHOWN_AFTER = timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class StatusWord:
    """A `--query status:WORD` value: ClickSend's history status, and the status_code it needs, if any."""

    status: str
    status_code: str | None = None


# ClickSend's history has no "Delivered" status: a delivered message is `Sent`
# with status_code 201 (Sent with 200 is only handed to the network). So
# `delivered` requests `Sent` from ClickSend and keeps only the 201 rows. The other
# words are ClickSend's own history statuses, matched without regard to case.
HISTORY_STATUS_WORDS = {
    "delivered": StatusWord("Sent", "201"),
    "sent": StatusWord("Sent"),
    "queued": StatusWord("Queued"),
    "scheduled": StatusWord("Scheduled"),
    "failed": StatusWord("Failed"),
    "cancelled": StatusWord("Cancelled"),
    "canceled": StatusWord("Cancelled"),
    "completed": StatusWord("Completed"),
    "waitapproval": StatusWord("WaitApproval"),
    "cancelledafterreview": StatusWord("CancelledAfterReview"),
    "received": StatusWord("Received"),
}

HISTORY_STATUS_HELP = (
    "status is delivered (received on the handset), sent (handed to the network, delivered or not), "
    "queued, scheduled, failed, cancelled or completed"
)


@dataclasses.dataclass(frozen=True)
class HistoryQuery:
    q: str | None
    """ClickSend's `q` parameter."""
    status_code: str | None = None
    """Keep only rows with this status_code, for filters that `q` cannot express."""

    def keeps(self, row: Any) -> bool:
        return self.status_code is None or str(row.status_code or "") == self.status_code


def _history_query(queries: Sequence[str], settings: Settings) -> HistoryQuery:
    """Build ClickSend's `q` (`field:value,field:value`) and any filter kept here from --query arguments."""
    parts = []
    status_code = None
    for query in queries:
        field, separator, value = query.partition(":")
        field = field.strip().lower()
        if not separator or not value.strip():
            raise UsageError(f"invalid --query {query!r}: use FIELD:VALUE, such as status:delivered or to:+61491570156")
        if field not in HISTORY_QUERY_FIELDS:
            raise UsageError(
                f"invalid --query field {field!r} in {query!r}: ClickSend's history filters on "
                + ", ".join(HISTORY_QUERY_FIELDS)
            )
        value = value.strip()
        if field == "status":
            # ClickSend joins the filters with AND, so two statuses would match nothing.
            if any(part.startswith("status:") for part in parts):
                raise UsageError(f"--query {query!r} is a second status filter; give one status per command")
            word = HISTORY_STATUS_WORDS.get(value.lower())
            if word is None:
                raise UsageError(f"invalid --query {query!r}: {HISTORY_STATUS_HELP}")
            value = word.status
            status_code = word.status_code or status_code
        # Numbers are matched in E.164, and a sender ID such as ACMEPLUMB as written.
        if field in ("to", "from") and not any(char.isalpha() for char in value):
            value = normalize_number(value, default_region=settings.default_region)
        parts.append(f"{field}:{value}")
    return HistoryQuery(q=",".join(parts) or None, status_code=status_code)


def later_schedule(row: Any) -> datetime | None:
    """Return the row's schedule when it is later than the row's date, else None.

    ClickSend gives a message sent at once a schedule equal to its date, which
    would only repeat the date column.
    """
    if row.schedule is None or (row.date is not None and row.schedule - row.date < SCHEDULE_SHOWN_AFTER):
        return None
    return row.schedule


def history_status(row: Any) -> str:
    """Return the status to show for a history row: `Delivered` for ClickSend's Sent with status_code 201."""
    if (row.status or "").lower() == "sent" and str(row.status_code or "") == "201":
        return "Delivered"
    return row.status or ""


def user_reference(custom_string: str | None) -> str | None:
    """Return the user's part of a custom_string, without the outbox reference smsdesk adds."""
    return reference.split(custom_string)[0]


def listing_json(items: Sequence[Any]) -> list[dict[str, Any]]:
    """Convert history rows, receipts or inbound messages to JSON with the user's custom_string only."""
    converted = []
    for item in items:
        data = to_jsonable(item)
        if "custom_string" in data:
            data["custom_string"] = user_reference(item.custom_string)
        converted.append(data)
    return converted


async def _filtered(items: AsyncIterator[Any], keep: Callable[[Any], bool]) -> AsyncIterator[Any]:
    async with contextlib.aclosing(items):  # type: ignore[type-var]
        async for item in items:
            if keep(item):
                yield item


def _limit(args: argparse.Namespace, default: int | None) -> int | None:
    # The parser has rejected a negative --limit, and 0 means no limit.
    limit = default if args.limit is None else args.limit
    return limit or None


async def _take(items: AsyncIterator[Any], limit: int | None) -> list[Any]:
    """Collect up to `limit` items, closing the page iterator when stopping early."""
    taken: list[Any] = []
    async with contextlib.aclosing(items):  # type: ignore[type-var]
        async for item in items:
            taken.append(item)
            if limit is not None and len(taken) >= limit:
                break
    return taken


HISTORY_CSV_COLUMNS = (
    "date", "schedule", "direction", "from", "to", "body", "status", "status_code", "status_text", "error_code",
    "error_text", "message_id", "message_parts", "message_price", "custom_string", "country", "carrier",
)


async def cmd_history(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    query = _history_query(args.query, settings)
    since = parse_when(args.since, settings=settings, option="--since") if args.since else None
    until = parse_when(args.until, settings=settings, option="--until") if args.until else None
    if since and until and since > until:
        raise UsageError(f"--since {args.since} is after --until {args.until}; swap them")
    # An export takes every matching row unless --limit is given.
    limit = _limit(args, None if args.export else DEFAULT_LIST_LIMIT)

    async with open_client(settings) as client:
        # A listing shows the newest messages first, and an export is chronological.
        order = "date:asc" if args.export else "date:desc"
        pages = client.iter_history(q=query.q, order_by=order, date_from=since, date_to=until)
        rows = await _take(_filtered(pages, query.keeps), limit)

    if args.export:
        count = _write_history_csv(Path(args.export), rows)
        note(f"wrote {count} message{'s' if count != 1 else ''} to {args.export}")
        if args.json:
            print_json({"exported": count, "file": str(Path(args.export).resolve())})
        return EXIT_OK

    if args.json:
        print_json(listing_json(rows))
        return EXIT_OK
    if not rows:
        filtered = query.q or since or until
        print_line(
            "No messages in ClickSend's history match these filters."
            if filtered
            else "No messages in ClickSend's history yet (it keeps about 4 months)."
        )
        return EXIT_OK
    print_table(
        ["date", "direction", "from", "to", "status", "scheduled for", "parts", "price", "message id", "body"],
        [
            [
                table_time(row.date, settings),
                row.direction,
                table_number(row.from_, settings),
                table_number(row.to, settings),
                history_status(row),
                table_time(later_schedule(row), settings),
                row.message_parts,
                row.message_price,
                row.message_id,
                preview(row.body),
            ]
            for row in rows
        ],
    )
    return EXIT_OK


def _write_history_csv(path: Path, rows: Sequence[Any]) -> int:
    try:
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(HISTORY_CSV_COLUMNS)
            for values in listing_json(rows):
                writer.writerow([cell(values.get(column)) for column in HISTORY_CSV_COLUMNS])
    except OSError as error:
        raise UsageError(f"cannot write --export {path}: {error.strerror}; choose a writable path") from None
    return len(rows)


async def cmd_receipts(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with open_client(settings) as client:
        receipts = await _take(client.iter_receipts(), _limit(args, DEFAULT_LIST_LIMIT))

    if args.json:
        print_json(listing_json(receipts))
        return EXIT_OK
    if not receipts:
        print_line(
            "No delivery receipts waiting at ClickSend (smsdesk sync and serve mark them read; "
            "smsdesk history shows every message's status)."
        )
        return EXIT_OK
    print_table(
        ["time", "message id", "status", "code", "error", "custom string"],
        [
            [
                table_time(receipt.timestamp, settings),
                receipt.message_id,
                receipt.status_text or receipt.status,
                receipt.status_code,
                receipt.error_text,
                user_reference(receipt.custom_string),
            ]
            for receipt in receipts
        ],
    )
    return EXIT_OK


async def cmd_inbound(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with open_client(settings) as client:
        messages = await _take(client.iter_inbound(), _limit(args, DEFAULT_LIST_LIMIT))

    if args.json:
        print_json(listing_json(messages))
        return EXIT_OK
    if not messages:
        print_line("No inbound messages waiting at ClickSend (smsdesk sync and serve mark them read).")
        return EXIT_OK
    print_table(
        ["time", "from", "to", "message id", "reply to", "body"],
        [
            [
                table_time(message.timestamp, settings),
                table_number(message.from_, settings),
                table_number(message.to, settings),
                message.message_id,
                message.original_message_id,
                preview(message.body),
            ]
            for message in messages
        ],
    )
    return EXIT_OK
