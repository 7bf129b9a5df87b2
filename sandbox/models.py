"""Records the sandbox keeps: outbound messages, receipts, inbound replies, templates, pushes."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Internal delivery stages of an outbound message. History shows ClickSend's
# own status names (see HISTORY_STATUS).
STAGE_SCHEDULED = "scheduled"
STAGE_QUEUED = "queued"
STAGE_SENT = "sent"
STAGE_DELIVERED = "delivered"
STAGE_FAILED = "failed"
STAGE_CANCELLED = "cancelled"
STAGE_COMPLETED = "completed"  # test numbers: accepted, never delivered, no receipt

# Gateway table (ClickSend help, "List of SMS gateway error codes"): stage ->
# (history status, status_code, status_text). A delivered message shows in
# history as "Sent" with status_code "201", as in ClickSend's own history example.
HISTORY_STATUS: dict[str, tuple[str, str | None, str | None]] = {
    STAGE_SCHEDULED: ("Scheduled", "200", "Message is scheduled for delivery"),
    STAGE_QUEUED: ("Queued", "200", "Message is queued for delivery"),
    STAGE_SENT: ("Sent", "200", "Message sent to the network for delivery"),
    STAGE_DELIVERED: ("Sent", "201", "Message delivered to the handset"),
    STAGE_CANCELLED: ("Cancelled", "301", "Message is cancelled"),
    # Test-number rows observed live: status Completed, status_code and text null.
    STAGE_COMPLETED: ("Completed", None, None),
}

# Gateway error codes that end in "Failed": code -> (status_code, text).
GATEWAY_ERRORS: dict[int, tuple[str, str]] = {
    7: ("301", "Unknown failure"),
    8: ("301", "Unknown subscriber. Number is inactive or invalid"),
    9: ("301", "Unidentified Subscriber. Number is invalid or network routing issue."),
    10: ("301", "Illegal Subscriber. Rejection due to failed authentication or filtering."),
    11: ("301", "Rejection due to subscription, handset or network not supporting SMS."),
    12: ("301", "Absent Subscriber. Phone is out of range or switched off."),
    13: ("301", "Memory Capacity Exceeded. The handset's message inbox is full."),
    14: ("301", "Rejection due to recipient network error or congestion."),
    15: ("301", "Rejected by the recipient network."),
    16: ("300", "Temporary network error - will be retried"),
    17: ("301", "Network timeout when delivering message"),
    18: ("301", "Network routing error"),
    19: ("301", "Anti-spam rejection by recipient network"),
    20: ("301", "Message delivery receipt expired"),
}

RECEIPT_TEXT_DELIVERED = "Success: Message received on handset."

# Receipt status_code -> (push `status`, status_text, error_code) for receipts made
# through the control API.
RECEIPT_STATUS: dict[str, tuple[str, str, int | None]] = {
    "200": ("Sent", "Message sent to the network for delivery", None),
    "201": ("Delivered", RECEIPT_TEXT_DELIVERED, None),
    "300": ("Failed", GATEWAY_ERRORS[16][1], 16),
    "301": ("Failed", GATEWAY_ERRORS[7][1], 7),
}


@dataclass
class OutboundMessage:
    message_id: str
    username: str
    to: str
    body: str
    from_: str
    is_shared_system_number: bool
    source: str
    custom_string: str
    country: str
    carrier: str
    message_parts: int
    price: Decimal
    date: int
    schedule: int | None
    stage: str
    next_event_at: float | None = None
    error_code: int | None = None
    test_number: bool = False
    from_email: str | None = None

    @property
    def history_status(self) -> tuple[str, str | None, str | None]:
        if self.stage == STAGE_FAILED:
            status_code, text = GATEWAY_ERRORS[self.error_code or 7]
            return "Failed", status_code, text
        return HISTORY_STATUS[self.stage]


@dataclass
class Receipt:
    message_id: str
    username: str
    timestamp_send: int
    timestamp: int
    status: str
    status_code: str
    status_text: str
    error_code: int | None
    error_text: str | None
    custom_string: str | None
    subaccount_id: int
    user_id: int
    read: bool = False


@dataclass
class InboundMessage:
    message_id: str
    username: str
    timestamp: int
    from_: str
    to: str
    body: str
    original_body: str
    original_message_id: str
    custom_string: str
    read: bool = False


@dataclass
class Template:
    template_id: int
    username: str
    template_name: str
    body: str


@dataclass
class PendingReply:
    due: float
    username: str
    from_: str
    body: str
    original_message_id: str


@dataclass
class Responder:
    """A recipient number that behaves on its own: replies, or fails delivery.

    kind: "echo" replies with the received body, "text" with `text`, "stop"
    with "STOP"; "fail" makes delivery to the number fail with `error_code`.
    """

    number: str
    kind: str
    text: str = ""
    delay: float = 5.0
    error_code: int = 8


@dataclass
class Push:
    """One webhook delivery (receipt or inbound) and its attempts."""

    push_id: int
    kind: str  # "receipt" or "inbound"
    url: str
    webhook_type: str  # "post" (form), "get" (query) or "json"
    fields: dict[str, Any]
    next_attempt_at: float | None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False


def record_to_dict(record: Any) -> dict[str, Any]:
    """Return a record's fields for JSON, money as strings.

    A shallow copy: nested values (a push's fields and attempts) are shared,
    which is safe because the result is serialized at once. dataclasses.asdict
    deep-copies and is many times slower on a large history.
    """
    data = dict(vars(record))
    for key, value in data.items():
        if isinstance(value, Decimal):
            data[key] = str(value)
    return data


def record_from_dict(cls: type, data: dict[str, Any]) -> Any:
    values = dict(data)
    if cls is OutboundMessage:
        values["price"] = Decimal(values["price"])
    return cls(**values)
