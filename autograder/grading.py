"""Grading one submission, and a whole class.

One submission: match its files to the assignment's notebooks -> sanitize each
-> start a worker per notebook lazily -> run the hidden suite in this (trusted)
process -> score. A class: the same for every student, in parallel trusted
processes; results are identical whatever the number of processes or order,
since every seed depends only on the notebook and check names.
"""
from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import multiprocessing.util
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from autograder.assignment import Assignment
from autograder.checks import fail
from autograder.notebook import InvalidNotebook, kernel_language, match_notebooks, read_notebook, sanitize
from autograder.runner import CheckResult, run_checks
from autograder.isolation import FreshLauncher, Isolation, Limits, TemplateLauncher, detect_isolation
from autograder.scoring import CellScore, score_cells, total
from autograder.session import NotebookRun, Student
from autograder.submissions import Submission

STATUS_ORDER = ["ok", "timeout", "crashed", "invalid"]


@dataclass
class GradeOptions:
    limits: Limits = field(default_factory=Limits)
    device: str = "cpu"  # the device checks run on: "cpu" (meta simulation) or "cuda"
    isolation: Isolation | None = None  # None: detect on first use from isolation_request
    isolation_request: str = "auto"
    warm: bool = True  # fork workers from a warm template (False: a fresh interpreter per notebook)


_launchers: dict = {}


def launcher_for(options: GradeOptions):
    """This process's launcher for these options (created on first use, never shared across fork)."""
    key = (os.getpid(), options.limits, options.device, options.warm,
           options.isolation.name if options.isolation else options.isolation_request)
    if key not in _launchers:
        if not _launchers:
            # Pool processes leave through os._exit: multiprocessing's finalizers still run, atexit does not.
            multiprocessing.util.Finalize(None, close_launchers, exitpriority=100)
            atexit.register(close_launchers)
        isolation = options.isolation or detect_isolation(options.isolation_request, options.device)
        env = {"AUTOGRADER_DEVICE": options.device}
        cls = TemplateLauncher if options.warm else FreshLauncher
        _launchers[key] = cls(options.limits, isolation, env)
    return _launchers[key]


@dataclass
class CellError:
    label: str
    type: str
    message: str


@dataclass
class NotebookResult:
    name: str
    file: str | None
    status: str  # ok | timeout | crashed | invalid | missing
    notes: list[str] = field(default_factory=list)
    cell_errors: list[CellError] = field(default_factory=list)


@dataclass
class SubmissionResult:
    student_id: str
    assignment: str
    status: str
    score: float
    max_score: float
    notebooks: list[NotebookResult]
    cells: list[CellScore]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timing: dict = field(default_factory=dict)  # where the seconds went; not part of the grade record

    def to_json(self) -> dict:
        data = asdict(self)
        data["checks"] = [
            {"notebook": c.notebook, "grade_id": c.grade_id, "check": c.check, "points": _check_points(cell, c),
             "max_points": _check_max(cell, c), "passed": c.passed, "skipped": c.skipped, "message": c.message}
            for cell in self.cells for c in cell.checks
        ]
        for cell in data["cells"]:
            cell.pop("checks", None)
        data.pop("seconds", None)  # timing is not part of the grade record
        data.pop("timing", None)
        return data


def _check_max(cell: CellScore, check: CheckResult) -> float:
    counted = sum(c.weight for c in cell.checks if not c.skipped)
    return 0.0 if check.skipped or not counted else round(cell.max_points * check.weight / counted, 4)


def _check_points(cell: CellScore, check: CheckResult) -> float:
    return _check_max(cell, check) if check.passed else 0.0


class _Unavailable(Student):
    """Stands in for a notebook that was not submitted or could not be read."""

    def __init__(self, name: str, reason: str):
        self._name = name
        self._reason = reason

    @property
    def notebook(self):
        return self._name

    @property
    def source_cells(self):
        return []

    def _value(self, op, **payload):
        fail(self._reason)

    def seed(self, seed):
        pass


def close_launchers():
    """Stop this process's worker templates and remove their control groups."""
    for key, launcher in list(_launchers.items()):
        if key[0] == os.getpid():
            launcher.close()
        _launchers.pop(key, None)


