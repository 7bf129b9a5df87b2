import pytest

from slackbot.commands import (
    Cancel,
    CancelAll,
    CommandUsageError,
    Compose,
    Help,
    Price,
    Send,
    TemplateList,
    TemplateShow,
    TemplateUse,
    parse_command,
)

PARSED = [
    ("", Compose()),
    ("   ", Compose()),
    ("help", Help()),
    ("HELP", Help()),
    ("send +61491570156 Running late", Send(("+61491570156",), "Running late")),
    ("send +61491570156,+61491570157 hi", Send(("+61491570156", "+61491570157"), "hi")),
    ("send +61491570156, +61491570157 hi there", Send(("+61491570156", "+61491570157"), "hi there")),
    ("send +61491570156 hi, see you", Send(("+61491570156",), "hi, see you")),
    ("send +61491570156 line one\nline two", Send(("+61491570156",), "line one\nline two")),
    ("send\n+61491570156 hi", Send(("+61491570156",), "hi")),
    ("+61491570157 Running late", Send(("+61491570157",), "Running late")),
    ("0491570156 hi", Send(("0491570156",), "hi")),
    ("price +61491570156 héllo", Price(("+61491570156",), "héllo")),
    ("cancel 1A2B3C", Cancel("1A2B3C")),
    ("cancel all", CancelAll(None)),
    ("cancel ALL campaign-7", CancelAll("campaign-7")),
    ("template list", TemplateList()),
    ("templates list", TemplateList()),
    ("template show reminder", TemplateShow("reminder")),
    ("template use reminder +61491570156", TemplateUse("reminder", ("+61491570156",), {})),
    (
        'template use reminder +61491570156 name="Sam Lee" time=5pm',
        TemplateUse("reminder", ("+61491570156",), {"name": "Sam Lee", "time": "5pm"}),
    ),
    (
        "template use reminder +61491570156 name=\u201cSam Lee\u201d",
        TemplateUse("reminder", ("+61491570156",), {"name": "Sam Lee"}),
    ),
    ("template use reminder +61491570156 note=a=b", TemplateUse("reminder", ("+61491570156",), {"note": "a=b"})),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse_command_valid(text, expected):
    assert parse_command(text) == expected


def test_parse_command_unescapes_slack_entities():
    command = parse_command("send +61491570156 a &lt; b &amp;&amp; c &gt; d")

    assert command == Send(("+61491570156",), "a < b && c > d")


def test_parse_command_unwraps_linked_number():
    command = parse_command("send <tel:+61491570156|+61491570156> hi")

    assert command == Send(("+61491570156",), "hi")


REJECTED = [
    ("Running late", "Unknown command 'Running'"),
    ("send", "needs a number and the message text"),
    ("send +61491570156", "message text is missing"),
    ("price", "needs a number and the message text"),
    ("cancel", "needs a message ID"),
    ("cancel A B", "takes one message ID"),
    ("cancel all a b", "at most one reference"),
    ("template", "Use `/sms template list`"),
    ("template delete x", "Use `/sms template list`"),
    ("template show", "needs a template name"),
    ("template use reminder", "needs a template name and a number"),
    ("template use reminder +61491570156 Sam", "'Sam' is not a key=value pair"),
    ("template use reminder +61491570156 name=\"Sam", "Close every opening quote"),
    ("send +61491570156,+61491570156 hi", "+61491570156 is listed more than once"),
]


@pytest.mark.parametrize(("text", "message"), REJECTED)
def test_parse_command_usage_error(text, message):
    with pytest.raises(CommandUsageError) as info:
        parse_command(text)

    assert message in str(info.value)
