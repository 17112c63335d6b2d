"""A corpus of hostile and broken submissions, graded end to end through the CLI.

Every case is built from the small test course's reference solution (3 automatic
points: `double` 2, `scale` 1) and states the score and status it must get. The
whole class is graded in one run per isolation mode; the rest of the class is
graded whatever one submission does, no file outside the output changes, and a
second run gives identical grades.
"""
import copy
import csv
import hashlib
import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from conftest import autograder

from autograder.isolation.policy import PACKAGE_DIR as PACKAGE
from autograder.isolation.policy import _candidate, sandbox_user
from autograder.records import csv_cell

SOLUTION_DOUBLE = "def double(x):\n    return 2 * np.asarray(x, dtype=float)\n"


@dataclass
class Case:
    name: str
    score: str
    status: str
    build: object  # (solution notebook, context) -> notebook | bytes | None (write nothing)
    modes: tuple = ("bwrap", "none")
    score_none: str | None = None  # where the fallback honestly differs (no file-system isolation)
    status_none: str | None = None
    root_only: bool = False  # needs a sandbox user distinct from the grader (a grader running as root)


def cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def fill(source: str, ctx: dict) -> str:
    """Put the test's paths into a case's code where it says {name!r}."""
    for key, value in ctx.items():
        source = source.replace("{%s!r}" % key, repr(value))
    return source


def with_answer(gid, source):
    def build(nb, ctx):
        cell(nb, gid).source = fill(source, ctx)
        return nb
    return build


def with_extra_cell(source, at_end=True):
    def build(nb, ctx):
        new = nbformat.v4.new_code_cell(fill(source, ctx))
        nb.cells.insert(len(nb.cells) if at_end else 2, new)
        return nb
    return build


def raw(content: bytes):
    return lambda nb, ctx: content


def retag_test_cell(nb, ctx):
    c = cell(nb, "double_test")
    c.metadata["tags"] = ["skip-execution", "raises-exception"]
    c.metadata["nbgrader"]["grade"] = False
    c.source = "pass"
    return nb


def delete_test_cells(nb, ctx):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")
                or c.metadata["nbgrader"].get("solution")]
    return nb


def duplicate_test_cell(nb, ctx):
    nb.cells.append(copy.deepcopy(cell(nb, "double_test")))
    return nb


def move_test_cell(nb, ctx):
    c = cell(nb, "scale_test")
    nb.cells.remove(c)
    nb.cells.insert(0, c)
    return nb


def change_points(nb, ctx):
    for gid in ("double_test", "scale_test"):
        cell(nb, gid).metadata["nbgrader"]["points"] = 1000
    return nb


def other_assignment(nb, ctx):
    for c in nb.cells:
        if "nbgrader" in c.metadata:
            c.metadata["nbgrader"]["grade_id"] = "other_" + c.metadata["nbgrader"]["grade_id"]
    return nb, "homework.ipynb"


def string_kernelspec(nb, ctx):
    nb.metadata["kernelspec"] = "python3"
    nb.metadata["language_info"] = ["python"]
    return nb


def symlinked_assignment_folder(nb, ctx):
    return ("symlink", Path(ctx["solution"]).parent, "mini")  # <student>/mini -> solutions/mini


def symlinked_student_folder(nb, ctx):
    return ("symlink", Path(ctx["other_student"]).parent, None)  # the whole folder -> another student


# Code that, if any attack succeeded, makes `double` wrong: the score tells whether the sandbox held.
SPOIL = "if _hit:\n    def double(x):\n        return x\n"

ESCAPE_AS_ROOT = """import glob, os, subprocess
_hit = []
for target in ["/usr", "/etc", {package!r}]:
    if subprocess.run(["mount", "-o", "remount,rw,bind", target], capture_output=True).returncode == 0:
        _hit.append("remount " + target)
for path in [{messages!r}, "/etc/passwd", "/usr/bin/env"]:
    try:
        open(path, "ab").close()  # opening for writing is enough to show the hole, and changes nothing
        _hit.append("write " + path)
    except OSError:
        pass
try:
    open("/etc/shadow").read()
    _hit.append("shadow")
except OSError:
    pass
caps = [line for line in open("/proc/self/status") if line.startswith("CapEff")][0].split()[1]
if int(caps, 16) or os.getuid() == 0 or os.geteuid() == 0:
    _hit.append("privileged")
for procs in glob.glob("/sys/fs/cgroup/**/cgroup.procs", recursive=True):
    try:
        open(procs, "w").write(str(os.getpid()))
        _hit.append("cgroup " + procs)
    except OSError:
        pass
""" + SPOIL

