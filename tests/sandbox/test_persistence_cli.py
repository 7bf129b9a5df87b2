"""State in an SQLite file across restarts, demo data, and the command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox import SandboxClock, SandboxServer
from sandbox.cli import add_arguments, build_server
from tests.sandbox.helpers import call, send

AU = "+61491570156"
START = 1_767_225_600


async def test_state_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    async with SandboxServer(state_path=path, clock=SandboxClock(start=START, frozen=True)) as first:
        body = await send(first, [
            {"to": AU, "body": "now", "custom_string": "keep-1"},
            {"to": "+61491570157", "body": "later", "schedule": START + 3600},
        ])
        await call("POST", f"{first.base_url}/sms/templates", json={"template_name": "T", "body": "B"})
        await first.advance(5)
        ids = [m["message_id"] for m in body["data"]["messages"]]

    async with SandboxServer(state_path=path, clock=SandboxClock(start=START + 5, frozen=True)) as second:
        _, history, _ = await call("GET", f"{second.base_url}/sms/history")
        assert [r["message_id"] for r in history["data"]["data"]] == ids
        assert [r["status"] for r in history["data"]["data"]] == ["Sent", "Scheduled"]
        _, receipts, _ = await call("GET", f"{second.base_url}/sms/receipts")
        assert receipts["data"]["data"][0]["custom_string"] == "keep-1"
        _, templates, _ = await call("GET", f"{second.base_url}/sms/templates")
        assert templates["data"]["total"] == 1
        assert second.state.accounts["demo-user"].balance == Decimal("100") - 2 * Decimal("0.0792")
        # The scheduled message still goes out after the restart.
        status, _, _ = await call("PUT", f"{second.base_url}/sms/{ids[1]}/cancel")
        assert status == 200


async def test_demo_data_is_deterministic(make_sandbox) -> None:
    first = await make_sandbox(demo_data=True, clock=SandboxClock(start=START, frozen=True))
    second = await make_sandbox(demo_data=True, clock=SandboxClock(start=START, frozen=True))
    assert first.state.to_dict()["messages"] == second.state.to_dict()["messages"]
    assert first.state.to_dict()["inbound"] == second.state.to_dict()["inbound"]


async def test_demo_data_content(make_sandbox) -> None:
    sandbox = await make_sandbox(demo_data=True, clock=SandboxClock(start=START, frozen=True))
    _, history, _ = await call("GET", f"{sandbox.base_url}/sms/history?limit=100")
    statuses = {row["status"] for row in history["data"]["data"]}
    assert {"Sent", "Failed", "Scheduled"} <= statuses
    numbers = {row["to"] for row in history["data"]["data"]}
    assert {"+61491570156", "+447700900123", "+12025550143"} <= numbers
    _, inbound, _ = await call("GET", f"{sandbox.base_url}/sms/inbound")
    assert inbound["data"]["total"] > 0
    _, templates, _ = await call("GET", f"{sandbox.base_url}/sms/templates")
    assert templates["data"]["total"] == 3
    # Every reply points at a real outbound message.
    for message in sandbox.state.inbound:
        assert message.original_message_id in sandbox.state.messages


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_defaults() -> None:
    args = parse([])
    assert (args.host, args.port, args.username, args.api_key) == ("127.0.0.1", 8765, "demo-user", "demo-key")
    assert args.demo_data is False
    assert args.state is None


def test_cli_rejects_remote_push_url(capsys) -> None:
    with pytest.raises(SystemExit):
        parse(["--receipt-url", "https://example.com/receipts"])
    assert "loopback" in capsys.readouterr().err


def test_cli_custom_account() -> None:
    server = build_server(parse(["--username", "alice", "--api-key", "k-123", "--port", "0"]))
    assert server.state.authenticate("alice", "k-123") is not None
    assert server.state.authenticate("demo-user", "demo-key") is None


def test_cli_clock_start_iso() -> None:
    args = parse(["--clock-start", "2026-01-01T00:00:00+00:00", "--frozen-clock"])
    assert args.clock_start == START
    server = build_server(args)
    assert server.clock.now() == START


async def test_python_m_sandbox_runs_until_interrupted(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox", "--port", "0", "--demo-data", "--state", str(tmp_path / "s.sqlite3"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        async with asyncio.timeout(30):
            line = (await process.stdout.readline()).decode()
        assert line.startswith("ClickSend sandbox running at http://127.0.0.1:")
        base_url = line.split(" at ", 1)[1].strip()
        assert base_url.endswith("/v3")
        status, body, _ = await call("GET", f"{base_url}/sms/templates")
        assert status == 200
        assert body["data"]["total"] == 3
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            await process.communicate()
    assert process.returncode == 0
    assert (tmp_path / "s.sqlite3").exists()


async def test_cli_push_options_reach_state() -> None:
    args = parse(["--port", "0", "--receipt-url", "http://127.0.0.1:9/receipts",
                  "--inbound-url", "http://localhost:9/inbound", "--inbound-format", "json"])
    server = build_server(args)
    await server.start()
    try:
        assert server.state.receipt_url == "http://127.0.0.1:9/receipts"
        assert server.state.inbound_url == "http://localhost:9/inbound"
        assert server.state.inbound_webhook_type == "json"
    finally:
        await server.stop()


def test_cli_rejects_naive_clock_start(capsys) -> None:
    with pytest.raises(SystemExit):
        parse(["--clock-start", "2026-01-01T09:00:00"])
    assert "UTC offset" in capsys.readouterr().err


async def test_cli_port_in_use_exits_1(sandbox: SandboxServer, capsys) -> None:
    from sandbox.cli import run

    code = await run(parse(["--port", str(sandbox.port)]))
    assert code == 1
    assert "--port" in capsys.readouterr().err


async def test_state_saved_in_background(make_sandbox, tmp_path: Path) -> None:
    from sandbox.persistence import load_state

    path = tmp_path / "sandbox.sqlite3"
    sandbox = await make_sandbox(state_path=path)
    body = await send(sandbox, [{"to": AU, "body": "saved while running"}])
    message_id = body["data"]["messages"][0]["message_id"]

    def saved_ids() -> list[str]:
        data = load_state(path) if path.exists() else None
        return [m["message_id"] for m in data["messages"]] if data else []

    async with asyncio.timeout(10):
        while message_id not in saved_ids():
            await asyncio.sleep(0.05)


def test_cli_balance() -> None:
    server = build_server(parse(["--balance", "250.50"]))
    assert server.state.accounts["demo-user"].balance == Decimal("250.50")


@pytest.mark.parametrize("value", ["lots", "-5", "NaN"])
def test_cli_rejects_bad_balance(value: str, capsys) -> None:
    with pytest.raises(SystemExit):
        parse(["--balance", value])
    assert "invalid amount" in capsys.readouterr().err


async def test_cli_rate_limit_survives_reset() -> None:
    server = build_server(parse(["--port", "0", "--rate-limit", "1"]))
    await server.start()
    try:
        status, _, _ = await call("GET", f"{server.base_url}/sms/templates")
        assert status == 200
        status, _, _ = await call("GET", f"{server.base_url}/sms/templates")
        assert status == 429
        server.state.reset()
        assert server.state.faults["rate_limit"] == 1
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("argv", "expected", "hidden"),
    [([], "CLICKSEND_API_KEY=demo-key", None),
     (["--username", "alice", "--api-key", "k-secret-77"], "CLICKSEND_API_KEY=<your --api-key>", "k-secret-77")],
)
async def test_cli_prints_usable_settings(argv: list[str], expected: str, hidden: str | None) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox", "--port", "0", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            lines = [(await process.stdout.readline()).decode() for _ in range(4)]
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            rest, errors = await process.communicate()
    output = "".join(lines) + rest.decode() + errors.decode()
    assert expected in output
    assert "CLICKSEND_BASE_URL=http://127.0.0.1:" in output
    if hidden is not None:
        assert hidden not in output
