"""Secrets never reach a log, stdout, stderr or an error message.

Every CLI command runs with known fake credentials (in process through
``core.cli.main``, and as the installed console script for the long-running
``serve`` and ``slack`` commands), with logging at DEBUG captured from every
logger. The Slack bot then handles a signed command and relays an inbound SMS,
and the terminal inbox runs headless with the right and with a wrong API key.
Everything written is searched for each secret, for the HTTP Basic credentials
derived from the API key, and for the secrets' URL-encoded forms: zero hits.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import signal
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from core.cli import main
from core.config import STANDARD_ENV_NAMES, load_settings
from sandbox import Account, SandboxServer
from tests.reliability.helpers import wait_until
from tests.slackbot.fake_slack import FakeSlack, sign

USERNAME = "demo-user"
API_KEY = "SECRET-KEY-3c9f1e"
WRONG_API_KEY = "SECRET-WRONG-KEY-a81f"
BOT_TOKEN = "xoxb-SECRET-7d2a"
APP_TOKEN = "xapp-SECRET-6e0b"
SIGNING_SECRET = "SIGNING-SECRET-9b4e"
WEBHOOK_TOKEN = "WEBHOOK-TOKEN-SECRET-51aa"
INVALID_WEBHOOK_TOKEN = "SECRET bad/webhook token"
SECRETS = (API_KEY, WRONG_API_KEY, BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, WEBHOOK_TOKEN, INVALID_WEBHOOK_TOKEN)
THEM = "+61491570156"
CONSOLE_SCRIPT = Path(sys.executable).parent / "smsdesk"
PROCESS_TIMEOUT = 60.0


def forbidden_strings() -> list[str]:
    """Each secret, its URL-encoded form, and the Basic credentials built from the API keys."""
    found = []
    for secret in SECRETS:
        found += [secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)]
    for key in (API_KEY, WRONG_API_KEY):
        found.append(base64.b64encode(f"{USERNAME}:{key}".encode()).decode())
    return sorted(set(found))


def leaks(text: str) -> list[str]:
    return [secret for secret in forbidden_strings() if secret in text]


class CapturedLogs(logging.Handler):
    """Formats every record from every logger, tracebacks included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def debug_logs() -> Iterator[CapturedLogs]:
    root = logging.getLogger()
    handler = CapturedLogs()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
async def secret_sandbox() -> AsyncIterator[SandboxServer]:
    account = Account(username=USERNAME, api_key=API_KEY, balance=Decimal("1000"))
    server = SandboxServer(accounts={USERNAME: account})
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def secret_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(token=BOT_TOKEN) as slack:
        yield slack


@pytest.fixture
def secret_environment(monkeypatch, tmp_path: Path, secret_sandbox: SandboxServer, secret_slack: FakeSlack) -> dict[str, str]:
    """The fake credentials in the standard environment variables, and nothing else of the user's."""
    values = {
        "CLICKSEND_USERNAME": USERNAME,
        "CLICKSEND_API_KEY": API_KEY,
        "CLICKSEND_BASE_URL": secret_sandbox.base_url,
        "SMSDESK_CACHE": str(tmp_path / "cache.sqlite3"),
        "SMSDESK_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": secret_slack.api_url,
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
    }
    for name in os.environ:
        if name in STANDARD_ENV_NAMES or name.startswith("SMSDESK_"):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """Run ``smsdesk ARGV`` in this process (in a worker thread, off the test's event loop)."""
    try:
        code = main(["-vv", *argv])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def cli(argv: list[str], capsys) -> tuple[int, str]:
    return await asyncio.to_thread(run_cli, argv, capsys)


