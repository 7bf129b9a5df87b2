"""The `smsdesk` commands against the sandbox over HTTP on 127.0.0.1."""

import asyncio
import csv
import json
import os

import pytest

from core.cli import main
from core.config import STANDARD_ENV_NAMES
from core.models import SmsMessage

API_KEY = "demo-key"


@pytest.fixture
def cli_env(monkeypatch, tmp_path, sandbox):
    """Point the command at the sandbox, with a cache and config dir in tmp_path."""
    for name in list(os.environ):
        if name in STANDARD_ENV_NAMES or name.startswith("SMSDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("CLICKSEND_USERNAME", "demo-user")
    monkeypatch.setenv("CLICKSEND_API_KEY", API_KEY)
    monkeypatch.setenv("CLICKSEND_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("SMSDESK_CACHE", str(tmp_path / "cache.sqlite3"))
    monkeypatch.setenv("TZ", "UTC")
    return sandbox


@pytest.fixture
def smsdesk(capsys):
    """Run `smsdesk ARGS` in a thread, so the sandbox keeps serving on the test's loop."""

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, list(argv))
        captured = capsys.readouterr()
        assert API_KEY not in captured.out + captured.err
        return code, captured.out, captured.err

    return run


async def send_directly(clicksend, *numbers, body="Hello from the test"):
    messages = [SmsMessage(to=number, body=body, custom_string=f"ref-{index}") for index, number in enumerate(numbers)]
    return await clicksend.send(messages)


# --- history ---------------------------------------------------------------------------


async def test_history_table(cli_env, clicksend, smsdesk):
    await send_directly(clicksend, "+61491570156", "+61491570157")
    code, out, err = await smsdesk("history")
    assert code == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["date", "direction", "from", "to", "status", "parts", "price", "message", "id", "body"]
    assert len(lines) == 4
    assert "+61491570156" in out
    assert "+61491570157" in out
    assert "Hello from the test" in out


async def test_history_json(cli_env, clicksend, smsdesk):
    response = await send_directly(clicksend, "+61491570156")
    code, out, _ = await smsdesk("history", "--json")
    rows = json.loads(out)
    assert code == 0
    assert len(rows) == 1
    assert rows[0]["to"] == "+61491570156"
    assert rows[0]["message_id"] == response.messages[0].message_id
    assert rows[0]["custom_string"] == "ref-0"
    assert isinstance(rows[0]["message_price"], str)


async def test_history_query_normalizes_number(cli_env, clicksend, smsdesk):
    await send_directly(clicksend, "+61491570156", "+61491570157")
    code, out, _ = await smsdesk("history", "--json", "--query", "to:0491 570 157")
    rows = json.loads(out)
    assert code == 0
    assert [row["to"] for row in rows] == ["+61491570157"]


async def test_history_since_in_future_is_empty(cli_env, clicksend, smsdesk):
    await send_directly(clicksend, "+61491570156")
    code, out, _ = await smsdesk("history", "--json", "--since", "2099-01-01T00:00Z")
    assert code == 0
    assert json.loads(out) == []


async def test_history_limit(cli_env, clicksend, smsdesk):
    await send_directly(clicksend, "+61491570156", "+61491570157", "+61491570158")
    code, out, _ = await smsdesk("history", "--json", "--limit", "2")
    assert code == 0
    assert len(json.loads(out)) == 2


async def test_history_export_csv(cli_env, clicksend, smsdesk, tmp_path):
    await send_directly(clicksend, "+61491570156", "+61491570157", body="Line one, with a comma")
    target = tmp_path / "history.csv"
    code, out, err = await smsdesk("history", "--export", str(target))
    assert code == 0
    assert out == ""
    assert "wrote 2 messages" in err
    with target.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["to"] for row in rows] == ["+61491570156", "+61491570157"]
    assert rows[0]["body"] == "Line one, with a comma"
    assert rows[0]["custom_string"] == "ref-0"


async def test_history_export_json_summary(cli_env, clicksend, smsdesk, tmp_path):
    await send_directly(clicksend, "+61491570156")
    target = tmp_path / "h.csv"
    code, out, _ = await smsdesk("history", "--json", "--export", str(target))
    assert code == 0
    assert json.loads(out) == {"exported": 1, "file": str(target)}


async def test_history_export_unwritable(cli_env, smsdesk, tmp_path):
    code, _, err = await smsdesk("history", "--export", str(tmp_path / "no-such-dir" / "h.csv"))
    assert code == 2
    assert "no-such-dir" in err
    assert "writable path" in err


# --- receipts and inbound ------------------------------------------------------------------


async def test_receipts_after_delivery(cli_env, clicksend, smsdesk):
    response = await send_directly(clicksend, "+61491570156")
    await cli_env.advance(60)
    code, out, _ = await smsdesk("receipts", "--json")
    receipts = json.loads(out)
    assert code == 0
    assert [receipt["message_id"] for receipt in receipts] == [response.messages[0].message_id]

    code, out, _ = await smsdesk("receipts")
    assert code == 0
    assert response.messages[0].message_id in out
    assert out.splitlines()[0].split()[:3] == ["time", "message", "id"]


async def test_receipts_empty(cli_env, smsdesk):
    code, out, _ = await smsdesk("receipts", "--json")
    assert code == 0
    assert json.loads(out) == []


async def test_inbound_lists_replies(cli_env, smsdesk):
    cli_env.state.add_inbound("demo-user", from_="61491570156", body="Yes please, see you at 10")
    code, out, _ = await smsdesk("inbound", "--json")
    messages = json.loads(out)
    assert code == 0
    assert len(messages) == 1
    assert messages[0]["body"] == "Yes please, see you at 10"

    code, out, _ = await smsdesk("inbound")
    assert code == 0
    assert "Yes please, see you at 10" in out
    assert "61491570156" in out


# --- failures --------------------------------------------------------------------------------


async def test_wrong_api_key_exits_1(cli_env, monkeypatch, smsdesk):
    monkeypatch.setenv("CLICKSEND_API_KEY", "wrong-key-value")
    code, out, err = await smsdesk("receipts")
    assert code == 1
    assert out == ""
    assert "401" in err
    assert "API username and API key" in err
    assert "wrong-key-value" not in err
    assert "Traceback" not in err


async def test_unreachable_server_exits_1(cli_env, smsdesk):
    code, _, err = await smsdesk("receipts", "--base-url", "http://127.0.0.1:9/v3")
    assert code == 1
    assert "127.0.0.1:9" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
