"""Dialog to cancel every scheduled message, or only those with one reference."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class CancelAllScreen(ModalScreen[str | None]):
    """Dismissed with the reference ('' for all scheduled messages), or None to keep them."""

    DEFAULT_CSS = """
    CancelAllScreen {
        align: center middle;
    }
    CancelAllScreen > Vertical {
        width: 80;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    """

    BINDINGS = [Binding("escape", "keep", "Keep them")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Cancel ALL scheduled messages of the account?")
            yield Static("Optionally limit it to one reference (ClickSend custom_string); leave empty for all.")
            yield Input(placeholder="reference (optional)", id="cancel-reference")
            yield Static("Enter cancels them · Esc keeps them", classes="dim")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#cancel-reference")
    def confirm(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_keep(self) -> None:
        self.dismiss(None)
