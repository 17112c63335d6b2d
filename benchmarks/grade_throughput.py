"""Throughput of `autograder grade` against `nbgrader autograde` on the same notebooks.

    python benchmarks/grade_throughput.py [--assignment ch1_intro] [-n 12] [--workers N]

Builds N submissions for one assignment (a mix of the reference solution, the
released stubs and its mutants), then
  1. grades them with `autograder grade` (warm workers, hidden checks, N workers);
  2. grades the same notebooks with `nbgrader autograde` in a fresh nbgrader course
     folder (one kernel per notebook, visible checks only, serial — how nbgrader works);
and prints seconds per submission for each, their ratio, and our per-submission
overhead beyond the work of the checks and the student's cells themselves
(total − time in check bodies − time running cells; from results of one extra
in-process run with timings).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.assignment import Assignment, Course  # noqa: E402
from autograder.grading import GradeOptions, grade_submission  # noqa: E402
from autograder.submissions import Submission  # noqa: E402
from autograder.validate import apply_mutant  # noqa: E402


def build_class(course: Course, aid: str, n: int, folder: Path) -> list[str]:
    a = Assignment.load(course, aid)
    solutions = {name: nbformat.read(course.solutions_dir / aid / f"{name}.ipynb", as_version=4)
                 for name in a.notebooks}
    stubs = {name: spec.nb for name, spec in a.notebooks.items()}
    mutants = a.mutants()
    students = []
    for i in range(n):
        kind = ("solution", "stub", "mutant")[i % 3]
        notebooks = dict(solutions if kind != "stub" else stubs)
        if kind == "mutant" and mutants:
            m = mutants[(i // 3) % len(mutants)]
            notebooks[m.notebook] = apply_mutant(solutions[m.notebook], m)
        sid = f"s{i:03d}"
        for name, nb in notebooks.items():
            (folder / sid).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / sid / f"{name}.ipynb")
        students.append(sid)
    return students


def time_ours(aid: str, subs: Path, out: Path, workers: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder.cli", "grade", aid, str(subs), "--out", str(out),
                    "--workers", str(workers), "--quiet"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def time_nbgrader(course: Course, aid: str, subs: Path, students: list[str], tmp: Path) -> float:
    nbg = tmp / "nbgrader_course"
    shutil.copytree(course.source_dir / aid, nbg / "source" / aid,
                    ignore=shutil.ignore_patterns("checks", "mutants.toml"))
    (nbg / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'bench'\n"
                                            "c.ExecutePreprocessor.timeout = 600\n")
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run(nbgrader + ["generate_assignment", aid, "--force"], cwd=nbg, env=env, check=True,
                   capture_output=True)
    for sid in students:
        shutil.copytree(subs / sid, nbg / "submitted" / sid / aid)
    t0 = time.perf_counter()
    subprocess.run(nbgrader + ["autograde", aid, "--force"], cwd=nbg, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def overhead(course: Course, aid: str, subs: Path, students: list[str]) -> list[dict]:
    a = Assignment.load(course, aid)
    options = GradeOptions()
    timings = []
    for sid in students:
        res = grade_submission(a, Submission(sid, sorted((subs / sid).glob("*.ipynb"))), options)
        timings.append(res.timing)
    return timings[1:]  # the first pays for starting the worker template


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--assignment", default="ch1_intro")
    parser.add_argument("-n", type=int, default=12)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-nbgrader", action="store_true")
    args = parser.parse_args()
    course = Course(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs = tmp / "subs"
        students = build_class(course, args.assignment, args.n, subs)
        ours = time_ours(args.assignment, subs, tmp / "out", args.workers)
        print(f"{args.assignment}: {args.n} submissions ({len(Assignment.load(course, args.assignment).notebooks)} "
              f"notebooks each), {os.cpu_count()} cores")
        print(f"autograder grade    {ours:8.2f} s  {ours / args.n:6.2f} s/submission  ({args.workers} workers)")
        if not args.skip_nbgrader:
            theirs = time_nbgrader(course, args.assignment, subs, students, tmp)
            print(f"nbgrader autograde  {theirs:8.2f} s  {theirs / args.n:6.2f} s/submission  (serial, a kernel per "
                  f"notebook)")
            print(f"throughput ratio    {theirs / ours:8.2f} x")
        t = overhead(course, args.assignment, subs, students)
        med = {k: statistics.median(x[k] for x in t) for k in ("total", "checks", "cells", "overhead")}
        print(f"per submission, one process (median): total {med['total']:.3f} s = checks {med['checks']:.3f} s "
              f"+ cells {med['cells']:.3f} s + grader overhead {med['overhead']:.3f} s")


if __name__ == "__main__":
    main()
