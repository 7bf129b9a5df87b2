"""Store: schema, outbox, receipts, inbound, conversations, search, closing."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from core import status
from core.schema import SCHEMA_VERSION
from core.store import (
    HistoryRecord,
    InboundRecord,
    OutboundDraft,
    ReceiptRecord,
    SendUpdate,
    Store,
    StoreClosedError,
)

from .conftest import aiosqlite_threads, wait_for

AU_1 = "+61491570156"
AU_2 = "+61491570157"
OURS = "+61411111111"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def draft(ref: str, to: str = AU_1, body: str = "hello", **extra) -> OutboundDraft:
    return OutboundDraft(client_ref=ref, batch_id="batch-1", to=to, body=body, request={"to": to, "body": body}, **extra)


def inbound(message_id: str, body: str = "ok", *, from_number: str = AU_1, at: datetime = T0, **extra) -> InboundRecord:
    return InboundRecord(message_id=message_id, from_number=from_number, to_number=OURS, body=body, received_at=at, **extra)


def receipt(message_id: str, code: str, **extra) -> ReceiptRecord:
    return ReceiptRecord(message_id=message_id, status_code=code, status=status.from_receipt_code(code), **extra)


def raw_rows(path: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


# --- schema and connection ---------------------------------------------------------------


async def test_open_sets_schema_version_and_wal(store: Store, cache_path: Path) -> None:
    assert await store.schema_version() == SCHEMA_VERSION
    assert raw_rows(cache_path, "PRAGMA journal_mode") == [("wal",)]


async def test_reopen_keeps_data(cache_path: Path) -> None:
    async with Store.open(cache_path) as first:
        await first.add_inbound([inbound("IN-1")])
    async with Store.open(cache_path) as second:
        assert await second.schema_version() == SCHEMA_VERSION
        assert len(await second.thread(None, AU_1)) == 1


async def test_newer_schema_is_rejected(cache_path: Path) -> None:
    connection = sqlite3.connect(cache_path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(RuntimeError, match="newer than this smsdesk"):
        await Store.connect(cache_path)
    await wait_for(lambda: not aiosqlite_threads())


async def test_naive_datetime_is_rejected(store: Store) -> None:
    with pytest.raises(ValueError, match="Naive datetime"):
        await store.add_inbound([inbound("IN-1", at=datetime(2026, 1, 1))])


# --- closing (no worker thread may outlive the store) -------------------------------------


async def test_close_stops_worker_threads(cache_path: Path) -> None:
    store = await Store.connect(cache_path)
    assert len(aiosqlite_threads()) == 2
    await store.close()
    assert aiosqlite_threads() == []
    await store.close()  # a second close is harmless


async def test_error_inside_open_still_closes(cache_path: Path) -> None:
    with pytest.raises(ZeroDivisionError):
        async with Store.open(cache_path) as store:
            await store.add_inbound([inbound("IN-1")])
            1 / 0
    assert aiosqlite_threads() == []


async def test_use_after_close_raises(cache_path: Path) -> None:
    async with Store.open(cache_path) as store:
        pass
    with pytest.raises(StoreClosedError, match="closed"):
        await store.list_conversations()
    with pytest.raises(StoreClosedError):
        await store.mark_read(1)


# --- outbox and send results --------------------------------------------------------------


async def test_outbox_rows_are_pending_and_committed(store: Store, cache_path: Path) -> None:
    row_ids = await store.add_to_outbox([draft("a" * 16), draft("b" * 16, to=AU_2)])
    rows = await store.messages_by_client_refs(["a" * 16, "b" * 16])
    assert [row.row_id for row in rows] == row_ids
    assert [row.status for row in rows] == [status.PENDING, status.PENDING]
    # Visible to another connection at once: committed before any HTTP request.
    assert raw_rows(cache_path, "SELECT client_ref, state, attempts FROM outbox ORDER BY client_ref") == [
        ("a" * 16, "pending", 1),
        ("b" * 16, "pending", 1),
    ]


async def test_send_results_one_queued_one_failed(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16), draft("b" * 16, to=AU_2)])
    changes = await store.record_send_updates(
        [
            SendUpdate(client_ref="a" * 16, status=status.QUEUED, message_id="MSG-0001", price=Decimal("0.0792")),
            SendUpdate(client_ref="b" * 16, status=status.FAILED, message_id=None, status_text="INVALID_RECIPIENT",
                       error_text="INVALID_RECIPIENT"),
        ]
    )
    queued = await store.message_by_client_ref("a" * 16)
    failed = await store.message_by_client_ref("b" * 16)
    assert queued.status == "queued"
    assert queued.message_id == "MSG-0001"
    assert queued.price == Decimal("0.0792")
    assert failed.status == "failed"
    assert failed.message_id is None
    assert failed.error_text == "INVALID_RECIPIENT"
    assert {(change.old_status, change.new_status) for change in changes} == {("pending", "queued"), ("pending", "failed")}
    assert await store.pending_outbox() == []


async def test_outcome_unknown_keeps_rows_pending(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16)])
    await store.record_send_error(["a" * 16], "connection dropped", outcome_known=False)
    pending = await store.pending_outbox()
    assert [entry.client_ref for entry in pending] == ["a" * 16]
    assert (await store.message_by_client_ref("a" * 16)).status == status.PENDING


async def test_known_send_error_fails_rows(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16)])
    await store.record_send_error(["a" * 16], "Authorization failed.", outcome_known=True)
    message = await store.message_by_client_ref("a" * 16)
    assert message.status == status.FAILED
    assert message.error_text == "Authorization failed."
    assert await store.pending_outbox() == []


async def test_claim_outbox_attempt_only_once(cache_path: Path) -> None:
    async with Store.open(cache_path) as first, Store.open(cache_path) as second:
        await first.add_to_outbox([draft("a" * 16)])
        seen_by_first = await first.pending_outbox()
        seen_by_second = await second.pending_outbox()
        won = await asyncio.gather(first.claim_outbox_attempt(seen_by_first), second.claim_outbox_attempt(seen_by_second))
        assert sorted(len(claimed) for claimed in won) == [0, 1]
        assert (await first.pending_outbox())[0].attempts == 2


# --- receipts: order, orphans, finality --------------------------------------------------


async def test_receipt_before_send_result_is_applied_later(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16)])
    added, changes = await store.add_receipts([receipt("MSG-0001", "201")])
    assert added == 1
    assert changes == []
    assert [orphan.message_id for orphan in await store.orphan_receipts()] == ["MSG-0001"]

    await store.record_send_updates([SendUpdate(client_ref="a" * 16, status=status.QUEUED, message_id="MSG-0001")])

    message = await store.message_by_client_ref("a" * 16)
    assert message.status == status.DELIVERED
    assert await store.orphan_receipts() == []


async def test_receipt_finds_pending_row_by_reference(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16)])
    added, changes = await store.add_receipts([receipt("MSG-0001", "201", custom_string="ticket-42|sd-" + "a" * 16)])
    assert [change.new_status for change in changes] == [status.DELIVERED]
    await store.record_send_updates([SendUpdate(client_ref="a" * 16, status=status.QUEUED, message_id="MSG-0001")])
    message = await store.message_by_client_ref("a" * 16)
    assert message.message_id == "MSG-0001"
    assert message.status == status.DELIVERED


async def test_send_result_after_receipt_keeps_price(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16)])
    await store.add_receipts([receipt("MSG-0001", "201", custom_string="sd-" + "a" * 16)])

    await store.record_send_updates([
        SendUpdate(client_ref="a" * 16, status=status.QUEUED, message_id="MSG-0001", parts=2,
                   price=Decimal("0.1584"), country="AU", carrier="Telstra"),
    ])

    message = await store.message_by_client_ref("a" * 16)
    assert message.status == status.DELIVERED
    assert (message.parts, message.price) == (2, Decimal("0.1584"))
    assert (message.country, message.carrier) == ("AU", "Telstra")


async def test_receipt_for_unknown_message_is_orphan(store: Store) -> None:
    added, changes = await store.add_receipts([receipt("MSG-9999", "201")])
    assert added == 1
    assert changes == []
    assert [orphan.message_id for orphan in await store.orphan_receipts()] == ["MSG-9999"]


async def test_receipt_dedupe_by_id_and_code(store: Store) -> None:
    first = await store.add_receipts([receipt("MSG-1", "200"), receipt("MSG-1", "200")])
    second = await store.add_receipts([receipt("MSG-1", "200"), receipt("MSG-1", "201")])
    assert first[0] == 1
    assert second[0] == 1


async def test_final_status_never_downgraded(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16)])
    await store.record_send_updates([SendUpdate(client_ref="a" * 16, status=status.QUEUED, message_id="MSG-1")])
    await store.add_receipts([receipt("MSG-1", "201")])
    await store.add_receipts([receipt("MSG-1", "200")])
    changes = await store.set_status(["MSG-1"], status.QUEUED)
    assert changes == []
    assert (await store.message_by_message_id("MSG-1")).status == status.DELIVERED


async def test_failure_reason_not_erased(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16)])
    await store.record_send_updates([SendUpdate(client_ref="a" * 16, status=status.QUEUED, message_id="MSG-1")])
    await store.add_receipts([receipt("MSG-1", "300", error_code="16", error_text="Temporary network error")])
    await store.add_receipts([receipt("MSG-1", "301")])
    message = await store.message_by_message_id("MSG-1")
    assert message.status == status.FAILED
    assert message.error_text == "Temporary network error"
    assert message.error_code == "16"


async def test_receipts_in_one_batch_apply_in_time_order(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16)])
    await store.record_send_updates([SendUpdate(client_ref="a" * 16, status=status.QUEUED, message_id="MSG-1")])
    await store.add_receipts(
        [receipt("MSG-1", "201", ts=T0 + timedelta(seconds=5)), receipt("MSG-1", "200", ts=T0)]
    )
    assert (await store.message_by_message_id("MSG-1")).status == status.DELIVERED


# --- inbound and conversations ------------------------------------------------------------


async def test_inbound_stored_once(store: Store) -> None:
    first = await store.add_inbound([inbound("IN-0001")])
    again = await store.add_inbound([inbound("IN-0001")])
    later = await store.add_inbound([inbound("IN-0002", at=T0 + timedelta(minutes=10))])
    assert [message.message_id for message in first] == ["IN-0001"]
    assert again == []
    assert [message.message_id for message in later] == ["IN-0002"]
    assert len(await store.thread(None, AU_1)) == 2


async def test_conversation_unread_read_done_reopen(store: Store) -> None:
    await store.add_inbound([inbound("IN-1"), inbound("IN-2", at=T0 + timedelta(seconds=1))])
    (conversation,) = await store.list_conversations()
    assert conversation.unread_count == 2
    assert await store.unread_total() == 2

    await store.mark_read(conversation.id)
    assert (await store.conversation(conversation.id)).unread is False
    await store.mark_unread(conversation.id)
    assert (await store.conversation(conversation.id)).unread is True
    assert await store.unread_total() == 1

    await store.mark_done(conversation.id)
    done = await store.conversation(conversation.id)
    assert done.done is True
    assert done.unread is False
    assert await store.list_conversations(include_done=False) == []

    await store.add_inbound([inbound("IN-3", at=T0 + timedelta(minutes=1))])
    reopened = await store.conversation(conversation.id)
    assert reopened.done is False
    assert reopened.unread_count == 1


async def test_reply_joins_conversation_of_shared_number_send(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16)])  # no sender: ClickSend picks a shared number
    await store.add_inbound([inbound("IN-1", at=datetime.now(UTC))])
    conversations = await store.list_conversations()
    assert len(conversations) == 1
    assert conversations[0].our_number == OURS
    assert [item.direction for item in await store.thread(OURS, AU_1)] == ["out", "in"]
    assert [item.direction for item in await store.thread("", AU_1)] == ["out", "in"]


async def test_conversation_orders_and_paging(store: Store) -> None:
    await store.add_inbound([inbound("IN-1", from_number=AU_1, at=T0)])
    await store.add_to_outbox([draft("a" * 16, to=AU_2, sender=OURS)])  # newer, read
    await store.mark_read((await store.find_conversation(OURS, AU_1)).id)
    await store.add_inbound([inbound("IN-3", from_number="+447700900123", at=T0 - timedelta(days=1))])

    newest = [conversation.their_number for conversation in await store.list_conversations(order="newest")]
    unread = [conversation.their_number for conversation in await store.list_conversations(order="unread")]
    assert newest == [AU_2, AU_1, "+447700900123"]
    assert unread == ["+447700900123", AU_2, AU_1]
    assert [c.their_number for c in await store.list_conversations(limit=1, offset=1)] == [AU_1]
    assert await store.count_conversations() == 3
    with pytest.raises(ValueError, match="Unknown conversation order"):
        await store.list_conversations(order="oldest")


async def test_thread_pages_backwards(store: Store) -> None:
    await store.add_inbound([inbound(f"IN-{i}", body=f"m{i}", at=T0 + timedelta(minutes=i)) for i in range(5)])
    latest = await store.thread(OURS, AU_1, limit=2)
    older = await store.thread(OURS, AU_1, before=latest[0].ts, limit=2)
    assert [item.body for item in latest] == ["m3", "m4"]
    assert [item.body for item in older] == ["m1", "m2"]


@pytest.mark.parametrize(
    "total",
    [pytest.param(20_000, id="20k"), pytest.param(100_000, id="100k", marks=pytest.mark.long)],
)
async def test_listing_uses_indexes_at_scale(store: Store, cache_path: Path, total: int) -> None:
    """5,000 conversations: listing is an index scan, not a sort of every conversation."""
    batch = 10_000
    for start in range(0, total, batch):
        await store.merge_history(
            [
                HistoryRecord(
                    message_id=f"H-{n}",
                    direction="out",
                    our_number=OURS,
                    their_number=f"+6149157{n % 5000:04d}",
                    body=f"message number {n}",
                    status=status.DELIVERED,
                    ts=T0 + timedelta(seconds=n),
                )
                for n in range(start, start + batch)
            ]
        )
    assert await store.count_conversations() == 5000
    page = await store.list_conversations(limit=200)
    assert len(page) == 200
    assert page[0].last_body == f"message number {total - 1}"
    assert page[0].last_activity == T0 + timedelta(seconds=total - 1)

    plan = " ".join(
        str(row[-1])
        for row in raw_rows(
            cache_path,
            "EXPLAIN QUERY PLAN SELECT id FROM conversations ORDER BY last_activity DESC LIMIT 200",
        )
    )
    assert "conversations_by_activity" in plan
    assert "TEMP B-TREE" not in plan
    hits = await store.search("number 4242", limit=5)
    assert [hit.message_id for hit in hits] == ["H-4242"]


# --- search -----------------------------------------------------------------------------------


async def test_search_words_and_filters(store: Store) -> None:
    await store.add_inbound(
        [
            inbound("IN-1", "Fish & chips tonight?", at=T0),
            inbound("IN-2", "no fish today", from_number=AU_2, at=T0 + timedelta(days=1)),
            inbound("IN-3", "chips only", at=T0 + timedelta(days=2)),
        ]
    )
    assert [hit.message_id for hit in await store.search("fish")] == ["IN-2", "IN-1"]
    assert [hit.message_id for hit in await store.search("Fish & chips")] == ["IN-1"]
    assert [hit.message_id for hit in await store.search("fish", number=AU_2)] == ["IN-2"]
    assert [hit.message_id for hit in await store.search("chi*", since=T0 + timedelta(days=1))] == ["IN-3"]
    assert [hit.message_id for hit in await store.search("fish", until=T0 + timedelta(hours=1))] == ["IN-1"]
    assert [hit.message_id for hit in await store.search("", status=status.RECEIVED, limit=1)] == ["IN-3"]
    assert await store.search('"unbalanced') == []


# --- timestamps ---------------------------------------------------------------------------------


@pytest.fixture
def melbourne_time():
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "Australia/Melbourne"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


async def test_times_stored_as_utc_whatever_the_zone(store: Store, cache_path: Path, melbourne_time) -> None:
    from core.ingest import parse_timestamp

    outbound_date = parse_timestamp(1436871253)
    inbound_time = parse_timestamp("1436932432")
    await store.merge_history(
        [HistoryRecord(message_id="H-1", direction="out", our_number=OURS, their_number=AU_1, body="out",
                       status=status.SENT, ts=outbound_date)]
    )
    await store.add_inbound([inbound("IN-1", at=inbound_time)])

    assert raw_rows(cache_path, "SELECT ts FROM messages ORDER BY ts") == [
        ("2015-07-14T10:54:13.000000Z",),
        ("2015-07-15T03:53:52.000000Z",),
    ]
    thread = await store.thread(None, AU_1)
    assert [item.direction for item in thread] == ["out", "in"]
    assert thread[1].ts == datetime(2015, 7, 15, 3, 53, 52, tzinfo=UTC)
    assert thread[1].ts.utcoffset() == timedelta(0)


async def test_merged_history_sort_keys_and_search(store: Store, cache_path: Path) -> None:
    from core.ingest import parse_timestamp

    # Two rows in one second and one later, merged in two batches after an inbound message
    # and an outbox message, so every path that inserts messages sets sort_key.
    await store.add_inbound([inbound("IN-1", at=parse_timestamp(1436871000))])
    await store.add_to_outbox([draft("a" * 16)])
    first = [
        HistoryRecord(message_id=f"H-{index}", direction="out", our_number=OURS, their_number=AU_1,
                      body=f"reminder {index}", status=status.SENT, ts=parse_timestamp(1436871253))
        for index in (1, 2)
    ]
    second = [HistoryRecord(message_id="H-3", direction="out", our_number=OURS, their_number=AU_2,
                            body="reminder 3", status=status.SENT, ts=parse_timestamp(1436871300))]

    assert (await store.merge_history(first))[0] == 2
    assert (await store.merge_history([*first, *second]))[0] == 1

    assert raw_rows(cache_path, "SELECT COUNT(*) FROM messages WHERE sort_key IS NOT ((unixepoch(ts) << 31) | id)") == [
        (0,)
    ]
    found = await store.search("reminder", limit=10)
    assert [item.message_id for item in found] == ["H-3", "H-2", "H-1"]


# --- concurrency ---------------------------------------------------------------------------------


async def test_concurrent_webhooks_and_mark_read(store: Store) -> None:
    await store.add_inbound([inbound("IN-seed")])
    conversation = await store.find_conversation(OURS, AU_1)

    async def one_webhook(n: int) -> None:
        await store.add_inbound([inbound(f"IN-{n}", at=T0 + timedelta(seconds=n))])

    async def reader_and_marker() -> None:
        for _ in range(20):
            await store.list_conversations()
            await store.mark_read(conversation.id)

    await asyncio.gather(*(one_webhook(n) for n in range(50)), reader_and_marker())
    assert len(await store.thread(None, AU_1, limit=1000)) == 51


WRITER_SCRIPT = """
import asyncio, sys
from datetime import UTC, datetime
from core.store import InboundRecord, Store

