import os
import shutil
import subprocess
import sys
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
