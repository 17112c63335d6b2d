"""Classes from Canvas, Moodle and Gradescope, end to end: import each download (tests/data/lms/layouts.toml, built
from each LMS's documented naming, Unicode names with spaces included), grade it through the CLI, export the
grades back in the LMS's format under its own ids, check what nbgrader's API sees, and run the Gradescope
autograder zip the way Gradescope runs it."""
import csv
import json
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import autograder
from lms_layouts import write_layout, zip_folder

FLAGS = ["--workers", "1", "--timeout", "5", "--quiet"]


def grades(out):
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        return {row["student_id"]: (row["score"], row["status"]) for row in csv.DictReader(fh)}


def table(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def export(course, out, fmt, *extra):
    r = autograder("export", "mini", "--format", fmt, "--out", out, *extra, cwd=course)
    assert r.returncode == 0, r.stderr[-3000:]
    return [line for line in r.stdout.splitlines() if line]


@pytest.mark.slow
def test_lms_classes_round_trip(mini_course, tmp_path):
    # Canvas: the flat zip as downloaded (names stored as UTF-8 without the zip's UTF-8 flag).
    canvas = zip_folder(write_layout("canvas", mini_course, tmp_path / "canvas"), tmp_path / "canvas.zip",
                        utf8_flag=False)
    out = tmp_path / "out-canvas"
    r = autograder("grade", "mini", canvas, "--out", out, *FLAGS, cwd=mini_course)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "autograder: skipped kayaveli_12347_text.html: a text entry or URL" in r.stderr
    assert grades(out) == {"anon-x7k2p": ("3.00", "ok"), "ozturkayse-12346": ("0.00", "ok"),
                           "yilmazali-12345": ("3.00", "ok")}
    assert "LATE" in (out / "feedback" / "ozturkayse-12346.html").read_text()
    [path] = export(mini_course, out, "canvas", "--title", "Ödev 1 (4567)")
    rows = table(path)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Ödev 1 (4567)"]
    assert rows[2:] == [["öztürkayşe", "12346", "", "", "", "0.00"], ["yılmazali", "12345", "", "", "", "3.00"]]

    # Moodle: a folder per student, full names with spaces and Turkish letters.
    moodle = write_layout("moodle", mini_course, tmp_path / "moodle")
    out = tmp_path / "out-moodle"
    r = autograder("grade", "mini", moodle, "--out", out, *FLAGS, cwd=mini_course)
    assert r.returncode == 0, r.stderr[-3000:]
    assert grades(out) == {"ali-yilmaz-12345": ("3.00", "ok"), "ayse-ozturk-12346": ("0.00", "ok"),
                           "cagri-sahin-12348": ("3.00", "ok"), "veli-kaya-12347": ("0.00", "invalid")}
    assert "Öğrenci: <b>Ali Yılmaz</b> (ali-yilmaz-12345)" in (out / "feedback" / "ali-yilmaz-12345.html").read_text()
    [path] = export(mini_course, out, "moodle", "--scale-to", "100")
    worksheet = {row[0]: row for row in table(path)[1:]}
    assert sorted(worksheet) == ["Participant 12345", "Participant 12346", "Participant 12347", "Participant 12348"]
    assert worksheet["Participant 12348"][1:2] + worksheet["Participant 12348"][4:6] == ["Çağrı Şahin", "75.00",
                                                                                      "100.00"]
    from autograder import nbgrader_ready

    nbgrader_ready()
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:  # formgrader lists them by their names
        student = gb.find_student("cagri-sahin-12348")
        assert (student.first_name, student.last_name) == ("Çağrı", "Şahin")
        assert sorted(s.student.id for s in gb.assignment_submissions("mini")) == sorted(grades(out))

    # Gradescope: the export zip; submission times from its metadata decide lateness.
    gradescope = zip_folder(write_layout("gradescope", mini_course, tmp_path / "gs"), tmp_path / "gs.zip")
    out = tmp_path / "out-gs"
    r = autograder("grade", "mini", gradescope, "--out", out, "--due", "2026-12-01T23:59:00+03:00",
                   "--late-per-day", "0.1", *FLAGS, cwd=mini_course)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "submission_503: listed in submission_metadata.yml but its folder is missing" in r.stderr
    assert grades(out) == {"ali-yilmaz-20231234": ("3.00", "ok"), "ayse-ozturk-502": ("2.20", "ok")}
    paths = export(mini_course, out, "gradescope")
    assert sorted(os.path.basename(os.path.dirname(p)) for p in paths) == ["submission_501", "submission_502"]
    late = json.loads((out / "export" / "gradescope" / "submission_502" / "results.json").read_text())
    assert late["score"] == 2.2 and late["tests"][-1]["name"] == "Geç teslim cezası"
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 3 and 'href="feedback/ayse-ozturk-502.html"' in report

    # The Gradescope autograder: built here, run as Gradescope runs it (/autograder/source, /autograder/submission).
    zip_path = tmp_path / "autograder.zip"
    r = autograder("gradescope", "mini", "--out", zip_path, cwd=mini_course)
    assert r.returncode == 0, r.stderr[-3000:]
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder", "course/source/mini/checks/test_mini.py"} <= set(names)
        assert not any("mutants" in n for n in names)
        assert zf.getinfo("run_autograder").external_attr >> 16 & 0o111  # executable
        zf.extractall(root / "source")
    assert subprocess.run(["bash", "-n", str(root / "source" / "setup.sh")]).returncode == 0
    (root / "submission").mkdir()
    (root / "submission" / "mini.ipynb").write_bytes((mini_course / "solutions" / "mini" / "mini.ipynb").read_bytes())
    (root / "submission_metadata.json").write_text(json.dumps(
        {"id": 991, "created_at": "2026-12-01T20:00:00.000000-08:00",
         "users": [{"email": "ali@example.edu", "id": 1234, "name": "Ali Yılmaz"}]}))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    env.pop("AUTOGRADER_COURSE", None)
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 3.0
    assert [(t["name"], t["score"], t["max_score"]) for t in results["tests"]] == [("mini · double_test", 2.0, 2.0),
                                                                                  ("mini · scale_test", 1.0, 1.0)]
    assert (root / "source").stat().st_mode & 0o077 == 0  # the hidden checks: root's only