async def main(path, prefix, count):
    async with Store.open(path) as store:
        for n in range(count):
            await store.add_inbound([InboundRecord(message_id=f"{prefix}-{n}", from_number="+61491570156",
                                                   to_number="+61411111111", body="hi",
                                                   received_at=datetime.now(UTC))])
            conversation = await store.find_conversation("+61411111111", "+61491570156")
            await store.mark_read(conversation.id)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_two_processes_write_one_file(store: Store, cache_path: Path, tmp_path: Path) -> None:
    import sys

    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    before = await store.data_version()
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(script), str(cache_path), prefix, "100",
            stderr=asyncio.subprocess.PIPE,
        )
        for prefix in ("A", "B")
    ]
    for n in range(100):
        await store.add_inbound([inbound(f"C-{n}", at=datetime.now(UTC))])
    outputs = [await process.communicate() for process in processes]

    assert [process.returncode for process in processes] == [0, 0], [error.decode() for _, error in outputs]
    assert len(await store.thread(None, AU_1, limit=1000)) == 300
    assert await store.data_version() != before


async def test_watcher_reports_other_process_writes(store: Store, cache_path: Path) -> None:
    from core.events import DataVersionWatcher, EventBus, StoreChanged

    events = EventBus()
    with events.subscribe() as subscription:
        async with DataVersionWatcher(store, events, interval=0.01):
            await store.add_inbound([inbound("IN-own")])  # our own write: no event
            async with Store.open(cache_path) as other:
                await other.add_inbound([inbound("IN-other")])
            event = await subscription.get(timeout=10)
        assert isinstance(event, StoreChanged)
        assert event.reason == "other process"


