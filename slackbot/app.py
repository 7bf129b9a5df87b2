"""The smsdesk Slack bot: Slack Bolt's `AsyncApp` over the send service and the cache.

Every listener acknowledges Slack at once and runs ClickSend work in a background
task, because Slack gives up on a request after three seconds and ClickSend can be
slower than that. The HTTP response goes out when the listener returns, so a
listener never awaits ClickSend itself. Results reach the user through the
command's `response_url` (ephemeral) or a channel post.

Cross-cutting rules live in one place each: the allow-list in `_require_access`
(listener middleware), user-facing wording in `slackbot.messages`, and errors of
background work in `report_error`. The compose form, the Home tab and two-way
thread replies have their own modules.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from core.config import Settings
from core.errors import ClickSendError
from core.events import DataVersionWatcher, EventBus, InboundReceived, StatusChanged, StoreChanged, Subscription
from core.numbers import mask_number, normalize_number
from core.segments import count_segments
from core.service import SendOutcome, SmsService, TemplateError, TemplateInfo
from core.store import Store, StoreClosedError
from slackbot import blocks, messages
from slackbot.access import AccessPolicy
from slackbot.commands import (
    USAGE,
    Cancel,
    CancelAll,
    Command,
    CommandUsageError,
    Compose,
    Help,
    Price,
    Send,
    TemplateList,
    TemplateShow,
    TemplateUse,
    parse_command,
)
from slackbot.formatting import escape_text
from slackbot.compose import ComposeForm
from slackbot.home import HomeTab
from slackbot.outcome import clicksend_unreachable, quote_lines, recipient_statuses
from slackbot.relay import (
    CATCH_UP_WINDOW,
    ChannelQueues,
    ChannelUnavailableError,
    Relay,
    SlackPoster,
    slack_error_code,
)
from slackbot.requester import Requester, Respond, channel_id_of, user_id_of
from slackbot.thread_replies import ThreadReplies

logger = logging.getLogger(__name__)

# Rate-limited Web API calls are retried after Retry-After this many times before the caller sees the 429.
RATE_LIMIT_RETRIES = 3
# A confirm button stops working after this long; the price it showed may be stale by then.
CONFIRM_TTL_SECONDS = 15 * 60
# How long close() lets background work finish before cancelling it.
SHUTDOWN_GRACE_SECONDS = 10.0


class SlackConfigError(ValueError):
    """A setting the Slack bot needs is missing or invalid; the message names it and the fix."""


def build_web_client(settings: Settings) -> AsyncWebClient:
    """Create the Slack Web API client with async retry handlers only.

    The sync `RateLimitErrorRetryHandler` would fail inside the async client
    (it has no `can_retry_async`), so only the async handlers are passed.
    """
    token = settings.slack.bot_token
    if token is None:
        raise SlackConfigError(
            "SLACK_BOT_TOKEN is not set. Copy the Bot User OAuth Token (xoxb-...) from the Slack app's "
            "OAuth & Permissions page into SLACK_BOT_TOKEN or [slack] bot_token."
        )
    return AsyncWebClient(
        token=token.get_secret_value(),
        base_url=settings.slack.api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


@dataclass
class PendingSend:
    """A send waiting for its confirm button."""

    user_id: str
    channel_id: str | None
    numbers: list[str]
    body: str
    schedule: datetime | None
    allow_opted_out: bool
    created: float


class SlackBot:
    """The Bolt app, its listeners and the relay, sharing one Web API client."""

    def __init__(
        self,
        *,
        settings: Settings,
        service: SmsService,
        store: Store,
        events: EventBus | None = None,
        client: AsyncWebClient | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.store = store
        self.events = events
        self.client = client or build_web_client(settings)
        self._identity: AuthorizeResult | None = None

        async def authorize(**_: Any) -> AuthorizeResult:
            # The bot serves the one workspace its token belongs to. Bolt's default would
            # call auth.test during the first request, whose acknowledgement would then
            # wait for a round trip to Slack.
            return await self.verify_identity()

        self.app = AsyncApp(
            # Bolt's own client has no token, because each request gets the token from
            # authorize. Given a token as well, Bolt would warn that it ignores it.
            client=AsyncWebClient(
                base_url=self.client.base_url, timeout=self.client.timeout, retry_handlers=self.client.retry_handlers
            ),
            authorize=authorize,
            name="smsdesk",
            logger=logging.getLogger("slackbot.bolt"),
            # Signatures are checked by slackbot.server on the raw body bytes, with a logged
            # reason for each rejection; Socket Mode needs no signature.
            request_verification_enabled=False,
            # Listeners return right after ack() and hand slow work to background tasks, so the
            # response can wait for the listener without Bolt's 10 ms ack polling.
            process_before_response=True,
        )

        slack = settings.slack
        self.access = AccessPolicy(
            users=slack.allowed_users, groups=slack.allowed_groups, channels=slack.allowed_channels, client=self.client
        )
        self.poster = SlackPoster(self.client)
        self.queues = ChannelQueues()
        self.relay = Relay(settings=settings, store=store, poster=self.poster, queues=self.queues)

        self._pending: dict[str, PendingSend] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._event_task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._watcher: DataVersionWatcher | None = None
        self.thread_replies = ThreadReplies(self)
        self.home = HomeTab(self)
        self.compose = ComposeForm(self)
        self._register_listeners()

    # -- lifecycle ---------------------------------------------------------------

    async def verify_identity(self) -> AuthorizeResult:
        """Return the bot's identity from Slack's auth.test, asking Slack only the first time.

        Raises SlackApiError when Slack rejects the bot token.
        """
        if self._identity is None:
            response = await self.client.auth_test()
            self._identity = AuthorizeResult.from_auth_test_response(
                auth_test_response=response, bot_token=self.client.token
            )
        return self._identity

    async def start(self) -> None:
        """Learn the bot's identity and start relaying cache events (inbound SMS, status changes) to Slack."""
        try:
            await self.verify_identity()
        except (SlackApiError, aiohttp.ClientError) as error:
            # The runner rejects a wrong token before start(), so this is most likely the
            # network. Bolt's authorize step calls auth.test again on the first request.
            logger.warning("Slack auth.test failed at start-up (%s); the first request will try again", error)
        if self.events is not None and self._event_task is None:
            self.relay.catch_up_since = datetime.now(timezone.utc) - CATCH_UP_WINDOW
            self.relay.posts_since = datetime.now(timezone.utc)
            # Subscribe now, not inside the task, so no event published after start() is missed.
            self._subscription = self.events.subscribe()
            self._event_task = asyncio.create_task(self._consume_events(self._subscription), name="slack-relay-events")
            self._watcher = DataVersionWatcher(self.store, self.events)
            self._watcher.start()
            await self.relay.catch_up()

    async def close(self) -> None:
        """Let background work finish (up to a grace period), then stop the relay."""
        if self._watcher is not None:
            try:
                await self._watcher.stop()
            except (StoreClosedError, sqlite3.Error, OSError) as error:
                # The watcher's task ended earlier with this error (the cache closed or broke).
                logger.warning("The cache change watcher had stopped: %s: %s", type(error).__name__, error)
            self._watcher = None
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self._event_task is not None:
            self._event_task.cancel()
            await asyncio.gather(self._event_task, return_exceptions=True)
            self._event_task = None
        if self._tasks:
            _, unfinished = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        await self.queues.aclose()

    async def idle(self) -> None:
        """Wait until no background task or queued Slack call is left (for tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)
        await self.queues.join()

    def spawn(
        self, work: Coroutine[Any, Any, Any], *, work_name: str, requester: Requester | None = None
    ) -> asyncio.Task[None]:
        """Run `work` after the acknowledgement; its errors go to `report_error`."""
        task = asyncio.create_task(self._guarded(work, work_name=work_name, requester=requester), name=f"slack-{work_name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, work: Coroutine[Any, Any, Any], *, work_name: str, requester: Requester | None) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self.report_error(error, work_name=work_name, requester=requester)

    async def _consume_events(self, subscription: Subscription) -> None:
        async for event in subscription:
            try:
                if isinstance(event, InboundReceived):
                    await self.relay.relay_inbound(event.message.row_id)
                elif isinstance(event, StatusChanged):
                    await self.relay.on_status_changed(event.change.row_id)
                elif isinstance(event, StoreChanged):
                    # Another process (smsdesk serve, the terminal inbox) wrote to the cache.
                    await self.relay.catch_up()
                    await self.relay.catch_up_receipts()
            except Exception:
                logger.exception("Could not relay cache event %r to Slack", type(event).__name__)

    # -- errors ------------------------------------------------------------------

    async def report_error(self, error: BaseException, *, work_name: str, requester: Requester | None) -> None:
        """Log the technical cause with ids and tell the user a plain sentence."""
        user = requester.user_id if requester else "-"
        channel = requester.channel_id if requester else "-"
        if isinstance(error, ValueError):
            # Invalid input; the message can contain phone numbers, which stay out of the log.
            logger.info("%s rejected for Slack user %s in %s: %s", work_name, user, channel, type(error).__name__)
        else:
            expected = isinstance(error, (ClickSendError, SlackApiError, ChannelUnavailableError))
            logger.error(
                "%s failed for Slack user %s in %s: %s: %s",
                work_name, user, channel, type(error).__name__, error, exc_info=not expected,
            )
        if requester is None:
            return
        try:
            await requester.respond(text=messages.user_message_for(error), response_type="ephemeral", replace_original=False)
        except Exception as respond_error:
            logger.error("Could not tell Slack user %s about the failed %s: %r", user, work_name, respond_error)

    async def _on_bolt_error(self, error: Exception, body: dict[str, Any], respond: Respond | None = None) -> None:
        user = user_id_of(body)
        logger.error("Slack request from user %s failed: %s: %s", user, type(error).__name__, error, exc_info=True)
        if respond is not None and _response_url(body):
            try:
                await respond(text=messages.user_message_for(error), response_type="ephemeral")
            except Exception as respond_error:
                logger.error("Could not tell Slack user %s about the error: %r", user, respond_error)

    # -- listeners -----------------------------------------------------------------

    def _register_listeners(self) -> None:
        app = self.app
        app.error(self._on_bolt_error)
        app.command("/sms", middleware=[self._parse_command, self._require_access])(self._on_command)
        app.action(blocks.CONFIRM_ACTION, middleware=[self._require_access])(self._on_confirm)
        app.action(blocks.DISCARD_ACTION)(self._on_discard)
        app.action(blocks.CANCEL_SCHEDULED_ACTION, middleware=[self._require_access])(self.home.on_cancel_scheduled)
        app.action(blocks.COMPOSE_BODY_ACTION)(self.compose.on_typing)
        app.view(blocks.COMPOSE_CALLBACK, middleware=[self._require_access])(self.compose.on_submit)
        app.event("message")(self.thread_replies.on_message)
        app.event("app_home_opened")(self.home.on_home_opened)

    async def _parse_command(self, body: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        try:
            text = body.get("text")
            context["sms_command"] = parse_command(text if isinstance(text, str) else "")
        except CommandUsageError as error:
            context["sms_command"] = error
        return await next()

    async def _require_access(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], context: dict[str, Any],
        respond: Respond, next: Callable[[], Awaitable[Any]],
    ) -> Any:
        """Reject sends and cancels from users or channels that the allow-list does not cover."""
        action = _guarded_action(body, context.get("sms_command"))
        if action is None:
            return await next()

        user_id = user_id_of(body)
        channel_id = channel_id_of(body)
        decision = await self.access.check(user_id=user_id, channel_id=channel_id)
        if decision.allowed:
            return await next()

        logger.info("Rejected %s by Slack user %s in %s: %s not allowed", action, user_id, channel_id, decision.reason)
        denial = messages.access_denied(user_id=user_id, channel_id=channel_id, action=action, reason=decision.reason)
        # Returning the acknowledgement, without calling next(), ends the request here.
        if body.get("type") == "view_submission":
            return await ack(response_action="errors", errors={"recipients": denial[:150]})
        if body.get("command"):
            return await ack(text=denial)
        response = await ack()
        self.spawn(respond(text=denial, response_type="ephemeral", replace_original=False), work_name="access denial")
        return response

    async def _on_command(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], context: dict[str, Any],
                          respond: Respond) -> None:
        command: Command | CommandUsageError = context["sms_command"]
        requester = Requester(str(body.get("user_id", "")), body.get("channel_id"), respond)

        if isinstance(command, CommandUsageError):
            await ack(text=f"{command}\n\n{USAGE}")
        elif isinstance(command, Help):
            await ack(text=USAGE)
        elif isinstance(command, Compose):
            await ack(text=messages.ACK_COMPOSE)
            self.spawn(self.compose.open(str(body.get("trigger_id", "")), requester), work_name="compose form",
                       requester=requester)
        elif isinstance(command, Send):
            await ack(text=messages.ACK_SENDING)
            self.spawn(self.send(requester, list(command.recipients), command.body), work_name="send", requester=requester)
        elif isinstance(command, Price):
            await ack(text=messages.ACK_PRICING)
            self.spawn(self._price(requester, list(command.recipients), command.body), work_name="price", requester=requester)
        elif isinstance(command, (Cancel, CancelAll)):
            await ack(text=messages.ACK_CANCELLING)
            self.spawn(self._cancel(requester, command), work_name="cancel", requester=requester)
        elif isinstance(command, (TemplateList, TemplateShow)):
            await ack(text=messages.ACK_WORKING)
            self.spawn(self._show_templates(requester, command), work_name="template lookup", requester=requester)
        elif isinstance(command, TemplateUse):
            await ack(text=messages.ACK_SENDING)
            self.spawn(self._use_template(requester, command), work_name="template send", requester=requester)

    # -- send, price, cancel, templates ----------------------------------------------

    def normalize_numbers(self, recipients: Sequence[str]) -> list[str]:
        return [normalize_number(raw, default_region=self.settings.default_region) for raw in recipients]

    async def send(self, requester: Requester, recipients: list[str], body: str, *,
                    schedule: datetime | None = None) -> None:
        numbers = self.normalize_numbers(recipients)
        reasons, total, currency, opted_out = await self._confirmation_reasons(numbers, body)
        if reasons:
            await self._ask_to_confirm(requester, numbers, body, schedule, reasons, total, currency, bool(opted_out))
            return
        await self._send_now(requester, numbers, body, schedule=schedule, allow_opted_out=False)

    async def _confirmation_reasons(self, numbers: list[str], body: str) -> tuple[list[str], Decimal | None, str, set[str]]:
        slack = self.settings.slack
        reasons: list[str] = []
        if slack.confirm_recipients_above is not None and len(numbers) > slack.confirm_recipients_above:
            reasons.append(f"{len(numbers)} recipients, more than the {slack.confirm_recipients_above} that need no confirmation")

        opted_out = await self.store.opted_out(numbers)
        for number in numbers:
            if number in opted_out:
                reasons.append(f"{number} has opted out (replied STOP); send only if they asked you to")

        total: Decimal | None = None
        currency = ""
        if slack.confirm_above is not None:
            quote = await self.service.price(to=numbers, body=body)
            total, currency = quote.total, quote.currency or ""
            if total > slack.confirm_above:
                reasons.append(f"costs {total} {currency}".rstrip() + f", more than the {slack.confirm_above} limit")
        return reasons, total, currency, opted_out

    async def _ask_to_confirm(self, requester: Requester, numbers: list[str], body: str, schedule: datetime | None,
                              reasons: list[str], total: Decimal | None, currency: str, opted_out: bool) -> None:
        self._drop_expired_confirmations()
        token = secrets.token_urlsafe(16)
        self._pending[token] = PendingSend(
            user_id=requester.user_id, channel_id=requester.channel_id, numbers=numbers, body=body,
            schedule=schedule, allow_opted_out=opted_out, created=time.monotonic(),
        )
        text, prompt = blocks.confirm_prompt(
            token=token, reasons=reasons, recipients=numbers, body=body, total=total, currency=currency,
            region=self.settings.default_region,
        )
        # The reasons can name opted-out numbers, so the log gets only their count.
        logger.info("Send by Slack user %s to %d recipients waits for confirmation (%d reasons)",
                    requester.user_id, len(numbers), len(reasons))
        await requester.respond(text=text, blocks=prompt, response_type="ephemeral", replace_original=False)

    def _drop_expired_confirmations(self) -> None:
        now = time.monotonic()
        for token in [t for t, p in self._pending.items() if now - p.created > CONFIRM_TTL_SECONDS]:
            del self._pending[token]

    async def _send_now(self, requester: Requester, numbers: list[str], body: str, *,
                        schedule: datetime | None, allow_opted_out: bool) -> None:
        origin = {"via": "slack", "user": requester.user_id, "channel": requester.channel_id}
        logger.info("Sending SMS for Slack user %s in %s to %s", requester.user_id, requester.channel_id,
                    ", ".join(mask_number(n) for n in numbers))
        outcome = await self.service.send(
            to=numbers, body=body, schedule=schedule, allow_opted_out=allow_opted_out, origin=origin
        )
        await self._post_send_result(requester, body, outcome)

    async def _post_send_result(self, requester: Requester, body: str, outcome: SendOutcome) -> None:
        if clicksend_unreachable(outcome):
            logger.warning("Send for Slack user %s not sent: ClickSend unreachable (%s)", requester.user_id,
                           outcome.recipients[0].error)
            await requester.respond(text=messages.CLICKSEND_UNREACHABLE, response_type="ephemeral",
                                    replace_original=False)
            return
        rows, results = recipient_statuses(outcome)
        text, result_blocks = blocks.send_result_post(
            user_id=requester.user_id, body=body, results=results, region=self.settings.default_region,
            total_price=outcome.total_price,
        )
        channel = requester.channel_id
        if channel:
            try:
                response = await self.poster.post(channel=channel, text=text, blocks=result_blocks, unfurl_links=False)
            except (SlackApiError, ChannelUnavailableError) as error:
                logger.info("Could not post the send result in %s (%s); replying to the user only", channel,
                            getattr(error, "reason", None) or slack_error_code(error))  # type: ignore[arg-type]
            else:
                ts = str(response["ts"])
                for row in rows:
                    await self.store.save_slack_post(row, channel=channel, ts=ts)
                return
        note = "\nInvite the bot to this channel (`/invite @smsdesk`) to see delivery updates here."
        await requester.respond(text=text + note, blocks=result_blocks, response_type="ephemeral", replace_original=False)

    async def _price(self, requester: Requester, recipients: list[str], body: str) -> None:
        numbers = self.normalize_numbers(recipients)
        quote = await self.service.price(to=numbers, body=body)
        per_recipient, total, currency = quote_lines(quote, numbers)
        text = blocks.price_reply(
            recipients=numbers, segments=count_segments(body), per_recipient=per_recipient, total=total,
            currency=currency, region=self.settings.default_region,
        )
        await requester.respond(text=text, response_type="ephemeral", replace_original=False)

    async def _cancel(self, requester: Requester, command: Cancel | CancelAll) -> None:
        if isinstance(command, Cancel):
            await self.service.cancel(command.message_id)
            logger.info("Slack user %s cancelled message %s", requester.user_id, command.message_id)
            text = f"Cancelled scheduled message `{escape_text(command.message_id)}`."
        else:
            count = await self.service.cancel_all(custom_string=command.reference)
            logger.info("Slack user %s cancelled %d scheduled messages (reference %r)", requester.user_id, count, command.reference)
            scope = f" with reference `{escape_text(command.reference)}`" if command.reference else ""
            text = f"Cancelled {count} scheduled message{'s' if count != 1 else ''}{scope}."
        await requester.respond(text=text, response_type="ephemeral", replace_original=False)

    async def _show_templates(self, requester: Requester, command: TemplateList | TemplateShow) -> None:
        templates = await self.service.templates()
        if isinstance(command, TemplateList):
            if not templates:
                text = "There are no templates yet. Create them in the ClickSend dashboard or the terminal inbox."
            else:
                text = "*Templates*\n" + "\n".join(f"• `{escape_text(t.name)}`" for t in templates)
        else:
            template = _find_template(templates, command.name)
            quoted = "\n".join("> " + line for line in escape_text(template.body).split("\n"))
            text = f"*{escape_text(template.name)}*\n{quoted}"
        await requester.respond(text=text, response_type="ephemeral", replace_original=False)

    async def _use_template(self, requester: Requester, command: TemplateUse) -> None:
        body = await self.render_template(command.name, command.values)
        await self.send(requester, list(command.recipients), body)

    async def render_template(self, name: str, values: dict[str, str]) -> str:
        """Render from the cached templates, refreshing them from ClickSend once if `name` is missing."""
        try:
            return await self.service.render_template(name, values)
        except TemplateError:
            await self.service.templates()
            return await self.service.render_template(name, values)

    # -- confirm buttons ---------------------------------------------------------------

    async def _on_confirm(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any],
                          respond: Respond) -> None:
        await ack()
        token = action.get("value", "")
        pending = self._pending.get(token)
        user_id = user_id_of(body)
        if pending is None:
            # A token never claimed belongs to a prompt that expired or outlived a restart. A claimed
            # one was already confirmed or discarded, so a second click does nothing.
            if await self.store.claim_slack_event(f"confirm:{token}"):
                logger.info("Confirm click by %s on an expired prompt", user_id)
                self.spawn(respond(text=messages.CONFIRM_EXPIRED, replace_original=True), work_name="expired prompt")
            else:
                logger.info("Ignored a repeated confirm click by %s", user_id)
            return
        if pending.user_id != user_id:
            await respond(text="Only the person who started this send can confirm it.", response_type="ephemeral",
                          replace_original=False)
            return
        if not await self.store.claim_slack_event(f"confirm:{token}"):
            return
        del self._pending[token]

        requester = Requester(user_id, pending.channel_id, respond)
        self.spawn(self._confirmed_send(requester, pending), work_name="confirmed send", requester=requester)

    async def _confirmed_send(self, requester: Requester, pending: PendingSend) -> None:
        await requester.respond(text=messages.ACK_SENDING, replace_original=True)
        await self._send_now(requester, pending.numbers, pending.body, schedule=pending.schedule,
                             allow_opted_out=pending.allow_opted_out)

    async def _on_discard(self, ack: Callable[..., Awaitable[Any]], action: dict[str, Any], respond: Respond) -> None:
        await ack()
        token = action.get("value", "")
        if self._pending.pop(token, None) is None:
            return
        await self.store.claim_slack_event(f"confirm:{token}")
        self.spawn(respond(text=messages.CONFIRM_CANCELLED, replace_original=True), work_name="discard")

    # -- replies, reactions ----------------------------------------------------------------

    async def react(self, channel: str, ts: str, name: str) -> None:
        try:
            await self.poster.call(self.client.reactions_add, channel=channel, timestamp=ts, name=name)
        except SlackApiError as error:
            if slack_error_code(error) != "already_reacted":
                logger.error("Could not add :%s: to %s in %s: %s", name, ts, channel, slack_error_code(error))

    def ephemeral_responder(self, channel: str, user_id: str, thread_ts: str | None = None) -> Respond:
        async def respond(text: str, blocks: Any = None, **_: Any) -> None:
            await self.poster.call(
                self.client.chat_postEphemeral, channel=channel, user=user_id, text=text, blocks=blocks,
                thread_ts=thread_ts,
            )
        return respond

    def direct_message_responder(self, user_id: str) -> Respond:
        async def respond(text: str, blocks: Any = None, **_: Any) -> None:
            await self.poster.call(self.client.chat_postMessage, channel=user_id, text=text, blocks=blocks)
        return respond

# -- helpers ------------------------------------------------------------------------------


def _guarded_action(body: dict[str, Any], command: Any) -> str | None:
    """Return 'send' or 'cancel' when the request needs the allow-list, else None."""
    if body.get("command"):
        if isinstance(command, (Send, TemplateUse, Compose)):
            return "send"
        if isinstance(command, (Cancel, CancelAll)):
            return "cancel"
        return None
    if body.get("type") == "view_submission":
        return "send"
    action_ids = {a.get("action_id") for a in body.get("actions", [])}
    if blocks.CONFIRM_ACTION in action_ids:
        return "send"
    if blocks.CANCEL_SCHEDULED_ACTION in action_ids:
        return "cancel"
    return None


def _response_url(body: dict[str, Any]) -> str | None:
    return body.get("response_url")


def _find_template(templates: Sequence[TemplateInfo], name: str) -> TemplateInfo:
    for template in templates:
        if template.name.casefold() == name.casefold():
            return template
    names = ", ".join(t.name for t in templates) or "none"
    raise ValueError(f"No template named '{name}'. Templates: {names}. See `/sms template list`.")


# -- entry point ------------------------------------------------------------------------


def main(settings: Settings, args: Any) -> int:
    """Run `smsdesk slack` until interrupted; return the exit code."""
    from slackbot.runner import run_main

    return run_main(settings, args)