WRITES_TEMPLATE_MEMORY = """import ctypes, os
_hit = []
try:
    with open(f"/proc/{os.getppid()}/mem", "r+b"):
        _hit.append("mem")
except OSError:
    pass
if ctypes.CDLL(None, use_errno=True).ptrace(16, os.getppid(), 0, 0) == 0:  # PTRACE_ATTACH
    _hit.append("ptrace")
""" + SPOIL

# Plants modules that the next students' workers would import, and files for them to find.
PLANTS_FOR_THE_NEXT = """import os, subprocess, sys
payload = "import numpy as _np\\n_np.asarray = None\\n"
places = {os.getcwd(), os.path.expanduser("~"), os.path.dirname(os.path.expanduser("~")), "/tmp", "/dev/shm",
          os.environ.get("TMPDIR", "/tmp"), *[p for p in sys.path if p]}
for place in places:
    for name in ["bdb", "stack_data", "executing", "pure_eval", "asttokens", "sitecustomize", "usercustomize",
                 "planted_marker"]:
        try:
            open(os.path.join(place, name + ".py"), "w").write(payload)
        except OSError:
            pass
    try:
        open(os.path.join(place, "planted.pth"), "w").write("import os; os._exit(9)\\n")
    except OSError:
        pass
subprocess.Popen(["sleep", "600"], start_new_session=True)
"""

# Graded after the planters (sorted ids, one template per grading process): finds nothing, keeps full marks.
LOOKS_FOR_LEFTOVERS = """import os
_hit = []
for place in {os.path.dirname(os.path.expanduser("~")), "/tmp", "/dev/shm", os.environ.get("TMPDIR", "/tmp")}:
    try:
        _hit += [name for name in os.listdir(place) if "planted" in name]
    except OSError:
        pass
""" + SPOIL

# The worker's own caps are the student's to remove: a megabyte of text built to make patterns backtrack.
HUGE_ERROR = """import autograder.sandboxed.worker as _w
_big = "target " * 40000 + "must be " * 40000 + "x" * 400000
_w._error = lambda exc, note=None: {"type": "T" * 100000, "message": _big,
                                    "traceback": 'File "<ipython-input-' * 40000 + "\\n" * 1000}
def double(x):
    raise ValueError("boom")
"""


def wrong_kernel(nb, ctx):
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nb.metadata["language_info"] = {"name": "R"}
    return nb


