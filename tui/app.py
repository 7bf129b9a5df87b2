"""The smsdesk terminal inbox: `smsdesk`, `smsdesk tui`, `smsdesk --demo`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import datetime, timezone, tzinfo
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from core.config import Settings
from core.errors import AuthenticationError, ClickSendError, TransportError
from tui.backend import Backend, open_backend
from tui.keys import ALL_ACTIONS, APP_ACTIONS, InvalidKeymapError, bindings, build_keymap
from tui.screens.help_screen import HelpScreen
from tui.screens.inbox_screen import InboxScreen

logger = logging.getLogger(__name__)

BackendFactory = Callable[[], AbstractAsyncContextManager[Backend]]

# Seconds between syncs when no interval is configured, and in demo mode, where
# the sandbox answers at once and replies should show up quickly.
DEMO_SYNC_INTERVAL = 2.0
# Seconds to wait before retrying after ClickSend was unreachable.
OFFLINE_RETRY = 15.0


def _system_clock() -> datetime:
    return datetime.now(timezone.utc)


class SmsDeskApp(App[int]):
    """Terminal inbox for SMS conversations through ClickSend."""

    TITLE = "smsdesk"
    CSS_PATH = "app.tcss"
    BINDINGS = [*bindings(APP_ACTIONS), Binding("ctrl+q", "quit", "Quit", show=False)]

    def __init__(
        self,
        settings: Settings,
        *,
        backend: BackendFactory,
        clock: Callable[[], datetime] = _system_clock,
        tz: tzinfo | None = None,
        sync_interval: float | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.backend_factory = backend
        self.clock = clock
        self.tz = tz or settings.zone or datetime.now().astimezone().tzinfo or timezone.utc
        self.sync_interval = sync_interval
        self.backend: Backend | None = None
        self._exit_stack = AsyncExitStack()
        self.keymap = build_keymap(settings.tui.keys, send_key=settings.tui.send_key)

    async def on_mount(self) -> None:
        self.set_keymap(self.keymap)
        if self.settings.tui.theme in self.available_themes:
            self.theme = self.settings.tui.theme
        else:
            self.notify(f"Unknown theme {self.settings.tui.theme!r} in [tui] theme; using {self.theme}.", severity="warning")
        self.backend = await self._exit_stack.enter_async_context(self.backend_factory())
        await self.push_screen(InboxScreen(self.backend, clock=self.clock, tz=self.tz))
        self.sync_loop()
        self.follow_events()

    async def on_unmount(self) -> None:
        await self._exit_stack.aclose()

    @property
    def inbox(self) -> InboxScreen | None:
        """The inbox screen, wherever it is in the screen stack."""
        return next((s for s in self.screen_stack if isinstance(s, InboxScreen)), None)

    # Background work ---------------------------------------------------------------

    @work(exclusive=True, group="sync")
    async def sync_loop(self) -> None:
        """Sync with ClickSend now and then at the interval; say so when it is unreachable."""
        assert self.backend is not None
        interval = self.sync_interval
        if interval is None:
            interval = DEMO_SYNC_INTERVAL if self.backend.demo else self.settings.sync.poll_interval
        while True:
            delay = await self._sync_once()
            if interval <= 0 and delay is None:
                return
            await asyncio.sleep(delay or interval)

    async def _sync_once(self) -> float | None:
        """Run one sync; return a retry delay when it failed, else None."""
        assert self.backend is not None
        inbox = self.inbox
        if inbox is not None:
            inbox.sync_state_changed("syncing…")
        try:
            changed = await self.backend.sync()
            balance = await self.backend.balance()
        except AuthenticationError as error:
            logger.warning("sync rejected by ClickSend: %s", error)
            if inbox is not None:
                inbox.connection_changed(False, "the username or API key was rejected; check the configuration")
                inbox.sync_state_changed("sync failed")
            return OFFLINE_RETRY * 4
        except TransportError as error:
            logger.info("ClickSend unreachable during sync: %s", error)
            if inbox is not None:
                inbox.connection_changed(False, str(error))
                inbox.sync_state_changed("sync failed")
            return OFFLINE_RETRY
        except ClickSendError as error:
            logger.warning("sync failed: %s", error)
            if inbox is not None:
                inbox.sync_state_changed(f"sync failed: {error}")
            return OFFLINE_RETRY
        inbox = self.inbox
        if inbox is not None:
            inbox.connection_changed(True)
            inbox.sync_state_changed(f"synced {self.clock().astimezone(self.tz).strftime('%H:%M')}")
            if balance is not None:
                inbox.balance_changed(*balance)
            if changed:
                inbox.after_change(inbox.conversation.id if inbox.conversation else None)
        return None

    @work(exclusive=True, group="events")
    async def follow_events(self) -> None:
        """Redraw on cache events: new inbound, status changes, sends from other processes."""
        assert self.backend is not None
        async for change in self.backend.changes():
            inbox = self.inbox
            if inbox is None:
                continue
            if change.inbound_from is not None:
                inbox.inbound_received(change.inbound_from, change.body or "")
            elif change.status is not None and change.number is not None:
                inbox.status_changed(change.number, change.status, change.error)
            else:
                inbox.after_change(inbox.conversation.id if inbox.conversation else None)

    # Actions -------------------------------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.keymap))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        inbox = self.inbox
        if inbox is None or screen is not inbox:
            yield SystemCommand("Help", "Every key binding", self.action_help)
            return
        for action in ALL_ACTIONS:
            if action.id in {"help", "theme", "focus_list"}:
                continue
            yield SystemCommand(action.description, f"{action.description} ({action.id})", _bound(inbox, action.action))
        yield SystemCommand("Help", "Every key binding and the usual tasks", self.action_help)


def _bound(screen: Screen[Any], action: str) -> Callable[[], Any]:
    async def run_action() -> None:
        await screen.run_action(action)

    return run_action


def run(settings: Settings, *, demo: bool = False) -> int:
    """Open the inbox; with no ClickSend credentials (or `demo`), on the local sandbox.

    Returns the process exit code.
    """
    try:
        build_keymap(settings.tui.keys, send_key=settings.tui.send_key)
    except InvalidKeymapError as error:
        print(f"smsdesk: {error}")
        return 2
    use_demo = demo or not settings.has_credentials
    app = SmsDeskApp(settings, backend=lambda: open_backend(settings, demo=use_demo))
    app.run()
    return app.return_code or 0
