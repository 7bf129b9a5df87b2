"""One-line notices above the inbox: the demo sandbox and lost connection."""

from __future__ import annotations

from textual.widgets import Static

DEMO_TEXT = (
    "DEMO: this inbox runs on a local ClickSend sandbox on 127.0.0.1. "
    "Nothing is sent to real phones and nothing is charged. F1 lists the keys and numbers that reply."
)


class Banner(Static):
    """A full-width notice, hidden until it is given a text."""

    DEFAULT_CSS = """
    Banner {
        dock: top;
        height: auto;
        padding: 0 1;
        display: none;
    }
    Banner.-visible {
        display: block;
    }
    Banner.-demo {
        background: $warning;
        color: $background;
        text-style: bold;
    }
    Banner.-offline {
        background: $error;
        color: $text;
        text-style: bold;
    }
    """

    def show_text(self, text: str) -> None:
        """Show the banner with `text`."""
        self.update(text)
        self.add_class("-visible")

    def hide(self) -> None:
        """Hide the banner."""
        self.remove_class("-visible")
