"""Entry point: `python -m benchmarks [--rounds N] [--only GROUP ...] [--output FILE]`.

Runs every case, prints a Markdown table of medians and ratios against
baselines measured in the same run, and writes it with the machine's
description to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import baselines, bulk_send, cache, data, inbox, ingest, slack_ack
from benchmarks.harness import Case, Floor, Result, log, render_floors, render_report, render_table, run_case
from core.client import MAX_PAGE_SIZE

LATENCY_SECONDS = 0.15


async def bulk_send_cases(rounds: int) -> list[Result]:
    recipients = bulk_send.recipients()
    results = []
    async with bulk_send.sandbox() as server:
        loopback = Case(
            name="bulk send",
            measured=f"{len(recipients):,} recipients through SmsService.send (validation, segments, outbox, results stored), sandbox on loopback",
            baseline="official clicksend-client SDK, 10 requests of 1,000, no validation or storage",
            unit="s",
            subject=lambda: bulk_send.smsdesk_send(server, bulk_send.fresh_recipients()),
            reference=lambda: bulk_send.sdk_send(server, recipients),
            target=1.5,
            direction="at_most",
            floors=(
                Floor("bare aiohttp posting the 10 requests as prebuilt JSON", lambda: bulk_send.bare_send(server, recipients)),
                Floor(
                    "phonenumbers validating the 10,000 numbers, then that bare send",
                    lambda: bulk_send.validate_then_bare_send(server),
                ),
                Floor(
                    "the same with a bare outbox: one executemany before the send and one after",
                    lambda: bulk_send.validate_store_then_bare_send(server),
                ),
            ),
        )
        results.append(await run_case(loopback, rounds=rounds))
        log(render_table(results[-1:]))

        latency = Case(
            name="bulk send, 150 ms latency",
            measured=f"the same with {LATENCY_SECONDS * 1000:.0f} ms added by the sandbox to each send request",
            baseline="the same SDK baseline with the same latency",
            unit="s",
            subject=lambda: bulk_send.smsdesk_send(server, bulk_send.fresh_recipients(), latency=LATENCY_SECONDS),
            reference=lambda: bulk_send.sdk_send(server, recipients, latency=LATENCY_SECONDS),
            # At least 3 times faster than the baseline: a ratio of at most 1/3.
            target=round(1 / 3, 3),
            direction="at_most",
            floors=(
                Floor(
                    "phonenumbers validating the 10,000 numbers, then the bare send",
                    lambda: bulk_send.validate_then_bare_send(server, latency=LATENCY_SECONDS),
                ),
            ),
        )
        results.append(await run_case(latency, rounds=rounds))
        log(render_table(results[-1:]))
    return results


async def cache_cases(rounds: int, folder: Path) -> list[Result]:
    results = []

    async with bulk_send.sandbox() as server:
        history_rows = await cache.seed_sandbox_history(server)
        history = Case(
            name="history import",
            measured=f"{cache.MESSAGES:,} history rows synced from the sandbox into the cache, searchable",
            baseline="bare aiosqlite executemany of the same rows into one table without an index",
            unit="s",
            subject=lambda: cache.smsdesk_history_import(server),
            reference=lambda: cache.bare_history_import(history_rows),
            target=2.5,
            direction="at_most",
            floors=(
                Floor(
                    f"bare aiohttp fetching the {cache.MESSAGES // MAX_PAGE_SIZE:,} pages of {MAX_PAGE_SIZE} and decoding them, nothing stored",
                    lambda: cache.bare_history_fetch(server),
                ),
            ),
        )
        results.append(await run_case(history, rounds=rounds))
        log(render_table(results[-1:]))

    rows = cache.history_rows(datetime.now(UTC))
    smsdesk_path = folder / "search.sqlite3"
    bare_path = folder / "bare-fts.sqlite3"
    await cache.build_search_cache(smsdesk_path, rows)
    await baselines.build_fts(bare_path, rows)
    search = Case(
        name="search",
        measured=f"Store.search for a word in 1% of {cache.MESSAGES:,} messages, first 50 results (median of 50 queries)",
        baseline="the same MATCH query with LIMIT 50 on a bare FTS5 table",
        unit="s",
        subject=lambda: cache.smsdesk_search(smsdesk_path),
        reference=lambda: baselines.fts_query(bare_path, data.RARE_WORD),
        target=3,
        direction="at_most",
    )
    results.append(await run_case(search, rounds=rounds))
    log(render_table(results[-1:]))
    return results


async def ingest_cases(rounds: int) -> list[Result]:
    case = Case(
        name="webhook ingest",
        measured=f"inbound pushes per second into the webhook receiver, {ingest.CONCURRENCY} at a time, each committed before the 200",
        baseline="a bare aiohttp handler that answers 200",
        unit="push/s",
        subject=ingest.smsdesk_ingest_rate,
        reference=ingest.bare_ingest_rate,
        target=0.3,
        direction="at_least",
    )
    result = await run_case(case, rounds=rounds)
    log(render_table([result]))
    return [result]


async def inbox_cases(rounds: int, folder: Path) -> list[Result]:
    cache_path = folder / "inbox.sqlite3"
    await inbox.build_cache(cache_path)
    async with bulk_send.sandbox() as server:
        case = Case(
            name="inbox open",
            measured=f"smsdesk inbox to its first idle screen (headless run_test) on {inbox.CONVERSATIONS:,} conversations and {cache.MESSAGES:,} messages",
            baseline=f"a bare Textual app showing an OptionList of {inbox.CONVERSATIONS:,} rows",
            unit="s",
            subject=lambda: inbox.smsdesk_inbox_open(folder, cache_path, server.base_url),
            reference=baselines.option_list_open,
            target=2,
            direction="at_most",
        )
        result = await run_case(case, rounds=rounds)
    log(render_table([result]))
    return [result]


async def slack_cases(rounds: int, folder: Path) -> list[Result]:
    from tests.slackbot.fake_slack import FakeSlack

    async with bulk_send.sandbox() as server, FakeSlack() as slack:
        case = Case(
            name="Slack ack",
            measured=f"p99 time to the HTTP response of {slack_ack.COMMANDS} signed /sms price commands, {slack_ack.CONCURRENCY} at a time, ClickSend slowed to {slack_ack.CLICKSEND_DELAY:.0f} s",
            baseline="a bare Bolt app whose handler only calls ack()",
            unit="s",
            subject=lambda: slack_ack.smsdesk_ack_p99(server, slack),
            reference=lambda: slack_ack.bare_ack_p99(slack),
            target=2,
            direction="at_most",
        )
        result = await run_case(case, rounds=rounds)
    log(render_table([result]))
    return [result]


GROUPS = {
    "bulk-send": lambda rounds, folder: bulk_send_cases(rounds),
    "cache": cache_cases,
    "inbox": inbox_cases,
    "slack": slack_cases,
    "ingest": lambda rounds, folder: ingest_cases(rounds),
}


async def run(groups: list[str], rounds: int) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in groups:
            log(f"running {name} ...")
            results.extend(await GROUPS[name](rounds, Path(folder)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each side per case (default 5)")
    parser.add_argument("--only", nargs="+", choices=sorted(GROUPS), default=list(GROUPS), help="case groups to run")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"), help="report file (default BENCHMARKS.md)")
    args = parser.parse_args(argv)

    results = asyncio.run(run(args.only, args.rounds))
    report = render_report(results, rounds_note=f"Each side ran {args.rounds} rounds per case; the table shows medians.")
    print(render_table(results))
    floors = render_floors(results)
    if floors:
        print(f"\nLower bounds:\n{floors}")
    args.output.write_text(report, encoding="utf-8")
    log(f"wrote {args.output}")
    return 0 if all(result.met for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
