"""The local cache: one SQLite file shared by the terminal inbox, the Slack bot and the CLI.

Layout of the work:

- ``Store.open(path)`` opens two aiosqlite connections, a writer and a reader. Every
  write runs in ``BEGIN IMMEDIATE`` under an in-process lock, so concurrent writers
  wait on the busy timeout instead of failing with "database is locked". WAL lets the
  reader read while the writer writes. ``close()`` stops both worker threads.
- Writes take batches and issue one ``executemany`` per statement per batch.
- ``data_version()`` reads ``PRAGMA data_version`` on the writer connection, which
  changes only when another connection (another process) commits.

Times are UTC-aware datetimes in Python and fixed-width UTC text in the file; money
is ``Decimal`` in Python and text in the file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import aiosqlite

from core import reference, status
from core.schema import MIGRATIONS, SCHEMA_VERSION, sort_key_sql

__all__ = [
    "Conversation",
    "HistoryRecord",
    "InboundRecord",
    "MessageRecord",
    "OutboundDraft",
    "OutboxEntry",
    "ReceiptRecord",
    "SendUpdate",
    "SlackPost",
    "SlackThread",
    "StatusChange",
    "Store",
    "StoreClosedError",
    "ThreadItem",
    "from_db_time",
    "to_db_time",
]

log = logging.getLogger(__name__)

# Milliseconds a write waits for another process's write transaction before SQLite
# raises "database is locked".
BUSY_TIMEOUT_MS: Final = 30_000

# Seconds between tries to switch a new cache file to WAL while another process has it locked.
WAL_RETRY_SECONDS: Final = 0.02


_MESSAGE_COLUMNS: Final = (
    "m.id, m.conversation_id, m.direction, m.message_id, m.client_ref, m.our_number,"
    " m.their_number, m.body, m.status, m.status_code, m.status_text, m.error_code,"
    " m.error_text, m.custom_string, m.ts, m.schedule_at, m.parts, m.price, m.country,"
    " m.carrier, m.reply_to_message_id, m.is_read, m.opt_out, m.relay_status, m.origin, m.relay_error"
)
_MESSAGE_COLUMN_COUNT: Final = _MESSAGE_COLUMNS.count(",") + 1


class StoreClosedError(RuntimeError):
    """The store was used after ``close()``."""


def to_db_time(value: datetime) -> str:
    """Convert an aware datetime to the stored UTC text; a naive one is rejected."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"Naive datetime {value.isoformat()!r}: pass an aware datetime, such as one with tzinfo=UTC.")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat is much faster than strftime; its first 26 characters are the fixed-width
    # date and time, and the '+00:00' after them becomes 'Z'.
    return value.isoformat(timespec="microseconds")[:26] + "Z"


def from_db_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    # Python 3.11's fromisoformat reads the trailing 'Z' and is much faster than strptime.
    return datetime.fromisoformat(value)


def _now() -> str:
    return to_db_time(datetime.now(UTC))


def _optional_time(value: datetime | None) -> str | None:
    return None if value is None else to_db_time(value)


def _money(value: Decimal | str | None) -> str | None:
    return None if value is None else str(Decimal(value))


def _json_list(values: Iterable[Any]) -> str:
    return json.dumps(list(values))


# --- records returned by the store ------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    """One pair of numbers (ours, theirs) with its summary."""

    id: int
    our_number: str  # '' when the sending number is unknown (ClickSend's shared pool)
    their_number: str
    last_activity: datetime | None
    unread_count: int  # inbound messages not yet read
    marked_unread: bool  # the user marked it unread by hand
    done: bool  # the user closed it; a new inbound message reopens it
    last_body: str | None
    last_direction: Literal["in", "out"] | None
    last_status: str | None
    opted_out: bool

    @property
    def unread(self) -> bool:
        return self.unread_count > 0 or self.marked_unread


# Not frozen, because a frozen dataclass sets each field through object.__setattr__:
# building one took 2.5 us instead of 0.3 us (measured), and a page builds hundreds.
@dataclass(slots=True)
class MessageRecord:
    """One outbound or inbound message as cached. Treat it as read-only."""

    row_id: int
    conversation_id: int
    direction: Literal["in", "out"]
    message_id: str | None  # ClickSend's id; None until ClickSend accepted the message
    client_ref: str | None  # outbox reference of a message that smsdesk sent
    our_number: str
    their_number: str
    body: str
    status: str  # one of core.status: pending, queued, ..., received
    status_code: str | None
    status_text: str | None
    error_code: str | None
    error_text: str | None
    custom_string: str | None  # the user's custom_string, without the outbox reference
    ts: datetime  # created (outbound) or received (inbound), UTC
    schedule_at: datetime | None
    parts: int | None
    price: Decimal | None
    country: str | None
    carrier: str | None
    reply_to_message_id: str | None  # inbound: the outbound message it replies to
    is_read: bool
    opt_out: str | None  # inbound: 'opt_out', 'opt_in' or 'possible'
    relay_status: str | None  # inbound: Slack relay state, set by the Slack bot
    origin: dict[str, Any] | None  # who sent it: {"via": "cli"} or {"via": "slack", "user": ...}
    relay_error: str | None = None  # inbound: why the Slack relay failed


ThreadItem = MessageRecord


@dataclass(frozen=True)
class SlackThread:
    channel: str
    thread_ts: str
    updated_at: datetime


@dataclass(frozen=True)
class SlackPost:
    channel: str
    ts: str
    kind: str  # 'bot': the bot's own post, which it can edit; 'user': a person's reply


@dataclass(frozen=True)
class StatusChange:
    """A cached outbound status that moved, for a StatusChanged event."""

    row_id: int
    conversation_id: int
    message_id: str | None
    client_ref: str | None
    their_number: str
    old_status: str
    new_status: str
    error_text: str | None


@dataclass(frozen=True)
class OutboxEntry:
    """An outbox row that is still pending, with the request to resend it."""

    client_ref: str
    message_row: int
    batch_id: str
    request: dict[str, Any]
    attempts: int
    last_attempt_at: datetime | None
    created_at: datetime
    their_number: str


# --- inputs to the store ----------------------------------------------------------------


@dataclass(frozen=True)
class OutboundDraft:
    """A message about to be sent, written to the outbox before the HTTP request."""

    client_ref: str
    batch_id: str
    to: str
    body: str
    request: dict[str, Any]  # the SmsMessage as sent, JSON-ready
    sender: str | None = None
    custom_string: str | None = None  # the user's text only
    schedule_at: datetime | None = None
    parts: int | None = None
    origin: dict[str, Any] | None = None


@dataclass(frozen=True)
class SendUpdate:
    """ClickSend's result for one outbox message (from a send response or from history)."""

    client_ref: str
    status: str  # a core.status value
    message_id: str | None = None
    status_text: str | None = None
    error_text: str | None = None
    our_number: str | None = None
    parts: int | None = None
    price: Decimal | None = None
    country: str | None = None
    carrier: str | None = None


@dataclass(frozen=True)
class InboundRecord:
    message_id: str
    from_number: str
    to_number: str  # ours; '' when the payload did not say
    body: str
    received_at: datetime
    original_message_id: str | None = None
    custom_string: str | None = None
    original_body: str | None = None
    opt_out: str | None = None
    is_read: bool = False


@dataclass(frozen=True)
class ReceiptRecord:
    message_id: str
    status_code: str
    status: str | None  # the core.status it maps to, None for an unknown code
    status_text: str | None = None
    error_code: str | None = None
    error_text: str | None = None
    custom_string: str | None = None  # as received, reference included
    ts: datetime | None = None


@dataclass(frozen=True)
class HistoryRecord:
    """One row of ClickSend's history, mapped to cache terms."""

    message_id: str
    direction: Literal["in", "out"]
    our_number: str
    their_number: str
    body: str
    status: str
    ts: datetime
    status_code: str | None = None
    status_text: str | None = None
    error_code: str | None = None
    error_text: str | None = None
    custom_string: str | None = None  # as received, reference included
    parts: int | None = None
    price: Decimal | None = None
    country: str | None = None
    carrier: str | None = None


