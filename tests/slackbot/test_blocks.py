"""Slack's size limits on the bot's posts."""

from datetime import datetime, timezone

from slackbot.blocks import MAX_BLOCK_TEXT, RecipientStatus, inbound_post, send_result_post


def block_texts(blocks):
    for block in blocks:
        if "text" in block:
            yield block["text"]["text"]
        for element in block.get("elements", []):
            yield element["text"]


def test_long_escaped_sms_fits_a_section():
    body = "<&>" * 400  # 1,200 characters that escape to 4,800

    text, blocks = inbound_post(their_number="+61491570156", our_number="", body=body,
                                received_at=datetime.now(timezone.utc))

    for block_text in block_texts(blocks):
        assert len(block_text) <= MAX_BLOCK_TEXT
        assert block_text.count("&") == block_text.count(";")
    assert "&lt;&amp;&gt;" * 400 in text


def test_many_recipients_summarized():
    results = [RecipientStatus(number=f"+614915701{n:02d}", status="queued") for n in range(60)]

    text, blocks = send_result_post(user_id="U0ALICE", body="hi", results=results)

    assert "60 sent" in text
    assert "and 35 more" in blocks[1]["text"]["text"]
    for block_text in block_texts(blocks):
        assert len(block_text) <= MAX_BLOCK_TEXT
