"""Templates: list, filter, create, edit, delete, and use one in the composer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from core.errors import ClickSendError
from tui.formatting import one_line
from tui.rows import TemplateRow
from tui.screens.confirm_screen import ConfirmScreen
from tui.screens.template_edit_screen import TemplateEditScreen

if TYPE_CHECKING:
    from tui.backend import Backend


class TemplatesScreen(ModalScreen[str | None]):
    """Dismissed with the body of the template to use, or None."""

    DEFAULT_CSS = """
    TemplatesScreen {
        align: center middle;
    }
    TemplatesScreen > Vertical {
        width: 100;
        height: 80%;
        border: thick $primary;
        background: $surface;
    }
    TemplatesScreen OptionList {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        # Priority, because the filter Input keeps focus and binds ctrl+e and ctrl+d itself.
        Binding("ctrl+n", "create", "New", priority=True),
        Binding("ctrl+e", "edit", "Edit", priority=True),
        Binding("ctrl+d", "delete", "Delete", priority=True),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(self, backend: Backend, *, picking: bool = False) -> None:
        super().__init__()
        self.backend = backend
        self.picking = picking
        self.templates: list[TemplateRow] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            hint = "Enter inserts the template into the message" if self.picking else "Enter uses the template"
            yield Static(f"Templates · {hint} · Ctrl+N new · Ctrl+E edit · Ctrl+D delete · Esc close", id="templates-title")
            yield Input(placeholder="Filter by name or text", id="templates-filter")
            yield OptionList(id="templates-list")
        yield Footer()

    def on_mount(self) -> None:
        self.load_templates()
        self.query_one("#templates-filter", Input).focus()

    @work(exclusive=True, group="templates")
    async def load_templates(self) -> None:
        try:
            self.templates = await self.backend.templates()
        except ClickSendError as error:
            self.notify(f"Could not load templates: {error}", severity="error")
            self.templates = []
        self._show()

    @property
    def current(self) -> TemplateRow | None:
        options = self.query_one("#templates-list", OptionList)
        if options.highlighted is None:
            return None
        option_id = options.get_option_at_index(options.highlighted).id
        return next((t for t in self.templates if str(t.id) == option_id), None)

    @on(Input.Changed, "#templates-filter")
    def filter_changed(self) -> None:
        self._show()

    @on(Input.Submitted, "#templates-filter")
    def filter_submitted(self) -> None:
        self.action_use()

    def _show(self) -> None:
        needle = self.query_one("#templates-filter", Input).value.strip().lower()
        shown = [t for t in self.templates if needle in t.name.lower() or needle in t.body.lower()]
        options = self.query_one("#templates-list", OptionList)
        options.set_options(
            Option(Text.assemble((t.name, "bold"), "  ", (one_line(t.body, 70), "dim")), id=str(t.id)) for t in shown
        )
        if shown:
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#templates-list")
    def template_selected(self) -> None:
        self.action_use()

    def action_use(self) -> None:
        template = self.current
        if template is None:
            self.notify("No template matches; Ctrl+N creates one.", severity="warning")
            return
        self.dismiss(template.body)

    def action_move(self, step: int) -> None:
        # The filter keeps focus while typing, so the arrows move the list from here.
        options = self.query_one("#templates-list", OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_create(self) -> None:
        self.app.push_screen(TemplateEditScreen(), self._save_new)

    def _save_new(self, result: tuple[str, str] | None) -> None:
        if result is not None:
            self.save_template(None, *result)

    def action_edit(self) -> None:
        template = self.current
        if template is None:
            self.notify("Highlight a template to edit.", severity="warning")
            return
        self.app.push_screen(
            TemplateEditScreen(template),
            lambda result: self.save_template(template.id, *result) if result is not None else None,
        )

    @work(group="templates-write")
    async def save_template(self, template_id: int | None, name: str, body: str) -> None:
        try:
            if template_id is None:
                await self.backend.create_template(name=name, body=body)
            else:
                await self.backend.update_template(template_id, name=name, body=body)
        except ClickSendError as error:
            self.notify(f"Could not save template {name!r}: {error}", severity="error")
            return
        self.notify(f"Template {name!r} saved.")
        self.load_templates()

    def action_delete(self) -> None:
        template = self.current
        if template is None:
            self.notify("Highlight a template to delete.", severity="warning")
            return
        self.delete_template(template)

    @work(group="templates-write")
    async def delete_template(self, template: TemplateRow) -> None:
        if not await self.app.push_screen_wait(ConfirmScreen(f"Delete template {template.name!r}?", confirm_label="Delete", keep_label="Keep it")):
            return
        try:
            await self.backend.delete_template(template.id)
        except ClickSendError as error:
            self.notify(f"Could not delete template {template.name!r}: {error}", severity="error")
            return
        self.notify(f"Template {template.name!r} deleted.")
        self.load_templates()
