"""Shared steps for the reliability tests: sandbox control, polling, exactly-once checks."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import aiohttp

from core import reference, status
from core.service import SmsService
from core.store import MessageRecord, Store

# Statuses of a message that ClickSend accepted (core.status values).
ACCEPTED_STATUSES = frozenset({status.QUEUED, status.SCHEDULED, status.SENT, status.DELIVERED})


def bulk_numbers(count: int, *, start: int = 0) -> list[str]:
    """Return ``count`` distinct Australian mobile numbers in E.164 (+614915xxxxx)."""
    return [f"+614915{start + index:05d}" for index in range(count)]


async def control(sandbox: Any, method: str, path: str, payload: Any = None) -> Any:
    """Call the sandbox's control API (``/_sandbox/PATH``) and return its JSON response."""
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"{sandbox.root_url}/_sandbox/{path}", json=payload) as response:
            text = await response.text()
            assert response.status == 200, f"{method} /_sandbox/{path} returned {response.status}: {text}"
            return await response.json(content_type=None)


async def fund_account(sandbox: Any, balance: int = 1_000_000) -> None:
    """Give the demo account enough credit for thousands of messages (the default is 100 AUD)."""
    await control(sandbox, "PUT", "accounts/demo-user", {"balance": balance})


async def clear_faults(sandbox: Any) -> None:
    await control(
        sandbox,
        "PUT",
        "faults",
        {"latency": {}, "error_rate": 0, "burst_429": 0, "drop_after_send": 0},
    )


async def wait_until(
    predicate: Callable[[], Awaitable[bool] | bool], *, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"
) -> None:
    """Poll ``predicate`` (plain or async) until it is true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        await asyncio.sleep(interval)


async def settle_outbox(
    service: SmsService,
    store: Store,
    *,
    grace: timedelta = timedelta(0),
    timeout: float = 120.0,
    interval: float = 0.1,
) -> int:
    """Run reconcile until no outbox row is pending; return how many rounds it took."""
    rounds = 0

    async def settled() -> bool:
        nonlocal rounds
        rounds += 1
        await service.reconcile(grace=grace)
        return not await store.pending_outbox()

    await wait_until(settled, timeout=timeout, interval=interval, what="an empty outbox after reconcile")
    return rounds


async def outbound_records(store: Store) -> list[MessageRecord]:
    return await store.messages(direction="out", limit=1_000_000)


def sandbox_sends_per_number(sandbox: Any) -> Counter[str]:
    """Count the messages the sandbox accepted, per recipient."""
    return Counter(message.to for message in sandbox.state.messages.values())


def assert_sent_exactly_once(sandbox: Any, records: Sequence[MessageRecord], numbers: Sequence[str]) -> None:
    """Check that every number got one message at ClickSend and the cache agrees with it."""
    per_number = sandbox_sends_per_number(sandbox)
    doubled = sorted(number for number, count in per_number.items() if count > 1)
    missing = sorted(set(numbers) - set(per_number))
    assert doubled == [], f"{len(doubled)} numbers got the message more than once, e.g. {doubled[:5]}"
    assert missing == [], f"{len(missing)} numbers never got the message, e.g. {missing[:5]}"
    assert set(per_number) == set(numbers)

    not_accepted = [(record.their_number, record.status, record.error_text) for record in records if record.status not in ACCEPTED_STATUSES]
    assert not_accepted == [], f"{len(not_accepted)} cached messages not accepted, e.g. {not_accepted[:3]}"
    assert len(records) == len(numbers)

    remote_ids = {message.message_id for message in sandbox.state.messages.values()}
    assert {record.message_id for record in records} == remote_ids

    remote_refs = Counter(reference.split(message.custom_string)[1] for message in sandbox.state.messages.values())
    assert remote_refs == Counter(record.client_ref for record in records)
