"""Check request bodies and turn type errors into ClickSend's 400 field messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_MESSAGES_PER_REQUEST = 1000


class RequestError(ValueError):
    """A request body that cannot be processed; `fields` maps each field to its message."""

    def __init__(self, fields: dict[str, str], response_code: str = "BAD_REQUEST",
                 response_msg: str = "Invalid input.") -> None:
        super().__init__("; ".join(f"{key}: {value}" for key, value in fields.items()))
        self.fields = fields
        self.response_code = response_code
        self.response_msg = response_msg


@dataclass
class MessageRequest:
    """One item of `messages` after type checks; content is checked later, per message."""

    body: str
    to: str | None
    from_: str | None
    source: str
    schedule: int | None
    custom_string: str
    country: str | None
    from_email: str | None


_STRING_FIELDS = ("to", "from", "source", "custom_string", "country", "from_email")


def parse_messages(payload: Any) -> list[MessageRequest]:
    """Validate the body of `/sms/send` and `/sms/price`.

    Wrong JSON types are request errors (400) naming each field, so a client
    bug such as a list in `from` or a string `schedule` shows up at once.
    Content problems (an invalid number, an empty body) are per-message
    statuses inside a 200 response instead, as ClickSend reports them.
    """
    if not isinstance(payload, dict):
        raise RequestError({"body": "The request body must be a JSON object with a messages array."})
    messages = payload.get("messages")
    if messages is None:
        raise RequestError({"messages": "The messages field is required."})
    if not isinstance(messages, list):
        raise RequestError({"messages": "The messages field must be an array of message objects."})
    if not messages:
        raise RequestError({"messages": "The messages field must contain at least one message."})
    if len(messages) > MAX_MESSAGES_PER_REQUEST:
        # NOTE: the status ClickSend uses for more than 1000 messages is not
        # documented; TOO_MANY_RECIPIENTS is its documented application code.
        raise RequestError(
            {"messages": f"You can post up to {MAX_MESSAGES_PER_REQUEST} messages with each API "
                         f"call, got {len(messages)}. Split the send into batches."},
            response_code="TOO_MANY_RECIPIENTS",
            response_msg="Too many recipients.",
        )

    fields: dict[str, str] = {}
    parsed = [_parse_message(index, item, fields) for index, item in enumerate(messages)]
    if fields:
        raise RequestError(fields)
    return parsed


def _parse_message(index: int, item: Any, fields: dict[str, str]) -> MessageRequest:
    prefix = f"messages.{index}"
    if not isinstance(item, dict):
        fields[prefix] = "Each message must be a JSON object."
        return _empty_message()

    for name in _STRING_FIELDS:
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            fields[f"{prefix}.{name}"] = (
                f"The {name} field must be a string, got {type(value).__name__} {value!r}."
            )

    body = item.get("body")
    if body is not None and not isinstance(body, str):
        fields[f"{prefix}.body"] = f"The body field must be a string, got {type(body).__name__}."
        body = None

    schedule = item.get("schedule")
    if schedule is not None and (isinstance(schedule, bool) or not isinstance(schedule, int)):
        fields[f"{prefix}.schedule"] = (
            f"The schedule field must be a Unix timestamp as an integer, e.g. 1767225600, "
            f"got {type(schedule).__name__} {schedule!r}."
        )
        schedule = None
    if isinstance(schedule, int) and schedule < 0:
        fields[f"{prefix}.schedule"] = f"The schedule must not be negative, got {schedule}."

    if item.get("list_id") is not None:
        fields[f"{prefix}.list_id"] = "The sandbox has no contact lists; send to a number with to."
    if item.get("to") is None and item.get("list_id") is None:
        fields[f"{prefix}.to"] = "The to field is required when list_id is not given."

    return MessageRequest(
        body=body or "",
        to=_string_or_none(item.get("to")),
        from_=_string_or_none(item.get("from")),
        source=_string_or_none(item.get("source")) or "",
        # schedule 0 means "send now" in ClickSend's older SDKs.
        schedule=schedule if isinstance(schedule, int) and schedule > 0 else None,
        custom_string=_string_or_none(item.get("custom_string")) or "",
        country=_string_or_none(item.get("country")),
        from_email=_string_or_none(item.get("from_email")),
    )


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _empty_message() -> MessageRequest:
    return MessageRequest("", None, None, "", None, "", None, None)


def require_string(payload: Any, name: str, *, required: bool = True) -> str | None:
    """Return `payload[name]` as a string, raising RequestError when it is missing or not a string."""
    if not isinstance(payload, dict):
        raise RequestError({"body": "The request body must be a JSON object."})
    value = payload.get(name)
    if value is None:
        if required:
            raise RequestError({name: f"The {name} field is required."})
        return None
    if not isinstance(value, str):
        raise RequestError({name: f"The {name} field must be a string, got {type(value).__name__}."})
    return value


def optional_int(payload: Any, name: str) -> int | None:
    """Return `payload[name]` as an integer or None; a body may be absent entirely."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise RequestError({"body": "The request body must be a JSON object."})
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError({name: f"The {name} field must be a Unix timestamp as an integer, got {value!r}."})
    return value
