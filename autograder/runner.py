"""Running an assignment's hidden pytest suite against one submission, in the trusted process.

The suite is collected from ``source/<id>/checks/``. Each test is marked with
the grade cell it counts towards (``@grade("cell_id", weight=...)``) and gets
the ``student`` fixture for the notebook that holds that cell. Outcomes are
recorded per test with a message for the student.
"""
from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder import timing
from autograder.assignment import Assignment, CourseError
from autograder.checks import CheckFailed
from autograder.session import NotCalledAgain, Student, StudentCodeError, WorkerLost, culprit_text, stable_seed


@dataclass
class CheckResult:
    notebook: str
    grade_id: str
    check: str
    weight: float
    passed: bool
    message: str = ""
    skipped: bool = False
    seconds: float = 0.0  # time in the check's body (its own compute and the student code it calls)


class SuiteError(CourseError):
    """The hidden suite itself is broken (does not collect, names an unknown cell)."""


class CheckTimedOut(BaseException):
    """Raised in a check body that ran past its wall-clock bound (a BaseException: no check swallows it)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"{seconds:g} s")


@contextlib.contextmanager
def watchdog(seconds: float | None):
    """Interrupt the body after ``seconds`` of wall-clock time (main thread only, where signals arrive).

    Student code is bounded in the worker; this bounds the trusted side's own work on what came back, so a
    check that loops on a hostile value fails as timed out and grading goes on.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise CheckTimedOut(seconds)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def skip_message(longrepr) -> str:
    """"atlandı: <why>" for a skipped check (pytest keeps the reason as (file, line, "Skipped: why"))."""
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
    reason = str(reason).removeprefix("Skipped: ").strip()
    return f"atlandı: {reason[:300]}" if reason else "atlandı"


def explain_failure(exc: BaseException) -> str:
    """One Turkish message for the student about why a check failed."""
    if isinstance(exc, CheckFailed):
        return str(exc)
    if isinstance(exc, StudentCodeError):
        explained = _explanation(exc)
        text = f"Kodunuz bir hata verdi: {exc.type}: {exc.message}".rstrip()
        if explained:
            text = f"{explained} ({exc.type}: {exc.message})"
        if exc.type == "NotImplementedError" and not exc.message:
            text = "Bu kısım henüz yazılmamış (NotImplementedError)."
        return text[:1500]
    if isinstance(exc, CheckTimedOut):
        return (f"Kontrol {exc.seconds:g} saniyede bitmedi ve durduruldu; kodunuzun döndürdüğü değer "
                "beklenenden çok büyük ya da karmaşık olabilir.")
    if isinstance(exc, NotCalledAgain):
        return (f"{culprit_text(exc.culprit)} önceki kontrollerde zamanında bitmedi ya da çalışan süreci durdurdu; "
                "bu kontrol onu yeniden çağırmadı (diğer sorular yeni bir süreçte notlandırıldı).")
    if isinstance(exc, WorkerLost):
        who = culprit_text(exc.culprit) if exc.culprit and exc.culprit.startswith("function ") else ""
        if exc.kind == "infrastructure":
            return (f"Notlandırma makinesinde bir sorun oldu ({exc.detail}); bu sizin kodunuzdan kaynaklanmıyor, "
                    "defteriniz yeniden notlandırılacak.")
        if exc.kind == "timeout":
            return (f"{who or 'Kodunuz'} zamanında bitmedi ({exc.detail}); sonsuz döngü ya da çok uzun bir eğitim "
                    "olabilir.")
        if exc.kind == "crashed":
            return (f"{who + ' çalışırken k' if who else 'K'}odunuzu çalıştıran süreç çöktü ({exc.detail}); bellek "
                    "taşması ya da süreci sonlandıran bir çağrı olabilir.")
        return f"Kodunuzdan gelen yanıt geçersizdi ({exc.detail})."
    if isinstance(exc, AssertionError):
        return str(exc) or "Kontrol başarısız oldu."
    return f"Beklenmeyen sonuç: {type(exc).__name__}: {exc}"[:1500]


def _explanation(exc: StudentCodeError) -> str | None:
    from autograder.checks.messages import explain_error

    return explain_error(exc.type, exc.message)


