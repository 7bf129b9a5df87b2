"""The App Home tab: unread conversations, scheduled messages with cancel buttons, recent failures."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slackbot import blocks
from slackbot.requester import Requester, user_id_of

if TYPE_CHECKING:
    from slackbot.app import SlackBot

logger = logging.getLogger(__name__)


class HomeTab:
    """Publishes the Home tab and handles its cancel buttons."""

    def __init__(self, bot: SlackBot) -> None:
        self.bot = bot

    async def on_home_opened(self, event: dict[str, Any]) -> None:
        user_id = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user_id, str):
            return
        self.bot.spawn(self.publish_home(user_id), work_name="home tab")

    async def publish_home(self, user_id: str) -> None:
        conversations = await self.bot.store.list_conversations(order="unread", limit=20)
        unread = [
            blocks.HomeItem(number=c.their_number, text=c.last_body or "", when=c.last_activity, unread=c.unread_count)
            for c in conversations if c.unread
        ][:10]
        scheduled = [
            blocks.HomeItem(number=m.their_number, text=m.body, when=m.schedule_at, message_id=m.message_id)
            for m in await self.bot.store.messages(direction="out", status="scheduled", limit=20)
        ]
        failures = [
            blocks.HomeItem(number=m.their_number, text=f"{m.error_text or m.status_text or 'failed'}: {m.body}", when=m.ts)
            for m in await self.bot.store.messages(direction="out", status="failed", limit=10)
        ]
        failures += [
            blocks.HomeItem(number=m.their_number, text=f"Inbound SMS not posted to Slack ({reason}): {m.body}", when=m.ts)
            for m, reason in await self.bot.store.list_relay_failures(limit=10)
        ]
        view = blocks.home_view(unread=unread, scheduled=scheduled, failures=failures, region=self.bot.settings.default_region)
        await self.bot.poster.call(self.bot.client.views_publish, user_id=user_id, view=view)

    async def on_cancel_scheduled(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any],
                                   action: dict[str, Any]) -> None:
        await ack()
        user_id = user_id_of(body)
        message_id = action.get("value")
        if not user_id or not isinstance(message_id, str):
            return
        requester = Requester(user_id, None, self.bot.direct_message_responder(user_id))
        self.bot.spawn(self._cancel_from_home(requester, message_id), work_name="cancel", requester=requester)

    async def _cancel_from_home(self, requester: Requester, message_id: str) -> None:
        await self.bot.service.cancel(message_id)
        logger.info("Slack user %s cancelled message %s from the Home tab", requester.user_id, message_id)
        await self.publish_home(requester.user_id)
