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
import math
import multiprocessing
import multiprocessing.util
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from autograder import timing
from autograder.assignment import Assignment
from autograder.checks import fail
from autograder.notebook import (InvalidNotebook, choose_notebooks, fill_outputs, kernel_language, notebook_text,
                                 sanitize)
from autograder.runner import CheckResult, SuiteError, run_checks
from autograder.isolation import (FreshLauncher, Isolation, Limits, TemplateError, TemplateLauncher,
                                  detect_isolation)
from autograder.scoring import CellScore, score_cells, total
from autograder.session import NotebookRun, Student, WorkerLost, culprit_text
from autograder.submissions import Submission

# "error": the grading machine failed on this submission (not the student's doing); it must be graded again.
STATUS_ORDER = ["ok", "timeout", "crashed", "error", "invalid"]


@dataclass
class GradeOptions:
    limits: Limits = field(default_factory=Limits)
    device: str = "cpu"  # the device checks run on: "cpu" (meta simulation) or "cuda"
    isolation: Isolation | None = None  # None: detect on first use from isolation_request
    isolation_request: str = "auto"
    warm: bool = True  # fork workers from a warm template (False: a fresh interpreter per notebook)
    # Address-space bound of each trusted grading process (RLIMIT_DATA): what a student's replies make the
    # checks allocate fails that submission with status "error", never the grading machine.
    trusted_memory: int = 6 * 1024**3


_launchers: dict = {}


def launcher_for(options: GradeOptions, preload: tuple[str, ...] | None = None):
    """This process's launcher for these options (created on first use, never shared across fork).

    ``preload``: the modules its template imports (an assignment's ``imports``; None: every module the course
    uses). A process keeps one launcher: asked for other options or modules (``validate`` going through the
    assignments), it closes the one it had, so no idle template is left behind.
    """
    key = _launcher_key(options, preload)
    if key not in _launchers:
        close_launchers()
        _register(key, _new_launcher(options, preload))
    return _launchers[key]


def _new_launcher(options: GradeOptions, preload: tuple[str, ...] | None):
    isolation = options.isolation or detect_isolation(options.isolation_request, options.device)
    env = {"AUTOGRADER_DEVICE": options.device}
    cls = TemplateLauncher if options.warm else FreshLauncher
    return cls(options.limits, isolation, env, **({} if preload is None else {"preload": preload}))


def _register(key: tuple, launcher):
    """Make ``launcher`` this process's own (stopped when the process ends)."""
    if not _launchers:
        # Pool processes leave through os._exit: multiprocessing's finalizers still run, atexit does not.
        multiprocessing.util.Finalize(None, close_launchers, exitpriority=100)
        atexit.register(close_launchers)
    _launchers[key] = launcher


#: Templates started by :func:`start_templates_early` for the pool processes :func:`grade_class` forks next.
_early: list = []


def start_templates_early(options: GradeOptions, assignment: Assignment, processes: int):
    """Begin starting the worker templates of the next :func:`grade_class` (``processes``: how many grading
    processes it will use) without waiting for them.

    A template's start is seconds of imports; begun first thing, it overlaps the rest of the command's own start
    (its imports, reading the class and the gradebook) instead of following it. With one process the template is
    this process's own; with more, each pool process takes one over when it starts (:func:`_start_grading_process`).
    Nothing changes in what a template is or does: same sandbox, same limits, one per grading process.
    """
    discard_early_templates()
    if not options.warm or processes < 1:
        return
    if processes == 1:
        launcher_for(options, assignment.imports).begin()
        return
    if not hasattr(os, "pidfd_open"):
        return  # a pool process could not watch a template it did not start; each starts its own
    # Resolved now, so that the pool processes look their launcher up under the same isolation.
    options.isolation = options.isolation or detect_isolation(options.isolation_request, options.device)
    for _ in range(processes):
        launcher = _new_launcher(options, assignment.imports)
        launcher.begin()
        _early.append((_launcher_key(options, assignment.imports)[1:], launcher))