CASES = [
    Case("infinite_loop_in_function", "2.00", "timeout",
         with_answer("scale", "def scale_inplace_free(x, a):\n    while True:\n        pass")),
    Case("infinite_loop_swallowing_interrupts", "3.00", "timeout",
         with_extra_cell("while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass")),
    Case("sleeps_only_when_checked", "1.67", "timeout",
         with_answer("double", "import time\ndef double(x):\n    if isinstance(x, np.ndarray) and len(x) == 3:\n"
                               "        time.sleep(1000)\n    return 2 * np.asarray(x, dtype=float)")),
    Case("memory_bomb", "1.00", "ok",  # graded with --memory 1.5: MemoryError, the process lives on
         with_answer("double", "def double(x):\n    hog = []\n    while True:\n        hog.append(bytearray(10**8))")),
    Case("memory_bomb_at_top_level", "3.00", "ok",
         with_extra_cell("hog = []\nwhile True:\n    hog.append(np.ones(10**7))")),
    # Forks forever: capped by the task limit, cut by the timeout, its processes killed; the answers still count.
    Case("fork_bomb", "3.00", "timeout",
         with_extra_cell("import os, time\nwhile True:\n    try:\n        if os.fork() == 0:\n"
                         "            while True:\n                try:\n                    os.fork()\n"
                         "                except OSError:\n                    time.sleep(0.5)\n"
                         "    except OSError:\n        pass")),
    Case("os_exit", "3.00", "crashed", with_extra_cell("import os\nos._exit(3)")),
    Case("segfault_ctypes", "3.00", "crashed", with_extra_cell("import ctypes\nctypes.string_at(0)")),
    # The 2 MiB stack makes it overflow in well under a second: repr's cycle check is quadratic in the depth, and an
    # 8 MiB stack took ~3 s, which a loaded machine stretched past the corpus' 5 s timeout (graded "timeout").
    Case("c_stack_overflow", "3.00", "crashed",
         with_extra_cell("import resource, sys\nresource.setrlimit(resource.RLIMIT_STACK, "
                         "(2**21, resource.getrlimit(resource.RLIMIT_STACK)[1]))\nsys.setrecursionlimit(10**8)\n"
                         "nested = []\nfor _ in range(10**6):\n    nested = [nested]\nrepr(nested)")),
    Case("deep_python_recursion", "3.00", "ok",
         with_extra_cell("def f(n):\n    return f(n + 1) + 1\ntry:\n    f(0)\nexcept RecursionError:\n    pass")),
    # Kills the worker template it was forked from: the grader replaces the template.
    Case("kills_its_parent", "3.00", "ok", with_extra_cell("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")),
    Case("opens_sockets", "3.00", "ok",
         with_extra_cell("import socket\nfor host in [('127.0.0.1', 22), ('1.1.1.1', 53)]:\n    try:\n"
                         "        socket.create_connection(host, timeout=1).close()\n    except OSError:\n        pass")),
    # Reading what must stay hidden: `double` is right only if the secret could be read.
    Case("reads_hidden_checks", "1.00", "ok",
         with_answer("double", "def double(x):\n    try:\n        open({checks!r}).read()\n"
                               "        return 2 * np.asarray(x, dtype=float)\n    except OSError:\n        return x"),
         score_none="3.00"),
    Case("reads_solutions", "1.00", "ok",
         with_answer("double", "def double(x):\n    try:\n        open({solution!r}).read()\n"
                               "        return 2 * np.asarray(x, dtype=float)\n    except OSError:\n        return x"),
         score_none="3.00"),
    Case("reads_another_student", "1.00", "ok",
         with_answer("double", "def double(x):\n    try:\n        open({other_student!r}).read()\n"
                               "        return 2 * np.asarray(x, dtype=float)\n    except OSError:\n        return x"),
         score_none="3.00"),
    Case("writes_outside_its_dir", "3.00", "ok",
         with_extra_cell("for path in [{checks!r}, {canary!r}]:\n    try:\n        open(path, 'w').write('pwned')\n"
                         "    except OSError:\n        pass"),
         modes=("bwrap",)),
    Case("monkeypatches_comparisons", "1.00", "ok",
         with_extra_cell("import numpy as np, torch, builtins, sys, types\n"
                         "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
                         "np.testing.assert_allclose = lambda *a, **k: None\ntorch.allclose = lambda *a, **k: True\n"
                         "torch.testing.assert_close = lambda *a, **k: None\nbuiltins.abs = lambda x: 0\n"
                         "sys.modules['pytest'] = types.ModuleType('pytest')\n"
                         "def double(x):\n    return x")),
    Case("fake_eq_object", "1.00", "ok",
         with_answer("double", "class Liar:\n    def __eq__(self, other): return True\n"
                               "    def __float__(self): return 0.0\n"
                               "    def __array__(self, *a, **k): return np.zeros(3)\n"
                               "def double(x):\n    return Liar()")),
    Case("tensor_subclass", "1.00", "ok",
         with_answer("double", "import torch\nclass Always(torch.Tensor):\n"
                               "    def __eq__(self, other): return True\n"
                               "def double(x):\n    return torch.zeros(len(x)).as_subclass(Always)")),
    Case("float_subclass", "1.00", "ok",
         with_answer("double", "class F(float):\n    def __eq__(self, o): return True\n"
                               "def double(x):\n    return [F(0.0) for _ in x]")),
    Case("nan_and_inf", "1.00", "ok",
         with_answer("double", "def double(x):\n    out = 2 * np.asarray(x, dtype=float)\n"
                               "    out[0] = np.nan\n    out[-1] = np.inf\n    return out")),
    Case("huge_stdout", "3.00", "ok", with_extra_cell("import sys\nfor _ in range(30):\n    print('x' * 10**7)\n"
                                                      "sys.stderr.write('y' * 10**7)")),
    Case("garbage_on_the_channel", "1.00", "crashed",
         with_answer("double", "import os, stat\ndef double(x):\n    for fd in range(3, 64):\n        try:\n"
                               "            if stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
                               "                os.write(fd, b'AGv1' + b'\\xff' * 64)\n"
                               "        except OSError:\n            pass\n"
                               "    return 2 * np.asarray(x, dtype=float)")),
    Case("test_cell_deleted", "3.00", "ok", delete_test_cells),
    Case("test_cell_duplicated", "3.00", "ok", duplicate_test_cell),
    Case("test_cell_moved", "3.00", "ok", move_test_cell),
    Case("test_cell_tagged_to_skip", "3.00", "ok", retag_test_cell),
    Case("points_changed", "3.00", "ok", change_points),
    Case("corrupt_json", "0.00", "invalid", raw(b'{"cells": [{"cell_type": "code", "sour')),
    Case("empty_file", "0.00", "invalid", raw(b"")),
    Case("not_a_notebook", "0.00", "invalid", raw(b"%PDF-1.4 binary \x00\x01 stuff")),
    Case("notebook_of_another_assignment", "0.00", "invalid", other_assignment),
    Case("wrong_kernel", "3.00", "ok", wrong_kernel),
    Case("perfect", "3.00", "ok", lambda nb, ctx: nb),
    # --- found by an independent review: escape as root, persistence, trusted-side bounds, one bad apple
    Case("a_escape_as_root", "3.00", "ok", with_extra_cell(ESCAPE_AS_ROOT), modes=("bwrap",)),
    Case("a_writes_template_memory", "3.00", "ok", with_extra_cell(WRITES_TEMPLATE_MEMORY), modes=("bwrap",)),
    Case("a_plants_for_the_next", "3.00", "ok", with_extra_cell(PLANTS_FOR_THE_NEXT)),
    Case("a_huge_error_message", "1.00", "ok", with_answer("double", HUGE_ERROR)),
    Case("a_huge_reply", "1.00", "crashed",
         with_answer("double", "import torch\ndef double(x):\n    return torch.ones(2**27, dtype=torch.bool)")),
    Case("a_control_characters", "1.00", "ok",
         with_answer("double", "def double(x):\n    raise ValueError('\\x1b[31mred\\x07bell\\x1b]0;title\\x07')")),
    Case("a_string_kernelspec", "3.00", "ok", string_kernelspec),
    Case("a_symlinked_assignment_folder", "0.00", "invalid", symlinked_assignment_folder),
    Case("a_symlinked_student_folder", "0.00", "invalid", symlinked_student_folder),
    Case("+formula_id", "3.00", "ok", lambda nb, ctx: nb),
    Case("@formula_id", "3.00", "ok", lambda nb, ctx: nb),
    Case("grader_killer", "3.00", "ok", with_extra_cell("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\n"
                                                        "except OSError:\n    pass"), root_only=True),
    Case("cgroup_escaping_daemon", "3.00", "ok", with_extra_cell(
        "import glob, os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        for p in glob.glob('/sys/fs/cgroup/**/cgroup.procs', recursive=True):\n"
        "            try:\n                open(p, 'w').write(str(os.getpid()))\n            except OSError:\n"
        "                pass\n        time.sleep(600)\n    os._exit(0)\n"), root_only=True),
    *[Case(f"zz_honest_{i}", "3.00", "ok", lambda nb, ctx: nb) for i in range(3)],
    # Outside bubblewrap /tmp is the machine's: there the planted files are found (no file-system isolation).
    *[Case(f"zz_reader_{i}", "3.00", "ok", with_extra_cell(LOOKS_FOR_LEFTOVERS), score_none="1.00") for i in range(3)],
]


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def build_class(course: Path, subs: Path, canary: Path, mode: str) -> list[Case]:
    solution = nbformat.read(course / "solutions" / "mini" / "mini.ipynb", as_version=4)
    ctx = {"checks": str(course / "source" / "mini" / "checks" / "test_mini.py"),
           "solution": str(course / "solutions" / "mini" / "mini.ipynb"),
           "other_student": str(subs / "perfect" / "mini.ipynb"),
           "canary": str(canary),
           "package": str(PACKAGE), "messages": str(PACKAGE / "checks" / "messages.py")}
    root = os.geteuid() == 0
    cases = [c for c in CASES if mode in c.modes and (root or not c.root_only)]
    for case in cases:
        built = case.build(copy.deepcopy(solution), ctx)
        name = "mini.ipynb"
        folder = subs / case.name
        if isinstance(built, tuple) and built[0] == "symlink":
            _, target, inner = built
            if inner is None:
                folder.symlink_to(target, target_is_directory=True)
            else:
                folder.mkdir(parents=True)
                (folder / inner).symlink_to(target, target_is_directory=True)
            continue
        if isinstance(built, tuple):
            built, name = built
        folder.mkdir(parents=True)
        if isinstance(built, bytes):
            (folder / name).write_bytes(built)
        else:
            nbformat.write(built, folder / name)
    return cases


