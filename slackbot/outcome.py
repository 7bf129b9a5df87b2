"""Read the send service's results into what the Slack posts show."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from core.service import PriceQuote, SendOutcome
from slackbot.blocks import RecipientStatus

# Substrings of core.client's ConnectError and RequestTimeout messages: the request never
# reached ClickSend or received no response.
# NOTE: matched on message text because RecipientOutcome keeps only the error text.
_UNREACHABLE_MARKERS = ("could not connect", "timed out connecting", "connection failed", "timed out waiting")


def recipient_statuses(outcome: SendOutcome) -> tuple[list[int], list[RecipientStatus]]:
    """Return the cache rows of a send and one status line per recipient."""
    rows = [recipient.message_row for recipient in outcome.recipients]
    results = [
        RecipientStatus(number=r.to, status=r.status, message_id=r.message_id, error=r.error)
        for r in outcome.recipients
    ]
    return rows, results


def clicksend_unreachable(outcome: SendOutcome) -> bool:
    """Tell whether no recipient was accepted because ClickSend could not be reached."""
    if outcome.accepted_count:
        return False
    errors = [(r.error or "").lower() for r in outcome.recipients]
    return bool(errors) and all(any(marker in error for marker in _UNREACHABLE_MARKERS) for error in errors)


def quote_lines(quote: PriceQuote, numbers: Sequence[str]) -> tuple[list[tuple[str, Decimal]], Decimal, str]:
    """Return (number, price) per recipient, the total and the currency of a price quote."""
    per_recipient = [(recipient.to, recipient.price) for recipient in quote.recipients]
    return per_recipient, quote.total, quote.currency or ""
