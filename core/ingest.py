"""The one path by which inbound SMS and delivery receipts enter the cache.

Webhook pushes and polling both end here. ``decode_payload`` reads a form body, a
query string or a JSON object. ``Ingestor.parse_inbound`` and ``parse_receipt`` turn
ClickSend's loose fields into records. ``Ingestor.add_inbound`` and ``add_receipts``
store each record once and publish events only for records that were new.

ClickSend's pushes carry legacy duplicates of several fields (``messageid``,
``customstring``, ``originalmessageid``, ``sms`` for ``from``, ``message`` for
``body``). The snake_case name wins; when both are present and disagree, a warning
is logged.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

from core import status
from core.events import EventBus, InboundReceived, OptOutChanged, StatusChanged
from core.numbers import InvalidNumberError, mask_number, normalize_number
from core.optout import OPT_IN, OPT_OUT, KeywordMatcher
from core.store import InboundRecord, MessageRecord, ReceiptRecord, StatusChange, Store

__all__ = ["Ingestor", "PayloadError", "decode_payload", "parse_timestamp"]

log = logging.getLogger(__name__)

# (preferred name, legacy names): the preferred snake_case name wins.
# ``timestamp_send`` is not a spelling of ``timestamp`` but a different time (when the
# message was sent); it is used only when ``timestamp`` is missing, so a difference
# between the two is expected and not logged (see _FALLBACK_FIELDS).
_INBOUND_FIELDS: Final = {
    "message_id": ("message_id", "messageid"),
    "from": ("from", "sms"),
    "to": ("to",),
    "body": ("body", "message"),
    "original_message_id": ("original_message_id", "originalmessageid"),
    "original_body": ("original_body", "originalmessage"),
    "custom_string": ("custom_string", "customstring"),
    "timestamp": ("timestamp", "timestamp_send"),
}
_RECEIPT_FIELDS: Final = {
    "message_id": ("message_id", "messageid"),
    "status_code": ("status_code",),
    "status": ("status",),
    "status_text": ("status_text",),
    "error_code": ("error_code",),
    "error_text": ("error_text",),
    "custom_string": ("custom_string", "customstring"),
    "timestamp": ("timestamp", "timestamp_send"),
}


_FALLBACK_FIELDS: Final = frozenset({"timestamp"})


class PayloadError(ValueError):
    """An inbound or receipt payload that cannot be stored; the message gives the reason."""


def decode_payload(body: bytes, *, content_type: str = "", query: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read a webhook payload: a JSON object, a form body, or (for GET) the query string.

    The content type decides first; a body without a usable content type is tried as
    JSON and then as a form. Query parameters fill in names the body lacks.
    """
    payload: dict[str, Any] = {}
    text = body.decode("utf-8", errors="replace").strip() if body else ""
    media_type = content_type.split(";", 1)[0].strip().lower()

    if text:
        looks_like_json = media_type.endswith("json") or (not media_type.endswith("form-urlencoded") and text[:1] == "{")
        if looks_like_json:
            try:
                decoded = json.loads(text)
            except json.JSONDecodeError as error:
                raise PayloadError(f"The body is not valid JSON ({error.msg} at position {error.pos}).") from error
            except RecursionError as error:
                raise PayloadError("The JSON body is nested too deeply; expected a flat object of fields.") from error
            if not isinstance(decoded, dict):
                raise PayloadError(f"The JSON body is a {type(decoded).__name__}; expected an object of fields.")
            payload = decoded
        else:
            payload = dict(parse_qsl(text, keep_blank_values=True))
            if not payload:
                raise PayloadError("The body has no form fields; expected name=value pairs or a JSON object.")
    for name, value in (query or {}).items():
        payload.setdefault(name, value)
    return payload


