"""The `autograder` command: release, grade, feedback, check, validate."""
from __future__ import annotations

import argparse
import json
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


class UsageError(Exception):
    """A bad flag or setting (exit 2, one line)."""


STATE_FILE = "grading.json"  # in --out: which gradebook the results were recorded in (for `autograder feedback`)


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


def _row(records, entries, result):
    entry = entries.get(result.student_id)
    return records.make_row(result, entry.grades if entry else None, entry.comments if entry else None)


def _finish_records(assignment, nbc, out: Path, merged: dict, graded: dict, earlier: dict, due=None,
                    record: bool = True):
    """Gradebook first (automatic points of ``graded`` unless not ``record``, then the late penalties computed
    from everything it holds), then grades.csv, the feedback of ``graded`` and the report over everyone.
    Returns the rows."""
    from autograder import gradebook, records

    with gradebook.open_gradebook(nbc.db_url) as gb:
        if record:
            gradebook.sync_assignment(gb, assignment, due)
            for res in graded.values():
                gradebook.record_result(gb, assignment, res, earlier.get(res.student_id))
        entries = gradebook.read_entries(gb, assignment.id)
        rows = [_row(records, entries, r) for r in merged.values()]
        gradebook.write_penalties(gb, assignment.id, {row.result.student_id: row.penalty_by_notebook
                                                      for row in rows if row.result.status != "error"})
    gradebook.write_masters(nbc, assignment)
    for row in rows:
        if row.result.student_id in graded:
            records.write_feedback_html(out / "feedback", row, assignment)
    records.write_grades_csv(out / "grades.csv", assignment, rows)
    records.write_class_report(out / "report.html", assignment, rows)
    records.write_text_atomic(out / STATE_FILE, json.dumps({"assignment": assignment.id, "gradebook": nbc.db_url,
                                                            "nbgrader_root": str(nbc.root)}, indent=1) + "\n")
    return rows


def cmd_grade(args) -> int:
    from autograder import gradebook, records
    from autograder.grading import close_launchers, grade_class, preflight
    from autograder.late import late_info, make_policy, utc_naive
    from autograder.submissions import SubmissionsError, discover

    course = Course.find()
    assignment = Assignment.load(course, args.assignment)
    out = Path(args.out or f"out/{args.assignment}").resolve()
    try:
        policy = make_policy(args.due, args.late_per_day, args.late_max)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    nbc = gradebook.course_for(out, args.gradebook)
    # Grading into a folder merges: everyone graded before keeps their row, results, feedback and manual grades.
    earlier = records.load_results(out / "results", assignment.id)
    options = _options(args)
    workers = _workers(args.workers)
    with tempfile.TemporaryDirectory(prefix="ag-submissions-") as unpack:
        subs = discover(Path(args.submissions), assignment.id, Path(unpack))
        if args.student:
            wanted = set(args.student)
            unknown = sorted(wanted - {s.student_id for s in subs})
            if unknown:
                raise SubmissionsError(f"--student {', '.join(unknown)}: no such student folder in {args.submissions}")
            subs = [s for s in subs if s.student_id in wanted]
        by_id = {s.student_id: s for s in subs}
        entries = {}
        if gradebook.gradebook_exists(nbc.db_url):
            with gradebook.open_gradebook(nbc.db_url) as gb:
                entries = gradebook.read_entries(gb, assignment.id)
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
        graded: dict = {}
        kept: list[str] = []

        def merged() -> dict:
            return {**earlier, **{sid: r for sid, r in graded.items() if sid not in kept}}

        with _progress(len(subs), args.quiet) as advance:
            def record(res):
                # Written as each submission finishes: a run that is killed keeps what it graded.
                sub = by_id.get(res.student_id)
                if sub is not None:
                    res.late = late_info(sub.submitted_at, sub.submitted_source, policy)
                graded[res.student_id] = res
                if res.status == "error" and res.student_id in earlier:
                    kept.append(res.student_id)  # the grader failed: the earlier grade stays until graded again
                else:
                    records.write_result_json(out / "results", res)
                    gradebook.write_autograded(nbc, assignment, res)
                    records.write_feedback_html(out / "feedback", _row(records, entries, res), assignment)
                records.write_grades_csv(out / "grades.csv", assignment,
                                         [_row(records, entries, r) for r in merged().values()])
                advance(res)

            if args.scheduler:
                from autograder.cluster import grade_on_cluster

                results = grade_on_cluster(args.scheduler, assignment, subs, options, on_result=record)
            else:
                results = grade_class(assignment, subs, options, workers, on_result=record)
    fresh = {sid: r for sid, r in graded.items() if sid not in kept}
    rows = _finish_records(assignment, nbc, out, merged(), fresh, earlier,
                           utc_naive(policy.due) if policy else None)
    print(records.class_summary(rows))
    if not args.quiet:
        print(f"\n{len(results)} graded in {time.monotonic() - t0:.1f} s ({len(rows)} in {out / 'grades.csv'}) -> "
              f"results/, feedback/, report.html; nbgrader course {nbc.root} (gradebook {nbc.db_url}, autograded/)",
              file=sys.stderr)
    errors = [r.student_id for r in results if r.status == "error"]
    if errors:
        print(f"autograder: error: {len(errors)} submission(s) could not be graded (status error; grade them "
              f"again): {', '.join(errors[:20])}", file=sys.stderr)
        if kept:
            print(f"autograder: kept the earlier grades of: {', '.join(kept[:20])}", file=sys.stderr)
        return 1
    return 0


