"""Bulk send: smsdesk's whole send path against the official SDK, both on the sandbox."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from pathlib import Path

from benchmarks import data
from benchmarks.remote_sandbox import RemoteSandbox
from core.client import ClickSendClient
from core.service import SendOutcome, SmsService
from core.store import Store

USERNAME = "bench-user"
API_KEY = "bench-key"
RECIPIENTS = 10_000
BATCH = 1_000

_round = itertools.count()


def sandbox() -> RemoteSandbox:
    """Return a sandbox process whose one account can pay for every round of every case.

    Its clock is frozen, so no deliveries or receipts run during a measurement.
    """
    return RemoteSandbox(username=USERNAME, api_key=API_KEY)


async def set_latency(server: RemoteSandbox, seconds: float) -> None:
    await server.control("PUT", "faults", {"latency": {"/v3/sms/send": seconds}})


async def reset(server: RemoteSandbox) -> None:
    await server.control("POST", "reset")


def _body() -> str:
    # A new body each round: the sandbox, like ClickSend, throttles a repeated body.
    return f"Your parcel is ready for pickup, round {next(_round)}."


async def smsdesk_send(server: RemoteSandbox, recipients: list[str], *, latency: float = 0.0) -> float:
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


async def sdk_send(server: RemoteSandbox, recipients: list[str], *, latency: float = 0.0) -> float:
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


def _check_all_accepted(outcome: SendOutcome, expected: int) -> None:
    accepted = outcome.accepted_count
    if accepted != expected:
        raise RuntimeError(f"smsdesk queued {accepted} of {expected} messages")


def recipients() -> list[str]:
    return data.numbers(RECIPIENTS)
