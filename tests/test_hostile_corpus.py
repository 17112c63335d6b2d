"""A corpus of hostile and broken submissions, graded end to end through the CLI.

Every case is built from the small test course's reference solution (3 automatic
points: `double` 2, `scale` 1) and states the score and status it must get. The
whole class is graded in one run per isolation mode; the rest of the class is
graded whatever one submission does, no file outside the output changes, and a
second run gives identical grades.
"""
import copy
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from conftest import autograder

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
    Case("c_stack_overflow", "3.00", "crashed",
         with_extra_cell("import sys\nsys.setrecursionlimit(10**8)\nnested = []\nfor _ in range(10**6):\n"
                         "    nested = [nested]\nrepr(nested)")),
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
]


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def build_class(course: Path, subs: Path, canary: Path, mode: str) -> list[Case]:
    solution = nbformat.read(course / "solutions" / "mini" / "mini.ipynb", as_version=4)
    ctx = {"checks": str(course / "source" / "mini" / "checks" / "test_mini.py"),
           "solution": str(course / "solutions" / "mini" / "mini.ipynb"),
           "other_student": str(subs / "perfect" / "mini.ipynb"),
           "canary": str(canary)}
    cases = [c for c in CASES if mode in c.modes]
    for case in cases:
        built = case.build(copy.deepcopy(solution), ctx)
        name = "mini.ipynb"
        if isinstance(built, tuple):
            built, name = built
        folder = subs / case.name
        folder.mkdir(parents=True)
        if isinstance(built, bytes):
            (folder / name).write_bytes(built)
        else:
            nbformat.write(built, folder / name)
    return cases


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
    before = {"course": _digest(mini_course), "subs": _digest(subs)}

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

    rows = {}
    for line in (outs[0] / "grades.csv").read_text().splitlines()[1:]:
        sid, _, score, max_score, status = line.split(",")
        rows[sid] = (score, status)
    expected = {c.name: ((c.score_none or c.score, c.status_none or c.status) if mode == "none" else
                         (c.score, c.status)) for c in cases}
    assert rows == expected

    # The second run gives identical grades, and nothing outside the output changed.
    assert (outs[0] / "grades.csv").read_bytes() == (outs[1] / "grades.csv").read_bytes()
    assert _digest(mini_course) == before["course"]
    assert _digest(subs) == before["subs"]
    assert canary.read_text() == "untouched"

    # Every status comes with a readable reason for the student.
    for case in cases:
        detail = json.loads((outs[0] / "results" / f"{case.name}.json").read_text())
        if case.status != "ok":
            notes = " ".join(n for nb in detail["notebooks"] for n in nb["notes"])
            messages = " ".join(c["message"] for c in detail["checks"])
            assert notes or messages, case.name
