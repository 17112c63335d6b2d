"""The trusted side bounds and neutralises what comes from students: text, sizes, metadata, links, grade files."""
import time

import nbformat
import numpy as np
import pytest

from autograder.assignment import Assignment, Course
from autograder.checks import CheckFailed, expect_close, rel_error
from autograder.checks.messages import error_text, explain_error, student_line
from autograder.device import explain_device_error
from autograder.grading import GradeOptions, grade_submission
from autograder.isolation import FreshLauncher, Limits
from autograder.isolation.policy import own_process
from autograder.notebook import kernel_language
from autograder.records import csv_cell, printable, write_csv
from autograder.runner import CheckTimedOut, explain_failure, watchdog
from autograder.session import NotebookRun, StudentCodeError, WorkerLost
from autograder.submissions import Submission, discover
from autograder.validate import TRIVIAL_ANSWERS, _trivial_source
from conftest import MINI

# Built to make backtracking patterns explode: repeated prefixes that almost match.
ADVERSARIAL = [
    "target " * 150_000 + "must be " * 10_000,
    'File "<ipython-input-' * 50_000,
    'File "/tmp/ipykernel_' * 50_000 + "\n" + " " * 100_000,
    "device " * 150_000 + "does not",
    "Input type (" * 80_000,
    "x" * 1_000_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_explanations_are_linear_on_a_megabyte_of_hostile_text(text):
    t0 = time.monotonic()
    explain_error("RuntimeError", text)
    explain_device_error("RuntimeError", text)
    student_line(text)
    error = StudentCodeError({"type": "T" * 10**6, "message": text, "traceback": text})
    message = error_text("f(x)", error)
    explain_failure(error)
    assert time.monotonic() - t0 < 5.0  # catastrophic backtracking takes minutes
    assert len(message) < 3000 and len(error.type) <= 200 and len(error.traceback) <= 8000


def test_worker_errors_of_any_shape_become_bounded_strings():
    error = StudentCodeError({"type": ["list"], "message": {"a": 1}, "traceback": 42})
    assert (error.type, error.message, error.traceback) == ("Exception", "", "")
    assert StudentCodeError("not a dict").type == "Exception"


def test_sizes_are_checked_before_a_students_value_is_converted():
    huge = np.ones(1 << 23, dtype=bool)
    with pytest.raises(CheckFailed, match="şekil"):
        expect_close(huge, np.zeros(3))
    assert rel_error(huge, np.zeros(3)) == float("inf")
    with pytest.raises(CheckFailed, match="çok büyük"):
        expect_close(huge, np.zeros(1 << 23))


def test_watchdog_stops_a_check_body_and_says_so():
    with pytest.raises(CheckTimedOut):
        with watchdog(0.2):
            while True:
                pass
    assert "bitmedi" in explain_failure(CheckTimedOut(0.2))


def test_kernel_language_survives_any_metadata():
    for meta, lang in [({"kernelspec": "python3"}, "python3"), ({"kernelspec": ["x"]}, None),
                       ({"language_info": "R"}, None), ({}, None), ({"kernelspec": {"language": "R"}}, "r")]:
        assert kernel_language(nbformat.from_dict({"metadata": meta, "cells": []})) == lang
    assert kernel_language(nbformat.from_dict({"metadata": "broken", "cells": []})) is None


def test_csv_cells_never_start_a_formula(tmp_path):
    for text in ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "\tx", "\rx"]:
        assert csv_cell(text).startswith("'")
    assert csv_cell("ali") == "ali" and csv_cell("3.00") == "3.00"
    write_csv(tmp_path / "g.csv", ["id", "score"], [["=cmd|' /C calc'!A0", "1.00"]])
    assert (tmp_path / "g.csv").read_text() == "id,score\n'=cmd|' /C calc'!A0,1.00\n"


def test_control_characters_are_removed_from_page_text():
    assert printable("\x1b[31mred\x07\x00\x9b ok\n\ttab") == "[31mred ok\n\ttab"


def test_discovery_never_follows_links(tmp_path):
    secret = tmp_path / "solutions" / "hw1"
    secret.mkdir(parents=True)
    (secret / "a.ipynb").write_text("{}")
    root = tmp_path / "subs"
    (root / "ali").mkdir(parents=True)
    (root / "ali" / "hw1").symlink_to(secret, target_is_directory=True)
    (root / "veli").mkdir()
    (root / "veli" / "a.ipynb").symlink_to(secret / "a.ipynb")
    (root / "ayse").symlink_to(secret, target_is_directory=True)
    subs = {s.student_id: s for s in discover(root, "hw1", tmp_path / "unpack")}
    assert {sid: s.files for sid, s in subs.items()} == {"ali": [], "veli": [], "ayse": []}
    assert all(s.notes and "symlink" in s.notes[0] for s in subs.values())


def test_trivial_answers_replace_only_the_stubs_raise():
    src = ("def f(x, y=2):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\n"
           "class M:\n    def forward(self, inputs):\n        raise NotImplementedError()\n\nLIMIT = 3\n")
    out = _trivial_source(src, TRIVIAL_ANSWERS["return the first argument"])
    assert "    return x\n" in out and "        return inputs\n" in out and "LIMIT = 3" in out
    assert "NotImplementedError" not in out


class _BrokenLauncher:
    """A grading machine whose workers cannot start (e.g. a library that fails to import)."""

    def spawn(self, fd):
        raise OSError("torchvision failed to import")

    def start(self):
        pass

    def reset(self):
        pass


def test_a_worker_the_machine_cannot_start_is_an_error_not_a_student_crash():
    run = NotebookRun("nb", [], Limits(), _BrokenLauncher())
    with pytest.raises(WorkerLost) as lost:
        run.ensure_started()
    assert lost.value.kind == "infrastructure" and run.status == "error"
    assert "sizin kodunuzdan kaynaklanmıyor" in explain_failure(lost.value)


def test_an_exception_while_grading_one_submission_becomes_its_status(tmp_path, monkeypatch):
    import autograder.grading as grading

    assignment = Assignment.load(Course(MINI), "mini")
    monkeypatch.setattr(grading, "_grade_submission", lambda *a, **k: 1 / 0)
    res = grade_submission(assignment, Submission("ali", []), GradeOptions(isolation=own_process()))
    assert res.status == "error" and res.score == 0 and res.max_score == 3.0
    assert "ZeroDivisionError" in res.notes[0]


def test_self_check_runs_as_the_caller():
    assert own_process().user is None
    assert isinstance(NotebookRun("nb", [], Limits()).launcher, FreshLauncher)