def _orphaned(pid: int, uid: int) -> bool:
    """Whether a process of the sandbox user outlived its grader: above it (past sandbox-user processes and
    bwrap) there is only init. Another grader running on the machine at the same time (its templates are of the
    same user) is still their ancestor, so its processes do not count as ours."""
    try:
        while pid > 1:
            with open(f"/proc/{pid}/stat") as fh:
                stat = fh.read()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if os.stat(f"/proc/{pid}").st_uid != uid and comm != "bwrap":
                return False
            pid = ppid
    except (OSError, ValueError):
        return False  # gone meanwhile
    return True


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bwrap", "none"])
def test_hostile_corpus(mini_course, tmp_path, mode):
    if mode == "bwrap" and not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed")
    assert len([c for c in CASES if mode in c.modes]) >= 25
    subs = tmp_path / "subs"
    canary = tmp_path / "canary.txt"
    canary.write_text("untouched")
    cases = build_class(mini_course, subs, canary, mode)
    before = {"course": _digest(mini_course), "subs": _digest(subs), "package": _digest(PACKAGE)}
    if mode == "none" and _candidate("none", ())[0] is None:
        # As root, the fallback must run student code as an unprivileged user; where that user cannot run this
        # Python (an interpreter under /root), grading is refused rather than done as root.
        assert sandbox_user() is not None
        r = autograder("grade", "mini", subs, "--out", tmp_path / "out", "--isolation", "none", cwd=mini_course)
        assert r.returncode == 1 and "cannot run" in r.stderr and "--isolation bwrap" in r.stderr, r.stderr
        assert not (tmp_path / "out" / "grades.csv").exists()
        return

    outs = []
    for run in range(2):
        out = tmp_path / f"out{run}"
        r = autograder("grade", "mini", subs, "--out", out, "--timeout", "5", "--memory", "1.5",
                       "--isolation", mode, "--workers", "2", cwd=mini_course, timeout=1200)
        assert r.returncode == 0, r.stderr[-3000:]
        outs.append(out)
        if mode == "none":
            assert "NOT enforced: network, file-system view and writes" in r.stderr
        else:
            assert "isolation: bubblewrap" in r.stderr

    with open(outs[0] / "grades.csv", newline="") as fh:
        rows = {row["student_id"]: (row["score"], row["status"]) for row in csv.DictReader(fh)}
    # Ids are written so that a spreadsheet shows them as text ("'+formula_id"), never runs them.
    expected = {csv_cell(c.name): ((c.score_none or c.score, c.status_none or c.status) if mode == "none" else
                                   (c.score, c.status)) for c in cases}
    assert rows == expected
    assert "'+formula_id" in rows and "'@formula_id" in rows

    # The trusted side stayed small although a worker answered with 128 MiB (over the 64 MiB reply limit; 256 MiB
    # does not fit the worker's own --memory 1.5 when it serialises the reply) and a megabyte of error text.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2_500_000  # KiB
    feedback = (outs[0] / "feedback" / "a_control_characters.html").read_text()
    assert "red" in feedback and "\x1b" not in feedback and "\x07" not in feedback
    huge = json.loads((outs[0] / "results" / "a_huge_error_message.json").read_text())
    assert max(len(c["message"]) for c in huge["checks"]) < 3000
    # Nothing a student started outlives grading, as whatever user it ran.
    user = sandbox_user()
    if user is not None:
        left = subprocess.run(["pgrep", "-u", str(user.uid)], capture_output=True, text=True).stdout.split()
        left = [pid for pid in left if _orphaned(int(pid), user.uid)]
        assert not left, left

    # The second run gives identical grades, and nothing outside the output changed.
    assert (outs[0] / "grades.csv").read_bytes() == (outs[1] / "grades.csv").read_bytes()
    assert _digest(mini_course) == before["course"]
    assert _digest(subs) == before["subs"]
    assert _digest(PACKAGE) == before["package"]
    assert canary.read_text() == "untouched"

    # Every status comes with a readable reason for the student.
    for case in cases:
        detail = json.loads((outs[0] / "results" / f"{case.name}.json").read_text())
        if case.status != "ok":
            notes = " ".join(n for nb in detail["notebooks"] for n in nb["notes"])
            messages = " ".join(c["message"] for c in detail["checks"])
            assert notes or messages, case.name


@pytest.mark.slow
def test_a_template_that_cannot_start_grades_nobody(mini_course, tmp_path):
    """The machine's failure (here: a memory limit the template cannot start under) is not every student's crash."""
    subs = tmp_path / "subs"
    (subs / "ali").mkdir(parents=True)
    shutil.copy(mini_course / "solutions" / "mini" / "mini.ipynb", subs / "ali")
    r = autograder("grade", "mini", subs, "--out", tmp_path / "out", "--memory", "0.03", "--workers", "1",
                   cwd=mini_course, timeout=300)
    assert r.returncode == 1, r.stderr
    assert "worker template" in r.stderr and "Traceback" not in r.stderr.split("worker template")[0]
    assert not (tmp_path / "out" / "grades.csv").exists()
