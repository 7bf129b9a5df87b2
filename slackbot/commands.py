"""Parser for the `/sms` slash command text.

Grammar (recipients are comma-separated, the text is everything after them):

    /sms                                   open the compose form
    /sms help
    /sms send NUMBER[,NUMBER...] TEXT
    /sms NUMBER[,NUMBER...] TEXT           shorthand for send
    /sms price NUMBER[,NUMBER...] TEXT
    /sms cancel MESSAGE_ID
    /sms cancel all [REFERENCE]
    /sms template list
    /sms template show NAME
    /sms template use NAME NUMBER[,NUMBER...] [key=value ...]

Numbers are returned as typed; the send service validates and normalises them.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from slackbot.formatting import unescape_command_text

USAGE = """\
*Usage*
`/sms` opens the compose form
`/sms send NUMBER[,NUMBER...] TEXT` sends an SMS (shorthand: `/sms NUMBER TEXT`)
`/sms price NUMBER[,NUMBER...] TEXT` shows parts, encoding and price without sending
`/sms cancel MESSAGE_ID` cancels one scheduled message
`/sms cancel all [REFERENCE]` cancels every scheduled message, or those with REFERENCE
`/sms template list` lists templates
`/sms template show NAME` shows one template
`/sms template use NAME NUMBER [key=value ...]` sends a template with its placeholders filled in
`/sms help` shows this text
Numbers are in international form (+61491570156) or local to the configured region; \
separate several with commas."""


class CommandUsageError(ValueError):
    """The command text does not match the `/sms` grammar. The message explains how to fix it."""


@dataclass(frozen=True)
class Compose:
    """`/sms` alone: open the compose form."""


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Send:
    recipients: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class Price:
    recipients: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class Cancel:
    message_id: str


@dataclass(frozen=True)
class CancelAll:
    reference: str | None = None


@dataclass(frozen=True)
class TemplateList:
    pass


@dataclass(frozen=True)
class TemplateShow:
    name: str


@dataclass(frozen=True)
class TemplateUse:
    name: str
    recipients: tuple[str, ...]
    values: dict[str, str] = field(default_factory=dict)


Command = Compose | Help | Send | Price | Cancel | CancelAll | TemplateList | TemplateShow | TemplateUse

# A recipient list: tokens separated by commas, with optional spaces around the commas.
_RECIPIENTS_THEN_BODY = re.compile(r"(?P<numbers>[^\s,]+(?:\s*,\s*[^\s,]+)*),?(?:\s+(?P<body>.*))?\Z", re.DOTALL)
_LOOKS_LIKE_NUMBER = re.compile(r"[+(]?\d")
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


def parse_command(text: str) -> Command:
    """Parse the text after `/sms` into a command, or raise `CommandUsageError`."""
    text = unescape_command_text(text).strip()
    if not text:
        return Compose()

    word, _, rest = text.partition(" ")
    # Slack keeps newlines, so the subcommand may be followed by one instead of a space.
    if "\n" in word:
        word, _, tail = word.partition("\n")
        rest = tail + (" " + rest if rest else "")
    rest = rest.strip()
    keyword = word.lower()

    if keyword == "help":
        return Help()
    if keyword == "send":
        return Send(*_recipients_and_body(rest, "send"))
    if keyword == "price":
        return Price(*_recipients_and_body(rest, "price"))
    if keyword == "cancel":
        return _parse_cancel(rest)
    if keyword in ("template", "templates"):
        return _parse_template(rest)
    if _LOOKS_LIKE_NUMBER.match(word):
        return Send(*_recipients_and_body(text, "send"))
    raise CommandUsageError(
        f"Unknown command '{word}'. Start with send, price, cancel, template or help, "
        "or give a number first, for example `/sms +61491570156 Running late`."
    )


def _recipients_and_body(rest: str, keyword: str) -> tuple[tuple[str, ...], str]:
    example = f"`/sms {keyword} +61491570156 Running late`"
    match = _RECIPIENTS_THEN_BODY.match(rest)
    if not rest or match is None:
        raise CommandUsageError(f"`{keyword}` needs a number and the message text, for example {example}.")
    recipients = _split_recipients(match.group("numbers"))
    body = (match.group("body") or "").strip()
    if not body:
        raise CommandUsageError(f"The message text is missing after the number. Write it after the number: {example}.")
    return recipients, body


def _split_recipients(numbers: str) -> tuple[str, ...]:
    recipients = tuple(part.strip() for part in numbers.split(",") if part.strip())
    duplicates = sorted({r for r in recipients if recipients.count(r) > 1})
    if duplicates:
        # Each recipient would be charged twice; make the user decide.
        raise CommandUsageError(f"{', '.join(duplicates)} is listed more than once. List each number once.")
    return recipients


def _parse_cancel(rest: str) -> Cancel | CancelAll:
    words = rest.split()
    if not words:
        raise CommandUsageError(
            "`cancel` needs a message ID (`/sms cancel MESSAGE_ID`) or `all` (`/sms cancel all [REFERENCE]`)."
        )
    if words[0].lower() == "all":
        if len(words) > 2:
            raise CommandUsageError("`cancel all` takes at most one reference, for example `/sms cancel all campaign-7`.")
        return CancelAll(words[1] if len(words) == 2 else None)
    if len(words) > 1:
        raise CommandUsageError(f"`cancel` takes one message ID, got {len(words)} words: `{rest}`.")
    return Cancel(words[0])


def _parse_template(rest: str) -> TemplateList | TemplateShow | TemplateUse:
    action, _, args = rest.partition(" ")
    action = action.lower()
    args = args.strip()

    if action == "list" and not args:
        return TemplateList()
    if action == "show":
        if not args:
            raise CommandUsageError("`template show` needs a template name, for example `/sms template show reminder`.")
        return TemplateShow(args)
    if action == "use":
        return _parse_template_use(args)
    raise CommandUsageError(
        "Use `/sms template list`, `/sms template show NAME` or `/sms template use NAME NUMBER [key=value ...]`."
    )


def _parse_template_use(args: str) -> TemplateUse:
    usage = "`template use` needs a template name and a number, for example `/sms template use reminder +61491570156 name=Sam`."
    try:
        # Slack clients may turn typed quotes into typographic ones.
        words = shlex.split(args.translate(_SMART_QUOTES))
    except ValueError as exc:
        raise CommandUsageError(f"Could not read the template values ({exc}). Close every opening quote.") from None
    if len(words) < 2:
        raise CommandUsageError(usage)

    name, numbers, *pairs = words
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandUsageError(
                f"'{pair}' is not a key=value pair. Write placeholder values as key=value, "
                'with quotes around spaces: name="Sam Lee".'
            )
        values[key] = value
    return TemplateUse(name, _split_recipients(numbers), values)
