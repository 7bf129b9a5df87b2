"""Replies typed in a relay thread, sent back as SMS when `[slack] two_way` is on.

Only a person's new message in a thread that the relay started counts: edits,
deletions and bot posts do not. Slack retries an event it thinks was lost, so each
event id is claimed in the cache and handled once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from core.store import Conversation
from slackbot import messages
from slackbot.formatting import escape_text, unescape_command_text
from slackbot.outcome import clicksend_unreachable, recipient_statuses
from slackbot.requester import Requester

if TYPE_CHECKING:
    from slackbot.app import SlackBot

logger = logging.getLogger(__name__)


class ThreadReplies:
    """The `message` event listener that turns thread replies into SMS."""

    def __init__(self, bot: SlackBot) -> None:
        self.bot = bot

    async def on_message(self, body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]) -> None:
        if not self.bot.settings.slack.two_way:
            return
        # Edits, deletions and bot posts carry a subtype or bot_id; only a person's new reply in a thread counts.
        if event.get("subtype") not in (None, "thread_broadcast") or event.get("bot_id"):
            return
        thread_ts, ts, user, channel = (event.get(key) for key in ("thread_ts", "ts", "user", "channel"))
        if not all(isinstance(value, str) and value for value in (thread_ts, ts, user, channel)):
            return
        if thread_ts == ts or user == context.get("bot_user_id"):
            return

        conversation = await self.bot.store.conversation_for_slack_thread(channel, thread_ts)
        if conversation is None:
            return
        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            event_id = f"{channel}:{ts}"
        if not await self.bot.store.claim_slack_event(event_id):
            logger.info("Ignored Slack event %s: already handled (a Slack retry)", event_id)
            return

        requester = Requester(user, channel, self.bot.ephemeral_responder(channel, user, thread_ts))
        decision = await self.bot.access.check(user_id=user, channel_id=channel)
        if not decision.allowed:
            logger.info("Thread reply by Slack user %s in %s not sent: %s not allowed", user, channel, decision.reason)
            denial = messages.access_denied(user_id=user, channel_id=channel, action="send", reason=decision.reason)
            self.bot.spawn(requester.respond(text=denial), work_name="access denial")
            return
        self.bot.spawn(self._send_thread_reply(requester, conversation, event), work_name="thread reply", requester=requester)

    async def _send_thread_reply(self, requester: Requester, conversation: Conversation, event: dict[str, Any]) -> None:
        channel, ts = event["channel"], event["ts"]
        text = event.get("text")
        origin = {"via": "slack", "user": requester.user_id, "channel": channel, "kind": "thread_reply", "ts": ts}
        try:
            outcome = await self.bot.service.send(
                to=[conversation.their_number],
                body=unescape_command_text(text if isinstance(text, str) else ""),
                sender=conversation.our_number or None,
                origin=origin,
            )
        except Exception:
            await self.bot.react(channel, ts, "x")
            raise
        rows, results = recipient_statuses(outcome)
        for row in rows:
            await self.bot.store.save_slack_post(row, channel=channel, ts=ts, kind="user")
        [result] = results
        if result.status in ("queued", "scheduled"):
            await self.bot.react(channel, ts, "outbox_tray")
        elif result.status == "pending":
            # ClickSend's response never arrived; the outbox reconcile settles it later.
            await self.bot.react(channel, ts, "hourglass_flowing_sand")
            await requester.respond(text=messages.OUTCOME_UNKNOWN)
        else:
            await self.bot.react(channel, ts, "x")
            reason = messages.CLICKSEND_UNREACHABLE if clicksend_unreachable(outcome) else (result.error or result.status)
            await requester.respond(text=f"Not sent as SMS: {escape_text(reason)}")
