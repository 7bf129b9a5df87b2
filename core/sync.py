"""Polling and sync: bring the cache up to date with ClickSend.

- ``poll_inbound``: read every page of ``GET /sms/inbound``, commit, and only then mark
  each stored message read by its id, so a crash between the two re-reads it (and the
  store's de-duplication keeps it single) instead of losing it.
- ``poll_receipts``: the same for ``GET /sms/receipts``. ClickSend has no per-receipt
  mark-read, so receipts are marked read up to the newest stored receipt's time.
- ``sync_history``: page through ``GET /sms/history`` in date windows from a stored
  cursor, so an interrupted sync resumes where it stopped.
- ``sync_templates``: replace the cached templates with ClickSend's list.

``run_sync`` runs one pass of all four for ``smsdesk sync``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TextIO

from pydantic import ValidationError

from core import status
from core.errors import ClickSendError, ResponseValidationError
from core.events import EventBus, StatusChanged, StoreChanged, TemplatesChanged
from core.ingest import Ingestor, parse_timestamp
from core.models import HistoryFields, read_history_row
from core.numbers import InvalidNumberError, normalize_number
from core.store import HistoryRecord, Store

__all__ = ["HISTORY_CURSOR", "ProgressCallback", "SyncReport", "Syncer", "run_sync"]

log = logging.getLogger(__name__)

HISTORY_CURSOR: Final = "history"
# ClickSend keeps about 4 months of history, so a first sync starts that far back.
FIRST_SYNC_SPAN: Final = timedelta(days=120)
# One history request covers this much time; a window is a resumable unit of work.
HISTORY_WINDOW: Final = timedelta(days=7)
# Each sync re-reads this much before the cursor, to pick up late status changes.
HISTORY_OVERLAP: Final = timedelta(days=3)
# Requests in flight at once for history pages and for marking inbound messages read;
# and history pages (of 100 rows) stored per transaction.
HISTORY_FETCH_CONCURRENCY: Final = 6
HISTORY_PAGES_PER_MERGE: Final = 50

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``; ``total`` is 0 when unknown."""


@dataclass
class SyncReport:
    inbound_new: int = 0
    receipts_new: int = 0
    status_changes: int = 0
    history_new: int = 0
    history_windows: int = 0
    templates: int = 0
    reconciled: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.inbound_new} new inbound, {self.receipts_new} new receipts, "
            f"{self.status_changes} status changes, {self.history_new} new history rows, "
            f"{self.templates} templates"
        )
        if self.reconciled:
            text += f", {self.reconciled} unconfirmed sends settled"
        if self.errors:
            text += f"; {len(self.errors)} step(s) failed"
        return text


def _ignore_progress(stage: str, done: int, total: int) -> None:
    return None


def _number_or_text(value: str | None, region: str) -> str:
    if not value:
        return ""
    try:
        return normalize_number(value, default_region=region)
    except InvalidNumberError:
        return value.strip()