def warm_trusted_side(assignment: Assignment):
    """Import what grading this assignment's checks imports (torch, pytest, the checks library, and the modules
    the hidden checks use), once in this process before it forks its grading processes, which then share them.

    Imports only: nothing is computed here, since a process that has run torch's parallel code cannot fork safely
    (its OpenMP threads are not copied, and a child's next parallel region waits for them forever).
    """
    import importlib

    from autograder.startup import defer_dynamo, freeze_imports, pause_collector

    pause_collector()  # until the freeze below: the imports trigger dozens of collections (autograder.startup)
    for name in ("torch", "safetensors.torch", "autograder.checks", *assignment.check_imports):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the suite's own run reports what does not import
            pass
        if name == "torch":
            defer_dynamo()  # before the rest can import it (autograder.startup)
    # The grading processes forked next, and this one as it writes the records and exits, never walk these again.
    freeze_imports()


def discard_early_templates():
    """Stop the templates begun for a pool that did not use them (and remove their control groups)."""
    while _early:
        _early.pop()[1].close()


def _launcher_key(options: GradeOptions, preload) -> tuple:
    return (os.getpid(), options.limits, options.device, options.warm,
            options.isolation.name if options.isolation else options.isolation_request, preload)


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
    answers: dict[str, str] = field(default_factory=dict)  # written answers (markdown grade cells): grade_id -> text
    blank: list[str] = field(default_factory=list)  # written answers left as released


@dataclass
class SubmissionResult:
    """One student's automatic grade: what the checks found. Manual grades live in the nbgrader gradebook and
    the late penalty is computed from ``late`` (see :mod:`autograder.records`)."""

    student_id: str
    assignment: str
    status: str
    score: float  # automatic points
    max_score: float  # automatic maximum
    notebooks: list[NotebookResult]
    cells: list[CellScore]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timing: dict = field(default_factory=dict)  # where the seconds went; not part of the grade record
    late: dict | None = None  # submission time, its source, the due date and the fraction deducted (late.py)
    # Who the student is where the class came from (Submission.identity: LMS, display name, the LMS's ids).
    identity: dict = field(default_factory=dict)
    # The notebooks for formgrader (name -> nbformat JSON); written to autograded/, not part of the grade record.
    autograded: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data["checks"] = [
            {"notebook": c.notebook, "grade_id": c.grade_id, "check": c.check, "points": _check_points(cell, c),
             "max_points": _check_max(cell, c), "passed": c.passed, "skipped": c.skipped, "message": c.message,
             "weight": c.weight}
            for cell in self.cells for c in cell.checks
        ]
        for cell in data["cells"]:
            cell.pop("checks", None)
        for key in ("seconds", "timing", "autograded"):  # not part of the grade record
            data.pop(key, None)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "SubmissionResult":
        """The result as :meth:`to_json` wrote it (another student's, kept when part of a class is regraded)."""
        checks: dict[tuple[str, str], list[CheckResult]] = {}
        for c in data.get("checks", []):
            checks.setdefault((c["notebook"], c["grade_id"]), []).append(
                CheckResult(c["notebook"], c["grade_id"], c["check"], float(c.get("weight", 1.0)), bool(c["passed"]),
                            c.get("message", ""), bool(c.get("skipped", False))))
        cells = [CellScore(c["notebook"], c["grade_id"], float(c["max_points"]),
                           None if c.get("points") is None else float(c["points"]), bool(c["manual"]),
                           checks.get((c["notebook"], c["grade_id"]), []))
                 for c in data.get("cells", [])]
        notebooks = [NotebookResult(n["name"], n.get("file"), n["status"], list(n.get("notes", [])),
                                    [CellError(**e) for e in n.get("cell_errors", [])], dict(n.get("answers", {})),
                                    list(n.get("blank", [])))
                     for n in data.get("notebooks", [])]
        return cls(data["student_id"], data["assignment"], data["status"], float(data["score"]),
                   float(data["max_score"]), notebooks, cells, list(data.get("notes", [])), late=data.get("late"),
                   identity=dict(data.get("identity") or {}))


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


def error_result(assignment: Assignment, submission: Submission, reason: str, seconds: float = 0.0,
                 only: set[str] | None = None) -> SubmissionResult:
    """The record of a submission the grader failed on: status "error", no points, the reason in one line."""
    cells = score_cells(assignment, [])
    if only is not None:
        cells = [c for c in cells if c.notebook in only]
    _, max_score = total(cells)
    reason = " ".join(str(reason).split())[:300]
    notes = [f"Bu teslim notlandırılamadı ({reason}); sorun notlandırma tarafında, yeniden notlandırılacak."]
    return SubmissionResult(submission.student_id, assignment.id, "error", 0.0, max_score, [], cells, notes,
                            round(seconds, 3))


