"""Dialog for the number of a new conversation, validated as it is typed."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from core.numbers import InvalidNumberError, format_number, normalize_number


class NewConversationScreen(ModalScreen[str | None]):
    """Dismissed with the E.164 number, or None when cancelled."""

    DEFAULT_CSS = """
    NewConversationScreen {
        align: center middle;
    }
    NewConversationScreen > Vertical {
        width: 70;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    #number-feedback.-invalid {
        color: $error;
    }
    #number-feedback.-valid {
        color: $success;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, default_region: str = "AU") -> None:
        super().__init__()
        self.default_region = default_region
        self.number: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"New conversation: phone number (national numbers are read as {self.default_region})")
            yield Input(placeholder="+61491570156 or 0491 570 156", id="number-input")
            yield Static("", id="number-feedback")
            yield Static("Enter opens the conversation · Esc cancels", classes="dim")

    @on(Input.Changed, "#number-input")
    def validate_number(self, event: Input.Changed) -> None:
        feedback = self.query_one("#number-feedback", Static)
        feedback.remove_class("-valid", "-invalid")
        self.number = None
        if not event.value.strip():
            feedback.update("")
            return
        try:
            self.number = normalize_number(event.value, default_region=self.default_region)
        except InvalidNumberError as error:
            feedback.update(str(error))
            feedback.add_class("-invalid")
            return
        feedback.update(f"✓ {format_number(self.number, default_region=self.default_region)} ({self.number})")
        feedback.add_class("-valid")

    @on(Input.Submitted, "#number-input")
    def open_conversation(self) -> None:
        if self.number is None:
            self.notify("Type a valid phone number first.", severity="warning")
            return
        self.dismiss(self.number)

    def action_cancel(self) -> None:
        self.dismiss(None)
