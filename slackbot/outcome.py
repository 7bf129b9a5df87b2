"""Read the send service's results into what the Slack posts show."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from slackbot.blocks import RecipientStatus


def recipient_statuses(outcome: Any) -> tuple[list[int], list[RecipientStatus]]:
    """Return the cache rows of a send and one status line per recipient."""
    rows: list[int] = []
    results: list[RecipientStatus] = []
    for message in outcome.messages:
        rows.append(message.row_id)
        results.append(
            RecipientStatus(
                number=message.their_number,
                status=message.status,
                message_id=message.message_id,
                error=message.error_text or (message.status_text if message.status == "failed" else None),
            )
        )
    return rows, results


def quote_lines(quote: Any, numbers: Sequence[str]) -> tuple[list[tuple[str, Decimal]], Decimal, str]:
    """Return (number, price) per recipient, the total and the currency of a price quote."""
    per_recipient = [(item.to, item.price) for item in quote.recipients]
    return per_recipient, quote.total, getattr(quote, "currency", "") or ""