# --- opt-outs, templates, cursors, Slack bookkeeping -----------------------------------------


async def test_opt_out_keyword_updates_list(store: Store) -> None:
    await store.add_inbound([inbound("IN-1", "STOP", opt_out="opt_out")])
    assert await store.opted_out([AU_1, AU_2]) == {AU_1}
    await store.add_inbound([inbound("IN-2", "START", opt_out="opt_in", at=T0 + timedelta(seconds=1))])
    assert await store.opted_out([AU_1]) == set()


async def test_templates_cursors_and_slack_maps(store: Store) -> None:
    await store.replace_templates([(1, "Reminder", "See you {when}"), (2, "hello", "Hi {name}")])
    await store.upsert_template(2, "hello", "Hello {name}")
    assert await store.templates() == [(2, "hello", "Hello {name}"), (1, "Reminder", "See you {when}")]

    assert await store.get_cursor("history") is None
    await store.set_cursor("history", "1436871253")
    assert await store.get_cursor("history") == "1436871253"

    (message,) = await store.add_inbound([inbound("IN-1")])
    await store.save_slack_thread(message.conversation_id, channel="C0FAKE001", thread_ts="1700000000.000100")
    thread = await store.slack_thread(message.conversation_id)
    assert (thread.channel, thread.thread_ts) == ("C0FAKE001", "1700000000.000100")
    assert (await store.conversation_for_slack_thread("C0FAKE001", "1700000000.000100")).id == message.conversation_id
    assert await store.claim_slack_event("Ev1") is True
    assert await store.claim_slack_event("Ev1") is False
    assert await store.claim_relay(message.row_id) is True
    assert await store.claim_relay(message.row_id) is False
    assert await store.unrelayed_inbound() == []
    await store.set_relay_status(message.row_id, "retry")
    assert [item.row_id for item in await store.unrelayed_inbound()] == [message.row_id]
    assert await store.claim_relay(message.row_id) is True
    assert await store.claim_relay(message.row_id) is False
    await store.set_relay_status(message.row_id, "failed", reason="not_in_channel")
    assert [item.row_id for item in await store.unrelayed_inbound()] == [message.row_id]
    assert [(item.row_id, reason) for item, reason in await store.list_relay_failures()] == [
        (message.row_id, "not_in_channel")
    ]


