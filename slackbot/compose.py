"""The compose form that `/sms` alone opens: recipients, template, body and schedule.

While the user types, the form shows the parts and encoding of the text and, once
the recipients are valid, the price. A submitted form goes through the same send
path as `/sms send`, confirmation included.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from core.numbers import InvalidNumberError
from core.segments import count_segments
from slackbot import blocks
from slackbot.relay import slack_error_code
from slackbot.requester import Requester, user_id_of

if TYPE_CHECKING:
    from slackbot.app import SlackBot

# The parts and price preview waits for this pause in typing (seconds).
PREVIEW_DELAY_SECONDS = 0.5


class ComposeForm:
    """Opens the compose modal, previews what is typed, and sends what is submitted."""

    def __init__(self, bot: SlackBot) -> None:
        self.bot = bot
        self.preview_delay = PREVIEW_DELAY_SECONDS
        self._previews: dict[str, asyncio.Task[None]] = {}  # view id -> pending preview

    async def open(self, trigger_id: str, requester: Requester) -> None:
        names = [name for _, name, _ in await self.bot.store.templates()]
        view = blocks.compose_view(channel_id=requester.channel_id or "", templates=names)
        await self.bot.client.views_open(trigger_id=trigger_id, view=view)

    async def on_typing(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> None:
        await ack()
        view = body.get("view") or {}
        values = view_values(view)
        # Slack sends an action per typed character; only the last one within the delay is priced.
        view_id = view.get("id", "")
        earlier = self._previews.pop(view_id, None)
        if earlier is not None:
            earlier.cancel()
        task = self.bot.spawn(self._update_preview(view, values), work_name="compose preview")
        self._previews[view_id] = task
        task.add_done_callback(functools.partial(self._forget_preview, view_id))

    def _forget_preview(self, view_id: str, task: asyncio.Task[None]) -> None:
        if self._previews.get(view_id) is task:
            del self._previews[view_id]

    async def _update_preview(self, view: dict[str, Any], values: dict[str, Any]) -> None:
        await asyncio.sleep(self.preview_delay)
        text = values.get("body") or ""
        info = count_segments(text)
        preview = f"{len(text)} characters, {info.parts} part{'s' if info.parts != 1 else ''}, {info.encoding}"
        try:
            numbers = self.bot.normalize_numbers([n for n in (values.get("recipients") or "").split(",") if n.strip()])
        except InvalidNumberError:
            numbers = []
        if numbers and text:
            quote = await self.bot.service.price(to=numbers, body=text)
            preview += f", price {quote.total} {quote.currency or ''}".rstrip()
        names = [opt["value"] for block in view.get("blocks", []) if block.get("block_id") == "template"
                 for opt in block["element"].get("options", [])]
        new_view = blocks.compose_view(channel_id=view.get("private_metadata", ""), templates=names, preview=preview)
        try:
            await self.bot.client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
        except SlackApiError as error:
            # hash_conflict: the user typed again and a newer preview is on its way.
            if slack_error_code(error) != "hash_conflict":
                raise

    async def on_submit(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view_values(view)
        errors: dict[str, str] = {}
        recipients = [n.strip() for n in (values.get("recipients") or "").split(",") if n.strip()]
        try:
            numbers = self.bot.normalize_numbers(recipients)
            if not numbers:
                errors["recipients"] = "Enter at least one number, such as +61491570156."
        except InvalidNumberError as error:
            errors["recipients"] = str(error)[:150]
        text = (values.get("body") or "").strip()
        template = values.get("template")
        if not text and not template:
            errors["body"] = "Write a message or pick a template."
        schedule = values.get("schedule")
        if schedule is not None and schedule <= time.time():
            errors["schedule"] = "Pick a time in the future, or leave it empty to send now."
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()

        user_id = user_id_of(body)
        channel_id = view.get("private_metadata") or None
        responder = self.bot.ephemeral_responder(channel_id, user_id) if channel_id else self.bot.direct_message_responder(user_id)
        requester = Requester(user_id, channel_id, responder)
        when = datetime.fromtimestamp(schedule, tz=timezone.utc) if schedule is not None else None
        self.bot.spawn(self._send(requester, numbers, text, template, when), work_name="send", requester=requester)

    async def _send(self, requester: Requester, numbers: list[str], text: str, template: str | None,
                             schedule: datetime | None) -> None:
        if not text and template:
            text = await self.bot.render_template(template, {})
        await self.bot.send(requester, numbers, text, schedule=schedule)


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """Flatten a modal's state to {block_id: value}; the datetime picker gives epoch seconds."""
    flat: dict[str, Any] = {}
    for block_id, elements in (view.get("state") or {}).get("values", {}).items():
        for element in elements.values():
            kind = element.get("type")
            if kind == "static_select":
                selected = element.get("selected_option")
                flat[block_id] = selected["value"] if selected else None
            elif kind == "datetimepicker":
                flat[block_id] = element.get("selected_date_time")
            else:
                flat[block_id] = element.get("value")
    return flat
