"""Grading throughput, start-up, the split of a submission's time, memory and scale; against `nbgrader autograde`.

    python benchmarks/grade_throughput.py                      # every chapter, then ch3 at 12/48/200 submissions
    python benchmarks/grade_throughput.py --assignments ch3_cnn -n 12 --scale none --skip-nbgrader
    python benchmarks/grade_throughput.py --profile out/profiles   # also cProfile each `autograder grade` run

For each assignment it builds N submissions (reference solutions, released stubs and mutants, in turn) and prints:

1. `autograder grade` through the CLI (a fresh process, as an instructor runs it; `--workers`, default 2) against
   `nbgrader autograde` on the same notebooks in an nbgrader course folder (one kernel per notebook, visible
   checks only, serial: how nbgrader works), in seconds per submission, and their ratio;
2. the worker template's start time (median of 3, the assignment's own imports);
3. one submission's seconds by where they went (median over the class, in one warm grading process): the
   student's cells, the student's code the checks call, the check bodies' own work, reference computations,
   protocol (round trips less the worker's own time), starting/resetting workers, and the grader's overhead (the
   rest: reading and cleaning the notebook, pytest's session, scoring, the formgrader copy);
4. peak resident memory of that grading process, of the template and of a worker.

Then the scale runs: the same assignment at growing class sizes, locally with 1 and 2 workers and on a Dask
`LocalCluster` with 2 single-threaded worker processes, with whether grades.csv came out byte-identical.
Only public tools are used (subprocess, time, cProfile, psutil as installed with Jupyter).
"""
from __future__ import annotations

import argparse
import json
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
from autograder.validate import apply_mutant  # noqa: E402

CHAPTERS = ("ch1_intro", "ch2_feedforward", "ch3_cnn", "ch4_rnn")
SPLIT = ("cells", "student_calls", "checks", "reference", "protocol", "start", "overhead")


def build_class(course: Course, aid: str, n: int, folder: Path) -> list[str]:
    """``n`` student folders: the reference solution, the released stubs and each mutant in turn."""
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
        (folder / sid).mkdir(parents=True, exist_ok=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, folder / sid / f"{name}.ipynb")
        students.append(sid)
    return students


# ---------------------------------------------------------------------------- whole runs

