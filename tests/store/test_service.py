"""SmsService against the sandbox: validation, per-message results, outbox, reconcile."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from core import reference, status
from core.events import EventBus, MessageSent
from core.ingest import Ingestor
from core.numbers import InvalidNumberError, InvalidSenderError
from core.service import OptedOutError, SendValidationError, SmsService, TemplateError, render
from core.store import InboundRecord, OutboundDraft, Store

from .conftest import WEBHOOK_TOKEN, wait_for

AU_1 = "+61491570156"
AU_2 = "+61491570157"
UK = "+447700900123"


@pytest.fixture
async def service(clicksend, store: Store) -> SmsService:
    return SmsService(client=clicksend, store=store, events=EventBus())


async def control(sandbox, method: str, path: str, payload: dict) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"{sandbox.root_url}/_sandbox/{path}", json=payload) as response:
            assert response.status == 200, await response.text()


def sandbox_messages(sandbox) -> list:
    return list(sandbox.state.messages.values())


# --- validation: nothing is written or sent ------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"to": ["12"]}, InvalidNumberError, "Invalid phone number '12'"),
        ({"to": []}, SendValidationError, "No recipients"),
        ({"body": "   "}, SendValidationError, "body is empty"),
        ({"body": "x" * 1300}, SendValidationError, "ClickSend truncates"),
        ({"sender": "My Company"}, InvalidSenderError, "cannot contain spaces"),
        ({"schedule": datetime(2030, 1, 1)}, SendValidationError, "has no time zone"),
        ({"schedule": datetime(2020, 1, 1, tzinfo=UTC)}, SendValidationError, "in the past"),
        ({"schedule": datetime.now(UTC) + timedelta(days=200)}, SendValidationError, "days ahead"),
    ],
)
async def test_send_rejects_invalid_input(service: SmsService, sandbox, store: Store, options, error, text) -> None:
    arguments = {"to": [AU_1], "body": "hello", **options}
    with pytest.raises(error, match=text):
        await service.send(**arguments)
    assert await store.messages() == []
    assert sandbox_messages(sandbox) == []


async def test_opted_out_number_refused_locally(service: SmsService, sandbox, store: Store) -> None:
    await Ingestor(store=store).add_inbound(
        [Ingestor(store=store).parse_inbound({"message_id": "IN-1", "from": "61491570156", "body": "STOP"})]
    )
    with pytest.raises(OptedOutError, match=r"\+61491570156 opted out") as raised:
        await service.send(to=[AU_1, AU_2], body="hello")
    assert raised.value.numbers == [AU_1]
    assert sandbox_messages(sandbox) == []
    assert await store.messages(direction="out") == []

    outcome = await service.send(to=[AU_1], body="hello", allow_opted_out=True)
    assert outcome.accepted_count == 1


# --- per-message results ---------------------------------------------------------------------


async def test_one_sent_one_failed_without_exception(service: SmsService, sandbox, store: Store) -> None:
    await control(sandbox, "PUT", "accounts/demo-user", {"enabled_countries": ["AU"]})
    await control(sandbox, "PUT", "settings", {"next_message_ids": ["MSG-0001", "MSG-0002"]})
    with service.events.subscribe() as events:
        outcome = await service.send(to=[AU_1, UK], body="hello")
        sent_events = [await events.get(timeout=1) for _ in range(4)]

    assert outcome.summary() == "1 sent, 1 failed"
    sent, failed = outcome.recipients
    assert (sent.to, sent.status, sent.message_id) == (AU_1, "queued", "MSG-0001")
    assert (failed.to, failed.status, failed.message_id) == (UK, "failed", None)
    assert failed.error == "COUNTRY_NOT_ENABLED"
    assert (await store.message_by_message_id("MSG-0001")).status == status.QUEUED
    assert (await store.message(failed.message_row)).message_id is None
    assert sum(isinstance(event, MessageSent) for event in sent_events) == 2


async def test_user_custom_string_kept_and_reference_added(service: SmsService, sandbox, store: Store) -> None:
    outcome = await service.send(to=[AU_1], body="hello", custom_string="ticket-42")
    (recipient,) = outcome.recipients
    (remote,) = sandbox_messages(sandbox)
    assert remote.custom_string == f"ticket-42|sd-{recipient.client_ref}"
    assert reference.split(remote.custom_string) == ("ticket-42", recipient.client_ref)
    assert (await store.message(recipient.message_row)).custom_string == "ticket-42"


async def test_price_per_recipient_and_total(service: SmsService, store: Store) -> None:
    await store.add_inbound([InboundRecord(message_id="IN-1", from_number=AU_2, to_number="", body="STOP",
                                           received_at=datetime.now(UTC), opt_out="opt_out")])
    quote = await service.price(to=[AU_1, AU_2], body="hello")
    assert [recipient.to for recipient in quote.recipients] == [AU_1, AU_2]
    assert [recipient.opted_out for recipient in quote.recipients] == [False, True]
    assert quote.total == sum(recipient.price for recipient in quote.recipients)
    assert isinstance(quote.total, Decimal)
    assert quote.parts == 1


# --- receipts that overtake the send response ---------------------------------------------------


async def test_receipt_before_send_response_ends_delivered(service: SmsService, sandbox, store: Store, webhook_base: str) -> None:
    webhook_url = f"{webhook_base}/receipts/{WEBHOOK_TOKEN}"
    await control(sandbox, "PUT", "settings", {"receipt_url": webhook_url, "receipt_before_response": True,
                                               "next_message_ids": ["MSG-0001"]})
    outcome = await service.send(to=[AU_1], body="hello")
    message = await store.message_by_message_id("MSG-0001")
    assert outcome.recipients[0].message_id == "MSG-0001"
    assert message.status == status.DELIVERED
    assert await store.orphan_receipts() == []


# --- outcome unknown, reconcile, crash ------------------------------------------------------------


async def test_dropped_connection_then_reconcile_sends_once(service: SmsService, sandbox, store: Store) -> None:
    await control(sandbox, "PUT", "faults", {"drop_after_send": 1})
    outcome = await service.send(to=[AU_1], body="hello")
    assert outcome.pending_count == 1
    assert len(sandbox_messages(sandbox)) == 1

    report = await service.reconcile(grace=timedelta(0))
    again = await service.reconcile(grace=timedelta(0))

    assert (report.found, report.resent) == (1, 0)
    assert (again.found, again.resent) == (0, 0)
    assert len(sandbox_messages(sandbox)) == 1
    message = await store.message(outcome.recipients[0].message_row)
    assert message.status != status.PENDING
    assert message.message_id == sandbox_messages(sandbox)[0].message_id


async def test_reconcile_resends_after_grace_only(service: SmsService, sandbox, store: Store) -> None:
    ref = reference.new_reference()
    request = {"to": AU_1, "body": "hello", "source": "smsdesk", "custom_string": reference.combine(None, ref)}
    # As left by a process killed after the outbox commit and before the request.
    await store.add_to_outbox([OutboundDraft(client_ref=ref, batch_id="b", to=AU_1, body="hello", request=request)])

    waiting = await service.reconcile(grace=timedelta(hours=1))
    assert (waiting.waiting, waiting.resent) == (1, 0)
    assert sandbox_messages(sandbox) == []

    resent = await service.reconcile(grace=timedelta(0))
    assert resent.resent == 1
    assert len(sandbox_messages(sandbox)) == 1
    assert (await store.message_by_client_ref(ref)).status == status.QUEUED
    assert (await service.reconcile(grace=timedelta(0))).resent == 0
    assert len(sandbox_messages(sandbox)) == 1


SEND_SCRIPT = """
import asyncio, sys
from core.client import ClickSendClient
from core.service import SmsService
from core.store import Store

