"""Bulk sends of 2,000 through SmsService under each sandbox fault end with every message sent once.

Each case sets one fault through the sandbox's control API, sends one body to
2,000 distinct numbers (two requests of 1,000), then runs reconcile until the
outbox is empty. The check is the same for every fault: each number has exactly
one message at the sandbox, and the cache holds the same message ids and outbox
references, all accepted.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.client import ClickSendClient
from core.events import EventBus
from core.service import SmsService
from core.store import Store
from tests.reliability.helpers import (
    assert_sent_exactly_once,
    bulk_numbers,
    clear_faults,
    control,
    fund_account,
    outbound_records,
    settle_outbox,
)

BULK_SIZE = 2000
BODY = "Your appointment is tomorrow at 9:30. Reply YES to confirm."


class RecordingSleep:
    """The client's retry sleep: records each requested wait and yields without waiting.

    The sandbox's faults count requests rather than time, so skipping the wait keeps
    the test fast without changing what the client sends.
    """

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store.open(tmp_path / "cache.sqlite3") as opened:
        yield opened


@pytest.fixture
def retry_sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def service(sandbox, store: Store, retry_sleep: RecordingSleep) -> AsyncIterator[SmsService]:
    await fund_account(sandbox)
    async with ClickSendClient(
        username="demo-user", api_key="demo-key", base_url=sandbox.base_url, sleep=retry_sleep
    ) as client:
        yield SmsService(client=client, store=store, events=EventBus())


async def send_bulk(service: SmsService, numbers: list[str]):
    return await service.send(to=numbers, body=BODY, origin={"via": "reliability-test"})


async def test_bulk_send_with_latency(service: SmsService, sandbox, store: Store) -> None:
    numbers = bulk_numbers(BULK_SIZE)
    await control(sandbox, "PUT", "faults", {"latency": {"/v3/sms/send": 0.5, "*": 0.01}})

    outcome = await send_bulk(service, numbers)
    await settle_outbox(service, store)

    assert outcome.accepted_count == BULK_SIZE
    assert_sent_exactly_once(sandbox, await outbound_records(store), numbers)


async def test_bulk_send_timed_out_then_accepted_late(sandbox, store: Store, retry_sleep) -> None:
    """Both send requests time out on the client, then the sandbox accepts them; reconcile must not resend."""
    numbers = bulk_numbers(BULK_SIZE)
    await fund_account(sandbox)
    latency = 1.5
    await control(sandbox, "PUT", "faults", {"latency": {"/v3/sms/send": latency}})

    async with ClickSendClient(
        username="demo-user", api_key="demo-key", base_url=sandbox.base_url, timeout=0.5, sleep=retry_sleep
    ) as client:
        service = SmsService(client=client, store=store)
        outcome = await send_bulk(service, numbers)
        await clear_faults(sandbox)
        # The grace period must exceed the longest a send request can take, so that a
        # request the sandbox is still handling is looked up, not sent again.
        await settle_outbox(service, store, grace=timedelta(seconds=latency + 1), interval=0.25)

    assert outcome.pending_count == BULK_SIZE
    assert_sent_exactly_once(sandbox, await outbound_records(store), numbers)


async def test_bulk_send_with_server_errors(service: SmsService, sandbox, store: Store) -> None:
    numbers = bulk_numbers(BULK_SIZE)
    # Every send gets a 503 first. Then 30% of all requests, reconcile's history
    # lookups and resends included, keep failing until the outbox is settled.
    await control(sandbox, "PUT", "faults", {"error_rate": 1.0, "error_status": 503})
    outcome = await send_bulk(service, numbers)
    await control(sandbox, "PUT", "faults", {"error_rate": 0.3})

    await settle_outbox(service, store)
    await clear_faults(sandbox)

    assert outcome.pending_count == BULK_SIZE
    assert sandbox.state.messages != {}
    assert_sent_exactly_once(sandbox, await outbound_records(store), numbers)


async def test_bulk_send_with_429_bursts(service: SmsService, sandbox, store: Store) -> None:
    numbers = bulk_numbers(BULK_SIZE)
    # The next two requests (both sends of 1,000) are rate limited with Retry-After: 2.
    # A 429 means ClickSend did not take the request, so no message may end failed.
    await control(sandbox, "PUT", "faults", {"burst_429": 2, "retry_after": 2})

    outcome = await send_bulk(service, numbers)
    await settle_outbox(service, store)

    faults = await control(sandbox, "PUT", "faults", {})
    assert faults["burst_429"] == 0
    assert outcome.failed_count == 0
    assert_sent_exactly_once(sandbox, await outbound_records(store), numbers)


async def test_bulk_send_with_dropped_connections(service: SmsService, sandbox, store: Store) -> None:
    numbers = bulk_numbers(BULK_SIZE)
    # Both requests of 1,000 are accepted, then the connection closes without a response.
    await control(sandbox, "PUT", "faults", {"drop_after_send": 2})

    outcome = await send_bulk(service, numbers)
    assert outcome.pending_count == BULK_SIZE
    assert len(sandbox.state.messages) == BULK_SIZE

    rounds = await settle_outbox(service, store)

    assert rounds == 1
    assert_sent_exactly_once(sandbox, await outbound_records(store), numbers)


async def test_bulk_send_dropped_and_server_error(service: SmsService, sandbox, store: Store) -> None:
    """One request is accepted without a response, the other never reaches ClickSend's handler."""
    numbers = bulk_numbers(BULK_SIZE)
    await control(sandbox, "PUT", "faults", {"drop_after_send": 1, "error_rate": 0.5, "error_status": 502})

    outcome = await send_bulk(service, numbers)
    await control(sandbox, "PUT", "faults", {"error_rate": 0})
    await settle_outbox(service, store)

    assert outcome.accepted_count + outcome.pending_count == BULK_SIZE
    assert_sent_exactly_once(sandbox, await outbound_records(store), numbers)


@pytest.mark.long
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("seed", [3, 17])
async def test_bulk_sends_under_mixed_faults_long(service: SmsService, sandbox, store: Store, seed: int) -> None:
    """Five bulk sends of 2,000, each under a seeded mix of faults that stays on during reconcile."""
    rng = random.Random(seed)
    numbers: list[str] = []
    for round_number in range(5):
        faults = {
            "latency": {"/v3/sms/send": rng.choice([0, 0.2, 0.5])},
            "error_rate": rng.choice([0, 0.1, 0.3]),
            "error_status": rng.choice([500, 502, 503]),
            "burst_429": rng.randint(0, 3),
            "retry_after": 1,
            "drop_after_send": rng.randint(0, 2),
        }
        await control(sandbox, "PUT", "faults", faults)
        batch = bulk_numbers(BULK_SIZE, start=round_number * BULK_SIZE)
        numbers += batch
        await service.send(to=batch, body=f"{BODY} (round {round_number})")
        await settle_outbox(service, store, timeout=600)

    await clear_faults(sandbox)
    assert_sent_exactly_once(sandbox, await outbound_records(store), numbers)