def grade_submission(assignment: Assignment, submission: Submission, options: GradeOptions,
                     only: set[str] | None = None) -> SubmissionResult:
    """Grade one submission; ``only`` restricts grading to some notebooks (validate's mutants).

    Never raises for anything in the submission: whatever goes wrong while grading it becomes its status
    ``error`` with a one-line reason. A broken hidden suite (SuiteError) is the course's fault and is raised.
    """
    t0 = time.monotonic()
    try:
        return _grade_submission(assignment, submission, options, only)
    except SuiteError:
        raise
    except MemoryError:
        return error_result(assignment, submission, "the grader ran out of memory on this submission",
                            time.monotonic() - t0, only)
    except Exception as exc:  # noqa: BLE001 - one submission never aborts the class
        return error_result(assignment, submission, f"{type(exc).__name__}: {exc}", time.monotonic() - t0, only)


def _grade_submission(assignment: Assignment, submission: Submission, options: GradeOptions,
                      only: set[str] | None = None) -> SubmissionResult:
    t0 = time.monotonic()
    spent_before = timing.snapshot()
    notes: list[str] = list(submission.notes)
    chosen, match_notes = choose_notebooks(assignment, submission.files)
    notes.extend(match_notes)
    runs: dict[str, NotebookRun] = {}
    cleaned = {}
    students: dict[str, Student] = {}
    nb_results: dict[str, NotebookResult] = {}
    launcher = launcher_for(options, assignment.imports)
    for name, spec in assignment.notebooks.items():
        if only is not None and name not in only:
            continue
        candidate = chosen.get(name)
        if candidate is None:
            nb_results[name] = NotebookResult(name, None, "missing", [f"{name}.ipynb teslim edilmedi"])
            students[name] = _Unavailable(name, f"{name}.ipynb defteri teslim edilmedi.")
            continue
        path = candidate.path
        try:
            nb = candidate.read()  # read once, when the files were matched to notebooks
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
        result.answers = dict(clean.written)
        result.blank = list(clean.blank)
        cleaned[name] = clean
        run = NotebookRun(name, clean.cells, options.limits, launcher, clean.student_cells)
        runs[name] = run
        students[name] = Student(run)
        nb_results[name] = result
    # Checks read the device they grade on from here (autograder.device.grading_device).
    os.environ["AUTOGRADER_DEVICE"] = options.device
    try:
        results = run_checks(assignment, students, only, options.limits.check_timeout)
    finally:
        for run in runs.values():
            run.close()
        with timing.measure("start"):
            launcher.reset()  # nothing of this student's outlives their grading
    for name, run in runs.items():
        res = nb_results[name]
        res.status = run.status
        res.cell_errors = [CellError(o.label, str((o.error or {}).get("type", "")), str((o.error or {}).get("message", ""))[:500])
                           for o in run.outcomes if not o.ok]
        res.notes.extend(event_notes(run))
    cells = score_cells(assignment, results)
    if only is not None:
        cells = [c for c in cells if c.notebook in only]
    autograded = {}
    for name, run in runs.items():
        verdicts = {c.grade_id: [check_line(chk) for chk in c.checks] for c in cells if c.notebook == name}
        nb = cleaned[name].notebook
        try:
            fill_outputs(nb, cleaned[name].cells, run.outcomes, verdicts)
            autograded[name] = notebook_text(nb)  # nbformat.writes's bytes; nb is not used again
        except Exception as exc:  # noqa: BLE001 - the formgrader copy is a convenience; the grade stands
            nb_results[name].notes.append(f"Defterin formgrader kopyası yazılamadı ({type(exc).__name__}).")
    score, max_score = total(cells)
    status = _submission_status(list(nb_results.values()), ran=bool(runs))
    seconds = time.monotonic() - t0
    split = timing.split(seconds, sum(r.seconds for r in results), timing.since(spent_before))
    return SubmissionResult(submission.student_id, assignment.id, status, score, max_score,
                            list(nb_results.values()), cells, notes, round(seconds, 3), split, autograded=autograded)