async def test_slack_post_of_multi_recipient_send(store: Store) -> None:
    row_ids = await store.add_to_outbox([draft("a" * 16), draft("b" * 16, to=AU_2)])
    for row_id in row_ids:
        await store.save_slack_post(row_id, channel="C0FAKE001", ts="1700000000.000200")
    post = await store.slack_post(row_ids[0])
    assert (post.channel, post.ts, post.kind) == ("C0FAKE001", "1700000000.000200", "bot")
    messages = await store.slack_post_messages("C0FAKE001", "1700000000.000200")
    assert [message.their_number for message in messages] == [AU_1, AU_2]


async def test_receipts_for_message_in_order(store: Store) -> None:
    await store.add_receipts([receipt("MSG-1", "201", ts=T0 + timedelta(seconds=9)), receipt("MSG-1", "200", ts=T0)])
    assert [item.status_code for item in await store.receipts_for("MSG-1")] == ["200", "201"]


async def test_thread_pages_past_equal_times(store: Store) -> None:
    await store.add_inbound([inbound(f"IN-{i}", body=f"m{i}", at=T0) for i in range(4)])
    latest = await store.thread(OURS, AU_1, limit=2)
    older = await store.thread(OURS, AU_1, before_row=latest[0].row_id, limit=2)
    assert [item.body for item in latest] == ["m2", "m3"]
    assert [item.body for item in older] == ["m0", "m1"]


