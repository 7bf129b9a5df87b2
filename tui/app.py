"""The smsdesk terminal inbox: `smsdesk`, `smsdesk tui`, `smsdesk --demo`."""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, contextmanager
from pathlib import Path
from datetime import datetime, timezone, tzinfo
from typing import Any

import platformdirs
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from core.config import Settings
from tui.backend import Backend, open_backend
from tui.keys import ALL_ACTIONS, APP_ACTIONS, InvalidKeymapError, bindings, build_keymap, display_keys
from tui.screens.help_screen import HelpScreen
from tui.screens.inbox_screen import InboxScreen

logger = logging.getLogger(__name__)

BackendFactory = Callable[[], AbstractAsyncContextManager[Backend]]

# Seconds between syncs in demo mode: the local sandbox responds at once, and
# its replies should show up quickly.
DEMO_SYNC_INTERVAL = 2.0


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
        try:
            self.backend = await self._exit_stack.enter_async_context(self.backend_factory())
        except (OSError, sqlite3.Error, ValueError) as error:
            # The cache file or the sandbox port cannot be opened: nothing to show.
            logger.error("could not open the inbox: %s", error)
            self.exit(return_code=1, message=f"smsdesk: could not open the inbox: {error}")
            return
        interval = self.sync_interval
        if interval is None:
            interval = DEMO_SYNC_INTERVAL if self.backend.demo else self.settings.sync.poll_interval
        await self.push_screen(InboxScreen(self.backend, clock=self.clock, tz=self.tz, sync_interval=interval))

    async def on_unmount(self) -> None:
        await self._exit_stack.aclose()

    @property
    def inbox(self) -> InboxScreen | None:
        """The inbox screen, wherever it is in the screen stack."""
        return next((s for s in self.screen_stack if isinstance(s, InboxScreen)), None)

    # Actions -------------------------------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        demo_numbers = self.backend.demo_numbers() if self.backend is not None else []
        self.push_screen(HelpScreen(self.keymap, demo_numbers=demo_numbers))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        inbox = self.inbox
        if inbox is None or screen is not inbox:
            yield SystemCommand("Help", "Every key binding", self.action_help)
            return
        for action in ALL_ACTIONS:
            if action.id in {"help", "theme", "focus_list"}:
                continue
            keys = display_keys(self.keymap.get(action.id, action.keys))
            yield SystemCommand(action.description, f"Key: {keys}", _bound(inbox, action.action))
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
        print(f"smsdesk: {error}", file=sys.stderr)
        return 2
    use_demo = demo or not settings.has_credentials
    app = SmsDeskApp(settings, backend=lambda: open_backend(settings, demo=use_demo))
    with logging_to_file(default_log_path()):
        app.run()
    return app.return_code or 0


def default_log_path() -> Path:
    """Log file of the inbox, in the platform's user log directory."""
    return Path(platformdirs.user_log_dir("smsdesk", appauthor=False)) / "tui.log"


@contextmanager
def logging_to_file(path: Path) -> Iterator[None]:
    """Send log records to `path` instead of the terminal while the inbox draws on it.

    A handler writing to stderr would print over the screen. Without any handler,
    `logging.lastResort` would do the same for warnings, so the file handler stays
    installed for the whole run.
    """
    root = logging.getLogger()
    terminal_handlers = [
        handler
        for handler in root.handlers
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
    ]
    for handler in terminal_handlers:
        root.removeHandler(handler)
    path.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    try:
        yield
    finally:
        root.removeHandler(file_handler)
        file_handler.close()
        for handler in terminal_handlers:
            root.addHandler(handler)
