"""The `autograder` command: release, grade, feedback, export, gradescope, check, validate.

Exit status: 0 when the command did its work (for `grade`: every submission got a grade, zeros included); 1 when
the course, its settings or this machine cannot do it (broken course files, an unreadable output folder, a
template that cannot start, a submission the grader failed on); 2 for bad usage (an option out of range, a path
that does not exist, an assignment or student that is not there, an unusable submissions argument). Every error
is one line, the last one printed (after the usage line for bad usage), without a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

# jsonschema, under nbformat, compiles ~40 grammars when it is imported, for an optional IRI format check that
# nothing here uses (notebooks are validated without format checks): ~1 s off every command, `check` included.
sys.modules.setdefault("rfc3987_syntax", None)

from autograder.assignment import Assignment, Course, CourseError
from autograder.isolation import Limits

DEVICES = ("auto", "cpu", "cuda")
ISOLATIONS = ("auto", "bwrap", "userns", "none")
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("pytorch-temelleri-autograder")
    except Exception:  # noqa: BLE001 - not installed as a distribution (a plain checkout)
        from autograder import __version__

        return __version__


# ------------------------------------------------------------------------------------- option value checks
# Each is an argparse `type`: a bad flag is reported after the usage line with exit status 2; the same checks
# run on the values autograder.toml gives (a bad setting there is the course's: exit status 1).

def positive_int(text) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def fraction(text) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1, got {text}")
    return value


def due_date(text) -> str:
    from autograder.late import parse_due

    try:
        parse_due(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return str(text)


def scheduler_address(text) -> str:
    if not re.fullmatch(r"(tcp|tls|ucx|inproc|ws|wss)://[^\s/]+", str(text).strip()):
        raise argparse.ArgumentTypeError(f"expected a Dask scheduler address like tcp://host:8786, got {text!r}")
    return str(text).strip()


def database_url(text) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*://\S+", str(text).strip()):
        raise argparse.ArgumentTypeError(f"expected a database URL like sqlite:///path/to/gradebook.db, got {text!r}")
    return str(text).strip()


def student_id(text) -> str:
    from autograder.submissions import STUDENT_ID

    if not STUDENT_ID.match(str(text)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a student id (letters, digits, . _ @ + - only)")
    return str(text)


def existing_path(text) -> str:
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return str(text)


def _limits(timeout: float, memory_gb: float = 4.0) -> Limits:
    # One cell or one check request gets `timeout`; a whole notebook at most ten times that (>= 5 min).
    return Limits(cell_timeout=timeout, submission_timeout=max(10 * timeout, 300.0), memory=int(memory_gb * 1024**3))


#: Device nodes without which no CUDA (or ROCm, or WSL's) GPU can be there.
_GPU_NODES = ("/dev/nvidia*", "/dev/dxg", "/dev/kfd")


def _device(requested: str) -> str:
    import glob

    if requested == "cpu":
        return "cpu"
    if requested == "auto" and not any(glob.glob(pattern) for pattern in _GPU_NODES):
        return "cpu"  # without importing torch (~2 s), so that the worker templates start first
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
    """A bad flag, path or name (exit 2, after the usage line)."""


def _assignment(course: Course, assignment_id: str) -> Assignment:
    """The released assignment; an id that is not released is bad usage, a broken one the course's fault."""
    if not (course.release_dir / assignment_id).is_dir():
        known = ", ".join(course.assignment_ids()) or "none"
        raise UsageError(f"assignment {assignment_id!r} is not released (assignments/{assignment_id} missing; run "
                         f"`autograder release {assignment_id}`). Known assignments: {known}")
    return Assignment.load(course, assignment_id)


def _known_sources(course: Course, assignment_ids: list[str]) -> None:
    """Bad usage unless every id names an assignment of the course's source/."""
    known = course.assignment_ids()
    unknown = [aid for aid in assignment_ids if aid not in known]
    if unknown:
        raise UsageError(f"assignment {unknown[0]!r} not found in {course.source_dir} (known: "
                         f"{', '.join(known) or 'none'})")


def _output_dir(args) -> Path:
    return Path(args.out or f"out/{args.assignment}").resolve()


STATE_FILE = "grading.json"  # in --out: which gradebook the results were recorded in (for `autograder feedback`)
REFERENCE_CACHE = Path(".cache") / "reference"  # in --out: the checks' reference values (autograder.checks.cache)


def cmd_release(args) -> int:
    from autograder.release import release

    course = Course.find()
    _known_sources(course, args.assignments)
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


