"""Webhook ingest: smsdesk's receiver, committing each push, against a bare aiohttp handler."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiohttp import web

from benchmarks import baselines, data
from core.store import Store
from core.webhooks import build_webhook_routes

PUSHES = 2_000
CONCURRENCY = 32
TOKEN = "bench-webhook-token"


async def smsdesk_ingest_rate(pushes: int = PUSHES) -> float:
    """Inbound pushes per second through core.webhooks, each committed before its 200."""
    forms = data.inbound_forms(pushes)
    with tempfile.TemporaryDirectory() as folder:
        async with Store.open(Path(folder) / "cache.sqlite3") as store:
            app = web.Application()
            build_webhook_routes(app, store=store, token=TOKEN)
            async with baselines.serving(app) as root_url:
                url = f"{root_url}/clicksend/inbound/{TOKEN}"
                rate = await baselines.post_forms(url, forms, concurrency=CONCURRENCY)
            stored = len(await store.search("", limit=pushes + 10))
    if stored != pushes:
        raise RuntimeError(f"the receiver stored {stored} of {pushes} pushes")
    return rate


async def bare_ingest_rate(pushes: int = PUSHES) -> float:
    return await baselines.aiohttp_ingest_rate(pushes, concurrency=CONCURRENCY)
