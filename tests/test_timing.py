"""The timing split: where a submission's seconds went (statistics only, never a grade)."""
import math

from autograder import timing


def test_a_workers_account_of_its_time_is_clamped():
    assert timing.reported_busy(0.25, 0.5) == 0.25
    assert timing.reported_busy(9.0, 0.5) == 0.5  # never more than the round trip it is part of
    assert timing.reported_busy(-1.0, 0.5) == 0.0
    for hostile in (math.nan, math.inf, "0.1", None, True, [0.1], 10**400 if False else 1e400):
        assert timing.reported_busy(hostile, 0.5) in (0.0, 0.5)
    assert timing.reported_busy(True, 0.5) == 0.0  # a bool is not a number of seconds


def test_the_parts_add_up_and_body_time_excludes_what_it_waited_for():
    spent = {"roundtrip": 1.0, "busy": 0.7, "roundtrip_cells": 0.2, "busy_cells": 0.15, "reference": 0.3,
             "reference@call": 0.1, "roundtrip@call": 0.6, "start": 0.2}
    split = timing.split(total=2.5, checks=1.0, spent=spent)
    assert split["cells"] == 0.15 and split["student_calls"] == 0.55 and split["protocol"] == 0.3
    assert split["checks"] == 0.3  # 1.0 in bodies - 0.6 waiting for the worker - 0.1 reference
    assert split["reference"] == 0.3 and split["start"] == 0.2
    parts = sum(v for k, v in split.items() if k != "total")
    assert abs(parts - 2.5) < 1e-9 and split["overhead"] == 0.7


def test_counters_in_a_check_body_are_counted_twice():
    before = timing.snapshot()
    timing.add("reference", 0.5)
    with timing.check_body():
        timing.add("reference", 0.25)
        with timing.measure("start"):
            pass
    spent = timing.since(before)
    assert spent["reference"] == 0.75 and spent["reference@call"] == 0.25
    assert "start@call" in spent or spent.get("start", 0.0) < 1e-3


def test_the_templates_warm_up_leaves_cuda_untouched_for_its_forks():
    """Forked workers must see CUDA as a fresh process would (usable on a GPU grader; on a CPU one, a hard-coded
    "cuda" fails with "no NVIDIA driver", which the feedback explains, not "cannot re-initialize CUDA")."""
    import subprocess
    import sys

    code = ("import os, torch\nfrom autograder.sandboxed import contexts\ncontexts.warm_up()\n"
            "pid = os.fork()\nif pid == 0:\n    try:\n        torch.zeros(1, device='cuda')\n        print('ok')\n"
            "    except Exception as e:\n        print(e)\n    os._exit(0)\nos.waitpid(pid, 0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout
    assert "re-initialize" not in out and out.strip(), out
