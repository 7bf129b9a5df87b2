"""Dialog to create or edit a template: a name and a multi-line body."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static, TextArea

from tui.rows import TemplateRow


class TemplateEditScreen(ModalScreen[tuple[str, str] | None]):
    """Dismissed with (name, body), or None when cancelled."""

    DEFAULT_CSS = """
    TemplateEditScreen {
        align: center middle;
    }
    TemplateEditScreen > Vertical {
        width: 80;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    TemplateEditScreen TextArea {
        height: 8;
    }
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, template: TemplateRow | None = None) -> None:
        super().__init__()
        self.template = template

    def compose(self) -> ComposeResult:
        title = f"Edit template {self.template.name!r}" if self.template else "New template"
        with Vertical():
            yield Static(title)
            yield Input(value=self.template.name if self.template else "", placeholder="Name", id="template-name")
            yield TextArea(self.template.body if self.template else "", soft_wrap=True, id="template-body")
            yield Static("Ctrl+S saves · Esc cancels", classes="dim")

    def action_save(self) -> None:
        name = self.query_one("#template-name", Input).value.strip()
        body = self.query_one("#template-body", TextArea).text
        if not name:
            self.notify("The template needs a name.", severity="warning")
            return
        if not body.strip():
            self.notify("The template body is empty.", severity="warning")
            return
        self.dismiss((name, body))

    def action_cancel(self) -> None:
        self.dismiss(None)
