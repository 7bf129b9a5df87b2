"""The inbox's access to the core: cache queries, sends and sync, in widget terms.

Widgets never see core rows or models. This module turns them into the small
types in `tui.rows`, so a change in the cache schema touches only this file.
Demo mode starts the sandbox in-process on 127.0.0.1 with demo data and keeps
its cache in a temporary directory.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import Settings
from tui.rows import ConversationRow, MessageRow, ReceiptRow, TemplateRow, ThreadEntry

if TYPE_CHECKING:
    from core.client import ClickSendClient
    from core.events import EventBus
    from core.service import SmsService
    from core.store import Store
    from core.sync import Syncer
    from sandbox import SandboxServer

logger = logging.getLogger(__name__)

DEMO_USERNAME = "demo-user"
DEMO_API_KEY = "demo-key"
EXPORT_PAGE = 500
# The scheduled-messages screen lists at most this many.
SCHEDULED_LIMIT = 1000
# Inbound messages and receipts are polled on every pass. History only fills gaps
# (messages sent from elsewhere, missed receipts), so it is read on the first pass
# and then at this interval.
HISTORY_SYNC_INTERVAL = timedelta(minutes=10)


@dataclass
class SendRequest:
    """A message the user asked to send from the composer."""

    to: str
    body: str
    schedule: datetime | None = None
    allow_opted_out: bool = False


@dataclass(frozen=True)
class SendReport:
    """Result of a send for its one recipient.

    `failed` carries ClickSend's reason (or the transport error) when the message
    was not sent. `unconfirmed` is True when the request may have reached
    ClickSend without a response; a later reconcile settles it.
    """

    failed: str | None = None
    unconfirmed: bool = False


@dataclass(frozen=True)
class PriceQuote:
    """Price of a draft for one recipient."""

    total: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class SearchFilters:
    """History search: words, number, status and a time range (since inclusive, until exclusive)."""

    query: str | None = None
    number: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class SyncResult:
    """Outcome of one sync pass, with the account balance read at its start."""

    changed: bool
    balance: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class Change:
    """Something changed in the cache.

    `inbound_from` and `body` are set for a new inbound message, `number` and
    `status` for an outbound status change; neither for other changes.
    """

    inbound_from: str | None = None
    body: str | None = None
    number: str | None = None
    status: str | None = None
    error: str | None = None


class Backend:
    """Store, service, client and event bus of one inbox session."""

    def __init__(
        self,
        *,
        settings: Settings,
        client: ClickSendClient,
        store: Store,
        service: SmsService,
        syncer: Syncer,
        events: EventBus,
        demo: bool,
        account_label: str,
        sandbox: SandboxServer | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.service = service
        self.syncer = syncer
        self.events = events
        self.demo = demo
        self.account_label = account_label
        self.sandbox = sandbox
        self._synced = False
        self._history_synced_at = datetime.min.replace(tzinfo=timezone.utc)

    def demo_numbers(self) -> list[tuple[str, str]]:
        """Sandbox numbers that reply or fail on their own in demo mode, each with its behaviour."""
        if self.sandbox is None:
            return []
        behaviour = {
            "echo": lambda r: "replies with your own text",
            "text": lambda r: f"replies “{r.text}”",
            "stop": lambda r: "replies STOP, which opts it out",
            "fail": lambda r: "delivery fails, so you can try resend",
        }
        return [
            (number, behaviour[responder.kind](responder))
            for number, responder in sorted(self.sandbox.state.responders.items())
            if responder.kind in behaviour
        ]

    @property
    def region(self) -> str:
        return self.settings.default_region

    @property
    def confirm_above(self) -> Decimal | None:
        return self.settings.tui.confirm_above

    # Conversations ---------------------------------------------------------------

    async def conversations(self, *, order: str, offset: int, limit: int) -> list[ConversationRow]:
        conversations = await self.store.list_conversations(order=order, offset=offset, limit=limit)  # type: ignore[arg-type]
        return [conversation_row(c) for c in conversations]

    async def unread_total(self) -> int:
        return await self.store.unread_total()

    async def conversation_for(self, number: str) -> ConversationRow:
        """Return the latest conversation with `number`, or an empty one to start."""
        conversation = await self.store.find_conversation(None, number)
        if conversation is not None:
            return conversation_row(conversation)
        return ConversationRow(
            id=f"new:{number}", their_number=number, our_number=None, name=None,
            last_body="", last_at=None, unread=0, last_status=None,
        )

    async def first_unread(self, *, exclude: str | None) -> ConversationRow | None:
        for conversation in await self.store.list_conversations(order="unread", limit=2):
            if conversation.unread and str(conversation.id) != exclude:
                return conversation_row(conversation)
        return None

    async def mark(self, row: ConversationRow, state: str) -> None:
        """Mark a conversation read, unread or done; a conversation not yet in the cache has no state."""
        if row.id.startswith("new:"):
            return
        conversation_id = int(row.id)
        if state == "read":
            await self.store.mark_read(conversation_id)
        elif state == "unread":
            await self.store.mark_unread(conversation_id)
        elif state == "done":
            await self.store.mark_done(conversation_id)
        else:
            raise ValueError(f"unknown conversation state {state!r}; use read, unread or done")

    async def thread(self, row: ConversationRow, *, before: ThreadEntry | None, limit: int) -> list[ThreadEntry]:
        """Return a page of the thread, oldest first; `before` is the oldest entry shown so far.

        Paging is by row, so messages that share a timestamp are neither skipped nor repeated.
        """
        before_row = before.row_id if before else None
        if row.id.startswith("new:"):
            items = await self.store.thread(None, row.their_number, before_row=before_row, limit=limit)
        else:
            items = await self.store.conversation_thread(int(row.id), before_row=before_row, limit=limit)
        return [thread_entry(item) for item in items]

    # Sending -------------------------------------------------------------------------

    async def is_opted_out(self, number: str) -> bool:
        return await self.store.is_opted_out(number)

    async def price(self, *, to: str, body: str) -> PriceQuote:
        quote = await self.service.price(to=[to], body=body)
        return PriceQuote(total=quote.total, currency=quote.currency)

    async def send(self, request: SendRequest) -> SendReport:
        outcome = await self.service.send(
            to=[request.to],
            body=request.body,
            schedule=request.schedule,
            allow_opted_out=request.allow_opted_out,
            origin={"via": "tui"},
        )
        return _report(outcome)

    async def post_to_slack_again(self, entry: ThreadEntry) -> None:
        """Mark an inbound message whose Slack relay failed; the running bot posts it again."""
        if entry.row_id is None:
            raise ValueError("this message has no cache row")
        await self.store.set_relay_status(entry.row_id, "retry")

    async def resend(self, entry: ThreadEntry) -> SendReport:
        if entry.row_id is None:
            raise ValueError("this message has no cache row to resend; send it again from the composer")
        return _report(await self.service.resend(entry.row_id, origin={"via": "tui"}))

    async def cancel(self, message_id: str) -> None:
        await self.service.cancel(message_id)

    async def cancel_all(self, reference: str | None) -> int:
        return await self.service.cancel_all(custom_string=reference)

    async def scheduled(self) -> list[MessageRow]:
        """Return the scheduled messages, soonest first."""
        records = await self.store.messages(direction="out", status="scheduled", limit=SCHEDULED_LIMIT)
        rows = [MessageRow(entry=thread_entry(r), their_number=r.their_number) for r in records]
        return sorted(rows, key=lambda row: row.entry.schedule or row.entry.at)

    async def receipts(self, entry: ThreadEntry) -> list[ReceiptRow]:
        """Return every receipt stored for an outbound message, oldest first."""
        if not entry.message_id:
            return []
        return [
            ReceiptRow(
                at=receipt.ts,
                status=receipt.status or "unknown",
                status_code=receipt.status_code,
                detail=receipt.error_text or receipt.status_text or "",
            )
            for receipt in await self.store.receipts_for(entry.message_id)
        ]

    # Templates ---------------------------------------------------------------------

    async def templates(self) -> list[TemplateRow]:
        templates = await self.service.templates()
        return [template_row(t) for t in templates]

    async def create_template(self, *, name: str, body: str) -> None:
        await self.service.create_template(name=name, body=body)

    async def update_template(self, template_id: int, *, name: str, body: str) -> None:
        await self.service.update_template(template_id, name=name, body=body)

    async def delete_template(self, template_id: int) -> None:
        await self.service.delete_template(template_id)

    # Search and export -------------------------------------------------------------

    async def search(self, filters: SearchFilters, *, limit: int, offset: int) -> list[MessageRow]:
        records = await self.store.search(
            filters.query or "",
            number=filters.number,
            status=filters.status,
            since=filters.since,
            until=filters.until,
            limit=limit,
            offset=offset,
        )
        return [MessageRow(entry=thread_entry(r), their_number=r.their_number) for r in records]

    async def export_csv(self, filters: SearchFilters, path: Path) -> int:
        """Write every message matching `filters` to a CSV file; return the number of rows."""
        count = 0
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["time_utc", "direction", "their_number", "status", "message_id", "parts", "price", "error", "body"])
            while True:
                page = await self.search(filters, limit=EXPORT_PAGE, offset=count)
                for row in page:
                    e = row.entry
                    writer.writerow([
                        e.at.isoformat(), e.direction, row.their_number, e.status or "", e.message_id or "",
                        e.parts or "", "" if e.price is None else str(e.price), e.error or "", e.body,
                    ])
                count += len(page)
                if len(page) < EXPORT_PAGE:
                    return count

    # Sync and live changes ---------------------------------------------------------------

    async def sync(self) -> SyncResult:
        """Poll inbound messages and receipts, and read the balance.

        The first pass also settles unconfirmed sends and fetches history and
        templates. Raises TransportError when ClickSend is unreachable and
        AuthenticationError when it rejects the credentials; the account request
        goes first, so both surface before any partial work.
        """
        account = await self.client.get_account()
        currency = account.currency.currency_name_short if account.currency else None
        first = not self._synced
        if first:
            await self.service.reconcile()
        changed = await self.syncer.poll_inbound()
        _, status_changes = await self.syncer.poll_receipts()
        changed += status_changes
        now = datetime.now(timezone.utc)
        if first or now - self._history_synced_at >= HISTORY_SYNC_INTERVAL:
            new_rows, _ = await self.syncer.sync_history(now=now)
            changed += new_rows
            self._history_synced_at = now
        if first:
            await self.syncer.sync_templates()
        self._synced = True
        return SyncResult(changed=changed > 0, balance=account.balance, currency=currency)

    async def changes(self) -> AsyncIterator[Change]:
        """Yield a Change for every event of this process and for writes by other processes."""
        from core.events import InboundReceived, StatusChanged

        with self.events.subscribe() as subscription:
            async for event in subscription:
                if isinstance(event, InboundReceived):
                    yield Change(inbound_from=event.message.their_number, body=event.message.body)
                elif isinstance(event, StatusChanged):
                    change = event.change
                    yield Change(number=change.their_number, status=change.new_status, error=change.error_text)
                else:
                    yield Change()


# Adapters from cache records to rows -------------------------------------------------


def conversation_row(conversation: Any) -> ConversationRow:
    return ConversationRow(
        id=str(conversation.id),
        their_number=conversation.their_number,
        our_number=conversation.our_number,
        name=None,
        last_body=conversation.last_body or "",
        last_at=conversation.last_activity,
        unread=conversation.unread_count or (1 if conversation.marked_unread else 0),
        last_status=conversation.last_status if conversation.last_direction == "out" else None,
        done=conversation.done,
    )


def thread_entry(record: Any) -> ThreadEntry:
    return ThreadEntry(
        key=f"m{record.row_id}",
        direction=record.direction,
        body=record.body,
        at=record.ts,
        status=record.status if record.direction == "out" else None,
        schedule=record.schedule_at,
        error=record.error_text or (record.status_text if record.status == "failed" else None),
        parts=record.parts,
        price=record.price,
        message_id=record.message_id,
        row_id=record.row_id,
        relay_status=record.relay_status,
        relay_error=record.relay_error,
    )


def template_row(template: Any) -> TemplateRow:
    return TemplateRow(id=template.template_id, name=template.name, body=template.body)


def _report(outcome: Any) -> SendReport:
    from core import status

    recipient = outcome.recipients[0]
    if recipient.status == status.PENDING:
        return SendReport(unconfirmed=True)
    if not recipient.accepted:
        return SendReport(failed=recipient.error or recipient.status)
    return SendReport()


# Opening a session -------------------------------------------------------------------


@asynccontextmanager
async def open_backend(settings: Settings, *, demo: bool = False) -> AsyncIterator[Backend]:
    """Open the cache, the ClickSend client and the service; in demo mode, on the local sandbox."""
    from core.client import ClickSendClient
    from core.events import DataVersionWatcher, EventBus
    from core.ingest import Ingestor
    from core.service import SmsService
    from core.store import Store
    from core.sync import Syncer

    async with AsyncExitStack() as stack:
        server = None
        if demo:
            from sandbox import SandboxServer

            server = SandboxServer(demo_data=True)
            await server.start()
            stack.push_async_callback(server.stop)
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="smsdesk-demo-"))
            cache_path = Path(directory) / "demo-cache.sqlite3"
            base_url, username, api_key = server.base_url, DEMO_USERNAME, DEMO_API_KEY
            label = "demo sandbox"
            logger.info("demo mode: sandbox at %s, cache %s", server.root_url, cache_path)
        else:
            if not settings.has_credentials:
                raise ValueError("ClickSend credentials are missing; set CLICKSEND_USERNAME and CLICKSEND_API_KEY, or use --demo")
            cache_path = settings.cache_path
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            base_url = settings.clicksend_base_url
            username = settings.clicksend_username or ""
            api_key = settings.clicksend_api_key  # type: ignore[assignment]
            label = username

        store = await stack.enter_async_context(Store.open(cache_path))
        client = await stack.enter_async_context(
            ClickSendClient(username=username, api_key=api_key, base_url=base_url, timeout=settings.clicksend_timeout)
        )
        events = EventBus()
        stack.callback(events.close)
        # Another process (the Slack bot, `smsdesk sync`) may write to the same cache.
        await stack.enter_async_context(DataVersionWatcher(store, events))
        service = SmsService(client=client, store=store, settings=settings, events=events)
        ingestor = Ingestor.from_settings(settings, store=store, events=events)
        syncer = Syncer(client=client, store=store, ingestor=ingestor, events=events)
        yield Backend(
            settings=settings, client=client, store=store, service=service, syncer=syncer, events=events,
            demo=demo, account_label=label, sandbox=server,
        )
