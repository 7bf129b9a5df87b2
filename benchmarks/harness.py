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
class Floor:
    """Part of a case's work done with the least possible code, measured beside the case.

    When a floor's ratio to the baseline is already past the target, no client doing
    that work can meet it, and the report shows that.
    """

    name: str
    measure: Measure


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
    floors: tuple[Floor, ...] = ()
    """Lower bounds: the least work that any client must do for this case."""

    def meets_target(self, ratio: float) -> bool:
        """Return whether a ratio to the baseline meets this case's target."""
        if self.direction == "at_most":
            return ratio <= self.target
        return ratio >= self.target


@dataclasses.dataclass(frozen=True)
class Result:
    case: Case
    subject_median: float
    reference_median: float
    floor_medians: tuple[float, ...] = ()

    @property
    def ratio(self) -> float:
        return self.subject_median / self.reference_median

    @property
    def met(self) -> bool:
        return self.case.meets_target(self.ratio)

    @property
    def target_text(self) -> str:
        sign = "≤" if self.case.direction == "at_most" else "≥"
        return f"{sign} {self.case.target:g}"


async def run_case(case: Case, *, rounds: int | None = None) -> Result:
    """Measure subject and reference alternately, so drift hits both alike."""
    subject_values: list[float] = []
    reference_values: list[float] = []
    floor_values: list[list[float]] = [[] for _ in case.floors]
    for _ in range(rounds or case.rounds):
        reference_values.append(await case.reference())
        subject_values.append(await case.subject())
        for floor, values in zip(case.floors, floor_values):
            values.append(await floor.measure())
    return Result(
        case=case,
        subject_median=statistics.median(subject_values),
        reference_median=statistics.median(reference_values),
        floor_medians=tuple(statistics.median(values) for values in floor_values),
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


def render_floors(results: list[Result]) -> str:
    """Return a table of each case's lower bounds as ratios of its baseline, or '' when none."""
    lines = []
    for result in results:
        case = result.case
        for floor, median in zip(case.floors, result.floor_medians):
            ratio = median / result.reference_median
            lines.append(
                f"| {case.name} | {floor.name} | {_format(median, case.unit)} | {ratio:.2f} "
                f"| {result.target_text} | {'yes' if case.meets_target(ratio) else 'no'} |"
            )
    if not lines:
        return ""
    header = [
        "| case | lower bound | median | ratio to baseline | target | target reachable |",
        "|---|---|---|---|---|---|",
    ]
    return "\n".join(header + lines)


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
        f"{_floors_section(results)}"
    )


def _floors_section(results: list[Result]) -> str:
    table = render_floors(results)
    if not table:
        return ""
    return (
        "\n## Lower bounds\n\n"
        "Some cases also time a part of their work done by the least possible code, in the "
        "same rounds. A lower bound whose ratio is already past the target shows that no "
        "client doing that work can meet the target on this machine.\n\n"
        f"{table}\n"
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
