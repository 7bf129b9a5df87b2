"""Demo data: a few days of realistic conversations with fictional numbers.

Everything derives from the sandbox clock and a fixed random seed, so a
frozen clock gives the same ids, times and texts on every run (the terminal
inbox's snapshot tests depend on that). All numbers are in ranges reserved
for fiction: ACMA's 0491 570 xxx, Ofcom's 07700 900xxx and NANP's 555-01xx.
"""

from __future__ import annotations

import random
import uuid

from core.segments import count_segments
from sandbox.accounts import DEFAULT_USERNAME, SHARED_NUMBERS
from sandbox.models import (
    STAGE_DELIVERED,
    STAGE_FAILED,
    STAGE_SCHEDULED,
    InboundMessage,
    OutboundMessage,
    Receipt,
    Responder,
    Template,
)
from sandbox.state import SandboxState, lookup_recipient

DEMO_SEED = 20260101

HOUR = 3600
DAY = 24 * HOUR

# (number, [(seconds before now, "out"|"in", body)]) in time order.
CONVERSATIONS: list[tuple[str, list[tuple[int, str, str]]]] = [
    ("+61491570156", [
        (3 * DAY, "out", "Hi Sam, this is Harbour Plumbing confirming your booking for Thursday at 9am."),
        (3 * DAY - 600, "in", "Great, thanks. Will the plumber call when they're on the way?"),
        (3 * DAY - 300, "out", "Yes, they'll text you about 30 minutes before arriving."),
        (2 * HOUR, "out", "Your plumber Alex is on the way and should arrive by 9:30am."),
        (2 * HOUR - 240, "in", "Perfect, the side gate is open."),
    ]),
    ("+61491570157", [
        (2 * DAY, "out", "Reminder: your dental check-up is tomorrow at 2:15pm. Reply YES to confirm."),
        (2 * DAY - 900, "in", "YES"),
        (1 * DAY, "out", "Thanks for visiting today! How did we do? Reply 1-5."),
        (1 * DAY - 3000, "in", "5 - very friendly staff 😊"),
    ]),
    ("+447700900123", [
        (5 * HOUR, "out", "Your parcel GB-2231 is out for delivery today between 10:00 and 14:00."),
        (4 * HOUR, "in", "Can you leave it with the neighbour at number 12?"),
        (4 * HOUR - 120, "out", "Noted, the driver will leave it at number 12."),
    ]),
    ("+12025550143", [
        (6 * HOUR, "out", "Your verification code is 482913. It expires in 10 minutes."),
    ]),
    ("+61491570158", [
        (4 * DAY, "out", "Spring sale: 20% off all garden tools this weekend only!"),
        (4 * DAY - 60, "in", "STOP"),
    ]),
    ("+61491570159", [
        (30 * 60, "out", "Hi Priya, your prescription is ready for pickup at the Main St pharmacy."),
        (20 * 60, "in", "Thanks! Can my husband pick it up instead?"),
    ]),
]

# Messages whose delivery failed: (number, seconds before now, gateway error code, body).
FAILURES = [
    ("+61491570160", 8 * HOUR, 12, "Your table for 4 at Luca's is confirmed for 7pm tonight."),
    ("+61491570161", 26 * HOUR, 8, "Your account statement is ready to view online."),
]

# Scheduled sends: (number, seconds after now, body, custom_string).
SCHEDULED = [
    ("+61491570156", 20 * HOUR, "Reminder: Harbour Plumbing visit tomorrow at 9am.", "demo-reminder-1"),
    ("+61491570157", 3 * DAY, "Time for your 6-month dental check-up. Reply to book.", "demo-reminder-2"),
]

TEMPLATES = [
    ("Appointment reminder", "Hi {name}, a reminder of your appointment on {date} at {time}. Reply YES to confirm."),
    ("On the way", "Your technician {name} is on the way and should arrive by {time}."),
    ("Order ready", "Your order {order} is ready for pickup. Show this message at the counter."),
]

RESPONDERS = [
    Responder(number="+61491570162", kind="echo", delay=5.0),
    Responder(number="+61491570163", kind="text", text="Thanks, got it. See you then!", delay=10.0),
    Responder(number="+61491570164", kind="stop", delay=5.0),
    Responder(number="+61491570165", kind="fail", error_code=12),
]


def _make_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


def seed_demo_data(state: SandboxState, *, username: str = DEFAULT_USERNAME) -> None:
    """Add the demo conversations, failures, scheduled sends, templates and responders."""
    rng = random.Random(DEMO_SEED)
    account = state.accounts[username]
    now = int(state.clock.now())

    def outbound(number: str, at: int, body: str, stage: str, custom_string: str = "") -> OutboundMessage:
        _, country, _ = lookup_recipient(number, None)
        parts = count_segments(body).parts
        message = OutboundMessage(
            message_id=_make_id(rng),
            username=username,
            to=number,
            body=body,
            from_=SHARED_NUMBERS[country],
            is_shared_system_number=True,
            source="smsdesk-demo",
            custom_string=custom_string,
            country=country,
            carrier="",
            message_parts=parts,
            price=parts * account.rate_for(country),
            date=at,
            schedule=None,
            stage=stage,
        )
        state.messages[message.message_id] = message
        return message

    def receipt(message: OutboundMessage, at: int) -> None:
        failed = message.stage == STAGE_FAILED
        state.receipts.append(Receipt(
            message_id=message.message_id,
            username=username,
            timestamp_send=message.date,
            timestamp=at,
            status="Failed" if failed else "Delivered",
            status_code="301" if failed else "201",
            status_text=message.history_status[2] if failed else "Success: Message received on handset.",
            error_code=message.error_code,
            error_text=message.history_status[2] if failed else None,
            custom_string=message.custom_string,
            subaccount_id=account.subaccount_id,
            user_id=account.user_id,
            read=at < now - DAY,
        ))

    for number, events in CONVERSATIONS:
        last_out: OutboundMessage | None = None
        for ago, direction, body in events:
            at = now - ago
            if direction == "out":
                last_out = outbound(number, at, body, STAGE_DELIVERED, f"demo-{rng.randrange(10**6):06d}")
                receipt(last_out, at + 4)
                continue
            assert last_out is not None
            state.inbound.append(
                InboundMessage(
                    message_id=_make_id(rng),
                    username=username,
                    timestamp=at,
                    from_=number,
                    to=last_out.from_,
                    body=body,
                    original_body=last_out.body,
                    original_message_id=last_out.message_id,
                    custom_string=last_out.custom_string,
                    read=at < now - DAY,
                )
            )

    for number, ago, error_code, body in FAILURES:
        message = outbound(number, now - ago, body, STAGE_FAILED)
        message.error_code = error_code
        receipt(message, now - ago + 6)

    for number, ahead, body, custom_string in SCHEDULED:
        message = outbound(number, now - HOUR, body, STAGE_SCHEDULED, custom_string)
        message.schedule = now + ahead
        state.schedule_step(message, float(now + ahead))

    for name, body in TEMPLATES:
        template = Template(state.next_template_id, username, name, body)
        state.templates[template.template_id] = template
        state.next_template_id += 1

    for responder in RESPONDERS:
        state.responders[responder.number] = Responder(**vars(responder))

    state.dirty = True
