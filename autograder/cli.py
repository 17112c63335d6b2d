"""The `autograder` command: release, grade, check, validate."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from autograder.assignment import Assignment, Course, CourseError
from autograder.isolation import Limits


def _limits(timeout: float, memory_gb: float = 4.0) -> Limits:
    # One cell or one check request gets `timeout`; a whole notebook at most ten times that (>= 5 min).
    return Limits(cell_timeout=timeout, submission_timeout=max(10 * timeout, 300.0), memory=int(memory_gb * 1024**3))


def _device(requested: str) -> str:
    if requested == "cpu":
        return "cpu"
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise CourseError("--device cuda was asked for, but CUDA is not available on this machine")
    return "cuda" if torch.cuda.is_available() else "cpu"


def _options(args):
    from autograder.grading import GradeOptions
    from autograder.isolation import detect_isolation

    device = _device(args.device)
    try:
        isolation = detect_isolation(args.isolation, device)
    except OSError as exc:
        raise CourseError(str(exc)) from None
    return GradeOptions(limits=_limits(args.timeout, args.memory), device=device, isolation=isolation,
                        isolation_request=args.isolation)


def _workers(n: int | None) -> int:
    return max(1, n if n else (os.cpu_count() or 1))


def cmd_release(args) -> int:
    from autograder.release import release

    course = Course.find()
    ids = release(course, args.assignments)
    for aid in ids:
        print(f"released {aid}: assignments/{aid}, solutions/{aid}")
    return 0


def _progress(total: int, quiet: bool):
    """A progress bar on stderr (count, ETA, failures so far); a no-op when quiet."""
    import contextlib

    if quiet:
        return contextlib.nullcontext(lambda res: None)
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    @contextlib.contextmanager
    def bar():
        failures = 0
        with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[failed]}"),
                      console=Console(stderr=True), transient=False) as progress:
            task = progress.add_task("grading", total=total, failed="")

            def advance(res):
                nonlocal failures
                failures += res.status != "ok"
                progress.update(task, advance=1, failed=f"{failures} not ok" if failures else "")

            yield advance

    return bar()


def cmd_grade(args) -> int:
    from autograder import records
    from autograder.grading import close_launchers, grade_class, preflight
    from autograder.submissions import discover

    course = Course.find()
    assignment = Assignment.load(course, args.assignment)
    out = Path(args.out or f"out/{args.assignment}").resolve()
    options = _options(args)
    workers = _workers(args.workers)
    with tempfile.TemporaryDirectory(prefix="ag-submissions-") as unpack:
        subs = discover(Path(args.submissions), assignment.id, Path(unpack))
        where = f"Dask cluster {args.scheduler}" if args.scheduler else f"{workers} worker(s)"
        if not args.quiet:
            print(f"grading {len(subs)} submission(s) of {assignment.id} on {where}, "
                  f"device checks on {options.device}; {options.isolation.describe()}", file=sys.stderr)
        t0 = time.monotonic()
        if not args.scheduler:
            # The machine's failure must not read as every student's crash: no template, nobody is graded.
            preflight(options)
            if workers > 1 and len(subs) > 1:
                close_launchers()  # each grading process starts its own
        out.mkdir(parents=True, exist_ok=True)
        finished = []

        with _progress(len(subs), args.quiet) as advance:
            def record(res):
                # Written as each submission finishes: a run that is killed keeps what it graded.
                finished.append(res)
                records.write_result_json(out / "results", res)
                records.write_feedback_html(out / "feedback", res)
                records.write_grades_csv(out / "grades.csv", finished)
                advance(res)

            if args.scheduler:
                from autograder.cluster import grade_on_cluster

                results = grade_on_cluster(args.scheduler, assignment, subs, options, on_result=record)
            else:
                results = grade_class(assignment, subs, options, workers, on_result=record)
    records.write_grades_csv(out / "grades.csv", results)
    records.write_class_report(out / "report.html", assignment, results)
    db_url = args.gradebook or f"sqlite:///{out / 'gradebook.db'}"
    records.record_gradebook(db_url, assignment, results)
    print(records.class_summary(results))
    if not args.quiet:
        print(f"\n{len(results)} graded in {time.monotonic() - t0:.1f} s -> {out}/grades.csv, results/, feedback/, "
              f"report.html, gradebook {db_url}", file=sys.stderr)
    errors = [r.student_id for r in results if r.status == "error"]
    if errors:
        print(f"autograder: error: {len(errors)} submission(s) could not be graded (status error; grade them "
              f"again): {', '.join(errors[:20])}", file=sys.stderr)
        return 1
    return 0


def cmd_check(args) -> int:
    from autograder.notebook import InvalidNotebook, read_notebook, sanitize, submission_grade_ids
    from autograder.session import NotebookRun

    path = Path(args.notebook)
    try:
        nb = read_notebook(path)
    except InvalidNotebook as exc:
        print(f"{path}: {exc}")
        return 1
    try:
        course = Course.find()
    except CourseError:
        course = Course.find(path.resolve().parent)
    ids = submission_grade_ids(nb)
    best = None
    for aid in course.assignment_ids():
        try:
            assignment = Assignment.load(course, aid)
        except CourseError:
            continue
        for spec in assignment.notebooks.values():
            overlap = len(ids & spec.grade_ids) + (path.stem == spec.name)
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, spec)
    if best is None:
        print(f"{path}: bu defter hiçbir ödevin defteri olarak tanınmadı.")
        return 1
    spec = best[1]
    clean = sanitize(nb, spec, include_tests=True)
    run = NotebookRun(spec.name, clean.cells, _limits(args.timeout))
    try:
        run.ensure_started()
    except Exception as exc:  # the worker could not run the notebook at all
        print(f"Defter çalıştırılamadı: {exc}")
        return 1
    finally:
        run.close()
    by_label = {o.label: o for o in run.outcomes}
    all_ok = True
    for cell in spec.grade_cells:
        if cell.manual:
            print(f"  ·  {cell.grade_id} ({cell.points:g} puan): elle notlandırılacak")
            continue
        outcome = by_label.get(cell.grade_id)
        if outcome is not None and outcome.ok:
            print(f"  ✔  {cell.grade_id} ({cell.points:g} puan)")
        else:
            all_ok = False
            err = (outcome.error or {}) if outcome else {"type": "", "message": "çalıştırılmadı"}
            message = f"{err.get('type', '')}: {err.get('message', '')}".strip(": ")
            print(f"  ✘  {cell.grade_id} ({cell.points:g} puan): {message or 'başarısız'}")
    for o in run.outcomes:
        if not o.ok and o.label not in {c.grade_id for c in spec.grade_cells}:
            err = o.error or {}
            print(f"  !  {o.label} hücresi hata verdi: {err.get('type', '')}: {err.get('message', '')}")
    print("Görünür kontrollerin hepsi geçti." if all_ok else
          "Bazı görünür kontroller geçmedi. (Not: asıl not, gizli kontrollerle verilir.)")
    return 0 if all_ok else 1


def cmd_validate(args) -> int:
    from autograder.validate import format_rows, validate

    course = Course.find()
    options = _options(args)
    t0 = time.monotonic()
    rows = validate(course, args.assignments, options, _workers(args.workers))
    print(format_rows(rows))
    failed = [r for r in rows if not r.ok]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed ({time.monotonic() - t0:.0f} s)")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="source/ -> assignments/ (stubs) and solutions/, via nbgrader")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="grade a class's submissions")
    p.add_argument("assignment")
    p.add_argument("submissions", help="folder of <student_id>/<notebook>.ipynb, or a .zip of one")
    p.add_argument("--out", help="output folder (default: out/<assignment>)")
    p.add_argument("--workers", type=int, default=None, help="parallel graders (default: number of cores)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per cell and per check call")
    p.add_argument("--memory", type=float, default=4.0, help="GiB of memory each student process may use")
    p.add_argument("--gradebook", help="nbgrader database URL (default: sqlite:///<out>/gradebook.db)")
    p.add_argument("--isolation", choices=["auto", "bwrap", "userns", "none"], default="auto",
                   help="how student code is isolated (auto: the strongest available)")
    p.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:8786) to grade on a cluster")
    p.add_argument("--quiet", action="store_true", help="only the grade table (no progress bar)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("check", help="a student's self-check: run the visible checks of a notebook")
    p.add_argument("notebook")
    p.add_argument("--timeout", type=float, default=120.0)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("validate", help="CI gate: solutions full marks, stubs zero, mutants caught, release in sync")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--isolation", choices=["auto", "bwrap", "userns", "none"], default="auto")
    p.add_argument("--memory", type=float, default=4.0)
    p.set_defaults(func=cmd_validate)
    return parser


def _config_defaults(parser: argparse.ArgumentParser) -> None:
    """Defaults from the course's autograder.toml ([grade] and [validate] tables); flags override them."""
    import tomllib

    try:
        course = Course.find()
    except CourseError:
        return
    path = course.root / "autograder.toml"
    if not path.exists():
        return
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{path}: {exc}") from None
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            table = config.get(name, {})
            known = {a.dest for a in sub._actions}
            unknown = set(table) - known
            if unknown:
                raise CourseError(f"{path}: unknown setting(s) in [{name}]: {', '.join(sorted(unknown))}")
            sub.set_defaults(**table)


def main(argv=None) -> int:
    parser = build_parser()
    try:
        _config_defaults(parser)
    except CourseError as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CourseError, OSError) as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # SubmissionsError and friends: one line, no traceback
        from autograder.submissions import SubmissionsError

        if isinstance(exc, SubmissionsError):
            print(f"autograder: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
