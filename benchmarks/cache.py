"""History import and search: smsdesk's cache against bare aiosqlite and FTS5."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp

from benchmarks import baselines, data
from benchmarks.bulk_send import API_KEY, USERNAME
from benchmarks.remote_sandbox import RemoteSandbox
from core.client import MAX_PAGE_SIZE, ClickSendClient
from core.ingest import Ingestor
from core.store import HistoryRecord, Store
from core.sync import HISTORY_FETCH_CONCURRENCY, Syncer

MESSAGES = 100_000
OUR_NUMBER = "+61491570999"


def history_rows(now: datetime) -> list[tuple]:
    return data.history_rows(MESSAGES, end=int(now.timestamp()) - 60)


def history_records(rows: list[tuple]) -> list[HistoryRecord]:
    return [
        HistoryRecord(
            message_id=message_id,
            direction="out",
            our_number=sender,
            their_number=recipient,
            body=body,
            status="delivered",
            ts=datetime.fromtimestamp(sent_at, UTC),
            status_code="201",
            parts=1,
            price=Decimal("0.0792"),
        )
        for message_id, sent_at, sender, recipient, body, _ in rows
    ]


async def seed_sandbox_history(server: RemoteSandbox) -> list[tuple]:
    """Give the sandbox account MESSAGES delivered messages; return the same rows as tuples."""
    await server.control("POST", "history/seed", {"count": MESSAGES, "spacing": 30, "numbers": 5000, "username": USERNAME})
    state = await server.control("GET", "state")
    return [
        (message["message_id"], message["date"], message["from_"], message["to"], message["body"], "Delivered")
        for message in state["messages"]
    ]


async def smsdesk_history_import(server: RemoteSandbox) -> float:
    """Seconds to sync the sandbox's whole history into a new cache, searchable."""
    with tempfile.TemporaryDirectory() as folder:
        async with (
            ClickSendClient(username=USERNAME, api_key=API_KEY, base_url=server.base_url) as client,
            Store.open(Path(folder) / "cache.sqlite3") as store,
        ):
            syncer = Syncer(client=client, store=store, ingestor=Ingestor(store=store))
            started = time.perf_counter()
            new_rows, _ = await syncer.sync_history()
            elapsed = time.perf_counter() - started
            if new_rows != MESSAGES:
                raise RuntimeError(f"history sync stored {new_rows} of {MESSAGES} rows")
            if not await store.search("appointment", limit=1):
                raise RuntimeError("synced history is not searchable")
    return elapsed


async def bare_history_fetch(server: RemoteSandbox, *, concurrency: int = HISTORY_FETCH_CONCURRENCY) -> float:
    """Seconds for aiohttp to fetch every history page and json-decode it, storing nothing.

    ClickSend returns at most MAX_PAGE_SIZE rows per page, so 100,000 rows take 1,000
    requests: a lower bound for any client that imports them.
    """
    pages = -(-MESSAGES // MAX_PAGE_SIZE)
    headers = {"Authorization": aiohttp.encode_basic_auth(USERNAME, API_KEY)}
    slots = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(headers=headers) as session:

        async def fetch(page: int) -> int:
            async with slots, session.get(
                f"{server.base_url}/sms/history", params={"page": page, "limit": MAX_PAGE_SIZE}
            ) as response:
                return len(json.loads(await response.read())["data"]["data"])

        started = time.perf_counter()
        fetched = sum(await asyncio.gather(*(fetch(page) for page in range(1, pages + 1))))
        elapsed = time.perf_counter() - started
    if fetched != MESSAGES:
        raise RuntimeError(f"the bare fetch read {fetched} of {MESSAGES} history rows")
    return elapsed


async def bare_history_import(rows: list[tuple]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        return await baselines.bulk_insert(Path(folder) / "bare.sqlite3", rows)


async def build_search_cache(path: Path, rows: list[tuple]) -> None:
    async with Store.open(path) as store:
        await store.merge_history(history_records(rows))


async def smsdesk_search(path: Path, *, repeats: int = 50) -> float:
    """Median seconds of Store.search for a word in 1% of the messages, first 50 results."""
    timings = []
    async with Store.open(path) as store:
        for _ in range(repeats):
            started = time.perf_counter()
            results = await store.search(data.RARE_WORD, limit=50)
            timings.append(time.perf_counter() - started)
            if len(results) != 50:
                raise RuntimeError(f"search found {len(results)} of the expected 50 messages")
    timings.sort()
    return timings[len(timings) // 2]