class Syncer:
    """Pollers and history sync over one client, one cache and one ingest path."""

    def __init__(self, *, client: Any, store: Store, ingestor: Ingestor, events: EventBus | None = None) -> None:
        self.client = client
        self.store = store
        self.ingestor = ingestor
        self.events = events

    async def poll_inbound(self) -> int:
        """Store every unread inbound message, then mark each stored one read. Returns the new count."""
        items = [item async for item in self.client.iter_inbound()]
        if not items:
            return 0
        records = self.ingestor.parse_many(items, kind="inbound")
        inserted = await self.ingestor.add_inbound(records)

        # Several POLL rules list the same message several times; one mark-read covers them.
        message_ids = dict.fromkeys(record.message_id for record in records if not record.message_id.startswith("local-"))
        limit = asyncio.Semaphore(HISTORY_FETCH_CONCURRENCY)

        async def mark_read(message_id: str) -> None:
            async with limit:
                await self.client.mark_inbound_message_read(message_id)

        await asyncio.gather(*(mark_read(message_id) for message_id in message_ids))
        log.info("polled %d inbound message(s), %d new", len(items), len(inserted))
        return len(inserted)

    async def poll_receipts(self) -> tuple[int, int]:
        """Store every unread receipt, then mark receipts read. Returns (new receipts, status changes)."""
        items = [item async for item in self.client.iter_receipts()]
        if not items:
            return 0, 0
        records = self.ingestor.parse_many(items, kind="receipt")
        added, changes = await self.ingestor.add_receipts(records)

        times = [record.ts for record in records if record.ts is not None]
        # NOTE: ClickSend marks receipts read only by time ("sent before date_before"). A
        # receipt with an earlier time that arrives between the listing and this call is
        # marked read unseen. Its status still reaches the cache through a webhook push
        # or the next history sync.
        date_before = max(times) + timedelta(seconds=1) if times else None
        await self.client.mark_receipts_read(date_before)
        log.info("polled %d receipt(s), %d new, %d status change(s)", len(items), added, len(changes))
        return added, len(changes)

    async def sync_history(self, *, progress: ProgressCallback = _ignore_progress, now: datetime | None = None) -> tuple[int, int]:
        """Page through history in windows from the stored cursor. Returns (new rows, windows)."""
        now = now or datetime.now(UTC)
        cursor = await self.store.get_cursor(HISTORY_CURSOR)
        if cursor is None:
            start = now - FIRST_SYNC_SPAN
        else:
            start = datetime.fromtimestamp(int(cursor), UTC) - HISTORY_OVERLAP

        windows = []
        window_start = start
        while window_start < now:
            window_end = min(window_start + HISTORY_WINDOW, now)
            windows.append((window_start, window_end))
            window_start = window_end

        new_rows = 0
        mapper = _HistoryMapper(self.ingestor.default_region)
        for index, (date_from, date_to) in enumerate(windows):
            progress("history", index, len(windows))
            async for rows in self._window_pages(date_from, date_to):
                inserted, changes = await self.store.merge_history(mapper.records(rows))
                new_rows += inserted
                _publish_history(self.events, inserted, changes)
            # The cursor moves only after the whole window is stored.
            await self.store.set_cursor(HISTORY_CURSOR, str(int(date_to.timestamp())))
        progress("history", len(windows), len(windows))
        log.info("history sync: %d window(s), %d new row(s)", len(windows), new_rows)
        return new_rows, len(windows)

    async def _window_pages(self, date_from: datetime, date_to: datetime) -> AsyncIterator[list[Any]]:
        """Yield the history rows of one window in groups of pages, fetching each group concurrently.

        Rows are ordered by date and the window ends in the past or now, so new messages
        do not shift the pages while they are read.
        """

        async def fetch(page_number: int) -> Any:
            async with limit:
                return await self.client.history_rows(
                    date_from=date_from, date_to=date_to, order_by="date:asc", page=page_number
                )

        limit = asyncio.Semaphore(HISTORY_FETCH_CONCURRENCY)
        first = await fetch(1)
        yield list(first.data)
        last_page = first.last_page or 1
        for group_start in range(2, last_page + 1, HISTORY_PAGES_PER_MERGE):
            group = range(group_start, min(group_start + HISTORY_PAGES_PER_MERGE, last_page + 1))
            pages = await asyncio.gather(*(fetch(page_number) for page_number in group))
            yield [row for page in pages for row in page.data]

    async def sync_templates(self) -> int:
        templates = [template async for template in self.client.iter_templates()]
        await self.store.replace_templates(
            [(template.template_id, template.template_name, template.body) for template in templates]
        )
        if self.events is not None:
            self.events.publish(TemplatesChanged())
        return len(templates)

    async def run_once(self, *, progress: ProgressCallback = _ignore_progress, service: Any = None) -> SyncReport:
        """Run every step once; a failing step is logged and reported, and the others still run."""
        report = SyncReport()

        async def step(name: str, action: Callable[[], Any]) -> Any:
            progress(name, 0, 0)
            try:
                return await action()
            except ClickSendError as error:
                log.warning("sync step %s failed: %s", name, error)
                report.errors.append(f"{name}: {error}")
                return None

        if service is not None:
            reconciled = await step("outbox", service.reconcile)
            if reconciled is not None:
                report.reconciled = reconciled.found + reconciled.resent
        report.inbound_new = await step("inbound", self.poll_inbound) or 0
        receipts = await step("receipts", self.poll_receipts)
        if receipts is not None:
            report.receipts_new, report.status_changes = receipts
        history = await step("history", lambda: self.sync_history(progress=progress))
        if history is not None:
            report.history_new, report.history_windows = history
        report.templates = await step("templates", self.sync_templates) or 0
        return report