def parse_timestamp(value: Any, *, field: str = "timestamp") -> datetime | None:
    """Read a ClickSend time as an aware UTC datetime.

    ClickSend sends Unix seconds as an integer or as a numeric string; an ISO string
    without an offset is UTC, never local time. Empty values return None.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        raise PayloadError(f"Invalid {field} {value!r}: expected Unix seconds.")
    if isinstance(value, int | float):
        return _from_epoch(value, field=field, raw=value)
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return _from_epoch(seconds, field=field, raw=value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise PayloadError(f"Invalid {field} {value!r}: expected Unix seconds or an ISO 8601 time.") from error
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _from_epoch(seconds: float, *, field: str, raw: Any) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise PayloadError(f"Invalid {field} {raw!r}: Unix seconds out of range.") from error


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _as_dict(payload: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    """Accept a plain mapping or a core.models object (dumped with ClickSend's field names)."""
    if isinstance(payload, Mapping):
        return payload
    dump = getattr(payload, "model_dump", None)
    if dump is None:
        raise PayloadError(f"Unsupported payload type {type(payload).__name__}; expected fields by name.")
    return dump(by_alias=True)


@dataclass
class Ingestor:
    """Parse and store inbound messages and receipts, publishing events for new ones."""

    store: Store
    events: EventBus | None = None
    matcher: KeywordMatcher = KeywordMatcher.from_keywords()
    default_region: str = "AU"

    @classmethod
    def from_settings(cls, settings: object, *, store: Store, events: EventBus | None = None) -> Ingestor:
        return cls(
            store=store,
            events=events,
            matcher=KeywordMatcher.from_settings(settings),
            default_region=getattr(settings, "default_region", "AU") or "AU",
        )

    # --- parsing --------------------------------------------------------------------

    def _pick(self, payload: Mapping[str, Any], names: Sequence[str], *, kind: str, compare=None) -> Any:
        """Return the first non-empty of ``names``; warn when a later spelling disagrees."""
        present = [(name, payload[name]) for name in names if _text(payload.get(name)) is not None]
        if not present:
            return None
        chosen_name, chosen = present[0]
        if names[0] in _FALLBACK_FIELDS:
            return chosen
        for name, value in present[1:]:
            same = compare(chosen, value) if compare else _text(chosen) == _text(value)
            if not same:
                log.warning(
                    "%s payload has %s and %s with different values; using %s",
                    kind, chosen_name, name, chosen_name,
                )
        return chosen

    def _same_number(self, first: Any, second: Any) -> bool:
        try:
            return self._number(first) == self._number(second)
        except InvalidNumberError:
            return _text(first) == _text(second)

    def _number(self, value: Any) -> str:
        return normalize_number(str(value).strip(), default_region=self.default_region)

    def parse_inbound(self, payload: Mapping[str, Any] | Any, *, received_at: datetime | None = None) -> InboundRecord:
        """Turn one inbound payload into a record; raise PayloadError naming what is wrong."""
        payload = _as_dict(payload)
        fields = {
            key: self._pick(payload, names, kind="inbound", compare=self._same_number if key == "from" else None)
            for key, names in _INBOUND_FIELDS.items()
        }

        raw_from = fields["from"]
        if raw_from is None:
            raise PayloadError("The inbound message has no sender: the field 'from' (or 'sms') is missing.")
        try:
            from_number = self._number(raw_from)
        except InvalidNumberError as error:
            raise PayloadError(f"The inbound sender 'from' is invalid: {error}") from error
        to_number = self._our_number(fields["to"])
        body = "" if fields["body"] is None else str(fields["body"])
        timestamp = parse_timestamp(fields["timestamp"]) or received_at or datetime.now(UTC)

        message_id = _text(fields["message_id"])
        if message_id is None:
            # NOTE: without ClickSend's message_id a repeated push cannot be recognised,
            # so each such push is stored as a new message.
            message_id = f"local-{uuid.uuid4()}"
            log.warning("inbound message from %s has no message_id; stored as %s", mask_number(from_number), message_id)

        return InboundRecord(
            message_id=message_id,
            from_number=from_number,
            to_number=to_number,
            body=body,
            received_at=timestamp,
            original_message_id=_text(fields["original_message_id"]),
            custom_string=_text(fields["custom_string"]),
            original_body=_text(fields["original_body"]),
            opt_out=self.matcher.classify(body),
        )

    def _our_number(self, value: Any) -> str:
        """Normalize our receiving number; keep a short code or sender ID as sent."""
        text = _text(value)
        if text is None:
            return ""
        try:
            return self._number(text)
        except InvalidNumberError:
            return text

    def parse_receipt(self, payload: Mapping[str, Any] | Any) -> ReceiptRecord:
        """Turn one delivery receipt payload into a record; raise PayloadError naming what is wrong."""
        payload = _as_dict(payload)
        fields = {key: self._pick(payload, names, kind="receipt") for key, names in _RECEIPT_FIELDS.items()}

        message_id = _text(fields["message_id"])
        if message_id is None:
            raise PayloadError("The receipt has no 'message_id' (or 'messageid'); it cannot be matched to a message.")
        status_code = _text(fields["status_code"]) or ""
        cache_status = status.from_receipt_code(status_code)
        if cache_status is None and _text(fields["status"]):
            cache_status = status.from_history(_text(fields["status"]))
        return ReceiptRecord(
            message_id=message_id,
            status_code=status_code,
            status=cache_status,
            status_text=_text(fields["status_text"]) or _text(fields["status"]),
            error_code=_text(fields["error_code"]),
            error_text=_text(fields["error_text"]),
            custom_string=_text(fields["custom_string"]),
            ts=parse_timestamp(fields["timestamp"]),
        )

    def parse_many(self, payloads: Iterable[Any], *, kind: str) -> list[Any]:
        """Parse polled items, logging and skipping the ones that cannot be stored."""
        parse = self.parse_inbound if kind == "inbound" else self.parse_receipt
        records = []
        for payload in payloads:
            try:
                records.append(parse(payload))
            except PayloadError as error:
                log.warning("skipped a polled %s item: %s", kind, error)
        return records

    # --- storing --------------------------------------------------------------------

    async def add_inbound(self, records: Sequence[InboundRecord]) -> list[MessageRecord]:
        """Store inbound records; publish InboundReceived (and OptOutChanged) for new ones only."""
        inserted = await self.store.add_inbound(records)
        for message in inserted:
            log.info(
                "stored inbound %s from %s%s",
                message.message_id,
                mask_number(message.their_number),
                f" ({message.opt_out})" if message.opt_out else "",
            )
            if self.events is not None:
                self.events.publish(InboundReceived(message=message))
                if message.opt_out in (OPT_OUT, OPT_IN):
                    self.events.publish(OptOutChanged(number=message.their_number, opted_out=message.opt_out == OPT_OUT))
        return inserted

    async def add_receipts(self, records: Sequence[ReceiptRecord]) -> tuple[int, list[StatusChange]]:
        """Store receipts; publish StatusChanged for every status that moved."""
        added, changes = await self.store.add_receipts(records)
        if added:
            log.info("stored %d receipt(s), %d status change(s)", added, len(changes))
        publish_changes(self.events, changes)
        return added, changes


def publish_changes(events: EventBus | None, changes: Iterable[StatusChange]) -> None:
    if events is None:
        return
    for change in changes:
        events.publish(StatusChanged(change=change))