async def test_migrates_version_1_file(cache_path: Path) -> None:
    from core.schema import MIGRATIONS

    connection = sqlite3.connect(cache_path)
    for statement in MIGRATIONS[0]:
        connection.execute(statement)
    connection.execute("INSERT INTO conversations (our_number, their_number) VALUES ('', ?)", (AU_1,))
    connection.execute(
        "INSERT INTO messages (direction, conversation_id, their_number, status, ts, created_at, updated_at)"
        " VALUES ('in', 1, ?, 'received', ?, ?, ?)",
        (AU_1, "2026-12-01T09:00:00.000000Z", "2026-12-01T09:00:00.000000Z", "2026-12-01T09:00:00.000000Z"),
    )
    connection.execute("PRAGMA user_version = 1")
    connection.commit()
    connection.close()

    async with Store.open(cache_path) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        (message,) = await store.thread(None, AU_1)
        await store.save_slack_post(message.row_id, channel="C0FAKE001", ts="1.2", kind="user")
        assert (await store.slack_post(message.row_id)).kind == "user"


async def test_cancelled_write_leaves_store_usable(store: Store, cache_path: Path) -> None:
    blocker = sqlite3.connect(cache_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        write = asyncio.create_task(store.add_inbound([inbound("IN-cancelled")]))
        for _ in range(10):  # let the task queue its BEGIN IMMEDIATE, which now waits on the lock
            await asyncio.sleep(0)
        write.cancel()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with pytest.raises(asyncio.CancelledError):
        await write

    await store.add_inbound([inbound("IN-after")])
    assert [item.message_id for item in await store.thread(None, AU_1)] == ["IN-after"]


async def test_alpha_sender_send_and_reply_share_conversation(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16, sender="ACMEPLUMB")])
    await store.add_inbound([inbound("IN-1", at=datetime.now(UTC))])
    (conversation,) = await store.list_conversations()
    assert conversation.our_number == OURS
    thread = await store.thread(OURS, AU_1)
    assert [(item.direction, item.our_number) for item in thread] == [("out", "ACMEPLUMB"), ("in", OURS)]


