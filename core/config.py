"""Settings: one model read from command-line flags, the environment and a TOML file.

Precedence, highest first:

1. keyword overrides given to `load_settings` (the command-line flags),
2. the standard environment variables (`CLICKSEND_USERNAME`, `SLACK_BOT_TOKEN`, ...),
3. `SMSDESK_<KEY>` environment variables for every other setting, with `__`
   between a section and its key (`SMSDESK_SLACK__PORT=3001`),
4. the TOML file,
5. the defaults below.

The file is `--config PATH`, else `$SMSDESK_CONFIG`, else
`<user config dir>/smsdesk/config.toml`. Its keys are the field names below,
with `[webhook]`, `[slack]`, `[tui]` and `[sync]` sections.

Secrets are `SecretStr`, so they print as '**********' in reprs, and
`ConfigError` messages never include the value of a secret.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from core.numbers import InvalidNumberError, normalize_number
from core.optout import DEFAULT_OPT_IN_KEYWORDS, DEFAULT_OPT_OUT_KEYWORDS

__all__ = [
    "ConfigError",
    "Settings",
    "SlackSettings",
    "SyncSettings",
    "TuiSettings",
    "WebhookSettings",
    "default_cache_path",
    "default_config_path",
    "find_config_file",
    "load_settings",
]

APP_NAME = "smsdesk"
CONFIG_ENV = "SMSDESK_CONFIG"
ENV_PREFIX = "SMSDESK_"

# The standard environment names, mapped to the setting each one sets.
STANDARD_ENV_NAMES: dict[str, tuple[str, ...]] = {
    "CLICKSEND_USERNAME": ("clicksend_username",),
    "CLICKSEND_API_KEY": ("clicksend_api_key",),
    "CLICKSEND_BASE_URL": ("clicksend_base_url",),
    "SMSDESK_CACHE": ("cache_path",),
    "SMSDESK_WEBHOOK_TOKEN": ("webhook", "token"),
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_APP_TOKEN": ("slack", "app_token"),
    "SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "SLACK_API_URL": ("slack", "api_url"),
}

# The webhook token is a URL path segment, so it is limited to characters
# that need no escaping, and long enough that it cannot be guessed.
_WEBHOOK_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,}$")


# Paths --------------------------------------------------------------------


def default_config_path() -> Path:
    """Return the configuration file used when neither --config nor $SMSDESK_CONFIG is set."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_cache_path() -> Path:
    """Return the cache database used when neither `cache_path` nor $SMSDESK_CACHE is set."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "cache.sqlite3"


def find_config_file(
    config_path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> tuple[Path, str]:
    """Return the configuration file to read and where that choice came from.

    The second item is '--config', '$SMSDESK_CONFIG' or 'default'. The file
    may not exist: a missing default file means "defaults only", while
    `load_settings` rejects a missing file that was named explicitly.
    """
    environ = os.environ if environ is None else environ
    if config_path:
        return Path(config_path).expanduser(), "--config"
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]).expanduser(), f"${CONFIG_ENV}"
    return default_config_path(), "default"


# Errors -------------------------------------------------------------------


class ConfigError(ValueError):
    """The configuration cannot be read or has invalid values.

    `problems` lists one line per problem, each naming the setting, where it
    was set and what to do. Secret values never appear in them.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"Invalid configuration: {problems[0]}")
        else:
            super().__init__("Invalid configuration:\n" + "\n".join(f"  - {problem}" for problem in problems))


