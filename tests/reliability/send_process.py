"""A send process for the crash tests: ``python send_process.py CACHE BASE_URL PLAN_JSON``.

It reconciles what an earlier, killed process left pending, sends each planned
batch through SmsService, then reconciles until no outbox row is pending. The test kills it
with SIGKILL at chosen points and starts it again on the same cache file.

The plan file is JSON: ``{"grace_seconds": float, "sends": [{"to": [...], "body": str}]}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

from core.client import ClickSendClient
from core.service import SmsService
from core.store import Store

# Pause between reconcile passes while rows wait for their grace period.
SETTLE_INTERVAL_SECONDS = 0.2


async def run(cache: Path, base_url: str, plan: dict) -> None:
    grace = timedelta(seconds=plan["grace_seconds"])
    async with Store.open(cache) as store, ClickSendClient(
        username="demo-user", api_key="demo-key", base_url=base_url
    ) as client:
        service = SmsService(client=client, store=store)
        await service.reconcile(grace=grace)
        for send in plan["sends"]:
            await service.send(to=send["to"], body=send["body"], origin={"via": "crash-test"})
        while await store.pending_outbox():
            await asyncio.sleep(SETTLE_INTERVAL_SECONDS)
            await service.reconcile(grace=grace)


def main() -> None:
    cache, base_url, plan_path = sys.argv[1:4]
    plan = json.loads(Path(plan_path).read_text())
    asyncio.run(run(Path(cache), base_url, plan))


if __name__ == "__main__":
    main()