class _HistoryMapper:
    """Maps decoded history rows to cache records for one sync.

    It remembers what each number or sender ID mapped to. normalize_number caches only
    valid numbers, and a history repeats sender IDs such as ACMEPLUMB in many rows, each
    of which would otherwise be parsed and rejected again.
    """

    def __init__(self, region: str) -> None:
        self.region = region
        self._numbers: dict[str, str] = {}

    def records(self, rows: list[Any]) -> list[HistoryRecord]:
        """Map rows, leaving out those without an id, a time or the other party's number.

        Raises ResponseValidationError for a row that HistoryMessage rejects.
        """
        records = []
        for row in rows:
            try:
                fields = read_history_row(row)
            except ValidationError as error:
                raise ResponseValidationError(
                    f"ClickSend returned a history row that does not fit HistoryMessage: {error}", http_code=200
                ) from error
            record = self.record(fields)
            if record is not None:
                records.append(record)
        return records

    def record(self, fields: HistoryFields) -> HistoryRecord | None:
        """Map one row to cache terms; rows without an id or a time are skipped."""
        if not fields.message_id or fields.date is None:
            return None
        direction = "in" if (fields.direction or "").lower().startswith("in") else "out"
        sender = self._number(fields.from_)
        recipient = self._number(fields.to)
        our_number, their_number = (recipient, sender) if direction == "in" else (sender, recipient)
        if not their_number:
            return None
        return HistoryRecord(
            message_id=fields.message_id,
            direction=direction,
            our_number=our_number,
            their_number=their_number,
            body=fields.body or "",
            status=status.from_history(fields.status, fields.status_code),
            # Rows read by read_history_row are already in UTC.
            ts=fields.date if fields.date.tzinfo is UTC else parse_timestamp(fields.date),
            status_code=fields.status_code,
            status_text=fields.status_text or fields.status,
            error_code=fields.error_code,
            error_text=fields.error_text,
            custom_string=fields.custom_string,
            parts=fields.message_parts or None,
            price=fields.message_price,
            country=fields.country,
            carrier=fields.carrier or None,
        )

    def _number(self, value: str | None) -> str:
        if not value:
            return ""
        number = self._numbers.get(value)
        if number is None:
            number = self._numbers[value] = _number_or_text(value, self.region)
        return number


def _publish_history(events: EventBus | None, inserted: int, changes: list) -> None:
    if events is None:
        return
    for change in changes:
        events.publish(StatusChanged(change=change))
    if inserted:
        events.publish(StoreChanged(reason="history sync"))


class _ProgressBar:
    """A one-line progress display on a terminal stream; plain lines when not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self.last_stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total:
            width = 30
            filled = width * done // total
            line = f"{stage:<10} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        else:
            line = f"{stage:<10} ..."
        if self.interactive:
            self.stream.write("\r" + line.ljust(60))
            if total and done == total:
                self.stream.write("\n")
        elif stage != self.last_stage or (total and done == total):
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last_stage = stage


async def run_sync(
    settings: Any,
    *,
    progress: bool | ProgressCallback | None = True,
    stream: TextIO | None = None,
    json_output: TextIO | None = None,
) -> int:
    """Run one sync pass for ``smsdesk sync``: settle the outbox, poll, sync history and templates.

    Progress and the summary go to ``stream`` (stderr by default); with ``json_output``
    (for ``--json``, pass sys.stdout) the SyncReport is also written there as one JSON
    object. Returns the exit code: 0 when every step succeeded, 1 when one failed.
    """
    from core.client import ClickSendClient
    from core.service import SmsService

    stream = stream or sys.stderr
    if callable(progress):
        callback = progress
    elif progress:
        callback = _ProgressBar(stream)
    else:
        callback = _ignore_progress

    async with Store.open(settings.cache_path) as store, ClickSendClient(
        username=settings.clicksend_username,
        api_key=settings.clicksend_api_key,
        base_url=settings.clicksend_base_url,
        timeout=getattr(settings, "clicksend_timeout", 30.0),
        max_requests_per_second=getattr(settings, "clicksend_max_requests_per_second", None),
    ) as client:
        ingestor = Ingestor.from_settings(settings, store=store)
        syncer = Syncer(client=client, store=store, ingestor=ingestor)
        service = SmsService(client=client, store=store, settings=settings)
        report = await syncer.run_once(progress=callback, service=service)

    stream.write(f"sync: {report.summary()}\n")
    for error in report.errors:
        stream.write(f"sync: {error}\n")
    if json_output is not None:
        json.dump(dataclasses.asdict(report), json_output)
        json_output.write("\n")
    return 1 if report.errors else 0
