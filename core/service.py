"""The send service: the one place where an outbound SMS is checked, written and sent.

``SmsService.send`` runs every guard once for both front-ends and the CLI:

1. validate the numbers, the sender, the body and the schedule;
2. refuse recipients on the opt-out list (unless ``allow_opted_out``);
3. write one outbox row per recipient, each with a unique client reference carried
   in ``custom_string``, and commit, all before the HTTP request;
4. call ClickSend and record every per-message result (a rejected recipient is a
   failed row, not an exception).

When the request may have reached ClickSend without a response, the rows stay
pending. ``reconcile()`` later looks them up in ClickSend's history (by recipient
and time window, then by the reference inside ``custom_string``): found means sent,
absent after a grace period means it is safe to send again. So a message that the
outbox accepted is sent once, even if the process dies at any point.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from core import reference, status
from core.client import MAX_RETRY_AFTER, ClickSendClient
from core.errors import ClickSendError, OutcomeUnknownError, RateLimitError
from core.events import EventBus, MessageSent, TemplatesChanged
from core.ingest import publish_changes
from core.models import SendResult, SmsMessage
from core.numbers import mask_number, normalize_number, validate_sender
from core.segments import count_segments
from core.store import MessageRecord, OutboundDraft, OutboxEntry, SendUpdate, Store

__all__ = [
    "OptedOutError",
    "PriceQuote",
    "ReconcileReport",
    "RecipientOutcome",
    "RecipientPrice",
    "SendOutcome",
    "SendValidationError",
    "SmsService",
    "TemplateError",
    "TemplateInfo",
]

log = logging.getLogger(__name__)

# ClickSend takes at most 1000 messages per /sms/send request.
MAX_MESSAGES_PER_REQUEST: Final = 1000
# Tries of one send request while ClickSend responds 429 (rate limited).
RATE_LIMIT_ATTEMPTS: Final = 5
# ClickSend truncates messages longer than the account's part limit (6 or 8 parts,
# depending on the account); 8 parts is the largest that any account sends whole.
MAX_PARTS: Final = 8
# ClickSend does not send a message scheduled more than about 4 months ahead.
MAX_SCHEDULE_AHEAD: Final = timedelta(days=120)
# A schedule this far in the past is a mistake, not "send now".
SCHEDULE_PAST_TOLERANCE: Final = timedelta(minutes=1)
# How long a pending message must be absent from history before it is sent again. It
# must exceed the longest a send request can take, so that a send still in flight in
# another process is not repeated. The client's default timeout is 30 s, and a send
# is never retried after its request left.
# NOTE: this also assumes ClickSend lists an accepted message in its history within
# this time; that delay is not documented.
DEFAULT_RECONCILE_GRACE: Final = timedelta(minutes=2)
# Pending recipients up to this many are looked up in history one by one; above it,
# reconcile pages once through the whole time window instead.
MAX_PER_NUMBER_LOOKUPS: Final = 5
# Margin around the history window, for clock differences between us and ClickSend.
HISTORY_WINDOW_MARGIN: Final = timedelta(minutes=10)


class SendValidationError(ValueError):
    """A send that smsdesk rejects before contacting ClickSend; the message names the value and the fix."""


class OptedOutError(SendValidationError):
    """Some recipients replied with an opt-out keyword (such as STOP)."""

    def __init__(self, numbers: Sequence[str]) -> None:
        self.numbers = list(numbers)
        listed = ", ".join(self.numbers)
        super().__init__(
            f"Not sent: {listed} opted out of messages (replied STOP or a similar keyword). "
            "Remove them from the recipients, or send anyway only if they opted in again."
        )


class TemplateError(ValueError):
    """A template that is missing or cannot be rendered with the given values."""


@dataclass(frozen=True)
class RecipientOutcome:
    """The result of a send for one recipient."""

    to: str
    status: str  # core.status: queued, scheduled, failed, or pending (outcome unknown)
    message_row: int
    client_ref: str
    message_id: str | None
    parts: int
    price: Decimal | None
    error: str | None

    @property
    def accepted(self) -> bool:
        return self.status in (status.QUEUED, status.SCHEDULED, status.SENT, status.DELIVERED)


@dataclass(frozen=True)
class SendOutcome:
    """The result of one send: one entry per recipient, in the order given."""

    batch_id: str
    recipients: list[RecipientOutcome]
    total_price: Decimal
    currency: str | None = None

    @property
    def accepted_count(self) -> int:
        return sum(1 for recipient in self.recipients if recipient.accepted)

    @property
    def failed_count(self) -> int:
        return sum(1 for recipient in self.recipients if recipient.status == status.FAILED)

    @property
    def pending_count(self) -> int:
        """Recipients whose outcome is unknown; ``reconcile()`` settles them."""
        return sum(1 for recipient in self.recipients if recipient.status == status.PENDING)

    def summary(self) -> str:
        parts = [f"{self.accepted_count} sent"]
        if self.failed_count:
            parts.append(f"{self.failed_count} failed")
        if self.pending_count:
            parts.append(f"{self.pending_count} unconfirmed")
        return ", ".join(parts)


@dataclass(frozen=True)
class RecipientPrice:
    to: str
    parts: int
    price: Decimal
    status: str  # ClickSend's per-message status, e.g. SUCCESS or INVALID_RECIPIENT
    country: str | None
    opted_out: bool


@dataclass(frozen=True)
class PriceQuote:
    recipients: list[RecipientPrice]
    total: Decimal
    currency: str | None
    parts: int  # parts per message, as counted locally
    encoding: str


@dataclass
class ReconcileReport:
    """Counts of what ``reconcile()`` did with the pending outbox rows."""

    found: int = 0  # in ClickSend's history: recorded as sent
    resent: int = 0  # absent after the grace period: sent again
    waiting: int = 0  # absent but still inside the grace period
    unknown: int = 0  # history or the resend failed; try again later
    changes: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class TemplateInfo:
    template_id: int
    name: str
    body: str


_PLACEHOLDER: Final = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")


def render(body: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders; ``{{`` and ``}}`` stand for literal braces."""
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name is None:
            raise TemplateError(
                f"Unmatched {token!r} at position {match.start()} of the template; write {token * 2} for a literal brace."
            )
        if name not in values:
            missing.append(name)
            return token
        return str(values[name])

    text = _PLACEHOLDER.sub(substitute, body)
    if missing:
        raise TemplateError(f"Missing values for {', '.join(sorted(set(missing)))}; pass them as name=value.")
    return text


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class SmsService:
    """Send, price, cancel and template operations over one client and one cache."""

    def __init__(
        self,
        *,
        client: ClickSendClient,
        store: Store,
        settings: object | None = None,
        events: EventBus | None = None,
        reconcile_grace: timedelta = DEFAULT_RECONCILE_GRACE,
    ) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        self.events = events
        self.reconcile_grace = reconcile_grace
        self.default_region = getattr(settings, "default_region", None) or "AU"
        self._reconciled = False

    # --- validation -----------------------------------------------------------------

    def _recipients(self, to: Sequence[str] | str) -> list[str]:
        if isinstance(to, str):
            to = [to]
        # A dict keeps the order given and drops repeats in constant time per number.
        numbers = list(dict.fromkeys(normalize_number(raw, default_region=self.default_region) for raw in to))
        if not numbers:
            raise SendValidationError("No recipients: give at least one phone number, such as +61491570156.")
        return numbers

    def _body_parts(self, body: str) -> tuple[int, str]:
        if not body or not body.strip():
            raise SendValidationError("The message body is empty: type the text to send.")
        info = count_segments(body)
        if info.parts > MAX_PARTS:
            raise SendValidationError(
                f"The message is {info.parts} parts long ({info.units} {info.encoding} units); "
                f"ClickSend truncates messages over {MAX_PARTS} parts, so shorten it."
            )
        return info.parts, info.encoding

    def _sender(self, sender: str | None) -> str | None:
        if sender is None or not sender.strip():
            return None
        return validate_sender(sender, default_region=self.default_region)

    @staticmethod
    def _schedule(schedule: datetime | None) -> datetime | None:
        if schedule is None:
            return None
        if schedule.tzinfo is None or schedule.utcoffset() is None:
            raise SendValidationError(
                f"The schedule {schedule.isoformat()} has no time zone; give a time with a zone or offset."
            )
        now = datetime.now(UTC)
        if schedule < now - SCHEDULE_PAST_TOLERANCE:
            raise SendValidationError(
                f"The schedule {schedule.isoformat()} is in the past; leave it out to send now."
            )
        if schedule > now + MAX_SCHEDULE_AHEAD:
            raise SendValidationError(
                f"The schedule {schedule.isoformat()} is more than {MAX_SCHEDULE_AHEAD.days} days ahead; "
                "ClickSend does not send messages scheduled that far out."
            )
        return schedule.astimezone(UTC)

    # --- send -----------------------------------------------------------------------

    async def send(
        self,
        *,
        to: Sequence[str] | str,
        body: str,
        sender: str | None = None,
        schedule: datetime | None = None,
        custom_string: str | None = None,
        allow_opted_out: bool = False,
        origin: dict[str, Any] | None = None,
    ) -> SendOutcome:
        """Validate, write to the outbox, send, and record one result per recipient.

        Raises SendValidationError (or InvalidNumberError / InvalidSenderError, both
        ValueError) before anything is written. ClickSend errors after the write do not
        raise: they are recorded per recipient and returned.
        """
        numbers = self._recipients(to)
        parts, _ = self._body_parts(body)
        sender = self._sender(sender)
        schedule = self._schedule(schedule)
        await self._reconcile_once()
        if not allow_opted_out:
            opted_out = await self.store.opted_out(numbers)
            if opted_out:
                raise OptedOutError([number for number in numbers if number in opted_out])

        batch_id = uuid.uuid4().hex
        drafts = []
        messages = []
        # The fields that every recipient shares are validated once. Each copy changes only
        # the recipient and the reference, both already checked, so a 10,000-recipient send
        # does not validate the same body 10,000 times.
        first_ref = reference.new_reference()
        shared = SmsMessage(
            to=numbers[0],
            body=body,
            from_=sender,
            schedule=schedule,
            custom_string=reference.combine(custom_string, first_ref),
        )
        for index, number in enumerate(numbers):
            ref = first_ref if index == 0 else reference.new_reference()
            message = shared.model_copy(update={"to": number, "custom_string": reference.combine(custom_string, ref)})
            messages.append((ref, message))
            drafts.append(
                OutboundDraft(
                    client_ref=ref,
                    batch_id=batch_id,
                    to=number,
                    body=body,
                    request=message.to_wire(),
                    sender=sender,
                    custom_string=custom_string,
                    schedule_at=schedule,
                    parts=parts,
                    origin=origin,
                )
            )
        await self.store.add_to_outbox(drafts)
        log.info("outbox batch %s: %d message(s) committed, sending", batch_id, len(drafts))

        currency = await self._send_drafts(messages)
        return await self._outcome(batch_id, [draft.client_ref for draft in drafts], currency)

    async def _reconcile_once(self) -> None:
        """Settle sends that an earlier process left pending, before this service's first send."""
        if self._reconciled:
            return
        self._reconciled = True
        if not await self.store.pending_outbox():
            return
        try:
            await self.reconcile()
        except ClickSendError as error:
            log.warning("could not reconcile pending sends before sending: %s", error)

    async def _send_drafts(self, requests: Sequence[tuple[str, SmsMessage]]) -> str | None:
        """Send committed outbox rows in requests of up to 1000 and record each result.

        The requests run concurrently (the client limits how many at once), and each
        one's results are recorded as soon as it returns. Returns the currency code.
        """
        chunks = _chunks(list(requests), MAX_MESSAGES_PER_REQUEST)
        currencies = await asyncio.gather(*(self._send_chunk(chunk) for chunk in chunks))
        return next((currency for currency in currencies if currency), None)

    async def _send_chunk(self, chunk: Sequence[tuple[str, SmsMessage]]) -> str | None:
        refs = [ref for ref, _ in chunk]
        messages = [message for _, message in chunk]
        try:
            response = await self._send_with_rate_limit(messages)
        except OutcomeUnknownError as error:
            log.warning("send of %d message(s) has an unknown outcome; left pending for reconcile: %s", len(refs), error)
            await self.store.record_send_error(refs, str(error), outcome_known=False)
            return None
        except ClickSendError as error:
            log.warning("send of %d message(s) failed: %s", len(refs), error)
            changes = await self.store.record_send_error(refs, str(error), outcome_known=True)
            publish_changes(self.events, changes)
            return None

        changes = await self.store.record_send_updates(_updates_from_results(refs, response.messages))
        publish_changes(self.events, changes)
        return response.currency.currency_name_short if response.currency is not None else None

    async def _send_with_rate_limit(self, messages: list[SmsMessage]) -> Any:
        """Send one request, waiting and repeating it while ClickSend responds 429.

        A 429 means ClickSend did not take the request, so repeating it cannot send twice.
        """
        attempt = 1
        while True:
            try:
                return await self.client.send(messages)
            except RateLimitError as error:
                if attempt >= RATE_LIMIT_ATTEMPTS:
                    raise
                retry_after = error.retry_after if error.retry_after is not None else 1.0
                delay = min(max(retry_after, 0.0), MAX_RETRY_AFTER)
                attempt += 1
                log.warning(
                    "send of %d message(s) rate limited (HTTP 429); retrying in %.1f s (attempt %d of %d)",
                    len(messages), delay, attempt, RATE_LIMIT_ATTEMPTS,
                )
                await asyncio.sleep(delay)

    async def _outcome(self, batch_id: str, refs: Sequence[str], currency: str | None) -> SendOutcome:
        records = await self.store.messages_by_client_refs(refs)
        for record in records:
            if record.status != status.PENDING and self.events is not None:
                self.events.publish(MessageSent(message=record))
            log.debug("message to %s: %s %s", mask_number(record.their_number), record.status, record.message_id or "")
        recipients = [_recipient_outcome(record) for record in records]
        total = sum((recipient.price or Decimal(0) for recipient in recipients), Decimal(0))
        outcome = SendOutcome(batch_id=batch_id, recipients=recipients, total_price=total, currency=currency)
        log.info("outbox batch %s: %s", batch_id, outcome.summary())
        return outcome

    async def resend(self, message_row_id: int, *, origin: dict[str, Any] | None = None) -> SendOutcome:
        """Send a failed outbound message again as a new message; the failed row stays as it was."""
        record = await self.store.message(message_row_id)
        if record is None or record.direction != "out":
            raise SendValidationError(f"No outbound message with row id {message_row_id} in the cache.")
        if record.status != status.FAILED:
            raise SendValidationError(
                f"Message {message_row_id} is {record.status}, not failed; only failed messages can be resent."
            )
        return await self.send(
            to=[record.their_number],
            body=record.body,
            sender=record.our_number or None,
            custom_string=record.custom_string,
            origin=origin if origin is not None else record.origin,
        )

    # --- reconcile ------------------------------------------------------------------

    async def reconcile(self, *, grace: timedelta | None = None) -> ReconcileReport:
        """Settle pending outbox rows against ClickSend's history; resend what never arrived.

        Run it at start-up and after an outcome-unknown send. A row absent from history
        is resent only when its last attempt is older than ``grace`` (default
        ``reconcile_grace``), and only by one process (see Store.claim_outbox_attempt).
        """
        grace = self.reconcile_grace if grace is None else grace
        self._reconciled = True
        report = ReconcileReport()
        pending = await self.store.pending_outbox()
        if not pending:
            return report
        log.info("reconciling %d pending outbox message(s)", len(pending))

        # A few recipients are looked up one by one, with a search by "to". For more than
        # that, one pass over the whole time window costs fewer requests.
        groups: dict[str | None, list[OutboxEntry]] = {}
        per_number = len({entry.their_number for entry in pending}) <= MAX_PER_NUMBER_LOOKUPS
        for entry in pending:
            groups.setdefault(entry.their_number if per_number else None, []).append(entry)

        found: list[SendUpdate] = []
        absent: list[OutboxEntry] = []
        for number, entries in groups.items():
            try:
                history = await self._history_refs(number, entries)
            except ClickSendError as error:
                log.warning("history lookup for %s failed; still pending: %s", mask_number(number) or "the window", error)
                report.unknown += len(entries)
                continue
            for entry in entries:
                row = history.get(entry.client_ref)
                if row is not None:
                    found.append(_update_from_history(entry.client_ref, row))
                else:
                    absent.append(entry)

        if found:
            changes = await self.store.record_send_updates(found)
            publish_changes(self.events, changes)
            report.found = len(found)
            report.changes += changes
            log.info("reconcile: %d pending message(s) found in history", len(found))

        now = datetime.now(UTC)
        due = [entry for entry in absent if entry.last_attempt_at is None or entry.last_attempt_at <= now - grace]
        report.waiting = len(absent) - len(due)
        claimed = await self.store.claim_outbox_attempt(due)
        if claimed:
            log.warning("reconcile: %d message(s) not in history after %s; sending again", len(claimed), grace)
            await self._send_drafts(
                [(entry.client_ref, SmsMessage.model_validate(entry.request)) for entry in claimed]
            )
            still_pending = {entry.client_ref for entry in await self.store.pending_outbox()}
            report.resent = sum(1 for entry in claimed if entry.client_ref not in still_pending)
            report.unknown += len(claimed) - report.resent
            for record in await self.store.messages_by_client_refs([entry.client_ref for entry in claimed]):
                if record.status != status.PENDING and self.events is not None:
                    self.events.publish(MessageSent(message=record))
        return report

    async def _history_refs(self, number: str | None, entries: Sequence[OutboxEntry]) -> dict[str, Any]:
        """Return the history rows in the entries' time window (to ``number`` if given), keyed by our reference.

        ClickSend's history has no custom_string filter, so the search is by recipient and
        date, and the reference is read from each row's custom_string.
        """
        date_from = min(entry.created_at for entry in entries) - HISTORY_WINDOW_MARGIN
        schedules = [
            datetime.fromtimestamp(entry.request["schedule"], UTC)
            for entry in entries
            if isinstance(entry.request.get("schedule"), int | float)
        ]
        date_to = max([datetime.now(UTC), *schedules]) + HISTORY_WINDOW_MARGIN
        expected = {entry.client_ref for entry in entries}
        rows: dict[str, Any] = {}
        query = f"to:{number}" if number else None
        async for row in self.client.iter_history(q=query, date_from=date_from, date_to=date_to):
            ref = reference.split(row.custom_string)[1]
            if ref in expected:
                rows[ref] = row
        return rows

    # --- price ----------------------------------------------------------------------

    async def price(self, *, to: Sequence[str] | str, body: str, sender: str | None = None) -> PriceQuote:
        """Quote a send per recipient and in total, without sending; opted-out numbers are flagged."""
        numbers = self._recipients(to)
        parts, encoding = self._body_parts(body)
        sender = self._sender(sender)
        opted_out = await self.store.opted_out(numbers)
        messages = [SmsMessage(to=number, body=body, from_=sender) for number in numbers]
        response = await self.client.price(messages)

        results = {result.to: result for result in response.messages if result.to}
        recipients = []
        for number in numbers:
            result = results.get(number)
            recipients.append(
                RecipientPrice(
                    to=number,
                    parts=(result.message_parts if result else None) or parts,
                    price=result.message_price if result else Decimal(0),
                    status=result.status if result else "",
                    country=result.country if result else None,
                    opted_out=number in opted_out,
                )
            )
        currency = response.currency.currency_name_short if response.currency else None
        return PriceQuote(
            recipients=recipients,
            total=Decimal(response.total_price),
            currency=currency,
            parts=parts,
            encoding=encoding,
        )

    # --- cancel ---------------------------------------------------------------------

    async def cancel(self, message_id: str) -> None:
        """Cancel one scheduled message at ClickSend and mark it cancelled in the cache."""
        await self.client.cancel(message_id)
        changes = await self.store.set_status([message_id], status.CANCELLED, status_text="Cancelled")
        publish_changes(self.events, changes)
        log.info("cancelled scheduled message %s", message_id)

    async def cancel_all(self, custom_string: str | None = None) -> int:
        """Cancel scheduled messages: all of them, or those sent with this custom_string.

        With a custom_string, the cached scheduled messages that carry it are cancelled
        one by one. ClickSend stores our reference inside custom_string, so its own
        cancel-all filter would not match the user's text.
        """
        if custom_string is None:
            count = await self.client.cancel_all()
            changes = await self.store.cancel_scheduled()
            publish_changes(self.events, changes)
            log.info("cancelled all scheduled messages (%d at ClickSend)", count)
            return count

        scheduled = await self.store.messages(direction="out", status=status.SCHEDULED, limit=100_000)
        targets = [record for record in scheduled if record.custom_string == custom_string and record.message_id]
        cancelled = 0
        for record in targets:
            try:
                await self.cancel(record.message_id)
            except ClickSendError as error:
                log.warning("could not cancel %s: %s", record.message_id, error)
                continue
            cancelled += 1
        return cancelled

    # --- templates ------------------------------------------------------------------

    async def templates(self, *, refresh: bool = True) -> list[TemplateInfo]:
        """Return the templates, refreshed from ClickSend unless ``refresh`` is False.

        When ClickSend cannot be reached, the cached list is returned.
        """
        if refresh:
            try:
                fetched = [template async for template in self.client.iter_templates()]
            except ClickSendError as error:
                log.warning("could not refresh templates; showing the cached list: %s", error)
            else:
                await self.store.replace_templates(
                    [(template.template_id, template.template_name, template.body) for template in fetched]
                )
                self._publish(TemplatesChanged())
        return [TemplateInfo(template_id, name, body) for template_id, name, body in await self.store.templates()]

    async def create_template(self, name: str, body: str) -> TemplateInfo:
        _check_template(name, body)
        template = await self.client.create_template(name, body)
        await self.store.upsert_template(template.template_id, template.template_name, template.body)
        self._publish(TemplatesChanged())
        return TemplateInfo(template.template_id, template.template_name, template.body)

    async def update_template(self, template_id: int, *, name: str, body: str) -> TemplateInfo:
        _check_template(name, body)
        template = await self.client.update_template(template_id, name, body)
        await self.store.upsert_template(template.template_id, template.template_name, template.body)
        self._publish(TemplatesChanged())
        return TemplateInfo(template.template_id, template.template_name, template.body)

    async def delete_template(self, template_id: int) -> None:
        await self.client.delete_template(template_id)
        await self.store.delete_template(template_id)
        self._publish(TemplatesChanged())

    async def render_template(self, name: str | int, values: Mapping[str, Any]) -> str:
        """Render a cached template (by name, case-insensitive, or by id) with ``values``."""
        templates = await self.store.templates()
        for template_id, template_name, body in templates:
            if str(template_id) == str(name) or template_name.casefold() == str(name).casefold():
                return render(body, values)
        known = ", ".join(template_name for _, template_name, _ in templates) or "none cached; run smsdesk sync"
        raise TemplateError(f"Template {name!r} not found; known templates: {known}.")

    def _publish(self, event: Any) -> None:
        if self.events is not None:
            self.events.publish(event)


