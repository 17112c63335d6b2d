import copy

import nbformat
import pytest

from autograder.assignment import Assignment, Course
from autograder.notebook import (InvalidNotebook, choose_notebooks, fill_outputs, match_notebooks, notebook_text,
                                 read_notebook, sanitize)
from autograder.session import CellOutcome
from conftest import MINI


@pytest.fixture(scope="module")
def spec():
    return Assignment.load(Course(MINI), "mini").notebooks["mini"]


@pytest.fixture
def solution():
    return nbformat.read(MINI / "solutions" / "mini" / "mini.ipynb", as_version=4)


def cell_by_id(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def sources(clean):
    return [c.source for c in clean.cells]


def test_solution_runs_answers_and_locked_cells_but_not_visible_checks(spec, solution):
    clean = sanitize(solution, spec)
    labels = [c.label for c in clean.cells]
    assert labels == ["setup", "double", "scale"]
    assert [c.label for c in clean.student_cells] == ["double", "scale"]
    assert "2 * np.asarray" in clean.student_cells[0].source
    assert clean.notes == []


def test_tampered_locked_cells_are_restored(spec, solution):
    cell_by_id(solution, "setup").source = "import numpy as np\nnp.allclose = lambda *a, **k: True"
    cell_by_id(solution, "double_test").source = "pass"
    cell_by_id(solution, "double_test").metadata["nbgrader"]["points"] = 100
    clean = sanitize(solution, spec)
    assert "np.allclose = lambda" not in "".join(sources(clean))
    assert any("setup" in n and "double_test" in n for n in clean.notes)


def test_deleted_answer_falls_back_to_the_stub(spec, solution):
    solution.cells.remove(cell_by_id(solution, "double"))
    clean = sanitize(solution, spec)
    assert "NotImplementedError" in clean.cells[1].source
    assert any("double" in n for n in clean.notes)


def test_duplicated_answer_first_one_counts(spec, solution):
    dup = copy.deepcopy(cell_by_id(solution, "double"))
    dup.source = "def double(x):\n    return 0"
    solution.cells.append(dup)
    clean = sanitize(solution, spec)
    assert "2 * np.asarray" in clean.cells[1].source
    assert "return 0" not in "".join(sources(clean))


def test_retagged_cells_gain_nothing(spec, solution):
    # A visible-check cell re-tagged as an answer, and an answer renamed to a locked id.
    test_cell = cell_by_id(solution, "scale_test")
    test_cell.metadata["nbgrader"]["solution"] = True
    test_cell.source = "print('I am a test now')"
    cell_by_id(solution, "double").metadata["nbgrader"]["grade_id"] = "setup"
    clean = sanitize(solution, spec)
    assert "I am a test now" not in "".join(sources(clean))
    assert "NotImplementedError" in clean.cells[1].source  # 'double' answer is gone: stub


def test_added_cells_are_kept_in_place(spec, solution):
    idx = solution.cells.index(cell_by_id(solution, "double"))
    solution.cells.insert(idx + 1, nbformat.v4.new_code_cell("HELPER = 41 + 1"))
    solution.cells.insert(idx + 1, nbformat.v4.new_code_cell("   "))  # blank cells are dropped
    clean = sanitize(solution, spec)
    assert sources(clean)[2] == "HELPER = 41 + 1"
    assert any("HELPER" in c.source for c in clean.student_cells)


def test_self_check_runs_visible_checks(spec, solution):
    labels = [c.label for c in sanitize(solution, spec, include_tests=True).cells]
    assert labels == ["setup", "double", "double_test", "scale", "scale_test"]


@pytest.mark.parametrize("content, message", [
    (b"", "boş"),
    (b"\xff\xfe\x00", "UTF-8"),
    (b"{not json", "JSON"),
    (b'{"hello": 1}', "hücre"),
    (b'{"cells": [{"cell_type": "code", "source": 5}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "okunamadı"),
])
def test_unreadable_files_get_a_clear_reason(tmp_path, content, message):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidNotebook, match=message):
        read_notebook(path)


def test_notebooks_are_matched_by_grade_ids_not_names(tmp_path, solution):
    assignment = Assignment.load(Course(MINI), "mini")
    renamed = tmp_path / "mini (1).ipynb"
    nbformat.write(solution, renamed)
    other = tmp_path / "notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), other)
    chosen, notes = match_notebooks(assignment, [other, renamed])
    assert chosen == {"mini": renamed}
    assert any("notes.ipynb" in n for n in notes)


def test_a_chosen_notebook_is_read_once_and_keeps_what_reading_gave(tmp_path, solution, monkeypatch):
    assignment = Assignment.load(Course(MINI), "mini")
    good = tmp_path / "mini.ipynb"
    nbformat.write(solution, good)
    chosen, _ = choose_notebooks(assignment, [good])
    # Changed after matching: grading reads what was matched, and never reads the file again.
    good.write_text("{not json")
    import autograder.notebook as notebook_module

    monkeypatch.setattr(notebook_module, "read_notebook", lambda path: pytest.fail("read again"))
    assert chosen["mini"].read().cells[0].source == solution.cells[0].source
    monkeypatch.undo()
    broken = tmp_path / "mini-Copy1.ipynb"
    broken.write_text("{not json")
    chosen, _ = choose_notebooks(assignment, [broken])
    with pytest.raises(InvalidNotebook, match="JSON"):
        chosen["mini"].read()


def test_the_formgrader_copy_is_nbformat_writes_byte_for_byte(spec, solution):
    clean = sanitize(solution, spec)
    outcomes = [CellOutcome(c.label, ok=i % 2 == 0, output=f"satır {i}\nikinci\x1b[31m kırmızı\x1b[0m\n",
                            error=None if i % 2 == 0 else {"type": "ValueError", "message": "çok kötü"})
                for i, c in enumerate(clean.cells)]
    verdicts = {gid: ["✔ test_a", "✘ test_b: yanlış"] for gid in spec.grade_ids}
    fill_outputs(clean.notebook, clean.cells, outcomes, verdicts)
    expected = nbformat.writes(copy.deepcopy(clean.notebook))
    nbformat.validate(nbformat.reads(expected, as_version=4))
    assert notebook_text(clean.notebook) == expected
    assert any(o.output_type == "error" for c in nbformat.reads(expected, as_version=4).cells
               for o in c.get("outputs", []))
