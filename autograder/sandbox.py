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
import time
from dataclasses import dataclass
from pathlib import Path

import autograder

PACKAGE_DIR = Path(autograder.__file__).resolve().parent

#: Imported once by the worker template, so that each forked worker has them for free (~4 s in all).
PRELOAD = ("torch", "numpy", "matplotlib.pyplot", "sklearn.datasets", "sklearn.model_selection",
           "sklearn.preprocessing", "torchvision", "statsmodels.datasets")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker. Times in seconds, sizes in bytes."""

    memory: int = 4 * 1024**3  # private data (heap and anonymous mappings)
    cpu_time: int = 900  # CPU seconds for the worker's whole life
    open_files: int = 256
    processes: int = 256  # processes and threads a worker may add
    file_size: int = 256 * 1024**2
    cell_timeout: float = 60.0  # one cell, or one request from a check
    submission_timeout: float = 600.0  # everything of one notebook


@dataclass
class Isolation:
    """How workers are isolated. This base class is the plain fallback: process limits only."""

    name: str = "process limits"
    missing: tuple[str, ...] = ("network", "file-system view and writes")
    private_pids: bool = False  # workers live in their own PID namespace (not killable by pid from here)

    def wrap(self, argv: list[str], workdir: Path) -> list[str]:
        return argv

    def describe(self) -> str:
        text = f"isolation: {self.name}"
        if self.missing:
            text += " (NOT enforced: " + ", ".join(self.missing) + ")"
        return text


def _python_paths() -> list[Path]:
    """What the worker must read to run Python and import this package — and nothing of the course."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), PACKAGE_DIR,
             Path(sys.executable).resolve().parent}
    for entry in sys.path:
        if entry and "site-packages" in entry and Path(entry).is_dir():
            paths.add(Path(entry).resolve())
    # Keep only the outermost of nested paths.
    ordered = sorted(paths, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in ordered:
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return kept


@dataclass
class Bubblewrap(Isolation):
    """bubblewrap: no network, read-only system, only Python and this package visible, a private tmp."""

    name: str = "bubblewrap"
    missing: tuple[str, ...] = ()
    private_pids: bool = True
    devices: tuple[str, ...] = ()  # e.g. /dev/nvidia* when grading on a GPU

    def wrap(self, argv: list[str], workdir: Path) -> list[str]:
        # --as-pid-1: the command (the worker template) is init of its PID namespace, which its children
        # cannot kill, and it reaps whatever they leave behind.
        args = ["bwrap", "--unshare-all", "--as-pid-1", "--die-with-parent", "--new-session", "--hostname", "sandbox",
                "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "etc"):
            path = Path("/") / top
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for path in _python_paths():
            args += ["--ro-bind", str(path), str(path)]
        for dev in self.devices:
            args += ["--dev-bind", dev, dev]
        args += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
        return args + ["--"] + argv


@dataclass
class UserNamespaces(Isolation):
    """unshare(1): own user, network and PID namespaces; the file system stays visible."""

    name: str = "user namespaces"
    missing: tuple[str, ...] = ("file-system view and writes",)
    private_pids: bool = True

    def wrap(self, argv: list[str], workdir: Path) -> list[str]:
        return ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child",
                "--mount", "--mount-proc", "--"] + argv


def _works(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def detect_isolation(requested: str = "auto", device: str = "cpu") -> Isolation:
    """The strongest isolation this machine allows (or the one asked for, if it works)."""
    import glob
    import shutil

    devices = tuple(sorted(glob.glob("/dev/nvidia*"))) if device == "cuda" else ()
    candidates = {
        "bwrap": lambda: Bubblewrap(devices=devices) if shutil.which("bwrap") and _works(
            ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "true"]) else None,
        "userns": lambda: UserNamespaces() if shutil.which("unshare") and _works(
            ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "true"]) else None,
        "none": lambda: Isolation(),
    }
    order = ["bwrap", "userns", "none"] if requested == "auto" else [requested]
    for name in order:
        found = candidates[name]()
        if found is not None:
            if os.geteuid() == 0:
                # RLIMIT_NPROC does not bind root: a pids cgroup must do it, where one can be made.
                probe = WorkerCgroup.create(2)
                if probe is None:
                    found.missing = (*found.missing, "process count (grader runs as root, no cgroup)")
                else:
                    probe.remove()
            return found
    raise OSError(f"isolation {requested!r} is not available on this machine")


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