def _finish_records(assignment, nbc, out: Path, merged: dict, graded: dict, earlier: dict,
                    recorder=None, state: dict | None = None):
    """Gradebook first: the automatic points of ``graded`` through ``recorder`` (a gradebook.ClassRecorder,
    which may have recorded some during the run; None: record nothing), then the late penalties computed from
    everything it holds. Then grades.csv, the feedback of ``graded`` and the report over everyone. ``state`` is
    what grading.json keeps about the run (the layout imported, the entries skipped). Returns the rows."""
    from autograder import gradebook, records, report

    with contextlib.ExitStack() as stack:
        if recorder is not None:
            stack.callback(recorder.close)
            recorder.record_all(graded, earlier)
            gb = recorder.gradebook()
            stack.enter_context(recorder.quiet())
        else:
            gb = stack.enter_context(gradebook.open_gradebook(nbc.db_url))
        entries = gradebook.read_entries(gb, assignment.id)
        rows = [_row(records, entries, r) for r in merged.values()]
        gradebook.write_penalties(gb, assignment.id, {row.result.student_id: row.penalty_by_notebook
                                                      for row in rows if row.result.status != "error"})
    gradebook.write_masters(nbc, assignment)
    for row in rows:
        if row.result.student_id in graded:
            records.write_feedback_html(out / "feedback", row, assignment)
    records.write_grades_csv(out / "grades.csv", assignment, rows)
    state = {**(state or {}), "assignment": assignment.id, "gradebook": nbc.db_url, "nbgrader_root": str(nbc.root)}
    report.write_report(out / "report.html", assignment, rows, skipped=state.get("skipped", []))
    records.write_text_atomic(out / STATE_FILE, json.dumps(state, indent=1, ensure_ascii=False) + "\n")
    return rows


#: Threads importing what the records need, started by :func:`_import_records_libraries`.
_RECORDS_IMPORTS: list = []


def _import_records_libraries():
    """Import what writing the records needs (nbgrader's gradebook, matplotlib and jinja2 for the report: ~2 s) in
    a thread while the class is graded, instead of after the last submission.

    Called only once the grading processes are forked (a process forked while a thread imports could inherit a
    held import lock); a later fork (a grading process replaced) waits for it first.
    """
    import threading

    if _RECORDS_IMPORTS:
        return

    def load():
        try:
            import nbgrader.api  # noqa: F401

            from autograder import report

            report._pyplot()
        except Exception:  # noqa: BLE001 - only a head start: the records import what they need themselves
            pass

    thread = threading.Thread(target=load, name="records-imports", daemon=True)
    _RECORDS_IMPORTS.append(thread)
    thread.start()


def _wait_for_records_libraries():
    while _RECORDS_IMPORTS:
        _RECORDS_IMPORTS.pop().join()


# Any fork waits for the imports first (nothing to wait for unless they were started).
os.register_at_fork(before=_wait_for_records_libraries)