# Sections -----------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class WebhookSettings(_Section):
    """The `[webhook]` section: where ClickSend pushes inbound messages and delivery receipts."""

    token: SecretStr | None = Field(
        default=None,
        description="Secret path segment of the webhook URLs /clicksend/inbound/TOKEN and "
        "/clicksend/receipts/TOKEN; at least 16 letters, digits, '-' or '_'. Without it, the webhook routes are off.",
    )
    host: str = Field(default="127.0.0.1", description="Address that `smsdesk serve` listens on.")
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port that `smsdesk serve` listens on.")

    @field_validator("token")
    @classmethod
    def _check_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is None or not token.get_secret_value():
            return None
        if not _WEBHOOK_TOKEN.match(token.get_secret_value()):
            raise ValueError(
                "must be at least 16 letters, digits, '-' or '_'; "
                "create one with: python -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        return token


class SlackSettings(_Section):
    """The `[slack]` section: the Slack bot's tokens, channels and who may send."""

    bot_token: SecretStr | None = Field(default=None, description="Bot token (xoxb-...).")
    app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-...); when set, the bot uses Socket Mode."
    )
    signing_secret: SecretStr | None = Field(
        default=None, description="Signing secret that verifies Slack's HTTP requests when Socket Mode is off."
    )
    api_url: str = Field(default="https://slack.com/api/", description="Base URL of the Slack Web API.")
    default_channel: str | None = Field(
        default=None, description="Channel ID (C...) that receives inbound SMS of numbers without a channel_map entry."
    )
    channel_map: dict[str, str] = Field(
        default_factory=dict, description="Our ClickSend number (E.164) to the channel ID its inbound SMS go to."
    )
    allowed_users: list[str] = Field(
        default_factory=list, description="Slack user IDs (U...) allowed to send SMS; empty puts no limit by user."
    )
    allowed_groups: list[str] = Field(
        default_factory=list, description="Slack user group IDs (S...) whose members may send SMS."
    )
    allowed_channels: list[str] = Field(
        default_factory=list, description="Channel IDs where /sms works; empty allows every channel."
    )
    confirm_above: Decimal | None = Field(
        default=Decimal("1.00"),
        ge=0,
        description="A send that costs more than this, in the account's currency, asks for confirmation.",
    )
    confirm_recipients_above: int | None = Field(
        default=10, ge=0, description="A send to more recipients than this asks for confirmation."
    )
    two_way: bool = Field(
        default=True, description="Replies in an SMS thread in Slack are sent back as SMS to that number."
    )
    thread_quiet_days: int = Field(
        default=7, ge=1, description="After this many days without messages, a conversation starts a new thread."
    )
    host: str = Field(default="127.0.0.1", description="Address the bot listens on in HTTP mode.")
    port: int = Field(default=3000, ge=0, le=65535, description="TCP port the bot listens on in HTTP mode.")

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, url: str) -> str:
        _check_http_url(url)
        return url if url.endswith("/") else url + "/"


class TuiSettings(_Section):
    """The `[tui]` section: the terminal inbox."""

    send_key: str = Field(default="ctrl+s", description="Key that sends the message in the composer.")
    confirm_above: Decimal | None = Field(
        default=Decimal("1.00"),
        ge=0,
        description="A send that costs more than this, in the account's currency, asks for confirmation.",
    )
    keys: dict[str, str] = Field(
        default_factory=dict, description="Binding id to keys, such as next_unread = \"n,j\"; see the help screen."
    )
    theme: str = Field(default="textual-dark", description="Textual theme name.")


class SyncSettings(_Section):
    """The `[sync]` section: polling ClickSend for inbound messages and receipts."""

    poll_interval: float = Field(
        default=30.0,
        ge=0,
        allow_inf_nan=False,
        description="Seconds between polls of inbound messages and receipts; 0 turns polling off.",
    )


# Settings -----------------------------------------------------------------


