"""`smsdesk slack` end to end in HTTP mode, and inbound SMS stored by another process."""

import asyncio
import gc
from datetime import datetime, timedelta, timezone

import pytest

from core.store import InboundRecord, ReceiptRecord, Store
from slackbot import server
from slackbot.app import SlackConfigError
from slackbot.runner import RunPlan, run
from tests.slackbot.conftest import WEBHOOK_TOKEN, make_settings
from tests.slackbot.fake_slack import APP_TOKEN, SlackRequester, SocketModeStub, wait_for


async def test_run_serves_commands_and_webhooks(fake_slack, sandbox, tmp_path, http_session):
    settings = make_settings(fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path)
    plan = RunPlan(socket_mode=False, host="127.0.0.1", port=0)
    stop = asyncio.Event()
    urls: list[str] = []
    task = asyncio.create_task(run(settings, plan, stop=stop, on_ready=urls.append))
    try:
        await wait_for(lambda: urls or task.done())
        requester = SlackRequester(url=urls[0] + "/slack/events", slack=fake_slack, session=http_session)

        reply = await requester.command("+61491570156 hi")
        form = {"message_id": "IN-0001", "from": "+61491570157", "body": "hello from a phone"}
        async with http_session.post(f"{urls[0]}/clicksend/inbound/{WEBHOOK_TOKEN}", data=form) as response:
            webhook_status = response.status
        await wait_for(lambda: len(fake_slack.posts("C0FAKE001")) == 2)
    finally:
        stop.set()
        await task

    assert reply.status == 200
    assert webhook_status == 200
    assert [m.to for m in sandbox.state.messages.values()] == ["+61491570156"]
    assert any("hello from a phone" in post.text for post in fake_slack.posts("C0FAKE001"))


def inbound(message_id, body, received_at):
    return InboundRecord(
        message_id=message_id, from_number="+61491570156", to_number="", body=body, received_at=received_at
    )


async def test_inbound_from_other_process_relayed(start_bot):
    harness = await start_bot()
    now = datetime.now(timezone.utc)

    async with Store.open(harness.settings.cache_path) as other_process:
        await other_process.add_inbound([inbound("IN-OLD", "from last week's history sync", now - timedelta(days=7))])
        await other_process.add_inbound([inbound("IN-NEW", "stored by smsdesk serve", now)])
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()

    [post] = harness.slack.posts("C0FAKE001")
    assert "stored by smsdesk serve" in post.text


async def test_run_in_socket_mode_handles_commands(fake_slack, sandbox, tmp_path):
    settings = make_settings(fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path, app_token=APP_TOKEN)
    plan = RunPlan.from_settings(settings, None)
    stub = SocketModeStub(fake_slack)
    stop = asyncio.Event()
    ready: list[str] = []
    task = asyncio.create_task(run(settings, plan, stop=stop, on_ready=ready.append))
    try:
        await wait_for(lambda: ready or task.done())
        await wait_for(lambda: stub.open_connections())
        await stub.send(stub.slash_command_envelope("env-run", "help"))
        await wait_for(lambda: any(a.get("envelope_id") == "env-run" for a in stub.acks))
    finally:
        stop.set()
        await task

    assert plan.socket_mode is True
    [ack] = [a for a in stub.acks if a.get("envelope_id") == "env-run"]
    assert "/sms send NUMBER" in ack["payload"]["text"]


async def test_run_polls_clicksend_for_inbound(fake_slack, sandbox, tmp_path, http_session):
    settings = make_settings(fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path, poll_interval=0.2)
    plan = RunPlan(socket_mode=False, host="127.0.0.1", port=0)
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, plan, stop=stop))
    try:
        injected = {"from": "+61491570156", "body": "polled, not pushed"}
        async with http_session.post(f"{sandbox.root_url}/_sandbox/inbound", json=injected) as response:
            assert response.status == 200
        await wait_for(lambda: fake_slack.posts("C0FAKE001") or task.done())
    finally:
        stop.set()
        await task

    [post] = fake_slack.posts("C0FAKE001")
    assert "polled, not pushed" in post.text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bot_token": "xoxb-revoked"}, "Slack rejected SLACK_BOT_TOKEN (invalid_auth)"),
        ({"app_token": "xapp-wrong"}, "Slack rejected SLACK_APP_TOKEN (invalid_auth)"),
    ],
)
async def test_run_rejects_wrong_tokens_at_start(fake_slack, sandbox, tmp_path, options, message):
    settings = make_settings(fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path, **{"app_token": APP_TOKEN, **options})
    plan = RunPlan.from_settings(settings, None)

    with pytest.raises(SlackConfigError) as info:
        await run(settings, plan, stop=asyncio.Event())

    assert message in str(info.value)
    assert "xoxb-revoked" not in str(info.value)
    assert "xapp-wrong" not in str(info.value)


async def test_receipt_from_other_process_updates_post(start_bot):
    harness = await start_bot()
    await harness.requester.command("+61491570156 hi")
    await wait_for(lambda: harness.slack.posts("C0FAKE001"))
    await harness.bot.idle()
    [post] = harness.slack.posts("C0FAKE001")
    [message] = await harness.store.messages(direction="out")

    async with Store.open(harness.settings.cache_path) as other_process:
        await other_process.add_receipts([
            ReceiptRecord(message_id=message.message_id, status_code="201", status="delivered", status_text="Delivered")
        ])
    await wait_for(lambda: harness.slack.messages[("C0FAKE001", post.ts)].updates == 1)
    await harness.bot.idle()

    assert "delivered" in str(harness.slack.messages[("C0FAKE001", post.ts)].blocks)
    assert len(harness.slack.calls_to("chat.update")) == 1


async def test_catch_up_pages_past_one_batch(start_bot, monkeypatch):
    from slackbot import relay

    monkeypatch.setattr(relay, "CATCH_UP_BATCH", 3)
    harness = await start_bot()
    now = datetime.now(timezone.utc)

    async with Store.open(harness.settings.cache_path) as other_process:
        await other_process.add_inbound([inbound(f"IN-OLD-{n}", "old", now - timedelta(days=7)) for n in range(4)])
        await other_process.add_inbound(
            [inbound(f"IN-{n}", f"new {n}", now - timedelta(seconds=10 - n)) for n in range(8)]
        )
    await wait_for(lambda: len(harness.slack.posts("C0FAKE001")) == 8)
    await harness.bot.idle()

    assert [post.text.split(": ", 1)[1] for post in harness.slack.posts("C0FAKE001")] == [f"new {n}" for n in range(8)]


def test_startup_objects_frozen_only_while_serving():
    with server.startup_objects_frozen():
        frozen = gc.get_freeze_count()

    assert frozen > 0
    assert gc.get_freeze_count() == 0
