"""Isolation policy: who student code runs as, and what it can see.

Three tiers, strongest first (``--isolation auto`` picks the first that works):

- :class:`Bubblewrap` (``bwrap``): own mount, PID, network, IPC and UTS namespaces; a read-only view of the
  system, the Python installation and this package, nothing else of the course; a private ``/tmp``.
- :class:`UserNamespaces` (``unshare``): own user, network and PID namespaces; the file system stays visible.
- :class:`Isolation` (``none``): process limits only.

In every tier, when the grader runs as root, student code runs as an unprivileged user (``nobody`` unless
``AUTOGRADER_SANDBOX_USER`` names another, as ``name`` or ``uid:gid``) with no capabilities and
``no_new_privs``: root inside the sandbox would be root on the machine. Under bubblewrap the drop is done by
``setpriv`` (util-linux) once bwrap has set up the mounts; in the other tiers before the exec. A tier whose
Python the unprivileged user cannot reach (e.g. an interpreter under ``/root``) is refused, not weakened.
"""
from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import autograder

PACKAGE_DIR = Path(autograder.__file__).resolve().parent
PR_SET_NO_NEW_PRIVS = 38


@dataclass(frozen=True)
class SandboxUser:
    """The unprivileged identity student code runs as when the grader is root."""

    uid: int
    gid: int

    def drop(self):
        """Become this user for good (in a child between fork and exec): no groups, no capabilities."""
        os.setgroups([])
        os.setresgid(self.gid, self.gid, self.gid)
        os.setresuid(self.uid, self.uid, self.uid)  # clears every capability: uid 0 is gone for good
        set_no_new_privs()

    def setpriv(self) -> list[str]:
        """The same drop as a command prefix, for use inside bubblewrap."""
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "--"]


def set_no_new_privs():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except OSError:
        pass


def sandbox_user() -> SandboxUser | None:
    """Who student code runs as: None when the grader is not root (it runs as the grader's user)."""
    if os.geteuid() != 0:
        return None
    spec = os.environ.get("AUTOGRADER_SANDBOX_USER", "nobody").strip()
    if ":" in spec:
        uid, gid = spec.split(":", 1)
        if not (uid.isdigit() and gid.isdigit()) or int(uid) == 0:
            raise OSError(f"AUTOGRADER_SANDBOX_USER={spec!r}: expected a user name or 'uid:gid' with uid > 0")
        return SandboxUser(int(uid), int(gid))
    try:
        entry = pwd.getpwnam(spec)
    except KeyError:
        raise OSError(f"AUTOGRADER_SANDBOX_USER={spec!r}: no such user") from None
    if entry.pw_uid == 0:
        raise OSError(f"AUTOGRADER_SANDBOX_USER={spec!r} is root")
    return SandboxUser(entry.pw_uid, entry.pw_gid)


@dataclass
class Isolation:
    """How workers are isolated. This base class is the plain fallback: process limits only."""

    name: str = "process limits"
    missing: tuple[str, ...] = ("network", "file-system view and writes")
    private_pids: bool = False  # workers live in their own PID namespace (not killable by pid from here)
    private_tmp: bool = False  # /tmp is the sandbox's own (workers' homes live there)
    user: SandboxUser | None = field(default_factory=sandbox_user)

    def wrap(self, argv: list[str]) -> list[str]:
        return argv

    def before_exec(self):
        """Runs in the child between fork and exec, after the limits are set."""
        if self.user is not None:
            self.user.drop()

    def describe(self) -> str:
        text = f"isolation: {self.name}"
        if self.user is not None:
            text += f", student code as uid {self.user.uid} without capabilities"
        if self.missing:
            text += " (NOT enforced: " + ", ".join(self.missing) + ")"
        return text


def own_process() -> Isolation:
    """No sandbox user: code runs as whoever calls (a student's self-check of their own notebook)."""
    return Isolation(name="the caller's own user", missing=(), user=None)


def python_paths() -> list[Path]:
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


SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "etc")


