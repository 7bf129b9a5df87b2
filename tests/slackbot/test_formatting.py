import pytest

from slackbot.formatting import escape_text, unescape_command_text


def test_escape_text_only_three_characters():
    text = "if a < b && c > d <!channel> <@U0FAKE001> it's"

    escaped = escape_text(text)

    assert escaped == "if a &lt; b &amp;&amp; c &gt; d &lt;!channel&gt; &lt;@U0FAKE001&gt; it's"


@pytest.mark.parametrize("text", ['it\'s "quoted"', "émoji 🎉", "*bold* _it_", "&amp; already"])
def test_escape_text_round_trip(text):
    assert unescape_command_text(escape_text(text)) == text


def test_escape_text_leaves_no_mention_syntax():
    escaped = escape_text("<!here> <#C123> <@U1>")

    assert "<" not in escaped
    assert ">" not in escaped


@pytest.mark.parametrize(
    ("delivered", "typed"),
    [
        ("<tel:+61491570156|+61491570156>", "+61491570156"),
        ("<mailto:a@example.com|a@example.com>", "a@example.com"),
        ("<https://example.com>", "https://example.com"),
        ("<https://example.com|example.com>", "example.com"),
        ("a &lt; b", "a < b"),
        ("&amp;lt;", "&lt;"),
    ],
)
def test_unescape_command_text(delivered, typed):
    assert unescape_command_text(delivered) == typed
