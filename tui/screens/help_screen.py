"""Help: every key binding of the inbox and the usual tasks, step by step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from core.numbers import format_number
from tui.keys import ALL_ACTIONS, display_keys

# Keys that Textual itself provides on every screen.
BUILT_IN_KEYS = (
    ("ctrl+p", "Command palette: search every action by name"),
    ("tab", "Move focus: list, thread, composer"),
    ("ctrl+q", "Quit"),
)

TASKS = """\
Read a conversation: move with ↑/↓ in the list and press Enter.
Reply: press r, type (Enter starts a new line), then press {send}.
Delivery: the status under your message moves ○ queued → ✓ sent → ✓✓ delivered.
Replies arrive on their own; a notification appears if another conversation gets one.
Schedule: write the message, press {schedule}, enter a date and time (local time zone).
Cancel a scheduled message: highlight it in the thread and press {cancel}, or use {scheduled}.
Use a template: press {insert_template} in the composer, or {templates} for the list.
Find an old message: press {search}, type words (Tab reaches number, status and dates), press Enter.
"""


class HelpScreen(ModalScreen[None]):
    """All bindings with what they do."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 90;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss_help", "Close help")]

    def __init__(self, keymap: Mapping[str, str], *, demo_numbers: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__()
        self.keymap = keymap
        self.demo_numbers = demo_numbers

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("smsdesk keys", style="bold"))
            yield Static(self._bindings_table(), id="help-bindings")
            yield Static(Text("Tasks", style="bold"))
            yield Static(self._tasks(), id="help-tasks")
            if self.demo_numbers:
                yield Static(Text("Demo numbers (press c and type one)", style="bold"))
                yield Static(self._demo_table(), id="help-demo")
            yield Static(Text("Esc closes this help. Keys can be changed in [tui.keys] of the configuration.", style="dim"))

    def _keys_for(self, action_id: str, default: str) -> str:
        return display_keys(self.keymap.get(action_id, default))

    @property
    def rows(self) -> list[tuple[str, str, str]]:
        """(keys, description, binding id) of every binding, with the keys in effect."""
        rows = [(self._keys_for(a.id, a.keys), a.description, a.id) for a in ALL_ACTIONS]
        rows += [(display_keys(keys), description, "") for keys, description in BUILT_IN_KEYS]
        return rows

    def _bindings_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        table.add_column(style="dim")
        table.add_row(Text("key", style="underline"), Text("action", style="underline"), Text("name in [tui.keys]", style="underline"))
        for row in self.rows:
            table.add_row(*row)
        return table

    def _demo_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for number, behaviour in self.demo_numbers:
            table.add_row(format_number(number), behaviour)
        return table

    def _tasks(self) -> str:
        keys = {action.id: self._keys_for(action.id, action.keys) for action in ALL_ACTIONS}
        return TASKS.format(
            send=keys["send"],
            schedule=keys["schedule"],
            cancel=keys["cancel_scheduled"],
            scheduled=keys["scheduled"],
            insert_template=keys["insert_template"],
            templates=keys["templates"],
            search=keys["search"],
        )

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