async def main(path, base_url):
    async with Store.open(path) as store, ClickSendClient(username="demo-user", api_key="demo-key",
                                                          base_url=base_url) as client:
        service = SmsService(client=client, store=store)
        await service.send(to=["+61491570156", "+61491570157", "+447700900123"], body="exactly once")

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def pending_rows(path: Path) -> int:
    if not path.exists():
        return 0
    connection = sqlite3.connect(path, timeout=5)
    try:
        return connection.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # schema not created yet
    finally:
        connection.close()


@pytest.mark.parametrize("latency", [0.0, 1.0], ids=["fast", "slow-response"])
async def test_send_killed_then_restart_sends_once(sandbox, tmp_path: Path, latency: float) -> None:
    cache = tmp_path / "killed.sqlite3"
    script = tmp_path / "send.py"
    script.write_text(SEND_SCRIPT)
    await control(sandbox, "PUT", "faults", {"latency": {"/v3/sms/send": latency}})

    process = await asyncio.create_subprocess_exec(sys.executable, str(script), str(cache), sandbox.base_url)
    try:
        await wait_for(lambda: pending_rows(cache) > 0 or process.returncode is not None, timeout=30)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await process.wait()

    from core.client import ClickSendClient

    async with Store.open(cache) as store, ClickSendClient(
        username="demo-user", api_key="demo-key", base_url=sandbox.base_url
    ) as client:
        service = SmsService(client=client, store=store)
        # A request cut off by the kill is dropped by the sandbox (it cancels handlers
        # on disconnect) and is sent again after the grace period. One that the sandbox
        # completed is found in history instead.
        grace = timedelta(seconds=latency + 2)

        async def settled() -> bool:
            await service.reconcile(grace=grace)
            return not await store.pending_outbox()

        deadline = asyncio.get_running_loop().time() + 30
        while not await settled():
            assert asyncio.get_running_loop().time() < deadline, "outbox still pending"
            await asyncio.sleep(0.1)

        accepted = await store.messages(direction="out", limit=10)

    remote = sandbox_messages(sandbox)
    remote_refs = sorted(reference.split(message.custom_string)[1] for message in remote)
    assert len(accepted) in (0, 3)
    assert remote_refs == sorted(message.client_ref for message in accepted)
    assert {message.status for message in accepted} <= {status.QUEUED, status.SENT, status.DELIVERED}
    assert sorted(message.message_id for message in accepted) == sorted(message.message_id for message in remote)