class _GradingPlugin:
    def __init__(self, assignment: Assignment, students: dict[str, Student], only: set[str] | None = None,
                 check_timeout: float | None = None):
        self.assignment = assignment
        self.check_timeout = check_timeout
        self.only = only
        self.students = students
        self.results: list[CheckResult] = []
        self.problems: list[str] = []
        self.collection_errors: list[str] = []  # a check file that does not import (pytest's terminal is off)
        self._items = {}

    @staticmethod
    def _grade_of(item):
        marker = item.get_closest_marker("grade")
        if marker is None or not marker.args:
            return None, 1.0
        return marker.args[0], float(marker.kwargs.get("weight", 1.0))

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "grade(grade_id, weight=1): the grade cell a check counts towards")
        config.addinivalue_line("markers", "gpu: needs CUDA")

    def pytest_collectreport(self, report):
        if report.failed:
            text = str(report.longrepr).strip()
            # pytest marks the error's own lines with "E "; the frames above them are pytest's import machinery.
            marked = [line[2:] for line in text.splitlines() if line.startswith("E ")]
            text = "\n".join(marked) if marked else text
            self.collection_errors.append(f"{report.nodeid or 'checks'}:\n{text[-1500:]}")

    def pytest_collection_modifyitems(self, session, config, items):
        kept, dropped = [], []
        for item in items:
            gid, weight = self._grade_of(item)
            if gid is None:
                self.problems.append(f"{item.nodeid}: no @grade(...) marker")
                continue
            cell = self.assignment.grade_cell(gid)
            if cell is None or cell.manual:
                self.problems.append(f"{item.nodeid}: @grade({gid!r}) names no autograded cell of "
                                     f"{self.assignment.id}")
                continue
            if self.only is not None and cell.notebook not in self.only:
                dropped.append(item)
                continue
            self._items[item.nodeid] = (cell, weight)
            kept.append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    @pytest.fixture
    def student(self, request):
        cell, _ = self._items[request.node.nodeid]
        student = self.students[cell.notebook]
        student.seed(stable_seed(request.node.nodeid))
        return student

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        with watchdog(self.check_timeout if item.nodeid in self._items else None), timing.check_body():
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if item.nodeid not in self._items:
            return
        cell, weight = self._items[item.nodeid]
        name = item.nodeid.split("/")[-1]
        if report.skipped and call.when in ("setup", "call"):
            self.results.append(CheckResult(cell.notebook, cell.grade_id, name, weight, False,
                                            skip_message(report.longrepr), True))
        elif report.failed and call.when in ("setup", "call"):
            message = explain_failure(call.excinfo.value) if call.excinfo else "Kontrol başarısız oldu."
            self.results.append(CheckResult(cell.notebook, cell.grade_id, name, weight, False, message,
                                            seconds=round(call.duration, 4)))
        elif report.passed and call.when == "call":
            self.results.append(CheckResult(cell.notebook, cell.grade_id, name, weight, True,
                                            seconds=round(call.duration, 4)))


