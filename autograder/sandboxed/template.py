"""Warm workers: a template process that imports torch once and forks a worker per notebook.

Runs inside the sandbox (never trusted).

Importing torch costs ~2 s; forking a process that already did costs
milliseconds. The template ("zygote") is started exactly like a worker (same
sandbox, same limits, same minimal environment), never sees anything secret,
and never runs student code itself. Each child it forks:

- starts a new session (so it and whatever it starts can be killed as a group),
- gets its own private directory as home, working and temp directory (inside the scratch folder, never on
  ``sys.path``),
- serves one notebook over the socket the trusted side handed over, then exits.

Between students (the ``kill`` command) the template kills every child and wipes the scratch folder, so
nothing one student wrote is there for the next. The template is not dumpable: its children (same user)
cannot read or write its memory through ``/proc/<pid>/mem`` or ptrace, so they cannot plant code in it.

Control messages are small JSON datagrams on a SOCK_SEQPACKET socket; the child's
channel travels as a file descriptor (SCM_RIGHTS). Replies are validated by the
trusted side like any message from the sandbox: nothing is unpickled, and a
template that misbehaves is killed and replaced.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import socket
import stat
import tempfile
import time
import traceback

from autograder.wire.control import recv_command, send_command

PR_SET_DUMPABLE = 4


# ---------------------------------------------------------------------- the template process

class Template:
    def __init__(self, control: socket.socket):
        self.control = control
        self.children: dict[int, int | None] = {}  # pid -> wait status (None while running)

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:
                self.children[pid] = status

    def fork(self):
        """os.fork(), waiting a little for the task cap: a killed worker's processes take a moment to go."""
        for _ in range(100):
            try:
                return os.fork()
            except BlockingIOError:
                self.reap()
                time.sleep(0.05)
        return None

    def serve(self):
        while True:
            message, fds = recv_command(self.control)
            self.reap()
            if message is None:
                return
            op = message.get("op")
            if op == "fork":
                if len(fds) != 1:
                    send_command(self.control, {"ok": False, "error": "fork needs one descriptor"})
                    continue
                pid = self.fork()
                if pid is None:
                    os.close(fds[0])
                    send_command(self.control, {"ok": False, "error": "fork failed: no free task slots"})
                    continue
                if pid == 0:
                    self.control.close()
                    _child(fds[0])  # never returns
                os.close(fds[0])
                self.children[pid] = None
                send_command(self.control, {"ok": True, "pid": pid})
            elif op == "status":
                pid = int(message.get("pid", -1))
                send_command(self.control, {"ok": True, "status": self.children.get(pid, -1)})
            elif op == "kill_one":
                pid = message.get("pid")
                if type(pid) is int and pid in self.children:
                    kill_session(pid)
                send_command(self.control, {"ok": True})
            elif op == "kill":
                # Kill the children's sessions and anything left in them.
                for pid in list(self.children):
                    kill_session(pid)
                for pid in list(self.children):
                    try:
                        os.waitpid(pid, 0)
                    except ChildProcessError:
                        pass
                self.children.clear()
                _sweep_namespace()
                self.reap()
                send_command(self.control, {"ok": True, "wiped": wipe_scratch()})
            else:
                send_command(self.control, {"ok": False, "error": f"unknown op {op!r}"})


def kill_session(pid: int):
    """Kill a child and everything in its session (it called setsid, so its pid is the group id)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _sweep_namespace():
    """In a PID namespace of our own (bubblewrap), kill every process but ourselves and init."""
    if os.getpid() > 10 or not os.path.isdir("/proc"):
        return  # not in a private PID namespace: we can only kill our children's sessions
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, me, os.getppid()):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def scratch_dir() -> str:
    return os.environ.get("AUTOGRADER_SCRATCH") or tempfile.gettempdir()


def _mount_points() -> set[str]:
    try:
        with open("/proc/self/mounts") as fh:
            return {line.split()[1].replace("\\040", " ") for line in fh if len(line.split()) > 1}
    except OSError:
        return set()


def _force(func, path, exc_info):
    # A student may have taken the permissions away from their own files: give them back, retry.
    try:
        os.chmod(os.path.dirname(path) or path, stat.S_IRWXU)
        os.chmod(path, stat.S_IRWXU)
    except OSError:
        pass
    try:
        func(path)
    except OSError:
        pass


def _wipe(base: str, mounts: set[str]) -> bool:
    """Remove everything under ``base`` but the sandbox's own mounts (a course checked out under /tmp is bound
    there read-only) and the folders leading to them. True if nothing else is left."""
    try:
        entries = os.listdir(base)
    except OSError:
        return False
    clean = True
    for name in entries:
        path = os.path.join(base, name)
        if path in mounts:
            continue
        if any(m.startswith(path + "/") for m in mounts):
            clean = _wipe(path, mounts) and clean
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, onerror=_force)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
        clean = clean and not os.path.lexists(path)
    return clean


def wipe_scratch() -> bool:
    """Remove everything students could have written in the scratch folder (every child is dead by now)."""
    return _wipe(scratch_dir(), _mount_points())


def _child(fd: int):
    """In the forked child: become a fresh worker on ``fd``."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        home = tempfile.mkdtemp(prefix="nb-", dir=scratch_dir())
        os.chdir(home)
        for key in ("HOME", "TMPDIR"):
            os.environ[key] = home
        os.environ["MPLCONFIGDIR"] = os.path.join(home, ".mpl")
        tempfile.tempdir = home
        from autograder.sandboxed import worker

        worker.serve_on_fd(fd)
        code = 0
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        os._exit(code)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--preload", default="torch,numpy")
    args = parser.parse_args(argv)
    from autograder.startup import freeze_imports, pause_collector

    pause_collector()  # until the imports and the warm-up are done (autograder.startup)
    # Not dumpable: children (same user) cannot open /proc/<pid>/mem or ptrace the template. Inherited by forks.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except OSError:
        pass
    control = socket.socket(fileno=args.fd)
    from autograder.sandboxed import worker

    worker.preload(args.preload)
    from autograder.sandboxed import contexts

    contexts.warm_up()  # the device simulation's first use (~1 s) is paid here once, not in every worker
    worker.make_shell()  # forked workers inherit a ready shell with an empty namespace
    freeze_imports()  # forked workers never walk the imported modules in their collections (autograder.startup)
    send_command(control, {"ok": True, "pid": os.getpid()})
    Template(control).serve()


if __name__ == "__main__":
    main()
