"""Bulk send: smsdesk's whole send path against the official SDK, both on the sandbox."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import aiohttp

from benchmarks import data
from core.client import ClickSendClient
from core.service import SmsService
from core.store import Store
from sandbox import Account, SandboxClock, SandboxServer

USERNAME = "bench-user"
API_KEY = "bench-key"
RECIPIENTS = 10_000
BATCH = 1_000

_round = itertools.count()


def sandbox() -> SandboxServer:
    """A sandbox whose one account can pay for every round of every case."""
    account = Account(username=USERNAME, api_key=API_KEY, balance=Decimal("100000000"))
    # A frozen clock keeps deliveries and receipts from running during a measurement.
    return SandboxServer(accounts={USERNAME: account}, clock=SandboxClock(frozen=True))


async def set_latency(server: SandboxServer, seconds: float) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.put(
            f"{server.root_url}/_sandbox/faults", json={"latency": {"/v3/sms/send": seconds}}
        ) as response:
            response.raise_for_status()


async def reset(server: SandboxServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.root_url}/_sandbox/reset") as response:
            response.raise_for_status()


def _body() -> str:
    # A new body each round: the sandbox, like ClickSend, throttles a repeated body.
    return f"Your parcel is ready for pickup, round {next(_round)}."


async def smsdesk_send(server: SandboxServer, recipients: list[str], *, latency: float = 0.0) -> float:
    """Seconds for SmsService.send to validate, store, send and record every recipient."""
    await reset(server)
    if latency:
        await set_latency(server, latency)
    with tempfile.TemporaryDirectory() as folder:
        async with (
            ClickSendClient(username=USERNAME, api_key=API_KEY, base_url=server.base_url) as client,
            Store.open(Path(folder) / "cache.sqlite3") as store,
        ):
            service = SmsService(client=client, store=store)
            started = time.perf_counter()
            outcome = await service.send(to=recipients, body=_body())
            elapsed = time.perf_counter() - started
    _check_all_accepted(outcome, len(recipients))
    return elapsed


async def sdk_send(server: SandboxServer, recipients: list[str], *, latency: float = 0.0) -> float:
    """Seconds for the official SDK to send the same recipients in requests of 1,000."""
    import clicksend

    await reset(server)
    if latency:
        await set_latency(server, latency)
    configuration = clicksend.Configuration(host=server.root_url, username=USERNAME, password=API_KEY)
    api = clicksend.SmsApi(clicksend.ApiClient(configuration))
    body = _body()
    requests = [
        clicksend.SendSmsRequest(
            messages=[
                clicksend.SendSmsRequestMessagesInner(to=number, body=body, source="sdk")
                for number in recipients[start : start + BATCH]
            ]
        )
        for start in range(0, len(recipients), BATCH)
    ]

    def send_all() -> int:
        return sum(api.send_sms(send_sms_request=request).data.queued_count for request in requests)

    started = time.perf_counter()
    queued = await asyncio.to_thread(send_all)
    elapsed = time.perf_counter() - started
    if queued != len(recipients):
        raise RuntimeError(f"the SDK baseline queued {queued} of {len(recipients)} messages")
    return elapsed


def _check_all_accepted(outcome: object, expected: int) -> None:
    accepted = outcome.accepted_count
    if accepted != expected:
        raise RuntimeError(f"smsdesk queued {accepted} of {expected} messages")


def recipients() -> list[str]:
    return data.numbers(RECIPIENTS)
