"""`smsdesk config path` and `smsdesk config check`."""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

from core.cli.context import settings_from
from core.cli.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from core.cli.output import fail, note, print_json
from core.config import ConfigError, Settings, find_config_file


def cmd_config(args: argparse.Namespace) -> int:
    if args.config_action == "path":
        return _config_path(args)
    return _config_check(args)


def _config_path(args: argparse.Namespace) -> int:
    path, origin = find_config_file(getattr(args, "config", None))
    exists = path.is_file()
    if args.json:
        print_json({"path": str(path), "source": origin, "exists": exists})
    else:
        sys.stdout.write(f"{path}\n")
        note(f"from {origin}; " + ("the file exists" if exists else "the file does not exist, so defaults apply"))
    return EXIT_OK


def _config_check(args: argparse.Namespace) -> int:
    """Report invalid settings and what each part of smsdesk still needs."""
    try:
        settings = settings_from(args)
    except ConfigError as error:
        if args.json:
            print_json({"valid": False, "problems": error.problems, "missing": []})
        else:
            for problem in error.problems:
                fail(problem)
        return EXIT_USAGE

    missing = _missing_settings(settings)
    warnings = _file_warnings(settings.config_file)
    if args.json:
        print_json(
            {
                "valid": True,
                "file": settings.config_file,
                "clicksend_base_url": settings.clicksend_base_url,
                "cache_path": settings.cache_path,
                "default_region": settings.default_region,
                "timezone": settings.timezone,
                "has_credentials": settings.has_credentials,
                "missing": missing,
                "warnings": warnings,
            }
        )
    else:
        sys.stdout.write(f"file: {settings.config_file or 'none (defaults and environment only)'}\n")
        sys.stdout.write(f"ClickSend: {settings.clicksend_base_url}")
        sys.stdout.write(f" as {settings.clicksend_username}\n" if settings.has_credentials else " (no credentials)\n")
        sys.stdout.write(f"cache: {settings.cache_path}\n")
        sys.stdout.write(f"numbers without a country code: {settings.default_region}\n")
        sys.stdout.write(f"time zone: {settings.timezone or 'the system zone'}\n")
        for item in missing:
            sys.stdout.write(f"missing: {item['setting']}: {item['effect']}\n")
        for warning in warnings:
            sys.stdout.write(f"warning: {warning}\n")
        if not missing:
            sys.stdout.write("everything is set\n")
    return EXIT_FAILURE if not settings.has_credentials else EXIT_OK


# TOML keys that hold a secret, by section ("" is the top level).
_SECRET_FILE_KEYS = {
    "": {"clicksend_api_key"},
    "webhook": {"token"},
    "slack": {"bot_token", "app_token", "signing_secret"},
}


def _file_warnings(path: Path | None) -> list[str]:
    """Return a warning when the configuration file contains a secret that other users may read."""
    if path is None or os.name != "posix":
        return []
    mode = path.stat().st_mode
    if not mode & 0o077:
        return []
    with path.open("rb") as file:
        values = tomllib.load(file)
    for section, keys in _SECRET_FILE_KEYS.items():
        table = values if section == "" else values.get(section, {})
        if keys & set(table):
            return [f"{path} contains secrets and other users can read it; run: chmod 600 {path}"]
    return []


def _missing_settings(settings: Settings) -> list[dict[str, str]]:
    """List unset settings, each with what does not work without it."""
    without_clicksend = "needed to use ClickSend; without it smsdesk opens the demo sandbox"
    checks = [
        (not settings.clicksend_username, "CLICKSEND_USERNAME (clicksend_username)", without_clicksend),
        (settings.clicksend_api_key is None, "CLICKSEND_API_KEY (clicksend_api_key)", without_clicksend),
        (
            settings.webhook.token is None,
            "SMSDESK_WEBHOOK_TOKEN ([webhook] token)",
            "`smsdesk serve` polls only, no webhook routes",
        ),
        (settings.slack.bot_token is None, "SLACK_BOT_TOKEN ([slack] bot_token)", "needed by `smsdesk slack`"),
        (
            settings.slack.app_token is None and settings.slack.signing_secret is None,
            "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET",
            "`smsdesk slack` needs one: the app token for Socket Mode or the signing secret for HTTP",
        ),
        (
            settings.slack.bot_token is not None
            and settings.slack.default_channel is None
            and not settings.slack.channel_map,
            "SMSDESK_SLACK__DEFAULT_CHANNEL ([slack] default_channel) or [slack] channel_map",
            "`smsdesk slack` posts inbound SMS nowhere; set default_channel to a channel ID such as "
            "C0123456789 (in Slack: channel details, About tab, at the bottom)",
        ),
    ]
    return [{"setting": setting, "effect": effect} for is_missing, setting, effect in checks if is_missing]