def cmd_feedback(args) -> int:
    """Feedback, grades.csv and the report again, with the manual grades given in formgrader since grading."""
    from autograder import gradebook, records

    course = Course.find()
    assignment = Assignment.load(course, args.assignment)
    out = Path(args.out or f"out/{args.assignment}").resolve()
    results = records.load_results(out / "results", assignment.id)
    if not results:
        raise CourseError(f"{out / 'results'} holds no results of {assignment.id}: run `autograder grade` first")
    state = {}
    if (out / STATE_FILE).exists():
        try:
            state = json.loads((out / STATE_FILE).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CourseError(f"{out / STATE_FILE}: {exc}") from None
    nbc = gradebook.course_for(out, args.gradebook or state.get("gradebook"))
    if not gradebook.gradebook_exists(nbc.db_url):
        raise CourseError(f"no gradebook at {nbc.db_url}")
    rows = _finish_records(assignment, nbc, out, results, results, results, record=False)
    print(records.class_summary(rows))
    return 0


def _load_tolerating_copies(course: Course, aid: str) -> Assignment:
    """The assignment, even when its folder holds copies of a notebook (a student's own folder: Jupyter's
    "Make a Copy", a download ``(1)``): a file whose cells another notebook already has is left out, plain
    names first."""
    from autograder.notebook import InvalidNotebook, copy_base, read_notebook, submission_grade_ids

    try:
        return Assignment.load(course, aid)
    except CourseError as exc:
        if "appears in both" not in str(exc):
            raise
    files = sorted(course.release_dir.joinpath(aid).glob("*.ipynb"),
                   key=lambda p: (copy_base(p.stem) != p.stem, p.name))
    kept_ids: set = set()
    skip = set()
    for path in files:
        try:
            ids = submission_grade_ids(read_notebook(path))
        except InvalidNotebook:
            skip.add(path.name)
            continue
        if ids & kept_ids:
            skip.add(path.name)
        else:
            kept_ids |= ids
    return Assignment.load(course, aid, skip=frozenset(skip))


def _check_one(path: Path, spec, timeout: float, question: str | None = None) -> bool:
    """Run one notebook with its visible checks restored and print each question as ✔/✘ (autograder.student)."""
    from autograder.student import check_notebook

    return check_notebook(path, spec, _limits(timeout), question)


def cmd_check(args) -> int:
    """A notebook, or a folder of them: each is checked; where a folder holds several files for one notebook
    (copies), the one grading would pick is checked and the others are named."""
    from autograder.notebook import (InvalidNotebook, copies_note, notebook_candidates, read_notebook,
                                     submission_grade_ids)

    path = Path(args.notebook)
    if not path.exists():
        print(f"{path}: böyle bir dosya ya da klasör yok.")
        return 1
    try:
        course = Course.find()
    except CourseError:
        course = Course.find(path.resolve().parent if path.is_file() else path.resolve())
    assignments = []
    for aid in course.assignment_ids():
        try:
            assignments.append(_load_tolerating_copies(course, aid))
        except CourseError:
            continue
    folder = path if path.is_dir() else path.parent
    files = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink())
    if path.is_file():
        try:
            ids = submission_grade_ids(read_notebook(path))
        except InvalidNotebook as exc:
            print(f"{path}: {exc}")
            return 1
        best = None
        for assignment in assignments:
            for spec in assignment.notebooks.values():
                overlap = len(ids & spec.grade_ids) + (path.stem == spec.name)
                if overlap and (best is None or overlap > best[0]):
                    best = (overlap, assignment, spec)
        if best is None:
            print(f"{path}: bu defter hiçbir ödevin defteri olarak tanınmadı.")
            return 1
        _, assignment, spec = best
        plan = [(spec, path)]
    else:
        best = None
        for assignment in assignments:
            found, _ = notebook_candidates(assignment, files)
            if found and (best is None or len(found) > len(best[1])):
                best = (assignment, found)
        if best is None:
            print(f"{path}: bu klasörde hiçbir ödevin defteri tanınmadı.")
            return 1
        assignment, found = best
        plan = [(spec, found[name][0].path) for name, spec in assignment.notebooks.items() if name in found]
    by_notebook, _ = notebook_candidates(assignment, files)
    if args.question:
        from autograder.student import question_in

        plan = [(spec, chosen) for spec, chosen in plan if question_in(spec, args.question)]
        if not plan:
            print(f"{args.question}: bu defterlerde böyle bir soru yok (ör. `reg_train` ya da `reg_train_test`).")
            return 1
    all_ok = True
    for spec, chosen in plan:
        found = by_notebook.get(spec.name, [])
        if len(plan) > 1 or len(found) > 1:
            print(f"{spec.name}.ipynb: {chosen.name}")
        if len(found) > 1:
            print("  Not: " + copies_note(spec.name, found).replace("notlandırıldı", "notlandırılır"))
        extra = (args.question,) if args.question else ()  # (the 3-argument call stays as it was)
        all_ok = _check_one(chosen, spec, args.timeout, *extra) and all_ok
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
    p.add_argument("--student", action="append", metavar="ID",
                   help="grade only this student (repeatable); everyone else in --out keeps their grade")
    p.add_argument("--due", help="due date, ISO 8601 (2026-12-01T23:59:00+03:00; without an offset: local time)")
    p.add_argument("--late-per-day", type=float, default=0.0, metavar="F",
                   help="deduct F x max_score per started day late (needs --due)")
    p.add_argument("--late-max", type=float, default=1.0, metavar="F",
                   help="deduct at most F x max_score for lateness (default 1.0)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", help="feedback, grades.csv and report again, after manual grading in formgrader")
    p.add_argument("assignment")
    p.add_argument("--out", help="the folder `grade` wrote (default: out/<assignment>)")
    p.add_argument("--gradebook", help="nbgrader database URL (default: the one `grade` used)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("check", help="a student's self-check: run the visible checks of a notebook or a folder")
    p.add_argument("notebook", help="a notebook, or a folder of notebooks (copies: the one grading picks)")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--question", metavar="ID",
                   help="check one question only: the grade_id of its answer cell or its visible-check cell")
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
    except UsageError as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # SubmissionsError and friends: one line, no traceback
        from autograder.submissions import SubmissionsError

        if isinstance(exc, SubmissionsError):
            print(f"autograder: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
