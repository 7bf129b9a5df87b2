"""Slack `mrkdwn` text escaping in both directions.

Slack treats `<...>` as a link, mention or `<!channel>` broadcast and `&` as the
start of an entity, so untrusted SMS text escapes exactly those three
characters. Full HTML escaping would show `&#39;` literally in Slack.
"""

from __future__ import annotations

import re

# `<tel:+61491570156|+61491570156>`, `<mailto:a@b.c|a@b.c>`, `<https://x.y|label>`, `<https://x.y>`
_LINK = re.compile(r"<(?P<target>[^<>|]+)(?:\|(?P<label>[^<>]*))?>")


def escape_text(text: str) -> str:
    """Escape `&`, `<` and `>` for Slack message text; everything else stays as sent."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_command_text(text: str) -> str:
    """Turn the text Slack delivers for a slash command or message back into what the user typed.

    Slack wraps phone numbers, e-mail addresses and URLs it recognises in `<target|label>`
    and escapes `&`, `<` and `>`. The SMS must carry the characters the user typed.
    """
    def _label(match: re.Match[str]) -> str:
        label = match.group("label")
        if label is not None:
            return label
        target = match.group("target")
        for prefix in ("tel:", "mailto:"):
            if target.startswith(prefix):
                return target[len(prefix):]
        return target

    plain = _LINK.sub(_label, text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
