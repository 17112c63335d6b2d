"""The instructor's whole loop, end to end, through the CLI and nbgrader's own API (the calls formgrader makes).

A class in nbgrader's submitted/ layout with timestamps (one student late), a written answer, a function that hangs
and a notebook copy: grade it, grade a written answer in the gradebook, regenerate the feedback, grade one student
again, and check that nbgrader sees what we see.
"""
import csv
import json

import nbformat
import pytest

from conftest import autograder

DUE = "2026-12-01T23:59:00+03:00"  # 20:59 UTC
FLAGS = ["--timeout", "2", "--workers", "1", "--due", DUE, "--late-per-day", "0.1", "--quiet"]


def answer(nb, gid, source):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == gid:
            cell.source = source
            return nb
    raise KeyError(gid)


def submit(root, student, nb, stamp=None, name="mini.ipynb"):
    folder = root / student / "mini"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    if stamp:
        (folder / "timestamp.txt").write_text(stamp)  # as nbgrader's exchange writes it


def rows_of(path):
    with open(path, newline="") as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


def nbgrader_api(root):
    from autograder import nbgrader_ready

    nbgrader_ready()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(root)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def nbgrader_export(db_url):
    """What `nbgrader export` computes per student: max(0, raw score - late penalty)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return {s.student.id: (round(max(0.0, s.score - s.late_submission_penalty), 4),
                               round(s.late_submission_penalty, 4)) for s in gb.assignment_submissions("mini")}


@pytest.mark.slow
def test_the_instructors_loop(mini_course, tmp_path):
    sol = lambda: nbformat.read(mini_course / "solutions" / "mini" / "mini.ipynb", as_version=4)  # noqa: E731
    stub = nbformat.read(mini_course / "assignments" / "mini" / "mini.ipynb", as_version=4)
    subs = tmp_path / "submitted"
    written = "Çünkü girdiyi <script>alert(1)</script> değiştirmemek gerekir."
    submit(subs, "ontime", answer(sol(), "why", written), "2026-12-01 20:00:00.000000 UTC")
    submit(subs, "late", sol(), "2026-12-03 09:00:00.000000 UTC")  # 1 day 12 h late: 2 started days
    submit(subs, "hangs", answer(answer(sol(), "double", "def double(x):\n    while True:\n        pass"),
                                 "why", "Bilmiyorum."), "2026-12-01 11:00:00.000000 UTC")
    submit(subs, "copied", stub, "2026-12-01 12:00:00.000000 UTC")  # the untouched stub beside the work
    submit(subs, "copied", sol(), name="mini-Copy1.ipynb")
    out = tmp_path / "out"
    db_url = f"sqlite:///{out / 'gradebook.db'}"

    r = autograder("grade", "mini", subs, "--out", out, *FLAGS, cwd=mini_course)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = rows_of(out / "grades.csv")
    got = {sid: (row["auto_score"], row["manual_score"], row["late_penalty"], row["score"], row["max_score"],
                 row["status"], row["why"]) for sid, row in rows.items()}
    assert got == {
        "copied": ("3.00", "", "0.00", "3.00", "4.00", "ok", ""),  # the copy with the work is graded
        "hangs": ("1.00", "", "0.00", "1.00", "4.00", "timeout", ""),  # the hang costs double_test only
        "late": ("3.00", "", "0.80", "2.20", "4.00", "ok", ""),  # 2 days x 0.1 x 4 points
        "ontime": ("3.00", "", "0.00", "3.00", "4.00", "ok", ""),
    }
    hangs = json.loads((out / "results" / "hangs.json").read_text())
    assert [c["check"].split("::")[-1] for c in hangs["checks"] if c["passed"]] == ["test_scale_does_not_mutate"]
    assert "`double` fonksiyonu zamanında bitmedi" in (out / "feedback" / "hangs.html").read_text()
    assert "mini-Copy1.ipynb (3 cevap)" in (out / "feedback" / "copied.html").read_text()
    late = json.loads((out / "results" / "late.json").read_text())["late"]
    assert (late["source"], late["days_late"], late["submitted_at"]) == ("timestamp.txt", 2, "2026-12-03T09:00:00Z")

    # nbgrader sees the course: formgrader's listing, the autograded notebook with the written answer, sanitized.
    api = nbgrader_api(out)
    listed = api.get_submissions("mini")
    assert [(s["student"], s["autograded"]) for s in listed] == [(sid, True) for sid in sorted(got)]
    assert {s["student"] for s in api.get_notebook_submissions("mini", "mini")} == set(got)
    assert (out / "source" / "mini" / "mini.ipynb").exists() and not (out / "source" / "mini" / "checks").exists()
    graded_nb = nbformat.read(out / "autograded" / "ontime" / "mini" / "mini.ipynb", as_version=4)
    why = next(c for c in graded_nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "why")
    assert "değiştirmemek gerekir" in why.source and "<script>" not in why.source
    test_cell = next(c for c in graded_nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "double_test")
    assert "✔ test_double_values" in test_cell.outputs[0]["text"]

    # A grader scores the written answer in the gradebook (as formgrader does); an old nbgrader penalty lingers.
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        grade = gb.find_grade("why", "mini", "mini", "ontime")
        assert grade.needs_manual_grade and grade.auto_score is None
        grade.manual_score = 1.0
        grade.needs_manual_grade = False
        gb.find_comment("why", "mini", "mini", "ontime").manual_comment = "Doğru gerekçe."
        gb.find_submission_notebook("mini", "mini", "hangs").late_submission_penalty = 0.5
        gb.db.commit()
    r = autograder("feedback", "mini", "--out", out, cwd=mini_course)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = rows_of(out / "grades.csv")
    assert (rows["ontime"]["manual_score"], rows["ontime"]["score"], rows["ontime"]["why"]) == ("1.00", "4.00", "1.00")
    feedback = (out / "feedback" / "ontime.html").read_text()
    assert "değiştirmemek gerekir" in feedback and "Doğru gerekçe." in feedback and "<script>" not in feedback
    assert "Elle verilen puan: 1.00" in feedback
    ours = {sid: (float(row["score"]), float(row["late_penalty"])) for sid, row in rows.items()}
    assert nbgrader_export(db_url) == ours  # nbgrader's penalty replaced, never added

    # nbgrader's own feedback works in the course and shows the grader's comment.
    assert api.generate_feedback("mini")["success"]
    assert "Doğru gerekçe." in (out / "feedback" / "ontime" / "mini" / "mini.html").read_text()

    # Regrading one student keeps everyone else, the manual grade, and applies the late penalty once.
    before = {p.name: p.read_bytes() for p in (out / "results").iterdir()}
    r = autograder("grade", "mini", subs, "--out", out, "--student", "late", *FLAGS, cwd=mini_course)
    assert r.returncode == 0, r.stderr[-3000:]
    assert rows_of(out / "grades.csv") == rows
    assert {p.name: p.read_bytes() for p in (out / "results").iterdir()} == before
    assert "4 öğrenci" in (out / "report.html").read_text()
    with Gradebook(db_url) as gb:
        grade = gb.find_grade("why", "mini", "mini", "ontime")
        assert grade.manual_score == 1.0 and not grade.needs_manual_grade
    assert nbgrader_export(db_url) == ours
