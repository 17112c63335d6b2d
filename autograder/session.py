"""The trusted side's view of one running notebook: start it, run its cells, talk to it.

A :class:`NotebookRun` owns at most one worker at a time. If the worker dies or
stops answering during a check, that check fails and the next check gets a
fresh worker that runs the notebook's cells again, so one hostile function
costs the points of the checks that call it, not the whole notebook. A function
that hangs or kills the worker twice is not called again: the checks that call
it fail at once, without a timeout or a restart, and the checks of every other
function keep a worker. Restarts are bounded by the notebook's total time and
by :data:`MAX_RESTARTS`.
"""
from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass

from autograder.wire.protocol import (
    Channel,
    Handle,
    PeerClosed,
    ProtocolError,
    ReplyTimeout,
    decode_value,
    encode_value,
    socketpair,
)
from autograder import timing
from autograder.isolation import FreshLauncher, Limits
from autograder.isolation.policy import own_process

# What the trusted side keeps of any text from the worker, before any regex or formatting sees it: a student
# controls the worker, including the caps it applies itself.
TYPE_KEEP = 200
MESSAGE_KEEP = 2000
TRACEBACK_KEEP = 8000

START_TIMEOUT = 120.0  # importing torch on a loaded machine can take a while
GRACE = 5.0  # the worker's own alarm fires first; this is the hard stop after it
# Each restart has its own cause (a cell skipped from then on, or a function that hung); the notebook's total
# time bounds them too.
MAX_RESTARTS = 6
# How often a function may hang or kill its worker before its later checks fail without calling it: twice, so that
# a function that hangs on one input still earns the checks of its other inputs.
HANG_TRIES = 2


class StudentCodeError(Exception):
    """Student code raised an exception while serving a request."""

    def __init__(self, error: dict):
        error = bounded_error(error)
        self.type = error["type"]
        self.message = error["message"]
        self.traceback = error["traceback"]
        super().__init__(f"{self.type}: {self.message}")


def _text(value, keep: int, tail: bool = False) -> str:
    text = value if isinstance(value, str) else ""
    return text[-keep:] if tail else text[:keep]


def bounded_error(error) -> dict:
    """An error dict from the worker with every field a string of bounded length (anything else is dropped)."""
    error = error if isinstance(error, dict) else {}
    return {"type": _text(error.get("type"), TYPE_KEEP) or "Exception",
            "message": _text(error.get("message"), MESSAGE_KEEP),
            "traceback": _text(error.get("traceback"), TRACEBACK_KEEP, tail=True)}


class WorkerLost(Exception):
    """The worker is gone or unusable: ``kind`` is 'timeout', 'crashed', 'protocol' or 'infrastructure'.

    'infrastructure' means the grading machine failed (the worker could not be started, or died before any
    student code ran): the submission's status is then ``error``, never the student's crash.
    """

    def __init__(self, kind: str, detail: str, culprit: str | None = None):
        self.kind = kind
        self.detail = detail
        # What was running: "cell <label>" or "function <name>" (None: a start, or a request of the grader's own).
        self.culprit = culprit
        super().__init__(f"{kind}: {detail}")


def culprit_text(culprit: str | None) -> str:
    """The culprit in Turkish for feedback: "`double` fonksiyonu", "`scale` hücresi" ("" if unknown)."""
    if not culprit:
        return ""
    kind, _, name = culprit.partition(" ")
    return f"`{name}` fonksiyonu" if kind == "function" else f"`{name}` hücresi"


class NotCalledAgain(WorkerLost):
    """A check's call was not made: that function already hung or killed its worker :data:`HANG_TRIES` times."""


@dataclass
class CellToRun:
    label: str  # grade_id of the cell, or "cell N" for a cell without one
    source: str
    index: int | None = None  # its position in the notebook that is written for formgrader (None: not there)


@dataclass
class CellOutcome:
    label: str
    ok: bool
    error: dict | None = None
    output: str = ""


def stable_seed(text: str) -> int:
    """A seed that depends only on ``text``: same for every student, process and order."""
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


