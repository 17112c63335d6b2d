"""source/ -> assignments/ (student version) and solutions/ (reference submission), via nbgrader.

nbgrader does the work (``generate_assignment`` strips solutions, checks the
metadata and records checksums; ``generate_solution`` strips the markers). It
runs in a throw-away course folder so that its database and logs never land in
the repository, and so that the hidden checks are never copied: only the
notebooks of ``source/<id>/`` are handed to nbgrader.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder import nbgrader_ready
from autograder.assignment import Course, CourseError

#: Files of source/<id>/ that are never released.
HIDDEN = ("checks", "mutants.toml")


def _config(root: Path):
    from nbgrader.preprocessors import ClearMarkScheme, ClearOutput, IncludeHeaderFooter, LockCells
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.release_directory = "release"
    c.CourseDirectory.solution_directory = "solution"
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", *HIDDEN]
    # The reference solution is not executed here: `autograder validate` grades it instead.
    c.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearMarkScheme]
    return c


def generate(course: Course, assignment_id: str, out_release: Path, out_solution: Path) -> None:
    """Generate the student and solution versions of one assignment into the given folders."""
    from nbgrader.converters import GenerateAssignment, GenerateSolution
    from nbgrader.coursedir import CourseDirectory

    nbgrader_ready()
    src = course.source_dir / assignment_id
    if not any(src.glob("*.ipynb")):
        raise CourseError(f"source/{assignment_id} has no notebooks")
    with tempfile.TemporaryDirectory(prefix="ag-release-") as tmp:
        root = Path(tmp)
        staged = root / "source" / assignment_id
        staged.mkdir(parents=True)
        for nb in sorted(src.glob("*.ipynb")):
            shutil.copy2(nb, staged / nb.name)
        config = _config(root)
        logger = logging.getLogger("autograder.nbgrader")
        logger.setLevel(logging.WARNING)
        for converter_cls in (GenerateAssignment, GenerateSolution):
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = assignment_id
            converter = converter_cls(coursedir=coursedir, config=config)
            converter.log = logger
            converter.force = True
            if hasattr(converter, "create_assignment"):
                converter.create_assignment = True
            try:
                converter.start()
            except Exception as exc:  # nbgrader reports metadata problems this way
                raise CourseError(f"nbgrader could not generate {assignment_id}: {exc}") from None
        for produced, target in ((root / "release" / assignment_id, out_release),
                                 (root / "solution" / assignment_id, out_solution)):
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            for nb_path in sorted(produced.glob("*.ipynb")):
                _write_normalized(nb_path, target / nb_path.name)


def _write_normalized(src: Path, dst: Path) -> None:
    """Write a notebook in one canonical form, so regenerating it gives identical bytes."""
    nb = nbformat.read(src, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(nb, dst)


def release(course: Course, assignment_ids: list[str]) -> list[str]:
    """Regenerate assignments/<id> and solutions/<id> for each id; returns the ids done."""
    ids = assignment_ids or course.assignment_ids()
    for aid in ids:
        generate(course, aid, course.release_dir / aid, course.solutions_dir / aid)
    return ids
