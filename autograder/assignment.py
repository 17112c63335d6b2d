"""The course on disk, and what an assignment is made of.

An assignment is read from its *released* notebooks (``assignments/<id>/``):
they hold exactly the locked cells and grade cells a submission is restored
against, with nbgrader's metadata. Its hidden checks and mutants are read from
``source/<id>/``.
"""
from __future__ import annotations

import ast
import functools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat


class CourseError(Exception):
    """A problem with the course files (missing assignment, bad metadata, …)."""


@dataclass(frozen=True)
class Course:
    root: Path

    @property
    def source_dir(self) -> Path:
        return self.root / "source"

    @property
    def release_dir(self) -> Path:
        return self.root / "assignments"

    @property
    def solutions_dir(self) -> Path:
        return self.root / "solutions"

    @classmethod
    def find(cls, start: Path | None = None) -> "Course":
        """The course whose root holds ``source/`` or ``assignments/`` (a student's copy may have only the
        latter): $AUTOGRADER_COURSE, or the nearest such folder upwards from ``start`` or the cwd."""
        env = os.environ.get("AUTOGRADER_COURSE")
        if env:
            return cls(Path(env).resolve())
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "source").is_dir() or (folder / "assignments").is_dir():
                return cls(folder)
        raise CourseError("no course found: run inside the course folder (the one with source/) "
                          "or set AUTOGRADER_COURSE")

    def assignment_ids(self) -> list[str]:
        """Assignments with source notebooks (an instructor's course) or else released ones (a student's)."""
        base = self.source_dir if self.source_dir.is_dir() else self.release_dir
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_grade_cell(cell) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def is_solution_cell(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test_cell(cell) -> bool:
    """A locked grade cell with code: a visible check (never run while grading)."""
    return cell.cell_type == "code" and is_grade_cell(cell) and not is_solution_cell(cell)


@dataclass
class GradeCell:
    grade_id: str
    notebook: str
    points: float
    manual: bool  # a written answer graded by hand
    cell_type: str


@dataclass
class NotebookSpec:
    name: str  # file stem
    path: Path
    nb: nbformat.NotebookNode
    grade_cells: list[GradeCell] = field(default_factory=list)

    @property
    def grade_ids(self) -> set[str]:
        return {nbgrader_meta(c).get("grade_id") for c in self.nb.cells if nbgrader_meta(c).get("grade_id")}


@dataclass
class Mutant:
    """A known-buggy variant of the solution: it must lose points on exactly ``loses``.

    Either ``cell`` + ``replace`` (text replacements in one answer cell of the solution) or ``cells`` (whole
    answer cells by grade_id, as a student wrote them) with ``added`` cells ([after grade_id, source]).
    ``requirement`` names the requirement it breaks; ``feedback``, if given, must appear in a failing check's
    message (the feedback names the bug). ``origin`` says who wrote it ("authors" or "blind").
    """

    name: str
    description: str
    notebook: str
    cell: str
    replace: list[tuple[str, str]]
    loses: list[str]
    requirement: str = ""
    feedback: str = ""
    cells: dict[str, str] = field(default_factory=dict)
    added: list[tuple[str, str]] = field(default_factory=list)
    origin: str = "authors"


@dataclass
class Alternative:
    """A correct solution in another style: it must earn every point of its notebook."""

    name: str
    description: str
    notebook: str
    cells: dict[str, str]
    added: list[tuple[str, str]] = field(default_factory=list)
    origin: str = "authors"


@dataclass
class Requirement:
    """One thing the task text asks for, and the hidden checks (by function name) that verify it."""

    id: str
    notebook: str
    text: str
    checks: list[str]


def imported_modules(source: str) -> list[str]:
    """Absolute imports of one code cell, in order (IPython magics and shell lines are left out; a cell that does
    not parse imports nothing)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def _in_order_of_first_use(sources) -> tuple[str, ...]:
    """The modules these code sources import, each once, in order of first use."""
    found: dict[str, None] = {}
    for source in sources:
        found.update(dict.fromkeys(imported_modules(source)))
    return tuple(found)


def _load_toml(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{path}: {exc}") from None


@dataclass
class Assignment:
    id: str
    course: Course
    notebooks: dict[str, NotebookSpec]
    checks_override: Path | None = None  # hidden checks unpacked elsewhere (a cluster worker)

    @property
    def source_dir(self) -> Path:
        return self.course.source_dir / self.id

    @property
    def checks_dir(self) -> Path:
        return self.checks_override or self.source_dir / "checks"

    @property
    def grade_cells(self) -> list[GradeCell]:
        return [g for spec in self.notebooks.values() for g in spec.grade_cells]

    @property
    def auto_max_score(self) -> float:
        return sum(g.points for g in self.grade_cells if not g.manual)

    @functools.cached_property
    def imports(self) -> tuple[str, ...]:
        """The modules the released notebooks import (``import a.b`` / ``from a.b import c``), in order of first use.

        The worker template imports these before it forks workers, so a student's import cells cost nothing: only
        what this assignment uses, since each module costs start-up time (torchvision alone ~1.5 s).
        """
        return _in_order_of_first_use(cell.source for spec in self.notebooks.values() for cell in spec.nb.cells
                                      if cell.cell_type == "code")

    @functools.cached_property
    def check_imports(self) -> tuple[str, ...]:
        """The modules the hidden checks import (at the top or inside a function), in order of first use: the
        trusted side imports them once before it forks its grading processes."""
        def sources():
            for path in sorted(self.checks_dir.glob("*.py")):
                try:
                    yield path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue  # the suite's own run reports a file that cannot be read

        return _in_order_of_first_use(sources())

    def grade_cell(self, grade_id: str) -> GradeCell | None:
        for g in self.grade_cells:
            if g.grade_id == grade_id:
                return g
        return None

    @classmethod
    def load(cls, course: Course, assignment_id: str, skip: frozenset[str] = frozenset()) -> "Assignment":
        """The released assignment; ``skip``: notebook file names to leave out (copies in a student's folder)."""
        folder = course.release_dir / assignment_id
        if not folder.is_dir():
            known = ", ".join(course.assignment_ids()) or "none"
            raise CourseError(f"assignment {assignment_id!r} is not released (assignments/{assignment_id} missing; "
                              f"run `autograder release {assignment_id}`). Known assignments: {known}")
        notebooks = {}
        seen: dict[str, str] = {}
        for path in sorted(p for p in folder.glob("*.ipynb") if p.name not in skip):
            nb = nbformat.read(path, as_version=4)
            spec = NotebookSpec(path.stem, path, nb)
            for cell in nb.cells:
                meta = nbgrader_meta(cell)
                gid = meta.get("grade_id")
                if not gid:
                    continue
                if gid in seen:
                    raise CourseError(f"grade_id {gid!r} appears in both {seen[gid]} and {path.stem}")
                seen[gid] = path.stem
                if meta.get("grade"):
                    spec.grade_cells.append(GradeCell(gid, path.stem, float(meta.get("points", 0)),
                                                      manual=cell.cell_type != "code", cell_type=cell.cell_type))
            notebooks[path.stem] = spec
        if not notebooks:
            raise CourseError(f"assignments/{assignment_id} has no notebooks")
        return cls(assignment_id, course, notebooks)

    def _variant_files(self, stem: str) -> list[Path]:
        """``<stem>.toml`` and ``<stem>/*.toml`` of the assignment folder (one file per notebook is usual)."""
        folder = self.source_dir / stem
        return [p for p in [self.source_dir / f"{stem}.toml", *sorted(folder.glob("*.toml"))] if p.exists()]

    def mutants(self) -> list[Mutant]:
        out = []
        for path in self._variant_files("mutants"):
            for i, m in enumerate(_load_toml(path).get("mutant", [])):
                try:
                    out.append(Mutant(name=m["name"], description=m.get("description", ""), notebook=m["notebook"],
                                      cell=m.get("cell", ""), replace=[(str(a), str(b)) for a, b in m.get("replace", [])],
                                      loses=list(m["loses"]), requirement=str(m.get("requirement", "")),
                                      feedback=str(m.get("feedback", "")),
                                      cells={str(k): str(v) for k, v in m.get("cells", {}).items()},
                                      added=[(str(a), str(b)) for a, b in m.get("added", [])],
                                      origin=str(m.get("origin", "authors"))))
                except (KeyError, TypeError, ValueError) as exc:
                    raise CourseError(f"{path}: mutant #{i + 1} is malformed ({exc!r})") from None
                if bool(out[-1].cells) == bool(out[-1].replace):
                    raise CourseError(f"{path}: mutant {out[-1].name} needs either cell+replace or cells")
        return out

    def alternatives(self) -> list[Alternative]:
        out = []
        for path in self._variant_files("alternatives"):
            for i, a in enumerate(_load_toml(path).get("alternative", [])):
                try:
                    out.append(Alternative(name=a["name"], description=a.get("description", ""),
                                           notebook=a["notebook"], cells={str(k): str(v) for k, v in a["cells"].items()},
                                           added=[(str(x), str(y)) for x, y in a.get("added", [])],
                                           origin=str(a.get("origin", "authors"))))
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise CourseError(f"{path}: alternative #{i + 1} is malformed ({exc!r})") from None
        return out

    def requirements(self) -> list[Requirement] | None:
        """The requirements table (``requirements.toml``), or None if the assignment has none."""
        path = self.source_dir / "requirements.toml"
        if not path.exists():
            return None
        out = []
        for i, r in enumerate(_load_toml(path).get("requirement", [])):
            try:
                out.append(Requirement(id=r["id"], notebook=r["notebook"], text=r["text"],
                                       checks=[str(c) for c in r["checks"]]))
            except (KeyError, TypeError) as exc:
                raise CourseError(f"{path}: requirement #{i + 1} is malformed ({exc!r})") from None
        return out
