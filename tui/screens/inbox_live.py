"""Background sync and live updates of the inbox screen.

Kept apart from the screen's layout and actions; `InboxScreen` inherits it and
provides the widgets, `backend`, `conversation`, `closing` and `after_change`.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from textual import work

from core.errors import AuthenticationError, ClickSendError, TransportError
from core.numbers import format_number
from tui.formatting import one_line
from tui.widgets.activity_log import ActivityLog
from tui.widgets.banner import Banner
from tui.widgets.status_bar import StatusBar

# Seconds to wait before retrying after ClickSend was unreachable.
OFFLINE_RETRY = 15.0

logger = logging.getLogger(__name__)


class LiveUpdates:
    """Sync loop, event following, and the status bar and banners they update."""

    # Sync and live updates ---------------------------------------------------------------

    @work(exclusive=True, group="sync")
    async def sync_loop(self) -> None:
        """Sync with ClickSend at the interval, and show the offline banner while it is unreachable."""
        interval = self.sync_interval
        while True:
            delay = await self._sync_once()
            if interval <= 0 and delay is None:
                return
            await asyncio.sleep(delay or interval)

    async def _sync_once(self) -> float | None:
        """Run one sync; return a retry delay when it failed, else None."""
        # The loop wakes from its sleep even while the app is closing.
        if self.closing:
            return None
        # Only the first pass shows "syncing"; later passes every few seconds would make the bar flicker.
        if not self.synced_once:
            self.sync_state_changed("syncing…")
        try:
            result = await self.backend.sync()
        except ClickSendError as error:
            # A pass that ends while the app closes has no screen left to update.
            if self.closing:
                return None
            return self._sync_failed(error)
        except Exception as error:  # noqa: BLE001 - the loop must outlive any one failed pass
            # A bug or a cache error in one pass must not close the inbox. The traceback
            # goes to the log file, the status bar shows the failure, and the loop retries.
            logger.exception("sync pass failed")
            if self.closing:
                return None
            self.sync_state_changed(f"sync failed: {type(error).__name__}: {error}")
            self.log_activity(f"sync failed: {type(error).__name__}: {error}")
            return OFFLINE_RETRY

        if self.closing:
            return None
        self.synced_once = True
        self.connection_changed(True)
        self.sync_state_changed(f"synced {self.clock().astimezone(self.tz).strftime('%H:%M')}")
        self.balance_changed(result.balance, result.currency)
        if result.changed:
            self.after_change()
        return None

    def _sync_failed(self, error: ClickSendError) -> float:
        """Show why a sync failed and return the delay before the next try."""
        self.sync_state_changed("sync failed")
        if isinstance(error, AuthenticationError):
            logger.warning("sync rejected by ClickSend: %s", error)
            self.connection_changed(False, str(error), rejected=True)
            return OFFLINE_RETRY * 4
        if isinstance(error, TransportError):
            logger.info("ClickSend unreachable during sync: %s", error)
            self.connection_changed(False, str(error))
            return OFFLINE_RETRY
        logger.warning("sync failed: %s", error)
        self.log_activity(f"sync failed: {error}")
        return OFFLINE_RETRY

    @work(exclusive=True, group="events")
    async def follow_events(self) -> None:
        """Redraw on cache events: new inbound, status changes, sends from other processes."""
        async for change in self.backend.changes():
            if self.closing:
                return
            if change.inbound_from is not None:
                self.inbound_received(change.inbound_from, change.body or "")
            elif change.status is not None and change.number is not None:
                self.status_changed(change.number, change.status, change.error)
            else:
                self.after_change()

    # Live updates -----------------------------------------------------------------

    def inbound_received(self, number: str, body: str) -> None:
        """Show a new inbound message; notify unless its conversation is open."""
        self.query_one(ActivityLog).record_message("in", number, body)
        # The first sync brings everything that arrived while the inbox was closed;
        # the unread badges show those, a toast per message would only be noise.
        if self.synced_once and (self.conversation is None or self.conversation.their_number != number):
            name = format_number(number, default_region=self.backend.region)
            self.notify(one_line(body, 60), title=f"New message from {name}", timeout=6)
        self.after_change()

    def connection_changed(self, online: bool, detail: str = "", *, rejected: bool = False) -> None:
        """Show or hide the offline banner; `rejected` means ClickSend refused the credentials."""
        status = self.query_one(StatusBar)
        banner = self.query_one("#offline-banner", Banner)
        if online:
            if status.online is False:
                self.log_activity("ClickSend reachable again")
            banner.hide()
        elif rejected:
            if status.online is not False:
                self.log_activity(f"ClickSend rejected the credentials: {detail}")
            banner.show_text(
                "ClickSend rejected the credentials: check CLICKSEND_USERNAME and CLICKSEND_API_KEY "
                "(or clicksend_username and clicksend_api_key in the configuration). Showing the cache."
            )
        else:
            if status.online is not False:
                self.log_activity(f"ClickSend unreachable: {detail}")
            banner.show_text(
                f"ClickSend is unreachable ({detail}); showing the cache. Sending fails until it is back."
            )
        status.credentials_rejected = rejected
        status.online = online

    def sync_state_changed(self, text: str) -> None:
        self.query_one(StatusBar).sync_state = text

    def status_changed(self, number: str, status: str, error: str | None) -> None:
        """Log an outbound status change and redraw."""
        detail = f": {error}" if error else ""
        self.log_activity(f"{format_number(number, default_region=self.backend.region)} {status}{detail}")
        self.after_change()

    def balance_changed(self, balance: Decimal | None, currency: str | None) -> None:
        status = self.query_one(StatusBar)
        status.balance = balance
        status.currency = currency