class _PlainFailureReports:
    """Failure reports without pytest's formatted traceback.

    The grader never shows pytest's report (the student's message comes from the exception itself, see
    ``_GradingPlugin.pytest_runtest_makereport``), yet pytest formats every failure's traceback with the parsed
    source of each frame: ~0.1 s a failed check, seconds for a stub or a buggy submission. Passing and skipped
    checks keep pytest's own report (cheap, and a skip's reason is read from it).
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        excinfo = call.excinfo
        if excinfo is None or isinstance(excinfo.value, pytest.skip.Exception):
            return None
        brief = f"{excinfo.typename}: {str(excinfo.value)[:500]}"
        return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed", brief,
                                 call.when, [], call.duration, call.start, call.stop, item.user_properties)


#: pytest's command line for grading. Only what grading uses: no terminal report (results come from the plugin,
#: collection errors too), no output capture (the checks' output goes to a sink), no caches or warnings machinery,
#: no plugins installed beside pytest (their hooks would run on every check; the watchdog bounds a check, not
#: pytest-timeout). Plain asserts: a check's message is the student's feedback, and pytest's assertion rewriting
#: would put both compared values into it (the expected one too); it also scans every installed distribution on
#: each run (~15 ms a submission).
_DISABLED_PLUGINS = ("terminal", "capture", "cacheprovider", "randomly", "unraisableexception", "threadexception",
                     "faulthandler", "warnings", "junitxml", "pastebin", "doctest", "logging", "debugging",
                     "stepwise", "setuponly", "setupplan", "unittest", "legacypath")


def _pytest_args(checks: Path, ini: Path) -> list[str]:
    args = [str(checks), "-c", str(ini), "--rootdir", str(checks), "--import-mode=importlib", "--assert=plain",
            "--disable-plugin-autoload"]
    for plugin_name in _DISABLED_PLUGINS:
        args += ["-p", f"no:{plugin_name}"]
    return args


def run_checks(assignment: Assignment, students: dict[str, Student], only: set[str] | None = None,
               check_timeout: float | None = None) -> list[CheckResult]:
    """Run the hidden suite with these student proxies; raises SuiteError if the suite is broken.

    ``only``: run just the checks of these notebooks. ``check_timeout``: wall-clock bound of each check body.

    The suite is configured and collected once per grading process (:class:`CollectedSuite`) and run again for
    each submission; a suite that does not collect raises the same SuiteError for every submission.
    """
    checks = assignment.checks_dir
    if not checks.is_dir():
        raise SuiteError(f"{assignment.id} has no hidden checks (source/{assignment.id}/checks missing)")
    suite = CollectedSuite.for_assignment(assignment, check_timeout)
    if suite is not None:
        return suite.run(students, only)
    return _run_once(assignment, students, only, check_timeout)


def _run_once(assignment: Assignment, students: dict[str, Student], only: set[str] | None,
              check_timeout: float | None) -> list[CheckResult]:
    """One ``pytest.main`` for one submission: configure, collect, run, finish."""
    plugin = _GradingPlugin(assignment, students, only, check_timeout)
    _forget_other_courses_modules(assignment.checks_dir)
    with tempfile.TemporaryDirectory(prefix="ag-pytest-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            code = pytest.main(_pytest_args(assignment.checks_dir, ini), plugins=[plugin, _PlainFailureReports()])
    error = _suite_error(assignment, plugin, int(code), sink)
    if error is None and code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        error = SuiteError(f"hidden checks of {assignment.id} did not run (pytest exit {int(code)}):\n"
                           + "\n".join(sink.getvalue().strip().splitlines()[-15:]))
    if error is not None:
        _forget_check_modules(assignment.checks_dir)
        raise error
    return plugin.results


def _suite_error(assignment: Assignment, plugin: "_GradingPlugin", code: int, sink: io.StringIO) -> SuiteError | None:
    """What is wrong with the suite as collected (checks without a grade cell, files that do not import), if any."""
    if plugin.problems:
        return SuiteError("hidden checks are malformed: " + "; ".join(plugin.problems))
    if plugin.collection_errors:
        return SuiteError(f"hidden checks of {assignment.id} did not run (pytest exit {code}):\n"
                          + "\n".join(plugin.collection_errors))
    return None


def _forget_other_courses_modules(checks: Path):
    """Drop modules named like a file in ``checks`` that were imported from another folder (another course's
    ``test_mini.py`` graded earlier in this process): pytest's importlib mode would take those by name."""
    try:
        folder = checks.resolve()
        names = {p.stem: p for p in folder.glob("*.py")}
    except OSError:
        return
    for name, path in names.items():
        file = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(file, str) and Path(file).resolve() != path:
            sys.modules.pop(name, None)


def _forget_check_modules(checks: Path):
    """Drop the check modules imported from ``checks``. pytest leaves a module that failed to import in
    ``sys.modules``, half made, and its importlib mode would take that one next time: the next submission would
    be graded without that file's checks, and without an error."""
    try:
        folder = checks.resolve()
    except OSError:
        return
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and Path(file).parent == folder:
            sys.modules.pop(name, None)


