"""Worker templates begun before the grading processes are forked: each pool process takes one over."""
import os
import shutil
import time
from pathlib import Path

import pytest

from autograder import grading
from autograder.assignment import Assignment, Course
from autograder.isolation import Limits
from autograder.submissions import Submission


def _grade_noting_the_template(args):
    """grading._grade_one, and which template served it (runs in the pool process)."""
    assignment, submission, options, only = args
    time.sleep(0.5)  # long enough for the other pool process to take a submission too, even on a busy machine
    result = grading.grade_submission(assignment, submission, options, only)
    result.notes.append(f"template {grading.launcher_for(options, assignment.imports).template.pid}")
    return result


@pytest.fixture
def mini(mini_course, tmp_path):
    assignment = Assignment.load(Course(mini_course), "mini")
    subs = []
    for i in range(4):
        folder = tmp_path / "subs" / f"s{i}"
        folder.mkdir(parents=True)
        shutil.copy(mini_course / "solutions" / "mini" / "mini.ipynb", folder / "mini.ipynb")
        subs.append(Submission(f"s{i}", [folder / "mini.ipynb"]))
    return assignment, subs


def _options():
    return grading.GradeOptions(limits=Limits(cell_timeout=20.0, submission_timeout=300.0))


def test_pool_processes_take_over_the_templates_begun_early(mini, monkeypatch):
    assignment, subs = mini
    options = _options()
    grading.start_templates_early(options, assignment, 2)
    early = [launcher.template.pid for _, launcher in grading._early]
    assert len(early) == 2
    monkeypatch.setattr(grading, "_grade_one", _grade_noting_the_template)
    results = grading.grade_class(assignment, subs, options, workers=2)
    used = {int(note.split()[1]) for r in results for note in r.notes if note.startswith("template ")}
    # Every submission was graded by a template begun early: none was started twice.
    assert used and used <= set(early)
    assert grading._early == []
    for pid in early:  # stopped by its grading process and reaped by this one: no zombie left behind
        assert not Path(f"/proc/{pid}").exists()
    assert all(r.status == "ok" and r.score == r.max_score > 0 for r in results), [r.notes for r in results]


def test_grades_are_the_same_with_or_without_early_templates(mini):
    assignment, subs = mini
    options = _options()
    grading.start_templates_early(options, assignment, 2)
    early = grading.grade_class(assignment, subs, options, workers=2)
    plain = grading.grade_class(assignment, subs, _options(), workers=2)
    assert [r.to_json() for r in early] == [r.to_json() for r in plain]


def test_templates_begun_for_a_pool_that_never_ran_are_stopped(mini):
    assignment, _ = mini
    grading.start_templates_early(_options(), assignment, 2)
    pids = [launcher.template.pid for _, launcher in grading._early]
    grading.discard_early_templates()
    assert grading._early == []
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()


def _template_fails(options, preload, failures, early, slots):
    """A pool process's start whose template could not start (as _start_grading_process reports it)."""
    failures.put("the worker template did not start: no memory")
    os._exit(3)


def test_a_pool_broken_while_submissions_are_handed_out_is_the_templates_failure(mini, monkeypatch):
    # Processes that stop at once break the pool while the parent is still submitting: the template's error,
    # never the pool's own exception, and nobody graded or lost.
    assignment, subs = mini
    monkeypatch.setattr(grading, "_start_grading_process", _template_fails)
    many = [Submission(f"s{i}", subs[0].files) for i in range(3000)]
    recorded = []
    with pytest.raises(grading.TemplateError, match="no memory"):
        grading._pool_round(assignment, many, grading.GradeOptions(), 2, {}, recorded.append)
    assert recorded == []
