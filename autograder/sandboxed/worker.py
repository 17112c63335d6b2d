"""The untrusted side: a process that runs one student's notebook and answers requests.

Runs inside the sandbox. Started by :mod:`autograder.isolation.launchers` as
``python -P -m autograder.sandboxed.worker --fd N``, or forked by the template.
It executes the student's code cells with IPython (so magics behave as in
Jupyter), then serves generic requests from the trusted grader: call a
function, read a global, call a method on an object it keeps. It is never told
what a check expects; it only runs code and returns raw outputs.

Nothing in here is trusted by the grader. Code in the notebook can patch this
module; all it can gain is to answer differently, and answers are judged in the
trusted process.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import signal
import socket
import sys
import time
import traceback

from autograder.wire.protocol import Channel, PeerClosed, ProtocolError, decode_value, encode_value

OUTPUT_KEEP = 64 * 1024  # characters of student output kept for feedback
TRACEBACK_KEEP = 4000


class GradingTimeout(BaseException):
    """Raised inside student code when its time is up.

    A BaseException so that ``except Exception`` in student code does not swallow it.
    """


class CappedOutput(io.TextIOBase):
    """Stands in for sys.stdout/stderr: keeps the start and the end of what was written."""

    def __init__(self):
        self.head: list[str] = []
        self.head_len = 0
        self.tail = ""
        self.total = 0

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        self.total += len(text)
        if self.head_len < OUTPUT_KEEP:
            part = text[: OUTPUT_KEEP - self.head_len]
            self.head.append(part)
            self.head_len += len(part)
        self.tail = (self.tail + text)[-OUTPUT_KEEP:]
        return len(text)

    def recent(self, n=2000):
        return self.tail[-n:]

    def flush(self):
        pass


def _on_alarm(signum, frame):
    raise GradingTimeout()


class Worker:
    def __init__(self, channel: Channel):
        self.channel = channel
        self.handles: dict[int, object] = {}
        self.next_handle = 1
        self.output = CappedOutput()
        self.shell = None
        self.contexts = {}

    # ------------------------------------------------------------------ set-up
    def start_shell(self):
        self.shell = make_shell()
        from autograder.sandboxed import contexts

        self.contexts = contexts.CONTEXTS

    # ------------------------------------------------------------------ handles
    def make_handle(self, obj) -> dict:
        hid = self.next_handle
        self.next_handle += 1
        self.handles[hid] = obj
        try:
            text = repr(obj)
        except BaseException:  # a broken __repr__ must not break the reply
            text = "<unprintable>"
        return {"$handle": hid, "type": _type_name(obj), "repr": text[:500]}

    def lookup(self, hid):
        try:
            return self.handles[hid]
        except KeyError:
            raise ProtocolError(f"unknown handle {hid}") from None

    def resolve(self, target: dict):
        if "global" in target:
            name = target["global"]
            ns = self.shell.user_ns
            if name not in ns:
                raise NameError(f"name '{name}' is not defined")
            obj = ns[name]
        elif "handle" in target:
            obj = self.lookup(target["handle"])
        else:
            raise ProtocolError("target needs 'global' or 'handle'")
        for attr in target.get("path", []):
            obj = getattr(obj, attr)
        return obj

    # ------------------------------------------------------------------ requests
    def serve(self):
        while True:
            try:
                request, tensors = self.channel.receive()
            except PeerClosed:
                return
            op = request.get("op")
            rid = request.get("id")
            if op == "shutdown":
                return
            timeout = float(request.get("timeout") or 0)
            started = time.perf_counter()
            try:
                if timeout > 0:
                    signal.setitimer(signal.ITIMER_REAL, timeout)
                try:
                    if request.get("reseed") is not None:  # a check's seed, sent along with its first request
                        _seed(int(request["reseed"]))
                    reply, out_tensors = self.dispatch(op, request, tensors)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except GradingTimeout:
                reply, out_tensors = {"ok": False, "error": {"type": "GradingTimeout", "message": f"{timeout:g} s",
                                                             "traceback": ""}}, None
            except BaseException as exc:  # noqa: BLE001 - every failure becomes data
                reply, out_tensors = {"ok": False, "error": _error(exc)}, None
            _stop_strays()
            reply["id"] = rid
            reply["busy"] = round(time.perf_counter() - started, 6)  # for the grader's timing statistics only
            try:
                self.channel.send(reply, out_tensors)
            except PeerClosed:
                return
            except BaseException as exc:  # e.g. a value that safetensors refuses
                self.channel.send({"id": rid, "ok": False, "error": _error(exc, "sending the result failed")})

    def dispatch(self, op, request, tensors):
        if op == "run_cell":
            return self.run_cell(request["source"]), None
        if op == "seed":
            _seed(int(request["seed"]))
            return {"ok": True}, None
        if op == "output":
            return self.plain(self.output.recent(int(request.get("chars", 2000))))
        if op == "has":
            return self.plain(request["name"] in self.shell.user_ns)
        if op == "release":
            for hid in request.get("handles", []):
                self.handles.pop(hid, None)
            return {"ok": True}, None
        if op == "describe":
            return self.plain(_describe(self.resolve(request["target"])))
        if op == "put":
            value = decode_value(request["value"], tensors, self.lookup)
            return {"ok": True, "value": self.make_handle(value)}, None
        if op in ("call", "get"):
            target = self.resolve(request["target"])
            if op == "call":
                args = decode_value(request.get("args", []), tensors, self.lookup)
                kwargs = decode_value(request.get("kwargs", {"$dict": []}), tensors, self.lookup)
                result = self.call_in_contexts(target, args, kwargs, request.get("contexts", []))
            else:
                result = target
            if request.get("keep"):
                return {"ok": True, "value": self.make_handle(result)}, None
            return self.plain(result)
        raise ProtocolError(f"unknown op {op!r}")

    def plain(self, value):
        """A reply carrying ``value``; what cannot travel by value becomes a handle."""
        tree, tensors = encode_value(value, self.make_handle)
        return {"ok": True, "value": tree}, tensors

    def call_in_contexts(self, fn, args, kwargs, names):
        import contextlib

        with contextlib.ExitStack() as stack:
            for name in names:
                factory = self.contexts.get(name)
                if factory is None:
                    raise ProtocolError(f"unknown context {name!r}")
                stack.enter_context(factory())
            return fn(*args, **kwargs)

    def run_cell(self, source: str) -> dict:
        before = self.output.total
        result = self.shell.run_cell(source, store_history=False)
        err = result.error_before_exec or result.error_in_exec
        reply = {"ok": err is None}
        if err is not None:
            if isinstance(err, GradingTimeout):
                raise err
            reply["error"] = _error(err)
        if self.output.total > before:
            reply["output"] = self.output.recent(min(self.output.total - before, 1000))  # this cell's own output
        return reply


# ---------------------------------------------------------------------- helpers

def make_shell():
    """The IPython shell that runs the cells (one per process; the zygote makes it before forking)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    if InteractiveShell.initialized():
        return InteractiveShell.instance()
    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=cfg)
    shell.colors = "nocolor"
    # Notebooks often start with these; they must not fail or reach out while grading.
    for name in ("matplotlib", "pip", "conda"):
        shell.register_magic_function(lambda line="", cell=None: None, "line", name)
    shell.system = lambda cmd: print("(kabuk komutları notlandırma sırasında çalıştırılmaz)")
    shell.user_ns["__name__"] = "__main__"
    return shell