class CollectedSuite:
    """A hidden suite configured and collected once in this process, then run for one submission after another.

    Configuring pytest and collecting a chapter's suite costs ~55-60 ms, a third of the grader's own time per
    submission; the checks themselves are the same for every student. Each run goes through pytest's own test
    protocol for every item (setup, call, teardown, reports, the same hooks as ``pytest.main``), and the last item
    of a run tears down every fixture, session-scoped ones included, so each student's checks start from fixtures
    set up afresh, as in a run of their own. What is shared between students is what ``pytest.main`` already
    shares in one process: the imported check modules (pytest's importlib mode keeps them in ``sys.modules``), now
    the ``conftest.py`` too. Values computed for everyone belong in :func:`autograder.checks.cache.per_process`.

    Built with pytest's configuration and session objects the way ``pytest.main`` builds them. If building fails
    (a pytest whose internals moved, a conftest that does not import), :func:`run_checks` falls back to a
    ``pytest.main`` per submission, with the same results and errors.
    """

    _current: "CollectedSuite | None" = None

    def __init__(self, key: tuple, assignment: Assignment, check_timeout: float | None):
        from _pytest.config import _prepareconfig

        self.key = key
        self.plugin = _GradingPlugin(assignment, {}, None, check_timeout)
        self.config = self.session = None
        sink = io.StringIO()
        # The empty ini keeps pytest from reading a configuration above the checks; it is read while configuring
        # only, so it is gone before any student is graded (a grading process may end without cleaning up).
        with tempfile.TemporaryDirectory(prefix="ag-pytest-") as tmp:
            ini = Path(tmp) / "pytest.ini"
            ini.write_text("[pytest]\n")
            _forget_other_courses_modules(assignment.checks_dir)
            try:
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    self.config = _prepareconfig(_pytest_args(assignment.checks_dir, ini),
                                                 plugins=[self.plugin, _PlainFailureReports()])
                    self.session = pytest.Session.from_config(self.config)
                    self.config._do_configure()
                    self.config.hook.pytest_sessionstart(session=self.session)
                    self.config.hook.pytest_collection(session=self.session)
            except BaseException:
                self.close()
                raise
        self.items = list(self.session.items)
        self.error = _suite_error(assignment, self.plugin, int(pytest.ExitCode.INTERRUPTED), sink)

    @classmethod
    def for_assignment(cls, assignment: Assignment, check_timeout: float | None) -> "CollectedSuite | None":
        """This process's collected suite for the assignment (built on first use), or None if it cannot be."""
        # The same check files, grade cells and bound, in this process (a forked grading process builds its own).
        checks = assignment.checks_dir.resolve()
        try:
            files = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(checks.glob("*.py")))
        except OSError:
            return None
        key = (os.getpid(), str(checks), files, assignment.id, check_timeout,
               tuple((g.grade_id, g.notebook, g.points, g.manual) for g in assignment.grade_cells))
        current = cls._current
        if current is not None and current.key == key:
            if current.error is not None:
                raise current.error
            return current
        if current is not None:
            cls._current = None
            if current.key[0] == os.getpid():
                current.close()
        try:
            suite = cls(key, assignment, check_timeout)
        except Exception:  # noqa: BLE001 - pytest.main, per submission, reports what is wrong
            _forget_check_modules(checks)
            return None
        cls._current = suite
        if suite.error is not None:
            # Every submission gets the same error until the files change (then they are imported again).
            suite.close()
            _forget_check_modules(checks)
            raise suite.error
        return suite

    def run(self, students: dict[str, Student], only: set[str] | None) -> list[CheckResult]:
        plugin = self.plugin
        plugin.students, plugin.results = students, []
        items = [item for item in self.items if only is None or plugin._items[item.nodeid][0].notebook in only]
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                for i, item in enumerate(items):
                    # nextitem None after the last: every fixture is torn down before the next student.
                    item.ihook.pytest_runtest_protocol(item=item, nextitem=items[i + 1] if i + 1 < len(items)
                                                       else None)
                    if self.session.shouldfail or self.session.shouldstop:
                        raise SuiteError(f"hidden checks of {plugin.assignment.id} stopped: "
                                         f"{self.session.shouldfail or self.session.shouldstop}")
        except BaseException:
            # Half a run leaves fixtures set up: never run this suite again.
            if CollectedSuite._current is self:
                CollectedSuite._current = None
            self.close()
            raise
        finally:
            plugin.students = {}
        return plugin.results

    def close(self):
        """Finish the session and unconfigure pytest (once; errors here are no one's grade)."""
        config, session, self.config, self.session = self.config, self.session, None, None
        with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            if session is not None:
                session._setupstate.teardown_exact(None)
                config.hook.pytest_sessionfinish(session=session, exitstatus=0)
            if config is not None:
                config._ensure_unconfigure()
