"""Exports in each LMS's documented import format, checked against the examples in tests/data/lms."""
import csv
import json
from datetime import datetime, timezone

import pytest

from autograder.assignment import Assignment, Course
from autograder.grading import SubmissionResult
from autograder.lms import exports
from autograder.records import make_row
from lms_layouts import LMS

NIE = "Bu kısım henüz yazılmamış (NotImplementedError)."


def result(student, identity, double=2.0, scale=1.0, status="ok", late=None, message=NIE):
    """A graded mini submission: double_test (2 points, two checks), scale_test (1), the written answer why."""
    checks = [
        {"notebook": "mini", "grade_id": "double_test", "check": "test_mini.py::test_double_values", "weight": 2.0,
         "passed": double == 2.0, "message": "" if double == 2.0 else message},
        {"notebook": "mini", "grade_id": "double_test", "check": "test_mini.py::test_double_accepts_lists",
         "weight": 1.0, "passed": double > 0, "message": "" if double > 0 else message},
        {"notebook": "mini", "grade_id": "scale_test", "check": "test_mini.py::test_scale_does_not_mutate",
         "weight": 1.0, "passed": scale == 1.0, "message": "" if scale == 1.0 else message},
    ]
    cells = [{"notebook": "mini", "grade_id": "double_test", "max_points": 2.0, "points": double, "manual": False},
             {"notebook": "mini", "grade_id": "scale_test", "max_points": 1.0, "points": scale, "manual": False},
             {"notebook": "mini", "grade_id": "why", "max_points": 1.0, "points": None, "manual": True}]
    notebooks = [{"name": "mini", "file": "mini.ipynb", "status": status, "answers": {"why": "Çünkü."}}]
    return SubmissionResult.from_json({"student_id": student, "assignment": "mini", "status": status,
                                       "score": double + scale, "max_score": 3.0, "notebooks": notebooks,
                                       "cells": cells, "checks": checks, "notes": [], "late": late,
                                       "identity": identity})


@pytest.fixture
def mini(mini_course):
    return Assignment.load(Course(mini_course), "mini")


@pytest.fixture
def rows():
    from autograder.gradebook import GradebookGrade

    graded_why = {"why": GradebookGrade(manual_score=1.0)}
    return [
        make_row(result("yilmazali-12345", {"lms": "canvas", "name": "yılmazali", "id": "12345"}), graded_why),
        make_row(result("anon-x7k2p", {"lms": "canvas", "name": "anon_x7k2p", "id": "anon_x7k2p",
                                       "anonymous": True}), graded_why),
        make_row(result("ali-yilmaz-12345", {"lms": "moodle", "name": "Ali Yılmaz", "id": "12345"}, double=1.0,
                        late={"submitted_at": "2026-12-02T09:00:00Z", "source": "mtime", "fraction": 0.1,
                              "days_late": 1}), graded_why),
        make_row(result("ali-yilmaz-20231234", {"lms": "gradescope", "name": "Ali Yılmaz", "id": "501",
                                                "submission": "submission_501"}, double=0.0, scale=0.0)),
        make_row(result("s1", {"lms": "folders", "name": "s1", "id": ""}), graded_why),
        make_row(result("broken", {"lms": "folders", "name": "broken", "id": ""}, status="error")),
    ]


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_canvas_gradebook_import(tmp_path, mini, rows):
    paths, warnings = exports.export("canvas", tmp_path, mini, rows, title="Ödev 1 (4567)")
    table = read(paths[0])
    example = read(LMS / "canvas_gradebook_import.csv")
    # The header Canvas's importer accepts: the documented student columns, ending with Section, then assignments.
    assert table[0][:5] == example[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert table[0][5] == "Ödev 1 (4567)" and table[1][0] == example[1][0] == "Points Possible"
    assert table[1][5] == "4.00"
    by_name = {r[0]: r for r in table[2:]}
    assert by_name["yılmazali"] == ["yılmazali", "12345", "", "", "", "4.00"]  # Canvas's user id kept
    assert by_name["s1"][1:3] == ["", "s1"]  # not from Canvas: matched by SIS User ID
    assert "broken" not in by_name and "anon_x7k2p" not in by_name  # no empty grade, no id to match
    assert any("anonymous" in w for w in warnings)
    assert all(len(r) == len(table[0]) for r in table)


def test_moodle_grading_worksheet(tmp_path, mini, rows):
    now = datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc)
    paths, warnings = exports.export("moodle", tmp_path, mini, rows, now=now, scale_to=10)
    table = read(paths[0])
    example = read(LMS / "moodle_grading_worksheet.csv")
    assert table[0] == example[0]  # the worksheet's columns, as Moodle downloads them
    assert len(table) == 2
    row = dict(zip(table[0], table[1]))
    assert row["Identifier"] == "Participant 12345" == example[1][0]
    assert (row["Full name"], row["Grade"], row["Maximum Grade"]) == ("Ali Yılmaz", "6.50", "10.00")  # (3 - 0.4 late) / 4 x 10
    assert row["Last modified (grade)"] == "2026-12-05 10:00:00 UTC"
    assert "double_test: 1.00 / 2.00" in row["Feedback comments"] and "geç teslim" in row["Feedback comments"]
    assert any("not imported from Moodle" in w for w in warnings)


def test_gradescope_results(tmp_path, mini, rows):
    paths, _ = exports.export("gradescope", tmp_path, mini, rows, visibility="after_due_date")
    names = sorted(p.parent.name for p in paths)
    assert names == ["ali-yilmaz-12345", "anon-x7k2p", "s1", "submission_501", "yilmazali-12345"]
    spec = json.loads((LMS / "gradescope_results.json").read_text())
    data = json.loads((tmp_path / "gradescope" / "submission_501" / "results.json").read_text())
    assert set(data) <= set(spec) and data["score"] == 0.0
    for test in data["tests"]:
        assert set(test) <= set(spec["tests"][0]) and {"name", "score", "max_score", "output", "visibility"} <= set(test)
        assert test["visibility"] == "after_due_date"
    assert [t["name"] for t in data["tests"]] == ["mini · double_test", "mini · scale_test"]  # why still waits
    assert "✘ test_double_values: " + NIE in data["tests"][0]["output"]
    assert "Elle notlandırılacak yazılı cevaplar: why." in data["output"]
    late = json.loads((tmp_path / "gradescope" / "ali-yilmaz-12345" / "results.json").read_text())
    assert late["tests"][-1] == {"name": "Geç teslim cezası", "score": -0.4, "max_score": 0.0,
                                 "output": "1 gün geç; −0.40 puan.", "visibility": "after_due_date"}
    assert late["score"] == pytest.approx(sum(t["score"] for t in late["tests"]))


def test_per_question_csv(tmp_path, mini, rows):
    paths, _ = exports.export("csv", tmp_path, mini, rows)
    table = read(paths[0])
    assert table[0] == exports.QUESTIONS_HEADER
    lines = {(r[0], r[5]): r for r in table[1:]}
    assert len(lines) == 5 * 3
    gs = lines[("ali-yilmaz-20231234", "double_test")]
    assert gs[2:4] == ["gradescope", "501"] and gs[7:9] == ["0.00", "2.00"]
    assert gs[10] == "denenmedi: fonksiyon henüz yazılmamış (NotImplementedError)"
    assert lines[("ali-yilmaz-20231234", "why")][6:8] == ["written", ""]  # waits for a grader