@dataclass
class _RowState:
    """The mutable part of an outbound row while a batch of reports is applied to it."""

    row_id: int
    conversation_id: int
    their_number: str
    client_ref: str | None
    message_id: str | None
    status: str
    status_code: str | None
    status_text: str | None
    error_code: str | None
    error_text: str | None
    original_status: str = ""
    changed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _message_from_row(row: sqlite3.Row) -> MessageRecord:
    # _MESSAGE_COLUMNS and MessageRecord's fields are in the same order. Positional
    # arguments cost several times less than keywords, and a page converts hundreds of rows.
    (
        row_id, conversation_id, direction, message_id, client_ref, our_number,
        their_number, body, status, status_code, status_text, error_code,
        error_text, custom_string, ts, schedule_at, parts, price, country,
        carrier, reply_to_message_id, is_read, opt_out, relay_status, origin, relay_error,
    ) = tuple(row)[:_MESSAGE_COLUMN_COUNT]
    return MessageRecord(
        row_id, conversation_id, direction, message_id, client_ref, our_number,
        their_number, body, status, status_code, status_text, error_code,
        error_text, custom_string, from_db_time(ts), from_db_time(schedule_at), parts,
        None if price is None else Decimal(price), country, carrier, reply_to_message_id,
        bool(is_read), opt_out, relay_status, None if origin is None else json.loads(origin), relay_error,
    )


def _receipt_from_row(row: sqlite3.Row) -> ReceiptRecord:
    return ReceiptRecord(
        message_id=row["message_id"],
        status_code=row["status_code"],
        status=row["status"],
        status_text=row["status_text"],
        error_code=row["error_code"],
        error_text=row["error_text"],
        custom_string=row["custom_string"],
        ts=from_db_time(row["ts"]),
    )


def _conversation_from_row(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        our_number=row["our_number"],
        their_number=row["their_number"],
        last_activity=from_db_time(row["last_activity"]),
        unread_count=row["unread_count"],
        marked_unread=bool(row["marked_unread"]),
        done=bool(row["done"]),
        last_body=row["last_body"],
        last_direction=row["last_direction"],
        last_status=row["last_status"],
        opted_out=bool(row["opted_out"]),
    )


_CONVERSATION_SELECT: Final = """
    SELECT c.id, c.our_number, c.their_number, c.last_activity, c.unread_count,
           c.marked_unread, c.done, m.body AS last_body, m.direction AS last_direction,
           m.status AS last_status,
           EXISTS (SELECT 1 FROM opt_outs o WHERE o.number = c.their_number) AS opted_out
    FROM conversations c
    LEFT JOIN messages m ON m.id = c.last_message_row
"""


def _fts_query(text: str) -> str:
    """Turn what a user typed into an FTS5 query: every word must match, in any order.

    Each word is quoted, so punctuation such as ``&`` or ``-`` is not FTS syntax; a
    trailing ``*`` keeps its meaning of a prefix search.
    """
    terms = []
    for word in text.split():
        prefix = word.endswith("*")
        word = word.rstrip("*")
        if not word:
            continue
        quoted = '"' + word.replace('"', '""') + '"'
        terms.append(quoted + ("*" if prefix else ""))
    return " ".join(terms)


