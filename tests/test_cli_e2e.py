"""The engine end to end, through the CLI, on the small test course."""
import csv
import json
import zipfile

import nbformat
import pytest

from conftest import autograder


def answer(nb, gid, source):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == gid:
            cell.source = source
            return
    raise KeyError(gid)


def write(folder, student, nb, name="mini.ipynb"):
    (folder / student).mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / student / name)


@pytest.fixture
def class_folder(mini_course, tmp_path):
    sol = lambda: nbformat.read(mini_course / "solutions" / "mini" / "mini.ipynb", as_version=4)  # noqa: E731
    subs = tmp_path / "subs"
    write(subs, "perfect", sol())
    write(subs, "blank", nbformat.read(mini_course / "assignments" / "mini" / "mini.ipynb", as_version=4))

    looping = sol()
    answer(looping, "scale", "def scale_inplace_free(x, a):\n    while True:\n        pass")
    write(subs, "looping", looping)

    top_level_loop = sol()
    top_level_loop.cells.append(nbformat.v4.new_code_cell("while True:\n    try:\n        pass\n    except BaseException:\n        pass"))
    write(subs, "toplevel_loop", top_level_loop)

    cheater = sol()
    answer(cheater, "double", "def double(x):\n    return 0")
    cheater.cells.append(nbformat.v4.new_code_cell(
        "import numpy as np, torch\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "torch.allclose = lambda *a, **k: True\n"
        "np.array_equal = lambda *a, **k: True\n"
        "import builtins\nbuiltins.abs = lambda x: 0\n"))
    write(subs, "cheater", cheater)

    tamper = sol()
    answer(tamper, "double", "def double(x):\n    return x")
    answer(tamper, "double_test", "pass  # nothing to see")
    for cell in tamper.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "double_test":
            cell.metadata["nbgrader"]["points"] = 50
            cell.metadata["tags"] = ["raises-exception", "skip-execution"]
    write(subs, "tamper", tamper)

    (subs / "corrupt").mkdir()
    (subs / "corrupt" / "mini.ipynb").write_text('{"cells": [')
    return subs


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_grade_a_class(mini_course, class_folder, tmp_path):
    out1, out2 = tmp_path / "out1", tmp_path / "out2"
    r1 = autograder("grade", "mini", class_folder, "--out", out1, "--workers", "1", "--timeout", "3",
                    cwd=mini_course)
    assert r1.returncode == 0, r1.stderr
    rows = {r["student_id"]: r for r in read_csv(out1 / "grades.csv")}
    assert list(read_csv(out1 / "grades.csv")[0].keys()) == [
        "student_id", "assignment", "auto_score", "manual_score", "late_penalty", "score", "max_score", "status",
        "double_test", "scale_test", "why"]
    got = {sid: (r["score"], r["status"]) for sid, r in rows.items()}
    assert got == {
        "blank": ("0.00", "ok"),
        "cheater": ("1.00", "ok"),          # patched comparisons gain nothing: double() is still wrong
        "corrupt": ("0.00", "invalid"),
        "looping": ("2.00", "timeout"),     # only the looping function's checks are lost
        "perfect": ("3.00", "ok"),
        "tamper": ("1.00", "ok"),           # tampered visible check restored; points from the release
        "toplevel_loop": ("3.00", "timeout"),  # the loop cell is cut, the answers still count
    }
    assert all(r["max_score"] == "4.00" for r in rows.values())  # the written answer's point included

    detail = json.loads((out1 / "results" / "looping.json").read_text())
    failed = [c for c in detail["checks"] if not c["passed"]]
    assert [c["grade_id"] for c in failed] == ["scale_test"] and "zamanında bitmedi" in failed[0]["message"]
    assert {"notebook", "grade_id", "check", "points", "max_points", "passed", "message"} <= set(failed[0])
    html = (out1 / "feedback" / "tamper.html").read_text()
    assert "özgün hâline döndürüldü" in html and "double_test" in html
    assert "geçerli JSON değil" in (out1 / "feedback" / "corrupt.html").read_text()
    assert (out1 / "gradebook.db").exists() and (out1 / "report.html").exists()

    # Same grades, byte for byte, with two workers.
    r2 = autograder("grade", "mini", class_folder, "--out", out2, "--workers", "2", "--timeout", "3", "--quiet",
                    cwd=mini_course)
    assert r2.returncode == 0, r2.stderr
    assert (out1 / "grades.csv").read_bytes() == (out2 / "grades.csv").read_bytes()
    for f in (out1 / "results").iterdir():
        assert f.read_bytes() == (out2 / "results" / f.name).read_bytes(), f.name


