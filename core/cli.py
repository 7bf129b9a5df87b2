"""The `smsdesk` command: scripts' access to ClickSend, and the entry to the inbox and the bot.

Every subcommand is one function in `COMMANDS`. Data goes to stdout (a table,
or JSON with --json), logs and errors go to stderr. Exit codes: 0 success,
1 a ClickSend, network or partial send failure, 2 an invalid argument or
setting, 130 interrupted.

The front-ends (`tui`, `slack`), the sandbox and the store's `sync` and
`serve` are imported inside their subcommand, so that `core` does not depend
on them and a script that sends one SMS does not load Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import dataclasses
import enum
import json
import logging
import os
import re
import sys
import tomllib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from core import status
from core.config import ConfigError, Settings, find_config_file, load_settings
from core.errors import ClickSendError, NotFoundError, OutcomeUnknownError, TransportError
from core.numbers import InvalidNumberError, InvalidSenderError, normalize_number, validate_sender
from core.service import MAX_SCHEDULE_AHEAD, SendValidationError, TemplateError

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# A WHEN of this many digits or more is a Unix timestamp. Shorter digit runs
# are ISO 8601 basic dates such as 20261224.
_UNIX_TIMESTAMP = re.compile(r"^\d{9,}(\.\d+)?$")

# Fields that ClickSend's history accepts in `q=field:value`.
HISTORY_QUERY_FIELDS = ("status", "to", "from", "message_id", "subaccount_id")

# Next steps for a message that ClickSend rejected inside a successful send,
# keyed by its per-message status (ClickSend REST v3 response codes). The
# {sender} field is filled with the --from value.
REJECTION_NEXT_STEPS = {
    "INVALID_RECIPIENT": "ClickSend rejected the number as invalid; check it",
    "COUNTRY_NOT_ENABLED": "the account may not send to this country; enable it in the ClickSend dashboard",
    "INVALID_SENDER_ID": (
        "the sender {sender} is not approved for this account; use an approved one or leave --from out"
    ),
    "INSUFFICIENT_CREDIT": "the account is out of credit; top it up in the ClickSend dashboard",
    "THROTTLED": "the same text went to this number seconds ago; wait a little or change the text",
    "EMPTY_MESSAGE": "the text is empty; give --body TEXT",
}

DEFAULT_LIST_LIMIT = 100
BODY_PREVIEW_LENGTH = 40


class UsageError(Exception):
    """A command-line value is invalid. The message names the value and what to give instead."""


# --- times -------------------------------------------------------------------


def parse_when(text: str, *, settings: Settings, option: str = "WHEN") -> datetime:
    """Parse a WHEN argument into a UTC-aware datetime.

    Accepts ISO 8601 with an offset (`2026-12-24T09:00+11:00`, `...Z`), without
    one (read in the configured time zone, else the system's), a date alone
    (midnight), or Unix seconds (`1798063200`).
    """
    value = text.strip()
    if _UNIX_TIMESTAMP.match(value):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise UsageError(f"{option} {text!r} is out of range for a Unix timestamp") from None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"invalid time {text!r} for {option}: use ISO 8601 such as 2026-12-24T09:00 "
            f"(in {_zone_name(settings)}), 2026-12-24T09:00+11:00, or Unix seconds such as 1798063200"
        ) from None
    return settings.localize(moment).astimezone(UTC)


def check_schedule(moment: datetime, *, now: datetime, settings: Settings) -> datetime:
    """Return `moment`, or raise UsageError when it is in the past or further ahead than the send service accepts."""
    shown = _format_time(moment, settings)
    if moment <= now:
        raise UsageError(
            f"--schedule {shown} is in the past (now is {_format_time(now, settings)}); "
            "give a future time, or leave --schedule out to send now"
        )
    latest = now + MAX_SCHEDULE_AHEAD
    if moment > latest:
        raise UsageError(
            f"--schedule {shown} is more than {MAX_SCHEDULE_AHEAD.days} days ahead; "
            f"give a time no later than {_format_time(latest, settings)}"
        )
    return moment


def _format_time(moment: datetime | None, settings: Settings) -> str:
    if moment is None:
        return ""
    return settings.to_local(moment).isoformat(timespec="minutes")


def _table_time(moment: datetime | None, settings: Settings) -> str:
    """Format a time for a table: local, to the minute, without the offset."""
    if moment is None:
        return ""
    return settings.to_local(moment).strftime("%Y-%m-%d %H:%M")


def _table_number(number: str | None, settings: Settings) -> str:
    """Show a number in E.164 even where ClickSend sends it without '+'."""
    if not number:
        return ""
    try:
        return normalize_number(number, default_region=settings.default_region)
    except (InvalidNumberError, ValueError):
        return number


def _zone_name(settings: Settings) -> str:
    return settings.timezone or "the system's local time zone"


# --- output ------------------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """Convert models, dataclasses, Decimals and datetimes into plain JSON values.

    Money stays exact as a string ("0.0770"), times are ISO 8601 in UTC, and
    secrets are masked.
    """
    if isinstance(value, BaseModel):
        return to_jsonable(value.model_dump(by_alias=True))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable({field.name: getattr(value, field.name) for field in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, SecretStr):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    json.dump(to_jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print rows as left-aligned columns separated by two spaces."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [headers, ["-" * width for width in widths], *cells]
    for line in lines:
        sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _preview(text: str | None) -> str:
    flat = " ".join((text or "").split())
    if len(flat) <= BODY_PREVIEW_LENGTH:
        return flat
    return flat[: BODY_PREVIEW_LENGTH - 1] + "…"


def fail(message: str) -> None:
    """Print one error line to stderr."""
    sys.stderr.write(f"smsdesk: error: {message}\n")


def note(message: str) -> None:
    """Print an informational line to stderr, so stdout stays data only."""
    sys.stderr.write(f"smsdesk: {message}\n")


# --- settings, client and service -----------------------------------------------


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Load the settings with the command line's --config, --base-url and `overrides` on top."""
    return load_settings(
        config_path=getattr(args, "config", None), clicksend_base_url=getattr(args, "base_url", None), **overrides
    )


def _require_credentials(settings: Settings) -> None:
    if settings.has_credentials:
        return
    where = settings.config_file or find_config_file()[0]
    raise UsageError(
        "ClickSend credentials are missing: set CLICKSEND_USERNAME and CLICKSEND_API_KEY, "
        f"or clicksend_username and clicksend_api_key in {where}. To try smsdesk without an account, "
        "run `smsdesk sandbox` and pass its URL with --base-url, with CLICKSEND_USERNAME=demo-user "
        "and CLICKSEND_API_KEY=demo-key"
    )


@contextlib.asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[Any]:
    """Open a ClickSendClient from the settings, or raise UsageError when credentials are missing."""
    from core.client import ClickSendClient

    _require_credentials(settings)
    try:
        async with ClickSendClient(
            username=settings.clicksend_username,
            api_key=settings.clicksend_api_key,
            base_url=settings.clicksend_base_url,
            timeout=settings.clicksend_timeout,
            max_requests_per_second=settings.clicksend_max_requests_per_second,
        ) as client:
            yield client
    except TransportError as error:
        error.add_note(f"base URL {settings.clicksend_base_url}")
        raise


@contextlib.asynccontextmanager
async def open_service(settings: Settings) -> AsyncIterator[Any]:
    """Open the send service: the client, the cache and `SmsService` over both."""
    from core.service import SmsService
    from core.store import Store

    try:
        settings.cache_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"cannot create the cache directory {settings.cache_path.parent}: {error.strerror}; "
            "set SMSDESK_CACHE (or cache_path) to a file in a writable directory"
        ) from None
    async with open_client(settings) as client:
        async with Store.open(settings.cache_path) as store:
            yield SmsService(client=client, store=store, settings=settings)