async def test_cli_commands_leak_no_secret(secret_environment, secret_sandbox, debug_logs, capsys, tmp_path: Path, monkeypatch) -> None:
    later = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    outputs: dict[str, tuple[int, str]] = {}

    async def step(name: str, argv: list[str]) -> None:
        outputs[name] = await cli(argv, capsys)

    await step("config path", ["config", "path"])
    await step("config check", ["config", "check"])
    await step("send", ["send", "--to", THEM, "--body", "Secrets test: sent now"])
    await step("price", ["price", "--to", THEM, "--to", "+447700900123", "--body", "Secrets test: price"])
    await step("send scheduled", ["send", "--to", "+61491570157", "--body", "Secrets test: later", "--schedule", later])
    scheduled = [m.message_id for m in secret_sandbox.state.messages.values() if m.schedule]
    await step("cancel one", ["cancel", *scheduled[:1]])
    await step("cancel all", ["cancel", "--all"])
    await step("templates add", ["templates", "add", "greeting", "--body", "Hello {name}"])
    await step("templates list", ["templates", "list"])
    await step("templates show", ["templates", "show", "greeting"])
    await step("templates edit", ["templates", "edit", "greeting", "--body", "Hi {name}"])
    await step("send template", ["send", "--to", "+61491570158", "--template", "greeting", "--var", "name=Sam"])
    await step("templates rm", ["templates", "rm", "greeting"])
    await step("history", ["history"])
    await step("history export", ["history", "--export", str(tmp_path / "export.csv")])
    await step("receipts", ["receipts"])
    await step("inbound", ["inbound"])
    await step("sync", ["sync"])
    await step("send json", ["--json", "send", "--to", "+61491570159", "--body", "Secrets test: JSON output"])
    await step("price json", ["--json", "price", "--to", THEM, "--body", "Secrets test: JSON price"])
    await step("history json", ["--json", "history"])
    await step("templates json", ["--json", "templates", "list"])
    await step("receipts json", ["--json", "receipts"])
    await step("invalid number", ["send", "--to", "12", "--body", "hi"])
    await step("help", ["--help"])
    await step("sandbox help", ["sandbox", "--help"])

    monkeypatch.setenv("CLICKSEND_API_KEY", WRONG_API_KEY)
    await step("wrong key", ["history"])
    monkeypatch.setenv("CLICKSEND_API_KEY", API_KEY)
    monkeypatch.setenv("SMSDESK_WEBHOOK_TOKEN", INVALID_WEBHOOK_TOKEN)
    await step("invalid webhook token", ["config", "check"])
    monkeypatch.setenv("SMSDESK_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    await step("config check with app token", ["config", "check"])

    # The commands really ran against the sandbox with the fake key.
    assert outputs["send"][0] == 0, outputs["send"][1]
    assert outputs["history"][0] == 0, outputs["history"][1]
    assert outputs["send json"][0] == 0, outputs["send json"][1]
    assert outputs["send json"][1].lstrip().startswith(("{", "["))
    assert outputs["wrong key"][0] != 0
    assert len(secret_sandbox.state.messages) >= 3
    assert debug_logs.lines != []

    leaked = {name: leaks(text) for name, (_, text) in outputs.items() if leaks(text)}
    assert leaked == {}, f"secrets in command output: {leaked}"
    assert leaks(debug_logs.text()) == [], "secrets in log records"
    assert leaks((tmp_path / "export.csv").read_text()) == []


def test_settings_and_client_reprs_hide_secrets(secret_environment) -> None:
    from core.client import ClickSendClient

    settings = load_settings()
    client = ClickSendClient(username=USERNAME, api_key=API_KEY, base_url=secret_environment["CLICKSEND_BASE_URL"])
    texts = [repr(settings), str(settings), repr(settings.slack), repr(settings.webhook), repr(client), str(settings.model_dump())]

    assert settings.clicksend_api_key.get_secret_value() == API_KEY
    for text in texts:
        assert leaks(text) == []


# --- the console script: serve and slack, as a user runs them -------------------------------------------------


async def start_script(argv: list[str], environment: dict[str, str], log_path: Path) -> asyncio.subprocess.Process:
    env = {name: value for name, value in os.environ.items() if name not in STANDARD_ENV_NAMES and not name.startswith("SMSDESK_")}
    env.update(environment)
    log = log_path.open("wb")
    try:
        return await asyncio.create_subprocess_exec(str(CONSOLE_SCRIPT), "-vv", *argv, stdout=log, stderr=log, env=env)
    finally:
        log.close()


async def wait_for_url(process: asyncio.subprocess.Process, log_path: Path, pattern: str) -> str:
    found: list[str] = []

    def ready() -> bool:
        match = re.search(pattern, log_path.read_text(errors="replace"))
        if match:
            found.append(match.group(1))
        return bool(match) or process.returncode is not None

    await wait_until(ready, timeout=PROCESS_TIMEOUT, interval=0.05, what=f"{pattern!r} in the log")
    assert found, f"the process exited {process.returncode}:\n{log_path.read_text(errors='replace')}"
    return found[0]


async def interrupt(process: asyncio.subprocess.Process) -> int:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), timeout=PROCESS_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="smsdesk is not installed next to this Python")
async def test_serve_and_slack_scripts_leak_no_secret(secret_environment, secret_sandbox, secret_slack, tmp_path: Path) -> None:
    serve_log = tmp_path / "serve.log"
    slack_log = tmp_path / "slack.log"
    serve = await start_script(["serve", "--port", "0"], secret_environment, serve_log)
    slack_bot = await start_script(["slack", "--port", "0"], secret_environment, slack_log)
    try:
        serve_url = await wait_for_url(serve, serve_log, r"serving ClickSend webhooks on (http://127\.0\.0\.1:\d+)")
        slack_url = await wait_for_url(slack_bot, slack_log, r"Slack bot listening on (http://127\.0\.0\.1:\d+/slack/events)")
        async with aiohttp.ClientSession() as session:
            inbound = {"message_id": "IN-SECRET-1", "from": THEM, "to": "+61481070001", "body": "Reply to the webhook"}
            async with session.post(f"{serve_url}/clicksend/inbound/{WEBHOOK_TOKEN}", data=inbound) as response:
                assert response.status == 200
            async with session.post(f"{serve_url}/clicksend/inbound/not-the-token", data=inbound) as response:
                assert response.status == 404

            bot_root = slack_url.removesuffix("/slack/events")
            relayed = {"message_id": "IN-SECRET-2", "from": THEM, "to": "+61481070001", "body": "Relay me to Slack"}
            async with session.post(f"{bot_root}/clicksend/inbound/{WEBHOOK_TOKEN}", data=relayed) as response:
                assert response.status == 200

            body = urllib.parse.urlencode(
                {"command": "/sms", "text": f"{THEM} Sent from Slack", "user_id": "U0ALICE", "channel_id": "C0FAKE001",
                 "team_id": "T0FAKE", "response_url": secret_slack.response_url("secrets"), "trigger_id": "trigger.1"}
            ).encode()
            stamp = str(int(time.time()))
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
                       "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body)}
            async with session.post(slack_url, data=body, headers=headers) as response:
                assert response.status == 200
            forged = dict(headers, **{"X-Slack-Signature": sign("wrong", stamp, body)})
            async with session.post(slack_url, data=body, headers=forged) as response:
                assert response.status == 401

        await wait_until(lambda: any(m.body == "Sent from Slack" for m in secret_sandbox.state.messages.values()), what="the Slack send")
        await wait_until(lambda: secret_slack.posts("C0FAKE001"), what="the relayed inbound SMS")
    finally:
        await interrupt(serve)
        await interrupt(slack_bot)

    serve_text = serve_log.read_text(errors="replace")
    slack_text = slack_log.read_text(errors="replace")
    assert "DEBUG" in serve_text
    assert "DEBUG" in slack_text
    assert leaks(serve_text) == [], "secrets in the output of smsdesk serve"
    assert leaks(slack_text) == [], "secrets in the output of smsdesk slack"