class WorkerCgroup:
    """Control groups that cap what the workers of one grading process may use together.

    - pids: how many processes and threads (RLIMIT_NPROC does not bind root);
    - cpu: at most one core, so a fork bomb or a busy loop slows its own grading,
      not the submissions graded beside it.
    Made where the machine allows it (root, cgroup v1 controllers or a writable
    cgroup v2 tree); removed, with anything left in it, when closed.
    """

    V1 = {"pids": "/sys/fs/cgroup/pids", "cpu": "/sys/fs/cgroup/cpu"}
    V2 = "/sys/fs/cgroup"

    def __init__(self, paths: list[Path]):
        self.paths = paths

    @classmethod
    def create(cls, max_tasks: int, cpus: float = 1.0) -> "WorkerCgroup | None":
        if os.geteuid() != 0:
            return None
        cls._remove_stale()
        name = f"autograder-{os.getpid()}-{id(object()):x}"
        made: list[Path] = []
        try:
            if (Path(cls.V1["pids"]) / "cgroup.procs").exists():
                pids = Path(cls.V1["pids"]) / name
                pids.mkdir()
                made.append(pids)
                (pids / "pids.max").write_text(str(max_tasks))
                cpu_root = Path(cls.V1["cpu"])
                if (cpu_root / "cpu.cfs_quota_us").exists():
                    cpu = cpu_root / name
                    cpu.mkdir()
                    made.append(cpu)
                    (cpu / "cpu.cfs_period_us").write_text("100000")
                    (cpu / "cpu.cfs_quota_us").write_text(str(int(100000 * cpus)))
            elif "pids" in (Path(cls.V2) / "cgroup.subtree_control").read_text().split():
                group = Path(cls.V2) / name
                group.mkdir()
                made.append(group)
                (group / "pids.max").write_text(str(max_tasks))
                if (group / "cpu.max").exists():
                    (group / "cpu.max").write_text(f"{int(100000 * cpus)} 100000")
            else:
                return None
        except OSError:
            cls(made).remove()
            return None
        return cls(made)

    @classmethod
    def _remove_stale(cls):
        """Groups left by a grader that was killed before it could clean up (its pid is gone)."""
        for root in (*cls.V1.values(), cls.V2):
            for path in Path(root).glob("autograder-*"):
                pid = path.name.split("-")[1]
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    cls([path]).remove()

    def join(self):
        """Move the calling process in (between fork and exec)."""
        for path in self.paths:
            with open(path / "cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))

    def kill_all(self, keep: set[int] = frozenset()):
        """SIGKILL every task in the group but those in ``keep``."""
        for path in self.paths:
            try:
                pids = (path / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                if pid.isdigit() and int(pid) not in keep:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def remove(self):
        self.kill_all()
        for path in reversed(self.paths):
            for _ in range(50):  # the killed tasks take a moment to leave
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)


def _limit_child(limits: Limits, cgroup: WorkerCgroup | None = None):
    """Runs in the child between fork and exec."""
    # RLIMIT_NPROC counts every task of the user, so the bound is "what runs now + headroom".
    # It does not bind root (see detect_isolation).
    nproc = 0 if os.geteuid() == 0 else _tasks_of(os.geteuid()) + limits.processes

    def apply():
        _set(resource.RLIMIT_CORE, 0)
        _set(resource.RLIMIT_DATA, limits.memory)
        _set(resource.RLIMIT_CPU, limits.cpu_time)
        _set(resource.RLIMIT_NOFILE, limits.open_files)
        _set(resource.RLIMIT_FSIZE, limits.file_size)
        if nproc:
            _set(resource.RLIMIT_NPROC, nproc)
        if cgroup is not None:
            cgroup.join()
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


def _killed_by(sig: int) -> str:
    try:
        return f"killed by signal {signal.Signals(sig).name}"
    except ValueError:
        return f"killed by signal {sig}"


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
        return _killed_by(-code) if code < 0 else f"exited with code {code}"

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
                 env_extra: dict | None = None, module: str = "autograder.worker",
                 cgroup: WorkerCgroup | None = None, preload: tuple[str, ...] = ("torch", "numpy")) -> WorkerProcess:
    """Start ``python -m module --fd fd`` in the sandbox (a worker, or the zygote that forks workers)."""
    isolation = isolation or Isolation()
    workdir = tempfile.TemporaryDirectory(prefix="ag-worker-")
    path = Path(workdir.name)
    argv = [sys.executable, "-m", module, "--fd", str(fd), "--preload", ",".join(preload)]
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
            preexec_fn=_limit_child(limits, cgroup),
        )
    return WorkerProcess(popen, workdir)