# --- send, price, cancel -------------------------------------------------------


def _recipients(args: argparse.Namespace, settings: Settings) -> list[str]:
    return [normalize_number(raw, default_region=settings.default_region) for raw in args.to]


def _template_values(pairs: Sequence[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise UsageError(f"invalid --var {pair!r}: use NAME=VALUE, such as --var first_name=Ann")
        values[name] = value
    return values


async def _message_body(args: argparse.Namespace, service: Any, values: dict[str, str]) -> str:
    if args.template is not None:
        # Rendering reads the cached templates, so fetch the current ones first.
        await service.templates()
        return await service.render_template(args.template, values)
    if args.body == "-":
        return sys.stdin.read()
    return args.body


def _sender(args: argparse.Namespace, settings: Settings) -> str | None:
    if args.sender is None:
        return None
    return validate_sender(args.sender, default_region=settings.default_region)


def _schedule(args: argparse.Namespace, settings: Settings) -> datetime | None:
    if args.schedule is None:
        return None
    moment = parse_when(args.schedule, settings=settings, option="--schedule")
    return check_schedule(moment, now=datetime.now(UTC), settings=settings)


async def cmd_send(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    to = _recipients(args, settings)
    sender = _sender(args, settings)
    schedule = _schedule(args, settings)
    values = _template_values(args.var)

    async with open_service(settings) as service:
        body = await _message_body(args, service, values)
        outcome = await service.send(
            to=to,
            body=body,
            sender=sender,
            schedule=schedule,
            custom_string=args.custom_string,
            allow_opted_out=args.allow_opted_out,
            origin={"via": "cli"},
        )

    if args.json:
        print_json(_outcome_json(outcome))
    else:
        print_table(
            ["to", "status", "message id", "parts", "price", "schedule", "reason"],
            [
                [
                    recipient.to,
                    recipient.status,
                    recipient.message_id,
                    recipient.parts,
                    recipient.price,
                    _table_time(schedule, settings),
                    recipient.error,
                ]
                for recipient in outcome.recipients
            ],
        )
    return _report_outcome(outcome, sender=sender)


def _outcome_json(outcome: Any) -> dict[str, Any]:
    data = to_jsonable(outcome)
    data["accepted_count"] = outcome.accepted_count
    data["failed_count"] = outcome.failed_count
    data["pending_count"] = outcome.pending_count
    for recipient, item in zip(outcome.recipients, data["recipients"], strict=True):
        item["accepted"] = recipient.accepted
    return data


def _report_outcome(outcome: Any, *, sender: str | None) -> int:
    """Explain on stderr every recipient that was not accepted, and return the exit code."""
    for recipient in outcome.recipients:
        if recipient.status == status.FAILED:
            reason = recipient.error or "no reason given"
            shown_sender = repr(sender) if sender else "(account default)"
            next_step = REJECTION_NEXT_STEPS.get(reason, "").format(sender=shown_sender)
            fail(f"the message to {recipient.to} failed: {reason}" + (f" ({next_step})" if next_step else ""))
    if outcome.pending_count:
        fail(
            f"{outcome.pending_count} message(s) are unconfirmed: the connection failed after the request "
            "left, so ClickSend may have sent them. Do not send them again by hand: `smsdesk sync` checks "
            "ClickSend's history and sends only those that never arrived"
        )
    return EXIT_OK if outcome.accepted_count == len(outcome.recipients) else EXIT_FAILURE


async def cmd_price(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    to = _recipients(args, settings)
    sender = _sender(args, settings)
    # The schedule does not change the price. It is checked so that a send
    # command turned into a price command reports the same mistakes.
    _schedule(args, settings)
    values = _template_values(args.var)

    async with open_service(settings) as service:
        body = await _message_body(args, service, values)
        quote = await service.price(to=to, body=body, sender=sender)

    if args.json:
        print_json(quote)
        return EXIT_OK
    print_table(
        ["to", "country", "parts", "encoding", "price", "status", "opted out"],
        [
            [
                line.to,
                line.country,
                line.parts,
                quote.encoding,
                line.price,
                line.status,
                "yes" if line.opted_out else "",
            ]
            for line in quote.recipients
        ],
    )
    sys.stdout.write(f"total: {_cell(quote.total)} {quote.currency or ''}".rstrip() + "\n")
    return EXIT_OK


async def cmd_cancel(args: argparse.Namespace) -> int:
    if args.all == (args.message_id is not None):
        raise UsageError("give either a MESSAGE_ID or --all, such as `smsdesk cancel --all --custom-string order-42`")
    if args.custom_string is not None and not args.all:
        raise UsageError("--custom-string only works with --all; to cancel one message give its MESSAGE_ID alone")
    settings = settings_from(args)

    async with open_service(settings) as service:
        if args.all:
            count = await service.cancel_all(custom_string=args.custom_string)
        else:
            try:
                await service.cancel(args.message_id)
            except NotFoundError as error:
                error.add_note(
                    "only a scheduled message that has not been sent can be cancelled; "
                    "`smsdesk history --query status:Scheduled` lists them"
                )
                raise
            count = 1

    if args.json:
        print_json({"cancelled": count, "message_id": args.message_id, "custom_string": args.custom_string})
    elif args.all:
        sys.stdout.write(f"cancelled {count} scheduled message{'s' if count != 1 else ''}\n")
    else:
        sys.stdout.write(f"cancelled {args.message_id}\n")
    return EXIT_OK


# --- templates -------------------------------------------------------------------


async def cmd_templates(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with open_service(settings) as service:
        action = args.templates_action
        if action == "list":
            templates = await service.templates()
            if args.json:
                print_json(templates)
            else:
                print_table(
                    ["id", "name", "body"],
                    [[template.template_id, template.name, _preview(template.body)] for template in templates],
                )
            return EXIT_OK

        if action == "add":
            template = await service.create_template(args.name, await _template_text(args))
        else:
            template = await _find_template(service, args.template)
            if action == "edit":
                if args.name is None and args.body is None:
                    raise UsageError("nothing to change: give --name NEW_NAME, --body TEXT or both")
                template = await service.update_template(
                    template.template_id,
                    name=args.name if args.name is not None else template.name,
                    body=await _template_text(args) if args.body is not None else template.body,
                )
            elif action == "rm":
                await service.delete_template(template.template_id)

    if args.json:
        print_json({"deleted": True, **to_jsonable(template)} if action == "rm" else template)
    elif action == "rm":
        sys.stdout.write(f"deleted template {template.template_id} {template.name}\n")
    else:
        sys.stdout.write(f"id: {template.template_id}\nname: {template.name}\n\n{template.body}\n")
    return EXIT_OK


async def _template_text(args: argparse.Namespace) -> str:
    if args.body == "-":
        return sys.stdin.read()
    if not args.body:
        raise UsageError("the template body is empty: give --body TEXT, or --body - to read it from stdin")
    return args.body


async def _find_template(service: Any, key: str) -> Any:
    """Find a template by id, else by exact name, else by name ignoring case."""
    templates = list(await service.templates())
    for template in templates:
        if str(template.template_id) == key:
            return template
    for match in (lambda name: name == key, lambda name: name.casefold() == key.casefold()):
        found = [template for template in templates if match(template.name)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            ids = ", ".join(str(template.template_id) for template in found)
            raise UsageError(f"several templates are named {key!r} (ids {ids}); give the id instead")
    raise UsageError(f"template {key!r} not found; `smsdesk templates list` shows every id and name")


# --- history, receipts, inbound --------------------------------------------------------


def _history_query(queries: Sequence[str], settings: Settings) -> str | None:
    """Build ClickSend's `q` (`field:value,field:value`) from --query arguments."""
    parts = []
    for query in queries:
        field, separator, value = query.partition(":")
        field = field.strip().lower()
        if not separator or not value.strip():
            raise UsageError(f"invalid --query {query!r}: use FIELD:VALUE, such as status:Delivered or to:+61491570156")
        if field not in HISTORY_QUERY_FIELDS:
            raise UsageError(
                f"invalid --query field {field!r} in {query!r}: ClickSend's history filters on "
                + ", ".join(HISTORY_QUERY_FIELDS)
            )
        value = value.strip()
        # Numbers are matched in E.164, and a sender ID such as ACMEPLUMB as written.
        if field in ("to", "from") and not any(char.isalpha() for char in value):
            value = normalize_number(value, default_region=settings.default_region)
        parts.append(f"{field}:{value}")
    return ",".join(parts) or None


def _limit(args: argparse.Namespace, default: int | None) -> int | None:
    limit = default if args.limit is None else args.limit
    if limit is not None and limit < 0:
        raise UsageError(f"invalid --limit {limit}: give 0 for no limit or a positive number")
    return limit or None


async def _take(items: AsyncIterator[Any], limit: int | None) -> list[Any]:
    """Collect up to `limit` items, closing the page iterator when stopping early."""
    taken: list[Any] = []
    async with contextlib.aclosing(items):  # type: ignore[type-var]
        async for item in items:
            taken.append(item)
            if limit is not None and len(taken) >= limit:
                break
    return taken


HISTORY_CSV_COLUMNS = (
    "date", "direction", "from", "to", "body", "status", "status_code", "status_text", "error_code",
    "error_text", "message_id", "message_parts", "message_price", "custom_string", "country", "carrier",
)


async def cmd_history(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    query = _history_query(args.query, settings)
    since = parse_when(args.since, settings=settings, option="--since") if args.since else None
    until = parse_when(args.until, settings=settings, option="--until") if args.until else None
    if since and until and since > until:
        raise UsageError(f"--since {args.since} is after --until {args.until}; swap them")
    # An export takes every matching row unless --limit is given.
    limit = _limit(args, None if args.export else DEFAULT_LIST_LIMIT)

    async with open_client(settings) as client:
        # A listing shows the newest messages first, and an export is chronological.
        order = "date:asc" if args.export else "date:desc"
        rows = await _take(client.iter_history(q=query, order_by=order, date_from=since, date_to=until), limit)

    if args.export:
        count = _write_history_csv(Path(args.export), rows)
        note(f"wrote {count} message{'s' if count != 1 else ''} to {args.export}")
        if args.json:
            print_json({"exported": count, "file": str(Path(args.export).resolve())})
        return EXIT_OK

    if args.json:
        print_json(rows)
        return EXIT_OK
    print_table(
        ["date", "direction", "from", "to", "status", "parts", "price", "message id", "body"],
        [
            [
                _table_time(row.date, settings),
                row.direction,
                _table_number(row.from_, settings),
                _table_number(row.to, settings),
                row.status,
                row.message_parts,
                row.message_price,
                row.message_id,
                _preview(row.body),
            ]
            for row in rows
        ],
    )
    return EXIT_OK


def _write_history_csv(path: Path, rows: Sequence[Any]) -> int:
    try:
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(HISTORY_CSV_COLUMNS)
            for row in rows:
                values = to_jsonable(row)
                writer.writerow([_cell(values.get(column)) for column in HISTORY_CSV_COLUMNS])
    except OSError as error:
        raise UsageError(f"cannot write --export {path}: {error.strerror}; choose a writable path") from None
    return len(rows)


async def cmd_receipts(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with open_client(settings) as client:
        receipts = await _take(client.iter_receipts(), _limit(args, DEFAULT_LIST_LIMIT))

    if args.json:
        print_json(receipts)
        return EXIT_OK
    print_table(
        ["time", "message id", "status", "code", "error", "custom string"],
        [
            [
                _table_time(receipt.timestamp, settings),
                receipt.message_id,
                receipt.status_text or receipt.status,
                receipt.status_code,
                receipt.error_text,
                receipt.custom_string,
            ]
            for receipt in receipts
        ],
    )
    return EXIT_OK


async def cmd_inbound(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with open_client(settings) as client:
        messages = await _take(client.iter_inbound(), _limit(args, DEFAULT_LIST_LIMIT))

    if args.json:
        print_json(messages)
        return EXIT_OK
    print_table(
        ["time", "from", "to", "message id", "reply to", "body"],
        [
            [
                _table_time(message.timestamp, settings),
                _table_number(message.from_, settings),
                _table_number(message.to, settings),
                message.message_id,
                message.original_message_id,
                _preview(message.body),
            ]
            for message in messages
        ],
    )
    return EXIT_OK


# --- config -------------------------------------------------------------------------


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
    """Return a warning when the configuration file holds a secret that other users may read."""
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
            return [f"{path} holds secrets and other users can read it; run: chmod 600 {path}"]
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
    ]
    return [{"setting": setting, "effect": effect} for is_missing, setting, effect in checks if is_missing]


# --- front-ends and services of other packages ---------------------------------------------


def cmd_tui(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    from tui.app import run

    return run(settings, demo=getattr(args, "demo", False))


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.cli import add_arguments, run

    parser = argparse.ArgumentParser(prog="smsdesk sandbox", description=SANDBOX_HELP)
    add_arguments(parser)
    sandbox_args = parser.parse_args(args.passthrough)
    return asyncio.run(run(sandbox_args))


def cmd_slack(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    from slackbot.app import main as run_slack

    return run_slack(settings, args)


async def cmd_sync(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    _require_credentials(settings)
    from core.sync import run_sync

    return await run_sync(settings, progress=True)


async def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    _require_credentials(settings)
    from core.serve import run_serve

    return await run_serve(settings, host=args.host, port=args.port)


COMMANDS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "send": cmd_send,
    "price": cmd_price,
    "cancel": cmd_cancel,
    "templates": cmd_templates,
    "history": cmd_history,
    "receipts": cmd_receipts,
    "inbound": cmd_inbound,
    "config": cmd_config,
    "sync": cmd_sync,
    "serve": cmd_serve,
    "sandbox": cmd_sandbox,
    "slack": cmd_slack,
    "tui": cmd_tui,
}

# Commands whose arguments belong to another package's parser.
PASSTHROUGH_COMMANDS = {"sandbox"}

# Long-running commands log their starts and stops at INFO without -v.
SERVICE_COMMANDS = {"serve", "slack", "sandbox"}

SANDBOX_HELP = "Run the local ClickSend simulator on 127.0.0.1 (no account, nothing is sent)."


# --- parser ----------------------------------------------------------------------------


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """Build the options every command takes.

    The copies on subcommands default to SUPPRESS, so that `smsdesk --json
    history` keeps the --json given before the command.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS if suppress else None,
        help="configuration file (default: $SMSDESK_CONFIG, else config.toml in the user config dir)",
    )
    common.add_argument(
        "--base-url",
        metavar="URL",
        default=argparse.SUPPRESS if suppress else None,
        help="ClickSend API base URL (default: $CLICKSEND_BASE_URL, else https://rest.clicksend.com/v3)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print machine-readable JSON on stdout",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="log more on stderr (-vv for debug)",
    )
    return common


def _add_message_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to",
        metavar="NUMBER",
        action="append",
        required=True,
        help="recipient in E.164 or as a national number of default_region; repeat for several",
    )
    body = parser.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", metavar="TEXT", help="message text; - reads it from stdin")
    body.add_argument("--template", metavar="NAME", help="use a saved template (name or id) as the text")
    parser.add_argument(
        "--var", metavar="NAME=VALUE", action="append", default=[], help="value for a {NAME} placeholder; repeatable"
    )
    parser.add_argument(
        "--from",
        dest="sender",
        metavar="SENDER",
        help="approved sender ID (up to 11 letters and digits) or number; default: the account's",
    )
    parser.add_argument(
        "--schedule",
        metavar="WHEN",
        help=f"send later: ISO 8601 (local time without an offset) or Unix seconds, "
        f"at most {MAX_SCHEDULE_AHEAD.days} days ahead",
    )
    parser.add_argument("--custom-string", metavar="REF", help="your reference, returned with receipts and replies")


def _add_template_commands(templates: argparse.ArgumentParser, common: list[argparse.ArgumentParser]) -> None:
    actions = templates.add_subparsers(dest="templates_action", metavar="ACTION", required=True)
    actions.add_parser("list", parents=common, help="list every template")

    show = actions.add_parser("show", parents=common, help="print one template")
    show.add_argument("template", metavar="ID_OR_NAME")

    add = actions.add_parser("add", parents=common, help="create a template")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--body", metavar="TEXT", required=True, help="template text; - reads it from stdin")

    edit = actions.add_parser("edit", parents=common, help="change a template's name or text")
    edit.add_argument("template", metavar="ID_OR_NAME")
    edit.add_argument("--name", metavar="NEW_NAME")
    edit.add_argument("--body", metavar="TEXT", help="new text; - reads it from stdin")

    remove = actions.add_parser("rm", parents=common, help="delete a template")
    remove.add_argument("template", metavar="ID_OR_NAME")


def _add_history_options(history: argparse.ArgumentParser) -> None:
    history.add_argument(
        "--query",
        metavar="FIELD:VALUE",
        action="append",
        default=[],
        help="filter, repeatable; FIELD is one of " + ", ".join(HISTORY_QUERY_FIELDS),
    )
    history.add_argument("--since", metavar="WHEN", help="from this time (ISO 8601 or Unix seconds)")
    history.add_argument("--until", metavar="WHEN", help="up to this time (ISO 8601 or Unix seconds)")
    history.add_argument("--export", metavar="FILE", help="write the matching messages to a CSV file")
    history.add_argument(
        "--limit",
        metavar="N",
        type=int,
        help=f"at most N messages (default {DEFAULT_LIST_LIMIT}, all with --export; 0 for all)",
    )


def _add_slack_options(slack: argparse.ArgumentParser) -> None:
    mode = slack.add_mutually_exclusive_group()
    mode.add_argument(
        "--socket-mode",
        dest="socket_mode",
        action="store_const",
        const=True,
        help="use Socket Mode (needs SLACK_APP_TOKEN)",
    )
    mode.add_argument(
        "--http",
        dest="socket_mode",
        action="store_const",
        const=False,
        help="serve Slack's HTTP requests (needs SLACK_SIGNING_SECRET)",
    )
    slack.add_argument("--host", help="address to listen on in HTTP mode (default: [slack] host)")
    slack.add_argument("--port", type=int, help="TCP port to listen on in HTTP mode (default: [slack] port)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smsdesk",
        parents=[_common_options(suppress=False)],
        description="Send and receive SMS through ClickSend. Without a command, opens the terminal inbox "
        "(on the local sandbox when no ClickSend credentials are set).",
    )
    parser.add_argument("--demo", action="store_true", help="open the inbox on the local sandbox with demo data")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = [_common_options(suppress=True)]

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=common, help=help_text, description=help_text)

    send = add("send", "Send an SMS to one or more numbers.")
    _add_message_options(send)
    send.add_argument("--allow-opted-out", action="store_true", help="send even to numbers that replied STOP")

    price = add("price", "Show parts, encoding and price per recipient, and the total, without sending.")
    _add_message_options(price)

    cancel = add("cancel", "Cancel a scheduled SMS, or all of them.")
    cancel.add_argument("message_id", metavar="MESSAGE_ID", nargs="?", help="ClickSend message id of the scheduled SMS")
    cancel.add_argument("--all", action="store_true", help="cancel every scheduled SMS of the account")
    cancel.add_argument("--custom-string", metavar="REF", help="with --all: only the scheduled SMS with this reference")

    _add_template_commands(add("templates", "List, show, add, edit or remove message templates."), common)
    _add_history_options(add("history", "List sent messages from ClickSend's history, or export them to CSV."))
    for name, help_text in (
        ("receipts", "List delivery receipts waiting at ClickSend."),
        ("inbound", "List inbound SMS (replies) waiting at ClickSend."),
    ):
        listing = add(name, help_text)
        listing.add_argument(
            "--limit", metavar="N", type=int, help=f"at most N (default {DEFAULT_LIST_LIMIT}; 0 for all)"
        )

    config = add("config", "Show which configuration file is read, or check the settings.")
    config_actions = config.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    config_actions.add_parser("path", parents=common, help="print the configuration file that is read")
    config_actions.add_parser("check", parents=common, help="report invalid and missing settings")

    add("sync", "Fetch inbound SMS, receipts, history and templates into the cache once.")
    serve = add("serve", "Run the ClickSend webhook receiver and the pollers until interrupted.")
    serve.add_argument("--host", help="address to listen on (default: [webhook] host)")
    serve.add_argument("--port", type=int, help="TCP port to listen on (default: [webhook] port)")
    # The sandbox parses its own options, so its help comes from the sandbox too.
    commands.add_parser("sandbox", help=SANDBOX_HELP, add_help=False)
    _add_slack_options(add("slack", "Run the Slack bot until interrupted."))
    tui = add("tui", "Open the terminal inbox.")
    tui.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help="use the local sandbox with demo data"
    )
    return parser


# --- main ----------------------------------------------------------------------------------


def _configure_logging(verbosity: int) -> None:
    if verbosity <= 0:
        level = logging.WARNING
    elif verbosity == 1:
        level = logging.INFO
    else:
        level = logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# Errors in what the user gave: an argument, a setting, a number, a template.
USAGE_ERRORS = (UsageError, ConfigError, InvalidNumberError, InvalidSenderError, SendValidationError, TemplateError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `smsdesk` command and return its exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in PASSTHROUGH_COMMANDS:
        parser.error("unrecognized arguments: " + " ".join(extra))
    args.passthrough = extra
    _configure_logging(args.verbose + (1 if args.command in SERVICE_COMMANDS else 0))

    command = COMMANDS[args.command or "tui"]
    try:
        result = command(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        # Flush here so that a closed stdout is handled below, not at exit.
        sys.stdout.flush()
        return result
    except KeyboardInterrupt:
        fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`smsdesk history | head`). Point stdout
        # at devnull so that the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except USAGE_ERRORS as error:
        fail(str(error))
        return EXIT_USAGE
    except OutcomeUnknownError as error:
        fail(
            f"{error}. The messages may or may not have been sent; run `smsdesk sync` to check "
            "the history before sending again"
        )
        return EXIT_FAILURE
    except ClickSendError as error:
        # Notes added on the way up name the base URL or the next step.
        notes = "".join(f"; {note}" for note in getattr(error, "__notes__", ()))
        fail(f"{error}{notes}")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
