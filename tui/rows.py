"""Row types that the widgets render, decoupled from the cache's records.

The backend turns store records into these, and the widgets render only these,
so a change in the cache schema touches one adapter and no widget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True)
class ConversationRow:
    """One line of the conversation list."""

    id: str
    their_number: str
    our_number: str | None
    name: str | None
    last_body: str
    last_at: datetime | None
    unread: int
    last_status: str | None
    """Delivery status of the newest outbound message, if there is one."""
    done: bool = False


@dataclass(frozen=True)
class ThreadEntry:
    """One message in a thread, inbound or outbound."""

    key: str
    """Unique and stable within the thread; used as the option id."""
    direction: Literal["in", "out"]
    body: str
    at: datetime
    status: str | None = None
    schedule: datetime | None = None
    error: str | None = None
    """Failure reason of a message, in ClickSend's words."""
    parts: int | None = None
    price: Decimal | None = None
    message_id: str | None = None
    row_id: int | None = None
    """Cache row id, used to resend a failed message or post an inbound one to Slack again."""
    relay_status: str | None = None
    """Inbound: the Slack bot's relay state ('relayed', 'failed', 'retry'), None when no bot ran."""
    relay_error: str | None = None
    """Inbound: why the Slack bot could not post it."""


@dataclass(frozen=True)
class TemplateRow:
    """A ClickSend SMS template."""

    id: int
    name: str
    body: str


@dataclass(frozen=True)
class MessageRow:
    """A message found by a search or listed as scheduled, with its conversation."""

    entry: ThreadEntry
    their_number: str
    name: str | None = None


@dataclass(frozen=True)
class ReceiptRow:
    """One delivery receipt of an outbound message."""

    at: datetime | None
    status: str
    status_code: str
    detail: str
