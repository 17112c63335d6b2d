"""Warm workers: a template process that imports torch once and forks a worker per notebook.

Importing torch costs ~2 s; forking a process that already did costs
milliseconds. The template ("zygote") is started exactly like a worker (same
sandbox, same limits, same minimal environment), never sees anything secret,
and never runs student code itself. Each child it forks:

- starts a new session (so it and whatever it starts can be killed as a group),
- gets its own private directory as home, working and temp directory,
- serves one notebook over the socket the trusted side handed over, then exits.

Control messages are small JSON datagrams on a SOCK_SEQPACKET socket; the child's
channel travels as a file descriptor (SCM_RIGHTS). Replies are validated by the
trusted side like any message from the sandbox: nothing is unpickled, and a
template that misbehaves is killed and replaced.
"""
from __future__ import annotations

import argparse
import array
import json
import os
import signal
import socket
import tempfile
import time
import traceback

MAX_CONTROL = 64 * 1024


def _send_json(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.send(data)


def _recv_json(sock: socket.socket) -> tuple[dict | None, list[int]]:
    fds = array.array("i")
    data, ancdata, flags, _ = sock.recvmsg(MAX_CONTROL, socket.CMSG_LEN(4 * fds.itemsize))
    received = []
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
            received.extend(fds)
    if not data:
        return None, received
    return json.loads(data), received


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
            message, fds = _recv_json(self.control)
            self.reap()
            if message is None:
                return
            op = message.get("op")
            if op == "fork":
                if len(fds) != 1:
                    _send_json(self.control, {"ok": False, "error": "fork needs one descriptor"})
                    continue
                pid = self.fork()
                if pid is None:
                    os.close(fds[0])
                    _send_json(self.control, {"ok": False, "error": "fork failed: no free task slots"})
                    continue
                if pid == 0:
                    self.control.close()
                    _child(fds[0], message.get("env") or {})  # never returns
                os.close(fds[0])
                self.children[pid] = None
                _send_json(self.control, {"ok": True, "pid": pid})
            elif op == "status":
                pid = int(message.get("pid", -1))
                _send_json(self.control, {"ok": True, "status": self.children.get(pid, -1)})
            elif op == "kill_one":
                pid = message.get("pid")
                if type(pid) is int and pid in self.children:
                    _kill_session(pid)
                _send_json(self.control, {"ok": True})
            elif op == "kill":
                # Kill the children's sessions and anything left in them.
                for pid in list(self.children):
                    _kill_session(pid)
                for pid in list(self.children):
                    try:
                        os.waitpid(pid, 0)
                    except ChildProcessError:
                        pass
                self.children.clear()
                _sweep_namespace()
                _send_json(self.control, {"ok": True})
            else:
                _send_json(self.control, {"ok": False, "error": f"unknown op {op!r}"})


def _kill_session(pid: int):
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


def _child(fd: int, env: dict):
    """In the forked child: become a fresh worker on ``fd``."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        base = os.environ.get("TMPDIR") or tempfile.gettempdir()
        home = tempfile.mkdtemp(prefix="nb-", dir=base)
        os.chdir(home)
        for key in ("HOME", "TMPDIR"):
            os.environ[key] = home
        os.environ["MPLCONFIGDIR"] = os.path.join(home, ".mpl")
        tempfile.tempdir = home
        for key, value in env.items():
            os.environ[str(key)] = str(value)
        from autograder import worker

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
    control = socket.socket(fileno=args.fd)
    from autograder import worker

    worker.preload(args.preload)
    worker.make_shell()  # forked workers inherit a ready shell with an empty namespace
    _send_json(control, {"ok": True, "pid": os.getpid()})
    Template(control).serve()


if __name__ == "__main__":
    main()
