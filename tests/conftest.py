import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MINI = Path(__file__).resolve().parent / "data" / "course"


def autograder(*args, cwd=None, env=None, timeout=900):
    """Run the CLI as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("AUTOGRADER_COURSE", None) if env is None or "AUTOGRADER_COURSE" not in env else None
    return subprocess.run([sys.executable, "-m", "autograder.cli", *map(str, args)], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def mini_course(tmp_path):
    """A private copy of the small test course (source, release, solutions)."""
    dest = tmp_path / "course"
    shutil.copytree(MINI, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@contextlib.contextmanager
def running_student(name: str, cells: dict[str, str] | str):
    """A :class:`Student` over a sandboxed worker that ran ``cells`` ({label: source} or one source); closed after.

    Every cell must run: a failing one is a broken test, reported with its error.
    """
    from autograder.isolation import Limits
    from autograder.session import CellToRun, NotebookRun, Student

    sources = {"code": cells} if isinstance(cells, str) else cells
    run = NotebookRun(name, [CellToRun(label, textwrap.dedent(src)) for label, src in sources.items()],
                      Limits(cell_timeout=60.0, submission_timeout=300.0))
    try:
        student = Student(run)
        assert all(o.ok for o in student.cell_outcomes), [o.error for o in student.cell_outcomes if not o.ok]
        yield student
    finally:
        run.close()


@pytest.fixture(scope="session")
def student_running():
    """``with student_running(name, cells) as student:`` in a module-scoped ``student`` fixture."""
    return running_student
