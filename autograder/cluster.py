"""Grading beyond one machine: submissions as tasks on a Dask distributed cluster.

Each task carries everything it needs by value — the notebooks' bytes, the
released assignment and the hidden checks' files — so Dask workers need this
package installed but no shared file system. A Dask worker is a *trusted*
grading process: it starts sandboxed workers for student code exactly as a
local grading process does. Results come back through Dask (between trusted
processes only).

GPU machines advertise a Dask resource, e.g.::

    dask scheduler                                   # on the head node
    dask worker tcp://HEAD:8786 --nthreads 1 --nworkers 4
    dask worker tcp://HEAD:8786 --nthreads 1 --resources "GPU=1"   # on a GPU node

and ``autograder grade ... --scheduler tcp://HEAD:8786 --device cuda`` sends
every submission to the GPU workers (device-checked work needs them).
"""
from __future__ import annotations

import hashlib
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from autograder.assignment import Assignment
from autograder.grading import GradeOptions, SubmissionResult, error_result, grade_submission
from autograder.submissions import Submission

GPU_RESOURCE = "GPU"
_one_at_a_time = threading.Lock()  # pytest and the worker template are per process, not per thread


@dataclass
class PackedTask:
    assignment: Assignment
    checks: dict[str, bytes]  # relative path -> content of source/<id>/checks
    student_id: str
    files: dict[str, bytes]  # file name -> content
    options: GradeOptions
    notes: list[str]  # what discovery refused


def pack(assignment: Assignment, submission: Submission, options: GradeOptions) -> PackedTask:
    checks = {str(p.relative_to(assignment.checks_dir)): p.read_bytes()
              for p in sorted(assignment.checks_dir.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
    files = {p.name: p.read_bytes() for p in submission.files}
    # The isolation is chosen where the task runs: the request travels, not this machine's answer.
    return PackedTask(assignment, checks, submission.student_id, files, replace(options, isolation=None),
                      list(submission.notes))


_unpacked_checks: dict[str, tempfile.TemporaryDirectory] = {}  # content digest -> folder, for this process's life


def _checks_folder(checks: dict[str, bytes]) -> Path:
    """The hidden checks unpacked once per worker process and content: every task of the same suite imports them
    from the same path, so what they compute once per grading process (autograder.checks.cache, keyed by the
    check file) is computed once per Dask worker, not once per submission."""
    digest = hashlib.sha256()
    for rel, data in sorted(checks.items()):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    key = digest.hexdigest()
    if key not in _unpacked_checks:
        folder = tempfile.TemporaryDirectory(prefix="ag-checks-")
        for rel, data in checks.items():
            path = Path(folder.name) / "checks" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _unpacked_checks[key] = folder
    return Path(_unpacked_checks[key].name) / "checks"


def run_packed(task: PackedTask) -> SubmissionResult:
    """Runs on a Dask worker: unpack into a private folder, grade, clean up (the checks stay, see _checks_folder)."""
    with _one_at_a_time, tempfile.TemporaryDirectory(prefix="ag-task-") as tmp:
        root = Path(tmp)
        checks = _checks_folder(task.checks)
        files = []
        for name, data in task.files.items():
            path = root / "submission" / Path(name).name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files.append(path)
        assignment = Assignment(task.assignment.id, task.assignment.course, task.assignment.notebooks,
                                checks_override=checks)
        return grade_submission(assignment, Submission(task.student_id, files, task.notes), task.options)


def grade_on_cluster(address: str, assignment: Assignment, submissions: list[Submission], options: GradeOptions,
                     on_result: Callable[[SubmissionResult], None] | None = None) -> list[SubmissionResult]:
    from distributed import Client, as_completed

    resources = {GPU_RESOURCE: 1} if options.device == "cuda" else None
    with Client(address) as client:
        futures = {client.submit(run_packed, pack(assignment, sub, options), resources=resources,
                                 key=f"grade-{assignment.id}-{sub.student_id}", pure=False): sub
                   for sub in submissions}
        results = []
        for fut in as_completed(futures):
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker costs this submission, not the class
                res = error_result(assignment, futures[fut], f"{type(exc).__name__}: {exc}")
            results.append(res)
            if on_result:
                on_result(res)
    return sorted(results, key=lambda r: r.student_id)