def _type_name(obj) -> str:
    tp = type(obj)
    module = getattr(tp, "__module__", "") or ""
    name = getattr(tp, "__qualname__", tp.__name__)
    return name if module in ("builtins", "__main__") else f"{module}.{name}"


def _describe(obj) -> dict:
    info = {"type": _type_name(obj), "callable": callable(obj)}
    try:
        import torch

        if isinstance(obj, torch.nn.Module):
            info["module"] = True
            info["training"] = bool(obj.training)
            info["parameters"] = [[n, list(p.shape), str(p.device), str(p.dtype).removeprefix("torch.")]
                                  for n, p in obj.named_parameters()]
            info["buffers"] = [[n, list(b.shape), str(b.device), str(b.dtype).removeprefix("torch.")]
                               for n, b in obj.named_buffers()]
        elif isinstance(obj, torch.Tensor):
            info["tensor"] = {"shape": list(obj.shape), "device": str(obj.device),
                              "dtype": str(obj.dtype).removeprefix("torch."), "requires_grad": obj.requires_grad}
    except Exception as exc:  # noqa: BLE001
        info["describe_error"] = f"{type(exc).__name__}: {exc}"[:300]
    return info


def _error(exc: BaseException, note: str | None = None) -> dict:
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable message>"
    try:
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        # Drop the worker's own frames: the student needs their code, not ours.
        text = "".join(line for line in tb if "autograder/sandboxed/" not in line)
    except BaseException:
        text = ""
    if note:
        message = f"{note}: {message}"
    return {"type": type(exc).__name__[:200], "message": message[:2000], "traceback": text[-TRACEBACK_KEEP:]}