class WorkerClient:
    """One worker process and its channel."""

    def __init__(self, limits: Limits, launcher):
        self.limits = limits
        self.channel = None
        ours, theirs = socketpair()
        try:
            self.process = launcher.spawn(theirs.fileno())
        except OSError as exc:
            ours.close()
            raise WorkerLost("infrastructure", f"worker could not be started: {exc}") from None
        finally:
            theirs.close()
        self.channel = Channel(ours, max_blob=limits.reply_bytes)
        self.next_id = 1
        self.dead: WorkerLost | None = None
        try:
            hello, _ = self.channel.receive(time.monotonic() + START_TIMEOUT)
        except ProtocolError as exc:
            # No student code has run yet: this is the machine's failure, not the student's.
            time.sleep(0.05)
            detail = self.process.start_log().strip().splitlines()[-1:] or [str(exc)]
            self._lose("infrastructure", f"worker did not start: {detail[0][:500]}")
        if not hello.get("ok"):
            self._lose("infrastructure", "worker sent a bad greeting")

    def _lose(self, kind: str, detail: str):
        self.dead = WorkerLost(kind, detail)
        self.close()
        raise self.dead

    def request(self, op: str, timeout: float | None = None, tensors: dict | None = None, **payload):
        """Send one request; return (reply, tensors). Raises WorkerLost if the worker fails."""
        if self.dead:
            raise self.dead
        if self.channel is None:
            raise WorkerLost("crashed", "worker was stopped")
        timeout = self.limits.cell_timeout if timeout is None else timeout
        rid = self.next_id
        self.next_id += 1
        message = {"id": rid, "op": op, "timeout": timeout, **payload}
        sent = time.perf_counter()
        try:
            self.channel.send(message, tensors)
            reply, reply_tensors = self.channel.receive(time.monotonic() + timeout + GRACE)
        except ReplyTimeout:
            self._lose("timeout", f"no answer within {timeout:g} s")
        except PeerClosed:
            time.sleep(0.05)
            self._lose("crashed", f"worker {self.process.exit_description()}")
        except ProtocolError as exc:
            self._lose("protocol", str(exc)[:500])
        except OSError as exc:
            self._lose("crashed", f"channel failed: {exc}")
        except BaseException:
            # Interrupted half-way (the check's watchdog): the channel may hold half a reply; never reuse it.
            self.dead = WorkerLost("timeout", "the check was stopped while waiting for the worker")
            self.close()
            raise
        roundtrip = time.perf_counter() - sent
        busy = timing.reported_busy(reply.get("busy"), roundtrip)
        suffix = "_cells" if op == "run_cell" else ""
        timing.add("roundtrip", roundtrip)
        timing.add("busy", busy)
        if suffix:
            timing.add("roundtrip" + suffix, roundtrip)
            timing.add("busy" + suffix, busy)
        if reply.get("id") != rid or not isinstance(reply.get("ok"), bool):
            self._lose("protocol", "reply does not match the request")
        error = reply.get("error")
        if error is not None and not isinstance(error, dict):
            self._lose("protocol", "malformed error in reply")
        if not reply["ok"] and error and error.get("type") == "GradingTimeout":
            # The worker stopped the code itself and is still usable.
            raise WorkerLost("timeout", f"no answer within {timeout:g} s")
        return reply, reply_tensors

    def close(self):
        """Stop the worker (once; later calls do nothing)."""
        if self.channel is None:
            return
        try:
            self.channel.send({"id": 0, "op": "shutdown"})
        except ProtocolError:
            pass
        self.channel.close()
        self.channel = None
        self.process.kill()


