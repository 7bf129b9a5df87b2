"""A send process killed with SIGKILL and started again, round after round, loses and doubles nothing.

Each round starts ``send_process.py`` on the same cache file against a sandbox in
this process. The process first reconciles what the previous, killed process left
pending, then sends its own batches. The test kills it at a point chosen by a
seeded random generator: after a random delay, just after its outbox rows were
committed, or just after the sandbox accepted one of its sends (before the
response can be recorded). A last round runs to the end. Then every message in the
outbox must be accepted and present at the sandbox exactly once, and the sandbox
must hold no message that the outbox does not.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sqlite3
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from core import reference
from core.store import Store
from tests.reliability.helpers import (
    ACCEPTED_STATUSES,
    bulk_numbers,
    control,
    fund_account,
    outbound_records,
    wait_until,
)

SEND_PROCESS = Path(__file__).with_name("send_process.py")
# Real delay on each send request, so that kills can land while a request is in flight.
SEND_LATENCY_SECONDS = 0.2
# The restarted process resends a message missing from history only after this long,
# which must exceed the longest a killed process's request can still be in flight.
GRACE_SECONDS = SEND_LATENCY_SECONDS + 1.0
KILL_POINTS = ("random-delay", "outbox-committed", "send-accepted")


@dataclass
class RoundResult:
    kill_point: str
    killed: bool
    pending_at_kill: int


def outbox_counts(cache: Path) -> tuple[int, int]:
    """Return (all outbox rows, pending rows) read by a separate connection; (0, 0) before the schema exists."""
    if not cache.exists():
        return 0, 0
    connection = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5)
    try:
        total, pending = connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(state = 'pending'), 0) FROM outbox"
        ).fetchone()
        return total, pending
    except sqlite3.OperationalError:
        return 0, 0
    finally:
        connection.close()


def integrity(cache: Path) -> str:
    connection = sqlite3.connect(cache)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


async def start_process(cache: Path, sandbox, plan: dict, workdir: Path, name: str) -> asyncio.subprocess.Process:
    plan_path = workdir / f"{name}.json"
    plan_path.write_text(json.dumps(plan))
    log = (workdir / f"{name}.log").open("wb")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, str(SEND_PROCESS), str(cache), sandbox.base_url, str(plan_path),
            stdout=log, stderr=log,
        )
    finally:
        log.close()


async def kill_at(process: asyncio.subprocess.Process, point: str, rng: random.Random, *, cache: Path, sandbox) -> bool:
    """Wait for the kill point, then SIGKILL the process; return False if it finished first."""
    outbox_before, _ = outbox_counts(cache)
    accepted_before = len(sandbox.state.messages)

    def finished() -> bool:
        return process.returncode is not None

    if point == "random-delay":
        try:
            await asyncio.wait_for(process.wait(), timeout=rng.uniform(0.3, 2.5))
        except TimeoutError:
            pass
    elif point == "outbox-committed":
        await wait_until(lambda: finished() or outbox_counts(cache)[0] > outbox_before, timeout=60, interval=0.01)
        # Land anywhere in the request that follows the commit.
        try:
            await asyncio.wait_for(process.wait(), timeout=rng.uniform(0, SEND_LATENCY_SECONDS * 1.5))
        except TimeoutError:
            pass
    else:
        await wait_until(lambda: finished() or len(sandbox.state.messages) > accepted_before, timeout=60, interval=0.002)

    if finished():
        return False
    process.send_signal(signal.SIGKILL)
    await process.wait()
    return True


async def run_rounds(sandbox, tmp_path: Path, *, rounds: int, sends_per_round: int, batch_size: int, seed: int) -> list[RoundResult]:
    cache = tmp_path / "cache.sqlite3"
    rng = random.Random(seed)
    results = []
    next_number = 0
    for round_number in range(rounds):
        sends = []
        for send_number in range(sends_per_round):
            sends.append(
                {
                    "to": bulk_numbers(batch_size, start=next_number),
                    "body": f"Crash round {round_number}, batch {send_number}: your order has shipped.",
                }
            )
            next_number += batch_size
        plan = {"grace_seconds": GRACE_SECONDS, "sends": sends}
        process = await start_process(cache, sandbox, plan, tmp_path, f"round-{round_number}")
        point = rng.choice(KILL_POINTS)
        try:
            killed = await kill_at(process, point, rng, cache=cache, sandbox=sandbox)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        log = (tmp_path / f"round-{round_number}.log").read_text(errors="replace")
        assert killed or process.returncode == 0, f"round {round_number} exited {process.returncode}:\n{log}"
        results.append(RoundResult(point, killed, outbox_counts(cache)[1]))

    final = await start_process(cache, sandbox, {"grace_seconds": GRACE_SECONDS, "sends": []}, tmp_path, "final")
    try:
        await asyncio.wait_for(final.wait(), timeout=120)
    finally:
        if final.returncode is None:
            final.kill()
            await final.wait()
    log = (tmp_path / "final.log").read_text(errors="replace")
    assert final.returncode == 0, f"the last run exited {final.returncode}:\n{log}"
    return results


async def check_exactly_once(sandbox, cache: Path) -> None:
    assert integrity(cache) == "ok"
    async with Store.open(cache) as store:
        records = await outbound_records(store)
        pending = await store.pending_outbox()

    assert pending == []
    assert records != []
    not_accepted = [(record.client_ref, record.status, record.error_text) for record in records if record.status not in ACCEPTED_STATUSES]
    assert not_accepted == [], f"{len(not_accepted)} outbox messages not accepted, e.g. {not_accepted[:3]}"

    remote = list(sandbox.state.messages.values())
    remote_refs = Counter(reference.split(message.custom_string)[1] for message in remote)
    doubled = [ref for ref, count in remote_refs.items() if count > 1]
    assert doubled == [], f"{len(doubled)} outbox messages sent more than once, e.g. {doubled[:5]}"
    lost = {record.client_ref for record in records} - set(remote_refs)
    assert lost == set(), f"{len(lost)} outbox messages never sent, e.g. {sorted(lost)[:5]}"
    unrecorded = set(remote_refs) - {record.client_ref for record in records}
    assert unrecorded == set(), f"{len(unrecorded)} messages sent without an outbox row"

    per_number = Counter(message.to for message in remote)
    assert max(per_number.values()) == 1
    assert {record.message_id for record in records} == {message.message_id for message in remote}


async def prepare(sandbox) -> None:
    await fund_account(sandbox)
    await control(sandbox, "PUT", "faults", {"latency": {"/v3/sms/send": SEND_LATENCY_SECONDS}})


async def test_killed_sends_resume_exactly_once(sandbox, tmp_path: Path) -> None:
    await prepare(sandbox)

    results = await run_rounds(sandbox, tmp_path, rounds=6, sends_per_round=3, batch_size=40, seed=7)

    assert any(result.killed for result in results)
    await check_exactly_once(sandbox, tmp_path / "cache.sqlite3")


@pytest.mark.long
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("seed", [11, 23, 42])
async def test_killed_sends_resume_exactly_once_long(sandbox, tmp_path: Path, seed: int) -> None:
    await prepare(sandbox)

    results = await run_rounds(sandbox, tmp_path, rounds=40, sends_per_round=4, batch_size=250, seed=seed)

    killed_with_pending = [result for result in results if result.killed and result.pending_at_kill]
    assert killed_with_pending != []
    await check_exactly_once(sandbox, tmp_path / "cache.sqlite3")


async def test_two_restarts_at_once_send_once(sandbox, tmp_path: Path) -> None:
    """Two processes reconcile the same killed outbox at the same time; each message goes out once."""
    await prepare(sandbox)
    cache = tmp_path / "cache.sqlite3"
    rng = random.Random(5)
    sends = [{"to": bulk_numbers(60, start=index * 60), "body": f"Two restarts, batch {index}"} for index in range(3)]

    first = await start_process(cache, sandbox, {"grace_seconds": GRACE_SECONDS, "sends": sends}, tmp_path, "killed")
    try:
        await kill_at(first, "outbox-committed", rng, cache=cache, sandbox=sandbox)
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()

    _, pending_after_kill = outbox_counts(cache)
    settle_plan = {"grace_seconds": GRACE_SECONDS, "sends": []}
    restarts = [await start_process(cache, sandbox, settle_plan, tmp_path, f"restart-{index}") for index in range(2)]
    try:
        codes = await asyncio.wait_for(asyncio.gather(*(process.wait() for process in restarts)), timeout=120)
    finally:
        for process in restarts:
            if process.returncode is None:
                process.kill()
                await process.wait()

    logs = [(tmp_path / f"restart-{index}.log").read_text(errors="replace") for index in range(2)]
    assert pending_after_kill > 0
    assert codes == [0, 0], "\n".join(logs)
    await check_exactly_once(sandbox, cache)
