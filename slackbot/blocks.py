"""Block Kit layouts of the bot's posts, replies, App Home tab and compose form.

Functions return `(text, blocks)` for messages: `text` is the notification and
screen-reader fallback, `blocks` is what Slack shows. Any text that came from an
SMS or a user goes through `escape_text`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.numbers import format_number
from core.segments import SegmentInfo
from slackbot.formatting import escape_text

CONFIRM_ACTION = "sms_confirm_send"
DISCARD_ACTION = "sms_discard_send"
CANCEL_SCHEDULED_ACTION = "sms_cancel_scheduled"
COMPOSE_CALLBACK = "sms_compose"
COMPOSE_BODY_ACTION = "sms_compose_body"

Blocks = list[dict[str, Any]]

# Slack rejects a message (invalid_blocks) whose section or context text exceeds 3,000 characters.
MAX_BLOCK_TEXT = 3000
# Recipient lines shown in one send result post; the summary still counts every recipient.
MAX_RESULT_LINES = 25

_STATUS_EMOJI = {
    "pending": ":hourglass_flowing_sand:",
    "queued": ":outbox_tray:",
    "scheduled": ":calendar:",
    "sent": ":outbox_tray:",
    "delivered": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
}
_ACCEPTED = frozenset({"queued", "scheduled", "sent", "delivered"})


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient's line in a send result post."""

    number: str
    status: str
    message_id: str | None = None
    error: str | None = None


def slack_date(moment: datetime) -> str:
    """Format `moment` so each Slack reader sees it in their own time zone (UTC as fallback)."""
    epoch = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}>"


