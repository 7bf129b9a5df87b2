"""The `smsdesk` command without ClickSend: parsing, times, configuration commands and errors."""

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.cli import UsageError, build_parser, check_schedule, main, parse_when
from core.cli.output import error_style
from core.config import STANDARD_ENV_NAMES, load_settings

NOW = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name in STANDARD_ENV_NAMES or name.startswith("SMSDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def melbourne():
    return load_settings(timezone="Australia/Melbourne")


# --- WHEN ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-24T09:00+11:00", datetime(2026, 12, 23, 22, 0, tzinfo=UTC)),
        ("2026-12-24T09:00Z", datetime(2026, 12, 24, 9, 0, tzinfo=UTC)),
        # Without an offset the configured zone applies (AEDT, UTC+11, in December).
        ("2026-12-24T09:00", datetime(2026, 12, 23, 22, 0, tzinfo=UTC)),
        ("2026-12-24 09:00", datetime(2026, 12, 23, 22, 0, tzinfo=UTC)),
        # AEST, UTC+10, in July.
        ("2027-07-01T09:00", datetime(2027, 6, 30, 23, 0, tzinfo=UTC)),
        ("2026-12-24", datetime(2026, 12, 23, 13, 0, tzinfo=UTC)),
        ("20261224", datetime(2026, 12, 23, 13, 0, tzinfo=UTC)),
        ("1767225600", datetime(2026, 1, 1, 0, 0, tzinfo=UTC)),
        (" 1767225600 ", datetime(2026, 1, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_parse_when_table(melbourne, text, expected):
    assert parse_when(text, settings=melbourne) == expected


def test_parse_when_returns_utc(melbourne):
    assert parse_when("2026-12-24T09:00", settings=melbourne).tzinfo is UTC


def test_parse_when_system_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Europe/London")
    time.tzset()
    try:
        moment = parse_when("2027-07-01T09:00", settings=load_settings())
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert moment == datetime(2027, 7, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["tomorrow", "24/12/2026", "2026-13-01", "", "12:00pm"])
def test_parse_when_rejects(melbourne, text):
    with pytest.raises(UsageError) as caught:
        parse_when(text, settings=melbourne, option="--schedule")
    message = str(caught.value)
    assert repr(text) in message
    assert "--schedule" in message
    assert "ISO 8601" in message
    assert "Australia/Melbourne" in message
    assert "the date alone, 2026-12-24" in message


def test_schedule_in_past_rejected(melbourne):
    with pytest.raises(UsageError) as caught:
        check_schedule(NOW - timedelta(minutes=1), now=NOW, settings=melbourne)
    assert "in the past" in str(caught.value)
    assert "leave --schedule out" in str(caught.value)


def test_schedule_now_rejected(melbourne):
    with pytest.raises(UsageError):
        check_schedule(NOW, now=NOW, settings=melbourne)


def test_schedule_more_than_120_days_rejected(melbourne):
    with pytest.raises(UsageError) as caught:
        check_schedule(NOW + timedelta(days=120, minutes=1), now=NOW, settings=melbourne)
    assert "more than 120 days ahead" in str(caught.value)
    assert "no later than 2027-04-04T06:00+10:00" in str(caught.value)


@pytest.mark.parametrize("moment", [NOW + timedelta(minutes=1), NOW + timedelta(days=120)])
def test_schedule_within_120_days_accepted(melbourne, moment):
    assert check_schedule(moment, now=NOW, settings=melbourne) == moment


def test_send_with_past_schedule_exits_2(capsys):
    code = main(["send", "--to", "+61491570156", "--body", "hi", "--schedule", "2020-01-01T09:00"])
    captured = capsys.readouterr()
    assert code == 2
    assert "in the past" in captured.err
    assert captured.out == ""


def test_send_with_bad_schedule_exits_2(capsys):
    code = main(["send", "--to", "+61491570156", "--body", "hi", "--schedule", "next week"])
    captured = capsys.readouterr()
    assert code == 2
    assert "'next week'" in captured.err


# --- parsing ------------------------------------------------------------------


def test_common_options_before_or_after_command():
    parser = build_parser()
    before = parser.parse_args(["--json", "--base-url", "http://127.0.0.1:1/v3", "receipts"])
    after = parser.parse_args(["receipts", "--json", "--base-url", "http://127.0.0.1:1/v3"])
    assert before.json is True
    assert after.json is True
    assert before.base_url == "http://127.0.0.1:1/v3"
    assert after.base_url == "http://127.0.0.1:1/v3"


def test_no_command_defaults():
    args = build_parser().parse_args([])
    assert args.command is None
    assert args.demo is False
    assert args.json is False


@pytest.mark.parametrize(
    "argv",
    [
        ["send", "--to", "+61491570156", "--body", "hi", "--template", "t"],
        ["send", "--body", "hi"],
        ["send", "--to", "+61491570156"],
        ["templates"],
        ["templates", "show"],
        ["config"],
        ["history", "--limit", "ten"],
    ],
)
def test_invalid_arguments_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert f"usage: smsdesk {argv[0]}" in err
    # One prefix for every error, also from a subcommand's parser.
    assert err.splitlines()[-1].startswith("smsdesk: error: ")


def test_unknown_argument_rejected(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["receipts", "--colour"])
    assert caught.value.code == 2
    assert "--colour" in capsys.readouterr().err


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ") and not line.startswith("     ")}
    assert listed == {
        "send", "price", "cancel", "templates", "history", "receipts", "inbound",
        "config", "sync", "serve", "sandbox", "slack", "tui",
    }


@pytest.mark.parametrize("command", ["send", "price"])
def test_invalid_number_named(capsys, command):
    code = main([command, "--to", "12345", "--body", "hi"])
    err = capsys.readouterr().err
    assert code == 2
    assert "'12345'" in err
    assert "international format" in err
    assert "Traceback" not in err
    assert err.startswith("smsdesk: error: invalid phone number")
    assert not err.rstrip().endswith(".")


@pytest.mark.parametrize(("sender", "reason"), [("Random Co", "spaces"), ("ACMEPLUMBING1", "at most 11")])
def test_invalid_sender_named(capsys, sender, reason):
    code = main(["send", "--to", "+61491570156", "--body", "hi", "--from", sender])
    err = capsys.readouterr().err
    assert code == 2
    assert repr(sender) in err
    assert reason in err
    assert len(err.strip().splitlines()) == 1


def test_missing_credentials_says_what_to_set(capsys):
    code = main(["receipts"])
    err = capsys.readouterr().err
    assert code == 2
    assert "CLICKSEND_USERNAME" in err
    assert "CLICKSEND_API_KEY" in err
    assert "smsdesk sandbox" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["cancel"], "either a MESSAGE_ID or --all"),
        (["cancel", "ABC", "--all"], "either a MESSAGE_ID or --all"),
        (["cancel", "ABC", "--custom-string", "x"], "--custom-string only works with --all"),
        (["history", "--query", "status"], "FIELD:VALUE"),
        (["history", "--query", "body:hello"], "'body'"),
        (["history", "--query", "to:12345"], "'12345'"),
        (["history", "--since", "2026-12-02", "--until", "2026-12-01"], "swap them"),
        (["send", "--to", "+61491570156", "--template", "t", "--var", "novalue"], "NAME=VALUE"),
    ],
)
def test_argument_errors_name_value(capsys, monkeypatch, argv, expected):
    # Credentials point at a closed port so that no check depends on a server.
    monkeypatch.setenv("CLICKSEND_USERNAME", "demo-user")
    monkeypatch.setenv("CLICKSEND_API_KEY", "demo-key")
    monkeypatch.setenv("CLICKSEND_BASE_URL", "http://127.0.0.1:9/v3")
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err


