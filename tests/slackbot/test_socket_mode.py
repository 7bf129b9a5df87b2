"""Socket Mode: start-up checks, reconnection after `disconnect`, and the watchdog."""

import argparse

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from slackbot.app import build_web_client, main
from slackbot.server import SocketModeRunner
from tests.slackbot.conftest import make_settings
from tests.slackbot.fake_slack import APP_TOKEN, SocketModeStub, wait_for


def test_socket_mode_without_app_token_fails_fast(fake_slack, sandbox, tmp_path, capsys):
    settings = make_settings(fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path)

    code = main(settings, argparse.Namespace(socket_mode=True, port=None, host=None))

    assert code == 2
    error = capsys.readouterr().err
    assert "SLACK_APP_TOKEN is not set" in error
    assert not settings.cache_path.exists()


def test_http_mode_without_signing_secret_fails_fast(fake_slack, sandbox, tmp_path, capsys):
    settings = make_settings(fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path, signing_secret=None)

    code = main(settings, argparse.Namespace(socket_mode=None, port=None, host=None))

    assert code == 2
    assert "SLACK_SIGNING_SECRET is not set" in capsys.readouterr().err


def test_web_client_retry_handlers_all_async(fake_slack, sandbox, tmp_path):
    settings = make_settings(fake_slack=fake_slack, sandbox=sandbox, tmp_path=tmp_path)

    client = build_web_client(settings)

    assert client.retry_handlers
    for handler in client.retry_handlers:
        assert isinstance(handler, AsyncRetryHandler)
    assert any(isinstance(handler, AsyncRateLimitErrorRetryHandler) for handler in client.retry_handlers)
    assert client.base_url == fake_slack.api_url


async def command_acked(stub, envelope_id):
    await wait_for(lambda: [a for a in stub.acks if a.get("envelope_id") == envelope_id], timeout=15)
    [ack] = [a for a in stub.acks if a.get("envelope_id") == envelope_id]
    return ack


async def test_reconnects_after_disconnect_and_failed_reconnect(start_bot, fake_slack, caplog):
    harness = await start_bot()
    stub = SocketModeStub(fake_slack)
    runner = SocketModeRunner(
        bolt_app=harness.bot.app, app_token=APP_TOKEN, web_client=harness.bot.client, ping_interval=0.2,
        interval=0.2, max_down=2.0,
    )
    await runner.start()
    try:
        await wait_for(lambda: stub.open_connections())
        fake_slack.fail("apps.connections.open", "internal_error")

        await stub.send({"type": "disconnect", "reason": "refresh_requested"})
        await stub.close_all()
        await wait_for(lambda: len(stub.connections) >= 2 and stub.open_connections(), timeout=15)
        await stub.send(stub.slash_command_envelope("env-1", "help"))
        ack = await command_acked(stub, "env-1")
    finally:
        await runner.close()

    assert "/sms send NUMBER" in ack["payload"]["text"]
    assert len(fake_slack.calls_to("apps.connections.open", ok=False)) == 1
    assert "Task exception was never retrieved" not in caplog.text


async def test_watchdog_replaces_client_that_stays_down(start_bot, fake_slack, caplog):
    harness = await start_bot()
    stub = SocketModeStub(fake_slack)
    runner = SocketModeRunner(
        bolt_app=harness.bot.app, app_token=APP_TOKEN, web_client=harness.bot.client, ping_interval=0.2,
        interval=0.1, max_down=0.5,
    )
    await runner.start()
    try:
        await wait_for(lambda: stub.open_connections())
        # A client that has stopped reconnecting by itself, as after the aiohttp client bug.
        broken = runner.handler.client
        broken.auto_reconnect_enabled = broken.default_auto_reconnect_enabled = False

        await stub.close_all()
        await wait_for(lambda: runner.replacements == 1, timeout=15)
        await wait_for(lambda: stub.open_connections(), timeout=15)
        await stub.send(stub.slash_command_envelope("env-2", "help"))
        ack = await command_acked(stub, "env-2")
    finally:
        await runner.close()

    assert "/sms send NUMBER" in ack["payload"]["text"]
    assert "replacing the client" in caplog.text
    assert "Task exception was never retrieved" not in caplog.text


def test_cli_socket_mode_without_app_token(monkeypatch, sandbox, tmp_path, capsys):
    from core.cli import main as smsdesk

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-bot-token")
    monkeypatch.setenv("CLICKSEND_USERNAME", "demo-user")
    monkeypatch.setenv("CLICKSEND_API_KEY", "demo-key")
    monkeypatch.setenv("CLICKSEND_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("SMSDESK_CACHE", str(tmp_path / "cache.sqlite3"))

    code = smsdesk(["slack", "--socket-mode"])

    assert code == 2
    error = capsys.readouterr().err
    assert "SLACK_APP_TOKEN is not set" in error
    assert "xoxb-test-bot-token" not in error


async def test_malformed_envelope_acked_and_dropped(start_bot, fake_slack, caplog):
    harness = await start_bot()
    stub = SocketModeStub(fake_slack)
    runner = SocketModeRunner(bolt_app=harness.bot.app, app_token=APP_TOKEN, web_client=harness.bot.client)
    await runner.start()
    try:
        await wait_for(lambda: stub.open_connections())
        await stub.send({"envelope_id": "env-bad", "type": "interactive", "accepts_response_payload": True,
                         "payload": {"type": "block_actions", "user": {"id": "U0ALICE"}, "actions": []}})
        ack = await command_acked(stub, "env-bad")
        await stub.send(stub.slash_command_envelope("env-good", "help"))
        good = await command_acked(stub, "env-good")
    finally:
        await runner.close()

    assert "payload" not in ack
    assert "without actions" in caplog.text
    assert "/sms send NUMBER" in good["payload"]["text"]
