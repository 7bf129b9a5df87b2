"""The main screen: conversation list, thread, composer, status bar.

All network and cache work runs in async workers (`@work`), never in thread
workers, so widgets are only touched from the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from decimal import Decimal

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static, TextArea

from core.errors import ClickSendError, TransportError
from core.numbers import format_number
from tui.backend import Backend, SendRequest
from tui.formatting import format_price, format_schedule, one_line, placeholders
from tui.keys import INBOX_ACTIONS, bindings
from tui.rows import ConversationRow, ThreadEntry
from tui.screens.confirm_screen import ConfirmScreen
from tui.screens.inbox_live import LiveUpdates
from tui.screens.new_conversation_screen import NewConversationScreen
from tui.screens.schedule_screen import ScheduleScreen
from tui.widgets.activity_log import ActivityLog
from tui.widgets.banner import DEMO_TEXT, Banner
from tui.widgets.composer import Composer
from tui.widgets.conversation_list import ConversationList
from tui.widgets.live_line import LiveLine
from tui.widgets.status_bar import StatusBar
from tui.widgets.thread_view import ThreadView

# Seconds of no typing before the draft is priced with ClickSend.
PRICE_DEBOUNCE = 0.6
# Seconds to collect cache changes before redrawing once.
REDRAW_DELAY = 0.05


class InboxScreen(LiveUpdates, Screen[None]):
    """Conversations on the left, the open thread and the composer on the right."""

    BINDINGS = bindings(INBOX_ACTIONS)

    def __init__(
        self, backend: Backend, *, clock: Callable[[], datetime], tz: tzinfo, sync_interval: float = 30.0
    ) -> None:
        super().__init__(id="inbox")
        self.backend = backend
        self.sync_interval = sync_interval
        self.clock = clock
        self.tz = tz
        self.order = "newest"
        self.conversation: ConversationRow | None = None
        self.sending = False
        self.synced_once = False
        self._price_timer: Timer | None = None
        self._redraw_timer: Timer | None = None
        self._redraw_keep: str | None = None
        self._quoted: tuple[str, str, Decimal | None] | None = None

    # Layout -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Banner(id="demo-banner", classes="-demo")
        yield Banner(id="offline-banner", classes="-offline")
        with Horizontal(id="panes"):
            yield ConversationList(clock=self.clock, tz=self.tz, region=self.backend.region, id="conversations")
            with Vertical(id="conversation-pane"):
                yield Static("Choose a conversation, or press c for a new one.", id="thread-title")
                yield ThreadView(clock=self.clock, tz=self.tz, id="thread")
                yield Composer(id="composer")
                yield LiveLine(id="live-line")
        yield ActivityLog(clock=self.clock, tz=self.tz, id="activity-log")
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        status = self.query_one(StatusBar)
        status.account = self.backend.account_label
        status.demo = self.backend.demo
        if self.backend.demo:
            self.query_one("#demo-banner", Banner).show_text(DEMO_TEXT)
        self.reload_conversations()
        self.query_one(ConversationList).focus()
        self.log_activity(f"opened {self.backend.account_label}")
        # Screen workers are cancelled when the screen closes, before the app closes the backend.
        self.sync_loop()
        self.follow_events()

    def log_activity(self, text: str) -> None:
        """Add a line to the activity log."""
        self.query_one(ActivityLog).record(text)

    def action_toggle_activity_log(self) -> None:
        self.query_one(ActivityLog).toggle_class("-visible")

    @property
    def closing(self) -> bool:
        """True once the app shuts down: a worker that wakes up then must not touch widgets.

        Textual removes the screen's widgets before it cancels the screen's workers.
        """
        return not self.app.is_running or not self.is_attached

    # Conversation list --------------------------------------------------------

    def reload_conversations(self, keep: str | None = None) -> None:
        """Reload the first page of conversations in the current sort order."""
        order = self.order

        async def load(offset: int, limit: int) -> list[ConversationRow]:
            rows = await self.backend.conversations(order=order, offset=offset, limit=limit)
            self._refresh_current(rows)
            return rows

        self.query_one(ConversationList).reload(load, keep=keep)
        self.refresh_unread_total()

    def _refresh_current(self, rows: list[ConversationRow]) -> None:
        # Keep the open conversation's row current (unread count, cache id of a new one).
        current = self.conversation
        if current is None:
            return
        for row in rows:
            if row.id == current.id or (current.id.startswith("new:") and row.their_number == current.their_number):
                self.conversation = row
                return

    @work(exclusive=True, group="unread-total")
    async def refresh_unread_total(self) -> None:
        unread = await self.backend.unread_total()
        if not self.closing:
            self.query_one(StatusBar).unread = unread

    @on(ConversationList.Chosen)
    def open_chosen(self, event: ConversationList.Chosen) -> None:
        self.open_conversation(event.row, mark_read=True)
        self.query_one(ThreadView).focus()

    @on(ConversationList.HighlightMoved)
    def preview_highlighted(self, event: ConversationList.HighlightMoved) -> None:
        # Moving through the list previews a thread without marking it read, as mail clients do.
        if self.conversation is None or self.conversation.id != event.row.id:
            self.open_conversation(event.row)

    def open_conversation(self, row: ConversationRow, *, mark_read: bool = False) -> None:
        """Show a conversation's thread; with `mark_read`, mark it read too."""
        self.conversation = row
        name = row.name or format_number(row.their_number, default_region=self.backend.region)
        title = f"{name}  {row.their_number}" if row.name else name
        self.query_one("#thread-title", Static).update(title)

        async def load(before: ThreadEntry | None, limit: int) -> list[ThreadEntry]:
            return await self.backend.thread(row, before=before, limit=limit)

        self.query_one(ThreadView).show(row.id, load)
        self._schedule_price()
        if mark_read and row.unread:
            self.mark(row, "read", quiet=True)

    # Composer -----------------------------------------------------------------

    @on(TextArea.Changed, "#composer")
    def draft_changed(self, event: TextArea.Changed) -> None:
        self.query_one(LiveLine).show_draft(event.text_area.text)
        self._schedule_price()

    def _schedule_price(self) -> None:
        if self._price_timer is not None:
            self._price_timer.stop()
        self._price_timer = self.set_timer(PRICE_DEBOUNCE, self.fetch_price)

    @work(exclusive=True, group="price")
    async def fetch_price(self) -> None:
        line = self.query_one(LiveLine)
        body = self.query_one(Composer).draft
        if not body:
            return
        if self.conversation is None:
            line.show_price_unavailable("price: choose a recipient")
            return
        number = self.conversation.their_number
        try:
            quote = await self.backend.price(to=number, body=body)
        except TransportError:
            if self.closing:
                return
            line.show_price_unavailable("price unavailable offline")
            return
        except ClickSendError as error:
            line.show_price_unavailable(f"price failed: {error}")
            return
        if not self.closing and self.query_one(Composer).draft == body:
            self._quoted = (number, body, quote.total)
            line.show_price(quote.total, quote.currency)

    # Sending ------------------------------------------------------------------

    def action_send(self) -> None:
        self._start_send(schedule=None)

    def action_schedule(self) -> None:
        if not self._ready_to_send():
            return

        def scheduled(when: datetime | None) -> None:
            if when is not None:
                self._start_send(schedule=when)

        self.app.push_screen(ScheduleScreen(tz=self.tz, clock=self.clock), scheduled)

    def _ready_to_send(self) -> bool:
        if self.sending:
            self.notify("A send is already in progress; wait for ClickSend to answer.", severity="warning")
            return False
        if self.conversation is None:
            self.notify("Choose a conversation or press c for a new one before sending.", severity="warning")
            return False
        if not self.query_one(Composer).draft.strip():
            self.notify("The message is empty; write something first.", severity="warning")
            return False
        return True

    def _start_send(self, *, schedule: datetime | None) -> None:
        if not self._ready_to_send():
            return
        assert self.conversation is not None
        request = SendRequest(
            to=self.conversation.their_number,
            body=self.query_one(Composer).draft,
            schedule=schedule,
        )
        # Claimed here, before any await, so a second send key press while the
        # price check or the send runs is rejected.
        self.sending = True
        self.check_and_send(request)

    @work(exclusive=True, group="send")
    async def check_and_send(self, request: SendRequest) -> None:
        try:
            reasons = await self._confirmation_reasons(request)
            if reasons:
                question = "\n".join(reasons) + "\n\nSend anyway?"
                if not await self.app.push_screen_wait(ConfirmScreen(question)):
                    self.notify("Not sent.")
                    return
                request.allow_opted_out = True
            await self._send(request)
        finally:
            self.sending = False

    async def _confirmation_reasons(self, request: SendRequest) -> list[str]:
        reasons = []
        left = placeholders(request.body)
        if left:
            fields = ", ".join("{" + name + "}" for name in left)
            reasons.append(f"The message still contains template placeholders: {fields}.")
        if await self.backend.is_opted_out(request.to):
            reasons.append(f"{format_number(request.to, default_region=self.backend.region)} has opted out of messages.")
        limit = self.backend.confirm_above
        if limit is not None:
            total = None
            if self._quoted and self._quoted[:2] == (request.to, request.body):
                total = self._quoted[2]
            else:
                try:
                    total = (await self.backend.price(to=request.to, body=request.body)).total
                except ClickSendError:
                    total = None
            if total is not None and total > limit:
                reasons.append(f"This message costs {format_price(total)}, above your limit of {format_price(limit)}.")
        return reasons

    async def _send(self, request: SendRequest) -> None:
        try:
            outcome = await self.backend.send(request)
        except TransportError as error:
            if self.closing:
                return
            self.notify(f"ClickSend is unreachable, message not sent: {error}", severity="error", timeout=8)
            self.log_activity(f"send to {request.to} failed: {error}")
            return
        except (ClickSendError, ValueError) as error:
            self.notify(f"Message not sent: {error}", severity="error", timeout=8)
            self.log_activity(f"send to {request.to} failed: {error}")
            return
        if self.closing:
            return
        # A conversation started from a number joins the list with this send; select it.
        started = self.conversation is not None and self.conversation.id.startswith("new:")
        self.after_change(self.conversation.id if started and self.conversation else None)
        if outcome.failed:
            self.notify(f"Message not sent: {outcome.failed}", severity="error", timeout=8)
            self.log_activity(f"send to {request.to} failed: {outcome.failed}")
            return
        self.query_one(ActivityLog).record_message("out", request.to, request.body)
        self.query_one(Composer).clear_draft()
        if outcome.unconfirmed:
            self.notify(
                "ClickSend did not confirm the send. smsdesk checks its history before trying again; "
                "do not send it twice.",
                severity="warning",
                timeout=10,
            )
        elif request.schedule is not None:
            self.notify(f"Scheduled for {format_schedule(request.schedule, tz=self.tz)}.")
        else:
            self.notify("Sent.")

    def after_change(self, keep: str | None = None) -> None:
        """Redraw the list and the open thread after something changed in the cache.

        The list keeps the user's highlighted row unless `keep` names another
        conversation. A burst of changes (a sync that brings many replies) redraws once.
        """
        # Calls in one burst share a redraw, so a later call must not drop an earlier `keep`.
        self._redraw_keep = keep or self._redraw_keep
        if self._redraw_timer is not None:
            self._redraw_timer.stop()
        self._redraw_timer = self.set_timer(REDRAW_DELAY, self._redraw)

    def _redraw(self) -> None:
        keep, self._redraw_keep = self._redraw_keep, None
        self._redraw_timer = None
        if self.closing:
            return
        self.reload_conversations(keep=keep)
        self.query_one(ThreadView).refresh_thread()

    # Other actions -------------------------------------------------------------

    def action_new_conversation(self) -> None:
        def chosen(number: str | None) -> None:
            if number is not None:
                self.start_conversation(number)

        self.app.push_screen(NewConversationScreen(default_region=self.backend.region), chosen)

    @work(group="open-number")
    async def start_conversation(self, number: str) -> None:
        row = await self.backend.conversation_for(number)
        if self.closing:
            return
        conversations = self.query_one(ConversationList)
        index = conversations.index_of(row.id)
        if index is not None:
            conversations.highlighted = index
        self.open_conversation(row)
        self.query_one(Composer).focus()

    def action_reply(self) -> None:
        if self.conversation is None:
            self.notify("Choose a conversation first.", severity="warning")
            return
        if self.conversation.unread:
            self.mark(self.conversation, "read", quiet=True)
        self.query_one(Composer).focus()

    def action_focus_list(self) -> None:
        self.query_one(ConversationList).focus()

    def action_toggle_sort(self) -> None:
        self.order = "unread" if self.order == "newest" else "newest"
        self.notify(f"Sorted {'unread' if self.order == 'unread' else 'newest'} first.")
        self.reload_conversations(keep=self.conversation.id if self.conversation else None)

    def action_next_unread(self) -> None:
        self.go_to_next_unread()

    @work(exclusive=True, group="next-unread")
    async def go_to_next_unread(self) -> None:
        conversations = self.query_one(ConversationList)
        start = conversations.highlighted if conversations.highlighted is not None else -1
        rows = conversations.rows
        for index in list(range(start + 1, len(rows))) + list(range(0, start + 1)):
            if rows[index].unread and (self.conversation is None or rows[index].id != self.conversation.id):
                conversations.highlighted = index
                self.open_conversation(rows[index], mark_read=True)
                return
        row = await self.backend.first_unread(exclude=self.conversation.id if self.conversation else None)
        if self.closing:
            return
        if row is None:
            self.notify("No unread conversations.")
            return
        self.order = "unread"
        self.reload_conversations(keep=row.id)
        self.open_conversation(row, mark_read=True)

    def action_mark_read(self) -> None:
        if self.conversation:
            self.mark(self.conversation, "read")

    def action_mark_unread(self) -> None:
        if self.conversation:
            self.mark(self.conversation, "unread")

    def action_mark_done(self) -> None:
        if self.conversation:
            self.mark(self.conversation, "done")

    @work(group="mark")
    async def mark(self, row: ConversationRow, state: str, quiet: bool = False) -> None:
        await self.backend.mark(row, state)
        if self.closing:
            return
        if not quiet:
            self.notify(f"Marked {state}.")
        self.reload_conversations()

    def action_copy_message(self) -> None:
        entry = self.query_one(ThreadView).current
        if entry is None:
            self.notify("Highlight a message in the thread to copy it.", severity="warning")
            return
        self.app.copy_to_clipboard(entry.body)
        self.notify(f"Copied: {one_line(entry.body, 40)}")

    def action_cancel_scheduled(self) -> None:
        entry = self.query_one(ThreadView).current
        if entry is None or entry.direction != "out" or entry.status != "scheduled":
            self.notify("Highlight a scheduled message in the thread to cancel it.", severity="warning")
            return
        self.cancel_message(entry)

    @work(group="cancel")
    async def cancel_message(self, entry: ThreadEntry) -> None:
        if not entry.message_id:
            self.notify("ClickSend has not given this message an id yet; try again after the next sync.", severity="warning")
            return
        when = format_schedule(entry.schedule, tz=self.tz) if entry.schedule else "later"
        if not await self.app.push_screen_wait(ConfirmScreen(f"Cancel the message scheduled for {when}?", confirm_label="Cancel message", keep_label="Keep it")):
            return
        try:
            await self.backend.cancel(entry.message_id)
        except ClickSendError as error:
            self.notify(f"Could not cancel: {error}", severity="error")
            return
        self.notify("Scheduled message cancelled.")
        self.after_change()

    def action_cancel_all(self) -> None:
        from tui.screens.cancel_all_screen import CancelAllScreen

        def chosen(reference: str | None) -> None:
            if reference is not None:
                self.cancel_all(reference or None)

        self.app.push_screen(CancelAllScreen(), chosen)

    @work(group="cancel")
    async def cancel_all(self, reference: str | None) -> None:
        try:
            count = await self.backend.cancel_all(reference)
        except ClickSendError as error:
            if self.closing:
                return
            self.notify(f"Could not cancel: {error}", severity="error")
            return
        self.notify(f"Cancelled {count} scheduled message{'s' if count != 1 else ''}.")
        self.after_change()

    def action_post_to_slack(self) -> None:
        entry = self.query_one(ThreadView).current
        if entry is None or entry.direction != "in" or entry.relay_status != "failed":
            self.notify("Highlight a reply that the Slack bot could not post to post it again.", severity="warning")
            return
        self.post_to_slack_again(entry)

    @work(group="relay")
    async def post_to_slack_again(self, entry: ThreadEntry) -> None:
        await self.backend.post_to_slack_again(entry)
        self.notify("The Slack bot will post this reply again.")
        self.after_change()

    def action_resend(self) -> None:
        entry = self.query_one(ThreadView).current
        if entry is None or entry.direction != "out" or entry.status != "failed":
            self.notify("Highlight a failed message in the thread to resend it.", severity="warning")
            return
        self.resend(entry)

    @work(group="send")
    async def resend(self, entry: ThreadEntry) -> None:
        if self.sending:
            self.notify("A send is already in progress.", severity="warning")
            return
        self.sending = True
        try:
            outcome = await self.backend.resend(entry)
        except (ClickSendError, ValueError) as error:
            self.notify(f"Resend failed: {error}", severity="error")
            return
        finally:
            self.sending = False
        self.after_change()
        if outcome.failed:
            self.notify(f"Resend failed: {outcome.failed}", severity="error", timeout=8)
        else:
            self.notify("Resent as a new message.")

    def action_receipts(self) -> None:
        from tui.screens.receipts_screen import ReceiptsScreen

        entry = self.query_one(ThreadView).current
        if entry is None or entry.direction != "out":
            self.notify("Highlight a sent message in the thread to see its receipts.", severity="warning")
            return
        self.app.push_screen(ReceiptsScreen(self.backend, entry, tz=self.tz))

    def action_templates(self) -> None:
        from tui.screens.templates_screen import TemplatesScreen

        self.app.push_screen(TemplatesScreen(self.backend), self._use_template)

    def action_insert_template(self) -> None:
        from tui.screens.templates_screen import TemplatesScreen

        self.app.push_screen(TemplatesScreen(self.backend, picking=True), self._use_template)

    def _use_template(self, body: str | None) -> None:
        from tui.screens.template_values_screen import TemplateValuesScreen

        if body is None:
            return
        if placeholders(body):
            self.app.push_screen(TemplateValuesScreen(body), self._insert_text)
            return
        self._insert_text(body)

    def _insert_text(self, text: str | None) -> None:
        if text is None:
            return
        composer = self.query_one(Composer)
        composer.insert_at_cursor(text)
        composer.focus()

    def action_scheduled(self) -> None:
        from tui.screens.scheduled_screen import ScheduledScreen

        self.app.push_screen(ScheduledScreen(self.backend, tz=self.tz), lambda _: self.after_change())

    def action_search(self) -> None:
        from tui.screens.history_screen import HistoryScreen

        self.app.push_screen(HistoryScreen(self.backend, tz=self.tz), self._open_search_result)

    def _open_search_result(self, number: str | None) -> None:
        if number is not None:
            self.start_conversation(number)
