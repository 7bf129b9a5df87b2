"""Polling, history sync, run_sync and the serve lifecycle, against the sandbox."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from core.config import load_settings
from core.events import EventBus
from core.ingest import Ingestor
from core.serve import Server
from core.service import SmsService
from core.store import Store
from core.sync import HISTORY_CURSOR, Syncer, run_sync

from .conftest import WEBHOOK_TOKEN, aiosqlite_threads, wait_for

AU_1 = "+61491570156"
AU_2 = "+61491570157"
TOKEN = "sync-test-token-0123456789"


@pytest.fixture
def syncer(clicksend, store: Store) -> Syncer:
    events = EventBus()
    return Syncer(client=clicksend, store=store, ingestor=Ingestor(store=store, events=events), events=events)


async def control(sandbox, method: str, path: str, payload: dict) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"{sandbox.root_url}/_sandbox/{path}", json=payload) as response:
            assert response.status == 200, await response.text()
            return await response.json()


async def test_pushed_and_polled_items_stored_once(sandbox, clicksend, store: Store, syncer: Syncer, webhook_base: str) -> None:
    await control(sandbox, "PUT", "settings", {"receipt_url": f"{webhook_base}/receipts/{WEBHOOK_TOKEN}",
                                               "inbound_url": f"{webhook_base}/inbound/{WEBHOOK_TOKEN}"})
    service = SmsService(client=clicksend, store=store)
    outcome = await service.send(to=[AU_1, AU_2], body="hello")
    await sandbox.advance(600)  # deliver both messages and push their receipts
    await control(sandbox, "POST", "inbound", {"from": AU_1, "body": "ok", "message_id": "IN-0001", "copies": 3})
    await sandbox.advance(1)

    assert await syncer.poll_inbound() == 0  # already pushed
    assert (await syncer.poll_receipts())[0] == 0

    (reply,) = [item for item in await store.thread(None, AU_1) if item.direction == "in"]
    assert reply.message_id == "IN-0001"
    for recipient in outcome.recipients:
        receipts = await store.receipts_for(recipient.message_id)
        assert len(receipts) == len({receipt.status_code for receipt in receipts})
        assert (await store.message(recipient.message_row)).status == "delivered"
    assert sandbox.state.unread_inbound("demo-user") == []
    assert sandbox.state.unread_receipts("demo-user") == []


async def test_polling_alone_stores_then_marks_read(sandbox, clicksend, store: Store, syncer: Syncer) -> None:
    service = SmsService(client=clicksend, store=store)
    outcome = await service.send(to=[AU_1], body="hello")
    await sandbox.advance(600)
    await control(sandbox, "POST", "inbound", {"from": AU_1, "body": "Fish & chips", "message_id": "IN-7"})

    assert await syncer.poll_inbound() == 1
    added, changes = await syncer.poll_receipts()
    assert added >= 1
    assert changes >= 1
    assert (await store.message(outcome.recipients[0].message_row)).status == "delivered"
    assert sandbox.state.unread_inbound("demo-user") == []
    assert sandbox.state.unread_receipts("demo-user") == []
    assert await syncer.poll_inbound() == 0


async def test_history_sync_mirrors_and_searches(clicksend, store: Store, syncer: Syncer) -> None:
    await clicksend.send_sms(to=[AU_1, AU_2], body="Quarterly invoice ready")
    await clicksend.send_sms(to=AU_1, body="Appointment moved")

    new_rows, windows = await syncer.sync_history()
    assert new_rows == 3
    assert windows > 1
    assert await store.get_cursor(HISTORY_CURSOR) is not None
    assert [hit.their_number for hit in await store.search("invoice", number=AU_2)] == [AU_2]
    assert len(await store.search("appointment")) == 1

    again, _ = await syncer.sync_history()
    assert again == 0


async def test_history_sync_resumes_from_cursor(clicksend, store: Store, syncer: Syncer) -> None:
    now = datetime.now(UTC)
    await store.set_cursor(HISTORY_CURSOR, str(int((now - timedelta(hours=1)).timestamp())))
    seen: list[tuple[str, int, int]] = []
    _, windows = await syncer.sync_history(progress=lambda *update: seen.append(update), now=now)
    assert windows == 1
    assert seen[-1] == ("history", 1, 1)


async def test_history_sync_matches_outbox_rows(clicksend, store: Store, syncer: Syncer) -> None:
    service = SmsService(client=clicksend, store=store)
    outcome = await service.send(to=[AU_1], body="only once")
    new_rows, _ = await syncer.sync_history()
    assert new_rows == 0
    assert [item.row_id for item in await store.thread(None, AU_1)] == [outcome.recipients[0].message_row]


async def test_run_sync_reports_and_returns_zero(sandbox, clicksend, tmp_path: Path) -> None:
    await clicksend.send_sms(to=AU_1, body="from elsewhere")
    await clicksend.create_template("Greeting", "Hi {name}")
    settings = load_settings(
        clicksend_username="demo-user", clicksend_api_key="demo-key",
        clicksend_base_url=sandbox.base_url, cache_path=tmp_path / "sync.sqlite3",
    )
    output = io.StringIO()
    machine = io.StringIO()
    code = await run_sync(settings, progress=True, stream=output, json_output=machine)
    assert code == 0
    assert "1 new history rows, 1 templates" in output.getvalue()
    report = json.loads(machine.getvalue())
    assert report["history_new"] == 1
    assert report["templates"] == 1
    assert report["errors"] == []
    async with Store.open(tmp_path / "sync.sqlite3") as store:
        assert [hit.body for hit in await store.search("elsewhere")] == ["from elsewhere"]
        assert await store.templates() == [(1, "Greeting", "Hi {name}")]
    assert aiosqlite_threads() == []


# --- serve: shutdown order, in-flight requests, no threads left ---------------------------------


def serve_settings(sandbox, tmp_path: Path, **overrides):
    return load_settings(
        clicksend_username="demo-user", clicksend_api_key="demo-key", clicksend_base_url=sandbox.base_url,
        cache_path=tmp_path / "serve.sqlite3", webhook={"token": TOKEN, "host": "127.0.0.1", "port": 0},
        **overrides,
    )


async def test_server_stops_with_requests_in_flight(sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = Server(serve_settings(sandbox, tmp_path, sync={"poll_interval": 0.05}))
    await server.start()
    url = f"{server.url}/clicksend/inbound/{TOKEN}"

    async def push(session: aiohttp.ClientSession, n: int) -> tuple[str, int | None]:
        try:
            async with session.post(url, data={"message_id": f"IN-{n}", "from": AU_1, "body": f"n{n}"}) as response:
                return f"IN-{n}", response.status
        except aiohttp.ClientError:
            return f"IN-{n}", None

    async with aiohttp.ClientSession() as session:
        pushes = [asyncio.create_task(push(session, n)) for n in range(200)]
        # Stop once some pushes have responses, while the rest are still in flight.
        await wait_for(lambda: sum(task.done() for task in pushes) >= 5)
        await server.stop()
        results = await asyncio.gather(*pushes)

    assert aiosqlite_threads() == []
    async with Store.open(tmp_path / "serve.sqlite3") as store:
        stored = {item.message_id for item in await store.thread(None, AU_1, limit=1000)}
    acknowledged = {message_id for message_id, status in results if status == 200}
    assert acknowledged <= stored
    assert {status for _, status in results} <= {200, 503, None}
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


SERVE_SCRIPT = """
import asyncio, logging, sys, threading
from core.config import load_settings
from core.serve import run_serve

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
settings = load_settings(webhook={"host": "127.0.0.1", "port": 0})
code = asyncio.run(run_serve(settings))
print("threads left:", sorted(t.name for t in threading.enumerate() if t is not threading.main_thread()), file=sys.stderr)
sys.exit(code)
"""


async def test_serve_process_exits_on_sigint(sandbox, tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text(SERVE_SCRIPT)
    cache = tmp_path / "serve.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text("")
    environment = {
        **os.environ,
        "CLICKSEND_USERNAME": "demo-user", "CLICKSEND_API_KEY": "demo-key",
        "CLICKSEND_BASE_URL": sandbox.base_url, "SMSDESK_CACHE": str(cache),
        "SMSDESK_WEBHOOK_TOKEN": TOKEN, "SMSDESK_CONFIG": str(config),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), env=environment, stderr=asyncio.subprocess.PIPE
    )
    lines: list[str] = []
    try:
        while not any("serving ClickSend webhooks on" in line for line in lines):
            line = await asyncio.wait_for(process.stderr.readline(), timeout=30)
            assert line, "serve exited early:\n" + "".join(lines)
            lines.append(line.decode())
        url = next(line for line in lines if "serving" in line).split(" on ")[1].split()[0]

        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/clicksend/inbound/{TOKEN}", data={"from": "61491570156", "body": "hi"}) as response:
                assert response.status == 200
        process.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(process.stderr.read(), timeout=10)
        code = await asyncio.wait_for(process.wait(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    log = "".join(lines) + rest.decode()
    assert code == 0
    assert "Traceback" not in log
    assert TOKEN not in log
    assert "stopped serving" in log
    assert "threads left: []" in log
    async with Store.open(cache) as store:
        assert [item.body for item in await store.thread(None, AU_1)] == ["hi"]


async def test_history_sync_reads_every_page(sandbox, clicksend, store: Store, syncer: Syncer) -> None:
    from core.models import SmsMessage

    await control(sandbox, "PUT", "accounts/demo-user", {"balance": "1000"})
    await clicksend.send([SmsMessage(to=f"+614915{n:05d}", body=f"page test {n}") for n in range(250)])

    new_rows, _ = await syncer.sync_history()

    assert new_rows == 250
    assert len(await store.search("page test", limit=1000)) == 250
    assert await store.count_conversations() == 250


async def test_server_without_token_only_polls(sandbox, tmp_path: Path) -> None:
    settings = load_settings(
        clicksend_username="demo-user", clicksend_api_key="demo-key", clicksend_base_url=sandbox.base_url,
        cache_path=tmp_path / "serve.sqlite3", webhook={"host": "127.0.0.1", "port": 0},
        sync={"poll_interval": 0.01},
    )
    await control(sandbox, "POST", "inbound", {"from": AU_1, "body": "polled in", "message_id": "IN-1"})
    async with Server(settings) as server, aiohttp.ClientSession() as session:
        async with session.get(f"{server.url}/health") as response:
            assert response.status == 200
        async with session.post(f"{server.url}/clicksend/inbound/anything", data={"from": AU_1}) as response:
            assert response.status == 404
        await wait_for(lambda: sandbox.state.unread_inbound("demo-user") == [])
        stored = await server.store.thread(None, AU_1)
    assert [item.body for item in stored] == ["polled in"]
    assert aiosqlite_threads() == []


async def test_serve_with_pushes_and_polling_stores_once(sandbox, tmp_path: Path) -> None:
    """smsdesk serve while the sandbox both pushes and is polled: each reply and receipt once."""
    settings = serve_settings(sandbox, tmp_path, sync={"poll_interval": 0.02})
    async with Server(settings) as server:
        base = f"{server.url}/clicksend"
        await control(sandbox, "PUT", "settings", {"receipt_url": f"{base}/receipts/{TOKEN}",
                                                   "inbound_url": f"{base}/inbound/{TOKEN}"})
        service = SmsService(client=server.client, store=server.store)
        outcome = await service.send(to=[AU_1, AU_2], body="hello")
        await sandbox.advance(600)
        await control(sandbox, "POST", "inbound", {"from": AU_1, "body": "ok", "message_id": "IN-0001", "copies": 3})
        await sandbox.advance(1)

        pushes = sandbox.state.pushes
        await wait_for(lambda: pushes and all(push.delivered for push in pushes))
        await wait_for(lambda: not sandbox.state.unread_inbound("demo-user"))
        await wait_for(lambda: not sandbox.state.unread_receipts("demo-user"))

        replies = [item for item in await server.store.thread(None, AU_1) if item.direction == "in"]
        statuses = [(await server.store.message(r.message_row)).status for r in outcome.recipients]
        receipts = [await server.store.receipts_for(r.message_id) for r in outcome.recipients]

    assert [reply.message_id for reply in replies] == ["IN-0001"]
    assert statuses == ["delivered", "delivered"]
    for stored in receipts:
        assert len(stored) == len({receipt.status_code for receipt in stored})