# --- the terminal inbox --------------------------------------------------------------------------------


async def run_inbox(settings, ready) -> str:
    """Run the inbox headless until ``ready()`` holds; return the screen as SVG text."""
    from tui.app import SmsDeskApp
    from tui.backend import open_backend

    app = SmsDeskApp(settings, backend=lambda: open_backend(settings), sync_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: ready(app), timeout=30, what="the inbox state")
        await pilot.pause()
        return app.export_screenshot()


async def test_inbox_screen_and_logs_leak_no_secret(secret_environment, secret_sandbox, debug_logs, tmp_path: Path) -> None:
    from core.client import ClickSendClient
    from tui.widgets.conversation_list import ConversationList

    async with ClickSendClient(username=USERNAME, api_key=API_KEY, base_url=secret_sandbox.base_url) as client:
        await client.send_sms(to=THEM, body="Shown in the inbox")
    settings = load_settings()

    def listed(app) -> bool:
        lists = app.screen.query(ConversationList)
        return bool(lists) and lists.first().option_count >= 1

    screen = await run_inbox(settings, listed)

    wrong = load_settings(clicksend_api_key=WRONG_API_KEY, cache_path=tmp_path / "wrong.sqlite3")
    rejected_before = debug_logs.text().count(" 401 ")
    wrong_screen = await run_inbox(wrong, lambda app: debug_logs.text().count(" 401 ") > rejected_before)

    assert "Shown" in screen
    assert leaks(screen) == []
    assert leaks(wrong_screen) == []
    assert leaks(debug_logs.text()) == []
