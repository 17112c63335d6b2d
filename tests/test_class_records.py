"""The pieces of the instructor's loop: late penalties, copies, written answers, the joined rows, hang isolation."""
import copy
import os
import zipfile
from datetime import datetime, timezone

import nbformat
import pytest

from autograder import cli
from autograder.assignment import Assignment, Course, CourseError
from autograder.gradebook import GradebookGrade, course_for
from autograder.grading import CellError, NotebookResult, SubmissionResult
from autograder.isolation import Limits
from autograder.late import late_info, make_policy, parse_due, penalty, split_penalty, submission_time
from autograder.notebook import copy_base, fill_outputs, match_notebooks, safe_markdown, sanitize
from autograder.records import load_results, make_row, write_result_json
from autograder.runner import CheckResult, explain_failure
from autograder.scoring import score_cells, total
from autograder.session import CellOutcome, CellToRun, NotCalledAgain, NotebookRun, Student, WorkerLost
from autograder.submissions import discover
from conftest import MINI


@pytest.fixture(scope="module")
def assignment():
    return Assignment.load(Course(MINI), "mini")


def solution():
    return nbformat.read(MINI / "solutions" / "mini" / "mini.ipynb", as_version=4)


def stub():
    return nbformat.read(MINI / "assignments" / "mini" / "mini.ipynb", as_version=4)


def cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


# ---------------------------------------------------------------------------------------------- late work

def test_due_dates_and_policies():
    assert parse_due("2026-12-01T23:59:00+03:00") == datetime(2026, 12, 1, 20, 59, tzinfo=timezone.utc)
    assert parse_due("2026-12-01T23:59:00").tzinfo is not None  # local time of the grading machine
    for bad, message in [(("soon", 0.1, 1.0), "ISO 8601"), ((None, 0.1, 1.0), "needs a due date"),
                         (("2026-12-01T00:00:00Z", 2.0, 1.0), "late-per-day"),
                         (("2026-12-01T00:00:00Z", 0.1, -1.0), "late-max")]:
        with pytest.raises(ValueError, match=message):
            make_policy(*bad)
    assert make_policy(None, 0.0, 1.0) is None


def test_every_started_day_counts_and_the_cap_holds():
    policy = make_policy("2026-12-01T00:00:00+00:00", 0.1, 0.25)
    at = lambda text: late_info(datetime.fromisoformat(text), "timestamp.txt", policy)  # noqa: E731
    assert at("2026-11-30T23:00:00")["days_late"] == 0 and at("2026-11-30T23:00:00")["fraction"] == 0.0
    assert at("2026-12-01T00:00:01")["days_late"] == 1
    assert at("2026-12-02T00:00:01")["fraction"] == 0.2
    assert at("2026-12-09T00:00:00")["fraction"] == 0.25
    # A fraction of the maximum, never more than was earned.
    assert penalty({"fraction": 0.2}, 4.0, 3.0) == 0.8 and penalty({"fraction": 0.2}, 4.0, 0.5) == 0.5
    assert split_penalty(0.8, {"a": 3.0, "b": 1.0}) == {"a": 0.6, "b": 0.2}
    assert split_penalty(0.0, {"a": 3.0}) == {"a": 0.0}


def test_submission_time_from_timestamp_txt_else_the_newest_file(tmp_path):
    nb = tmp_path / "a.ipynb"
    nb.write_text("{}")
    os.utime(nb, (1_700_000_000, 1_700_000_000))
    assert submission_time(tmp_path, [nb]) == (datetime(2023, 11, 14, 22, 13, 20), "mtime", None)
    (tmp_path / "timestamp.txt").write_text("2026-12-02 10:00:00.000000 Europe/Istanbul")
    assert submission_time(tmp_path, [nb])[:2] == (datetime(2026, 12, 2, 7, 0), "timestamp.txt")
    (tmp_path / "timestamp.txt").write_text("yesterday-ish")
    when, source, note = submission_time(tmp_path, [nb])
    assert source == "mtime" and "timestamp.txt okunamadı" in note


