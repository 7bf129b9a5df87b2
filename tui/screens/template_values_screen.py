"""Dialog for the values of a template's `{name}` placeholders, with a live preview."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from core.service import TemplateError, render
from tui.formatting import placeholders


class TemplateValuesScreen(ModalScreen[str | None]):
    """Dismissed with the filled-in text, or None when cancelled."""

    DEFAULT_CSS = """
    TemplateValuesScreen {
        align: center middle;
    }
    TemplateValuesScreen > Vertical {
        width: 80;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    #template-preview {
        margin-top: 1;
        color: $text-muted;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, body: str) -> None:
        super().__init__()
        self.body = body
        self.names = placeholders(body)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Fill in the template · Enter moves on, Enter on the last field inserts · Esc cancels")
            for name in self.names:
                yield Input(placeholder=name, id=f"value-{name}")
            yield Static(self.body, id="template-preview")

    @property
    def values(self) -> dict[str, str]:
        return {name: self.query_one(f"#value-{name}", Input).value for name in self.names}

    @on(Input.Changed)
    def update_preview(self) -> None:
        shown = {name: value or "{" + name + "}" for name, value in self.values.items()}
        self.query_one("#template-preview", Static).update(render(self.body, shown))

    @on(Input.Submitted)
    def next_or_insert(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
            return
        empty = [name for name, value in self.values.items() if not value.strip()]
        if empty:
            self.notify(f"Fill in {', '.join(empty)} first.", severity="warning")
            return
        try:
            self.dismiss(render(self.body, self.values))
        except TemplateError as error:
            self.notify(str(error), severity="error")

    def action_cancel(self) -> None:
        self.dismiss(None)
