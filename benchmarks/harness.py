"""Run benchmark cases, compare each with a baseline measured in the same run.

Absolute times on shared 2-core machines move by tens of percent between runs,
so every case measures smsdesk and a bare baseline back to back, several
rounds each, and judges only the ratio of the medians.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import os
import platform
import statistics
import sys
from collections.abc import Awaitable, Callable
from typing import Literal

Measure = Callable[[], Awaitable[float]]


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark: smsdesk's path against a baseline, judged by a ratio."""

    name: str
    measured: str
    baseline: str
    unit: str
    """Unit of one measurement, e.g. "s" or "msg/s"."""
    subject: Measure
    reference: Measure
    target: float
    direction: Literal["at_most", "at_least"]
    """Required relation of `subject / reference` to `target`."""
    rounds: int = 5


@dataclasses.dataclass(frozen=True)
class Result:
    case: Case
    subject_median: float
    reference_median: float

    @property
    def ratio(self) -> float:
        return self.subject_median / self.reference_median

    @property
    def met(self) -> bool:
        if self.case.direction == "at_most":
            return self.ratio <= self.case.target
        return self.ratio >= self.case.target

    @property
    def target_text(self) -> str:
        sign = "≤" if self.case.direction == "at_most" else "≥"
        return f"{sign} {self.case.target:g}"


async def run_case(case: Case, *, rounds: int | None = None) -> Result:
    """Measure subject and reference alternately, so drift hits both alike."""
    subject_values: list[float] = []
    reference_values: list[float] = []
    for _ in range(rounds or case.rounds):
        reference_values.append(await case.reference())
        subject_values.append(await case.subject())
    return Result(
        case=case,
        subject_median=statistics.median(subject_values),
        reference_median=statistics.median(reference_values),
    )


def machine_description() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("aiohttp", "aiosqlite", "textual", "slack_bolt", "clicksend-client")
    )
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"SQLite {_sqlite_version()}; {versions}"
    )


def render_table(results: list[Result]) -> str:
    lines = [
        "| case | measured | baseline | smsdesk (median) | baseline (median) | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        case = result.case
        lines.append(
            f"| {case.name} | {case.measured} | {case.baseline} "
            f"| {_format(result.subject_median, case.unit)} "
            f"| {_format(result.reference_median, case.unit)} "
            f"| {result.ratio:.2f} | {result.target_text} | {'yes' if result.met else 'NO'} |"
        )
    return "\n".join(lines)


def render_report(results: list[Result], *, rounds_note: str) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "# Benchmarks\n\n"
        "Written by `make bench` (`python -m benchmarks`). Each case runs smsdesk and a "
        "bare baseline alternately on the same machine in the same run; the ratio of the "
        "medians is what the target judges, because absolute times on shared machines "
        "vary by tens of percent.\n\n"
        f"Measured {now} on: {machine_description()}.\n\n"
        f"{rounds_note}\n\n"
        f"{render_table(results)}\n"
    )


def _format(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}"


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