def _submission_status(notebooks: list[NotebookResult], ran: bool) -> str:
    """A submission's status from its notebooks': "invalid" when none could be run, else the worst of them."""
    if not ran:
        return "invalid"
    return max((r.status for r in notebooks if r.status in STATUS_ORDER[:4]), key=STATUS_ORDER.index, default="ok")


def submission_parts(assignment: Assignment, only: set[str] | None) -> list[set[str] | None]:
    """The units a submission is graded in by a pool of grading processes: one per notebook it is graded on.

    Each notebook already runs in its own worker and its checks depend on nothing else of the submission (a
    check's seed comes from its own name, a notebook's time budget is its own), so a notebook graded alone gets
    exactly the grade it gets with the others. Smaller units keep both processes busy to the end of a run: with
    whole submissions the last one of a class runs alone while the other processes wait.
    """
    names = [name for name in assignment.notebooks if only is None or name in only]
    return [only] if len(names) <= 1 else [{name} for name in names]


def merge_parts(assignment: Assignment, parts: list[SubmissionResult]) -> SubmissionResult:
    """One submission's result from its parts (:func:`submission_parts`), as grading it whole gives it.

    A part the grader failed on (an :func:`error_result`: no notebook in it) makes the whole submission such a
    result, with that part's reason.
    """
    first = parts[0]
    seconds = round(sum(p.seconds for p in parts), 3)
    failed = next((p for p in parts if p.status == "error" and not p.notebooks), None)
    order = {cell.grade_id: i for i, cell in enumerate(assignment.grade_cells)}
    cells = sorted((c for p in parts for c in p.cells), key=lambda c: order.get(c.grade_id, len(order)))
    if failed is not None:
        graded = {c.notebook for c in cells}
        cells = [c for c in score_cells(assignment, []) if c.notebook in graded]  # as error_result has them
        _, max_score = total(cells)
        return SubmissionResult(first.student_id, first.assignment, "error", 0.0, max_score, [], cells,
                                list(failed.notes), seconds)
    notebooks = [n for p in parts for n in p.notebooks]
    score, max_score = total(cells)
    timing_split = {}
    for p in parts:
        for key, value in p.timing.items():
            timing_split[key] = round(timing_split.get(key, 0.0) + value, 4)
    return SubmissionResult(first.student_id, first.assignment,
                            _submission_status(notebooks, ran=any(p.status != "invalid" for p in parts)),
                            score, max_score, notebooks, cells, list(first.notes), seconds, timing_split,
                            autograded={k: v for p in parts for k, v in p.autograded.items()})


_LOST_TEXT = {"timeout": "zamanında bitmedi", "crashed": "çalışan süreci çökertti",
              "protocol": "geçersiz bir yanıt verdi", "infrastructure": "notlandırma makinesinde bir sorunla karşılaştı"}


def event_notes(run: NotebookRun) -> list[str]:
    """What hung or crashed in this notebook, in Turkish, one note per cause."""
    seen: dict[tuple, list[WorkerLost]] = {}
    for event in run.events:
        seen.setdefault((event.culprit, event.kind), []).append(event)
    notes = []
    for (culprit, kind), events in seen.items():
        what = _LOST_TEXT.get(kind, kind)
        detail = events[-1].detail
        times = f" ({len(events)} kez)" if len(events) > 1 else ""
        if culprit and culprit.startswith("function "):
            notes.append(f"{culprit_text(culprit)} {what}{times} ({detail}); onu çağıran kontroller puan alamadı, "
                         "diğer fonksiyonların kontrolleri defteri yeniden çalıştıran yeni bir süreçte sürdü.")
        elif culprit:
            label = culprit.partition(" ")[2]
            tail = ("defter bu hücre atlanarak yeniden çalıştırıldı" if label in run.poisoned
                    else "hücre durduruldu, sonraki hücrelerle devam edildi")
            notes.append(f"{culprit_text(culprit)} {what}{times} ({detail}); {tail}.")
        else:
            notes.append(f"Kodunuzu çalıştıran süreç {what}{times} ({detail}).")
    return notes


