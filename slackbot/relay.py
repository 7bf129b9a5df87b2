"""Relay of inbound SMS and delivery receipts to Slack channels.

Each inbound message is posted once (the cache's `claim_relay` decides) to the
channel mapped to the number that received it, as a reply in its conversation's
thread. Receipts edit the post of the message they belong to. All Slack calls for
one channel go through one FIFO queue, so posts keep their receive order and a
rate-limited call delays the ones behind it instead of overtaking them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from core.config import Settings
from core.numbers import mask_number
from core.store import MessageRecord, SlackPost, Store
from slackbot import blocks

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]

# Calls still rate limited after the Web API client's own retries wait and try again this often.
MAX_RATE_LIMIT_WAITS = 5
DEFAULT_RETRY_AFTER_SECONDS = 1.0
# Inbound SMS that another process stored are relayed only when received this recently
# before the bot started, so a first history sync does not flood the channels.
CATCH_UP_WINDOW = timedelta(hours=1)
CATCH_UP_BATCH = 500
# conversations.join returns these errors for channels a bot cannot join by itself (private, DMs, archived).
_CANNOT_JOIN = frozenset({"method_not_supported_for_channel_type", "channel_not_found", "is_archived"})


def slack_error_code(error: SlackApiError) -> str:
    response = error.response
    return str(response.get("error", "")) if response is not None else ""


class ChannelUnavailableError(Exception):
    """The bot cannot post in a channel and cannot join it by itself."""

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"cannot post in Slack channel {channel}: {reason}")
        self.channel = channel
        self.reason = reason


class SlackPoster:
    """chat.postMessage with the fixes for `not_in_channel` and lasting rate limits."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def call(self, method: Callable[..., Awaitable[AsyncSlackResponse]], **kwargs: Any) -> AsyncSlackResponse:
        """Call a Web API method, waiting out a 429 that the client's retry handler gave up on."""
        for attempt in range(MAX_RATE_LIMIT_WAITS + 1):
            try:
                return await method(**kwargs)
            except SlackApiError as error:
                if error.response is None or error.response.status_code != 429 or attempt == MAX_RATE_LIMIT_WAITS:
                    raise
                delay = _retry_after(error)
                logger.warning("Slack rate limited %s again; waiting %.1f s", getattr(method, "__name__", "call"), delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def post(self, *, channel: str, **kwargs: Any) -> AsyncSlackResponse:
        """Post a message; in a public channel the bot is not in, join it and post once more."""
        try:
            return await self.call(self.client.chat_postMessage, channel=channel, **kwargs)
        except SlackApiError as error:
            if slack_error_code(error) != "not_in_channel":
                raise
        await self.join(channel)
        return await self.call(self.client.chat_postMessage, channel=channel, **kwargs)

    async def join(self, channel: str) -> None:
        try:
            await self.call(self.client.conversations_join, channel=channel)
        except SlackApiError as error:
            code = slack_error_code(error)
            if code in _CANNOT_JOIN or code == "missing_scope":
                raise ChannelUnavailableError(
                    channel, f"the bot is not in the channel and cannot join it ({code}); invite it with /invite"
                ) from error
            raise
        logger.info("Joined Slack channel %s to post in it", channel)


def _retry_after(error: SlackApiError) -> float:
    headers = error.response.headers if error.response is not None else {}
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER_SECONDS


class ChannelQueues:
    """One FIFO worker per Slack channel; a job's failure is logged and never stops the queue."""

    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def put(self, channel: str, job: Job) -> None:
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = asyncio.Queue()
            self._workers[channel] = asyncio.create_task(self._work(channel, queue), name=f"slack-queue-{channel}")
        queue.put_nowait(job)

    async def _work(self, channel: str, queue: asyncio.Queue[Job]) -> None:
        while True:
            job = await queue.get()
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Slack job for channel %s failed", channel)
            finally:
                queue.task_done()

    async def join(self) -> None:
        """Wait until every queued job has run."""
        for queue in list(self._queues.values()):
            await queue.join()

    async def aclose(self) -> None:
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        self._queues.clear()


class Relay:
    """Posts inbound SMS to their channel threads and edits posts when receipts arrive."""

    def __init__(self, *, settings: Settings, store: Store, poster: SlackPoster, queues: ChannelQueues) -> None:
        self.settings = settings
        self.store = store
        self.poster = poster
        self.queues = queues
        self._warned_channels: set[str] = set()
        self._unmapped_numbers: set[str] = set()
        self.catch_up_since: datetime | None = None
        self.posts_since: datetime | None = None
        self._shown_status: dict[int, str] = {}  # message row -> status its post last showed

    def channel_for(self, our_number: str) -> str | None:
        return self.settings.slack.channel_map.get(our_number) or self.settings.slack.default_channel

    # -- inbound -----------------------------------------------------------------

    async def relay_inbound(self, message_row: int) -> None:
        """Queue the relay of one inbound message; a message already relayed is skipped."""
        message = await self.store.message(message_row)
        if message is None or message.direction != "in":
            return
        channel = self.channel_for(message.our_number)
        if channel is None:
            # Once per number of ours, so every SMS to an unmapped number does not repeat it.
            if message.our_number not in self._unmapped_numbers:
                self._unmapped_numbers.add(message.our_number)
                logger.warning(
                    "Inbound SMS to %s are not relayed to Slack: no slack.channel_map entry for it and no "
                    "slack.default_channel (first one: row %d)",
                    mask_number(message.our_number) or "an unknown number", message.row_id,
                )
            return
        if not await self.store.claim_relay(message.row_id):
            logger.debug("Inbound SMS row %d was already relayed", message.row_id)
            return
        self.queues.put(channel, lambda: self._post_inbound(message, channel))

    async def catch_up(self) -> None:
        """Relay inbound SMS that no relay has claimed: recent ones, and any marked 'retry'.

        This covers what another process stored and what this process's event queue dropped
        in a burst. Recent messages are read newest first, page by page, down to
        `catch_up_since`, because older never-relayed rows (a history sync) would fill
        every page of an oldest-first scan.
        """
        if self.catch_up_since is None:
            return
        pending: dict[int, MessageRecord] = {}
        offset = 0
        while True:
            page = await self.store.messages(direction="in", limit=CATCH_UP_BATCH, offset=offset)
            for message in page:
                if message.ts >= self.catch_up_since and message.relay_status in (None, "retry"):
                    pending[message.row_id] = message
            if len(page) < CATCH_UP_BATCH or page[-1].ts < self.catch_up_since:
                break
            offset += len(page)
        # A relay status of 'retry' requests a new post of a failed relay, whatever its age.
        for message in await self.store.unrelayed_inbound(limit=CATCH_UP_BATCH):
            if message.relay_status == "retry":
                pending[message.row_id] = message

        for message in sorted(pending.values(), key=lambda m: (m.ts, m.row_id)):
            await self.relay_inbound(message.row_id)

    async def catch_up_receipts(self) -> None:
        """Edit the posts of messages whose status another process changed since `posts_since`."""
        if self.posts_since is None:
            return
        while True:
            changed = await self.store.slack_posts_updated_since(self.posts_since, limit=CATCH_UP_BATCH)
            for message_row, updated_at in changed:
                await self.on_status_changed(message_row)
                self.posts_since = max(self.posts_since, updated_at)
            if len(changed) < CATCH_UP_BATCH:
                return

    async def _post_inbound(self, message: MessageRecord, channel: str) -> None:
        thread_ts = await self._current_thread(message, channel)
        reply_to_body = None
        if message.reply_to_message_id:
            original = await self.store.message_by_message_id(message.reply_to_message_id)
            reply_to_body = original.body if original is not None else None

        text, post_blocks = blocks.inbound_post(
            their_number=message.their_number,
            our_number=message.our_number,
            body=message.body,
            received_at=message.ts,
            reply_to_body=reply_to_body,
            opt_out=message.body.strip() if message.opt_out == "opt_out" else None,
            possible_opt_out=message.opt_out == "possible",
            region=self.settings.default_region,
        )
        try:
            response = await self.poster.post(
                channel=channel, text=text, blocks=post_blocks, thread_ts=thread_ts, unfurl_links=False
            )
        except (SlackApiError, ChannelUnavailableError) as error:
            await self._relay_failed(message, channel, error)
            return

        ts = str(response["ts"])
        await self.store.save_slack_post(message.row_id, channel=channel, ts=ts)
        await self.store.save_slack_thread(message.conversation_id, channel=channel, thread_ts=thread_ts or ts)
        await self.store.set_relay_status(message.row_id, "relayed")
        logger.info("Relayed inbound SMS row %d to %s (thread %s)", message.row_id, channel, thread_ts or ts)

    async def _current_thread(self, message: MessageRecord, channel: str) -> str | None:
        """Return the thread to reply in, or None to start a new one.

        A conversation starts a new thread when it has none in this channel, or when
        no message was sent or received in it for `thread_quiet_days`.
        """
        thread = await self.store.slack_thread(message.conversation_id)
        if thread is None or thread.channel != channel:
            return None
        earlier = await self.store.conversation_thread(message.conversation_id, before=message.ts, limit=1)
        if not earlier:
            return thread.thread_ts
        quiet = timedelta(days=self.settings.slack.thread_quiet_days)
        if message.ts - earlier[-1].ts > quiet:
            return None
        return thread.thread_ts

    async def _relay_failed(self, message: MessageRecord, channel: str, error: Exception) -> None:
        reason = error.reason if isinstance(error, ChannelUnavailableError) else slack_error_code(error)  # type: ignore[arg-type]
        await self.store.set_relay_status(message.row_id, "failed", reason=reason)
        logger.error("Relay of inbound SMS row %d to %s failed: %s", message.row_id, channel, reason)
        if channel in self._warned_channels:
            return
        # One warning per channel, so a burst of inbound SMS does not flood the admins.
        self._warned_channels.add(channel)
        logger.warning(
            "Inbound SMS for channel %s stay in the cache with relay status 'failed' until the bot is invited "
            "(/invite @smsdesk in that channel); set their relay status to 'retry' to post them then", channel,
        )
        admin_channel = self.settings.slack.default_channel
        if admin_channel and admin_channel != channel:
            warning = (
                f":warning: smsdesk cannot post inbound SMS in <#{channel}>: {reason}. "
                "Invite the bot there with `/invite @smsdesk`. Until then the messages stay in the cache."
            )
            try:
                await self.poster.post(channel=admin_channel, text=warning)
            except (SlackApiError, ChannelUnavailableError) as warn_error:
                logger.error("Could not post the relay warning to %s: %s", admin_channel, warn_error)

    # -- receipts ------------------------------------------------------------------

    async def on_status_changed(self, message_row: int) -> None:
        """Queue the update of the Slack post of an outbound message whose status changed."""
        post = await self.store.slack_post(message_row)
        if post is None:
            return
        self.queues.put(post.channel, lambda: self._update_post(message_row, post))

    async def _update_post(self, message_row: int, post: SlackPost) -> None:
        channel, ts = post.channel, post.ts
        message = await self.store.message(message_row)
        if message is None or message.direction != "out":
            return  # relayed inbound SMS have posts too, but no delivery status
        if self._shown_status.get(message_row) == message.status:
            # Reported twice (an event and a catch-up after another process wrote): nothing new to show.
            return
        self._shown_status[message_row] = message.status
        if post.kind == "user":
            # A person's thread reply: the bot cannot edit it, so it reacts instead.
            await self._react_to_status(message, channel, ts)
            return

        origin = message.origin or {}
        results = [
            blocks.RecipientStatus(number=m.their_number, status=m.status, message_id=m.message_id, error=m.error_text)
            for m in await self.store.slack_post_messages(channel, ts)
        ]
        text, post_blocks = blocks.send_result_post(
            user_id=str(origin.get("user", "")),
            body=message.body,
            results=results,
            region=self.settings.default_region,
        )
        try:
            await self.poster.call(self.poster.client.chat_update, channel=channel, ts=ts, text=text, blocks=post_blocks)
        except SlackApiError as error:
            logger.error(
                "Could not update the Slack post %s in %s for message row %d: %s",
                ts, channel, message_row, slack_error_code(error),
            )

    async def _react_to_status(self, message: MessageRecord, channel: str, ts: str) -> None:
        name = {"delivered": "white_check_mark", "failed": "x"}.get(message.status)
        if name is None:
            return
        try:
            await self.poster.call(self.poster.client.reactions_add, channel=channel, timestamp=ts, name=name)
        except SlackApiError as error:
            if slack_error_code(error) != "already_reacted":
                logger.error("Could not react to %s in %s: %s", ts, channel, slack_error_code(error))
