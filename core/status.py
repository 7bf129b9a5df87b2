"""Delivery status of an outbound message as the cache stores it, and its order.

ClickSend reports progress in three vocabularies: the per-message ``status`` of a
send response (``SUCCESS``, ``INVALID_RECIPIENT``, ...), the numeric
``status_code`` of a delivery receipt, and the ``status`` word of a history row
(``Queued``, ``Completed``, ...). This module maps all three onto one small set
and ranks it, so that a late or repeated report never moves a message backwards.
"""

from __future__ import annotations

from typing import Final

PENDING: Final = "pending"  # in the outbox, no result from ClickSend yet
QUEUED: Final = "queued"  # accepted by ClickSend
SCHEDULED: Final = "scheduled"  # accepted, to be sent at its schedule time
SENT: Final = "sent"  # handed to the network (receipt 200, or a temporary failure 300/302)
DELIVERED: Final = "delivered"  # received on the handset (receipt 201)
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
RECEIVED: Final = "received"  # the status of every inbound message

OUTBOUND_STATUSES: Final = (PENDING, QUEUED, SCHEDULED, SENT, DELIVERED, FAILED, CANCELLED)
FINAL_STATUSES: Final = frozenset({DELIVERED, FAILED, CANCELLED})

_RANK: Final = {
    PENDING: 0,
    QUEUED: 1,
    SCHEDULED: 1,
    SENT: 2,
    DELIVERED: 3,
    FAILED: 3,
    CANCELLED: 3,
}

# Receipt status codes (ClickSend REST v3 docs): 200 sent by the network, 201 received on
# the handset, 300 temporary network error that ClickSend retries, 301 permanent failure,
# 302 temporary failure in supplier routing. 300 and 302 are not final, so a later 201 still applies.
_RECEIPT_CODES: Final = {
    "200": SENT,
    "201": DELIVERED,
    "300": SENT,
    "301": FAILED,
    "302": SENT,
}

# History row statuses (ClickSend REST v3 docs). "Completed" means ClickSend queued it for the
# network; test numbers stop there, so it maps to sent.
_HISTORY_STATUSES: Final = {
    "queued": QUEUED,
    "waitapproval": QUEUED,
    "scheduled": SCHEDULED,
    "completed": SENT,
    "sent": SENT,
    "delivered": DELIVERED,
    "failed": FAILED,
    "cancelled": CANCELLED,
    "cancelledafterreview": CANCELLED,
}


def rank(status: str) -> int:
    """Return the position of ``status`` in the delivery order (unknown words rank lowest)."""
    return _RANK.get(status, 0)


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


def may_replace(current: str, new: str) -> bool:
    """Tell whether a report of ``new`` may overwrite the cached ``current`` status.

    A final status is never replaced, and no status moves back to an earlier one.
    """
    if is_final(current):
        return False
    return rank(new) >= rank(current)


def from_receipt_code(status_code: str | int | None) -> str | None:
    """Map a receipt ``status_code`` to a cache status, or None for an unknown code."""
    if status_code is None:
        return None
    return _RECEIPT_CODES.get(str(status_code).strip())


# History words that are more precise than their status_code. ClickSend gives Queued,
# Scheduled and WaitApproval the code 200, the same as a message sent to the network, and
# Cancelled the code 301, the same as a failed delivery.
_WORDS_OVER_CODES: Final = frozenset({"queued", "waitapproval", "scheduled", "cancelled", "cancelledafterreview"})


def from_history(status: str | None, status_code: str | int | None = None) -> str:
    """Map a history row's ``status`` (and ``status_code`` when present) to a cache status."""
    word = (status or "").strip().lower()
    if word in _WORDS_OVER_CODES:
        return _HISTORY_STATUSES[word]
    by_code = from_receipt_code(status_code)
    if by_code is not None:
        return by_code
    return _HISTORY_STATUSES.get(word, QUEUED)


def from_send_result(status: str, *, scheduled: bool) -> str:
    """Map the per-message ``status`` of a send response: only ``SUCCESS`` was accepted."""
    if status.strip().upper() != "SUCCESS":
        return FAILED
    return SCHEDULED if scheduled else QUEUED