def test_a_zip_keeps_the_times_it_records(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("ali/mini.ipynb", date_time=(2025, 3, 4, 5, 6, 8)), "{}")
    sub = discover(archive, "mini", tmp_path / "unpack")[0]
    assert sub.submitted_source == "mtime"
    local = datetime(2025, 3, 4, 5, 6, 8).astimezone().astimezone(timezone.utc).replace(tzinfo=None)
    assert sub.submitted_at == local


def test_late_settings_come_from_autograder_toml(mini_course, monkeypatch):
    (mini_course / "autograder.toml").write_text("[grade]\ndue = 2026-12-01T23:59:00+03:00\nlate_per_day = 0.1\n"
                                                 "late_max = 0.5\n")
    monkeypatch.chdir(mini_course)
    parser = cli.build_parser()
    cli._config_defaults(parser)
    args = parser.parse_args(["grade", "mini", "subs"])
    policy = make_policy(args.due, args.late_per_day, args.late_max)
    assert (policy.due, policy.per_day, policy.max_fraction) == (parse_due("2026-12-01T20:59:00Z"), 0.1, 0.5)


@pytest.mark.parametrize("argv, message", [
    (["--due", "next week"], "ISO 8601"),
    (["--late-per-day", "0.1"], "needs a due date"),
    (["--student", "nobody"], "--student nobody: no such student folder"),
])
def test_bad_grading_flags_are_one_line_errors_before_anything_is_graded(mini_course, monkeypatch, capsys, argv,
                                                                          message):
    subs = mini_course / "subs"
    (subs / "ali").mkdir(parents=True)
    nbformat.write(solution(), subs / "ali" / "mini.ipynb")
    monkeypatch.chdir(mini_course)
    assert cli.main(["grade", "mini", str(subs), "--out", str(mini_course / "out"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (mini_course / "out" / "grades.csv").exists()


# ---------------------------------------------------------------------------------------------- copies

@pytest.mark.parametrize("name", ["01_tensors-Copy1", "01_tensors (1)", "01_tensors - Copy", "01_tensors copy 2",
                                  "Copy of 01_tensors", "01_tensors-Copy1 (2)"])
def test_copy_names(name):
    assert copy_base(name) == "01_tensors"


def test_the_copy_with_the_most_answers_is_graded_and_the_feedback_says_so(assignment, tmp_path):
    nbformat.write(stub(), tmp_path / "mini.ipynb")
    nbformat.write(solution(), tmp_path / "mini-Copy1.ipynb")
    (tmp_path / "mini (1).ipynb").write_text("{broken")
    chosen, notes = match_notebooks(assignment, sorted(tmp_path.glob("*.ipynb")))
    assert chosen == {"mini": tmp_path / "mini-Copy1.ipynb"}
    assert "notlandırıldı: mini-Copy1.ipynb (3 cevap)" in notes[0]
    assert "mini.ipynb (0 cevap)" in notes[0] and "mini (1).ipynb (okunamadı)" in notes[0]


def test_between_equal_copies_the_newest_is_graded(assignment, tmp_path):
    older, newer = tmp_path / "mini.ipynb", tmp_path / "renamed.ipynb"
    nbformat.write(solution(), older)
    nbformat.write(solution(), newer)
    os.utime(older, (1_000_000, 1_000_000))
    assert match_notebooks(assignment, [older, newer])[0] == {"mini": newer}


def test_check_accepts_a_folder_holding_a_copy(mini_course, monkeypatch, capsys):
    folder = mini_course / "assignments" / "mini"  # a student's own folder: the release and a copy of it
    nbformat.write(solution(), folder / "mini-Copy1.ipynb")
    monkeypatch.chdir(mini_course)
    monkeypatch.setattr(cli, "_check_one", lambda path, spec, timeout: print(f"checked {path.name}") or True)
    assert cli.main(["check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "checked mini-Copy1.ipynb" in out and "Yok sayılan: mini.ipynb" in out


# ---------------------------------------------------------------------------------------------- written answers

def test_written_answers_are_kept_and_made_harmless(assignment):
    nb = solution()
    cell(nb, "why").source = "Çünkü <img src=x onerror=alert(1)> [tıkla](javascript:alert(1)) a < b & c"
    cell(nb, "why").attachments = {"x.png": {"image/png": "iVBORw0KGgo="}, "y.svg": {"image/svg+xml": "PHN2Zz4="}}
    clean = sanitize(nb, assignment.notebooks["mini"])
    assert clean.written == {"why": cell(nb, "why").source} and clean.blank == []
    why = cell(clean.notebook, "why")
    assert "<img" not in why.source and "&lt;img" in why.source and "javascript:" not in why.source
    assert "a < b &amp; c" in why.source and list(why.attachments) == ["x.png"]
    assert sanitize(stub(), assignment.notebooks["mini"]).blank == ["why"]
    assert safe_markdown("$x<y$ &#106;avascript:") == "$x&lt;y$ &amp;#106;avascript:"


def test_the_formgrader_notebook_holds_answers_outputs_and_verdicts(assignment):
    nb = solution()
    nb.cells.insert(3, nbformat.v4.new_code_cell("print('merhaba')"))
    clean = sanitize(nb, assignment.notebooks["mini"])
    outcomes = [CellOutcome(c.label, True, None, "merhaba\n" if "merhaba" in c.source else "") for c in clean.cells]
    outcomes[1] = CellOutcome(outcomes[1].label, False, {"type": "NameError", "message": "x\x1b[31m", "traceback": ""})
    fill_outputs(clean.notebook, clean.cells, outcomes, {"double_test": ["✔ a", "✘ b: yanlış"]})
    nbformat.validate(clean.notebook)
    by_label = {c.label: clean.notebook.cells[c.index] for c in clean.cells}
    assert by_label["double"].outputs[0]["output_type"] == "error"
    assert "\x1b" not in by_label["double"].outputs[0]["evalue"]
    added = next(c for c in clean.cells if "merhaba" in c.source)
    assert clean.notebook.cells[added.index].outputs[0]["text"] == "merhaba\n"
    assert "✘ b: yanlış" in cell(clean.notebook, "double_test").outputs[0]["text"]
    assert cell(clean.notebook, "double_test").metadata["nbgrader"]["points"] == 2


# ---------------------------------------------------------------------------------------------- joined rows

def result(assignment, passed=True, why="Çünkü.", blank=(), late=None):
    checks = [CheckResult("mini", "double_test", "a", 1.0, passed), CheckResult("mini", "scale_test", "b", 1.0, True)]
    cells = score_cells(assignment, checks)
    score, max_score = total(cells)
    nb = NotebookResult("mini", "mini.ipynb", "ok", ["not"], [CellError("double", "E", "m")], {"why": why},
                        list(blank))
    return SubmissionResult("ali", "mini", "ok", score, max_score, [nb], cells, late=late)


def test_rows_join_automatic_manual_and_late_points(assignment):
    row = make_row(result(assignment, late={"fraction": 0.1}))
    assert (row.auto_score, row.manual_score, row.points["why"], row.max_score) == (3.0, None, None, 4.0)
    assert (row.late_penalty, row.score, row.waiting) == (0.4, 2.6, ["why"])
    graded = make_row(result(assignment), {"why": GradebookGrade(0.5, None, False),
                                           "double_test": GradebookGrade(1.0, 0.25, False)}, {"why": "iyi"})
    # A grader's score replaces the automatic one (as in nbgrader); extra credit is added.
    assert (graded.auto_score, graded.manual_score, graded.score, graded.comments) == (2.25, 0.5, 2.75, {"why": "iyi"})
    unanswered = make_row(result(assignment, why="YOUR ANSWER HERE", blank=["why"]))
    assert (unanswered.manual_score, unanswered.points["why"], unanswered.waiting) == (0.0, 0.0, [])


def test_results_round_trip_and_foreign_folders_are_refused(assignment, tmp_path):
    res = result(assignment, late={"fraction": 0.0, "submitted_at": "2026-01-01T00:00:00Z"})
    write_result_json(tmp_path / "results", res)
    again = load_results(tmp_path / "results", "mini")["ali"]
    assert again.to_json() == res.to_json()
    other = copy.deepcopy(res)
    other.assignment, other.student_id = "ch1_intro", "veli"
    write_result_json(tmp_path / "results", other)
    with pytest.raises(CourseError, match="holds grades of assignment 'ch1_intro'"):
        load_results(tmp_path / "results", "mini")
    (tmp_path / "results" / "veli.json").write_text("{")
    with pytest.raises(CourseError, match="cannot be read"):
        load_results(tmp_path / "results", "mini")


def _auto_scores(db_url):
    from autograder.gradebook import open_gradebook

    with open_gradebook(db_url) as gb:
        return {(s.student.id, g.name): g.auto_score for s in gb.assignment_submissions("mini")
                for nb in s.notebooks for g in nb.grades}


def test_the_gradebook_is_written_as_results_arrive_and_each_result_once(assignment, tmp_path, monkeypatch):
    from autograder import gradebook

    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    recorder = gradebook.ClassRecorder(db_url, assignment, None)
    ali, veli = result(assignment, passed=False), result(assignment)
    veli.student_id = "veli"
    veli.identity = {"name": "Veli Can Demir", "email": "veli@example.org"}
    recorder.record_early(ali)
    # Written at once (a run killed now keeps it), in a gradebook the assignment was entered in first.
    assert _auto_scores(db_url)[("ali", "double_test")] == 0.0
    calls = []
    real = gradebook.record_result
    monkeypatch.setattr(gradebook, "record_result", lambda gb, a, res, prev=None: (calls.append(res.student_id),
                                                                                   real(gb, a, res, prev)))
    regraded = result(assignment)  # ali graded again later in the run: the newer result is the one recorded
    recorder.record_all({"ali": regraded, "veli": veli}, {})
    assert calls == ["ali", "veli"]
    recorder.record_all({"ali": regraded, "veli": veli}, {})
    assert calls == ["ali", "veli"], "a result recorded already is not recorded twice"
    with recorder.quiet():
        student = recorder.gradebook().find_student("veli")
        assert (student.first_name, student.last_name, student.email) == ("Veli Can", "Demir", "veli@example.org")
    recorder.close()
    assert _auto_scores(db_url)[("ali", "double_test")] == 2.0  # the cell's points: its check passed this time


def test_a_gradebook_that_fails_during_the_run_fails_at_the_end_and_grading_goes_on(assignment, tmp_path,
                                                                                       monkeypatch):
    from autograder import gradebook

    recorder = gradebook.ClassRecorder(f"sqlite:///{tmp_path / 'gradebook.db'}", assignment, None)
    failures = []

    def locked(*args):
        failures.append(args)
        raise OSError("database is locked")

    monkeypatch.setattr(gradebook, "record_result", locked)
    recorder.record_early(result(assignment))  # does not raise: the rest of the class is still graded
    recorder.record_early(result(assignment))
    assert len(failures) == 1, "once it failed, it is not tried again for every result"
    with pytest.raises(OSError, match="locked"):
        recorder.record_all({"ali": result(assignment)}, {})
    recorder.close()


def test_where_nbgrader_files_go(tmp_path):
    assert course_for(tmp_path / "out", None).root == (tmp_path / "out").resolve()
    course = course_for(tmp_path / "out", f"sqlite:///{tmp_path / 'course' / 'gradebook.db'}")
    assert course.root == (tmp_path / "course").resolve() and not course.ours
    assert course_for(tmp_path / "out", "postgresql://db/course").root == (tmp_path / "out").resolve()


# ---------------------------------------------------------------------------------------------- hang isolation

def test_a_function_that_hangs_twice_is_not_called_again_and_others_keep_their_worker():
    cells = [CellToRun("code", "import time\ndef hangs(x):\n    while True:\n        pass\n"
                               "def fine(x):\n    return x + 1\n")]
    run = NotebookRun("nb", cells, Limits(cell_timeout=1.0, submission_timeout=120.0))
    student = Student(run)
    try:
        for _ in range(2):
            with pytest.raises(WorkerLost) as lost:
                student.call("hangs", 1)
            assert lost.value.culprit == "function hangs"
            assert "`hangs` fonksiyonu zamanında bitmedi" in explain_failure(lost.value)
            assert student.call("fine", 1) == 2  # a fresh worker that ran the notebook again
        with pytest.raises(NotCalledAgain) as again:
            student.call("hangs", 2)  # at once: no timeout, no restart
        assert "yeniden çağırmadı" in explain_failure(again.value)
        assert student.call("fine", 2) == 3 and run.starts == 3 and run.status == "timeout"
    finally:
        run.close()