# --- config path and config check ----------------------------------------------------


def test_config_path_default(capsys, tmp_path):
    code = main(["config", "path"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out == f"{tmp_path / 'xdg-config' / 'smsdesk' / 'config.toml'}\n"
    assert "default" in captured.err
    assert "does not exist" in captured.err


def test_config_path_from_environment(capsys, monkeypatch, tmp_path):
    config = tmp_path / "mine.toml"
    config.write_text("")
    monkeypatch.setenv("SMSDESK_CONFIG", str(config))
    assert main(["config", "path", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {"path": str(config), "source": "$SMSDESK_CONFIG", "exists": True}


def test_config_path_flag_wins(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSDESK_CONFIG", str(tmp_path / "env.toml"))
    assert main(["--config", str(tmp_path / "flag.toml"), "config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "flag.toml")


def test_config_check_reports_missing(capsys):
    code = main(["config", "check"])
    out = capsys.readouterr().out
    assert code == 1
    assert "numbers without a country code: AU" in out
    assert "time zone: the system zone" in out
    assert "missing: CLICKSEND_USERNAME" in out
    assert "missing: CLICKSEND_API_KEY" in out
    assert "demo sandbox" in out


def test_config_check_complete(capsys, monkeypatch):
    monkeypatch.setenv("CLICKSEND_USERNAME", "alice")
    monkeypatch.setenv("CLICKSEND_API_KEY", "key-never-printed")
    code = main(["config", "check", "--json"])
    out = capsys.readouterr().out
    data = json.loads(out)
    assert code == 0
    assert data["valid"] is True
    assert data["has_credentials"] is True
    assert "key-never-printed" not in out
    assert all("CLICKSEND" not in item["setting"] for item in data["missing"])


def test_config_check_invalid_file(capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('default_region = "XX"\nclicksend_api_key = "sekret-value-123"\n[slack]\nport = "x"\n')
    code = main(["config", "check", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2
    assert "default_region" in err
    assert "slack.port" in err
    assert "sekret-value-123" not in err
    assert "Traceback" not in err


def test_config_check_invalid_json(capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("not toml at all")
    code = main(["config", "check", "--json", "--config", str(config)])
    data = json.loads(capsys.readouterr().out)
    assert code == 2
    assert data["valid"] is False
    assert "not valid TOML" in data["problems"][0]


def test_bad_config_fails_other_commands(capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("clicksend_timeout = -1\n")
    code = main(["receipts", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2
    assert "clicksend_timeout" in err
    assert str(config) in err


def test_base_url_flag_validated(capsys):
    code = main(["receipts", "--base-url", "localhost:8080"])
    err = capsys.readouterr().err
    assert code == 2
    assert "clicksend_base_url in the command line" in err


def test_missing_config_file_named(capsys, tmp_path):
    code = main(["config", "check", "--config", str(tmp_path / "nope.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "nope.toml" in err
    assert "does not exist" in err


# --- commands of other packages ----------------------------------------------------------


def test_sandbox_help_comes_from_sandbox(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["sandbox", "--help"])
    out = capsys.readouterr().out
    assert caught.value.code == 0
    assert out.startswith("usage: smsdesk sandbox")
    assert "--demo-data" in out


def test_sandbox_bad_option_rejected(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["sandbox", "--no-such-option"])
    assert caught.value.code == 2
    assert "--no-such-option" in capsys.readouterr().err


def test_slack_without_tokens_names_setting(capsys):
    code = main(["slack"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("smsdesk: error: SLACK_BOT_TOKEN is not set")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["sync", "serve"])
def test_sync_and_serve_need_credentials(capsys, command):
    code = main([command])
    err = capsys.readouterr().err
    assert code == 2
    assert "CLICKSEND_API_KEY" in err


def test_config_check_warns_readable_secret_file(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSEND_USERNAME", "alice")
    config = tmp_path / "c.toml"
    config.write_text('clicksend_api_key = "secret-in-a-file-123"\n')
    config.chmod(0o644)
    code = main(["config", "check", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"chmod 600 {config}" in out
    assert "secret-in-a-file-123" not in out

    config.chmod(0o600)
    main(["config", "check", "--config", str(config), "--json"])
    assert json.loads(capsys.readouterr().out)["warnings"] == []


def test_config_check_no_warning_without_secrets(capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('default_region = "GB"\n')
    config.chmod(0o644)
    main(["config", "check", "--config", str(config), "--json"])
    assert json.loads(capsys.readouterr().out)["warnings"] == []


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("Invalid configuration: timezone 'Mars/Base' is unknown.", "invalid configuration: timezone 'Mars/Base' is unknown"),
        ("ClickSend POST /sms/send failed with HTTP 401.", "ClickSend POST /sms/send failed with HTTP 401"),
        ("SLACK_BOT_TOKEN is not set.", "SLACK_BOT_TOKEN is not set"),
        ("default_region 'XX' is unknown", "default_region 'XX' is unknown"),
        ("Socket Mode was requested but SLACK_APP_TOKEN is not set.", "Socket Mode was requested but SLACK_APP_TOKEN is not set"),
        ("Template 'Visit' not found.", "template 'Visit' not found"),
        ("A", "A"),
        ("", ""),
    ],
)
def test_error_style_one_case(message, shown):
    assert error_style(message) == shown


@pytest.mark.parametrize("argv", [["serve", "--port", "99999"], ["slack", "--http", "--port", "99999"], ["serve", "--port", "x"]])
def test_port_out_of_range_rejected(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert f"invalid port {argv[-1]}" in err.replace("'", "")
    assert "0 for any free port" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["serve", "slack", "tui"])
def test_long_running_commands_offer_no_json(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "--config" in out
    assert "--json" not in out
    # Still accepted, so that a script may pass --json to every command.
    assert build_parser().parse_args([command, "--json"]).json is True


def test_config_check_missing_slack_channel(capsys, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "test-signing-secret")
    main(["config", "check", "--json"])
    missing = [item["setting"] for item in json.loads(capsys.readouterr().out)["missing"]]
    assert "SMSDESK_SLACK__DEFAULT_CHANNEL ([slack] default_channel) or [slack] channel_map" in missing

    monkeypatch.setenv("SMSDESK_SLACK__DEFAULT_CHANNEL", "C0123456789")
    main(["config", "check", "--json"])
    missing = [item["setting"] for item in json.loads(capsys.readouterr().out)["missing"]]
    assert not any("default_channel" in setting for setting in missing)


@pytest.mark.parametrize("argv", [["history", "--limit", "-1"], ["receipts", "--limit", "ten"], ["inbound", "--limit", "1.5"]])
def test_invalid_limit_named(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert f"invalid --limit '{argv[-1]}'" in err
    assert "0 for no limit" in err


def test_number_list_counts_the_rest():
    from core.cli.messages import _number_list

    numbers = [f"+6149157015{digit}" for digit in range(7)]
    assert _number_list(numbers[:2]) == "+61491570150, +61491570151"
    assert _number_list(numbers).endswith("+61491570154 and 2 more")
