"""Bare baselines: the least code that does the same job, measured the same way."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import aiosqlite
from aiohttp import web

from benchmarks import data


async def bulk_insert(path: Path, rows: list[tuple]) -> float:
    """Insert history rows with one executemany into one table without an index."""
    started = time.perf_counter()
    async with aiosqlite.connect(path) as db:
        await db.execute(
            "CREATE TABLE history (message_id TEXT, sent_at INTEGER, sender TEXT,"
            " recipient TEXT, body TEXT, status TEXT)"
        )
        await db.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?)", rows)
        await db.commit()
    return time.perf_counter() - started


async def build_fts(path: Path, rows: list[tuple]) -> None:
    async with aiosqlite.connect(path) as db:
        await db.execute("CREATE VIRTUAL TABLE messages USING fts5(body)")
        await db.executemany("INSERT INTO messages (body) VALUES (?)", [(row[4],) for row in rows])
        await db.commit()


async def fts_query(path: Path, word: str, *, repeats: int = 50) -> float:
    """Median time of a word query for the first 50 matches on a bare FTS5 table."""
    timings = []
    async with aiosqlite.connect(path) as db:
        for _ in range(repeats):
            started = time.perf_counter()
            async with db.execute(
                "SELECT rowid, body FROM messages WHERE messages MATCH ? LIMIT 50", (word,)
            ) as cursor:
                await cursor.fetchall()
            timings.append(time.perf_counter() - started)
    timings.sort()
    return timings[len(timings) // 2]


async def option_list_open(rows: int = 5000) -> float:
    """Time for a bare Textual app with an OptionList of `rows` rows to become idle."""
    from textual.app import App, ComposeResult
    from textual.widgets import OptionList

    labels = [f"+614915{index:05d}  last message preview {index}" for index in range(rows)]

    class BareInbox(App[None]):
        def compose(self) -> ComposeResult:
            yield OptionList(*labels)

    started = time.perf_counter()
    async with BareInbox().run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        elapsed = time.perf_counter() - started
    return elapsed


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 with a free port; yield its root URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def aiohttp_ingest_rate(pushes: int, *, concurrency: int = 32) -> float:
    """Measure inbound pushes per second into an aiohttp handler that only returns 200."""

    async def handler(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_post("/clicksend/inbound/{token}", handler)
    async with serving(app) as root_url:
        return await post_forms(f"{root_url}/clicksend/inbound/token", data.inbound_forms(pushes), concurrency=concurrency)


async def post_forms(url: str, forms: list[dict[str, str]], *, concurrency: int) -> float:
    """POST every form with `concurrency` in flight; return forms per second."""
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for form in forms:
        queue.put_nowait(form)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            form = queue.get_nowait()
            async with session.post(url, data=form) as response:
                if response.status != 200:
                    raise RuntimeError(f"push failed with HTTP {response.status}: {await response.text()}")

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return len(forms) / (time.perf_counter() - started)


def signed_command(signing_secret: str, form: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a slash command signed as Slack signs it (v0 HMAC-SHA256)."""
    body = urllib.parse.urlencode(form).encode()
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    return body, headers


async def command_latencies(url: str, requests: list[tuple[bytes, dict[str, str]]], *, concurrency: int) -> list[float]:
    """Send signed commands `concurrency` at a time; return each one's time to response."""
    semaphore = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(session: aiohttp.ClientSession, body: bytes, headers: dict[str, str]) -> None:
        async with semaphore:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"command failed with HTTP {response.status}")
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, body, headers) for body, headers in requests))
    return latencies


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
