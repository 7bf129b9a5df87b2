"""Bottom line: account (or DEMO), balance, sync state, connection and unread total."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.formatting import format_price


class StatusBar(Static):
    """Account and connection state at a glance."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    """

    account: reactive[str] = reactive("")
    demo: reactive[bool] = reactive(False)
    balance: reactive[Decimal | None] = reactive(None)
    currency: reactive[str | None] = reactive(None)
    sync_state: reactive[str] = reactive("not synced")
    online: reactive[bool | None] = reactive(None)
    credentials_rejected: reactive[bool] = reactive(False)
    unread: reactive[int] = reactive(0)

    def render(self) -> Text:
        line = Text()
        if self.demo:
            line.append(" DEMO ", style="bold black on yellow")
            line.append(" ")
        line.append(self.account or "no account")
        if self.balance is not None:
            line.append(f" · balance {format_price(self.balance, self.currency)}")
        line.append(f" · {self.sync_state}")
        if self.online is None:
            line.append(" · connecting…", style="dim")
        elif self.online:
            line.append(" · online", style="green")
        elif self.credentials_rejected:
            line.append(" · credentials rejected", style="bold red")
        else:
            line.append(" · offline", style="bold red")
        line.append(f" · {self.unread} unread", style="bold" if self.unread else "dim")
        return line
