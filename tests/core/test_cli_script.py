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
    assert completed.stderr.startswith("smsdesk: error: Invalid phone number '12345'")
    assert "Traceback" not in completed.stderr


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
