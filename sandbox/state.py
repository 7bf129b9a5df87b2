"""The sandbox's stateful core: accounts, messages over time, receipts, replies, templates.

Everything here is synchronous and runs on the server's event loop, so no
locks are needed. Webhook pushes are queued as `Push` records; the server
performs the HTTP part (see pushes.py).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import os
import random
import re
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import phonenumbers
from phonenumbers import carrier as phone_carrier

from core.segments import count_segments
from sandbox.accounts import FICTIONAL_AU_NUMBERS, SHARED_NUMBERS, TEST_NUMBERS, Account, default_accounts
from sandbox.clock import SandboxClock
from sandbox.models import (
    GATEWAY_ERRORS,
    RECEIPT_STATUS,
    RECEIPT_TEXT_DELIVERED,
    STAGE_CANCELLED,
    STAGE_COMPLETED,
    STAGE_DELIVERED,
    STAGE_FAILED,
    STAGE_QUEUED,
    STAGE_SCHEDULED,
    STAGE_SENT,
    InboundMessage,
    OutboundMessage,
    PendingReply,
    Push,
    Receipt,
    Responder,
    Template,
    record_from_dict,
    record_to_dict,
)
from sandbox.validation import MessageRequest

# ClickSend documents THROTTLED as "Identical message body recently sent to the
# same recipient. Please try again in a few seconds." The window is not published.
THROTTLE_WINDOW_SECONDS = 10.0

# ClickSend truncates longer messages instead of rejecting them, so no more parts are charged.
# NOTE: ClickSend's help gives both "longer than 6 message parts" and, in its
# tables and connector docs, up to 8 parts (1,224 characters); the sandbox uses 8.
MAX_PARTS = 8

DEFAULT_RATE_LIMIT = 6000

# Seconds on the sandbox clock between delivery stages.
DEFAULT_QUEUE_SECONDS = 1.0
DEFAULT_DELIVERY_SECONDS = 2.0

# Push retry delays after a failed attempt, from ClickSend's archived help:
# "10 seconds, then 1 minute, 5 minutes, 30 mins, 1 hour".
PUSH_RETRY_DELAYS = (10.0, 60.0, 300.0, 1800.0, 3600.0)

_ALPHA_TAG = re.compile(r"^[A-Za-z0-9+]{3,11}$")
_NUMBER_SENDER = re.compile(r"^\+?\d{3,15}$")

STATUS_SUCCESS = "SUCCESS"


class NotFound(LookupError):
    """A resource id that the account does not have; `message` is ClickSend's response_msg."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def new_message_id() -> str:
    """Return a ClickSend-style id: 32 random upper-case hex digits in UUID layout (36 characters)."""
    # ClickSend's ids are UUID-shaped but not all version 4 ("1EF2D909-D81A-65FA-..."),
    # so plain random hex is as faithful as uuid4() and several times faster.
    digits = os.urandom(16).hex().upper()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def keyword_of(body: str) -> str:
    """Return the deprecated `_keyword` of an inbound message: its first word, lower-cased."""
    words = body.split()
    return words[0].lower() if words else ""