def check_line(check: CheckResult) -> str:
    """One hidden check's verdict, as the formgrader notebook shows it under the visible-check cell."""
    name = check.check.split("::")[-1]
    if check.skipped:
        return f"– {name}: {check.message}"
    return f"✔ {name}" if check.passed else f"✘ {name}: {check.message}"


def _limit_trusted_memory(limit: int):
    """In a trusted grading process: bound its data segment, so a hostile reply fails only its submission."""
    import resource

    try:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    except (ValueError, OSError):
        pass


def _start_grading_process(options: GradeOptions, preload: tuple[str, ...], failures, early, slots):
    """A pool process's start: bound its memory, then start its own template before taking any submission.

    ``early``: templates begun by :func:`start_templates_early`, one per pool process; this process takes the one
    ``slots`` hands it and lets go of the others' control channels (each template must see only its own grading
    process, and end when that one goes).
    A template that cannot start is the machine's failure, not the students': its log goes to ``failures`` and the
    process stops, which breaks the pool; :func:`_pool_round` then raises it (nobody is graded as crashed).
    """
    _limit_trusted_memory(options.trusted_memory)
    _launchers.clear()  # the parent's, inherited by the fork: never used here
    if early:
        mine, key = slots.get(), _launcher_key(options, preload)
        for i, (options_key, launcher) in enumerate(early):
            if i == mine and options_key == key[1:]:
                _register(key, launcher)
            else:
                launcher.release_control()
    try:
        launcher_for(options, preload).start()
    except TemplateError as exc:
        failures.put(str(exc))
        os._exit(3)  # not raise: the pool would print the traceback of its initializer


def _grade_one(args):
    assignment, submission, options, only = args
    return grade_submission(assignment, submission, options, only)


def preflight(options: GradeOptions, assignment: Assignment):
    """Start this process's worker template before grading anyone; raises TemplateError with its start log.

    Only for grading in this process: each pool process of :func:`grade_class` starts its own template the same
    way before it takes a submission (a template started here would not be used there).
    """
    launcher_for(options, assignment.imports).start()


class _PartSchedule:
    """The order a pool grades submissions' parts (:func:`submission_parts`) in, and their results put together.

    Submissions go in the order given, so each is recorded soon after it started. Within one, its notebooks go
    from the one that took longest so far in this run (mean seconds; not yet seen: first, in the assignment's
    order). The last parts of a run are then a class's quick notebooks, and the processes end close together.
    """

    def __init__(self, assignment: Assignment, submissions: list[Submission], only: dict):
        self.assignment = assignment
        self.parts = [submission_parts(assignment, only.get(sub.student_id)) for sub in submissions]
        self.waiting = [list(range(len(parts))) for parts in self.parts]  # each submission's parts not handed out
        self.current = 0
        self.results: dict[int, dict[int, SubmissionResult]] = {}
        self.seconds: dict[str, list[float]] = {}  # notebook -> seconds its parts took

    def part(self, i: int, k: int) -> set[str] | None:
        return self.parts[i][k]

    def _expected(self, part) -> float:
        if part is None or len(part) != 1:
            return math.inf
        seen = self.seconds.get(next(iter(part)))
        return sum(seen) / len(seen) if seen else math.inf

    def next(self):
        """(submission index, part index) to hand out next, or None when all are out."""
        while self.current < len(self.waiting) and not self.waiting[self.current]:
            self.current += 1
        if self.current == len(self.waiting):
            return None
        waiting = self.waiting[self.current]
        k = max(waiting, key=lambda k: self._expected(self.parts[self.current][k]))  # of equals, the first
        waiting.remove(k)
        return self.current, k

    def arrived(self, i: int, k: int, result: SubmissionResult) -> SubmissionResult | None:
        """Note one part's result; the submission's whole result once its last part is in."""
        part = self.parts[i][k]
        if part is not None and len(part) == 1 and result.notebooks:
            self.seconds.setdefault(next(iter(part)), []).append(result.seconds)
        got = self.results.setdefault(i, {})
        got[k] = result
        if len(got) < len(self.parts[i]):
            return None
        del self.results[i]
        if len(got) == 1:
            return got[0]
        return merge_parts(self.assignment, [got[k] for k in sorted(got)])