class Store:
    """Async access to the cache file. Use ``async with Store.open(path) as store:``."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = writer
        self._reader: aiosqlite.Connection | None = reader
        self._write_lock = asyncio.Lock()

    def __repr__(self) -> str:
        state = "closed" if self._writer is None else "open"
        return f"<Store {str(self.path)!r} {state}>"

    # --- lifecycle ------------------------------------------------------------------

    @classmethod
    async def connect(cls, path: str | Path) -> Store:
        """Open the cache at ``path`` (creating it and its folder), migrate it, and return it.

        The caller must ``await store.close()``; ``Store.open`` does that for you.
        """
        if str(path) == ":memory:":
            raise ValueError(
                "The cache cannot be ':memory:': its reader and writer connections would see two different"
                " databases. Use a file, for example one in tempfile.mkdtemp()."
            )
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _open_connection(path)
        try:
            await _migrate(writer, path)
            reader = await _open_connection(path)
        except BaseException:
            await writer.close()
            raise
        log.info("opened cache %s (schema version %d)", path, SCHEMA_VERSION)
        return cls(path, writer, reader)

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | Path) -> AsyncIterator[Store]:
        store = await cls.connect(path)
        try:
            yield store
        finally:
            await store.close()

    async def close(self) -> None:
        """Close both connections and stop their worker threads. Safe to call twice."""
        writer, reader = self._writer, self._reader
        self._writer = self._reader = None
        for connection in (reader, writer):
            if connection is not None:
                await _close_connection(connection)
        if writer is not None:
            log.info("closed cache %s", self.path)

    @property
    def closed(self) -> bool:
        return self._writer is None

    def _read_connection(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise StoreClosedError(f"The cache {self.path} is closed; open it again with Store.open().")
        return self._reader

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a write transaction: ``BEGIN IMMEDIATE`` takes the write lock up front.

        A deferred transaction that reads first and writes later cannot be helped by the
        busy timeout (SQLite returns SQLITE_BUSY at once to avoid a deadlock), so every
        write starts IMMEDIATE and waits its turn instead.
        """
        async with self._write_lock:
            db = self._writer
            if db is None:
                raise StoreClosedError(f"The cache {self.path} is closed; open it again with Store.open().")
            try:
                await db.execute("BEGIN IMMEDIATE")
                yield db
            except BaseException:
                # A cancelled BEGIN still runs in the worker thread, and the rollback is
                # queued behind it there, so the connection never stays inside a transaction.
                await asyncio.shield(db.rollback())
                raise
            await asyncio.shield(db.commit())

    async def _fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        # One trip to the reader's thread instead of three (execute, fetch, close): each
        # trip costs tens of microseconds, as much as a short query itself.
        return list(await self._read_connection().execute_fetchall(sql, parameters))

    async def _fetchone(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Row | None:
        db = self._read_connection()
        async with db.execute(sql, parameters) as cursor:
            return await cursor.fetchone()

    async def data_version(self) -> int:
        """Return SQLite's data_version: it changes when another connection commits.

        Writes made through this store do not change it, so a change means another
        process (or another Store on the same file) wrote.
        """
        if self._writer is None:
            raise StoreClosedError(f"The cache {self.path} is closed; open it again with Store.open().")
        async with self._write_lock:
            async with self._writer.execute("PRAGMA data_version") as cursor:
                row = await cursor.fetchone()
        return int(row[0])

    async def schema_version(self) -> int:
        row = await self._fetchone("PRAGMA user_version")
        return int(row[0])

    # --- conversations --------------------------------------------------------------

    async def list_conversations(
        self,
        *,
        order: Literal["newest", "unread"] = "newest",
        limit: int = 200,
        offset: int = 0,
        include_done: bool = True,
    ) -> list[Conversation]:
        """Return one page of conversations, newest activity first or unread first."""
        if order == "newest":
            order_by = "c.last_activity DESC, c.id DESC"
        elif order == "unread":
            order_by = "(c.unread_count > 0 OR c.marked_unread) DESC, c.last_activity DESC, c.id DESC"
        else:
            raise ValueError(f"Unknown conversation order {order!r}: use 'newest' or 'unread'.")
        where = "" if include_done else "WHERE c.done = 0"
        rows = await self._fetchall(
            f"{_CONVERSATION_SELECT} {where} ORDER BY {order_by} LIMIT ? OFFSET ?", (limit, offset)
        )
        return [_conversation_from_row(row) for row in rows]

    async def count_conversations(self, *, include_done: bool = True) -> int:
        where = "" if include_done else " WHERE done = 0"
        row = await self._fetchone("SELECT COUNT(*) FROM conversations" + where)
        return int(row[0])

    async def conversation(self, conversation_id: int) -> Conversation | None:
        row = await self._fetchone(f"{_CONVERSATION_SELECT} WHERE c.id = ?", (conversation_id,))
        return None if row is None else _conversation_from_row(row)

    async def find_conversation(self, our_number: str | None, their_number: str) -> Conversation | None:
        """Return the conversation of a pair; with ``our_number`` None, the latest one with that contact."""
        if our_number is None:
            sql = f"{_CONVERSATION_SELECT} WHERE c.their_number = ? ORDER BY c.last_activity DESC LIMIT 1"
            row = await self._fetchone(sql, (their_number,))
        else:
            row = await self._fetchone(
                f"{_CONVERSATION_SELECT} WHERE c.our_number = ? AND c.their_number = ?", (our_number, their_number)
            )
        return None if row is None else _conversation_from_row(row)

    async def thread(
        self,
        our_number: str | None,
        their_number: str,
        *,
        before: datetime | None = None,
        before_row: int | None = None,
        limit: int = 100,
    ) -> list[ThreadItem]:
        """Return the latest ``limit`` messages with a contact, oldest first.

        ``before_row`` (the row id of the oldest message shown) pages back exactly, even
        past messages with the same time; ``before`` pages back by time. With
        ``our_number`` None the thread spans every number of ours.
        """
        if our_number is None:
            return await self._thread_where(
                "m.conversation_id IN (SELECT id FROM conversations WHERE their_number = ?)",
                their_number, before, before_row, limit,
            )
        conversation = await self.find_conversation(our_number, their_number)
        if conversation is None and not our_number:
            # A conversation keyed '' takes our number when the first reply arrives.
            conversation = await self.find_conversation(None, their_number)
        if conversation is None:
            return []
        return await self._thread_where("m.conversation_id = ?", conversation.id, before, before_row, limit)

    async def conversation_thread(
        self,
        conversation_id: int,
        *,
        before: datetime | None = None,
        before_row: int | None = None,
        limit: int = 100,
    ) -> list[ThreadItem]:
        """Return the latest ``limit`` messages of one conversation, oldest first (paging as ``thread``)."""
        return await self._thread_where("m.conversation_id = ?", conversation_id, before, before_row, limit)

    async def _thread_where(
        self, condition: str, value: Any, before: datetime | None, before_row: int | None, limit: int
    ) -> list[ThreadItem]:
        conditions = [condition]
        parameters: list[Any] = [value]
        if before is not None:
            conditions.append("m.ts < ?")
            parameters.append(to_db_time(before))
        if before_row is not None:
            conditions.append("(m.ts, m.id) < (SELECT ts, id FROM messages WHERE id = ?)")
            parameters.append(before_row)
        parameters.append(limit)
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE {' AND '.join(conditions)}"
            " ORDER BY m.ts DESC, m.id DESC LIMIT ?",
            parameters,
        )
        return [_message_from_row(row) for row in reversed(rows)]

    async def mark_read(self, conversation_id: int) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE messages SET is_read = 1 WHERE conversation_id = ? AND direction = 'in' AND is_read = 0",
                (conversation_id,),
            )
            await db.execute(
                "UPDATE conversations SET unread_count = 0, marked_unread = 0 WHERE id = ?", (conversation_id,)
            )

    async def mark_unread(self, conversation_id: int) -> None:
        async with self._transaction() as db:
            await db.execute("UPDATE conversations SET marked_unread = 1 WHERE id = ?", (conversation_id,))

    async def mark_done(self, conversation_id: int, *, done: bool = True) -> None:
        """Close a conversation (or reopen it with ``done=False``); closing also marks it read."""
        async with self._transaction() as db:
            if done:
                await db.execute(
                    "UPDATE messages SET is_read = 1 WHERE conversation_id = ? AND direction = 'in' AND is_read = 0",
                    (conversation_id,),
                )
                await db.execute(
                    "UPDATE conversations SET done = 1, unread_count = 0, marked_unread = 0 WHERE id = ?",
                    (conversation_id,),
                )
            else:
                await db.execute("UPDATE conversations SET done = 0 WHERE id = ?", (conversation_id,))

    async def unread_total(self) -> int:
        """Return the number of unread inbound messages, counting a conversation marked unread as one."""
        row = await self._fetchone(
            "SELECT COALESCE(SUM(CASE WHEN unread_count > 0 THEN unread_count ELSE marked_unread END), 0)"
            " FROM conversations"
        )
        return int(row[0])

    # --- messages and search --------------------------------------------------------

    async def message(self, row_id: int) -> MessageRecord | None:
        row = await self._fetchone(f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?", (row_id,))
        return None if row is None else _message_from_row(row)

    async def message_by_message_id(
        self, message_id: str, *, direction: Literal["in", "out"] = "out"
    ) -> MessageRecord | None:
        row = await self._fetchone(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.direction = ? AND m.message_id = ?",
            (direction, message_id),
        )
        return None if row is None else _message_from_row(row)

    async def message_by_client_ref(self, client_ref: str) -> MessageRecord | None:
        row = await self._fetchone(f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.client_ref = ?", (client_ref,))
        return None if row is None else _message_from_row(row)

    async def messages_by_client_refs(self, client_refs: Sequence[str]) -> list[MessageRecord]:
        """Return the outbound messages with these outbox references, in the order given."""
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.client_ref IN (SELECT value FROM json_each(?))",
            (_json_list(client_refs),),
        )
        by_ref = {row["client_ref"]: _message_from_row(row) for row in rows}
        return [by_ref[ref] for ref in client_refs if ref in by_ref]

    async def messages(
        self,
        *,
        direction: Literal["in", "out"] | None = None,
        status: str | Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[MessageRecord]:
        """Return messages newest first, filtered by direction and status."""
        conditions, parameters = _filters(direction=direction, status=status)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m {where} ORDER BY m.ts DESC, m.id DESC LIMIT ? OFFSET ?",
            [*parameters, limit, offset],
        )
        return [_message_from_row(row) for row in rows]

    async def search(
        self,
        query: str,
        *,
        number: str | None = None,
        status: str | Sequence[str] | None = None,
        direction: Literal["in", "out"] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[MessageRecord]:
        """Return messages whose body has every word of ``query``, newest first.

        An empty query returns every message that passes the filters.
        """
        conditions, parameters = _filters(
            direction=direction, status=status, number=number, since=since, until=until
        )
        match = _fts_query(query)
        if match and not conditions:
            # The index is keyed by sort_key, so FTS5 yields the newest matches first and
            # stops after one page instead of every match being fetched and sorted.
            rows = await self._fetchall(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.sort_key IN ("
                " SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ? OFFSET ?"
                ") ORDER BY m.sort_key DESC",
                (match, limit, offset),
            )
            return [_message_from_row(row) for row in rows]

        if match:
            conditions.insert(0, "m.sort_key IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)")
            parameters.insert(0, match)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m {where} ORDER BY m.sort_key DESC LIMIT ? OFFSET ?",
            [*parameters, limit, offset],
        )
        return [_message_from_row(row) for row in rows]

    # --- outbox ---------------------------------------------------------------------

    async def add_to_outbox(self, drafts: Sequence[OutboundDraft]) -> list[int]:
        """Write outbound messages and their outbox rows in one transaction, state 'pending'.

        The rows are committed when this returns, before any HTTP request, and count as
        one send attempt made now. Returns the new messages' row ids, in the order of
        ``drafts``.
        """
        if not drafts:
            return []
        now = _now()
        async with self._transaction() as db:
            conversation_ids = await _resolve_conversations(db, [_outbound_pair(draft) for draft in drafts])
            last_row = await _last_message_row(db)
            # Ids chosen as _index_new_messages requires. The outbox rows name their message by them.
            row_ids = list(range(last_row + 1, last_row + 1 + len(drafts)))
            await db.executemany(
                f"""
                INSERT INTO messages (id, direction, conversation_id, client_ref, our_number, their_number, body,
                                      status, custom_string, ts, schedule_at, parts, is_read, origin,
                                      created_at, updated_at, sort_key)
                VALUES (?1, 'out', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1, ?12, ?9, ?9, {sort_key_sql('?9', '?1')})
                """,
                [
                    (
                        row_id,
                        conversation_ids[_outbound_pair(draft)],
                        draft.client_ref,
                        draft.sender or "",
                        draft.to,
                        draft.body,
                        status.PENDING,
                        draft.custom_string,
                        now,
                        _optional_time(draft.schedule_at),
                        draft.parts,
                        None if draft.origin is None else json.dumps(draft.origin),
                    )
                    for row_id, draft in zip(row_ids, drafts)
                ],
            )
            await _index_new_messages(db, last_row)
            await db.executemany(
                """
                INSERT INTO outbox (client_ref, message_row, batch_id, state, request, attempts,
                                    last_attempt_at, created_at)
                VALUES (?, ?, ?, 'pending', ?, 1, ?, ?)
                """,
                [
                    (draft.client_ref, row_id, draft.batch_id, json.dumps(draft.request), now, now)
                    for row_id, draft in zip(row_ids, drafts)
                ],
            )
            return row_ids

    async def record_send_updates(self, updates: Sequence[SendUpdate]) -> list[StatusChange]:
        """Record ClickSend's result per outbox message and close those outbox rows.

        A status never moves backwards: a receipt that overtook the send response keeps
        its 'delivered'. Receipts that were waiting for these message ids are applied.
        """
        if not updates:
            return []
        async with self._transaction() as db:
            states = await _load_states(db, client_refs=[update.client_ref for update in updates])
            by_ref = {state.client_ref: state for state in states}
            for update in updates:
                state = by_ref.get(update.client_ref)
                if state is None:
                    log.warning("send result for unknown outbox reference %s ignored", update.client_ref)
                    continue
                if update.message_id and not state.message_id:
                    state.message_id = update.message_id
                    state.changed = True
                _apply_report(
                    state,
                    new_status=update.status,
                    status_text=update.status_text,
                    error_text=update.error_text,
                )
                state.extra = {
                    "parts": update.parts,
                    "price": _money(update.price),
                    "country": update.country,
                    "carrier": update.carrier,
                }
            await _drop_foreign_copies(db, [state for state in states if state.changed and state.message_id])
            await _save_states(db, states, with_extra=True)
            await db.execute(
                "UPDATE outbox SET state = 'done', last_error = NULL WHERE client_ref IN (SELECT value FROM json_each(?))",
                (_json_list(update.client_ref for update in updates),),
            )
            changes = [_change_of(state) for state in states if state.status != state.original_status]
            changes += await _apply_waiting_receipts(db, [state.message_id for state in states if state.message_id])
        return changes

    async def record_send_error(self, client_refs: Sequence[str], error: str, *, outcome_known: bool) -> list[StatusChange]:
        """Record a send request that failed as a whole.

        With ``outcome_known`` (ClickSend rejected the request, or it never left this
        machine) the messages are failed and their outbox rows closed. Otherwise the
        request may have reached ClickSend: the rows stay pending for ``reconcile``.
        """
        if not client_refs:
            return []
        async with self._transaction() as db:
            if not outcome_known:
                await db.executemany(
                    "UPDATE outbox SET last_error = ? WHERE client_ref = ?", [(error, ref) for ref in client_refs]
                )
                return []
            states = await _load_states(db, client_refs=client_refs)
            for state in states:
                _apply_report(state, new_status=status.FAILED, status_text=None, error_text=error)
            await _save_states(db, states)
            await db.executemany(
                "UPDATE outbox SET state = 'done', last_error = ? WHERE client_ref = ?",
                [(error, ref) for ref in client_refs],
            )
        return [_change_of(state) for state in states if state.status != state.original_status]

    async def pending_outbox(self) -> list[OutboxEntry]:
        rows = await self._fetchall(
            """
            SELECT o.client_ref, o.message_row, o.batch_id, o.request, o.attempts, o.last_attempt_at,
                   o.created_at, m.their_number
            FROM outbox o JOIN messages m ON m.id = o.message_row
            WHERE o.state = 'pending' ORDER BY o.created_at, o.client_ref
            """
        )
        return [
            OutboxEntry(
                client_ref=row["client_ref"],
                message_row=row["message_row"],
                batch_id=row["batch_id"],
                request=json.loads(row["request"]),
                attempts=row["attempts"],
                last_attempt_at=from_db_time(row["last_attempt_at"]),
                created_at=from_db_time(row["created_at"]),
                their_number=row["their_number"],
            )
            for row in rows
        ]

    async def claim_outbox_attempt(self, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        """Take the right to resend these pending rows; return the ones this caller won.

        The claim compares ``last_attempt_at`` with the value the caller read, so when
        two processes reconcile at once only one of them resends a message.
        """
        if not entries:
            return []
        claims = json.dumps([[entry.client_ref, _optional_time(entry.last_attempt_at)] for entry in entries])
        async with self._transaction() as db:
            async with db.execute(
                """
                UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?
                FROM json_each(?) AS claim
                WHERE outbox.client_ref = json_extract(claim.value, '$[0]') AND outbox.state = 'pending'
                  AND outbox.last_attempt_at IS json_extract(claim.value, '$[1]')
                RETURNING outbox.client_ref
                """,
                (_now(), claims),
            ) as cursor:
                won = {row[0] for row in await cursor.fetchall()}
        return [entry for entry in entries if entry.client_ref in won]

    # --- inbound --------------------------------------------------------------------

    async def add_inbound(self, records: Sequence[InboundRecord]) -> list[MessageRecord]:
        """Store inbound messages once each (by ClickSend message_id); return only the new ones.

        Opt-out and opt-in keywords of new messages update the opt-out list in the same
        transaction.
        """
        unique: dict[str, InboundRecord] = {}
        for record in records:
            unique.setdefault(record.message_id, record)
        if not unique:
            return []
        now = _now()
        async with self._transaction() as db:
            async with db.execute(
                "SELECT message_id FROM messages WHERE direction = 'in'"
                " AND message_id IN (SELECT value FROM json_each(?))",
                (_json_list(unique),),
            ) as cursor:
                existing = {row[0] for row in await cursor.fetchall()}
            new = [record for message_id, record in unique.items() if message_id not in existing]
            if not new:
                return []
            reply_to = await _link_replies(db, new)
            conversation_ids = await _resolve_conversations(
                db, [(record.to_number, record.from_number) for record in new]
            )
            last_row = await _last_message_row(db)
            await db.executemany(
                f"""
                INSERT INTO messages (id, direction, conversation_id, message_id, our_number, their_number, body,
                                      status, custom_string, ts, reply_to_message_id, is_read, opt_out,
                                      created_at, updated_at, sort_key)
                VALUES (?1, 'in', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, {sort_key_sql('?9', '?1')})
                ON CONFLICT (direction, message_id) DO NOTHING
                """,
                [
                    (
                        row_id,
                        conversation_ids[(record.to_number, record.from_number)],
                        record.message_id,
                        record.to_number,
                        record.from_number,
                        record.body,
                        status.RECEIVED,
                        reference.split(record.custom_string)[0],
                        to_db_time(record.received_at),
                        reply_to[record.message_id],
                        int(record.is_read),
                        record.opt_out,
                        now,
                    )
                    for row_id, record in enumerate(new, start=last_row + 1)
                ],
            )
            await _index_new_messages(db, last_row)
            inserted = await _select_messages(
                db, "m.message_id", [record.message_id for record in new], extra="m.direction = 'in'"
            )
            await _apply_opt_keywords(db, inserted)
        return inserted

    # --- receipts -------------------------------------------------------------------

    async def add_receipts(self, records: Sequence[ReceiptRecord]) -> tuple[int, list[StatusChange]]:
        """Store receipts once each (by message_id and status code) and apply them.

        A receipt finds its message by message_id, or by the outbox reference in its
        custom_string when the send response has not been recorded yet. A receipt that
        finds nothing is kept unapplied and applied when its message appears. Returns the
        number of new receipts and the status changes they caused.
        """
        unique: dict[tuple[str, str], ReceiptRecord] = {}
        for record in records:
            unique.setdefault((record.message_id, record.status_code), record)
        if not unique:
            return 0, []
        now = _now()
        async with self._transaction() as db:
            async with db.execute(
                "SELECT message_id, status_code FROM receipts WHERE message_id IN (SELECT value FROM json_each(?))",
                (_json_list({message_id for message_id, _ in unique}),),
            ) as cursor:
                existing = {(row[0], row[1]) for row in await cursor.fetchall()}
            new = [record for key, record in unique.items() if key not in existing]
            if not new:
                return 0, []
            await db.executemany(
                """
                INSERT INTO receipts (message_id, status_code, status, status_text, error_code, error_text,
                                      custom_string, ts, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (message_id, status_code) DO NOTHING
                """,
                [
                    (
                        record.message_id,
                        record.status_code,
                        record.status,
                        record.status_text,
                        record.error_code,
                        record.error_text,
                        record.custom_string,
                        _optional_time(record.ts),
                        now,
                    )
                    for record in new
                ],
            )
            await _adopt_message_ids_from_receipts(db, new)
            changes = await _apply_waiting_receipts(db, [record.message_id for record in new])
        return len(new), changes

    async def receipts_for(self, message_id: str) -> list[ReceiptRecord]:
        """Return every receipt stored for one outbound message, oldest first."""
        rows = await self._fetchall(
            "SELECT * FROM receipts WHERE message_id = ? ORDER BY COALESCE(ts, received_at), id", (message_id,)
        )
        return [_receipt_from_row(row) for row in rows]

    async def orphan_receipts(self) -> list[ReceiptRecord]:
        """Return receipts that matched no message yet."""
        rows = await self._fetchall("SELECT * FROM receipts WHERE applied_at IS NULL ORDER BY received_at, id")
        return [_receipt_from_row(row) for row in rows]

    # --- status changes without a receipt -------------------------------------------

    async def set_status(self, message_ids: Sequence[str], new_status: str, *, status_text: str | None = None) -> list[StatusChange]:
        """Move outbound messages (by ClickSend id) to ``new_status`` where the order allows it."""
        if not message_ids:
            return []
        async with self._transaction() as db:
            states = await _load_states(db, message_ids=message_ids)
            for state in states:
                _apply_report(state, new_status=new_status, status_text=status_text, error_text=None)
            await _save_states(db, states)
        return [_change_of(state) for state in states if state.status != state.original_status]

    async def cancel_scheduled(self, *, custom_string: str | None = None) -> list[StatusChange]:
        """Mark every cached scheduled message (with that user custom_string) cancelled."""
        async with self._transaction() as db:
            conditions = ["direction = 'out'", "status = ?"]
            parameters: list[Any] = [status.SCHEDULED]
            if custom_string is not None:
                conditions.append("custom_string = ?")
                parameters.append(custom_string)
            states = await _load_states(db, where=" AND ".join(conditions), parameters=parameters)
            for state in states:
                _apply_report(state, new_status=status.CANCELLED, status_text="Cancelled", error_text=None)
            await _save_states(db, states)
        return [_change_of(state) for state in states if state.status != state.original_status]

    # --- history --------------------------------------------------------------------

    async def merge_history(self, records: Sequence[HistoryRecord]) -> tuple[int, list[StatusChange]]:
        """Merge history rows: update the messages we have, insert the ones we lack.

        A row is ours when its message_id is cached or its custom_string carries one of
        our outbox references; inbound rows are inserted as already read. Returns the
        number of rows inserted and the status changes of cached messages.
        """
        unique: dict[tuple[str, str], HistoryRecord] = {}
        for record in records:
            unique.setdefault((record.direction, record.message_id), record)
        if not unique:
            return 0, []
        # (record, the user's part of custom_string, our outbox reference), split once.
        entries = [(record, *reference.split(record.custom_string)) for record in unique.values()]
        now = _now()
        async with self._transaction() as db:
            outbound = [(record, ref) for record, _, ref in entries if record.direction == "out"]
            states = await _load_states(db, message_ids=[record.message_id for record, _ in outbound])
            refs = list(dict.fromkeys(ref for _, ref in outbound if ref is not None))
            known_ids = {state.message_id for state in states}
            states += [
                state
                for state in await _load_states(db, client_refs=refs)
                if state.message_id not in known_ids
            ]
            by_id = {state.message_id: state for state in states if state.message_id}
            by_ref = {state.client_ref: state for state in states if state.client_ref}
            matched: set[str] = set()
            for record, ref in outbound:
                state = by_id.get(record.message_id) or by_ref.get(ref or "")
                if state is None:
                    continue
                matched.add(record.message_id)
                if not state.message_id:
                    state.message_id = record.message_id
                    state.changed = True
                _apply_report(
                    state, new_status=record.status, status_text=record.status_text, error_text=record.error_text
                )
            await _save_states(db, states)
            await db.executemany(
                "UPDATE outbox SET state = 'done' WHERE client_ref = ? AND state = 'pending'",
                [(state.client_ref,) for state in states if state.client_ref and state.message_id],
            )

            async with db.execute(
                "SELECT message_id FROM messages WHERE direction = 'in' AND message_id IN (SELECT value FROM json_each(?))",
                (_json_list(record.message_id for record in unique.values() if record.direction == "in"),),
            ) as cursor:
                matched |= {row[0] for row in await cursor.fetchall()}
            new = [(record, user_text) for record, user_text, _ in entries if record.message_id not in matched]
            inserted = 0
            if new:
                conversation_ids = await _resolve_conversations(
                    db, [(record.our_number, record.their_number) for record, _ in new]
                )
                last_row = await _last_message_row(db)
                await db.executemany(
                    f"""
                    INSERT INTO messages (id, direction, conversation_id, message_id, our_number, their_number, body,
                                          status, status_code, status_text, error_code, error_text, custom_string,
                                          ts, parts, price, country, carrier, is_read, created_at, updated_at,
                                          sort_key)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, 1, ?19, ?19,
                            {sort_key_sql('?14', '?1')})
                    ON CONFLICT (direction, message_id) DO NOTHING
                    """,
                    [
                        (
                            row_id,
                            record.direction,
                            conversation_ids[(record.our_number, record.their_number)],
                            record.message_id,
                            record.our_number,
                            record.their_number,
                            record.body,
                            status.RECEIVED if record.direction == "in" else record.status,
                            record.status_code,
                            record.status_text,
                            record.error_code,
                            record.error_text,
                            user_text,
                            to_db_time(record.ts),
                            record.parts,
                            _money(record.price),
                            record.country,
                            record.carrier,
                            now,
                        )
                        for row_id, (record, user_text) in enumerate(new, start=last_row + 1)
                    ],
                )
                await _index_new_messages(db, last_row)
                async with db.execute("SELECT COUNT(*) FROM messages WHERE id > ?", (last_row,)) as cursor:
                    inserted = (await cursor.fetchone())[0]
            changes = [_change_of(state) for state in states if state.status != state.original_status]
            changes += await _apply_waiting_receipts(
                db, [state.message_id for state in states if state.message_id]
                + [record.message_id for record, _ in new if record.direction == "out"]
            )
        return inserted, changes

    # --- opt-outs -------------------------------------------------------------------

    async def opted_out(self, numbers: Iterable[str]) -> set[str]:
        """Return which of ``numbers`` are on the opt-out list."""
        rows = await self._fetchall(
            "SELECT number FROM opt_outs WHERE number IN (SELECT value FROM json_each(?))", (_json_list(numbers),)
        )
        return {row[0] for row in rows}

    async def is_opted_out(self, number: str) -> bool:
        return bool(await self.opted_out([number]))

    async def list_opt_outs(self) -> list[tuple[str, str, datetime]]:
        rows = await self._fetchall("SELECT number, keyword, opted_out_at FROM opt_outs ORDER BY opted_out_at")
        return [(row[0], row[1], from_db_time(row[2])) for row in rows]

    async def add_opt_out(self, number: str, *, keyword: str = "manual") -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO opt_outs (number, keyword, opted_out_at) VALUES (?, ?, ?)"
                " ON CONFLICT (number) DO UPDATE SET keyword = excluded.keyword, opted_out_at = excluded.opted_out_at",
                (number, keyword, _now()),
            )

    async def remove_opt_out(self, number: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute("DELETE FROM opt_outs WHERE number = ?", (number,))
            return cursor.rowcount > 0

    # --- templates ------------------------------------------------------------------

    async def replace_templates(self, templates: Sequence[tuple[int, str, str]]) -> None:
        """Replace the cached templates with ClickSend's list of (template_id, name, body)."""
        now = _now()
        async with self._transaction() as db:
            await db.execute("DELETE FROM templates")
            await db.executemany(
                "INSERT INTO templates (template_id, name, body, synced_at) VALUES (?, ?, ?, ?)",
                [(template_id, name, body, now) for template_id, name, body in templates],
            )

    async def upsert_template(self, template_id: int, name: str, body: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO templates (template_id, name, body, synced_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (template_id) DO UPDATE SET name = excluded.name, body = excluded.body,"
                " synced_at = excluded.synced_at",
                (template_id, name, body, _now()),
            )

    async def delete_template(self, template_id: int) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM templates WHERE template_id = ?", (template_id,))

    async def templates(self) -> list[tuple[int, str, str]]:
        rows = await self._fetchall("SELECT template_id, name, body FROM templates ORDER BY name COLLATE NOCASE")
        return [(row[0], row[1], row[2]) for row in rows]

    # --- sync cursors ---------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        row = await self._fetchone("SELECT value FROM sync_cursors WHERE name = ?", (name,))
        return None if row is None else row[0]

    async def set_cursor(self, name: str, value: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO sync_cursors (name, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (name, value, _now()),
            )

    # --- Slack bookkeeping ----------------------------------------------------------

    async def slack_thread(self, conversation_id: int) -> SlackThread | None:
        """Return the Slack thread that a conversation is posted under, if any."""
        row = await self._fetchone(
            "SELECT channel, thread_ts, updated_at FROM slack_threads WHERE conversation_id = ?", (conversation_id,)
        )
        if row is None:
            return None
        return SlackThread(channel=row[0], thread_ts=row[1], updated_at=from_db_time(row[2]))

    async def save_slack_thread(self, conversation_id: int, *, channel: str, thread_ts: str) -> None:
        """Record (or touch) the Slack thread of a conversation; updated_at becomes now."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO slack_threads (conversation_id, channel, thread_ts, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (conversation_id) DO UPDATE SET channel = excluded.channel,"
                " thread_ts = excluded.thread_ts, updated_at = excluded.updated_at",
                (conversation_id, channel, thread_ts, _now()),
            )

    async def conversation_for_slack_thread(self, channel: str, thread_ts: str) -> Conversation | None:
        row = await self._fetchone(
            "SELECT conversation_id FROM slack_threads WHERE channel = ? AND thread_ts = ?", (channel, thread_ts)
        )
        return None if row is None else await self.conversation(row[0])

    async def save_slack_post(self, message_row: int, *, channel: str, ts: str, kind: str = "bot") -> None:
        """Record the Slack post of a message: kind 'bot' (the bot can edit it) or 'user'."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO slack_posts (message_row, channel, ts, kind) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (message_row) DO UPDATE SET channel = excluded.channel, ts = excluded.ts,"
                " kind = excluded.kind",
                (message_row, channel, ts, kind),
            )

    async def slack_post(self, message_row: int) -> SlackPost | None:
        row = await self._fetchone("SELECT channel, ts, kind FROM slack_posts WHERE message_row = ?", (message_row,))
        return None if row is None else SlackPost(channel=row[0], ts=row[1], kind=row[2])

    async def slack_post_messages(self, channel: str, ts: str) -> list[MessageRecord]:
        """Return every message recorded against one Slack post (a multi-recipient send)."""
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM slack_posts p JOIN messages m ON m.id = p.message_row"
            " WHERE p.channel = ? AND p.ts = ? ORDER BY m.id",
            (channel, ts),
        )
        return [_message_from_row(row) for row in rows]

    async def slack_posts_updated_since(self, since: datetime, *, limit: int = 500) -> list[tuple[int, datetime]]:
        """Return (message row, updated_at) of messages with a Slack post changed after ``since``, oldest first.

        Another process (``smsdesk serve``) may store the receipt that changed a message, so
        the bot keeps a watermark and re-renders the posts this returns.
        """
        rows = await self._fetchall(
            "SELECT m.id, m.updated_at FROM slack_posts p JOIN messages m ON m.id = p.message_row"
            " WHERE m.updated_at > ? ORDER BY m.updated_at, m.id LIMIT ?",
            (to_db_time(since), limit),
        )
        return [(row[0], from_db_time(row[1])) for row in rows]

    async def claim_slack_event(self, event_id: str) -> bool:
        """Record a Slack event id; return False when it was already handled (a Slack retry)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO slack_events (event_id, received_at) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING",
                (event_id, _now()),
            )
            return cursor.rowcount == 1

    async def set_relay_status(self, message_row: int, relay_status: str | None, *, reason: str | None = None) -> None:
        """Record the Slack relay state of an inbound message ('pending', 'relayed', 'failed') and why it failed."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE messages SET relay_status = ?, relay_error = ?, updated_at = ? WHERE id = ?",
                (relay_status, reason, _now(), message_row),
            )

    async def claim_relay(self, message_row: int) -> bool:
        """Mark an inbound message as being relayed; return False if another relay claimed it first.

        A message never relayed, or marked 'retry' (the inbox's "post to Slack again"), can be claimed.
        """
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE messages SET relay_status = 'pending', updated_at = ?"
                " WHERE id = ? AND direction = 'in' AND (relay_status IS NULL OR relay_status = 'retry')",
                (_now(), message_row),
            )
            return cursor.rowcount == 1

    async def list_relay_failures(self, *, limit: int = 50) -> list[tuple[MessageRecord, str | None]]:
        """Return inbound messages whose Slack relay failed, oldest first, with the reason."""
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.direction = 'in'"
            " AND m.relay_status = 'failed' ORDER BY m.ts, m.id LIMIT ?",
            (limit,),
        )
        records = [_message_from_row(row) for row in rows]
        return [(record, record.relay_error) for record in records]

    async def unrelayed_inbound(self, *, since: datetime | None = None, limit: int = 100) -> list[MessageRecord]:
        """Return inbound messages never relayed, whose relay failed, or marked 'retry', oldest first.

        With ``since``, only rows marked 'retry' and never-relayed rows received at or after
        ``since``: old rows from a history sync are not meant for Slack and would otherwise
        fill every page of a catch-up.
        """
        if since is None:
            condition, parameters = "m.relay_status IS NULL OR m.relay_status IN ('failed', 'retry')", []
        else:
            condition = "m.relay_status = 'retry' OR (m.relay_status IS NULL AND m.ts >= ?)"
            parameters = [to_db_time(since)]
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.direction = 'in' AND ({condition})"
            " ORDER BY m.ts, m.id LIMIT ?",
            [*parameters, limit],
        )
        return [_message_from_row(row) for row in rows]


