"""From check outcomes to points per nbgrader grade cell.

A grade cell earns ``points x (weight of its passing checks / weight of its
checks)``. Skipped checks (e.g. GPU-only checks on a CPU grader) count in
neither. Written answers (markdown grade cells) are left for manual grading:
their score is None and they are not in the automatic total.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from autograder.assignment import Assignment
from autograder.runner import CheckResult


@dataclass
class CellScore:
    notebook: str
    grade_id: str
    max_points: float
    points: float | None  # None: waits for manual grading
    manual: bool
    checks: list[CheckResult] = field(default_factory=list)


def score_cells(assignment: Assignment, results: list[CheckResult]) -> list[CellScore]:
    by_cell: dict[str, list[CheckResult]] = {}
    for r in results:
        by_cell.setdefault(r.grade_id, []).append(r)
    scores = []
    for cell in assignment.grade_cells:
        checks = by_cell.get(cell.grade_id, [])
        if cell.manual:
            scores.append(CellScore(cell.notebook, cell.grade_id, cell.points, None, True, checks))
            continue
        counted = [c for c in checks if not c.skipped]
        total = sum(c.weight for c in counted)
        passed = sum(c.weight for c in counted if c.passed)
        points = round(cell.points * passed / total, 4) if total else 0.0
        scores.append(CellScore(cell.notebook, cell.grade_id, cell.points, points, False, checks))
    return scores


def total(scores: list[CellScore]) -> tuple[float, float]:
    """(automatic score, automatic maximum)."""
    auto = [s for s in scores if not s.manual]
    return round(sum(s.points or 0.0 for s in auto), 4), round(sum(s.max_points for s in auto), 4)
