from autograder.assignment import Assignment, Course
from autograder.runner import CheckResult
from autograder.scoring import score_cells, total
from conftest import MINI


def test_points_are_the_weighted_share_of_passing_checks():
    a = Assignment.load(Course(MINI), "mini")
    results = [
        CheckResult("mini", "double_test", "a", 2.0, True),
        CheckResult("mini", "double_test", "b", 1.0, False, "x"),
        CheckResult("mini", "double_test", "gpu", 5.0, False, "atlandı", skipped=True),
        CheckResult("mini", "scale_test", "c", 1.0, True),
    ]
    cells = {c.grade_id: c for c in score_cells(a, results)}
    assert cells["double_test"].points == round(2.0 * 2 / 3, 4)
    assert cells["scale_test"].points == 1.0
    assert cells["why"].manual and cells["why"].points is None
    assert total(list(cells.values())) == (round(2.0 * 2 / 3 + 1.0, 4), 3.0)


def test_a_cell_without_results_earns_nothing():
    a = Assignment.load(Course(MINI), "mini")
    cells = {c.grade_id: c for c in score_cells(a, [])}
    assert cells["double_test"].points == 0.0
