"""A pool grades each submission notebook by notebook and puts the parts together: the grade is the whole's."""
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import grading
from autograder.assignment import Assignment, Course
from autograder.grading import NotebookResult, SubmissionResult, error_result, merge_parts, submission_parts
from autograder.runner import CheckResult
from autograder.scoring import score_cells, total
from autograder.submissions import Submission
from autograder.validate import apply_mutant

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ch1():
    return Assignment.load(Course(ROOT), "ch1_intro")


def _part(assignment, name, passed: bool, status="ok", seconds=1.0):
    checks = [CheckResult(c.notebook, c.grade_id, f"test_{c.grade_id}", 1.0, passed)
              for c in assignment.grade_cells if c.notebook == name and not c.manual]
    cells = [c for c in score_cells(assignment, checks) if c.notebook == name]
    score, max_score = total(cells)
    return SubmissionResult("ali", assignment.id, status, score, max_score, [NotebookResult(name, f"{name}.ipynb",
                            status)], cells, ["teslim notu"], seconds, {"cells": seconds / 2, "checks": seconds / 2},
                            autograded={name: "{}"})


def test_a_submission_is_cut_into_its_notebooks(ch1):
    names = list(ch1.notebooks)
    assert len(names) == 3
    assert submission_parts(ch1, None) == [{n} for n in names]
    assert submission_parts(ch1, {names[2], names[0]}) == [{names[0]}, {names[2]}]
    assert submission_parts(ch1, {names[1]}) == [{names[1]}]  # one notebook: the submission as it is


def test_parts_put_together_read_as_the_whole(ch1):
    names = list(ch1.notebooks)
    parts = [_part(ch1, names[0], True), _part(ch1, names[1], False, "timeout"), _part(ch1, names[2], True)]
    whole = merge_parts(ch1, parts)
    every = [c for p in parts for cell in p.cells for c in cell.checks]
    assert [c.grade_id for c in whole.cells] == [c.grade_id for c in score_cells(ch1, every)]
    assert (whole.score, whole.max_score) == total(score_cells(ch1, every))
    assert whole.status == "timeout" and whole.notes == ["teslim notu"]  # the worst notebook; notes once
    assert [n.name for n in whole.notebooks] == names and list(whole.autograded) == names
    assert whole.seconds == 3.0 and whole.timing == {"cells": 1.5, "checks": 1.5}


def test_a_part_the_grader_failed_on_fails_the_whole_submission(ch1):
    names = list(ch1.notebooks)
    sub = Submission("ali", [])
    failed = error_result(ch1, sub, "OSError: disk full", only={names[1]})
    whole = merge_parts(ch1, [_part(ch1, names[0], True), failed, _part(ch1, names[2], True)])
    expected = error_result(ch1, sub, "OSError: disk full")
    assert whole.to_json() == expected.to_json()


def test_a_class_runs_its_slowest_notebooks_first_once_it_has_seen_them(ch1):
    names = list(ch1.notebooks)
    subs = [Submission(f"s{i}", []) for i in range(3)]
    schedule = grading._PartSchedule(ch1, subs, {})
    first = [schedule.next() for _ in range(3)]
    assert [schedule.part(*u) for u in first] == [{n} for n in names]  # nothing seen yet: the assignment's order
    for (i, k), seconds in zip(first, (0.5, 0.2, 3.0)):
        assert schedule.arrived(i, k, _part(ch1, names[k], True, seconds=seconds)) is None or k == 2
    order = [schedule.part(*schedule.next()) for _ in range(3)]
    assert order == [{names[2]}, {names[0]}, {names[1]}]  # slowest first: the quick ones end the run
    assert schedule.next()[0] == 2


@pytest.mark.slow
def test_a_class_graded_in_parts_by_two_processes_gets_the_grades_of_whole_submissions(ch1, tmp_path):
    course = Course(ROOT)
    solutions = {n: nbformat.read(course.solutions_dir / "ch1_intro" / f"{n}.ipynb", as_version=4)
                 for n in ch1.notebooks}
    mutant = ch1.mutants()[0]
    classes = {"solution": solutions, "stub": {n: spec.nb for n, spec in ch1.notebooks.items()},
               "mutant": {**solutions, mutant.notebook: apply_mutant(solutions[mutant.notebook], mutant)}}
    subs = []
    for sid, notebooks in classes.items():
        (tmp_path / sid).mkdir()
        for name, nb in notebooks.items():
            nbformat.write(nb, tmp_path / sid / f"{name}.ipynb")
        subs.append(Submission(sid, sorted((tmp_path / sid).glob("*.ipynb"))))
    options = grading.GradeOptions()
    try:
        whole = grading.grade_class(ch1, subs, options, workers=1)
    finally:
        grading.close_launchers()
    in_parts = grading.grade_class(ch1, subs, grading.GradeOptions(), workers=2)
    assert [r.to_json() for r in in_parts] == [r.to_json() for r in whole]
    assert [r.autograded for r in in_parts] == [r.autograded for r in whole]
    score = {r.student_id: r.score for r in whole}
    assert score["stub"] < score["mutant"] < score["solution"] == whole[0].max_score  # grades that tell apart
    shutil.rmtree(tmp_path, ignore_errors=True)
