"""Starting a worker process with limits, and stopping it for sure.

The worker is an ordinary ``python -m autograder.worker`` process. This module
decides *how* it is started: which environment it sees, which resource limits
bind it, which directory it may write to. An isolation backend (see
:class:`Isolation`) may wrap the command line, e.g. in bubblewrap; the plain
backend applies process limits only.
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import autograder

PACKAGE_DIR = Path(autograder.__file__).resolve().parent


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker. Times in seconds, sizes in bytes."""

    memory: int = 4 * 1024**3  # private data (heap and anonymous mappings)
    cpu_time: int = 900  # CPU seconds for the worker's whole life
    open_files: int = 256
    file_size: int = 256 * 1024**2
    cell_timeout: float = 60.0  # one cell, or one request from a check
    submission_timeout: float = 600.0  # everything of one notebook


@dataclass
class Isolation:
    """How workers are isolated. The plain backend: rlimits, own session and temp dir."""

    name: str = "process limits"
    missing: tuple[str, ...] = ("network", "file-system view", "process count")

    def wrap(self, argv: list[str], workdir: Path) -> list[str]:
        return argv

    def describe(self) -> str:
        text = f"isolation: {self.name}"
        if self.missing:
            text += " (not enforced: " + ", ".join(self.missing) + ")"
        return text


def _limit_child(limits: Limits):
    """Runs in the child between fork and exec."""

    def apply():
        _set(resource.RLIMIT_CORE, 0)
        _set(resource.RLIMIT_DATA, limits.memory)
        _set(resource.RLIMIT_CPU, limits.cpu_time)
        _set(resource.RLIMIT_NOFILE, limits.open_files)
        _set(resource.RLIMIT_FSIZE, limits.file_size)
        # Die with the grader rather than linger as an orphan.
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
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


def worker_env(workdir: Path, extra: dict | None = None) -> dict:
    """A small, explicit environment: nothing of the grader's leaks in."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".mpl"),
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


class WorkerProcess:
    """A started worker: its process, its private directory and its channel's far end."""

    def __init__(self, popen: subprocess.Popen, workdir: tempfile.TemporaryDirectory):
        self.popen = popen
        self._workdir = workdir
        self.workdir = Path(workdir.name)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def exit_description(self) -> str:
        code = self.popen.poll()
        if code is None:
            return "running"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with code {code}"

    def start_log(self) -> str:
        try:
            return (self.workdir / "worker-start.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def kill(self):
        """Kill the worker and everything it started in its session."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.kill()
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._workdir.cleanup()


def spawn_worker(fd: int, limits: Limits, isolation: Isolation | None = None,
                 env_extra: dict | None = None) -> WorkerProcess:
    """Start a worker that talks over the inherited socket ``fd``."""
    isolation = isolation or Isolation()
    workdir = tempfile.TemporaryDirectory(prefix="ag-worker-")
    path = Path(workdir.name)
    argv = [sys.executable, "-m", "autograder.worker", "--fd", str(fd)]
    argv = isolation.wrap(argv, path)
    # Until the worker redirects its own output, start-up errors land in this file.
    with open(path / "worker-start.log", "wb") as start_log:
        popen = subprocess.Popen(
            argv,
            cwd=path,
            env=worker_env(path, env_extra),
            stdin=subprocess.DEVNULL,
            stdout=start_log,
            stderr=start_log,
            pass_fds=(fd,),
            start_new_session=True,
            preexec_fn=_limit_child(limits),
        )
    return WorkerProcess(popen, workdir)