def _check_template(name: str, body: str) -> None:
    if not name.strip():
        raise TemplateError("The template name is empty; give it a name.")
    if not body.strip():
        raise TemplateError(f"The body of template {name!r} is empty; give it text.")
    render(body, _AnyValue())


class _AnyValue(dict):
    """A mapping that has every key, to check a template's syntax without values."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return ""


def _updates_from_results(refs: Sequence[str], results: Sequence[SendResult]) -> list[SendUpdate]:
    """Match per-message results to outbox rows by the reference in custom_string.

    A result without our reference falls back to its position in the request.
    """
    expected = set(refs)
    updates: dict[str, SendUpdate] = {}
    for position, result in enumerate(results):
        ref = reference.split(result.custom_string)[1]
        if ref not in expected and position < len(refs):
            ref = refs[position]
        if ref not in expected or ref in updates:
            continue
        accepted = result.status.strip().upper() == "SUCCESS"
        scheduled = accepted and result.schedule is not None and result.schedule > datetime.now(UTC) + timedelta(seconds=60)
        updates[ref] = SendUpdate(
            client_ref=ref,
            status=status.from_send_result(result.status, scheduled=scheduled),
            # ClickSend gives rejected messages an id too; the cache keeps ids only for
            # messages that ClickSend accepted, so a rejected message shows no id.
            message_id=(result.message_id or None) if accepted else None,
            status_text=result.status,
            error_text=None if accepted else result.status,
            our_number=result.from_,
            parts=result.message_parts or None,
            price=result.message_price,
            country=result.country,
            carrier=result.carrier,
        )
    return list(updates.values())


def _update_from_history(ref: str, row: Any) -> SendUpdate:
    return SendUpdate(
        client_ref=ref,
        status=status.from_history(row.status, row.status_code),
        message_id=row.message_id or None,
        status_text=row.status_text or row.status,
        error_text=row.error_text,
        parts=row.message_parts or None,
        price=row.message_price,
        country=row.country,
        carrier=row.carrier,
    )


def _recipient_outcome(record: MessageRecord) -> RecipientOutcome:
    return RecipientOutcome(
        to=record.their_number,
        status=record.status,
        message_row=record.row_id,
        client_ref=record.client_ref or "",
        message_id=record.message_id,
        parts=record.parts or 0,
        price=record.price,
        error=record.error_text if record.status == status.FAILED else None,
    )
