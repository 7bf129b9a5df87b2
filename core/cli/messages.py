"""`smsdesk send`, `price`, `cancel` and `templates`, all through the send service."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from core import status
from core.cli.context import open_service, settings_from
from core.cli.errors import EXIT_FAILURE, EXIT_OK, UsageError
from core.cli.output import cell, fail, preview, print_json, print_line, print_table, to_jsonable
from core.cli.when import check_schedule, parse_when, table_time
from core.config import Settings
from core.errors import NotFoundError
from core.numbers import normalize_number, validate_sender
from core.service import OptedOutError, render

# Next steps for a message that ClickSend rejected inside a successful send,
# keyed by its per-message status (ClickSend REST v3 response codes). The
# {sender} field is filled with the --from value.
REJECTION_NEXT_STEPS = {
    "INVALID_RECIPIENT": "ClickSend rejected the number as invalid; check it",
    "COUNTRY_NOT_ENABLED": "the account may not send to this country; enable it in the ClickSend dashboard",
    "INVALID_SENDER_ID": (
        "the sender {sender} is not approved for this account; use an approved one or leave --from out"
    ),
    "INSUFFICIENT_CREDIT": "the account is out of credit; top it up in the ClickSend dashboard",
    "THROTTLED": "the same text went to this number seconds ago; wait a little or change the text",
    "EMPTY_MESSAGE": "the text is empty; give --body TEXT",
}


def _recipients(args: argparse.Namespace, settings: Settings) -> list[str]:
    return [normalize_number(raw, default_region=settings.default_region) for raw in args.to]


def _template_values(pairs: Sequence[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise UsageError(f"invalid --var {pair!r}: use NAME=VALUE, such as --var first_name=Ann")
        values[name] = value
    return values


class _RecordingValues(dict):
    """Template values that report every placeholder as given and record the ones that are missing."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.missing: list[str] = []

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        if not dict.__contains__(self, key):
            self.missing.append(key)
            return ""
        return dict.__getitem__(self, key)


def _check_template_values(template: Any, values: dict[str, str]) -> None:
    """Raise UsageError naming a --var for each placeholder of `template` that `values` lacks."""
    recorder = _RecordingValues(values)
    render(template.body, recorder)
    missing = list(dict.fromkeys(recorder.missing))
    if missing:
        options = " ".join(f"--var {name}=VALUE" for name in missing)
        raise UsageError(f"template {template.name!r} needs a value for {', '.join(missing)}: give {options}")


async def _message_body(args: argparse.Namespace, service: Any, values: dict[str, str]) -> str:
    if args.template is not None:
        # Finding the template fetches the current ones, which rendering reads
        # from the cache. A name shared by several templates is rejected here
        # as `templates show` rejects it, instead of picking one of them.
        template = await _find_template(service, args.template)
        _check_template_values(template, values)
        return await service.render_template(template.template_id, values)
    body = sys.stdin.read() if args.body == "-" else args.body
    if not body.strip():
        source = "the text read from stdin (--body -)" if args.body == "-" else "the message body"
        raise UsageError(f"{source} is empty: give --body TEXT, or --body - to read it from stdin")
    return body


def _sender(args: argparse.Namespace, settings: Settings) -> str | None:
    if args.sender is None:
        return None
    return validate_sender(args.sender, default_region=settings.default_region)


def _schedule(args: argparse.Namespace, settings: Settings) -> datetime | None:
    if args.schedule is None:
        return None
    moment = parse_when(args.schedule, settings=settings, option="--schedule")
    return check_schedule(moment, now=datetime.now(UTC), settings=settings)


