"""Every option is checked: bad usage is one error line after the usage line, exit 2, and nothing is graded."""
import argparse

import nbformat
import pytest

from autograder import cli
from conftest import autograder


@pytest.fixture
def course(mini_course, monkeypatch):
    monkeypatch.delenv("AUTOGRADER_COURSE", raising=False)
    monkeypatch.chdir(mini_course)
    subs = mini_course / "subs" / "ali"
    subs.mkdir(parents=True)
    nbformat.write(nbformat.read(mini_course / "solutions" / "mini" / "mini.ipynb", as_version=4), subs / "mini.ipynb")
    return mini_course


GRADE = ["grade", "mini", "subs", "--out", "out"]
BAD = [
    (GRADE + ["--workers", "0"], "argument --workers: must be at least 1, got 0"),
    (GRADE + ["--workers", "-3"], "argument --workers: must be at least 1, got -3"),
    (GRADE + ["--workers", "two"], "argument --workers: expected a whole number"),
    (GRADE + ["--timeout", "-1"], "argument --timeout: must be a positive number, got -1"),
    (GRADE + ["--timeout", "0"], "argument --timeout: must be a positive number"),
    (GRADE + ["--timeout", "nan"], "argument --timeout: must be a positive number"),
    (GRADE + ["--memory", "-1"], "argument --memory: must be a positive number, got -1"),
    (GRADE + ["--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
    (GRADE + ["--isolation", "docker"], "argument --isolation: invalid choice"),
    (GRADE + ["--format", "blackboard"], "argument --format: invalid choice"),
    (GRADE + ["--late-per-day", "2"], "argument --late-per-day: must be a fraction between 0 and 1"),
    (GRADE + ["--late-max", "-0.5"], "argument --late-max: must be a fraction between 0 and 1"),
    (GRADE + ["--due", "tomorrow"], "argument --due: due date 'tomorrow' is not ISO 8601"),
    (GRADE + ["--late-per-day", "0.1"], "--late-per-day needs a due date"),
    (GRADE + ["--scheduler", "head:8786"], "argument --scheduler: expected a Dask scheduler address"),
    (GRADE + ["--gradebook", "gradebook.db"], "argument --gradebook: expected a database URL"),
    (GRADE + ["--student", "a b"], "argument --student: 'a b' is not a student id"),
    (GRADE + ["--student", "veli"], "--student veli: no such student folder"),
    (["grade", "mini", "missing-folder"], "missing-folder: no such file or folder"),
    (["grade", "nope", "subs"], "assignment 'nope' is not released"),
    (["grade", "mini"], "the following arguments are required: SUBMISSIONS"),
    (["feedback", "mini", "--out", "never-graded"], "never-graded: no such folder"),
    (["export", "mini", "--out", "never-graded"], "the following arguments are required: --format"),
    (["export", "mini", "--format", "blackboard"], "argument --format: invalid choice"),
    (["export", "mini", "--format", "canvas", "--scale-to", "0"], "argument --scale-to: must be a positive number"),
    (["export", "mini", "--format", "canvas", "--out", "never-graded"], "never-graded: no such folder"),
    (["gradescope", "mini", "--memory", "0"], "argument --memory: must be a positive number"),
    (["gradescope", "mini", "--visibility", "sometimes"], "argument --visibility: invalid choice"),
    (["check", "missing.ipynb"], "argument NOTEBOOK: missing.ipynb: no such file or folder"),
    (["check", "subs/ali/mini.ipynb", "--timeout", "-5"], "argument --timeout: must be a positive number"),
    (["validate", "--workers", "0"], "argument --workers: must be at least 1, got 0"),
    (["validate", "nope"], "assignment 'nope' not found"),
    (["release", "mini", "nope"], "assignment 'nope' not found"),
    (["regrade"], "argument COMMAND: invalid choice: 'regrade'"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a[1:] if a[0] == "grade" else a) for a, _ in BAD])
def test_bad_usage_is_one_error_line_and_exit_2(course, capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0].startswith("usage: autograder"), err
    assert message in lines[-1] and lines[-1].startswith("autograder") and ": error: " in lines[-1], err
    assert "Traceback" not in err
    assert not (course / "out").exists()  # nothing graded, nothing written


def test_the_real_command_fails_the_same_way(course):
    r = autograder("grade", "mini", "subs", "--memory", "-1", cwd=course)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == ("autograder grade: error: argument --memory: must be a positive "
                                                 "number, got -1")


@pytest.mark.parametrize("setting, message", [
    ("workers = 0", "[grade] workers = 0: must be at least 1, got 0"),
    ("memory = -1", "[grade] memory = -1: must be a positive number"),
    ('device = "tpu"', "[grade] device = 'tpu': expected one of auto, cpu, cuda"),
])
def test_a_bad_setting_in_autograder_toml_is_the_courses_error(course, capsys, setting, message):
    (course / "autograder.toml").write_text(f"[grade]\n{setting}\n")
    assert cli.main(GRADE) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("autograder: error: ") and "autograder.toml" in err[-1] and message in err[-1]


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"autograder {cli._version()}"


def test_every_option_of_every_command_has_help():
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0]
    assert set(commands.choices) == {"release", "grade", "feedback", "export", "gradescope", "check", "validate"}
    for name, sub in [("autograder", parser), *commands.choices.items()]:
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{name}: {action.option_strings or action.dest}"


def test_device_auto_without_a_gpu_node_does_not_import_torch():
    """No /dev/nvidia*, /dev/dxg or /dev/kfd: no GPU can be there, and the ~2 s torch import waits until the worker
    templates have started (it is what `grade` does first)."""
    import subprocess
    import sys

    code = ("import glob, sys\nglob.glob = lambda pattern: []\nfrom autograder import cli\n"
            "print(cli._device('auto'), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["cpu", "False"]
