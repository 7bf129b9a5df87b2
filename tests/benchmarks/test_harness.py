"""The benchmark harness: medians, ratios and the lower-bound table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from benchmarks.harness import Case, Floor, render_floors, render_report, run_case


def timings(*values: float) -> Callable[[], Awaitable[float]]:
    """Return a measure that yields `values` in turn, one per round."""
    remaining = list(values)

    async def measure() -> float:
        return remaining.pop(0)

    return measure


def case(*, floors: tuple[Floor, ...] = ()) -> Case:
    return Case(
        name="bulk send",
        measured="10 sends",
        baseline="bare sends",
        unit="s",
        subject=timings(3.0, 9.0, 4.0),
        reference=timings(2.0, 2.0, 1.0),
        target=1.5,
        direction="at_most",
        floors=floors,
    )


async def test_run_case_judges_ratio_of_medians() -> None:
    result = await run_case(case(), rounds=3)
    assert (result.subject_median, result.reference_median) == (4.0, 2.0)
    assert result.ratio == 2.0
    assert not result.met


async def test_floor_medians_measured_each_round() -> None:
    floors = (Floor("bare part", timings(1.0, 5.0, 2.0)), Floor("bare whole", timings(4.0, 3.0, 3.5)))
    result = await run_case(case(floors=floors), rounds=3)
    assert result.floor_medians == (2.0, 3.5)


async def test_floor_table_marks_reachable_targets() -> None:
    floors = (Floor("bare part", timings(2.0, 2.0, 2.0)), Floor("bare whole", timings(4.0, 4.0, 4.0)))
    table = render_floors([await run_case(case(floors=floors), rounds=3)])
    rows = table.splitlines()[2:]
    assert rows[0] == "| bulk send | bare part | 2.00 s | 1.00 | ≤ 1.5 | yes |"
    assert rows[1] == "| bulk send | bare whole | 4.00 s | 2.00 | ≤ 1.5 | no |"


async def test_report_without_floors_has_no_floor_section() -> None:
    report = render_report([await run_case(case(), rounds=3)], rounds_note="3 rounds.")
    assert "| bulk send |" in report
    assert "Lower bounds" not in report