# ---------------------------------------------------------------------- launchers

class ForkedWorker:
    """A worker forked by the zygote: killed and inspected through it."""

    def __init__(self, pid: int, launcher: "ZygoteLauncher"):
        self.pid = pid
        self.launcher = launcher

    def exit_description(self) -> str:
        status = self.launcher.child_status(self.pid)
        if status is None:
            return "running"
        if status == -1:
            return "gone"
        if os.WIFSIGNALED(status):
            return _killed_by(os.WTERMSIG(status))
        return f"exited with code {os.WEXITSTATUS(status)}"

    def start_log(self) -> str:
        return self.launcher.template.start_log() if self.launcher.template else ""

    def kill(self):
        self.launcher.kill_child(self.pid)


class FreshLauncher:
    """Every worker is a new process that imports torch itself (simple, ~2 s each)."""

    def __init__(self, limits: Limits, isolation: Isolation | None = None, env_extra: dict | None = None):
        self.limits, self.isolation, self.env_extra = limits, isolation, env_extra

    def spawn(self, fd: int):
        return spawn_worker(fd, self.limits, self.isolation, self.env_extra)

    def reset(self):
        pass

    def close(self):
        pass


class ZygoteLauncher:
    """Workers forked from a warm template process (see autograder.zygote): milliseconds each.

    One template per trusted grading process. ``reset()`` between submissions kills
    every worker of the previous one, so no student's process outlives its grading.
    Any misbehaviour of the template (no answer, bad reply) replaces it.
    """

    CONTROL_TIMEOUT = 30.0
    START_TIMEOUT = 120.0

    def __init__(self, limits: Limits, isolation: Isolation | None = None, env_extra: dict | None = None):
        self.limits, self.isolation, self.env_extra = limits, isolation, env_extra
        self.template: WorkerProcess | None = None
        self.control = None
        self.cgroup = WorkerCgroup.create(limits.processes)

    def _start(self):
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        os.set_inheritable(theirs.fileno(), True)
        try:
            self.template = spawn_worker(theirs.fileno(), self.limits, self.isolation, self.env_extra,
                                         module="autograder.zygote", cgroup=self.cgroup, preload=PRELOAD)
        finally:
            theirs.close()
        self.control = ours
        hello = self._reply(self.START_TIMEOUT)
        if not hello.get("ok"):
            self._discard()
            raise OSError("the worker template did not start")

    def _reply(self, timeout: float) -> dict:
        import json

        self.control.settimeout(timeout)
        try:
            data = self.control.recv(65536)
        except (OSError, TimeoutError) as exc:
            log = self.template.start_log().strip().splitlines()[-1:] if self.template else []
            self._discard()
            raise OSError(f"the worker template stopped answering ({log[0] if log else exc})") from None
        try:
            reply = json.loads(data) if data else None
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            self._discard()
            raise OSError("the worker template sent a malformed reply")
        return reply

    def _command(self, message: dict, fds=None) -> dict:
        from autograder.zygote import _send_json

        if self.template is None or not self.template.alive():
            self._discard()
            self._start()
        try:
            _send_json(self.control, message, fds)
        except OSError:
            self._discard()
            raise OSError("the worker template is gone") from None
        return self._reply(self.CONTROL_TIMEOUT)

    def spawn(self, fd: int) -> ForkedWorker:
        for attempt in range(2):
            reply = self._command({"op": "fork", "env": {}}, [fd])
            pid = reply.get("pid")
            if reply.get("ok") and type(pid) is int and pid > 0:
                return ForkedWorker(pid, self)
            # Whatever filled the task cap goes with the template; a fresh one gets a second try.
            self._discard()
        raise OSError("the worker template could not fork")

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
        if self.isolation is None or not self.isolation.private_pids:
            # Same PID namespace: kill the child's session directly, no round trip.
            from autograder.zygote import _kill_session

            _kill_session(pid)
            return
        try:
            self._command({"op": "kill_one", "pid": pid})
        except OSError:
            pass  # the template was replaced, and its children died with its namespace

    def reset(self):
        """Kill every worker forked so far (between submissions)."""
        if self.template is None:
            return
        try:
            self._command({"op": "kill"})
        except OSError:
            self._discard()
            return
        if self.cgroup is not None and not (self.isolation and self.isolation.private_pids):
            # Without a PID namespace, processes that left their worker's session are found here.
            self.cgroup.kill_all(keep={self.template.pid})

    def _discard(self):
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