# --- connection set-up and migrations -------------------------------------------------


async def _open_connection(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: the store issues BEGIN IMMEDIATE itself instead of the
    # sqlite3 module's implicit deferred BEGIN.
    connection = await aiosqlite.connect(path, isolation_level=None)
    try:
        connection.row_factory = sqlite3.Row
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _enable_wal(connection, path)
        await connection.execute("PRAGMA synchronous = NORMAL")
        await connection.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await connection.close()
        raise
    return connection


async def _enable_wal(connection: aiosqlite.Connection, path: Path) -> None:
    """Switch the file to WAL, retrying while another connection holds the lock.

    Switching a new file to WAL needs an exclusive lock, and SQLite reports "database is
    locked" at once instead of calling the busy handler, so two processes that open a
    new cache together would otherwise fail.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            async with connection.execute("PRAGMA journal_mode = WAL") as cursor:
                mode = str((await cursor.fetchone())[0])
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or loop.time() > deadline:
                raise
            await asyncio.sleep(WAL_RETRY_SECONDS)
    if mode.lower() != "wal":
        log.warning("cache %s uses journal mode %s, not WAL; readers and writers will block each other", path, mode)


async def _close_connection(connection: aiosqlite.Connection) -> None:
    """Close a connection and wait until its worker thread has ended.

    aiosqlite's worker thread is not a daemon thread, so one left running keeps the
    interpreter from exiting; close() resolves just before the thread returns.
    """
    await connection.close()
    worker = getattr(connection, "_thread", None)
    deadline = asyncio.get_running_loop().time() + 5.0
    while worker is not None and worker.is_alive() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.001)


async def _migrate(db: aiosqlite.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION; the version check runs inside the write lock."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        async with db.execute("PRAGMA user_version") as cursor:
            version = int((await cursor.fetchone())[0])
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"The cache {path} has schema version {version}, newer than this smsdesk ({SCHEMA_VERSION}):"
                " upgrade smsdesk or point SMSDESK_CACHE at another file."
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target - 1]:
                await db.execute(statement)
            log.info("migrated cache %s to schema version %d", path, target)
        if version != SCHEMA_VERSION:
            await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        await db.rollback()
        raise
    await db.commit()


# --- helpers that run inside a write transaction --------------------------------------


def _filters(
    *,
    direction: str | None = None,
    status: str | Sequence[str] | None = None,
    number: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    parameters: list[Any] = []
    if direction is not None:
        conditions.append("m.direction = ?")
        parameters.append(direction)
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        conditions.append("m.status IN (SELECT value FROM json_each(?))")
        parameters.append(_json_list(statuses))
    if number is not None:
        conditions.append(
            "m.conversation_id IN (SELECT id FROM conversations WHERE their_number = ? OR our_number = ?)"
        )
        parameters += [number, number]
    if since is not None:
        conditions.append("m.ts >= ?")
        parameters.append(to_db_time(since))
    if until is not None:
        conditions.append("m.ts < ?")
        parameters.append(to_db_time(until))
    return conditions, parameters


async def _last_message_row(db: aiosqlite.Connection) -> int:
    async with db.execute("SELECT COALESCE(MAX(id), 0) FROM messages") as cursor:
        return int((await cursor.fetchone())[0])


async def _index_new_messages(db: aiosqlite.Connection, after_row: int) -> None:
    """Add the messages inserted after row ``after_row`` to the full-text index and the conversation summaries.

    It runs once per batch, inside the write transaction that inserted the rows, so row
    ids above ``after_row`` are exactly that batch. Among messages with the same time,
    any one of them may become the conversation's last message.

    Every INSERT into messages gives its rows the ids after ``_last_message_row`` and sets
    their sort_key from ``sort_key_sql``, so the index needs no second pass over the rows.
    The write transaction holds the lock, so no other writer can take those ids.
    """
    await db.execute(
        "INSERT INTO messages_fts (rowid, body) SELECT sort_key, body FROM messages WHERE id > ?", (after_row,)
    )
    # With exactly one max() aggregate, SQLite takes the bare column id from the row
    # that has the max, so top_row is the newest message of each conversation.
    await db.execute(
        """
        UPDATE conversations SET
            last_message_row = CASE WHEN last_activity IS NULL OR batch.top_ts >= last_activity
                                    THEN batch.top_row ELSE last_message_row END,
            last_activity = CASE WHEN last_activity IS NULL OR batch.top_ts >= last_activity
                                 THEN batch.top_ts ELSE last_activity END,
            unread_count = unread_count + batch.unread,
            done = CASE WHEN batch.unread > 0 THEN 0 ELSE done END
        FROM (
            SELECT conversation_id, MAX(ts) AS top_ts, id AS top_row,
                   SUM(direction = 'in' AND is_read = 0) AS unread
            FROM messages WHERE id > ? GROUP BY conversation_id
        ) AS batch
        WHERE conversations.id = batch.conversation_id
        """,
        (after_row,),
    )


async def _select_messages(
    db: aiosqlite.Connection, column: str, values: Sequence[str], *, extra: str = "1"
) -> list[MessageRecord]:
    """Return the messages whose ``column`` is one of ``values``, in time order."""
    async with db.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE {column} IN (SELECT value FROM json_each(?)) AND {extra}"
        " ORDER BY m.ts, m.id",
        (_json_list(values),),
    ) as cursor:
        return [_message_from_row(row) for row in await cursor.fetchall()]


def _outbound_pair(draft: OutboundDraft) -> tuple[str, str]:
    """Return the conversation key of an outbound message.

    A reply can only come back to a phone number. So a send from an alphanumeric sender
    ID, or from ClickSend's shared pool, is keyed like one from an unknown number. It
    joins the contact's latest conversation, and the first reply names our number.
    """
    sender = draft.sender or ""
    return (sender if sender.startswith("+") else "", draft.to)


async def _resolve_conversations(
    db: aiosqlite.Connection, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Map each (our_number, their_number) to a conversation id, creating what is missing.

    A message whose number of ours is unknown ('', ClickSend's shared pool) joins the
    latest conversation with that contact. A message to or from a known number of ours
    adopts the contact's conversation that has no number of ours yet, so a reply to a
    send from the shared pool lands in the same conversation.
    """
    pairs = sorted(set(pairs))
    their_numbers = _json_list(sorted({their for _, their in pairs}))
    exact, latest = await _conversations_of(db, their_numbers)

    adoptions: list[tuple[str, int]] = []
    creations: list[tuple[str, str]] = []
    ours_by_their: dict[str, list[str]] = {}
    for our, their in pairs:
        ours_by_their.setdefault(their, []).append(our)
    for their, ours in ours_by_their.items():
        known = [our for our in ours if our]
        for our in known:
            if (our, their) in exact:
                continue
            if ("", their) in exact:
                adoptions.append((our, exact.pop(("", their))))
            else:
                creations.append((our, their))
        if "" in ours and not known and their not in latest:
            creations.append(("", their))
    await db.executemany("UPDATE conversations SET our_number = ? WHERE id = ?", adoptions)
    await db.executemany("INSERT INTO conversations (our_number, their_number) VALUES (?, ?)", creations)
    if adoptions or creations:
        exact, latest = await _conversations_of(db, their_numbers)
    return {(our, their): exact.get((our, their)) or latest[their] for our, their in pairs}


async def _conversations_of(
    db: aiosqlite.Connection, their_numbers: str
) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Return the conversations with these contacts by exact pair, and the latest one per contact."""
    async with db.execute(
        "SELECT id, our_number, their_number FROM conversations WHERE their_number IN (SELECT value FROM json_each(?))"
        " ORDER BY last_activity IS NOT NULL, last_activity, id",
        (their_numbers,),
    ) as cursor:
        rows = await cursor.fetchall()
    exact = {(row["our_number"], row["their_number"]): row["id"] for row in rows}
    latest = {row["their_number"]: row["id"] for row in rows}  # rows are in activity order: the last one wins
    return exact, latest


_STATE_COLUMNS: Final = (
    "id, conversation_id, their_number, client_ref, message_id, status, status_code, status_text,"
    " error_code, error_text"
)


async def _load_states(
    db: aiosqlite.Connection,
    *,
    client_refs: Sequence[str] | None = None,
    message_ids: Sequence[str] | None = None,
    where: str | None = None,
    parameters: Sequence[Any] = (),
) -> list[_RowState]:
    if client_refs is not None:
        where, parameters = "client_ref IN (SELECT value FROM json_each(?))", (_json_list(client_refs),)
    elif message_ids is not None:
        where = "direction = 'out' AND message_id IN (SELECT value FROM json_each(?))"
        parameters = (_json_list(message_ids),)
    where = where or "1"
    async with db.execute(f"SELECT {_STATE_COLUMNS} FROM messages WHERE {where}", parameters) as cursor:
        rows = await cursor.fetchall()
    return [
        _RowState(
            row_id=row["id"],
            conversation_id=row["conversation_id"],
            their_number=row["their_number"],
            client_ref=row["client_ref"],
            message_id=row["message_id"],
            status=row["status"],
            status_code=row["status_code"],
            status_text=row["status_text"],
            error_code=row["error_code"],
            error_text=row["error_text"],
            original_status=row["status"],
        )
        for row in rows
    ]


def _apply_report(
    state: _RowState,
    *,
    new_status: str | None,
    status_text: str | None,
    error_text: str | None,
    status_code: str | None = None,
    error_code: str | None = None,
) -> None:
    """Apply one status report to a row: only forwards, and never erase a failure reason."""
    if new_status is None or not status.may_replace(state.status, new_status):
        return
    state.status = new_status
    state.status_code = status_code or state.status_code
    state.status_text = status_text or state.status_text
    state.error_code = error_code or state.error_code
    state.error_text = error_text or state.error_text
    state.changed = True


async def _save_states(db: aiosqlite.Connection, states: Sequence[_RowState], *, with_extra: bool = False) -> None:
    # Each statement takes all rows as one JSON array and joins it by row id. A send
    # records 1,000 results at a time, and one statement costs a fraction of an
    # executemany that binds and runs 1,000 of them.
    changed = [state for state in states if state.changed]
    if changed:
        await db.execute(
            """
            UPDATE messages SET message_id = row.value ->> 1, status = row.value ->> 2,
                                status_code = row.value ->> 3, status_text = row.value ->> 4,
                                error_code = row.value ->> 5, error_text = row.value ->> 6, updated_at = ?
            FROM json_each(?) AS row
            WHERE messages.id = row.value ->> 0
            """,
            (
                _now(),
                json.dumps([
                    [state.row_id, state.message_id, state.status, state.status_code, state.status_text,
                     state.error_code, state.error_text]
                    for state in changed
                ]),
            ),
        )
    extras = [state for state in states if state.extra] if with_extra else []
    if extras:
        await db.execute(
            """
            UPDATE messages SET parts = COALESCE(row.value ->> 1, parts), price = COALESCE(row.value ->> 2, price),
                                country = COALESCE(row.value ->> 3, country),
                                carrier = COALESCE(NULLIF(row.value ->> 4, ''), carrier)
            FROM json_each(?) AS row
            WHERE messages.id = row.value ->> 0
            """,
            (
                json.dumps([
                    [state.row_id, state.extra.get("parts"), state.extra.get("price"), state.extra.get("country"),
                     state.extra.get("carrier")]
                    for state in extras
                ]),
            ),
        )


async def _drop_foreign_copies(db: aiosqlite.Connection, states: Sequence[_RowState]) -> None:
    """Delete rows that a history sync created for these outbox messages under their ClickSend id.

    That happens when a history row of ours came without our reference in its
    custom_string. The outbox row is the one that front-ends and receipts refer to, so
    the copy goes, and the conversation summary is recomputed without it.
    """
    pairs = [(state.message_id, state.row_id) for state in states]
    if not pairs:
        return
    async with db.execute(
        """
        SELECT m.id, m.conversation_id FROM json_each(?) pair
        CROSS JOIN messages m ON m.direction = 'out' AND m.message_id = json_extract(pair.value, '$[0]')
        WHERE m.id != json_extract(pair.value, '$[1]') AND m.client_ref IS NULL
        """,
        (json.dumps(pairs),),
    ) as cursor:
        copies = await cursor.fetchall()
    if not copies:
        return
    log.info("replacing %d history copy row(s) with their outbox rows", len(copies))
    await db.executemany("DELETE FROM slack_posts WHERE message_row = ?", [(row["id"],) for row in copies])
    await db.executemany("DELETE FROM messages WHERE id = ?", [(row["id"],) for row in copies])
    await db.executemany(
        """
        UPDATE conversations SET last_message_row = (
            SELECT id FROM messages WHERE conversation_id = conversations.id ORDER BY ts DESC, id DESC LIMIT 1
        )
        WHERE id = ?
        """,
        sorted({(row["conversation_id"],) for row in copies}),
    )


def _change_of(state: _RowState) -> StatusChange:
    return StatusChange(
        row_id=state.row_id,
        conversation_id=state.conversation_id,
        message_id=state.message_id,
        client_ref=state.client_ref,
        their_number=state.their_number,
        old_status=state.original_status,
        new_status=state.status,
        error_text=state.error_text,
    )


async def _adopt_message_ids_from_receipts(db: aiosqlite.Connection, receipts: Sequence[ReceiptRecord]) -> None:
    """Give pending outbox rows the message_id of a receipt that carries their reference.

    This is how a receipt that overtook its send response finds its message.
    """
    by_ref = {}
    for receipt in receipts:
        ref = reference.split(receipt.custom_string)[1]
        if ref is not None:
            by_ref[ref] = receipt.message_id
    await _adopt_message_ids(db, by_ref)


async def _link_replies(db: aiosqlite.Connection, inbound: Sequence[InboundRecord]) -> dict[str, str | None]:
    """Return the outbound message_id that each inbound message replies to.

    ClickSend sends original_message_id with a reply, and custom_string carries our
    outbox reference. The reference finds the outbound row when the id is missing, and
    the id is given to an outbound row whose send result has not been recorded yet.
    """
    refs = {record.message_id: reference.split(record.custom_string)[1] for record in inbound}
    await _adopt_message_ids(
        db,
        {refs[record.message_id]: record.original_message_id
         for record in inbound if refs[record.message_id] and record.original_message_id},
    )
    wanted = sorted({ref for ref in refs.values() if ref})
    known: dict[str, str] = {}
    if wanted:
        async with db.execute(
            "SELECT client_ref, message_id FROM messages WHERE client_ref IN (SELECT value FROM json_each(?))"
            " AND message_id IS NOT NULL",
            (_json_list(wanted),),
        ) as cursor:
            known = {row[0]: row[1] for row in await cursor.fetchall()}
    return {
        record.message_id: record.original_message_id or known.get(refs[record.message_id] or "")
        for record in inbound
    }


async def _adopt_message_ids(db: aiosqlite.Connection, by_ref: dict[str, str]) -> None:
    """Set message_id on outbox rows (by reference) that do not have one yet."""
    if not by_ref:
        return
    await db.executemany(
        """
        UPDATE messages SET message_id = ?
        WHERE client_ref = ? AND message_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM messages other WHERE other.direction = 'out' AND other.message_id = ?)
        """,
        [(message_id, ref, message_id) for ref, message_id in by_ref.items()],
    )


async def _apply_waiting_receipts(db: aiosqlite.Connection, message_ids: Sequence[str]) -> list[StatusChange]:
    """Apply every unapplied receipt of these messages, in receipt order."""
    if not message_ids:
        return []
    async with db.execute("SELECT EXISTS (SELECT 1 FROM receipts WHERE applied_at IS NULL)") as cursor:
        if not (await cursor.fetchone())[0]:
            return []
    async with db.execute(
        """
        SELECT id, message_id, status_code, status, status_text, error_code, error_text FROM receipts
        WHERE applied_at IS NULL AND message_id IN (SELECT value FROM json_each(?))
        ORDER BY COALESCE(ts, received_at), id
        """,
        (_json_list(set(message_ids)),),
    ) as cursor:
        receipts = await cursor.fetchall()
    if not receipts:
        return []
    states = await _load_states(db, message_ids=sorted({row["message_id"] for row in receipts}))
    by_id = {state.message_id: state for state in states}
    applied = []
    for receipt in receipts:
        state = by_id.get(receipt["message_id"])
        if state is None:
            continue
        applied.append(receipt["id"])
        _apply_report(
            state,
            new_status=receipt["status"],
            status_text=receipt["status_text"],
            error_text=receipt["error_text"],
            status_code=receipt["status_code"] or None,
            error_code=receipt["error_code"],
        )
    await _save_states(db, states)
    now = _now()
    await db.executemany("UPDATE receipts SET applied_at = ? WHERE id = ?", [(now, receipt_id) for receipt_id in applied])
    return [_change_of(state) for state in states if state.status != state.original_status]


async def _apply_opt_keywords(db: aiosqlite.Connection, inbound: Sequence[MessageRecord]) -> None:
    """Update the opt-out list from new inbound keywords; the latest keyword per number wins."""
    latest: dict[str, MessageRecord] = {}
    for message in sorted(inbound, key=lambda message: (message.ts, message.row_id)):
        if message.opt_out in ("opt_out", "opt_in"):
            latest[message.their_number] = message
    await db.executemany(
        """
        INSERT INTO opt_outs (number, keyword, opted_out_at, message_row) VALUES (?, ?, ?, ?)
        ON CONFLICT (number) DO UPDATE SET keyword = excluded.keyword, opted_out_at = excluded.opted_out_at,
                                           message_row = excluded.message_row
        """,
        [
            (number, message.body.strip(), to_db_time(message.ts), message.row_id)
            for number, message in latest.items()
            if message.opt_out == "opt_out"
        ],
    )
    await db.executemany(
        "DELETE FROM opt_outs WHERE number = ?",
        [(number,) for number, message in latest.items() if message.opt_out == "opt_in"],
    )