async def test_memory_database_rejected() -> None:
    with pytest.raises(ValueError, match="cannot be ':memory:'"):
        await Store.connect(":memory:")


async def test_conversation_thread_pages_by_row(store: Store) -> None:
    await store.add_inbound([inbound(f"IN-{i}", body=f"m{i}", at=T0) for i in range(3)])
    (conversation,) = await store.list_conversations()
    latest = await store.conversation_thread(conversation.id, limit=2)
    older = await store.conversation_thread(conversation.id, before_row=latest[0].row_id)
    assert [item.body for item in latest] == ["m1", "m2"]
    assert [item.body for item in older] == ["m0"]


async def test_concurrent_first_open_migrates_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    stores = await asyncio.gather(*(Store.connect(path) for _ in range(4)))
    try:
        assert [await store.schema_version() for store in stores] == [SCHEMA_VERSION] * 4
        await stores[0].add_inbound([inbound("IN-1")])
        assert len(await stores[3].thread(None, AU_1)) == 1
    finally:
        for store in stores:
            await store.close()


async def test_send_result_replaces_history_copy(store: Store) -> None:
    # History sync saw the message first, without our reference in its custom_string.
    await store.add_to_outbox([draft("a" * 16)])
    await store.merge_history(
        [HistoryRecord(message_id="MSG-1", direction="out", our_number="", their_number=AU_1, body="hello",
                       status=status.SENT, ts=datetime.now(UTC))]
    )
    assert len(await store.thread(None, AU_1)) == 2

    await store.record_send_updates([SendUpdate(client_ref="a" * 16, status=status.QUEUED, message_id="MSG-1")])

    (message,) = await store.thread(None, AU_1)
    assert message.client_ref == "a" * 16
    assert message.message_id == "MSG-1"
    assert (await store.list_conversations())[0].last_body == "hello"