def time_ours(aid: str, subs: Path, out: Path, workers: int, profile: Path | None = None,
              scheduler: str | None = None) -> float:
    """Wall seconds of one `autograder grade` run, start-up included."""
    cmd = [sys.executable]
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += ["-m", "autograder.cli", "grade", aid, str(subs), "--out", str(out), "--quiet"]
    cmd += ["--scheduler", scheduler] if scheduler else ["--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"autograder grade failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall


def time_nbgrader(course: Course, aid: str, subs: Path, students: list[str], tmp: Path) -> float:
    nbg = tmp / "nbgrader_course"
    shutil.copytree(course.source_dir / aid, nbg / "source" / aid,
                    ignore=shutil.ignore_patterns("checks", "mutants.toml", "*.toml"))
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


# ---------------------------------------------------------------------------- inside one grading process

def _peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_split(aid: str, subs: Path) -> dict:
    """Run in a fresh process (``--split-only``): grade every submission in-process, return the medians."""
    import resource

    import psutil

    from autograder.grading import GradeOptions, close_launchers, grade_submission, launcher_for
    from autograder.isolation.launchers import TemplateLauncher
    from autograder.submissions import Submission

    course = Course(ROOT)
    assignment = Assignment.load(course, aid)
    options = GradeOptions()
    peaks = {"template": 0, "worker": 0}
    original_reset = TemplateLauncher.reset

    def reset_and_measure(self):
        # Before the workers are killed: the template is the topmost process of its command line, workers its
        # children (forked, so same command line).
        if self.template is not None and self.template.alive():
            try:
                tree = psutil.Process(self.template.pid).children(recursive=True)
            except psutil.Error:
                tree = []
            templates = [p for p in tree if "autograder.sandboxed.template" in " ".join(_cmdline(p))]
            top = {p.pid for p in templates if p.ppid() not in {q.pid for q in templates}}
            for p in templates:
                kind = "template" if p.pid in top else "worker"
                peaks[kind] = max(peaks[kind], _peak_kib(p.pid))
        return original_reset(self)

    TemplateLauncher.reset = reset_and_measure
    starts = []
    for _ in range(3):
        launcher = launcher_for(options, assignment.imports)
        t0 = time.perf_counter()
        launcher.start()
        starts.append(time.perf_counter() - t0)
        close_launchers()
    timings = []
    for sid in sorted(p.name for p in subs.iterdir()):
        res = grade_submission(assignment, Submission(sid, sorted((subs / sid).glob("*.ipynb"))), options)
        timings.append(res.timing)
    close_launchers()
    warm = timings[1:] or timings  # the first pays for what a grading process does once
    return {"template_start": statistics.median(starts),
            "first": timings[0],
            "median": {k: statistics.median(t.get(k, 0.0) for t in warm) for k in ("total", *SPLIT)},
            "peak_mib": {"grading process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                         "template": peaks["template"] / 1024, "worker": peaks["worker"] / 1024}}


def _cmdline(proc) -> list[str]:
    try:
        return proc.cmdline()
    except Exception:  # noqa: BLE001 - a process that just went
        return []


def split_in_fresh_process(aid: str, subs: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--split-only", aid, str(subs)], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"the in-process measurement failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- report

def chapter(course: Course, aid: str, n: int, workers: int, nbgrader: bool, profile: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="ag-bench-") as tmp:
        tmp = Path(tmp)
        subs = tmp / "subs"
        students = build_class(course, aid, n, subs)
        ours = time_ours(aid, subs, tmp / "out", workers, profile / f"{aid}.prof" if profile else None)
        theirs = time_nbgrader(course, aid, subs, students, tmp) if nbgrader else None
        split = split_in_fresh_process(aid, subs)
    row = {"assignment": aid, "n": n, "notebooks": len(Assignment.load(course, aid).notebooks), "workers": workers,
           "ours": ours / n, "nbgrader": theirs / n if theirs else None, **split}
    m = split["median"]
    ratio = f"{theirs / ours:5.1f}×" if theirs else "   – "
    print(f"\n{aid}: {n} submissions × {row['notebooks']} notebooks, {os.cpu_count()} cores")
    print(f"  autograder grade ({workers} workers)  {ours / n:6.2f} s/submission   "
          f"nbgrader autograde  {(theirs / n) if theirs else float('nan'):6.2f} s/submission   ratio {ratio}")
    print(f"  template start {split['template_start']:.2f} s   peak RSS: grading process "
          f"{split['peak_mib']['grading process']:.0f} MiB, template {split['peak_mib']['template']:.0f} MiB, "
          f"worker {split['peak_mib']['worker']:.0f} MiB")
    print(f"  one submission (median, warm process): {m['total']:.3f} s = " +
          " + ".join(f"{k.replace('_', ' ')} {m[k]:.3f}" for k in SPLIT))
    f = split["first"]
    print(f"  the first submission of a process: {f['total']:.2f} s (reference {f['reference']:.2f}, "
          f"start {f['start']:.2f}, overhead {f['overhead']:.2f})")
    return row


def scale(course: Course, aid: str, sizes: list[int], dask: bool) -> list[dict]:
    print(f"\nscale: {aid}, {os.cpu_count()} cores (seconds per submission; grades.csv compared byte for byte)")
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="ag-scale-") as tmp:
            tmp = Path(tmp)
            subs = tmp / "subs"
            build_class(course, aid, n, subs)
            runs = {f"{w} worker{'s' if w > 1 else ''}": time_ours(aid, subs, tmp / f"out{w}", w) for w in (1, 2)}
            csvs = [(tmp / f"out{w}" / "grades.csv").read_bytes() for w in (1, 2)]
            if dask:
                runs["Dask LocalCluster, 2 workers"] = _time_dask(aid, subs, tmp / "outd")
                csvs.append((tmp / "outd" / "grades.csv").read_bytes())
        same = all(c == csvs[0] for c in csvs)
        row = {"n": n, **{k: v / n for k, v in runs.items()}, "total": runs, "identical": same}
        rows.append(row)
        print(f"  {n:4d} submissions: " + "   ".join(f"{k} {v / n:5.2f} s ({v:6.1f} s)" for k, v in runs.items())
              + f"   identical: {'yes' if same else 'NO'}")
    return rows


def _time_dask(aid: str, subs: Path, out: Path) -> float:
    """A LocalCluster of 2 single-threaded worker processes, started before the clock (as a cluster would be)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        return time_ours(aid, subs, out, 0, scheduler=cluster.scheduler_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignments", default=",".join(CHAPTERS))
    parser.add_argument("-n", type=int, default=12, help="submissions per assignment (default 12)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-nbgrader", action="store_true")
    parser.add_argument("--scale", default="12,48,200", help="class sizes of the scale runs, or 'none'")
    parser.add_argument("--scale-assignment", default="ch3_cnn")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each `autograder grade` run here")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--split-only", nargs=2, metavar=("ASSIGNMENT", "SUBMISSIONS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.split_only:
        print(json.dumps(measure_split(args.split_only[0], Path(args.split_only[1]))))
        return
    course = Course(ROOT)
    figures = {"chapters": [chapter(course, aid, args.n, args.workers, not args.skip_nbgrader, args.profile)
                            for aid in filter(None, args.assignments.split(","))]}
    if args.scale != "none":
        figures["scale"] = scale(course, args.scale_assignment, [int(s) for s in args.scale.split(",")],
                                 not args.no_dask)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
