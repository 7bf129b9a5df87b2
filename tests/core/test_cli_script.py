"""The installed `smsdesk` console script, run as a separate process."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import STANDARD_ENV_NAMES
from core.models import SmsMessage

SCRIPT = Path(sys.executable).parent / "smsdesk"
PROCESS_TIMEOUT = 60

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="smsdesk is not installed next to this Python")


def script_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in STANDARD_ENV_NAMES and not name.startswith("SMSDESK_")
    }
    environment["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    environment["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    environment.update(extra)
    return environment


def test_script_help(tmp_path):
    completed = subprocess.run(
        [str(SCRIPT), "--help"], capture_output=True, text=True, timeout=PROCESS_TIMEOUT, env=script_environment(tmp_path)
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith("usage: smsdesk")
    assert "templates" in completed.stdout


def test_script_error_exit_code(tmp_path):
    completed = subprocess.run(
        [str(SCRIPT), "send", "--to", "12345", "--body", "hi"],
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        env=script_environment(tmp_path),
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.startswith("smsdesk: error: invalid phone number '12345'")
    assert "Traceback" not in completed.stderr


async def test_script_wrong_key_reported_once(sandbox, tmp_path):
    environment = script_environment(
        tmp_path,
        CLICKSEND_USERNAME="demo-user",
        CLICKSEND_API_KEY="wrong-key-value",
        CLICKSEND_BASE_URL=sandbox.base_url,
        SMSDESK_CACHE=str(tmp_path / "cache.sqlite3"),
    )
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT), "send", "--to", "+61491570156", "--body", "Hi",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    out, err = stdout.decode(), stderr.decode()
    assert process.returncode == 1
    assert err.count("401") == 1
    assert err.startswith("smsdesk: error: nothing was sent to +61491570156: ")
    assert "API username and API key" in err
    assert "401" not in out
    assert "request failed, see below" in out
    assert "wrong-key-value" not in out + err


async def test_script_history_against_sandbox(sandbox, clicksend, tmp_path):
    sent = await clicksend.send([SmsMessage(to="+61491570156", body="From the console script test")])
    environment = script_environment(
        tmp_path, CLICKSEND_USERNAME="demo-user", CLICKSEND_API_KEY="demo-key", CLICKSEND_BASE_URL=sandbox.base_url
    )
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT), "history", "--json", stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    rows = json.loads(stdout)
    assert process.returncode == 0, stderr.decode()
    assert [row["message_id"] for row in rows] == [sent.messages[0].message_id]
    assert rows[0]["body"] == "From the console script test"


def test_script_against_smsdesk_sandbox(tmp_path):
    """`smsdesk sandbox` in one process, `smsdesk send` and `smsdesk history` in others."""
    sandbox = subprocess.Popen(
        [str(SCRIPT), "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=script_environment(tmp_path),
    )
    try:
        first_line = sandbox.stdout.readline()
        assert first_line.startswith("ClickSend sandbox running at http://127.0.0.1:"), first_line
        base_url = first_line.split(" at ", 1)[1].strip()
        environment = script_environment(
            tmp_path,
            CLICKSEND_USERNAME="demo-user",
            CLICKSEND_API_KEY="demo-key",
            CLICKSEND_BASE_URL=base_url,
            SMSDESK_CACHE=str(tmp_path / "cache.sqlite3"),
        )

        send = subprocess.run(
            [str(SCRIPT), "send", "--to", "0491 570 156", "--body", "Across processes", "--json"],
            capture_output=True, text=True, timeout=PROCESS_TIMEOUT, env=environment,
        )
        assert send.returncode == 0, send.stderr
        message_id = json.loads(send.stdout)["recipients"][0]["message_id"]

        history = subprocess.run(
            [str(SCRIPT), "history"], capture_output=True, text=True, timeout=PROCESS_TIMEOUT, env=environment
        )
        assert history.returncode == 0, history.stderr
        assert message_id in history.stdout
        assert "Across processes" in history.stdout
    finally:
        sandbox.terminate()
        sandbox.communicate(timeout=PROCESS_TIMEOUT)
    assert sandbox.returncode == 0


async def test_script_serve_starts_and_stops(sandbox, tmp_path):
    environment = script_environment(
        tmp_path,
        CLICKSEND_USERNAME="demo-user",
        CLICKSEND_API_KEY="demo-key",
        CLICKSEND_BASE_URL=sandbox.base_url,
        SMSDESK_CACHE=str(tmp_path / "cache.sqlite3"),
        SMSDESK_WEBHOOK_TOKEN="t" * 24,
    )
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT), "serve", "--port", "0", stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    )
    try:
        log_lines = []
        while True:
            line = (await asyncio.wait_for(process.stderr.readline(), PROCESS_TIMEOUT)).decode()
            assert line, "smsdesk serve exited before serving:\n" + "".join(log_lines)
            log_lines.append(line)
            if "serving ClickSend webhooks on http://127.0.0.1:" in line:
                break
    finally:
        process.terminate()
        _, rest = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    assert process.returncode == 0
    assert "t" * 24 not in "".join(log_lines) + rest.decode()


def test_script_closed_stdout_no_traceback(tmp_path):
    """A reader that goes away (`smsdesk ... | head`) ends the command without a traceback."""
    process = subprocess.Popen(
        [str(SCRIPT), "config", "path"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=script_environment(tmp_path),
    )
    # Closed before the interpreter has started, so the first write fails.
    process.stdout.close()
    _, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    assert b"Traceback" not in stderr
    assert process.returncode == 1


async def read_until(stream: asyncio.StreamReader, marker: bytes) -> bytes:
    """Read `stream` until `marker` appears; fail at end of stream or after PROCESS_TIMEOUT."""
    seen = b""
    while marker not in seen:
        chunk = await asyncio.wait_for(stream.read(4096), PROCESS_TIMEOUT)
        assert chunk, f"stream ended before {marker!r}:\n{seen.decode(errors='replace')[-2000:]}"
        seen += chunk
    return seen


@pytest.mark.parametrize(
    ("argv", "credentials"),
    [
        # No credentials: the inbox opens on the embedded sandbox.
        ([], {}),
        # --demo wins over credentials, which point at a closed port here.
        (["--demo"], {"CLICKSEND_USERNAME": "someone", "CLICKSEND_API_KEY": "k", "CLICKSEND_BASE_URL": "http://127.0.0.1:9/v3"}),
    ],
)
async def test_script_without_command_opens_demo_inbox(tmp_path, argv, credentials):
    # Textual's headless mode needs no terminal; the inbox still renders its status bar.
    environment = script_environment(tmp_path, TEXTUAL="headless", **credentials)
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT), *argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    )
    try:
        screen = await read_until(process.stderr, b"demo sandbox")
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    assert b"DEMO" in screen
