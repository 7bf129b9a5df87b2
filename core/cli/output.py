"""Output of the `smsdesk` command: tables and JSON on stdout, messages on stderr."""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from core.config import Settings
from core.numbers import InvalidNumberError, normalize_number

BODY_PREVIEW_LENGTH = 40

# ClickSend prices carry 4 decimals (0.0792), while history sends 6 (0.079200)
# and a total can arrive as 0. Every amount is shown with 4, more only when
# the extra digits are not zero, so no amount is rounded.
MONEY_PLACES = Decimal("0.0001")


def money(value: Decimal) -> str:
    """Format an amount with 4 decimals, or more when ClickSend gave more significant digits."""
    quantized = value.quantize(MONEY_PLACES)
    if quantized == value:
        return f"{quantized:f}"
    return f"{value.normalize():f}"


def to_jsonable(value: Any) -> Any:
    """Convert models, dataclasses, Decimals and datetimes into plain JSON values.

    Money stays exact as a string with at least 4 decimals ("0.0770"), times are ISO 8601 in UTC, and
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
        return money(value)
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
    cells = [[cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [headers, ["-" * width for width in widths], *cells]
    for line in lines:
        sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() + "\n")


def print_line(text: str) -> None:
    """Print one line of text in place of a table, such as the note that a listing is empty."""
    sys.stdout.write(text + "\n")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money(value)
    return str(value)


def preview(text: str | None) -> str:
    flat = " ".join((text or "").split())
    if len(flat) <= BODY_PREVIEW_LENGTH:
        return flat
    return flat[: BODY_PREVIEW_LENGTH - 1] + "…"


def fail(message: str) -> None:
    """Print one error line to stderr, in the style of argparse's own errors."""
    sys.stderr.write(f"smsdesk: error: {error_style(message)}\n")


def error_style(message: str) -> str:
    """Return `message` starting in lower case and without a final period, as argparse writes errors.

    Messages from the send service and the settings are written for every
    front-end as sentences ("Invalid phone number ... ."). Only an ordinary
    capitalized first word is lowered, so names such as ClickSend,
    SLACK_BOT_TOKEN or Socket Mode stay as they are.
    """
    words = message.split(" ", 2)
    first_word = words[0]
    next_word = words[1] if len(words) > 1 else ""
    ordinary = len(first_word) > 1 and first_word[0].isupper() and first_word[1:].islower()
    if ordinary and not next_word[:1].isupper():
        message = message[0].lower() + message[1:]
    if message.endswith(".") and not message.endswith(".."):
        message = message[:-1]
    return message


def note(message: str) -> None:
    """Print an informational line to stderr, so stdout stays data only."""
    sys.stderr.write(f"smsdesk: {message}\n")


def table_number(number: str | None, settings: Settings) -> str:
    """Show a number in E.164 even where ClickSend sends it without '+'."""
    if not number:
        return ""
    try:
        return normalize_number(number, default_region=settings.default_region)
    except (InvalidNumberError, ValueError):
        return number