class Settings(BaseSettings):
    """Every smsdesk setting; build it with `load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    config_file: Path | None = Field(
        default=None, description="The TOML file these settings were read from, or None when no file was read."
    )

    clicksend_username: str | None = Field(default=None, description="ClickSend API username.")
    clicksend_api_key: SecretStr | None = Field(
        default=None, description="ClickSend API key (Dashboard, Developers, API Credentials)."
    )
    clicksend_base_url: str = Field(
        default="https://rest.clicksend.com/v3", description="Base URL of the ClickSend REST API v3."
    )
    clicksend_timeout: float = Field(
        default=30.0, gt=0, allow_inf_nan=False, description="Seconds to wait for a ClickSend response."
    )
    clicksend_max_requests_per_second: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Client-side limit on requests per second to ClickSend; unset for no limit.",
    )

    default_region: str = Field(
        default="AU", description="Country (ISO 3166 code) of phone numbers written without a country code."
    )
    timezone: str | None = Field(
        default=None,
        description="IANA time zone for times without an offset and for display, such as Australia/Melbourne; "
        "unset uses the system's local zone.",
    )
    cache_path: Path = Field(default_factory=default_cache_path, description="SQLite cache database file.")

    opt_out_keywords: list[str] = Field(
        default_factory=lambda: list(DEFAULT_OPT_OUT_KEYWORDS),
        description="An inbound message that is only one of these words opts its sender out.",
    )
    opt_in_keywords: list[str] = Field(
        default_factory=lambda: list(DEFAULT_OPT_IN_KEYWORDS),
        description="An inbound message that is only one of these words opts its sender back in.",
    )

    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    tui: TuiSettings = Field(default_factory=TuiSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _StandardEnvSource(settings_cls), env_settings, _TomlFileSource(settings_cls))

    @property
    def has_credentials(self) -> bool:
        """True when both the ClickSend username and API key are set."""
        return bool(self.clicksend_username) and self.clicksend_api_key is not None

    @property
    def zone(self) -> tzinfo | None:
        """The configured time zone, or None for the system's local zone."""
        return ZoneInfo(self.timezone) if self.timezone else None

    def localize(self, naive: datetime) -> datetime:
        """Attach the configured time zone (or the system's, with its daylight saving rules) to a naive time."""
        if naive.tzinfo is not None:
            return naive
        if self.zone is None:
            return naive.astimezone()
        return naive.replace(tzinfo=self.zone)

    def to_local(self, moment: datetime) -> datetime:
        """Convert an aware time to the configured time zone for display."""
        return moment.astimezone(self.zone)

    @field_validator("clicksend_username", mode="before")
    @classmethod
    def _empty_username_is_unset(cls, username: Any) -> Any:
        return None if username == "" else username

    @field_validator("clicksend_api_key")
    @classmethod
    def _empty_key_is_unset(cls, api_key: SecretStr | None) -> SecretStr | None:
        if api_key is not None and not api_key.get_secret_value():
            return None
        return api_key

    @field_validator("clicksend_base_url")
    @classmethod
    def _check_base_url(cls, url: str) -> str:
        _check_http_url(url)
        return url.rstrip("/")

    @field_validator("default_region")
    @classmethod
    def _check_region(cls, region: str) -> str:
        region = region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a two-letter ISO 3166 country code such as AU, GB or US")
        return region

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str | None) -> str | None:
        if not name:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name such as Australia/Sydney or Europe/London") from None
        return name

    @field_validator("cache_path", mode="before")
    @classmethod
    def _expand_cache_path(cls, path: Any) -> Any:
        if isinstance(path, str) and not path.strip():
            raise ValueError("must be the path of the cache database file, such as ~/smsdesk/cache.sqlite3")
        return Path(path).expanduser() if isinstance(path, str | Path) else path

    @field_validator("opt_out_keywords", "opt_in_keywords")
    @classmethod
    def _upper_keywords(cls, keywords: list[str]) -> list[str]:
        return [keyword.strip().upper() for keyword in keywords if keyword.strip()]

    @model_validator(mode="after")
    def _normalize_channel_map(self) -> Settings:
        normalized = {}
        for number, channel in self.slack.channel_map.items():
            try:
                normalized[normalize_number(number, default_region=self.default_region)] = channel
            except InvalidNumberError as error:
                raise ValueError(f"slack.channel_map: {error}") from None
        self.slack.channel_map = normalized
        return self