@pytest.mark.parametrize("steps", [0, 1, 3, 10, 30])
async def test_cancelled_open_leaks_no_thread(cache_path: Path, steps: int) -> None:
    task = asyncio.create_task(Store.connect(cache_path))
    for _ in range(steps):
        await asyncio.sleep(0)
    task.cancel()
    try:
        store = await task
    except asyncio.CancelledError:
        pass
    else:
        await store.close()  # it finished opening before the cancel arrived
    await wait_for(lambda: not aiosqlite_threads(), timeout=10)


@pytest.mark.parametrize("matches", [5, 400], ids=["rare-word", "common-word"])
async def test_search_orders_by_time_for_any_frequency(store: Store, matches: int) -> None:
    # Insert newest first, so row ids run against time order.
    await store.add_inbound(
        [inbound(f"IN-{n}", f"word{matches} number {n}", at=T0 - timedelta(minutes=n)) for n in range(matches)]
    )
    await store.add_inbound([inbound(f"OTHER-{n}", "unrelated", at=T0 + timedelta(minutes=n)) for n in range(50)])
    hits = await store.search(f"word{matches}", limit=3)
    assert [hit.message_id for hit in hits] == ["IN-0", "IN-1", "IN-2"]
    page_two = await store.search(f"word{matches}", limit=3, offset=3)
    assert [hit.message_id for hit in page_two] == ["IN-3", "IN-4", "IN-5"][: max(0, min(3, matches - 3))]