@dataclass
class Bubblewrap(Isolation):
    """bubblewrap: no network, read-only system, only Python and this package visible, a private tmp."""

    name: str = "bubblewrap"
    missing: tuple[str, ...] = ()
    private_pids: bool = True
    private_tmp: bool = True
    devices: tuple[str, ...] = ()  # e.g. /dev/nvidia* when grading on a GPU

    def wrap(self, argv: list[str]) -> list[str]:
        # --as-pid-1: the command (the worker template) is init of its PID namespace, which its children
        # cannot kill, and it reaps whatever they leave behind.
        if self.user is None:
            # Unprivileged grader: bwrap makes a user namespace of its own and keeps no capability in it.
            args = ["bwrap", "--unshare-all", "--disable-userns", "--cap-drop", "ALL"]
        else:
            # Root grader: no user namespace (it would map the sandbox to uid 0 outside); setpriv drops to
            # the unprivileged user once the mounts are made.
            args = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                    "--unshare-cgroup-try"]
        args += ["--as-pid-1", "--die-with-parent", "--new-session", "--hostname", "sandbox",
                 "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
        bound: list[Path] = []
        for top in SYSTEM_DIRS:
            path = Path("/") / top
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
                bound.append(path)
        made: set[Path] = set()
        for path in python_paths():
            if any(b == path or b in path.parents for b in bound):
                continue  # inside /usr: already there
            # Parents bwrap would make are 0700: the unprivileged user could not pass them.
            for parent in reversed(path.parents[:-1]):
                if parent not in made:
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
            args += ["--ro-bind", str(path), str(path)]
        for dev in self.devices:
            args += ["--dev-bind", dev, dev]
        args += ["--chdir", "/", "--setenv", "TMPDIR", "/tmp", "--setenv", "HOME", "/tmp",
                 "--setenv", "AUTOGRADER_SCRATCH", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp/.mpl", "--"]
        if self.user is not None:
            args += self.user.setpriv()
        return args + argv

    def before_exec(self):
        pass  # bwrap needs root for its mounts; setpriv drops inside


@dataclass
class UserNamespaces(Isolation):
    """unshare(1): own user, network and PID namespaces; the file system stays visible."""

    name: str = "user namespaces"
    missing: tuple[str, ...] = ("file-system view and writes",)
    private_pids: bool = True

    def wrap(self, argv: list[str]) -> list[str]:
        # --map-current-user, not --map-root-user: as root of its namespace, student code would hold
        # CAP_SYS_PTRACE over the template there (and write its memory despite PR_SET_DUMPABLE).
        return ["unshare", "--user", "--map-current-user", "--net", "--pid", "--fork", "--kill-child",
                "--mount", "--mount-proc", "--"] + argv


def _works(argv: list[str], isolation: Isolation | None = None) -> tuple[bool, str]:
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=30, cwd="/", preexec_fn=isolation.before_exec if isolation else None,
                              env={"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": str(PACKAGE_DIR.parent),
                                   "PYTHONNOUSERSITE": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    return proc.returncode == 0, lines[-1] if lines else ""


# Python can start and import the sandboxed code: what every tier must allow before it is used.
_PYTHON_PROBE = [sys.executable, "-P", "-c", "import autograder.sandboxed.worker"]


def _candidate(name: str, devices: tuple[str, ...]) -> tuple[Isolation | None, str]:
    if name == "bwrap":
        if not shutil.which("bwrap"):
            return None, "bwrap is not installed (Debian package bubblewrap)"
        found = Bubblewrap(devices=devices)
        if found.user is not None and not shutil.which("setpriv"):
            return None, "setpriv (util-linux) is missing: student code could not drop root"
    elif name == "userns":
        if not shutil.which("unshare"):
            return None, "unshare is not installed"
        found = UserNamespaces()
    else:
        found = Isolation()
    ok, why = _works(found.wrap(list(_PYTHON_PROBE)), found)
    if ok:
        return found, ""
    if found.user is not None and name != "bwrap":
        why = (f"student code runs as uid {found.user.uid} when grading as root, and that user cannot run "
               f"{sys.executable} ({why or 'permission denied'}); install Python where every user can read it, "
               "or use --isolation bwrap")
    return None, why or "it does not work on this machine"


def detect_isolation(requested: str = "auto", device: str = "cpu") -> Isolation:
    """The strongest isolation this machine allows (or the one asked for, if it works)."""
    import glob

    from autograder.isolation.cgroups import WorkerCgroup

    devices = tuple(sorted(glob.glob("/dev/nvidia*"))) if device == "cuda" else ()
    order = ["bwrap", "userns", "none"] if requested == "auto" else [requested]
    reasons = []
    for name in order:
        found, why = _candidate(name, devices)
        if found is None:
            reasons.append(f"{name}: {why}")
            continue
        if os.geteuid() == 0:
            # RLIMIT_NPROC does not bind root: a pids cgroup must do it, where one can be made.
            probe = WorkerCgroup.create(2)
            if probe is None:
                found.missing = (*found.missing, "process count (grader runs as root, no cgroup)")
            else:
                probe.remove()
        return found
    raise OSError(f"isolation {requested!r} is not available on this machine: " + "; ".join(reasons))