def load_settings(*, config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the settings: `overrides` (flags), then the environment, then the file, then defaults.

    Overrides whose value is None are ignored, so command-line flags that were
    not given can be passed straight through. A section can be overridden
    with a dict (`slack={"port": 3001}`).
    Raises ConfigError naming each bad setting, where it was set and the fix.
    """
    explicit = {key: value for key, value in overrides.items() if value is not None}
    if config_path is not None:
        explicit["config_file"] = Path(config_path)
    try:
        return Settings(**explicit)
    except ValidationError as error:
        raise ConfigError(_describe_errors(error, explicit)) from None


# Sources ------------------------------------------------------------------


class _StandardEnvSource(PydanticBaseSettingsSource):
    """The standard environment names, such as CLICKSEND_API_KEY and SLACK_BOT_TOKEN."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for env_name, location in STANDARD_ENV_NAMES.items():
            value = os.environ.get(env_name)
            # An empty variable (`export CLICKSEND_BASE_URL=`) counts as unset.
            if not value:
                continue
            target = values
            for key in location[:-1]:
                target = target.setdefault(key, {})
            target[location[-1]] = value
        return values


class _TomlFileSource(PydanticBaseSettingsSource):
    """The TOML file named by --config, $SMSDESK_CONFIG or the default location."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path, origin = find_config_file(self.current_state.get("config_file"))
        if not path.exists():
            if origin == "default":
                return {}
            raise ConfigError(
                [f"configuration file {path} (from {origin}) does not exist; create it from config.example.toml "
                 f"or point {origin} at an existing file"]
            )
        try:
            with path.open("rb") as file:
                values = tomllib.load(file)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError([f"{path} is not valid TOML ({error}); fix the syntax at that line"]) from None
        except OSError as error:
            raise ConfigError([f"cannot read {path}: {error.strerror}"]) from None
        values["config_file"] = path
        return values


# Error messages -----------------------------------------------------------


def _describe_errors(error: ValidationError, overrides: Mapping[str, Any]) -> list[str]:
    problems = []
    for detail in error.errors(include_url=False):
        location = tuple(str(part) for part in detail["loc"])
        key = ".".join(location)
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            problems.append(
                f"unknown setting {key} in {_origin(location, overrides)}; "
                "check the spelling against config.example.toml"
            )
            continue
        if not location:
            problems.append(f"{message} (set in {_origin(location, overrides)})")
            continue
        value_text = "" if _is_secret(location) else f" (got {detail['input']!r})"
        # A failed check of our own already states what a valid value is.
        hint = "" if detail["type"] == "value_error" else _hint(location)
        problems.append(f"{key} in {_origin(location, overrides)}: {message}{value_text}{hint}")
    return problems


def _origin(location: tuple[str, ...], overrides: Mapping[str, Any]) -> str:
    """Name where a setting came from, checking sources in order of precedence."""
    if location and location[0] in overrides and location[0] != "config_file":
        return "the command line"
    for env_name, target in STANDARD_ENV_NAMES.items():
        if target == location[: len(target)] and env_name in os.environ:
            return f"environment variable {env_name}"
    env_name = ENV_PREFIX + "__".join(location).upper()
    if env_name in os.environ:
        return f"environment variable {env_name}"
    if location and f"{ENV_PREFIX}{location[0].upper()}" in os.environ:
        return f"environment variable {ENV_PREFIX}{location[0].upper()}"
    path, _ = find_config_file(overrides.get("config_file"))
    return str(path)


def _hint(location: tuple[str, ...]) -> str:
    """Return the setting's description, which states what a valid value is."""
    model: type[BaseModel] = Settings
    field = None
    for part in location:
        field = model.model_fields.get(part)
        if field is None:
            return ""
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    if field is None or not field.description:
        return ""
    return f". Expected: {field.description}"


def _is_secret(location: tuple[str, ...]) -> bool:
    model: type[BaseModel] = Settings
    for part in location:
        field = model.model_fields.get(part)
        if field is None:
            # An unknown key or a list index. Hide the value, because its parent may be a secret.
            return True
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            continue
        return "SecretStr" in repr(annotation)
    return False


def _check_http_url(url: str) -> None:
    if not re.match(r"^https?://[^/\s]+", url):
        raise ValueError("must be an http:// or https:// URL")