# --- cancel and templates ---------------------------------------------------------------------------


async def test_cancel_scheduled_message(service: SmsService, store: Store) -> None:
    outcome = await service.send(to=[AU_1], body="later", schedule=datetime.now(UTC) + timedelta(hours=2))
    (recipient,) = outcome.recipients
    assert recipient.status == status.SCHEDULED
    await service.cancel(recipient.message_id)
    assert (await store.message(recipient.message_row)).status == status.CANCELLED


async def test_cancel_all_by_custom_string(service: SmsService, store: Store) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    first = await service.send(to=[AU_1], body="a", schedule=later, custom_string="campaign-1")
    second = await service.send(to=[AU_2], body="b", schedule=later, custom_string="campaign-2")
    assert await service.cancel_all("campaign-1") == 1
    assert (await store.message(first.recipients[0].message_row)).status == status.CANCELLED
    assert (await store.message(second.recipients[0].message_row)).status == status.SCHEDULED


async def test_templates_create_render_delete(service: SmsService) -> None:
    created = await service.create_template("Reminder", "Hi {name}, see you at {time} {{sharp}}")
    assert [template.name for template in await service.templates()] == ["Reminder"]
    text = await service.render_template("reminder", {"name": "Ann", "time": "5pm"})
    assert text == "Hi Ann, see you at 5pm {sharp}"
    with pytest.raises(TemplateError, match="Missing values for time"):
        await service.render_template("Reminder", {"name": "Ann"})
    await service.delete_template(created.template_id)
    assert await service.templates() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [("Hi {name", "Unmatched '{'"), ("Hi name}", "Unmatched '}'")],
)
def test_render_rejects_stray_braces(body: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render(body, {"name": "Ann"})


async def test_resend_failed_message(service: SmsService, sandbox, store: Store) -> None:
    await control(sandbox, "PUT", "accounts/demo-user", {"enabled_countries": ["AU"]})
    failed = (await service.send(to=[UK], body="hello")).recipients[0]
    with pytest.raises(SendValidationError, match="only failed messages"):
        sent = (await service.send(to=[AU_1], body="hi")).recipients[0]
        await service.resend(sent.message_row)
    await control(sandbox, "PUT", "accounts/demo-user", {"enabled_countries": ["AU", "GB"]})
    again = await service.resend(failed.message_row)
    assert again.recipients[0].status == status.QUEUED
    assert (await store.message(failed.message_row)).status == status.FAILED


async def test_first_send_settles_leftover_outbox(clicksend, sandbox, store: Store) -> None:
    ref = reference.new_reference()
    request = {"to": AU_2, "body": "left over", "source": "smsdesk", "custom_string": reference.combine(None, ref)}
    await store.add_to_outbox([OutboundDraft(client_ref=ref, batch_id="b", to=AU_2, body="left over", request=request)])

    service = SmsService(client=clicksend, store=store, reconcile_grace=timedelta(0))
    await service.send(to=[AU_1], body="new")

    assert sorted(message.body for message in sandbox_messages(sandbox)) == ["left over", "new"]
    assert await store.pending_outbox() == []


async def test_smsdesk_send_killed_then_sync(sandbox, tmp_path: Path) -> None:
    """End to end: `smsdesk send` killed after ClickSend accepted the request, then `smsdesk sync`."""
    smsdesk = str(Path(sys.executable).parent / "smsdesk")
    cache = tmp_path / "cli.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text("")
    environment = {
        "PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path),
        "CLICKSEND_USERNAME": "demo-user", "CLICKSEND_API_KEY": "demo-key",
        "CLICKSEND_BASE_URL": sandbox.base_url, "SMSDESK_CACHE": str(cache), "SMSDESK_CONFIG": str(config),
    }
    # The sandbox stores the messages, then drops the connection instead of responding.
    await control(sandbox, "PUT", "faults", {"drop_after_send": 1})

    process = await asyncio.create_subprocess_exec(
        smsdesk, "send", "--to", AU_1, "--to", AU_2, "--body", "exactly once", env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_for(lambda: len(sandbox_messages(sandbox)) == 2, timeout=30)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await process.wait()
    assert pending_rows(cache) == 2

    sync = await asyncio.create_subprocess_exec(
        smsdesk, "sync", env=environment, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, errors = await sync.communicate()

    assert sync.returncode == 0, errors.decode()
    async with Store.open(cache) as store:
        cached = await store.messages(direction="out")
        assert await store.pending_outbox() == []
    assert len(sandbox_messages(sandbox)) == 2
    assert sorted(message.message_id for message in cached) == sorted(
        message.message_id for message in sandbox_messages(sandbox)
    )


async def test_send_over_1000_recipients_in_batches(service: SmsService, sandbox, store: Store) -> None:
    numbers = [f"+614915{n:05d}" for n in range(1500)]
    await control(sandbox, "PUT", "accounts/demo-user", {"balance": "1000"})
    outcome = await service.send(to=numbers, body="bulk")
    assert outcome.accepted_count == 1500
    assert len(sandbox_messages(sandbox)) == 1500
    assert [recipient.to for recipient in outcome.recipients] == numbers
    assert await store.pending_outbox() == []


async def test_rate_limited_send_is_retried(service: SmsService, sandbox, store: Store) -> None:
    await control(sandbox, "PUT", "faults", {"burst_429": 2, "retry_after": 0})
    outcome = await service.send(to=[AU_1, AU_2], body="hello")
    assert outcome.summary() == "2 sent"
    assert len(sandbox_messages(sandbox)) == 2


async def test_rate_limit_that_persists_fails_rows(service: SmsService, sandbox, store: Store) -> None:
    await control(sandbox, "PUT", "faults", {"burst_429": 50, "retry_after": 0})
    outcome = await service.send(to=[AU_1], body="hello")
    assert outcome.failed_count == 1
    assert "HTTP 429" in outcome.recipients[0].error
    assert sandbox_messages(sandbox) == []


async def test_reconcile_many_pending_recipients(service: SmsService, sandbox, store: Store) -> None:
    numbers = [f"+614915{n:05d}" for n in range(40)]
    await control(sandbox, "PUT", "faults", {"drop_after_send": 1})
    outcome = await service.send(to=numbers, body="hello")
    assert outcome.pending_count == 40

    report = await service.reconcile(grace=timedelta(0))

    assert report.found == 40
    assert report.resent == 0
    assert len(sandbox_messages(sandbox)) == 40
    assert await store.pending_outbox() == []