def _read_state(out: Path) -> dict:
    if not (out / STATE_FILE).exists():
        return {}
    try:
        state = json.loads((out / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CourseError(f"{out / STATE_FILE}: {exc}") from None
    return state if isinstance(state, dict) else {}


def _trusted_threads_yield():
    """OpenMP threads of the trusted side sleep when their parallel region ends instead of spinning (~a
    millisecond each time): on a machine that the grading processes and their workers share, the spinning takes
    the cores the student's code is waiting for. Thread counts, and so every result, stay as they were. Must be
    set before torch is imported (OpenMP reads it once); a value the user set is kept."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def cmd_grade(args) -> int:
    from autograder import gradebook
    from autograder.grading import discard_early_templates
    from autograder.late import make_policy

    _trusted_threads_yield()
    course = Course.find()
    assignment = _assignment(course, args.assignment)
    if not Path(args.submissions).exists():
        raise UsageError(f"{args.submissions}: no such file or folder")
    out = _output_dir(args)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder")
    try:
        policy = make_policy(args.due, args.late_per_day, args.late_max)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    nbc = gradebook.course_for(out, args.gradebook)
    options = _options(args)
    workers = _workers(args.workers)
    try:
        return _grade(args, course, assignment, out, policy, nbc, options, workers)
    finally:
        discard_early_templates()


def _grade(args, course, assignment, out, policy, nbc, options, workers) -> int:
    from autograder import gradebook, records
    from autograder.late import utc_naive

    # Grading into a folder merges: everyone graded before keeps their row, results, feedback and manual grades.
    earlier = records.load_results(out / "results", assignment.id)
    # The gradebook is written as results arrive, and closed however the run ends.
    recorder = gradebook.ClassRecorder(nbc.db_url, assignment, utc_naive(policy.due) if policy else None)
    with contextlib.closing(recorder):
        return _grade_and_record(args, assignment, out, policy, nbc, options, workers, earlier, recorder)


def _grade_and_record(args, assignment, out, policy, nbc, options, workers, earlier, recorder) -> int:
    from autograder import gradebook, records
    from autograder.grading import grade_class, preflight, start_templates_early, warm_trusted_side
    from autograder.late import late_info
    from autograder.submissions import find_class

    with tempfile.TemporaryDirectory(prefix="ag-submissions-") as unpack:
        found = find_class(Path(args.submissions), assignment.id, Path(unpack), args.format)
        subs = found.submissions
        for line in found.skipped:
            print(f"autograder: skipped {line}", file=sys.stderr)
        if not args.quiet:
            for note in found.notes:
                print(f"autograder: note: {note}", file=sys.stderr)
        if args.student:
            wanted = set(args.student)
            unknown = sorted(wanted - {s.student_id for s in subs})
            if unknown:
                raise UsageError(f"--student {', '.join(unknown)}: no such student folder in {args.submissions} "
                                 f"(students there: {', '.join(s.student_id for s in subs[:10])}{' …' if len(subs) > 10 else ''})")
            subs = [s for s in subs if s.student_id in wanted]
        if not args.scheduler:
            # The templates' imports (seconds) overlap the rest of this start; the trusted side's own imports are
            # done here once, before the grading processes are forked from this one.
            start_templates_early(options, assignment, min(workers, len(subs)))
            warm_trusted_side(assignment)
            from autograder.checks import cache as reference_cache

            # Reference values (datasets, trained references) computed once for the whole class and kept for
            # the next run, beside the results they were used for.
            reference_cache.use_folder(out / REFERENCE_CACHE)
        by_id = {s.student_id: s for s in subs}
        entries = {}
        if gradebook.gradebook_exists(nbc.db_url):
            with gradebook.open_gradebook(nbc.db_url) as gb:
                entries = gradebook.read_entries(gb, assignment.id)
        where = f"Dask cluster {args.scheduler}" if args.scheduler else f"{workers} worker(s)"
        if not args.quiet:
            print(f"grading {len(subs)} submission(s) of {assignment.id} ({found.format} layout) on {where}, "
                  f"device checks on {options.device}; {options.isolation.describe()}", file=sys.stderr)
        t0 = time.monotonic()
        if not args.scheduler and (workers <= 1 or len(subs) <= 1):
            # The machine's failure must not read as every student's crash: no template, nobody is graded. (Pool
            # processes check the same when they start, see grading._start_grading_process.)
            preflight(options, assignment)
        out.mkdir(parents=True, exist_ok=True)
        graded: dict = {}
        kept: list[str] = []

        def merged() -> dict:
            return {**earlier, **{sid: r for sid, r in graded.items() if sid not in kept}}

        with _progress(len(subs), args.quiet) as advance:
            def record(res):
                if workers > 1 or args.scheduler:
                    _import_records_libraries()  # the grading processes are forked by now (or grade elsewhere)
                # Written as each submission finishes: a run that is killed keeps what it graded.
                sub = by_id.get(res.student_id)
                if sub is not None:
                    res.late = late_info(sub.submitted_at, sub.submitted_source, policy)
                    res.identity = dict(sub.identity)
                graded[res.student_id] = res
                if res.status == "error" and res.student_id in earlier:
                    kept.append(res.student_id)  # the grader failed: the earlier grade stays until graded again
                else:
                    records.write_result_json(out / "results", res)
                    gradebook.write_autograded(nbc, assignment, res)
                    recorder.record_early(res, earlier.get(res.student_id))
                    records.write_feedback_html(out / "feedback", _row(records, entries, res), assignment)
                records.write_grades_csv(out / "grades.csv", assignment,
                                         [_row(records, entries, r) for r in merged().values()])
                advance(res)

            if args.scheduler:
                from autograder.cluster import grade_on_cluster

                results = grade_on_cluster(args.scheduler, assignment, subs, options, on_result=record)
            else:
                results = grade_class(assignment, subs, options, workers, on_result=record)
    _wait_for_records_libraries()
    fresh = {sid: r for sid, r in graded.items() if sid not in kept}
    state = {"format": found.format, "skipped": found.skipped}
    rows = _finish_records(assignment, nbc, out, merged(), fresh, earlier, recorder, state=state)
    print(records.class_summary(rows))
    if not args.quiet:
        print(f"\n{len(results)} graded in {time.monotonic() - t0:.1f} s ({len(rows)} in {out / 'grades.csv'}) -> "
              f"results/, feedback/, report.html; nbgrader course {nbc.root} (gradebook {nbc.db_url}, autograded/)",
              file=sys.stderr)
    errors = [r.student_id for r in results if r.status == "error"]
    if errors:
        if kept:
            print(f"autograder: kept the earlier grades of: {', '.join(kept[:20])}", file=sys.stderr)
        print(f"autograder: error: {len(errors)} submission(s) could not be graded (status error; grade them "
              f"again): {', '.join(errors[:20])}", file=sys.stderr)
        return 1
    return 0


def _grading_output(args, assignment: Assignment) -> tuple[Path, dict]:
    """The folder `grade` wrote (--out) and its results; bad usage if it is not one."""
    from autograder import records

    out = _output_dir(args)
    if not out.is_dir():
        raise UsageError(f"--out {out}: no such folder (the folder `autograder grade {assignment.id}` wrote)")
    results = records.load_results(out / "results", assignment.id)
    if not results:
        raise UsageError(f"{out} holds no results of {assignment.id}: run `autograder grade {assignment.id} ...` "
                         "first, or give --out")
    return out, results


def cmd_feedback(args) -> int:
    """Feedback, grades.csv and the report again, with the manual grades given in formgrader since grading."""
    from autograder import gradebook, records

    course = Course.find()
    assignment = _assignment(course, args.assignment)
    out, results = _grading_output(args, assignment)
    state = _read_state(out)
    nbc = gradebook.course_for(out, args.gradebook or state.get("gradebook"))
    if not gradebook.gradebook_exists(nbc.db_url):
        raise CourseError(f"no gradebook at {nbc.db_url}")
    rows = _finish_records(assignment, nbc, out, results, results, results, state=state)
    print(records.class_summary(rows))
    return 0


def cmd_export(args) -> int:
    """Grades back to an LMS: files under <out>/export/, each path printed."""
    from autograder import gradebook, records
    from autograder.lms import exports

    course = Course.find()
    assignment = _assignment(course, args.assignment)
    out, results = _grading_output(args, assignment)
    state = _read_state(out)
    nbc = gradebook.course_for(out, args.gradebook or state.get("gradebook"))
    entries = {}
    if gradebook.gradebook_exists(nbc.db_url):
        with gradebook.open_gradebook(nbc.db_url) as gb:  # read only: manual scores and comments
            entries = gradebook.read_entries(gb, assignment.id)
    rows = [_row(records, entries, r) for r in results.values()]
    written, warnings = exports.export(args.format, out / "export", assignment, rows, title=args.title,
                                       scale_to=args.scale_to, visibility=args.visibility)
    for warning in warnings:
        print(f"autograder: warning: {warning}", file=sys.stderr)
    for path in written:
        print(path)
    return 0


def cmd_gradescope(args) -> int:
    """A Gradescope autograder zip for one assignment (setup.sh, run_autograder, this engine and the checks)."""
    from autograder import gradescope

    course = Course.find()
    assignment = _assignment(course, args.assignment)
    out = Path(args.out or f"out/{assignment.id}-gradescope.zip").resolve()
    if out.is_dir():
        raise UsageError(f"--out {out}: is a folder; give the zip file to write")
    path = gradescope.build_autograder(course, assignment, out, timeout=args.timeout, memory=args.memory,
                                       visibility=args.visibility)
    print(path)
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
        raise UsageError(f"{path}: no such file or folder")
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
    _trusted_threads_yield()
    from autograder.validate import format_rows, validate

    course = Course.find()
    _known_sources(course, args.assignments)
    options = _options(args)
    t0 = time.monotonic()
    rows = validate(course, args.assignments, options, _workers(args.workers))
    print(format_rows(rows))
    failed = [r for r in rows if not r.ok]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed ({time.monotonic() - t0:.0f} s)")
    return 1 if failed else 0


def _add_sandbox_options(p, workers: bool = True) -> None:
    if workers:
        p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                       help="parallel grading processes, at least 1 (default: the number of cores)")
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where device checks run: auto (CUDA if available), cpu (simulated GPU), cuda")
    p.add_argument("--timeout", type=positive_float, default=60.0, metavar="S",
                   help="seconds per cell and per check call, > 0 (default 60; a notebook gets max(10 S, 300) s)")
    p.add_argument("--memory", type=positive_float, default=4.0, metavar="GIB",
                   help="GiB of memory each student process may use, > 0 (default 4)")
    p.add_argument("--isolation", choices=ISOLATIONS, default="auto",
                   help="how student code is isolated: auto (the strongest available), bwrap, userns, none")


def build_parser() -> argparse.ArgumentParser:
    from autograder.submissions import FORMATS

    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.split("\n\n")[0],
                                     epilog="Run inside the course folder (or set AUTOGRADER_COURSE). "
                                            "`autograder COMMAND -h` describes each command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("release", help="source/ -> assignments/ (stubs) and solutions/, via nbgrader",
                       description="Generate the student release and the reference solutions from source/.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="assignment ids (default: all)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="grade a class's submissions",
                       description="Grade a class: a folder or .zip of <student>/<notebook>.ipynb, nbgrader's "
                                   "submitted/, or a Canvas, Moodle or Gradescope download.")
    p.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment id (a folder of assignments/)")
    p.add_argument("submissions", metavar="SUBMISSIONS",
                   help="folder or .zip of the class's submissions (layout: see --format)")
    p.add_argument("--format", choices=FORMATS, default="auto",
                   help="layout of SUBMISSIONS: folders (<student>/<notebook>.ipynb), nbgrader (submitted/), "
                        "canvas, moodle, gradescope; auto (default) detects it")
    p.add_argument("--out", metavar="DIR", help="output folder (default: out/<assignment>); grading into it merges")
    _add_sandbox_options(p)
    p.add_argument("--gradebook", type=database_url, metavar="URL",
                   help="nbgrader database URL (default: sqlite:///<out>/gradebook.db)")
    p.add_argument("--scheduler", type=scheduler_address, metavar="ADDRESS",
                   help="address of a Dask scheduler (tcp://host:8786) to grade on a cluster")
    p.add_argument("--quiet", action="store_true", help="only the grade table (no progress bar)")
    p.add_argument("--student", action="append", metavar="ID", type=student_id,
                   help="grade only this student (repeatable); everyone else in --out keeps their grade")
    p.add_argument("--due", type=due_date, metavar="DATE",
                   help="due date, ISO 8601 (2026-12-01T23:59:00+03:00; without an offset: local time)")
    p.add_argument("--late-per-day", type=fraction, default=0.0, metavar="F",
                   help="deduct F x max_score per started day late, 0 to 1 (needs --due)")
    p.add_argument("--late-max", type=fraction, default=1.0, metavar="F",
                   help="deduct at most F x max_score for lateness, 0 to 1 (default 1.0)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", help="feedback, grades.csv and report again, after manual grading in formgrader",
                       description="Write every student's feedback, grades.csv and the report again, with the "
                                   "manual scores and comments given in formgrader.")
    p.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment id")
    p.add_argument("--out", metavar="DIR", help="the folder `grade` wrote (default: out/<assignment>)")
    p.add_argument("--gradebook", type=database_url, metavar="URL",
                   help="nbgrader database URL (default: the one `grade` used)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="grades back to an LMS: Canvas, Moodle, Gradescope or a per-question CSV",
                       description="Read the folder `grade` wrote and write the grades in an LMS's import format "
                                   "under DIR/export/; prints each path written.")
    p.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment id")
    p.add_argument("--format", required=True, choices=("canvas", "moodle", "gradescope", "csv"),
                   help="canvas: gradebook import CSV; moodle: grading worksheet CSV; gradescope: results.json per "
                        "submission; csv: one row per student and question")
    p.add_argument("--out", metavar="DIR", help="the folder `grade` wrote (default: out/<assignment>)")
    p.add_argument("--gradebook", type=database_url, metavar="URL",
                   help="nbgrader database URL (default: the one `grade` used)")
    p.add_argument("--title", metavar="TEXT",
                   help="Canvas: the assignment column, e.g. 'Ödev 1 (4567)' with Canvas's assignment id "
                        "(default: the assignment id)")
    p.add_argument("--scale-to", type=positive_float, metavar="P",
                   help="canvas, moodle: rescale scores to P points (default: the assignment's points)")
    p.add_argument("--visibility", choices=VISIBILITIES, default="visible",
                   help="gradescope: when students see the tests (default: visible)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("gradescope", help="build a Gradescope autograder zip that grades with this engine",
                       description="Build the autograder zip (setup.sh, run_autograder, this engine, the release "
                                   "and the hidden checks) that grades one submission on Gradescope, sandbox "
                                   "included, and writes /autograder/results/results.json.")
    p.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment id")
    p.add_argument("--out", metavar="FILE", help="the zip to write (default: out/<assignment>-gradescope.zip)")
    p.add_argument("--timeout", type=positive_float, default=60.0, metavar="S",
                   help="seconds per cell and per check call on Gradescope, > 0 (default 60)")
    p.add_argument("--memory", type=positive_float, default=2.0, metavar="GIB",
                   help="GiB of memory the student's process may use on Gradescope, > 0 (default 2)")
    p.add_argument("--visibility", choices=VISIBILITIES, default="visible",
                   help="when students see the tests (default: visible)")
    p.set_defaults(func=cmd_gradescope)

    p = sub.add_parser("check", help="a student's self-check: run the visible checks of a notebook or a folder",
                       description="Run a notebook with its visible checks restored and print each question as "
                                   "passed or failed (grades come from the hidden checks).")
    p.add_argument("notebook", metavar="NOTEBOOK", type=existing_path,
                   help="a notebook, or a folder of notebooks (copies: the one grading picks)")
    p.add_argument("--timeout", type=positive_float, default=120.0, metavar="S",
                   help="seconds per cell, > 0 (default 120)")
    p.add_argument("--question", metavar="ID",
                   help="check one question only: the grade_id of its answer cell or its visible-check cell")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("validate", help="CI gate: solutions full marks, stubs zero, mutants caught, release in sync",
                       description="Fail with a table unless the release is in sync, nothing hidden leaks, the "
                                   "solutions earn full marks, the stubs zero, and every mutant is caught.")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="assignment ids (default: all)")
    _add_sandbox_options(p)
    p.set_defaults(func=cmd_validate)
    for name, subparser in sub.choices.items():
        subparser.set_defaults(_parser=subparser)
    return parser


def _setting(action: argparse.Action, value):
    """A value from autograder.toml, checked as the flag's own value would be."""
    from datetime import date

    if isinstance(value, bool) and action.type is not None:
        raise ValueError(f"expected a value, got {value!r}")
    if action.type is not None and not isinstance(value, date):
        try:
            value = action.type(value)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(str(exc)) from None
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"expected one of {', '.join(map(str, action.choices))}, got {value!r}")
    return value


def _config_defaults(parser: argparse.ArgumentParser) -> None:
    """Defaults from the course's autograder.toml (a table per command: [grade], [validate], …); flags
    override them. A bad setting is the course's: CourseError (exit 1) naming the file, table and key."""
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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CourseError(f"{path}: {exc}") from None
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            table = config.get(name, {})
            if not isinstance(table, dict):
                raise CourseError(f"{path}: [{name}] must be a table of settings")
            actions = {a.dest: a for a in sub._actions if a.dest not in ("help", "func", "_parser")}
            unknown = set(table) - set(actions)
            if unknown:
                raise CourseError(f"{path}: unknown setting(s) in [{name}]: {', '.join(sorted(unknown))}")
            checked = {}
            for key, value in table.items():
                try:
                    checked[key] = _setting(actions[key], value)
                except ValueError as exc:
                    raise CourseError(f"{path}: [{name}] {key} = {value!r}: {exc}") from None
            sub.set_defaults(**checked)


def _usage_error(args, message: str) -> int:
    """Bad usage, as argparse reports it: the command's usage line, then the error as the last line."""
    sub = getattr(args, "_parser", None)
    if sub is not None:
        sub.print_usage(sys.stderr)
        print(f"{sub.prog}: error: {message}", file=sys.stderr)
    else:
        print(f"autograder: error: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    from autograder.submissions import SubmissionsError

    parser = build_parser()
    try:
        _config_defaults(parser)
    except CourseError as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 1
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's own: bad usage (2, after the usage line), --help or --version (0)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        return args.func(args)
    except (UsageError, SubmissionsError) as exc:
        return _usage_error(args, str(exc))
    except (CourseError, OSError) as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("autograder: error: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """The ``autograder`` command: :func:`main`, then exit without walking the heap again.

    Exiting, Python collects cycles several times over everything still alive (~1-2 s with torch, scikit-learn
    and nbgrader imported, autograder.startup); everything is written by now, so it is frozen first.
    """
    status = main()
    import gc

    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    run()