async def cmd_send(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    to = _recipients(args, settings)
    sender = _sender(args, settings)
    schedule = _schedule(args, settings)
    values = _template_values(args.var)

    async with open_service(settings) as service:
        body = await _message_body(args, service, values)
        try:
            outcome = await service.send(
                to=to,
                body=body,
                sender=sender,
                schedule=schedule,
                custom_string=args.custom_string,
                allow_opted_out=args.allow_opted_out,
                origin={"via": "cli"},
            )
        except OptedOutError as error:
            raise UsageError(
                f"nothing was sent: {', '.join(error.numbers)} opted out of messages (replied STOP or a "
                "similar keyword); remove them from --to, or add --allow-opted-out only if they opted in again"
            ) from None

    if args.json:
        print_json(_outcome_json(outcome))
    else:
        print_table(
            ["to", "status", "message id", "parts", "price", "schedule", "reason"],
            [
                [
                    recipient.to,
                    recipient.status,
                    recipient.message_id,
                    recipient.parts,
                    recipient.price,
                    table_time(schedule, settings),
                    "request failed, see below" if _request_failed(recipient) else recipient.error,
                ]
                for recipient in outcome.recipients
            ],
        )
    return _report_outcome(outcome, sender=sender)


# A status that ClickSend gave one message inside a successful send, such as
# INVALID_RECIPIENT. Any other error text is a failed request, such as a 401.
_MESSAGE_STATUS = re.compile(r"[A-Z][A-Z0-9_]*")


def _request_failed(recipient: Any) -> bool:
    """Return True when a recipient failed because the whole send request failed, not by its own status."""
    return recipient.status == status.FAILED and not _MESSAGE_STATUS.fullmatch(recipient.error or "")


def _outcome_json(outcome: Any) -> dict[str, Any]:
    data = to_jsonable(outcome)
    data["accepted_count"] = outcome.accepted_count
    data["failed_count"] = outcome.failed_count
    data["pending_count"] = outcome.pending_count
    for recipient, item in zip(outcome.recipients, data["recipients"], strict=True):
        item["accepted"] = recipient.accepted
    return data


# A failed request of 1000 messages names this many numbers and counts the rest.
NUMBERS_NAMED = 5


def _number_list(numbers: Sequence[str]) -> str:
    if len(numbers) <= NUMBERS_NAMED:
        return ", ".join(numbers)
    return f"{', '.join(numbers[:NUMBERS_NAMED])} and {len(numbers) - NUMBERS_NAMED} more"


def _report_outcome(outcome: Any, *, sender: str | None) -> int:
    """Explain on stderr every recipient that was not accepted, and return the exit code."""
    # A failed request fails every message in it with the same error, so it is
    # reported once with the numbers it concerns.
    request_errors: dict[str, list[str]] = {}
    for recipient in outcome.recipients:
        if _request_failed(recipient):
            request_errors.setdefault(recipient.error or "no reason given", []).append(recipient.to)
    for error, numbers in request_errors.items():
        fail(f"nothing was sent to {_number_list(numbers)}: {error}")
    for recipient in outcome.recipients:
        if recipient.status == status.FAILED and not _request_failed(recipient):
            reason = recipient.error or "no reason given"
            shown_sender = repr(sender) if sender else "(account default)"
            next_step = REJECTION_NEXT_STEPS.get(reason, "").format(sender=shown_sender)
            fail(f"the message to {recipient.to} failed: {reason}" + (f" ({next_step})" if next_step else ""))
    if outcome.pending_count:
        fail(
            f"{outcome.pending_count} message(s) are unconfirmed: the connection failed after the request "
            "left, so ClickSend may have sent them. Do not send them again by hand: `smsdesk sync` checks "
            "ClickSend's history and sends only those that never arrived"
        )
    return EXIT_OK if outcome.accepted_count == len(outcome.recipients) else EXIT_FAILURE


async def cmd_price(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    to = _recipients(args, settings)
    sender = _sender(args, settings)
    # The schedule does not change the price. It is checked so that a send
    # command turned into a price command reports the same mistakes.
    _schedule(args, settings)
    values = _template_values(args.var)

    async with open_service(settings) as service:
        body = await _message_body(args, service, values)
        quote = await service.price(to=to, body=body, sender=sender)

    if args.json:
        print_json(quote)
        return EXIT_OK
    print_table(
        ["to", "country", "parts", "encoding", "price", "status", "opted out"],
        [
            [
                line.to,
                line.country,
                line.parts,
                quote.encoding,
                line.price,
                line.status,
                "yes" if line.opted_out else "",
            ]
            for line in quote.recipients
        ],
    )
    sys.stdout.write(f"total: {cell(quote.total)} {quote.currency or ''}".rstrip() + "\n")
    return EXIT_OK


async def cmd_cancel(args: argparse.Namespace) -> int:
    if args.all == (args.message_id is not None):
        raise UsageError("give either a MESSAGE_ID or --all, such as `smsdesk cancel --all --custom-string order-42`")
    if args.custom_string is not None and not args.all:
        raise UsageError("--custom-string only works with --all; to cancel one message give its MESSAGE_ID alone")
    settings = settings_from(args)

    async with open_service(settings) as service:
        if args.all:
            count = await service.cancel_all(custom_string=args.custom_string)
        else:
            try:
                await service.cancel(args.message_id)
            except NotFoundError as error:
                error.add_note(
                    "only a scheduled message that has not been sent can be cancelled; "
                    "`smsdesk history --query status:scheduled` lists them"
                )
                raise
            count = 1

    if args.json:
        print_json({"cancelled": count, "message_id": args.message_id, "custom_string": args.custom_string})
    elif args.all:
        sys.stdout.write(f"cancelled {count} scheduled message{'s' if count != 1 else ''}\n")
    else:
        sys.stdout.write(f"cancelled {args.message_id}\n")
    return EXIT_OK


# --- templates -------------------------------------------------------------------


async def cmd_templates(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    async with open_service(settings) as service:
        action = args.templates_action
        if action == "list":
            templates = await service.templates()
            if args.json:
                print_json(templates)
            elif not templates:
                print_line("No templates yet; add one with `smsdesk templates add NAME --body TEXT`.")
            else:
                print_table(
                    ["id", "name", "body"],
                    [[template.template_id, template.name, preview(template.body)] for template in templates],
                )
            return EXIT_OK

        if action == "add":
            _check_name_free(await service.templates(), args.name)
            template = await service.create_template(args.name, await _template_text(args))
        else:
            template = await _find_template(service, args.template)
            if action == "edit":
                if args.name is None and args.body is None:
                    raise UsageError("nothing to change: give --name NEW_NAME, --body TEXT or both")
                if args.name is not None:
                    cached = await service.templates(refresh=False)
                    others = [other for other in cached if other.template_id != template.template_id]
                    _check_name_free(others, args.name)
                template = await service.update_template(
                    template.template_id,
                    name=args.name if args.name is not None else template.name,
                    body=await _template_text(args) if args.body is not None else template.body,
                )
            elif action == "rm":
                await service.delete_template(template.template_id)

    if args.json:
        print_json({"deleted": True, **to_jsonable(template)} if action == "rm" else template)
    elif action == "rm":
        sys.stdout.write(f"deleted template {template.template_id} {template.name}\n")
    else:
        sys.stdout.write(f"id: {template.template_id}\nname: {template.name}\n\n{template.body}\n")
    return EXIT_OK


async def _template_text(args: argparse.Namespace) -> str:
    if args.body == "-":
        return sys.stdin.read()
    if not args.body:
        raise UsageError("the template body is empty: give --body TEXT, or --body - to read it from stdin")
    return args.body


def _check_name_free(templates: Sequence[Any], name: str) -> None:
    """Reject a template name that another template has, ignoring case, since names select templates."""
    for template in templates:
        if template.name.casefold() == name.casefold():
            raise UsageError(
                f"a template named {template.name!r} already exists (id {template.template_id}); change its text "
                f"with `smsdesk templates edit {template.template_id} --body TEXT`, or choose another name"
            )


async def _find_template(service: Any, key: str) -> Any:
    """Find a template by id, else by exact name, else by name ignoring case."""
    templates = list(await service.templates())
    for template in templates:
        if str(template.template_id) == key:
            return template
    for match in (lambda name: name == key, lambda name: name.casefold() == key.casefold()):
        found = [template for template in templates if match(template.name)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            ids = ", ".join(str(template.template_id) for template in found)
            raise UsageError(f"several templates are named {key!r} (ids {ids}); give the id instead")
    raise UsageError(f"template {key!r} not found; `smsdesk templates list` shows every id and name")
