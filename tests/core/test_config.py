import os
import re
import tomllib
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from core.config import (
    STANDARD_ENV_NAMES,
    ConfigError,
    Settings,
    default_cache_path,
    default_config_path,
    find_config_file,
    load_settings,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
API_KEY = "k3y-VALUE-never-shown"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Isolate each test from the user's environment and real config directory."""
    for name in list(STANDARD_ENV_NAMES) + ["SMSDESK_CONFIG", "TZ"]:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("SMSDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment():
    settings = load_settings()
    assert settings.clicksend_base_url == "https://rest.clicksend.com/v3"
    assert settings.slack.api_url == "https://slack.com/api/"
    assert settings.default_region == "AU"
    assert settings.timezone is None
    assert settings.config_file is None
    assert settings.has_credentials is False
    assert settings.opt_out_keywords == [
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"
    ]
    assert settings.opt_in_keywords == ["START", "UNSTOP"]


def test_default_paths_follow_platform_dirs(tmp_path):
    assert default_config_path() == tmp_path / "xdg-config" / "smsdesk" / "config.toml"
    assert default_cache_path() == tmp_path / "xdg-data" / "smsdesk" / "cache.sqlite3"
    assert load_settings().cache_path == default_cache_path()


def test_precedence_flag_env_file_default(tmp_path, monkeypatch):
    config = write(
        tmp_path / "config.toml",
        'clicksend_base_url = "http://127.0.0.1:1/v3"\n'
        'clicksend_username = "from-file"\n'
        'default_region = "GB"\n',
    )
    monkeypatch.setenv("CLICKSEND_BASE_URL", "http://127.0.0.1:2/v3")
    monkeypatch.setenv("CLICKSEND_USERNAME", "from-env")

    from_file_and_env = load_settings(config_path=config)
    assert from_file_and_env.clicksend_base_url == "http://127.0.0.1:2/v3"
    assert from_file_and_env.clicksend_username == "from-env"
    assert from_file_and_env.default_region == "GB"
    assert from_file_and_env.clicksend_timeout == 30.0

    with_flag = load_settings(config_path=config, clicksend_base_url="http://127.0.0.1:3/v3")
    assert with_flag.clicksend_base_url == "http://127.0.0.1:3/v3"


def test_overrides_of_none_are_ignored(monkeypatch):
    monkeypatch.setenv("CLICKSEND_BASE_URL", "http://127.0.0.1:2/v3")
    settings = load_settings(clicksend_base_url=None)
    assert settings.clicksend_base_url == "http://127.0.0.1:2/v3"


def test_section_override_merges_with_file(tmp_path):
    config = write(tmp_path / "c.toml", '[slack]\ndefault_channel = "C1"\nport = 3001\n')
    settings = load_settings(config_path=config, slack={"port": 3002})
    assert settings.slack.port == 3002
    assert settings.slack.default_channel == "C1"


@pytest.mark.parametrize(
    ("env_name", "value", "read"),
    [
        ("CLICKSEND_USERNAME", "alice", lambda s: s.clicksend_username),
        ("CLICKSEND_API_KEY", API_KEY, lambda s: s.clicksend_api_key.get_secret_value()),
        ("CLICKSEND_BASE_URL", "http://127.0.0.1:9/v3", lambda s: s.clicksend_base_url),
        ("SLACK_BOT_TOKEN", "xoxb-1", lambda s: s.slack.bot_token.get_secret_value()),
        ("SLACK_APP_TOKEN", "xapp-1", lambda s: s.slack.app_token.get_secret_value()),
        ("SLACK_SIGNING_SECRET", "sign", lambda s: s.slack.signing_secret.get_secret_value()),
        ("SLACK_API_URL", "http://127.0.0.1:9/api/", lambda s: s.slack.api_url),
        ("SMSDESK_WEBHOOK_TOKEN", "a" * 24, lambda s: s.webhook.token.get_secret_value()),
    ],
)
def test_standard_environment_names(monkeypatch, env_name, value, read):
    monkeypatch.setenv(env_name, value)
    assert read(load_settings()) == value


def test_cache_environment_name(monkeypatch, tmp_path):
    monkeypatch.setenv("SMSDESK_CACHE", str(tmp_path / "c.sqlite3"))
    assert load_settings().cache_path == tmp_path / "c.sqlite3"


def test_standard_name_beats_file_for_nested_setting(monkeypatch, tmp_path):
    config = write(tmp_path / "c.toml", '[slack]\nbot_token = "xoxb-file"\ndefault_channel = "C1"\n')
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-env")
    settings = load_settings(config_path=config)
    assert settings.slack.bot_token.get_secret_value() == "xoxb-env"
    assert settings.slack.default_channel == "C1"


def test_prefixed_environment_for_other_settings(monkeypatch):
    monkeypatch.setenv("SMSDESK_SLACK__PORT", "3005")
    monkeypatch.setenv("SMSDESK_DEFAULT_REGION", "nz")
    monkeypatch.setenv("SMSDESK_OPT_IN_KEYWORDS", '["start", "yes"]')
    settings = load_settings()
    assert settings.slack.port == 3005
    assert settings.default_region == "NZ"
    assert settings.opt_in_keywords == ["START", "YES"]


def test_file_from_environment_variable(monkeypatch, tmp_path):
    config = write(tmp_path / "env.toml", 'clicksend_username = "env-file"\n')
    monkeypatch.setenv("SMSDESK_CONFIG", str(config))
    settings = load_settings()
    assert settings.clicksend_username == "env-file"
    assert settings.config_file == config


def test_config_flag_beats_environment_file(monkeypatch, tmp_path):
    monkeypatch.setenv("SMSDESK_CONFIG", str(write(tmp_path / "env.toml", 'clicksend_username = "env"\n')))
    flag = write(tmp_path / "flag.toml", 'clicksend_username = "flag"\n')
    assert load_settings(config_path=flag).clicksend_username == "flag"
    assert find_config_file(flag) == (flag, "--config")


def test_default_file_is_read(tmp_path):
    write(default_config_path(), 'clicksend_username = "default-file"\n')
    settings = load_settings()
    assert settings.clicksend_username == "default-file"
    assert settings.config_file == default_config_path()
    assert find_config_file() == (default_config_path(), "default")


def test_find_config_file_reports_environment(tmp_path):
    path, origin = find_config_file(environ={"SMSDESK_CONFIG": str(tmp_path / "x.toml")})
    assert path == tmp_path / "x.toml"
    assert origin == "$SMSDESK_CONFIG"


def test_missing_named_file_is_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=tmp_path / "missing.toml")
    message = str(caught.value)
    assert "missing.toml" in message
    assert "does not exist" in message
    assert "config.example.toml" in message


def test_bad_toml_names_file_and_line(tmp_path):
    config = write(tmp_path / "bad.toml", 'clicksend_username = "a"\nport = = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=config)
    message = str(caught.value)
    assert str(config) in message
    assert "line 2" in message
    assert "not valid TOML" in message


def test_bad_value_names_key_source_and_fix(tmp_path):
    config = write(tmp_path / "c.toml", '[slack]\nport = "abc"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=config)
    message = str(caught.value)
    assert "slack.port" in message
    assert str(config) in message
    assert "'abc'" in message
    assert "TCP port" in message


def test_bad_environment_value_names_variable(monkeypatch):
    monkeypatch.setenv("CLICKSEND_BASE_URL", "rest.clicksend.com")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "clicksend_base_url" in message
    assert "environment variable CLICKSEND_BASE_URL" in message
    assert "http:// or https://" in message


def test_bad_flag_value_names_command_line():
    with pytest.raises(ConfigError) as caught:
        load_settings(clicksend_base_url="ftp://x")
    assert "the command line" in str(caught.value)


def test_unknown_key_is_reported(tmp_path):
    config = write(tmp_path / "c.toml", 'clicksend_usrname = "a"\n[slack]\nchanel = "C1"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=config)
    assert "unknown setting clicksend_usrname" in str(caught.value)
    assert "unknown setting slack.chanel" in str(caught.value)
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize(
    ("toml", "key", "fix"),
    [
        ('default_region = "XX"', "default_region", "ISO 3166"),
        ('timezone = "Mars/Olympus"', "timezone", "IANA time zone"),
        ('clicksend_timeout = 0', "clicksend_timeout", "greater than 0"),
        ('[webhook]\ntoken = "short"', "webhook.token", "token_urlsafe"),
        ('[slack]\napi_url = "slack.com/api"', "slack.api_url", "http://"),
        ('[slack]\nchannel_map = { "12345" = "C1" }', "slack.channel_map", "'12345'"),
        ("clicksend_timeout = inf", "clicksend_timeout", "finite number"),
        ("clicksend_max_requests_per_second = inf", "clicksend_max_requests_per_second", "finite number"),
        ("[sync]\npoll_interval = inf", "sync.poll_interval", "finite number"),
        ('cache_path = ""', "cache_path", "path of the cache database"),
    ],
)
def test_invalid_values_rejected(tmp_path, toml, key, fix):
    config = write(tmp_path / "c.toml", toml + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=config)
    message = str(caught.value)
    assert key in message
    assert fix in message


def test_secrets_masked_in_repr_and_str(monkeypatch):
    secrets = {
        "CLICKSEND_API_KEY": API_KEY,
        "SLACK_BOT_TOKEN": "xoxb-secret-bot",
        "SLACK_APP_TOKEN": "xapp-secret-app",
        "SLACK_SIGNING_SECRET": "signing-secret-value",
        "SMSDESK_WEBHOOK_TOKEN": "webhook-secret-token-123",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    for value in secrets.values():
        assert value not in repr(settings)
        assert value not in str(settings)
        assert value not in repr(settings.model_dump())
    assert "**********" in repr(settings)


@pytest.mark.parametrize(
    "toml",
    [
        "clicksend_api_key = 12345678901\n",
        '[slack]\nbot_token = ["xoxb-12345678901"]\n',
        '[webhook]\ntoken = "12345678901 has spaces"\n',
    ],
)
def test_secret_absent_from_errors(tmp_path, toml):
    config = write(tmp_path / "c.toml", toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=config)
    message = str(caught.value)
    assert "12345678901" not in message
    assert "12345678901" not in repr(caught.value)
    assert caught.value.__cause__ is None


def test_empty_credentials_count_as_missing(monkeypatch):
    monkeypatch.setenv("CLICKSEND_USERNAME", "")
    monkeypatch.setenv("CLICKSEND_API_KEY", "")
    settings = load_settings()
    assert settings.clicksend_username is None
    assert settings.clicksend_api_key is None
    assert settings.has_credentials is False


def test_has_credentials_needs_both(monkeypatch):
    monkeypatch.setenv("CLICKSEND_USERNAME", "alice")
    assert load_settings().has_credentials is False
    monkeypatch.setenv("CLICKSEND_API_KEY", API_KEY)
    assert load_settings().has_credentials is True


def test_base_url_trailing_slash_removed():
    assert load_settings(clicksend_base_url="http://127.0.0.1:5/v3/").clicksend_base_url == "http://127.0.0.1:5/v3"


def test_channel_map_keys_normalized(tmp_path):
    config = write(tmp_path / "c.toml", 'default_region = "GB"\n[slack]\nchannel_map = { "07700 900123" = "C1" }\n')
    assert load_settings(config_path=config).slack.channel_map == {"+447700900123": "C1"}


def test_cache_path_expands_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SMSDESK_CACHE", "~/cache.sqlite3")
    assert load_settings().cache_path == tmp_path / "cache.sqlite3"


def test_localize_uses_configured_zone():
    settings = load_settings(timezone="Australia/Melbourne")
    moment = settings.localize(datetime(2026, 1, 1, 11, 0))
    assert moment.astimezone(timezone.utc) == datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)


def test_localize_keeps_aware_time():
    settings = load_settings(timezone="Australia/Melbourne")
    aware = datetime(2026, 1, 1, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    assert settings.localize(aware) is aware


def test_localize_uses_system_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Australia/Melbourne")
    time.tzset()
    try:
        moment = load_settings().localize(datetime(2026, 7, 1, 10, 0))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert moment.utcoffset() == timedelta(hours=10)


def test_to_local_converts_for_display():
    settings = load_settings(timezone="Europe/London")
    local = settings.to_local(datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc))
    assert local.hour == 13


def _uncommented_example() -> str:
    """Return the example with every commented-out setting switched on."""
    lines = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if re.match(r"^# [a-z_]+ = ", line):
            line = line[2:]
        lines.append(line)
    return "\n".join(lines) + "\n"


def _setting_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        if name == "config_file":
            continue
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            keys |= _setting_keys(field.annotation, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def _file_keys(values: dict, prefix: str = "") -> set[str]:
    keys = set()
    for name, value in values.items():
        if isinstance(value, dict) and name != "channel_map":
            keys |= _file_keys(value, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_example_lists_every_setting():
    values = tomllib.loads(_uncommented_example())
    file_keys = {key for key in _file_keys(values) if not key.startswith("tui.keys.")}
    assert file_keys | {"tui.keys"} == _setting_keys(Settings)


def test_example_loads_when_uncommented(tmp_path):
    config = write(tmp_path / "c.toml", _uncommented_example().replace('token = ""', 'token = "' + "t" * 20 + '"'))
    settings = load_settings(config_path=config)
    assert settings.clicksend_base_url == "https://rest.clicksend.com/v3"
    assert settings.slack.confirm_above == Decimal("1.00")
    assert settings.tui.keys == {"next_unread": "n", "search": "slash"}


def test_example_loads_as_is():
    settings = load_settings(config_path=EXAMPLE)
    assert settings.config_file == EXAMPLE
    assert settings.has_credentials is False


def test_empty_standard_variable_is_unset(monkeypatch, tmp_path):
    config = write(tmp_path / "c.toml", 'clicksend_base_url = "http://127.0.0.1:4/v3"\n')
    monkeypatch.setenv("CLICKSEND_BASE_URL", "")
    assert load_settings(config_path=config).clicksend_base_url == "http://127.0.0.1:4/v3"
