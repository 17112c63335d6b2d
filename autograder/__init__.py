"""Course kit and sandboxed autograder for 'PyTorch ile Yapay Sinir Ağlarının Temelleri'."""
import os
import sys

__version__ = "0.1.0"

from autograder.startup import defer_iri_grammar  # noqa: E402

defer_iri_grammar()


def nbgrader_ready() -> None:
    """nbgrader's Gradebook shells out to `alembic`, installed beside this interpreter: put it on PATH."""
    bindir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + path
