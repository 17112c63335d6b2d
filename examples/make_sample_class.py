"""Build a small sample class for an assignment: a perfect, a blank, a partial and a buggy submission.

    python examples/make_sample_class.py ch1_intro out/sample_class

perfect  = the reference solution
blank    = the released notebooks, untouched
partial  = the solution with every second answer cell put back to its stub
buggy    = the solution with every mutant of the assignment applied that fits
Generated from the course itself, so it never goes stale.
"""
import sys
from pathlib import Path

import nbformat

from autograder.assignment import Assignment, Course, is_solution_cell, nbgrader_meta
from autograder.validate import apply_mutant


def main(assignment_id: str, out: Path) -> None:
    course = Course.find()
    a = Assignment.load(course, assignment_id)
    solutions = {n: nbformat.read(course.solutions_dir / assignment_id / f"{n}.ipynb", as_version=4)
                 for n in a.notebooks}
    students = {"perfect": solutions, "blank": {n: s.nb for n, s in a.notebooks.items()}}

    partial = {}
    for name, nb in solutions.items():
        nb = nbformat.from_dict(nb)
        stubs = {nbgrader_meta(c).get("grade_id"): c.source for c in a.notebooks[name].nb.cells}
        answers = [c for c in nb.cells if is_solution_cell(c) and c.cell_type == "code"]
        for cell in answers[1::2]:
            cell.source = stubs[nbgrader_meta(cell)["grade_id"]]
        partial[name] = nb
    students["partial"] = partial

    buggy = {n: nbformat.from_dict(nb) for n, nb in solutions.items()}
    used_cells = set()
    for m in a.mutants():
        if (m.notebook, m.cell) in used_cells:
            continue  # one bug per answer cell keeps every bug visible in the feedback
        buggy[m.notebook] = apply_mutant(buggy[m.notebook], m)
        used_cells.add((m.notebook, m.cell))
    students["buggy"] = buggy

    for student, notebooks in students.items():
        folder = out / student
        folder.mkdir(parents=True, exist_ok=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, folder / f"{name}.ipynb")
    print(f"sample class for {assignment_id}: {', '.join(students)} -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]))
