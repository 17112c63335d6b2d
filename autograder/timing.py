"""Where a grading process's seconds go: counters for the benchmark and each result's ``timing`` (never a grade).

Each part of the pipeline adds the wall-clock seconds of its own work under one name:

- ``start``: starting workers (a fork from the template, its greeting) and resetting the template between students;
- ``roundtrip`` / ``roundtrip_cells``: waiting for a worker's reply (all requests / the notebook's cells);
- ``busy`` / ``busy_cells``: of that, the time the worker says it spent running the request (the student's code).
  The figure comes from the sandbox: it is clamped to the round trip and only ever used for these statistics;
- ``reference``: computing or copying what does not depend on the student (:mod:`autograder.checks.cache`);
- ``*@call``: the same, counted again while a check's body runs (to tell the body's own work from what it waits
  for).

:func:`split` turns the counters of one submission (the difference of two :func:`snapshot`\\ s) and its check
bodies' durations into the split the benchmark prints.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from contextlib import contextmanager

_spent: Counter = Counter()
_in_call = False  # a check body is running (set by the runner)


def add(what: str, seconds: float) -> None:
    _spent[what] += seconds
    if _in_call:
        _spent[what + "@call"] += seconds


@contextmanager
def measure(what: str):
    t0 = time.perf_counter()
    try:
        yield
    finally:
        add(what, time.perf_counter() - t0)


@contextmanager
def check_body():
    """Marks the body of a check (the runner's call phase)."""
    global _in_call
    before, _in_call = _in_call, True
    try:
        yield
    finally:
        _in_call = before


def reported_busy(value, roundtrip: float) -> float:
    """A worker's own account of its time, as a number in [0, roundtrip] (anything else counts as 0)."""
    if type(value) not in (int, float) or not math.isfinite(value):
        return 0.0
    return min(max(float(value), 0.0), roundtrip)


def snapshot() -> dict:
    return dict(_spent)


def since(before: dict) -> dict:
    return {k: v - before.get(k, 0.0) for k, v in _spent.items() if v - before.get(k, 0.0) > 0}


def split(total: float, checks: float, spent: dict) -> dict:
    """One submission's seconds by where they went (rounded to 0.1 ms); the parts add up to ``total``.

    ``checks`` is the time in check bodies; ``spent`` the counters while the submission was graded.
    """
    g = spent.get
    cells = g("busy_cells", 0.0)
    calls = g("busy", 0.0) - cells
    protocol = g("roundtrip", 0.0) - g("busy", 0.0)
    reference = g("reference", 0.0)
    start = g("start", 0.0)
    # A check body's own work: its duration less what it waited for (worker replies, reference values).
    body = max(checks - g("roundtrip@call", 0.0) - g("reference@call", 0.0) - g("start@call", 0.0), 0.0)
    parts = {"cells": cells, "student_calls": calls, "checks": body, "reference": reference, "protocol": protocol,
             "start": start}
    parts["overhead"] = max(total - sum(parts.values()), 0.0)
    return {"total": round(total, 4), **{k: round(v, 4) for k, v in parts.items()}}