def _pool_round(assignment: Assignment, submissions: list[Submission], options: GradeOptions, workers: int,
                only: dict, done: Callable[[SubmissionResult], None]) -> list[Submission]:
    """Grade in trusted pool processes; returns the submissions lost with a process that died.

    Each process starts its own sandboxed workers. Only grading results travel back (pickled between trusted
    processes, never from the sandbox).
    """
    lost = []
    ctx = multiprocessing.get_context("fork")
    failures = ctx.SimpleQueue()
    processes = min(workers, len(submissions))
    early = list(_early) if len(_early) == processes else []
    _early.clear()
    slots = ctx.SimpleQueue()
    for i in range(len(early)):
        slots.put(i)
    handled: set[int] = set()  # indices of the submissions recorded or lost so far
    schedule = _PartSchedule(assignment, submissions, only)
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=processes, mp_context=ctx,
                                                    initializer=_start_grading_process,
                                                    initargs=(options, assignment.imports, failures, early,
                                                              slots)) as pool:
            in_flight: dict = {}

            def hand_out():
                # Two parts a process: one it grades, one waiting, so that none waits for this process to hand
                # out the next (it is also writing records down).
                while len(in_flight) < 2 * processes and (unit := schedule.next()) is not None:
                    i, k = unit
                    # A pool process that stops in its initializer can break the pool while this submits.
                    task = (assignment, submissions[i], options, schedule.part(i, k))
                    in_flight[pool.submit(_grade_one, task)] = unit

            hand_out()
            # Every pool process is forked by now (fork pools start them all on the first submit): this process
            # lets go of the early templates' channels, and stops them once the pool is done.
            for _, launcher in early:
                launcher.release_control()
            while in_flight:
                finished, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
                for fut in finished:
                    i, k = in_flight.pop(fut)
                    sub = submissions[i]
                    if i in handled:
                        continue  # lost with another of its parts: graded again whole
                    try:
                        result = fut.result()
                    except concurrent.futures.process.BrokenProcessPool:
                        if not failures.empty():
                            raise TemplateError(failures.get()) from None
                        lost.append(sub)
                        handled.add(i)
                        continue
                    except SuiteError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - e.g. a result that could not travel back
                        result = error_result(assignment, sub, f"{type(exc).__name__}: {exc}",
                                              only=schedule.part(i, k))
                    whole = schedule.arrived(i, k, result)
                    if whole is not None:
                        done(whole)
                        handled.add(i)
                hand_out()
    except concurrent.futures.process.BrokenProcessPool:
        # Broken before every submission was handed out: the template's failure if there is one, else the
        # submissions not yet graded are lost with the pool (graded again in a fresh one).
        if not failures.empty():
            raise TemplateError(failures.get()) from None
        lost.extend(sub for i, sub in enumerate(submissions) if i not in handled)
    finally:
        for _, launcher in early:
            launcher.close()  # stopped by its grading process already; this reaps it (this process's child)
    return lost


def grade_class(assignment: Assignment, submissions: list[Submission], options: GradeOptions, workers: int = 1,
                on_result: Callable[[SubmissionResult], None] | None = None,
                only: dict[str, set[str]] | None = None) -> list[SubmissionResult]:
    """Grade every submission; ``on_result`` is called as each one finishes (to write it down at once).

    ``only`` maps a student id to the notebooks to grade for it (default: all). A grading process that dies
    (killed, out of memory) costs only the submissions it held: they are graded again in a fresh process,
    and a submission that kills a process of its own is recorded as ``error``.
    """
    only = only or {}
    results = []

    def done(res):
        results.append(res)
        if on_result:
            on_result(res)

    if workers <= 1 or len(submissions) <= 1:
        for sub in submissions:
            done(grade_submission(assignment, sub, options, only.get(sub.student_id)))
        return sorted(results, key=lambda r: r.student_id)
    lost = _pool_round(assignment, submissions, options, workers, only, done)
    # A grading process died and took these with it: each is graded again alone, to tell which one did it.
    for sub in lost:
        if _pool_round(assignment, [sub], options, 1, only, done):
            done(error_result(assignment, sub, "its grading process died", only=only.get(sub.student_id)))
    return sorted(results, key=lambda r: r.student_id)