def _clip(text: str, limit: int = MAX_BLOCK_TEXT) -> str:
    """Cut `text` to `limit` characters without splitting an escape such as `&amp;`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    ampersand = cut.rfind("&", len(cut) - 5)
    if ampersand != -1 and ";" not in cut[ampersand:]:
        cut = cut[:ampersand]
    return cut + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}


def _context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(t)} for t in texts]}


def _quote(text: str) -> str:
    escaped = escape_text(text) or " "
    return "\n".join("> " + line for line in escaped.split("\n"))


def _display(number: str, region: str) -> str:
    try:
        return format_number(number, default_region=region)
    except ValueError:
        return number


# -- relay -------------------------------------------------------------------


def inbound_post(
    *,
    their_number: str,
    our_number: str | None,
    body: str,
    received_at: datetime,
    reply_to_body: str | None = None,
    opt_out: str | None = None,
    possible_opt_out: bool = False,
    region: str = "AU",
) -> tuple[str, Blocks]:
    sender = _display(their_number, region)
    text = f"SMS from {sender}: {escape_text(body)}"

    header = f":incoming_envelope: *{sender}*"
    if our_number:
        header += f" to {_display(our_number, region)}"
    blocks: Blocks = [_section(f"{header}\n{_quote(body)}")]

    notes = [slack_date(received_at)]
    if reply_to_body:
        notes.append(f"in reply to: {escape_text(_shorten(reply_to_body, 120))}")
    if opt_out:
        notes.append(f":no_entry: *opted out* ({escape_text(opt_out)}): further SMS to this number are blocked")
    elif possible_opt_out:
        notes.append(":warning: possible opt-out? Read the message before replying")
    blocks.append(_context(*notes))
    return text, blocks


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- sends ---------------------------------------------------------------------


def summarize(results: Sequence[RecipientStatus]) -> str:
    """Count results as Slack users read them: '2 sent, 1 failed'."""
    sent = sum(1 for r in results if r.status in _ACCEPTED)
    failed = sum(1 for r in results if r.status == "failed")
    parts = [f"{sent} sent"]
    if failed:
        parts.append(f"{failed} failed")
    other = len(results) - sent - failed
    if other:
        parts.append(f"{other} pending")
    return ", ".join(parts)


def send_result_post(
    *,
    user_id: str,
    body: str,
    results: Sequence[RecipientStatus],
    region: str = "AU",
    total_price: Decimal | None = None,
) -> tuple[str, Blocks]:
    summary = summarize(results)
    text = f"SMS from <@{user_id}>: {summary}"

    lines = []
    for result in results[:MAX_RESULT_LINES]:
        line = f"{_STATUS_EMOJI.get(result.status, ':grey_question:')} {_display(result.number, region)}: {result.status}"
        if result.message_id:
            line += f" (`{escape_text(result.message_id)}`)"
        if result.error:
            line += f": {escape_text(result.error)}"
        lines.append(line)
    if len(results) > MAX_RESULT_LINES:
        lines.append(f"… and {len(results) - MAX_RESULT_LINES} more")

    footer = [f"sent by <@{user_id}>", summary]
    if total_price is not None:
        footer.append(f"cost {total_price}")
    blocks: Blocks = [_section(_quote(body)), _section("\n".join(lines)), _context(*footer)]
    return text, blocks


def price_reply(*, recipients: Sequence[str], segments: SegmentInfo, per_recipient: Iterable[tuple[str, Decimal]],
                total: Decimal, currency: str = "", region: str = "AU") -> str:
    lines = [
        f"*Price for {len(recipients)} recipient{'s' if len(recipients) != 1 else ''}*",
        f"{segments.parts} part{'s' if segments.parts != 1 else ''}, {segments.encoding}, "
        f"{segments.remaining} characters left in the last part",
    ]
    if segments.unicode_chars:
        characters = " ".join(escape_text(c) for c in segments.unicode_chars)
        lines.append(f"Characters that force UCS-2: {characters}")
    for number, price in per_recipient:
        lines.append(f"• {_display(number, region)}: {_money(price, currency)}")
    lines.append(f"*Total: {_money(total, currency)}*")
    return "\n".join(lines)


def _money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "unknown"
    return f"{amount} {currency}".strip()


def confirm_prompt(*, token: str, reasons: Sequence[str], recipients: Sequence[str], body: str,
                   total: Decimal | None, currency: str = "", region: str = "AU") -> tuple[str, Blocks]:
    count = len(recipients)
    shown = ", ".join(_display(n, region) for n in recipients[:5]) + (f" and {count - 5} more" if count > 5 else "")
    cost = _money(total, currency)
    text = f"Confirm sending to {count} recipient{'s' if count != 1 else ''} (cost {cost})"
    why = "\n".join(f"• {escape_text(reason)}" for reason in reasons)
    blocks: Blocks = [
        _section(f"*Confirm this send*\n{why}"),
        _section(f"To: {shown}\nCost: {cost}\n{_quote(body)}"),
        {
            "type": "actions",
            "block_id": "confirm",
            "elements": [
                {"type": "button", "action_id": CONFIRM_ACTION, "style": "danger", "value": token,
                 "text": {"type": "plain_text", "text": "Send"}},
                {"type": "button", "action_id": DISCARD_ACTION, "value": token,
                 "text": {"type": "plain_text", "text": "Don't send"}},
            ],
        },
    ]
    return text, blocks


# -- App Home ----------------------------------------------------------------------


@dataclass(frozen=True)
class HomeItem:
    number: str
    text: str
    when: datetime | None = None
    message_id: str | None = None
    unread: int = 0


def home_view(*, unread: Sequence[HomeItem], scheduled: Sequence[HomeItem], failures: Sequence[HomeItem],
              region: str = "AU") -> dict[str, Any]:
    blocks: Blocks = [{"type": "header", "text": {"type": "plain_text", "text": "smsdesk"}}]

    blocks.append(_section("*Unread conversations*"))
    if not unread:
        blocks.append(_context("No unread conversations."))
    for item in unread:
        when = f" · {slack_date(item.when)}" if item.when else ""
        blocks.append(_section(f"*{_display(item.number, region)}* ({item.unread} unread){when}\n{_quote(_shorten(item.text, 200))}"))

    blocks.append({"type": "divider"})
    blocks.append(_section("*Scheduled messages*"))
    if not scheduled:
        blocks.append(_context("Nothing scheduled."))
    for item in scheduled:
        when = slack_date(item.when) if item.when else "unknown time"
        section = _section(f"{_display(item.number, region)} at {when}\n{_quote(_shorten(item.text, 200))}")
        if item.message_id:
            section["accessory"] = {
                "type": "button",
                "action_id": CANCEL_SCHEDULED_ACTION,
                "value": item.message_id,
                "style": "danger",
                "text": {"type": "plain_text", "text": "Cancel"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Cancel this SMS?"},
                    "text": {"type": "plain_text", "text": "ClickSend will not send it."},
                    "confirm": {"type": "plain_text", "text": "Cancel SMS"},
                    "deny": {"type": "plain_text", "text": "Keep"},
                },
            }
        blocks.append(section)

    blocks.append({"type": "divider"})
    blocks.append(_section("*Recent failures*"))
    if not failures:
        blocks.append(_context("No recent failures."))
    for item in failures:
        when = f" · {slack_date(item.when)}" if item.when else ""
        blocks.append(_section(f":x: {_display(item.number, region)}{when}\n{escape_text(_shorten(item.text, 300))}"))

    # Slack limits a Home view to 100 blocks.
    return {"type": "home", "blocks": blocks[:100]}


# -- compose form ------------------------------------------------------------------


def compose_view(*, channel_id: str, templates: Sequence[str], preview: str = "") -> dict[str, Any]:
    blocks: Blocks = [
        {
            "type": "input",
            "block_id": "recipients",
            "label": {"type": "plain_text", "text": "Recipients"},
            "hint": {"type": "plain_text", "text": "Numbers separated by commas, such as +61491570156"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
    ]
    if templates:
        blocks.append({
            "type": "input",
            "block_id": "template",
            "optional": True,
            "label": {"type": "plain_text", "text": "Template"},
            "hint": {"type": "plain_text", "text": "Used when the message is empty"},
            "element": {
                "type": "static_select",
                "action_id": "value",
                "options": [
                    {"text": {"type": "plain_text", "text": name[:75]}, "value": name[:150]}
                    for name in templates[:100]
                ],
            },
        })
    blocks += [
        {
            "type": "input",
            "block_id": "body",
            "optional": bool(templates),
            "dispatch_action": True,
            "label": {"type": "plain_text", "text": "Message"},
            "element": {
                "type": "plain_text_input",
                "action_id": COMPOSE_BODY_ACTION,
                "multiline": True,
                "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
            },
        },
        {
            "type": "input",
            "block_id": "schedule",
            "optional": True,
            "label": {"type": "plain_text", "text": "Send at (optional)"},
            "element": {"type": "datetimepicker", "action_id": "value"},
        },
        _context(preview or "Type the message to see its parts and price."),
    ]
    return {
        "type": "modal",
        "callback_id": COMPOSE_CALLBACK,
        "private_metadata": channel_id,
        "title": {"type": "plain_text", "text": "Send an SMS"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }
