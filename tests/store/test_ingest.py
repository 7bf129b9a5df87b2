"""Ingest: lenient parsing of inbound and receipt payloads, opt-out keywords, events."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from core import reference
from core.events import EventBus, InboundReceived, StatusChanged
from core.ingest import Ingestor, PayloadError, decode_payload, parse_timestamp
from core.optout import KeywordMatcher
from core.store import OutboundDraft, SendUpdate, Store

# --- payload decoding ------------------------------------------------------------------


def test_decode_form_body() -> None:
    payload = decode_payload(
        b"from=61491570156&to=61491570999&body=Fish+%26+chips", content_type="application/x-www-form-urlencoded"
    )
    assert payload == {"from": "61491570156", "to": "61491570999", "body": "Fish & chips"}


def test_decode_json_body() -> None:
    payload = decode_payload(b'{"from": "+61491570156", "timestamp": 1775012927}', content_type="application/json")
    assert payload == {"from": "+61491570156", "timestamp": 1775012927}


def test_decode_query_string_for_get() -> None:
    assert decode_payload(b"", query={"from": "61491570156", "body": "hi"}) == {"from": "61491570156", "body": "hi"}


def test_decode_json_without_content_type() -> None:
    assert decode_payload(b'{"body": "hi"}') == {"body": "hi"}


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"from": ', "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "expected an object"),
        (b"&&&", "application/x-www-form-urlencoded", "no form fields"),
    ],
)
def test_decode_malformed_body(body: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        decode_payload(body, content_type=content_type)


# --- timestamps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1436871253, datetime(2015, 7, 14, 10, 54, 13, tzinfo=UTC)),
        ("1436932432", datetime(2015, 7, 15, 3, 53, 52, tzinfo=UTC)),
        ("2015-07-15 03:53:52", datetime(2015, 7, 15, 3, 53, 52, tzinfo=UTC)),
        ("2015-07-15T13:53:52+10:00", datetime(2015, 7, 15, 3, 53, 52, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_parse_timestamp_forms(value, expected) -> None:
    assert parse_timestamp(value) == expected


def test_parse_timestamp_rejects_words() -> None:
    with pytest.raises(PayloadError, match="Invalid timestamp 'yesterday'"):
        parse_timestamp("yesterday")


# --- inbound parsing ------------------------------------------------------------------------


@pytest.fixture
async def ingestor(store: Store) -> Ingestor:
    return Ingestor(store=store, events=EventBus())


def test_inbound_form_without_plus(ingestor: Ingestor) -> None:
    record = ingestor.parse_inbound({"from": "61491570156", "to": "61491570999", "body": "Fish & chips"})
    assert record.from_number == "+61491570156"
    assert record.body == "Fish & chips"
    assert record.message_id.startswith("local-")


def test_inbound_without_sender_rejected(ingestor: Ingestor) -> None:
    with pytest.raises(PayloadError, match="no sender"):
        ingestor.parse_inbound({"to": "61491570999", "body": "hi"})


def test_inbound_invalid_sender_rejected(ingestor: Ingestor) -> None:
    with pytest.raises(PayloadError, match="'from' is invalid"):
        ingestor.parse_inbound({"from": "12", "body": "hi"})


LEGACY_ONLY = {"originalmessageid": "MSG-0001", "customstring": "ticket-42", "sms": "61491570156", "message": "Yes"}
SNAKE_ONLY = {"original_message_id": "MSG-0001", "custom_string": "ticket-42", "from": "61491570156", "body": "Yes"}


@pytest.mark.parametrize("payload", [LEGACY_ONLY, SNAKE_ONLY], ids=["legacy", "snake_case"])
def test_inbound_field_spellings_agree(ingestor: Ingestor, payload: dict) -> None:
    record = ingestor.parse_inbound({**payload, "message_id": "IN-1"})
    assert record.original_message_id == "MSG-0001"
    assert record.custom_string == "ticket-42"
    assert record.from_number == "+61491570156"
    assert record.body == "Yes"


def test_inbound_disagreeing_spellings_warn(ingestor: Ingestor, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="core.ingest"):
        record = ingestor.parse_inbound(
            {"body": "Yes", "message": "No", "from": "+61491570156", "sms": "61491570156", "message_id": "IN-1"}
        )
    assert record.body == "Yes"
    warnings = [entry.getMessage() for entry in caplog.records]
    assert warnings == ["inbound payload has body and message with different values; using body"]


def test_inbound_json_like_clicksend(ingestor: Ingestor) -> None:
    record = ingestor.parse_inbound(
        {
            "originalsenderid": "+61477485926", "body": "trigger reply", "message": "trigger reply",
            "sms": "+61429912603", "from": "+61429912603", "to": "+61477485926", "timestamp": 1775012927,
            "message_id": "1F12D781-99C1-6D94-96FE-F5A311C8997D",
            "original_message_id": "1F12D717-947A-6FBC-BBFE-D14C2927CEEF", "original_body": "TESTING TRIGGER",
            "user_id": 304497, "subaccount_id": 745158, "custom_string": "",
        }
    )
    assert record.to_number == "+61477485926"
    assert record.received_at == datetime.fromtimestamp(1775012927, UTC)
    assert record.custom_string is None


def test_receipt_legacy_fields(ingestor: Ingestor) -> None:
    record = ingestor.parse_receipt(
        {"messageid": "MSG-1", "status_code": "201", "customstring": "sd-" + "a" * 16, "timestamp": "1759730412",
         "error_code": "", "error_text": ""}
    )
    assert record.message_id == "MSG-1"
    assert record.status == "delivered"
    assert record.custom_string == "sd-" + "a" * 16
    assert record.error_text is None


def test_receipt_without_id_rejected(ingestor: Ingestor) -> None:
    with pytest.raises(PayloadError, match="no 'message_id'"):
        ingestor.parse_receipt({"status_code": "201"})


# --- opt-out keywords -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", "opt_out"),
        ("stop", "opt_out"),
        ("  Stop! ", "opt_out"),
        ("STOPALL", "opt_out"),
        ("UNSUBSCRIBE", "opt_out"),
        ("Cancel", "opt_out"),
        ("END", "opt_out"),
        ("QUIT", "opt_out"),
        ("REVOKE", "opt_out"),
        ("OPTOUT", "opt_out"),
        ("opt out", "opt_out"),
        ("Opt-out.", "opt_out"),
        ("Stop. Thank you", "opt_out"),
        ("We have got to STOP this bill", "possible"),
        ("Please stop by at 5", "possible"),
        ("See you at the end of the day", None),
        ("START", "opt_in"),
        ("UNSTOP", "opt_in"),
        ("Fish & chips", None),
    ],
)
def test_keyword_classification(text: str, expected: str | None) -> None:
    assert KeywordMatcher.from_keywords().classify(text) == expected


def test_keywords_are_configurable() -> None:
    matcher = KeywordMatcher.from_keywords(["HALT"], ["RESUME"])
    assert matcher.classify("halt") == "opt_out"
    assert matcher.classify("STOP") is None
    assert matcher.classify("resume!") == "opt_in"


async def test_stop_then_start_updates_opt_out_list(ingestor: Ingestor, store: Store) -> None:
    with ingestor.events.subscribe() as events:
        await ingestor.add_inbound([ingestor.parse_inbound({"message_id": "IN-1", "from": "61491570156", "body": "Stop!"})])
        assert await store.is_opted_out("+61491570156")
        await ingestor.add_inbound(
            [ingestor.parse_inbound({"message_id": "IN-2", "from": "61491570156", "body": "start", "timestamp": 2_000_000_000})]
        )
        assert not await store.is_opted_out("+61491570156")
        kinds = [type(await events.get(timeout=1)).__name__ for _ in range(4)]
    assert kinds == ["InboundReceived", "OptOutChanged", "InboundReceived", "OptOutChanged"]


async def test_possible_opt_out_does_not_opt_out(ingestor: Ingestor, store: Store) -> None:
    (message,) = await ingestor.add_inbound(
        [ingestor.parse_inbound({"message_id": "IN-1", "from": "61491570156", "body": "Please stop by at 5"})]
    )
    assert message.opt_out == "possible"
    assert not await store.is_opted_out("+61491570156")


# --- events: only for real inserts ----------------------------------------------------------------


async def test_duplicate_inbound_publishes_once(ingestor: Ingestor) -> None:
    payload = {"message_id": "IN-0001", "from": "+61491570156", "body": "ok"}
    with ingestor.events.subscribe() as events:
        await ingestor.add_inbound([ingestor.parse_inbound(payload)])
        await ingestor.add_inbound([ingestor.parse_inbound(payload)])
        await ingestor.add_inbound([ingestor.parse_inbound({**payload, "message_id": "IN-0002"})])
        first = await events.get(timeout=1)
        second = await events.get(timeout=1)
        with pytest.raises(TimeoutError):
            await events.get(timeout=0.05)
    assert isinstance(first, InboundReceived)
    assert [first.message.message_id, second.message.message_id] == ["IN-0001", "IN-0002"]


async def test_receipt_publishes_status_change(ingestor: Ingestor, store: Store) -> None:
    ref = reference.new_reference()
    await store.add_to_outbox(
        [OutboundDraft(client_ref=ref, batch_id="b", to="+61491570156", body="hi", request={})]
    )
    await store.record_send_updates([SendUpdate(client_ref=ref, status="queued", message_id="MSG-1")])
    with ingestor.events.subscribe() as events:
        await ingestor.add_receipts([ingestor.parse_receipt({"message_id": "MSG-1", "status_code": 201})])
        event = await events.get(timeout=1)
    assert isinstance(event, StatusChanged)
    assert (event.change.old_status, event.change.new_status) == ("queued", "delivered")


# --- client references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user",
    [None, "ticket-42", "a|b", "x|sd-0123456789abcdef", "sd-0123456789abcdef", "line\nbreak", "émoji 🙂"],
)
def test_reference_round_trips(user: str | None) -> None:
    ref = reference.new_reference()
    assert reference.split(reference.combine(user, ref)) == (user, ref)


def test_foreign_custom_string_has_no_reference() -> None:
    assert reference.split("order-1042") == ("order-1042", None)
    assert reference.split("") == (None, None)


async def test_slow_subscriber_gets_store_changed() -> None:
    from core.events import StoreChanged, TemplatesChanged

    bus = EventBus(max_queue=3)
    with bus.subscribe() as slow:
        for _ in range(5):
            bus.publish(TemplatesChanged())
        received = [await slow.get(timeout=1) for _ in range(3)]
    assert isinstance(received[0], StoreChanged)
    assert received[0].reason == "events dropped"
    assert all(isinstance(event, TemplatesChanged) for event in received[1:])


async def test_closed_bus_ends_iteration() -> None:
    bus = EventBus()
    subscription = bus.subscribe()
    bus.close()
    assert [event async for event in subscription] == []


def test_settings_defaults_keep_full_keyword_list(tmp_path) -> None:
    from core.config import load_settings

    config = tmp_path / "config.toml"
    config.write_text("")
    matcher = KeywordMatcher.from_settings(load_settings(config_path=config))
    assert matcher.classify("REVOKE") == "opt_out"
    assert matcher.classify("opt out") == "opt_out"
    assert matcher.classify("UNSTOP") == "opt_in"


def test_settings_keywords_replace_defaults(tmp_path) -> None:
    from core.config import load_settings

    config = tmp_path / "config.toml"
    config.write_text('opt_out_keywords = ["HALT"]\n')
    matcher = KeywordMatcher.from_settings(load_settings(config_path=config))
    assert matcher.classify("halt") == "opt_out"
    assert matcher.classify("STOP") is None


def test_receipt_send_time_is_not_a_conflict(ingestor: Ingestor, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="core.ingest"):
        record = ingestor.parse_receipt(
            {"message_id": "MSG-1", "status_code": "201", "timestamp": "1759730412", "timestamp_send": "1759730400"}
        )
    assert record.ts == datetime.fromtimestamp(1759730412, UTC)
    assert caplog.records == []


def test_inbound_send_time_used_when_no_timestamp(ingestor: Ingestor) -> None:
    record = ingestor.parse_inbound({"message_id": "IN-1", "from": "61491570156", "body": "hi",
                                     "timestamp_send": "1436932432"})
    assert record.received_at == datetime(2015, 7, 15, 3, 53, 52, tzinfo=UTC)
