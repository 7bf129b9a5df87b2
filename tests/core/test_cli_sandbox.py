"""The `smsdesk` commands against the sandbox over HTTP on 127.0.0.1."""

import asyncio
import csv
import json
import os
from datetime import UTC, datetime

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
    assert lines[0].split() == [
        "date", "direction", "from", "to", "status", "scheduled", "for", "parts", "price", "message", "id", "body"
    ]
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


async def test_history_shows_schedule_time(cli_env, smsdesk, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSDESK_TIMEZONE", "UTC")
    when = int(cli_env.clock.now()) + 30 * 86400
    code, _, _ = await smsdesk("send", "--to", "+61491570156", "--body", "Later", "--schedule", str(when))
    assert code == 0
    expected = datetime.fromtimestamp(when, UTC)

    code, _, _ = await smsdesk("send", "--to", "+61491570157", "--body", "Now")
    assert code == 0

    code, out, _ = await smsdesk("history", "--query", "status:scheduled")
    assert code == 0
    assert "scheduled for" in out.splitlines()[0]
    assert expected.strftime("%Y-%m-%d %H:%M") in out.splitlines()[2]
    # A message sent at once has no schedule to show: the parts follow the status.
    code, out, _ = await smsdesk("history", "--query", "to:+61491570157")
    date, time, direction, sender, recipient, status, parts = out.splitlines()[2].split()[:7]
    assert (recipient, parts) == ("+61491570157", "1")

    code, out, _ = await smsdesk("history", "--json", "--query", "status:scheduled")
    assert datetime.fromisoformat(json.loads(out)[0]["schedule"]) == expected

    exported = tmp_path / "scheduled.csv"
    code, _, _ = await smsdesk("history", "--query", "status:scheduled", "--export", str(exported))
    with exported.open(newline="") as file:
        assert [datetime.fromisoformat(row["schedule"]) for row in csv.DictReader(file)] == [expected]


async def test_history_query_normalizes_number(cli_env, clicksend, smsdesk):
    await send_directly(clicksend, "+61491570156", "+61491570157")
    code, out, _ = await smsdesk("history", "--json", "--query", "to:0491 570 157")
    rows = json.loads(out)
    assert code == 0
    assert [row["to"] for row in rows] == ["+61491570157"]


async def test_history_status_words(cli_env, clicksend, smsdesk, tmp_path):
    response = await send_directly(clicksend, "+61491570156", "+61491570157", "+61491570158")
    delivered, handed_over, queued = (cli_env.state.messages[m.message_id] for m in response.messages)
    cli_env.state.deliver_now(delivered)
    handed_over.stage = "sent"
    handed_over.next_event_at = None

    # ClickSend's history calls a delivered message Sent with status_code 201.
    code, out, _ = await smsdesk("history", "--json", "--query", "status:delivered")
    assert code == 0
    assert [row["message_id"] for row in json.loads(out)] == [delivered.message_id]

    code, out, _ = await smsdesk("history", "--json", "--query", "status:Sent")
    assert code == 0
    assert {row["message_id"] for row in json.loads(out)} == {delivered.message_id, handed_over.message_id}

    code, out, _ = await smsdesk("history", "--query", "status:queued")
    assert code == 0
    assert queued.message_id in out
    assert delivered.message_id not in out

    code, out, _ = await smsdesk("history", "--query", "status:Delivered")
    assert code == 0
    assert len(out.splitlines()) == 3
    assert "Delivered" in out.splitlines()[2]

    exported = tmp_path / "delivered.csv"
    code, _, err = await smsdesk("history", "--query", "status:Delivered", "--export", str(exported))
    assert code == 0
    assert "wrote 1 message to" in err
    with exported.open(newline="") as file:
        assert [row["message_id"] for row in csv.DictReader(file)] == [delivered.message_id]


async def test_history_unknown_status_word_lists_words(cli_env, smsdesk):
    code, out, err = await smsdesk("history", "--query", "status:arrived")
    assert code == 2
    assert out == ""
    assert "'status:arrived'" in err
    assert "delivered" in err
    assert "scheduled" in err


async def test_history_two_statuses_rejected(cli_env, smsdesk):
    code, out, err = await smsdesk("history", "--query", "status:sent", "--query", "status:failed")
    assert code == 2
    assert out == ""
    assert "'status:failed' is a second status filter" in err


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


async def test_listings_hide_outbox_reference(cli_env, smsdesk, tmp_path):
    code, _, _ = await smsdesk("send", "--to", "+61491570156", "--body", "Shipped", "--custom-string", "order-42")
    assert code == 0
    code, _, _ = await smsdesk("send", "--to", "+61491570157", "--body", "No reference")
    assert code == 0
    # What ClickSend holds carries the outbox reference after the user's text.
    assert any("|sd-" in message.custom_string for message in cli_env.state.messages.values())
    await cli_env.advance(60)

    code, out, _ = await smsdesk("receipts", "--json")
    assert code == 0
    assert sorted(map(str, (receipt["custom_string"] for receipt in json.loads(out)))) == ["None", "order-42"]
    code, out, _ = await smsdesk("receipts")
    assert code == 0
    assert "order-42" in out
    assert "sd-" not in out

    code, out, _ = await smsdesk("history", "--json")
    assert code == 0
    assert sorted(map(str, (row["custom_string"] for row in json.loads(out)))) == ["None", "order-42"]

    exported = tmp_path / "all.csv"
    code, _, _ = await smsdesk("history", "--export", str(exported))
    assert code == 0
    with exported.open(newline="") as file:
        assert sorted(row["custom_string"] for row in csv.DictReader(file)) == ["", "order-42"]


async def test_receipts_empty(cli_env, smsdesk):
    code, out, _ = await smsdesk("receipts", "--json")
    assert code == 0
    assert json.loads(out) == []


async def test_empty_listings_say_why(cli_env, smsdesk):
    cli_env.state.add_inbound("demo-user", from_="61491570156", body="Yes please")
    code, _, _ = await smsdesk("sync")
    assert code == 0

    code, out, _ = await smsdesk("inbound")
    assert code == 0
    assert out == "No inbound messages waiting at ClickSend (smsdesk sync and serve mark them read).\n"
    code, out, _ = await smsdesk("receipts")
    assert code == 0
    assert out.startswith("No delivery receipts waiting at ClickSend (smsdesk sync and serve mark them read")
    code, out, _ = await smsdesk("history")
    assert code == 0
    assert out.startswith("No messages in ClickSend's history yet")
    code, out, _ = await smsdesk("history", "--query", "status:failed")
    assert code == 0
    assert out == "No messages in ClickSend's history match these filters.\n"
    code, out, _ = await smsdesk("templates", "list")
    assert code == 0
    assert "smsdesk templates add NAME" in out

    code, out, _ = await smsdesk("inbound", "--json")
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


# --- send -------------------------------------------------------------------------------


async def test_send_table(cli_env, smsdesk):
    code, out, err = await smsdesk("send", "--to", "0491 570 156", "--to", "+61491570157", "--body", "Your table is ready")
    assert code == 0
    assert err == ""
    assert out.splitlines()[0].split()[:3] == ["to", "status", "message"]
    assert "+61491570156" in out
    assert "+61491570157" in out
    assert "queued" in out
    sent = {message.to: message for message in cli_env.state.messages.values()}
    assert set(sent) == {"+61491570156", "+61491570157"}
    assert sent["+61491570156"].body == "Your table is ready"


async def test_send_json(cli_env, smsdesk):
    code, out, _ = await smsdesk("send", "--json", "--to", "+61491570156", "--body", "Hi", "--custom-string", "order-42")
    data = json.loads(out)
    assert code == 0
    assert data["accepted_count"] == 1
    assert data["failed_count"] == 0
    recipient = data["recipients"][0]
    assert recipient["to"] == "+61491570156"
    assert recipient["status"] == "queued"
    assert recipient["accepted"] is True
    assert recipient["message_id"] in cli_env.state.messages
    assert recipient["price"] == "0.0792"
    # The user's reference reaches ClickSend, combined with the outbox reference.
    assert "order-42" in cli_env.state.messages[recipient["message_id"]].custom_string


async def test_money_has_four_decimals_everywhere(cli_env, smsdesk, tmp_path):
    code, out, _ = await smsdesk("send", "--json", "--to", "+61491570156", "--body", "Hi")
    assert code == 0
    sent = json.loads(out)
    assert (sent["total_price"], sent["recipients"][0]["price"]) == ("0.0792", "0.0792")

    # History sends prices with 6 decimals ("0.079200").
    code, out, _ = await smsdesk("history", "--json")
    assert [row["message_price"] for row in json.loads(out)] == ["0.0792"]
    code, out, _ = await smsdesk("history")
    assert "0.0792 " in out
    assert "0.079200" not in out
    exported = tmp_path / "history.csv"
    code, _, _ = await smsdesk("history", "--export", str(exported))
    with exported.open(newline="") as file:
        assert [row["message_price"] for row in csv.DictReader(file)] == ["0.0792"]

    # A send that fails for every recipient costs nothing: "0.0000", not "0".
    code, out, _ = await smsdesk("send", "--json", "--to", "+61491570156", "--body", "Hi", "--from", "RANDOMCO")
    assert code == 1
    assert json.loads(out)["total_price"] == "0.0000"


def test_money_keeps_digits_beyond_four():
    from decimal import Decimal

    from core.cli.output import money

    assert money(Decimal("0")) == "0.0000"
    assert money(Decimal("0.079200")) == "0.0792"
    assert money(Decimal("0.07925")) == "0.07925"
    assert money(Decimal("12")) == "12.0000"


async def test_send_body_from_stdin(cli_env, smsdesk, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Text from a pipe"))
    code, _, _ = await smsdesk("send", "--to", "+61491570156", "--body", "-")
    assert code == 0
    assert [message.body for message in cli_env.state.messages.values()] == ["Text from a pipe"]


async def test_send_writes_outbox_cache(cli_env, smsdesk, tmp_path):
    from core.store import Store

    code, out, _ = await smsdesk("send", "--json", "--to", "+61491570156", "--body", "Cached")
    message_id = json.loads(out)["recipients"][0]["message_id"]
    assert code == 0
    async with Store.open(tmp_path / "cache.sqlite3") as store:
        records = await store.messages(direction="out", limit=10)
    assert [record.message_id for record in records] == [message_id]


async def test_send_unapproved_sender_fails(cli_env, smsdesk):
    code, out, err = await smsdesk("send", "--to", "+61491570156", "--body", "Hi", "--from", "RANDOMCO")
    assert code == 1
    assert "failed" in out
    assert "+61491570156" in err
    assert "INVALID_SENDER_ID" in err
    assert "the sender 'RANDOMCO' is not approved" in err


async def test_send_country_not_enabled_fails(cli_env, smsdesk):
    code, out, err = await smsdesk("send", "--json", "--to", "+61491570156", "--to", "+4915123456789", "--body", "Hi")
    data = json.loads(out)
    assert code == 1
    assert data["accepted_count"] == 1
    assert data["failed_count"] == 1
    assert "+4915123456789" in err
    assert "COUNTRY_NOT_ENABLED" in err
    assert "enable it in the ClickSend dashboard" in err


async def test_send_scheduled_then_cancel(cli_env, smsdesk):
    code, out, _ = await smsdesk("send", "--json", "--to", "+61491570156", "--body", "Later", "--schedule", "2099-01-01T09:00Z")
    assert code == 2
    assert out == ""

    when = str(int(cli_env.clock.now()) + 3600)
    code, out, _ = await smsdesk("send", "--json", "--to", "+61491570156", "--body", "Later", "--schedule", when)
    recipient = json.loads(out)["recipients"][0]
    assert code == 0
    assert recipient["status"] == "scheduled"

    code, out, _ = await smsdesk("cancel", recipient["message_id"])
    assert code == 0
    assert out == f"cancelled {recipient['message_id']}\n"
    assert cli_env.state.messages[recipient["message_id"]].stage == "cancelled"

    code, out, err = await smsdesk("cancel", recipient["message_id"])
    assert code == 1
    assert "404" in err
    assert "only a scheduled message" in err


async def test_cancel_all_json(cli_env, smsdesk):
    when = str(int(cli_env.clock.now()) + 3600)
    for index, reference in enumerate(("batch-a", "batch-a", "batch-b")):
        code, _, _ = await smsdesk(
            "send", "--to", "+61491570156", "--body", f"Message {index}", "--schedule", when, "--custom-string", reference
        )
        assert code == 0

    code, out, _ = await smsdesk("cancel", "--all", "--custom-string", "batch-a", "--json")
    assert code == 0
    assert json.loads(out) == {"cancelled": 2, "message_id": None, "custom_string": "batch-a"}

    code, out, _ = await smsdesk("cancel", "--all")
    assert code == 0
    assert out == "cancelled 1 scheduled message\n"


# --- price ------------------------------------------------------------------------------


async def test_price_table(cli_env, smsdesk):
    code, out, _ = await smsdesk("price", "--to", "+61491570156", "--to", "+447700900123", "--body", "Hi ☺")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["to", "country", "parts", "encoding", "price", "status", "opted", "out"]
    assert "UCS-2" in out
    assert "0.0792" in out
    assert "0.0850" in out
    assert lines[-1].startswith("total: 0.1642")
    assert cli_env.state.messages == {}


async def test_price_json(cli_env, smsdesk):
    long_body = "a" * 161
    code, out, _ = await smsdesk("price", "--json", "--to", "+61491570156", "--body", long_body)
    quote = json.loads(out)
    assert code == 0
    assert quote["parts"] == 2
    assert quote["encoding"] == "GSM-7"
    assert quote["recipients"][0]["parts"] == 2
    assert quote["total"] == "0.1584"


# --- templates ----------------------------------------------------------------------------


async def test_templates_lifecycle(cli_env, smsdesk):
    code, out, _ = await smsdesk("templates", "add", "Reminder", "--body", "Hi {first_name}, see you at {time}")
    assert code == 0
    assert "name: Reminder" in out
    template_id = out.splitlines()[0].removeprefix("id: ")

    code, out, _ = await smsdesk("templates", "list")
    assert code == 0
    assert "Reminder" in out
    assert template_id in out

    code, out, _ = await smsdesk("templates", "show", "reminder", "--json")
    assert code == 0
    assert json.loads(out)["body"] == "Hi {first_name}, see you at {time}"

    code, out, _ = await smsdesk("templates", "edit", template_id, "--name", "Visit reminder")
    assert code == 0
    assert "name: Visit reminder" in out
    assert "see you at {time}" in out

    code, out, _ = await smsdesk("templates", "list", "--json")
    assert [template["name"] for template in json.loads(out)] == ["Visit reminder"]

    code, out, _ = await smsdesk("templates", "rm", "Visit reminder")
    assert code == 0
    assert out == f"deleted template {template_id} Visit reminder\n"
    assert cli_env.state.templates == {}


async def test_templates_unknown_named(cli_env, smsdesk):
    code, _, err = await smsdesk("templates", "show", "Nope")
    assert code == 2
    assert "'Nope'" in err
    assert "smsdesk templates list" in err


async def test_templates_edit_needs_change(cli_env, smsdesk):
    await smsdesk("templates", "add", "A", "--body", "x")
    code, _, err = await smsdesk("templates", "edit", "A")
    assert code == 2
    assert "--name" in err


async def test_send_with_template(cli_env, smsdesk):
    code, _, _ = await smsdesk("templates", "add", "Reminder", "--body", "Hi {first_name}, see you at {time}")
    assert code == 0
    code, _, _ = await smsdesk(
        "send", "--to", "+61491570156", "--template", "Reminder", "--var", "first_name=Ann", "--var", "time=10:00"
    )
    assert code == 0
    assert [message.body for message in cli_env.state.messages.values()] == ["Hi Ann, see you at 10:00"]


async def test_templates_add_rejects_existing_name(cli_env, smsdesk):
    code, out, _ = await smsdesk("templates", "add", "Reminder", "--body", "Hi {name}")
    assert code == 0
    template_id = out.splitlines()[0].removeprefix("id: ")

    code, out, err = await smsdesk("templates", "add", "reminder", "--body", "Hello {name}")
    assert code == 2
    assert out == ""
    assert "'Reminder' already exists" in err
    assert f"smsdesk templates edit {template_id}" in err
    assert [template.template_name for template in cli_env.state.templates.values()] == ["Reminder"]


async def test_templates_edit_rejects_name_of_another(cli_env, smsdesk):
    await smsdesk("templates", "add", "Reminder", "--body", "Hi")
    await smsdesk("templates", "add", "Follow-up", "--body", "Thanks")
    code, _, err = await smsdesk("templates", "edit", "Follow-up", "--name", "Reminder")
    assert code == 2
    assert "'Reminder' already exists" in err
    # Renaming a template to its own name in another case is allowed.
    code, out, _ = await smsdesk("templates", "edit", "Follow-up", "--name", "FOLLOW-UP")
    assert code == 0
    assert "name: FOLLOW-UP" in out


@pytest.mark.parametrize("command", ["send", "price"])
async def test_ambiguous_template_name_rejected(cli_env, smsdesk, command):
    # Made outside smsdesk, such as in the ClickSend dashboard.
    first = cli_env.state.create_template("demo-user", "Reminder", "Hi {name}")
    second = cli_env.state.create_template("demo-user", "Reminder", "Hello {name}")
    code, out, err = await smsdesk(command, "--to", "+61491570156", "--template", "Reminder", "--var", "name=Ann")
    assert code == 2
    assert out == ""
    assert f"several templates are named 'Reminder' (ids {first.template_id}, {second.template_id})" in err
    assert cli_env.state.messages == {}

    code, _, _ = await smsdesk(command, "--to", "+61491570156", "--template", str(second.template_id), "--var", "name=Ann")
    assert code == 0


async def test_template_missing_value_names_var(cli_env, smsdesk):
    await smsdesk("templates", "add", "Reminder", "--body", "Hi {name}, see you at {time} on {day}")
    code, out, err = await smsdesk("send", "--to", "+61491570156", "--template", "Reminder", "--var", "name=Ann")
    assert code == 2
    assert out == ""
    assert "needs a value for time, day: give --var time=VALUE --var day=VALUE" in err
    assert cli_env.state.messages == {}


@pytest.mark.parametrize("command", ["send", "price"])
async def test_empty_body_names_option(cli_env, smsdesk, monkeypatch, command):
    code, _, err = await smsdesk(command, "--to", "+61491570156", "--body", " ")
    assert code == 2
    assert err == "smsdesk: error: the message body is empty: give --body TEXT, or --body - to read it from stdin\n"

    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = await smsdesk(command, "--to", "+61491570156", "--body", "-")
    assert code == 2
    assert "the text read from stdin (--body -) is empty" in err
    assert cli_env.state.messages == {}


async def test_send_with_unknown_template(cli_env, smsdesk):
    code, _, err = await smsdesk("send", "--to", "+61491570156", "--template", "Missing")
    assert code == 2
    assert "'Missing'" in err
    assert cli_env.state.messages == {}


# --- opt-outs, sync and unconfirmed sends -------------------------------------------------------


async def test_opted_out_number_refused(cli_env, smsdesk):
    cli_env.state.add_inbound("demo-user", from_="61491570156", body="STOP")
    code, _, _ = await smsdesk("sync")
    assert code == 0

    code, out, err = await smsdesk("send", "--to", "+61491570156", "--body", "Offer")
    assert code == 2
    assert out == ""
    assert "+61491570156" in err
    assert "opted out" in err
    assert "--allow-opted-out" in err
    assert cli_env.state.messages == {}

    code, _, _ = await smsdesk("send", "--to", "+61491570156", "--body", "Your booking", "--allow-opted-out")
    assert code == 0
    assert len(cli_env.state.messages) == 1


async def test_send_outcome_unknown_then_sync(cli_env, smsdesk):
    cli_env.state.faults["drop_after_send"] = 1
    code, out, err = await smsdesk("send", "--json", "--to", "+61491570156", "--body", "Maybe sent")
    data = json.loads(out)
    assert code == 1
    assert data["pending_count"] == 1
    assert "unconfirmed" in err
    assert "Do not send them again" in err
    assert len(cli_env.state.messages) == 1

    code, _, err = await smsdesk("sync")
    assert code == 0
    assert len(cli_env.state.messages) == 1


async def test_cancel_one_json(cli_env, smsdesk):
    when = str(int(cli_env.clock.now()) + 3600)
    code, out, _ = await smsdesk("send", "--json", "--to", "+61491570156", "--body", "Later", "--schedule", when)
    message_id = json.loads(out)["recipients"][0]["message_id"]
    assert code == 0
    code, out, _ = await smsdesk("cancel", message_id, "--json")
    assert code == 0
    assert json.loads(out) == {"cancelled": 1, "message_id": message_id, "custom_string": None}


async def test_templates_json_output(cli_env, smsdesk):
    code, out, _ = await smsdesk("templates", "add", "Visit", "--body", "See you {day}", "--json")
    added = json.loads(out)
    assert code == 0
    assert added["name"] == "Visit"
    assert added["body"] == "See you {day}"

    code, out, _ = await smsdesk("templates", "show", str(added["template_id"]))
    assert code == 0
    assert out == f"id: {added['template_id']}\nname: Visit\n\nSee you {{day}}\n"

    code, out, _ = await smsdesk("templates", "edit", "Visit", "--body", "See you on {day}", "--json")
    assert code == 0
    assert json.loads(out)["body"] == "See you on {day}"

    code, out, _ = await smsdesk("templates", "rm", "Visit", "--json")
    removed = json.loads(out)
    assert code == 0
    assert removed["deleted"] is True
    assert removed["template_id"] == added["template_id"]


async def test_schedule_without_offset_uses_configured_zone(cli_env, smsdesk, monkeypatch):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    melbourne = ZoneInfo("Australia/Melbourne")
    local = (datetime.now(melbourne) + timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)
    monkeypatch.setenv("SMSDESK_TIMEZONE", "Australia/Melbourne")

    code, out, err = await smsdesk("send", "--json", "--to", "+61491570156", "--body", "At 11", "--schedule", local.strftime("%Y-%m-%dT%H:%M"))
    message_id = json.loads(out)["recipients"][0]["message_id"]
    assert code == 0, err
    # The sandbox stores the schedule as ClickSend receives it: integer Unix seconds.
    assert cli_env.state.messages[message_id].schedule == int(local.timestamp())


async def test_send_with_unwritable_cache_dir(cli_env, smsdesk, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SMSDESK_CACHE", str(blocker / "cache.sqlite3"))
    code, _, err = await smsdesk("send", "--to", "+61491570156", "--body", "Hi")
    assert code == 2
    assert str(blocker) in err
    assert "SMSDESK_CACHE" in err
    assert cli_env.state.messages == {}


async def test_sync_json_prints_report_on_stdout(cli_env, smsdesk):
    cli_env.state.add_inbound("demo-user", from_="61491570156", body="Yes please")
    code, out, err = await smsdesk("sync", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["inbound_new"] == 1
    assert report["errors"] == []
    assert "sync:" in err
    assert "sync:" not in out


async def test_serve_port_in_use_named(cli_env, smsdesk):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = await smsdesk("serve", "--host", "127.0.0.1", "--port", str(port))
    assert code == 1
    assert out == ""
    assert err == (
        f"smsdesk: error: could not listen on 127.0.0.1:{port}: address already in use; "
        "stop the other process or choose another --port (or [webhook] port)\n"
    )