def _stop_strays():
    """Kill processes that student code started and left running (a cell or call is over).

    They are in this worker's process group (it is a session leader); a DataLoader's
    workers have ended by now. Without this, a fork bomb would keep the task cap
    full and starve the next request.
    """
    me = os.getpid()
    try:
        children = any(open(f"/proc/self/task/{tid}/children").read().strip()
                       for tid in os.listdir("/proc/self/task"))
    except OSError:
        children = True
    if not children:
        return
    group = os.getpgid(0)
    for _ in range(3):  # a fork in flight may add one more
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                if os.getpgid(int(entry)) == group:
                    os.kill(int(entry), signal.SIGKILL)
                    found = True
            except (ProcessLookupError, PermissionError):
                pass
        if not found:
            break
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _seed(seed: int):
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def preload(names: str) -> None:
    """Import the heavy modules once (in a standalone worker, or in the zygote before it forks)."""
    try:
        import torch

        from autograder.startup import defer_dynamo

        # Before anything else imports it: ~2 s of imports that eager code never needs (autograder.startup).
        defer_dynamo()
    except ImportError:
        pass
    for name in filter(None, names.split(",")):
        try:
            __import__(name)
        except ImportError:
            pass  # a convenience, not a requirement: the notebook imports what it needs
    try:
        import torch

        torch.set_num_threads(1)  # fair and deterministic on a shared grading machine
        # The first reply that carries a tensor imports safetensors and sets it up (~7 ms): here, once, instead
        # of in every worker.
        from safetensors.torch import load, save

        load(save({"0": torch.zeros(1)}))
    except ImportError:
        pass
    import IPython.core.interactiveshell  # noqa: F401


def serve_on_fd(fd: int) -> None:
    """Become the worker of one notebook on the connected socket ``fd``; returns when told to stop."""
    channel = Channel(socket.socket(fileno=fd))
    # Student output never reaches the channel or the grader's terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    worker = Worker(channel)
    sys.stdout = sys.stderr = worker.output
    signal.signal(signal.SIGALRM, _on_alarm)
    worker.start_shell()
    channel.send({"id": 0, "ok": True, "value": {"pid": os.getpid()}})
    worker.serve()


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--preload", default="torch,numpy")
    args = parser.parse_args(argv)
    # Start-up failures reach the start log through a saved descriptor.
    start_log = os.fdopen(os.dup(2), "w")
    try:
        os.chdir(os.environ.get("HOME") or "/")  # the worker's own writable folder (started at "/")
        from autograder.startup import freeze_imports, pause_collector

        pause_collector()  # no collections while importing (autograder.startup)
        preload(args.preload)
        freeze_imports()
        serve_on_fd(args.fd)
    except BaseException:
        traceback.print_exc(file=start_log)
        start_log.flush()
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    main()