class NotebookRun:
    """One notebook of one submission, executed in a worker and open to checks."""

    def __init__(self, name: str, cells: list[CellToRun], limits: Limits, launcher=None,
                 student_cells: list[CellToRun] | None = None):
        self.name = name
        self.cells = cells
        self.limits = limits
        # Without a launcher (a student's self-check), the code runs as the caller: it is their own.
        self.launcher = launcher or FreshLauncher(limits, own_process())
        self.student_cells = student_cells or []  # the code the student wrote, for static checks
        self.client: WorkerClient | None = None
        self.outcomes: list[CellOutcome] = []
        self.events: list[WorkerLost] = []  # every timeout / crash seen, in order
        self.starts = 0
        self.poisoned: dict[str, str] = {}  # cells that killed or hung the worker: label -> why
        self.hangs: dict[str, int] = {}  # functions that hung or killed the worker: name -> how often
        self.time_used = 0.0
        self.cells_time = 0.0  # time the worker spent running the notebook's cells
        self._pending_seed: int | None = None  # sent with the next request (see reseed)
        self._budget_exhausted = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def status(self) -> str:
        kinds = {e.kind for e in self.events}
        if "infrastructure" in kinds:
            return "error"
        if "crashed" in kinds or "protocol" in kinds:
            return "crashed"
        if "timeout" in kinds:
            return "timeout"
        return "ok"

    def _remaining(self) -> float:
        return self.limits.submission_timeout - self.time_used

    def ensure_started(self):
        """Have a worker that ran the notebook's cells; restart it if it is gone.

        A cell that kills or hangs the worker while the notebook runs is skipped
        on the next start, right away: no check is blamed for it.
        """
        while self.client is None or self.client.dead is not None:
            if self._budget_exhausted:
                raise WorkerLost("timeout", "the notebook used up its total time")
            if self.starts > MAX_RESTARTS:
                raise self.events[-1] if self.events else WorkerLost("crashed", "worker could not be restarted")
            lost = self._start_once()
            if lost is not None and lost[1] is None:
                raise lost[0]  # the worker itself could not start: no cell to skip

    def _start_once(self):
        """One start; returns None, or (WorkerLost, the cell that caused it or None)."""
        self.starts += 1
        t0 = time.monotonic()
        self.outcomes = []  # the cells of the latest (re)start
        current = None
        try:
            with timing.measure("start"):
                self.client = WorkerClient(self.limits, self.launcher)
            self.client.request("seed", seed=stable_seed(self.name))
            for cell in self.cells:
                current = cell
                if cell.label in self.poisoned:
                    # It took the worker down before: a restart runs everything but that cell.
                    outcome = CellOutcome(cell.label, False, {
                        "type": "Atlandı", "traceback": "",
                        "message": f"bu hücre çalışan süreci durdurdu ({self.poisoned[cell.label]}); "
                                   "notlandırma onu atlayarak sürdü"})
                else:
                    outcome = self._run_cell(cell)
                self.outcomes.append(outcome)
        except WorkerLost as lost:
            if current is not None and lost.culprit is None:
                lost.culprit = f"cell {current.label}"
            self._record(lost)
            self.close()
            if current is not None:
                self.poisoned[current.label] = lost.detail
            return lost, current
        finally:
            self.time_used += time.monotonic() - t0
        return None

    def _run_cell(self, cell: CellToRun) -> CellOutcome:
        timeout = min(self.limits.cell_timeout, max(self._remaining(), 0.1))
        t0 = time.monotonic()
        try:
            reply, _ = self.client.request("run_cell", timeout=timeout, source=cell.source)
        except WorkerLost as lost:
            if lost.kind == "timeout" and self.client.dead is None:
                # The worker interrupted the cell itself: note it and go on with the next cell.
                lost.culprit = f"cell {cell.label}"
                self._record(lost)
                return CellOutcome(cell.label, False, {"type": "Timeout", "message": lost.detail, "traceback": ""})
            raise
        finally:
            self.cells_time += time.monotonic() - t0
        error = bounded_error(reply["error"]) if reply.get("error") is not None else None
        return CellOutcome(cell.label, reply["ok"], error, _text(reply.get("output"), 1000, tail=True))

    def _record(self, lost: WorkerLost):
        if not self.events or self.events[-1] is not lost:
            self.events.append(lost)

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    # ------------------------------------------------------------------ requests
    def reseed(self, seed: int):
        """Seed the worker's generators before its next request runs (every check starts with one).

        The seed travels with that request instead of as a round trip of its own: nothing runs in the worker in
        between, so the student's random streams are the same. The worker is started here, as a request would.
        """
        self.ensure_started()
        self._pending_seed = seed

    def request(self, op: str, timeout: float | None = None, tensors=None, culprit: str | None = None, **payload):
        """One request to the worker; ``culprit`` names the student's function it runs (``function <name>``)."""
        if culprit is not None and self.hangs.get(culprit, 0) >= HANG_TRIES:
            raise NotCalledAgain("timeout", f"{culprit} already stopped the worker {self.hangs[culprit]} times",
                                 culprit)
        self.ensure_started()
        if self._pending_seed is not None:
            payload["reseed"], self._pending_seed = self._pending_seed, None
        remaining = self._remaining()
        if remaining <= 0:
            self._budget_exhausted = True
            raise WorkerLost("timeout", "the notebook used up its total time")
        timeout = min(self.limits.cell_timeout if timeout is None else timeout, remaining)
        t0 = time.monotonic()
        try:
            return self.client.request(op, timeout=timeout, tensors=tensors, **payload)
        except WorkerLost as lost:
            if culprit is not None and lost.kind in ("timeout", "crashed", "protocol"):
                lost.culprit = culprit
                self.hangs[culprit] = self.hangs.get(culprit, 0) + 1
            self._record(lost)
            if self.client is not None and lost.kind == "timeout" and self.client.dead is None:
                # Code that was stopped may have left state half-changed: start afresh next time.
                self.close()
            raise
        finally:
            self.time_used += time.monotonic() - t0


