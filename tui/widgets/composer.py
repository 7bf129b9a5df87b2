"""Multi-line message editor.

Enter inserts a newline: many terminals send the same code for Shift+Enter and
Enter, so sending is bound to a separate key (ctrl+s unless configured).
"""

from __future__ import annotations

from textual.widgets import TextArea


class Composer(TextArea):
    """The draft of the message being written, with soft wrapping and no line numbers."""

    DEFAULT_CSS = """
    Composer {
        height: 6;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            "",
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            placeholder="Write a message…",
        )

    @property
    def draft(self) -> str:
        """Text of the draft exactly as it will be sent."""
        return self.text

    def clear_draft(self) -> None:
        """Empty the composer after a send."""
        self.load_text("")

    def insert_at_cursor(self, text: str) -> None:
        """Insert text (a template body) where the cursor is."""
        self.insert(text)
