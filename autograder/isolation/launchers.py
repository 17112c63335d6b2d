"""Starting worker processes with limits inside the chosen isolation, and stopping them for sure.

A worker is ``python -P -m autograder.sandboxed.worker`` (or the template that forks workers,
``autograder.sandboxed.template``). This module decides how it is started: environment, resource limits,
control group, identity, and the directory it may write to. ``-P`` keeps the working directory off
``sys.path``: nothing a student writes is ever imported by the next one.
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.isolation.cgroups import WorkerCgroup
from autograder.isolation.limits import Limits
from autograder.isolation.policy import PACKAGE_DIR, Isolation
from autograder.wire.control import recv_reply, send_command

#: Imported by a worker template that was not told what its notebooks import (every module the course uses, ~4 s).
#: Grading passes the assignment's own imports instead (Assignment.imports).
PRELOAD = ("torch", "numpy", "matplotlib.pyplot", "sklearn.datasets", "sklearn.model_selection",
           "sklearn.preprocessing", "torchvision", "statsmodels.datasets")


class TemplateError(OSError):
    """The worker template could not start or stopped working: the grading machine's fault, not a student's."""


def _tasks_of(uid: int) -> int:
    """Processes and threads that this user runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as fh:
                    fields = dict(line.split(":", 1) for line in fh if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    count += int(fields["Threads"])
            except (OSError, KeyError, ValueError):
                pass
    return count


def _limit_child(limits: Limits, isolation: Isolation, cgroup: WorkerCgroup | None = None):
    """Runs in the child between fork and exec: limits, control group, then the identity drop."""
    # RLIMIT_NPROC counts every task of the (real) user, so the bound is "what runs now + headroom". As root the
    # pids cgroup does it; without one, the unprivileged sandbox user is bound by RLIMIT_NPROC.
    uid = isolation.user.uid if isolation.user is not None else os.geteuid()
    nproc = 0 if uid == 0 or (cgroup is not None and isolation.user is not None) else _tasks_of(uid) + limits.processes

    def apply():
        _set(resource.RLIMIT_CORE, 0)
        _set(resource.RLIMIT_DATA, limits.memory)
        _set(resource.RLIMIT_CPU, limits.cpu_time)
        _set(resource.RLIMIT_NOFILE, limits.open_files)
        _set(resource.RLIMIT_FSIZE, limits.file_size)
        if nproc:
            _set(resource.RLIMIT_NPROC, nproc)
        if cgroup is not None:
            cgroup.join()  # while still root: an unprivileged process cannot join, nor leave
        isolation.before_exec()
        # Die with the grader rather than linger as an orphan (set after the drop, which clears it).
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass

    return apply


def _set(which, value):
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


def worker_env(scratch: Path, extra: dict | None = None) -> dict:
    """A small, explicit environment: nothing of the grader's leaks in."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "AUTOGRADER_SCRATCH": str(scratch),  # where the template makes each worker's home, and wipes it
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch / ".mpl"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "AUTOGRADER_GRADING": "1",
    }
    # The package itself must be importable in the worker, wherever it is installed.
    env["PYTHONPATH"] = str(PACKAGE_DIR.parent)
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES"):
        if key in os.environ:
            env[key] = os.environ[key]
    if extra:
        env.update(extra)
    return env


def killed_by(sig: int) -> str:
    try:
        return f"killed by signal {signal.Signals(sig).name}"
    except ValueError:
        return f"killed by signal {sig}"


class WorkerProcess:
    """A started worker: its process and its private directory (start log, and scratch outside bubblewrap).

    Its parent can wait for it; a process forked from that parent afterwards (a grading process of the pool that
    took over a template started early, see :meth:`TemplateLauncher.begin`) cannot, and watches it through a
    pidfd instead: the pid stays the parent's unreaped child, so it is never reused meanwhile.
    """

    def __init__(self, popen: subprocess.Popen, workdir: tempfile.TemporaryDirectory):
        self.popen = popen
        self._workdir = workdir
        self.workdir = Path(workdir.name)
        self._parent = os.getpid()
        self._pidfd: int | None = None

    @property
    def pid(self):
        return self.popen.pid

    def _adopted(self) -> bool:
        return os.getpid() != self._parent

    def _exited(self, timeout: float = 0.0) -> bool:
        """In an adopting process: has the process ended (within ``timeout`` seconds)?"""
        import select

        if self._pidfd is None:
            try:
                self._pidfd = os.pidfd_open(self.popen.pid)
            except (AttributeError, OSError):
                return True  # cannot watch it: take it for gone (its launcher starts another)
        return bool(select.select([self._pidfd], [], [], timeout)[0])

    def alive(self) -> bool:
        if self._adopted():
            return not self._exited()
        return self.popen.poll() is None

    def exit_description(self) -> str:
        if self._adopted():
            return "exited" if self._exited() else "running"
        code = self.popen.poll()
        if code is None:
            return "running"
        return killed_by(-code) if code < 0 else f"exited with code {code}"

    def start_log(self) -> str:
        try:
            return (self.workdir / "worker-start.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def kill(self):
        """Kill the worker and everything it started in its session."""
        self._kill_inside_bwrap()
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._adopted():
            self._exited(timeout=10)  # gone before its folder is wiped; its parent reaps it
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        else:
            try:
                self.popen.kill()
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._workdir.cleanup()


    def _kill_inside_bwrap(self):
        """Under bubblewrap, kill the process it runs first and let bubblewrap reap it and exit (within a second).

        Killed first, bubblewrap takes its sandboxed process down with it (--die-with-parent) but no longer reaps
        it: it is handed to the machine's init as a zombie, and an init that is slow to reap (or never does, in
        some containers) keeps it listed after grading has ended.
        """
        pid = self.popen.pid
        try:
            with open(f"/proc/{pid}/comm") as fh:
                if fh.read().strip() != "bwrap":
                    return
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                children = [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            return
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._adopted():
            self._exited(timeout=1)
        else:
            try:
                self.popen.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass


def spawn_worker(fd: int, limits: Limits, isolation: Isolation | None = None,
                 env_extra: dict | None = None, module: str = "autograder.sandboxed.worker",
                 cgroup: WorkerCgroup | None = None, preload: tuple[str, ...] = ("torch", "numpy")) -> WorkerProcess:
    """Start ``python -P -m module --fd fd`` in the sandbox (a worker, or the template that forks workers)."""
    isolation = isolation or Isolation()
    workdir = tempfile.TemporaryDirectory(prefix="ag-worker-")
    path = Path(workdir.name)
    # The scratch folder is the only place student code may write (outside bubblewrap, which gives a private
    # /tmp instead). The start log beside it belongs to the grader.
    scratch = path / "scratch"
    scratch.mkdir(mode=0o700)
    if isolation.user is not None:
        os.chown(scratch, isolation.user.uid, isolation.user.gid)
        os.chmod(path, 0o711)  # the sandbox user may pass through to its scratch, not list or read the log
    argv = [sys.executable, "-P", "-m", module, "--fd", str(fd), "--preload", ",".join(preload)]
    argv = isolation.wrap(argv)
    # Until the worker redirects its own output, start-up errors land in this file.
    log_fd = os.open(path / "worker-start.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        popen = subprocess.Popen(
            argv,
            cwd="/",
            env=worker_env(scratch, env_extra),
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            pass_fds=(fd,),
            start_new_session=True,
            preexec_fn=_limit_child(limits, isolation, cgroup),
        )
    finally:
        os.close(log_fd)
    return WorkerProcess(popen, workdir)


# ---------------------------------------------------------------------- launchers

class ForkedWorker:
    """A worker forked by the template: killed and inspected through it."""

    def __init__(self, pid: int, launcher: "TemplateLauncher"):
        self.pid = pid
        self.launcher = launcher

    def exit_description(self) -> str:
        status = self.launcher.child_status(self.pid)
        if status is None:
            return "running"
        if status == -1:
            return "gone"
        if os.WIFSIGNALED(status):
            return killed_by(os.WTERMSIG(status))
        return f"exited with code {os.WEXITSTATUS(status)}"

    def start_log(self) -> str:
        return self.launcher.template.start_log() if self.launcher.template else ""

    def kill(self):
        self.launcher.kill_child(self.pid)


class FreshLauncher:
    """Every worker is a new process that imports torch itself (simple, ~2 s each)."""

    def __init__(self, limits: Limits, isolation: Isolation | None = None, env_extra: dict | None = None,
                 preload: tuple[str, ...] = ()):
        self.limits, self.isolation, self.env_extra = limits, isolation, env_extra  # each worker imports its own

    def start(self):
        pass

    def spawn(self, fd: int):
        return spawn_worker(fd, self.limits, self.isolation, self.env_extra)

    def reset(self):
        pass

    def close(self):
        pass


class TemplateLauncher:
    """Workers forked from a warm template process (see autograder.sandboxed.template): milliseconds each.

    One template per trusted grading process. ``reset()`` between submissions kills
    every worker of the previous one and wipes what they wrote, so nothing of one
    student's outlives their grading. Any misbehaviour of the template (no answer,
    bad reply) replaces it.
    """

    CONTROL_TIMEOUT = 30.0
    START_TIMEOUT = 120.0

    def __init__(self, limits: Limits, isolation: Isolation | None = None, env_extra: dict | None = None,
                 preload: tuple[str, ...] = PRELOAD):
        self.limits, self.isolation, self.env_extra = limits, isolation or Isolation(), env_extra
        # torch first: the notebooks' other imports (torchvision, sklearn's array API support) build on it.
        self.preload = ("torch", *(m for m in preload if m != "torch"))
        self.template: WorkerProcess | None = None
        self.control = None
        self.cgroup = WorkerCgroup.create(limits.processes)
        self.start_seconds: float | None = None  # how long the latest template took to start
        self._begun: float | None = None  # begin() started a template that start() has not waited for yet
        self._begin_error: str | None = None

    def begin(self):
        """Start the template without waiting for it: its imports (seconds) overlap whatever the caller does
        next; :meth:`start` waits for it. Raises nothing: a template that cannot start is reported by ``start``."""
        import socket
        import time

        if self._begun is not None or (self.template is not None and self.template.alive()):
            return
        self._discard()
        self._begun = time.monotonic()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        os.set_inheritable(theirs.fileno(), True)
        try:
            self.template = spawn_worker(theirs.fileno(), self.limits, self.isolation, self.env_extra,
                                         module="autograder.sandboxed.template", cgroup=self.cgroup,
                                         preload=self.preload)
        except OSError as exc:
            ours.close()
            self._begin_error = f"the worker template could not be started: {exc}"
            return
        finally:
            theirs.close()
        self.control = ours

    def start(self):
        """Start the template now (if it is not running), or wait for the one :meth:`begin` started; raises
        TemplateError with its start log."""
        import time

        if self._begun is None:
            if self.template is not None and self.template.alive():
                return
            self.begin()
        began, self._begun = self._begun, None
        error, self._begin_error = self._begin_error, None
        if error:
            raise TemplateError(error)
        hello = self._reply(self.START_TIMEOUT)
        if not hello.get("ok"):
            self._discard()
            raise TemplateError("the worker template did not start")
        self.start_seconds = time.monotonic() - began

    def release_control(self):
        """Close this process's end of the control channel (a process that forked the one grading with it: the
        template must see its grading process go, which it does by the channel's end)."""
        if self.control is not None:
            self.control.close()
            self.control = None

    def _reply(self, timeout: float) -> dict:
        reply = recv_reply(self.control, timeout)
        if reply is None:
            log = self.template.start_log().strip() if self.template else ""
            self._discard()
            raise TemplateError("the worker template stopped answering" + (f":\n{log}" if log else ""))
        return reply

    def _command(self, message: dict, fds=None) -> dict:
        if self._begun is not None or self.template is None or not self.template.alive():
            self.start()
        try:
            send_command(self.control, message, fds)
        except OSError:
            self._discard()
            raise TemplateError("the worker template is gone") from None
        return self._reply(self.CONTROL_TIMEOUT)

    def spawn(self, fd: int) -> ForkedWorker:
        for attempt in range(2):
            reply = self._command({"op": "fork"}, [fd])
            pid = reply.get("pid")
            if reply.get("ok") and type(pid) is int and pid > 0:
                return ForkedWorker(pid, self)
            # Whatever filled the task cap goes with the template; a fresh one gets a second try.
            self._discard()
        raise TemplateError("the worker template could not fork")

    def child_status(self, pid: int):
        try:
            reply = self._command({"op": "status", "pid": pid})
        except OSError:
            return -1
        status = reply.get("status")
        return status if status is None or type(status) is int else -1

    def kill_child(self, pid: int):
        if self.template is None or not self.template.alive():
            return  # in a private PID namespace its children died with it
        if not self.isolation.private_pids:
            # Same PID namespace: kill the child's session directly, no round trip.
            _kill_session(pid)
            return
        try:
            self._command({"op": "kill_one", "pid": pid})
        except OSError:
            pass  # the template was replaced, and its children died with its namespace

    def reset(self):
        """Kill every worker forked so far and wipe what they wrote (between submissions)."""
        if self.template is None:
            return
        if self.cgroup is not None and not self.isolation.private_pids:
            # Without a PID namespace, processes that left their worker's session are found here; killed
            # before the template wipes the scratch folder, so that none writes into it afterwards.
            self.cgroup.kill_all(keep={self.template.pid})
        try:
            reply = self._command({"op": "kill"})
        except OSError:
            self._discard()
            return
        if not reply.get("ok") or reply.get("wiped") is not True:
            self._discard()  # what the student left could not be removed: nobody else meets it

    def _discard(self):
        self._begun = self._begin_error = None
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.template is not None:
            self.template.kill()
            self.template = None
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def close(self):
        self._discard()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter exit modules may already be gone
            pass


def _kill_session(pid: int):
    """Kill a child and everything in its session (it called setsid, so its pid is the group id)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