def grade_submission(assignment: Assignment, submission: Submission, options: GradeOptions,
                     only: set[str] | None = None) -> SubmissionResult:
    """Grade one submission; ``only`` restricts grading to some notebooks (validate's mutants)."""
    t0 = time.monotonic()
    notes: list[str] = []
    chosen, match_notes = match_notebooks(assignment, submission.files)
    notes.extend(match_notes)
    runs: dict[str, NotebookRun] = {}
    students: dict[str, Student] = {}
    nb_results: dict[str, NotebookResult] = {}
    launcher = launcher_for(options)
    for name, spec in assignment.notebooks.items():
        if only is not None and name not in only:
            continue
        path = chosen.get(name)
        if path is None:
            nb_results[name] = NotebookResult(name, None, "missing", [f"{name}.ipynb teslim edilmedi"])
            students[name] = _Unavailable(name, f"{name}.ipynb defteri teslim edilmedi.")
            continue
        try:
            nb = read_notebook(path)
        except InvalidNotebook as exc:
            nb_results[name] = NotebookResult(name, path.name, "invalid", [f"{path.name}: {exc}"])
            students[name] = _Unavailable(name, f"{path.name} okunamadı: {exc}.")
            continue
        result = NotebookResult(name, path.name, "ok")
        lang = kernel_language(nb)
        if lang and lang not in ("python", "python3"):
            result.notes.append(f"Defterin çekirdeği (kernel) '{lang}'; Python 3 olarak notlandırıldı.")
        clean = sanitize(nb, spec)
        result.notes.extend(clean.notes)
        run = NotebookRun(name, clean.cells, options.limits, launcher, clean.student_cells)
        runs[name] = run
        students[name] = Student(run)
        nb_results[name] = result
    # Checks read the device they grade on from here (autograder.device.grading_device).
    os.environ["AUTOGRADER_DEVICE"] = options.device
    try:
        results = run_checks(assignment, students, only)
    finally:
        for run in runs.values():
            run.close()
        launcher.reset()  # nothing of this student's outlives their grading
    for name, run in runs.items():
        res = nb_results[name]
        res.status = run.status
        res.cell_errors = [CellError(o.label, str((o.error or {}).get("type", "")), str((o.error or {}).get("message", ""))[:500])
                           for o in run.outcomes if not o.ok]
        for event in run.events:
            res.notes.append(f"{event.kind}: {event.detail}")
    cells = score_cells(assignment, results)
    if only is not None:
        cells = [c for c in cells if c.notebook in only]
    score, max_score = total(cells)
    if not runs:
        status = "invalid"
    else:
        status = max((r.status for r in nb_results.values() if r.status in STATUS_ORDER[:3]),
                     key=STATUS_ORDER.index, default="ok")
    seconds = time.monotonic() - t0
    checks_time = sum(r.seconds for r in results)
    cells_time = sum(run.cells_time for run in runs.values())
    timing = {"total": round(seconds, 4), "checks": round(checks_time, 4), "cells": round(cells_time, 4),
              "overhead": round(max(seconds - checks_time - cells_time, 0.0), 4)}
    return SubmissionResult(submission.student_id, assignment.id, status, score, max_score,
                            list(nb_results.values()), cells, notes, round(seconds, 3), timing)


def _grade_one(args):
    assignment, submission, options, only = args
    return grade_submission(assignment, submission, options, only)


def grade_class(assignment: Assignment, submissions: list[Submission], options: GradeOptions, workers: int = 1,
                on_result: Callable[[SubmissionResult], None] | None = None,
                only: dict[str, set[str]] | None = None) -> list[SubmissionResult]:
    """Grade every submission; ``on_result`` is called as each one finishes (for progress).

    ``only`` maps a student id to the notebooks to grade for it (default: all).
    """
    only = only or {}
    results = []
    if workers <= 1 or len(submissions) <= 1:
        for sub in submissions:
            res = grade_submission(assignment, sub, options, only.get(sub.student_id))
            results.append(res)
            if on_result:
                on_result(res)
    else:
        # Trusted grading processes; each starts its own sandboxed workers. Only
        # grading results travel back (pickled between trusted processes).
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_grade_one, (assignment, sub, options, only.get(sub.student_id))) for sub in submissions]
            for fut in concurrent.futures.as_completed(futures):
                res = fut.result()
                results.append(res)
                if on_result:
                    on_result(res)
    return sorted(results, key=lambda r: r.student_id)