class SandboxState:
    """All data of one sandbox, and the rules that change it."""

    def __init__(
        self,
        *,
        clock: SandboxClock,
        accounts: dict[str, Account] | None = None,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self._initial_accounts = {
            name: Account.from_dict(account.to_dict())
            for name, account in (accounts or default_accounts()).items()
        }
        self.random = random.Random(seed)
        # Settings that survive reset(); faults and data do not.
        self.receipt_url: str | None = None
        self.inbound_url: str | None = None
        self.inbound_webhook_type = "post"
        self.queue_seconds = DEFAULT_QUEUE_SECONDS
        self.delivery_seconds = DEFAULT_DELIVERY_SECONDS
        self.history_string_types = True
        self.receipt_before_response = False
        # Also send a pending receipt (status_code 200) when a message reaches the network.
        self.intermediate_receipts = False
        # Requests per minute of sandbox time before 429, restored by reset(). Observed
        # x-ratelimit-limit values were 6000 and 20, so the default is the higher one.
        self.default_rate_limit = DEFAULT_RATE_LIMIT
        self.reset()

    @property
    def dirty(self) -> bool:
        """True when the state changed since the last save; setting it True also bumps `version`."""
        return self._dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        self._dirty = value
        if value:
            self.version += 1

    def reset(self) -> None:
        """Forget every message, reply, template, push and fault; restore the accounts."""
        # Bumped on every change; history queries are cached per version.
        self.version = 0
        self.history_cache: dict[tuple[Any, ...], tuple[int, list[OutboundMessage]]] = {}
        # Heap of (time, sequence, message_id) for pending delivery steps.
        # An entry is stale when the message's next_event_at no longer equals its time.
        self._due: list[tuple[float, int, str]] = []
        self._sequence = itertools.count()
        # Pushes that still have an attempt to make, by push_id.
        self.active_pushes: dict[int, Push] = {}

        self.accounts: dict[str, Account] = {
            name: Account.from_dict(account.to_dict())
            for name, account in self._initial_accounts.items()
        }
        self.messages: dict[str, OutboundMessage] = {}
        # Every receipt in arrival order; a message may have several (pending, then final).
        self.receipts: list[Receipt] = []
        self.inbound: list[InboundMessage] = []
        self.templates: dict[int, Template] = {}
        self.next_template_id = 1
        self.pending_replies: list[PendingReply] = []
        self.responders: dict[str, Responder] = {}
        self.pushes: list[Push] = []
        self.exports: dict[str, tuple[str, str]] = {}
        self.recent_bodies: dict[tuple[str, str, str], float] = {}
        self.next_message_ids: deque[str] = deque()

        self.faults: dict[str, Any] = {
            "latency": {},  # path (or "*") -> seconds of real delay
            "error_rate": 0.0,  # share of requests that get error_status
            "error_status": 500,
            "burst_429": 0,  # next N requests get 429
            "retry_after": 1,
            "drop_after_send": 0,  # next N accepted sends get no response
            "rate_limit": self.default_rate_limit,
        }
        self.rate_window = -1
        self.rate_count = 0
        self.dirty = True

    # ---- accounts -------------------------------------------------------

    def count_request(self) -> tuple[int, int, int]:
        """Count one API request; return (limit, remaining, seconds until the window resets)."""
        now = self.clock.now()
        window = int(now // 60)
        if window != self.rate_window:
            self.rate_window = window
            self.rate_count = 0
        self.rate_count += 1
        limit = int(self.faults["rate_limit"])
        reset = max(1, int(60 - now % 60))
        return limit, limit - self.rate_count, reset

    def authenticate(self, username: str, api_key: str) -> Account | None:
        account = self.accounts.get(username)
        if account is None or account.api_key != api_key:
            return None
        return account

    # ---- sending --------------------------------------------------------

    def prune_throttle(self, now: float) -> None:
        """Forget bodies sent longer ago than the throttle window, so the map stays small."""
        if len(self.recent_bodies) < 10_000:
            return
        cutoff = now - THROTTLE_WINDOW_SECONDS
        self.recent_bodies = {key: at for key, at in self.recent_bodies.items() if at >= cutoff}

    def take_message_id(self) -> str:
        """Return the next id, from the queue a test configured or a fresh UUID."""
        if self.next_message_ids:
            return self.next_message_ids.popleft()
        return new_message_id()

    def send(self, account: Account, requests: list[MessageRequest], *, price_only: bool) -> dict[str, Any]:
        """Accept or reject each message and build the `data` of `/sms/send` or `/sms/price`."""
        now = self.clock.now()
        balance_left = account.balance
        results: list[dict[str, Any]] = []
        total_price = Decimal(0)
        queued = 0
        blocked = 0
        accepted: list[OutboundMessage] = []

        for item in requests:
            result, message = self._evaluate(account, item, now, balance_left, price_only)
            results.append(result)
            if result["status"] in ("COUNTRY_NOT_ENABLED", "INVALID_SENDER_ID"):
                blocked += 1
            if message is None:
                continue
            queued += 1
            total_price += message.price
            balance_left -= message.price
            accepted.append(message)

        if not price_only:
            account.balance = balance_left
            for message in accepted:
                self.messages[message.message_id] = message
                self.schedule_step(message, message.next_event_at)
            self.prune_throttle(now)
            self.dirty = True

        return {
            "total_price": total_price,
            "total_count": len(requests),
            "queued_count": queued,
            "messages": results,
            "blocked_count": blocked,
        }

    def _evaluate(
        self,
        account: Account,
        item: MessageRequest,
        now: float,
        balance_left: Decimal,
        price_only: bool,
    ) -> tuple[dict[str, Any], OutboundMessage | None]:
        # A price quote gets an id too, but never one queued for the next sends.
        message_id = new_message_id() if price_only else self.take_message_id()
        to = (item.to or "").strip()
        minimal = {
            "to": to,
            "body": item.body,
            "from": item.from_ or "",
            # ClickSend sends schedule "" on rejected messages, not an integer.
            "schedule": "",
            "message_id": message_id,
            "custom_string": item.custom_string,
            "is_shared_system_number": item.from_ is None,
        }

        number, country, carrier = lookup_recipient(to, item.country)
        if number is None:
            # Observed: INVALID_RECIPIENT objects carry only these keys.
            return {**minimal, "status": "INVALID_RECIPIENT"}, None
        minimal["to"] = number

        def blocked(status: str) -> dict[str, Any]:
            return {
                **minimal,
                "message_parts": 0,
                "message_price": "0.0000",
                "country": country,
                "carrier": carrier,
                "status": status,
            }

        if not item.body.strip():
            return blocked("EMPTY_MESSAGE"), None
        if country not in account.enabled_countries:
            return blocked("COUNTRY_NOT_ENABLED"), None

        sender, shared = self._choose_sender(account, item.from_, country)
        if sender is None:
            return blocked("INVALID_SENDER_ID"), None
        minimal["from"] = sender
        minimal["is_shared_system_number"] = shared

        test_number = number in TEST_NUMBERS
        if test_number:
            parts, price = 0, Decimal("0")
        else:
            parts = _parts_of(item.body)
            price = parts * account.rate_for(country)

        if not price_only and not test_number:
            throttle_key = (account.username, number, item.body)
            last = self.recent_bodies.get(throttle_key)
            if last is not None and now - last < THROTTLE_WINDOW_SECONDS:
                return blocked("THROTTLED"), None
            # NOTE: how ClickSend reports INSUFFICIENT_CREDIT (request error or
            # per-message status) is undocumented; the sandbox rejects per message.
            if price > balance_left:
                return blocked("INSUFFICIENT_CREDIT"), None
            self.recent_bodies[throttle_key] = now

        date = int(now)
        scheduled = item.schedule is not None and item.schedule > now
        message = OutboundMessage(
            message_id=message_id,
            username=account.username,
            to=number,
            body=item.body,
            from_=sender,
            is_shared_system_number=shared,
            source=item.source,
            custom_string=item.custom_string,
            country=country,
            carrier=carrier,
            message_parts=parts,
            price=price,
            date=date,
            schedule=item.schedule if scheduled else None,
            stage=STAGE_SCHEDULED if scheduled else STAGE_QUEUED,
            from_email=item.from_email,
            test_number=test_number,
        )
        if test_number:
            # Observed: test numbers are Completed at once, even with a schedule.
            message.stage = STAGE_COMPLETED
            message.schedule = None
        elif scheduled:
            message.next_event_at = float(item.schedule)
        else:
            message.next_event_at = now + self.queue_seconds

        result = {
            "direction": "out",
            "date": date,
            "to": number,
            "body": item.body,
            "from": sender,
            # For an immediate send ClickSend returns the send time as schedule.
            "schedule": message.schedule if message.schedule is not None else date,
            "message_id": message_id,
            "message_parts": parts,
            "message_price": price,
            "from_email": item.from_email,
            "list_id": None,
            "custom_string": item.custom_string,
            "contact_id": None,
            "user_id": account.user_id,
            "subaccount_id": account.subaccount_id,
            "is_shared_system_number": shared,
            "country": country,
            "carrier": carrier,
            "status": STATUS_SUCCESS,
        }
        return result, message

    def _choose_sender(self, account: Account, sender: str | None, country: str) -> tuple[str | None, bool]:
        """Return (sender, is_shared_system_number); sender None means INVALID_SENDER_ID."""
        if sender is None or sender == "":
            return SHARED_NUMBERS.get(country, SHARED_NUMBERS["AU"]), True
        if _NUMBER_SENDER.match(sender):
            # NOTE: ClickSend only lets you send from numbers you own; the
            # sandbox does not model number ownership and accepts any number.
            return sender, False
        if not _ALPHA_TAG.match(sender) or not account.approves_sender(sender):
            return None, False
        return sender, False

    # ---- time -------------------------------------------------------------

    def schedule_step(self, message: OutboundMessage, at: float | None) -> None:
        """Set when the message moves to its next stage (None: never) and queue that time."""
        message.next_event_at = at
        if at is not None:
            heapq.heappush(self._due, (at, next(self._sequence), message.message_id))

    def _drop_stale_due(self) -> None:
        while self._due:
            at, _, message_id = self._due[0]
            message = self.messages.get(message_id)
            if message is not None and message.next_event_at == at:
                return
            heapq.heappop(self._due)

    def run_due(self) -> int:
        """Apply every event due at the current sandbox time; return how many ran."""
        now = self.clock.now()
        ran = 0
        while True:
            self._drop_stale_due()
            if not self._due or self._due[0][0] > now:
                break
            _, _, message_id = heapq.heappop(self._due)
            self._step(self.messages[message_id])
            ran += 1
        for reply in sorted(self.pending_replies, key=lambda reply: reply.due):
            if reply.due <= now:
                self.pending_replies.remove(reply)
                self._deliver_reply(reply)
                ran += 1
        if ran:
            self.dirty = True
        return ran

    def next_due(self) -> float | None:
        """Return the sandbox time of the next message, reply or push event, if any."""
        self._drop_stale_due()
        times = [self._due[0][0]] if self._due else []
        times += [reply.due for reply in self.pending_replies]
        times += [p.next_attempt_at for p in self.active_pushes.values() if p.next_attempt_at is not None]
        return min(times) if times else None

    def _step(self, message: OutboundMessage) -> None:
        at = message.next_event_at
        assert at is not None
        if message.stage == STAGE_SCHEDULED:
            message.stage = STAGE_QUEUED
            self.schedule_step(message, at + self.queue_seconds)
        elif message.stage == STAGE_QUEUED:
            message.stage = STAGE_SENT
            self.schedule_step(message, at + self.delivery_seconds)
            if self.intermediate_receipts:
                self._add_receipt(message, int(at))
        elif message.stage == STAGE_SENT:
            responder = self.responders.get(message.to)
            if responder is not None and responder.kind == "fail":
                message.stage = STAGE_FAILED
                message.error_code = responder.error_code
            else:
                message.stage = STAGE_DELIVERED
            message.next_event_at = None
            self._add_receipt(message, int(at))
            # Handsets cannot reply to an alpha tag, only to a number.
            can_reply = bool(_NUMBER_SENDER.match(message.from_))
            if message.stage == STAGE_DELIVERED and responder is not None and can_reply:
                self._schedule_reply(message, responder, at)
        else:
            message.next_event_at = None

    def deliver_now(self, message: OutboundMessage) -> None:
        """Move an accepted immediate message straight to its final stage."""
        while message.next_event_at is not None:
            message.next_event_at = min(message.next_event_at, self.clock.now())
            self._step(message)
        self.dirty = True

    # ---- receipts ---------------------------------------------------------

    def _add_receipt(self, message: OutboundMessage, timestamp: int) -> Receipt:
        account = self.accounts[message.username]
        if message.stage == STAGE_FAILED:
            status_code, text = GATEWAY_ERRORS[message.error_code or 7]
            receipt_fields = ("Failed", status_code, text, message.error_code, text)
        elif message.stage == STAGE_SENT:
            status, text, _ = RECEIPT_STATUS["200"]
            receipt_fields = (status, "200", text, None, None)
        else:
            receipt_fields = ("Delivered", "201", RECEIPT_TEXT_DELIVERED, None, None)
        status, status_code, status_text, error_code, error_text = receipt_fields
        receipt = Receipt(
            message_id=message.message_id,
            username=message.username,
            timestamp_send=message.date,
            timestamp=timestamp,
            status=status,
            status_code=status_code,
            status_text=status_text,
            error_code=error_code,
            error_text=error_text,
            custom_string=message.custom_string,
            subaccount_id=account.subaccount_id,
            user_id=account.user_id,
        )
        self._store_receipt(receipt)
        return receipt

    def add_receipt(
        self, username: str, *, message_id: str, status_code: str, custom_string: str | None
    ) -> Receipt:
        """Store and push a receipt that no send produced, e.g. for an id the client never saw."""
        account = self.accounts[username]
        status, text, error_code = RECEIPT_STATUS[status_code]
        now = self.clock.timestamp()
        receipt = Receipt(
            message_id=message_id,
            username=username,
            timestamp_send=now,
            timestamp=now,
            status=status,
            status_code=status_code,
            status_text=text,
            error_code=error_code,
            error_text=None if error_code is None else text,
            custom_string=custom_string,
            subaccount_id=account.subaccount_id,
            user_id=account.user_id,
        )
        self._store_receipt(receipt)
        return receipt

    def _store_receipt(self, receipt: Receipt) -> None:
        """Keep the receipt for polling and push it when a receipt URL is set."""
        self.receipts.append(receipt)
        if self.receipt_url:
            self.queue_push("receipt", self.receipt_url, "post", receipt_push_fields(receipt))
        self.dirty = True

    def unread_receipts(self, username: str) -> list[Receipt]:
        return [r for r in self.receipts if r.username == username and not r.read]

    def get_receipt(self, username: str, message_id: str) -> Receipt:
        """Return the latest receipt of the message, read or not."""
        for receipt in reversed(self.receipts):
            if receipt.message_id == message_id and receipt.username == username:
                return receipt
        raise NotFound("Receipt record not found.")

    def receipts_for(self, message_id: str) -> list[Receipt]:
        """Return every receipt of one message, oldest first."""
        return [r for r in self.receipts if r.message_id == message_id]

    def mark_receipts_read(self, username: str, date_before: int | None) -> int:
        return self._mark_read(self.unread_receipts(username), date_before)

    def _mark_read(self, items: list[Receipt] | list[InboundMessage], date_before: int | None) -> int:
        """Mark unread items read, only those with a timestamp before `date_before` if given."""
        count = 0
        for item in items:
            if date_before is None or item.timestamp < date_before:
                item.read = True
                count += 1
        self.dirty = True
        return count

    # ---- inbound ----------------------------------------------------------

    def _schedule_reply(self, message: OutboundMessage, responder: Responder, at: float) -> None:
        if responder.kind == "echo":
            body = message.body
        elif responder.kind == "stop":
            body = "STOP"
        else:
            body = responder.text
        self.pending_replies.append(
            PendingReply(
                due=at + responder.delay,
                username=message.username,
                from_=message.to,
                body=body,
                original_message_id=message.message_id,
            )
        )

    def _deliver_reply(self, reply: PendingReply) -> None:
        self.add_inbound(
            reply.username,
            from_=reply.from_,
            body=reply.body,
            original_message_id=reply.original_message_id,
        )

    def add_inbound(
        self,
        username: str,
        *,
        from_: str,
        body: str,
        to: str | None = None,
        original_message_id: str | None = None,
        message_id: str | None = None,
        copies: int = 1,
    ) -> InboundMessage:
        """Record an SMS from a handset, linked to the latest outbound message to that number.

        `from_` may lack the leading "+", as in ClickSend's own form pushes.

        With `copies` above 1 the reply is pushed that many times with the
        same message_id, as ClickSend does when several inbound rules match.
        """
        if from_.isdigit():
            from_ = lookup_recipient("+" + from_, None)[0] or from_
        original = None
        if original_message_id:
            original = self.messages.get(original_message_id)
        if original is None:
            candidates = [
                m for m in self.messages.values() if m.username == username and m.to == from_
            ]
            if candidates:
                # The most recent send; among equal dates the one sent last.
                original = max(reversed(candidates), key=lambda m: m.date)
        inbound = InboundMessage(
            message_id=message_id or new_message_id(),
            username=username,
            timestamp=self.clock.timestamp(),
            from_=from_,
            to=to or (original.from_ if original else SHARED_NUMBERS["AU"]),
            body=body,
            original_body=original.body if original else "",
            original_message_id=original.message_id if original else "",
            custom_string=original.custom_string if original else "",
        )
        self.inbound.append(inbound)
        if self.inbound_url:
            fields = inbound_push_fields(inbound, self.accounts[username], self.inbound_webhook_type)
            for _ in range(copies):
                self.queue_push("inbound", self.inbound_url, self.inbound_webhook_type, dict(fields))
        self.dirty = True
        return inbound

    def unread_inbound(self, username: str) -> list[InboundMessage]:
        return [m for m in self.inbound if m.username == username and not m.read]

    def first_reply_to(self, username: str, original_message_id: str) -> InboundMessage:
        for message in self.inbound:
            if message.username == username and message.original_message_id == original_message_id:
                return message
        raise NotFound("Inbound message not found.")

    def mark_inbound_read(self, username: str, date_before: int | None) -> int:
        return self._mark_read(self.unread_inbound(username), date_before)

    def mark_inbound_message_read(self, username: str, message_id: str) -> int:
        matches = [m for m in self.inbound if m.username == username and m.message_id == message_id]
        if not matches:
            raise NotFound("Inbound message not found.")
        count = 0
        for message in matches:
            if not message.read:
                message.read = True
                count += 1
        self.dirty = True
        return count

    # ---- cancel -----------------------------------------------------------

    def cancel(self, username: str, message_id: str) -> None:
        message = self.messages.get(message_id)
        if message is None or message.username != username or message.stage != STAGE_SCHEDULED:
            # Observed once live: cancelling a sent, cancelled or unknown id is 404 NOT_FOUND.
            raise NotFound("Scheduled message not found.")
        self._cancel(message)

    def cancel_all(self, username: str, custom_string: str | None) -> int:
        count = 0
        for message in list(self.messages.values()):
            if message.username != username or message.stage != STAGE_SCHEDULED:
                continue
            # NOTE: ClickSend does not document how custom_string matches; the
            # sandbox requires an exact, case-sensitive match.
            if custom_string is not None and message.custom_string != custom_string:
                continue
            self._cancel(message)
            count += 1
        return count

    def _cancel(self, message: OutboundMessage) -> None:
        message.stage = STAGE_CANCELLED
        message.next_event_at = None
        # NOTE: refunding a cancelled scheduled message is an assumption; ClickSend
        # charges when the message is accepted.
        self.accounts[message.username].balance += message.price
        self.dirty = True

    # ---- bulk history --------------------------------------------------------

    def seed_history(
        self,
        username: str,
        count: int,
        *,
        start: float | None = None,
        spacing: float = 1.0,
        numbers: Sequence[str] = FICTIONAL_AU_NUMBERS,
    ) -> list[str]:
        """Add `count` delivered messages to the history without HTTP, for benchmarks and demos.

        Message i goes to numbers[i % len(numbers)] at start + i * spacing
        (default: ending now). No receipts, pushes or charges are made.
        Returns the message ids in date order.
        """
        account = self.accounts[username]
        if start is None:
            start = self.clock.now() - count * spacing
        ids = []
        # Bodies differ only in GSM-7 digits, so the part count depends on the length alone.
        parts_by_length: dict[int, int] = {}
        for index in range(count):
            number = numbers[index % len(numbers)]
            body = f"Seeded message {index}: your appointment is confirmed for 9:30am."
            _, country, carrier = lookup_recipient(number, None)
            parts = parts_by_length.get(len(body))
            if parts is None:
                parts = parts_by_length[len(body)] = _parts_of(body)
            message = OutboundMessage(
                message_id=new_message_id(),
                username=username,
                to=number,
                body=body,
                from_=SHARED_NUMBERS.get(country, SHARED_NUMBERS["AU"]),
                is_shared_system_number=True,
                source="seed",
                custom_string=f"seed-{index}",
                country=country,
                carrier=carrier,
                message_parts=parts,
                price=parts * account.rate_for(country),
                date=int(start + index * spacing),
                schedule=None,
                stage=STAGE_DELIVERED,
            )
            self.messages[message.message_id] = message
            ids.append(message.message_id)
        self.dirty = True
        return ids

    # ---- templates --------------------------------------------------------

    def list_templates(self, username: str) -> list[Template]:
        return [t for t in self.templates.values() if t.username == username]

    def create_template(self, username: str, name: str, body: str) -> Template:
        template = Template(self.next_template_id, username, name, body)
        self.templates[template.template_id] = template
        self.next_template_id += 1
        self.dirty = True
        return template

    def get_template(self, username: str, template_id: int) -> Template:
        template = self.templates.get(template_id)
        if template is None or template.username != username:
            raise NotFound("Template not found.")
        return template

    def delete_template(self, username: str, template_id: int) -> None:
        self.get_template(username, template_id)
        del self.templates[template_id]
        self.dirty = True

    # ---- pushes -------------------------------------------------------------

    def queue_push(self, kind: str, url: str, webhook_type: str, fields: dict[str, Any]) -> Push:
        push = Push(
            push_id=len(self.pushes) + 1,
            kind=kind,
            url=url,
            webhook_type=webhook_type,
            fields=fields,
            next_attempt_at=self.clock.now(),
        )
        self.pushes.append(push)
        self.active_pushes[push.push_id] = push
        self.dirty = True
        return push

    def due_pushes(self) -> list[Push]:
        now = self.clock.now()
        return [p for p in self.active_pushes.values() if p.next_attempt_at is not None and p.next_attempt_at <= now]

    def record_push_attempt(self, push: Push, outcome: str, ok: bool) -> None:
        now = self.clock.now()
        push.attempts.append({"at": now, "outcome": outcome})
        if ok:
            push.delivered = True
            push.next_attempt_at = None
        elif len(push.attempts) <= len(PUSH_RETRY_DELAYS):
            push.next_attempt_at = now + PUSH_RETRY_DELAYS[len(push.attempts) - 1]
        else:
            push.next_attempt_at = None
        if push.next_attempt_at is None:
            self.active_pushes.pop(push.push_id, None)
        self.dirty = True

    # ---- persistence --------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": {name: account.to_dict() for name, account in self.accounts.items()},
            "messages": [record_to_dict(m) for m in self.messages.values()],
            "receipts": [record_to_dict(r) for r in self.receipts],
            "inbound": [record_to_dict(m) for m in self.inbound],
            "templates": [record_to_dict(t) for t in self.templates.values()],
            "next_template_id": self.next_template_id,
            "pending_replies": [record_to_dict(r) for r in self.pending_replies],
            "responders": [record_to_dict(r) for r in self.responders.values()],
            # Copies of the nested values, because a background save encodes them
            # in another thread while new push attempts are recorded.
            "pushes": [
                {**record_to_dict(p), "fields": dict(p.fields), "attempts": list(p.attempts)} for p in self.pushes
            ],
            "exports": {key: list(value) for key, value in self.exports.items()},
            "settings": {
                "receipt_url": self.receipt_url,
                "inbound_url": self.inbound_url,
                "inbound_webhook_type": self.inbound_webhook_type,
                "receipt_before_response": self.receipt_before_response,
                "queue_seconds": self.queue_seconds,
                "delivery_seconds": self.delivery_seconds,
                "history_string_types": self.history_string_types,
                "intermediate_receipts": self.intermediate_receipts,
            },
            "faults": dict(self.faults),
            "clock": {"now": self.clock.now(), "frozen": self.clock.frozen},
        }

    def load_dict(self, data: dict[str, Any]) -> None:
        self.accounts = {name: Account.from_dict(a) for name, a in data["accounts"].items()}
        self.messages = {m["message_id"]: record_from_dict(OutboundMessage, m) for m in data["messages"]}
        self.receipts = [record_from_dict(Receipt, r) for r in data["receipts"]]
        self.inbound = [record_from_dict(InboundMessage, m) for m in data["inbound"]]
        self.templates = {t["template_id"]: record_from_dict(Template, t) for t in data["templates"]}
        self.next_template_id = data["next_template_id"]
        self.pending_replies = [record_from_dict(PendingReply, r) for r in data["pending_replies"]]
        self.responders = {r["number"]: record_from_dict(Responder, r) for r in data["responders"]}
        self.pushes = [record_from_dict(Push, p) for p in data["pushes"]]
        self.exports = {key: (value[0], value[1]) for key, value in data["exports"].items()}
        settings = data["settings"]
        self.receipt_url = settings["receipt_url"]
        self.inbound_url = settings["inbound_url"]
        self.inbound_webhook_type = settings["inbound_webhook_type"]
        self.receipt_before_response = settings["receipt_before_response"]
        self.queue_seconds = settings["queue_seconds"]
        self.delivery_seconds = settings["delivery_seconds"]
        self.history_string_types = settings.get("history_string_types", True)
        self.intermediate_receipts = settings.get("intermediate_receipts", False)
        self.faults.update(data["faults"])
        self._due = []
        for message in self.messages.values():
            self.schedule_step(message, message.next_event_at)
        self.active_pushes = {p.push_id: p for p in self.pushes if p.next_attempt_at is not None}
        self.dirty = False


def receipt_push_fields(receipt: Receipt) -> dict[str, str]:
    """Build the form fields of a delivery receipt push, legacy duplicates included."""
    return {
        "timestamp_send": str(receipt.timestamp_send),
        "timestamp": str(receipt.timestamp),
        "message_id": receipt.message_id,
        "messageid": receipt.message_id,
        "status": receipt.status,
        "status_code": receipt.status_code,
        "status_text": receipt.status_text,
        "error_code": "" if receipt.error_code is None else str(receipt.error_code),
        "error_text": receipt.error_text or "",
        "custom_string": receipt.custom_string or "",
        "customstring": receipt.custom_string or "",
        "user_id": str(receipt.user_id),
        "subaccount_id": str(receipt.subaccount_id),
        "message_type": "sms",
    }


def inbound_push_fields(inbound: InboundMessage, account: Account, webhook_type: str) -> dict[str, Any]:
    """Build the inbound push fields, legacy duplicates included.

    Values are JSON-typed as in ClickSend's first-party JSON example
    (timestamp, user_id and subaccount_id are integers); form and query pushes
    send them as text. Form and query pushes also give numbers without the
    leading "+" ("61491570156"), as ClickSend's default inbound push does,
    while the JSON example has E.164 numbers.
    """

    def number(value: str) -> str:
        return value if webhook_type == "json" else value.removeprefix("+")

    return {
        "originalsenderid": number(inbound.to),
        "body": inbound.body,
        "message": inbound.body,
        # Archived help calls `sms` the receiving number; ClickSend's own JSON
        # example has the sender there, and the sandbox follows the example.
        "sms": number(inbound.from_),
        "from": number(inbound.from_),
        "to": number(inbound.to),
        "timestamp": inbound.timestamp,
        "message_id": inbound.message_id,
        "original_message_id": inbound.original_message_id,
        "originalmessageid": inbound.original_message_id,
        "original_body": inbound.original_body,
        "originalmessage": inbound.original_body,
        "custom_string": inbound.custom_string,
        "customstring": inbound.custom_string,
        "user_id": account.user_id,
        "subaccount_id": account.subaccount_id,
    }


_PLAIN_E164 = re.compile(r"^\+([1-9]\d{6,14})$")


def _parse_plain_e164(to: str) -> phonenumbers.PhoneNumber | None:
    """Split "+<digits>" into calling code and national number without a full parse.

    A full phonenumbers.parse costs about 20 microseconds, most of a bulk
    send's time per recipient. Calling codes are prefix-free, so the first
    known prefix is the code. Returns None (use the full parse) for anything
    else, including national numbers with a leading zero.
    """
    match = _PLAIN_E164.match(to)
    if match is None:
        return None
    digits = match.group(1)
    for length in (1, 2, 3):
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[length:]
            if not national or national.startswith("0"):
                return None
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None


@functools.lru_cache(maxsize=4096)
def _parts_of(body: str) -> int:
    # Bulk sends repeat one body for many recipients, so count each body once.
    return min(count_segments(body).parts, MAX_PARTS)


@functools.lru_cache(maxsize=65536)
def lookup_recipient(to: str, country: str | None) -> tuple[str | None, str, str]:
    """Return (E.164 number, ISO country, carrier) or (None, "", "") for an unusable recipient.

    Local formats are read in the message's `country`, else in Australia, the
    sandbox accounts' home country. The check is "possible number", not "valid
    number", because the fictional ranges (e.g. Ofcom's +447700900xxx) are
    deliberately unassigned and libphonenumber calls them invalid.
    """
    if not to:
        return None, "", ""
    parsed = _parse_plain_e164(to)
    if parsed is None:
        region = (country or "AU").upper()
        try:
            parsed = phonenumbers.parse(to, None if to.startswith("+") else region)
        except phonenumbers.NumberParseException:
            return None, "", ""
    if not phonenumbers.is_possible_number(parsed):
        return None, "", ""
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # NOTE: the country is the main one of the calling code, so Canada (+1) is
    # billed as US and Christmas Island (+61) as AU. Looking up the exact region
    # validates the number and costs about ten times as much per recipient.
    iso = phonenumbers.region_code_for_country_code(parsed.country_code)
    # name_for_valid_number skips a second validity check; carrier may be "" as in ClickSend's examples.
    carrier = phone_carrier.name_for_valid_number(parsed, "en") or ""
    return number, iso, carrier