def test_grade_a_zip_and_the_gradebook_exports(mini_course, tmp_path):
    z = tmp_path / "class.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(mini_course / "solutions" / "mini" / "mini.ipynb", "export/ayse/mini/mini.ipynb")
    out = tmp_path / "out"
    r = autograder("grade", "mini", z, "--out", out, "--quiet", cwd=mini_course)
    assert r.returncode == 0, r.stderr
    assert read_csv(out / "grades.csv")[0]["score"] == "3.00"
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        sub = gb.find_submission("mini", "ayse")
        assert sub.score == 3.0 and sub.max_score == 4.0  # 1 point waits for manual grading
        assert sub.needs_manual_grade


@pytest.mark.parametrize("args, message", [
    (["grade", "nope", "x"], "not released"),
    (["grade", "mini", "missing-folder"], "no such file"),
])
def test_bad_arguments_give_one_line(mini_course, args, message):
    r = autograder(*args, cwd=mini_course)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr


def test_validate_and_self_check(mini_course):
    r = autograder("validate", "mini", cwd=mini_course)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "15 passed, 0 failed" in r.stdout  # sync, leaks, grading, 5 trivial stubs, requirements, mutants
    assert "trivial stub (return the first argument) earns zero" in r.stdout

    ok = autograder("check", mini_course / "solutions" / "mini" / "mini.ipynb", cwd=mini_course)
    assert ok.returncode == 0 and "✔  double_test" in ok.stdout, ok.stdout
    blank = autograder("check", mini_course / "assignments" / "mini" / "mini.ipynb", cwd=mini_course)
    assert blank.returncode == 1 and "✘  double_test" in blank.stdout


def test_validate_fails_on_an_uncaught_mutant_and_stale_release(mini_course):
    toml = mini_course / "source" / "mini" / "mutants.toml"
    toml.write_text(toml.read_text() + '\n[[mutant]]\nname = "harmless"\nnotebook = "mini"\ncell = "double"\n'
                    'replace = [["return 2 *", "return 2.0 *"]]\nloses = ["double_test"]\n')
    src = mini_course / "source" / "mini" / "mini.ipynb"
    nb = nbformat.read(src, as_version=4)
    nb.cells[0].source += "\nYeni bir cümle."
    nbformat.write(nb, src)
    r = autograder("validate", "mini", cwd=mini_course)
    assert r.returncode == 1
    assert "FAIL  mini  mutant harmless" in r.stdout and "kept points on double_test" in r.stdout
    assert "FAIL  mini  assignments/ in sync" in r.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_template_that_cannot_start_grades_nobody(mini_course, class_folder, tmp_path, workers):
    """The machine's failure (here: too little memory to import torch) stops the run before anyone is graded as
    crashed, whether the template is the CLI's own or each pool process's."""
    out = tmp_path / "out"
    r = autograder("grade", "mini", class_folder, "--out", out, "--workers", workers, "--memory", "0.05", "--quiet",
                   cwd=mini_course)
    assert r.returncode == 1, r.stdout + r.stderr
    # One error, with the template's own start log under it; nothing of the grader's own machinery.
    assert r.stderr.startswith("autograder: error: the worker template"), r.stderr
    assert "initializer" not in r.stderr and "cli.py" not in r.stderr, r.stderr
    assert not (out / "results").exists() or not list((out / "results").iterdir())


def test_a_broken_hidden_suite_stops_the_run_with_its_error(mini_course, class_folder, tmp_path):
    """A check file that does not import is the course's fault: one error naming the file and the line, and no
    student is graded (nobody gets the zero a missing suite would give)."""
    broken = mini_course / "source" / "mini" / "checks" / "test_broken.py"
    broken.write_text("def test_x(student):\n    return (\n")
    out = tmp_path / "out"
    r = autograder("grade", "mini", class_folder, "--out", out, "--workers", "1", "--quiet", cwd=mini_course)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "hidden checks of mini did not run" in r.stderr and "test_broken.py" in r.stderr, r.stderr
    assert "SyntaxError" in r.stderr or "never closed" in r.stderr, r.stderr
    assert not (out / "results").exists() or not list((out / "results").iterdir())