_NAME = re.compile(r"[^\w.]")


def _culprit(obj, method: str | None = None) -> str | None:
    """``function <name>`` for a call: a global's name, or the type and method of an object kept in the worker."""
    if isinstance(obj, str):
        name = obj
    elif isinstance(obj, Handle):
        name = str(obj.type).rsplit(".", 1)[-1]  # the worker names the type: shown, never trusted
    else:
        return None
    if method:
        name = f"{name}.{method if isinstance(method, str) else '.'.join(map(str, method))}"
    return "function " + _NAME.sub("", name)[:80]


class Student:
    """What a hidden check sees: a proxy to the student's notebook in its worker.

    Every method sends a request and returns decoded plain data (numbers,
    strings, numpy arrays, CPU tensors) or :class:`Handle` objects for values
    that stay in the worker. Student exceptions arrive as StudentCodeError.
    """

    def __init__(self, run: NotebookRun):
        self._run = run

    @property
    def notebook(self) -> str:
        return self._run.name

    @property
    def source(self) -> str:
        """The code the student wrote (answer cells and added cells, as graded), joined."""
        return "\n\n".join(c.source for c in self.source_cells)

    @property
    def source_cells(self) -> list[CellToRun]:
        """The code the student wrote, cell by cell (label = grade_id of the answer cell)."""
        return list(self._run.student_cells)

    @property
    def cell_outcomes(self) -> list[CellOutcome]:
        self._run.ensure_started()
        return list(self._run.outcomes)

    def _value(self, op, *, timeout=None, tensors=None, culprit=None, **payload):
        reply, reply_tensors = self._run.request(op, timeout=timeout, tensors=tensors, culprit=culprit, **payload)
        if not reply["ok"]:
            raise StudentCodeError(reply.get("error") or {})
        try:
            return decode_value(reply.get("value"), reply_tensors)
        except ProtocolError as exc:
            lost = WorkerLost("protocol", str(exc))
            self._run._record(lost)
            self._run.close()
            raise lost from None

    @staticmethod
    def _target(obj, path=None) -> dict:
        if isinstance(obj, Handle):
            target = {"handle": obj.id}
        elif isinstance(obj, str):
            target = {"global": obj}
        else:
            raise TypeError(f"target must be a global name or a Handle, not {type(obj).__name__}")
        if path:
            target["path"] = path.split(".") if isinstance(path, str) else list(path)
        return target

    def call(self, fn, *args, keep: bool = False, contexts=(), timeout: float | None = None, **kwargs):
        """Call a student's function (a global name or a Handle) with these arguments."""
        return self._call(self._target(fn), args, kwargs, keep, contexts, timeout, _culprit(fn))

    def call_method(self, obj, method: str, *args, keep: bool = False, contexts=(), timeout: float | None = None,
                    **kwargs):
        return self._call(self._target(obj, method), args, kwargs, keep, contexts, timeout, _culprit(obj, method))

    def _call(self, target, args, kwargs, keep, contexts, timeout, culprit=None):
        # One encoding pass for both, so their tensors share one blob.
        tree, tensors = encode_value([list(args), dict(kwargs)])
        tree_args, tree_kwargs = tree
        return self._value("call", timeout=timeout, tensors=tensors or None, culprit=culprit, target=target,
                           args=tree_args, kwargs=tree_kwargs, keep=bool(keep), contexts=list(contexts))

    def get(self, obj, path: str | None = None, keep: bool = False):
        """Read a global (or an attribute of a Handle) by value, or keep it as a Handle."""
        return self._value("get", target=self._target(obj, path), keep=bool(keep))

    def put(self, value) -> Handle:
        """Store a value in the worker and get a Handle to it (to watch it being mutated)."""
        tree, tensors = encode_value(value)
        return self._value("put", tensors=tensors or None, value=tree)

    def describe(self, obj, path: str | None = None) -> dict:
        return self._value("describe", target=self._target(obj, path))

    def has(self, name: str) -> bool:
        return bool(self._value("has", name=name))

    def seed(self, seed: int):
        """Seed the worker's random generators (Python's, numpy's, torch's) before the next code it runs."""
        self._run.reseed(int(seed))

    def output(self, chars: int = 2000) -> str:
        return str(self._value("output", chars=chars))

