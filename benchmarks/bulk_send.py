"""Bulk send: smsdesk's whole send path against the official SDK, both on the sandbox."""

from __future__ import annotations

import asyncio
import itertools
import json
import tempfile
import time
from pathlib import Path

import aiohttp
import aiosqlite
import phonenumbers

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


_fresh_blocks = itertools.count()
# 0492 is an Australian mobile range, and its six free digits give a million numbers.
_FRESH_NUMBERS = 1_000_000


def fresh_recipients() -> list[str]:
    """Return RECIPIENTS numbers that no earlier call returned.

    smsdesk remembers numbers it has validated, so sending to the same list in every
    round would measure validation only once. A send to a list is usually the first
    send to it in that process, as with `smsdesk send`.
    """
    start = next(_fresh_blocks) * RECIPIENTS
    if start + RECIPIENTS > _FRESH_NUMBERS:
        raise ValueError(
            f"the bulk send cases ran out of new numbers after {start:,}; "
            "run fewer rounds (at most 20 with --only bulk-send)"
        )
    return [f"+61492{index:06d}" for index in range(start, start + RECIPIENTS)]


async def bare_send(server: RemoteSandbox, recipients: list[str], *, latency: float = 0.0) -> float:
    """Seconds for aiohttp to post the same requests of 1,000 at once, as prebuilt JSON.

    No validation, no storage and no parsing beyond json.loads: a lower bound for any
    client of this sandbox.
    """
    await reset(server)
    if latency:
        await set_latency(server, latency)
    body = _body()
    requests = [
        json.dumps({"messages": [
            {"to": number, "body": body, "source": "bare", "custom_string": f"bare-{start + index}"}
            for index, number in enumerate(recipients[start : start + BATCH])
        ]})
        for start in range(0, len(recipients), BATCH)
    ]
    headers = {
        "Authorization": aiohttp.encode_basic_auth(USERNAME, API_KEY),
        "Content-Type": "application/json",
    }
    async with aiohttp.ClientSession(headers=headers) as session:

        async def post(request: str) -> int:
            async with session.post(f"{server.base_url}/sms/send", data=request) as response:
                return json.loads(await response.read())["data"]["queued_count"]

        started = time.perf_counter()
        queued = sum(await asyncio.gather(*(post(request) for request in requests)))
        elapsed = time.perf_counter() - started
    if queued != len(recipients):
        raise RuntimeError(f"the bare send queued {queued} of {len(recipients)} messages")
    return elapsed


def validate_numbers(recipients: list[str]) -> float:
    """Seconds for phonenumbers alone to parse, validate and format each number once."""
    started = time.perf_counter()
    for number in recipients:
        parsed = phonenumbers.parse(number, "AU")
        if not phonenumbers.is_valid_number(parsed):
            raise RuntimeError(f"{number} is not a valid number")
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return time.perf_counter() - started


async def validate_then_bare_send(server: RemoteSandbox, *, latency: float = 0.0) -> float:
    """Validation of new numbers followed by the bare send: validation must end before anything is sent."""
    recipients = fresh_recipients()
    return validate_numbers(recipients) + await bare_send(server, recipients, latency=latency)


async def validate_store_then_bare_send(server: RemoteSandbox, *, latency: float = 0.0) -> float:
    """Seconds for the whole case done with minimal code: validate, commit an outbox, send bare, store the results.

    The outbox is one table without an index, written with one executemany and marked
    sent with another, both through aiosqlite with the cache's journal settings.
    """
    recipients = fresh_recipients()
    elapsed = validate_numbers(recipients)
    with tempfile.TemporaryDirectory() as folder:
        async with aiosqlite.connect(Path(folder) / "outbox.sqlite3") as db:
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("CREATE TABLE outbox (ref INTEGER PRIMARY KEY, recipient TEXT, state TEXT)")
            await db.commit()
            started = time.perf_counter()
            await db.executemany(
                "INSERT INTO outbox VALUES (?, ?, 'pending')", list(enumerate(recipients))
            )
            await db.commit()
            elapsed += time.perf_counter() - started
            elapsed += await bare_send(server, recipients, latency=latency)
            started = time.perf_counter()
            await db.executemany("UPDATE outbox SET state = 'sent' WHERE ref = ?", [(ref,) for ref in range(len(recipients))])
            await db.commit()
            elapsed += time.perf_counter() - started
    return elapsed