async def test_reply_linked_by_reference(store: Store) -> None:
    await store.add_to_outbox([draft("a" * 16), draft("b" * 16, to=AU_2)])
    await store.record_send_updates([SendUpdate(client_ref="a" * 16, status=status.QUEUED, message_id="MSG-A")])
    (by_reference,) = await store.add_inbound(
        [inbound("IN-1", "yes", custom_string="ticket-42|sd-" + "a" * 16, at=datetime.now(UTC))]
    )
    # A reply that overtook the send result gives the outbox row its ClickSend id.
    (by_id,) = await store.add_inbound(
        [inbound("IN-2", "no", from_number=AU_2, original_message_id="MSG-B", custom_string="sd-" + "b" * 16,
                 at=datetime.now(UTC))]
    )
    assert by_reference.reply_to_message_id == "MSG-A"
    assert by_reference.custom_string == "ticket-42"
    assert by_id.reply_to_message_id == "MSG-B"
    assert (await store.message_by_client_ref("b" * 16)).message_id == "MSG-B"


async def test_slack_posts_updated_since_lists_changed_posts(store) -> None:
    from core.store import InboundRecord

    [first, second] = await store.add_inbound(
        [
            InboundRecord(message_id="IN-0001", from_number="+61491570156", to_number="+61491570999", body="one",
                          received_at=datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
            InboundRecord(message_id="IN-0002", from_number="+61491570157", to_number="+61491570999", body="two",
                          received_at=datetime(2026, 12, 4, 9, 1, tzinfo=UTC)),
        ]
    )
    before = datetime.now(UTC) - timedelta(seconds=1)
    await store.save_slack_post(first.row_id, channel="C0FAKE001", ts="1700000000.000100")

    updated = await store.slack_posts_updated_since(before)
    later = await store.slack_posts_updated_since(datetime.now(UTC) + timedelta(seconds=1))

    assert [row for row, _ in updated] == [first.row_id]
    assert second.row_id not in [row for row, _ in updated]
    assert later == []


async def test_unrelayed_inbound_since_skips_old_rows(store) -> None:
    from core.store import InboundRecord

    old, new = await store.add_inbound(
        [
            InboundRecord(message_id="IN-0001", from_number="+61491570156", to_number="+61491570999", body="old",
                          received_at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC)),
            InboundRecord(message_id="IN-0002", from_number="+61491570157", to_number="+61491570999", body="new",
                          received_at=datetime(2026, 12, 4, 9, 0, tzinfo=UTC)),
        ]
    )
    since = datetime(2026, 12, 1, tzinfo=UTC)

    assert [m.row_id for m in await store.unrelayed_inbound(since=since)] == [new.row_id]
    await store.set_relay_status(old.row_id, "retry")
    assert [m.row_id for m in await store.unrelayed_inbound(since=since)] == [old.row_id, new.row_id]
    assert len(await store.unrelayed_inbound()) == 2
