"""The hidden suite is configured and collected once per grading process and run again for each submission: the
same results as a ``pytest.main`` of its own, fixtures set up afresh for every student, and the ordinary run when
the suite cannot be collected."""
import textwrap

import pytest

from autograder import runner
from autograder.assignment import Assignment, Course
from autograder.runner import CollectedSuite, SuiteError, run_checks


class _Seeded:
    """Enough of a Student for checks that only need the fixture (the grader seeds it before each check)."""

    def __init__(self):
        self.seeds = []

    def seed(self, value):
        self.seeds.append(value)


@pytest.fixture
def suite_course(mini_course, tmp_path):
    """The mini course with its checks replaced: a session fixture that a check changes, a module counter, a log
    of collections."""
    log = tmp_path / "collections.log"
    checks = mini_course / "source" / "mini" / "checks"
    (checks / "conftest.py").write_text(textwrap.dedent(f"""
        import pytest

        def pytest_collection_finish(session):
            with open({str(log)!r}, "a") as f:
                f.write("collected\\n")

        @pytest.fixture(scope="session")
        def shared():
            return []
    """))
    (checks / "test_mini.py").write_text(textwrap.dedent("""
        from autograder.checks import grade

        @grade("double_test", weight=2)
        def test_changes_a_session_fixture(student, shared):
            shared.append(1)
            assert shared == [1], shared  # a student's run starts with it set up afresh

        @grade("double_test")
        def test_fails(student):
            assert False, "kasıtlı"

        @grade("scale_test")
        def test_passes(student):
            pass
    """))
    CollectedSuite._current = None
    yield mini_course, log
    if CollectedSuite._current is not None:
        CollectedSuite._current.close()
        CollectedSuite._current = None


def _outcomes(results):
    return [(r.grade_id, r.check, r.passed, r.message) for r in results]


def test_collected_once_with_the_results_of_a_run_of_its_own(suite_course):
    course, log = suite_course
    assignment = Assignment.load(Course(course), "mini")
    students = [{"mini": _Seeded()} for _ in range(3)]
    runs = [_outcomes(run_checks(assignment, s)) for s in students]
    assert log.read_text().count("collected") == 1
    alone = _outcomes(runner._run_once(assignment, {"mini": _Seeded()}, None, None))
    assert runs == [alone] * 3
    assert [o[2] for o in alone] == [True, False, True]
    assert [s["mini"].seeds for s in students] == [students[0]["mini"].seeds] * 3  # the same seed for each check
    # A later Assignment object of the same course (each submission brings its own) uses the same suite.
    before = log.read_text().count("collected")  # one more, from the run of its own
    run_checks(Assignment.load(Course(course), "mini"), {"mini": _Seeded()})
    assert log.read_text().count("collected") == before == 2


def test_only_runs_the_checks_of_those_notebooks(suite_course):
    course, _ = suite_course
    assignment = Assignment.load(Course(course), "mini")
    assert len(run_checks(assignment, {"mini": _Seeded()}, only={"mini"})) == 3
    assert run_checks(assignment, {}, only={"other"}) == []
    assert len(run_checks(assignment, {"mini": _Seeded()})) == 3


def test_an_edited_check_file_is_collected_again(suite_course):
    course, log = suite_course
    assignment = Assignment.load(Course(course), "mini")
    run_checks(assignment, {"mini": _Seeded()})
    conftest = course / "source" / "mini" / "checks" / "conftest.py"
    conftest.write_text(conftest.read_text() + "\n# edited\n")
    run_checks(assignment, {"mini": _Seeded()})
    assert log.read_text().count("collected") == 2


def test_a_suite_that_does_not_collect_is_reported_on_every_submission(suite_course):
    course, _ = suite_course
    (course / "source" / "mini" / "checks" / "test_broken.py").write_text("def test_x(:\n")
    broken = course / "source" / "mini" / "checks" / "test_broken.py"
    assignment = Assignment.load(Course(course), "mini")
    for _ in range(2):  # pytest would take the half-imported module from sys.modules the second time
        with pytest.raises(SuiteError, match="did not run") as error:
            run_checks(assignment, {"mini": _Seeded()})
        assert "test_broken.py" in str(error.value) and "SyntaxError" in str(error.value)
    for _ in range(2):  # the same through a pytest.main of its own
        with pytest.raises(SuiteError, match="test_broken.py"):
            runner._run_once(assignment, {"mini": _Seeded()}, None, None)
    broken.write_text("from autograder.checks import grade\n\n\n@grade('scale_test')\ndef test_x(student):\n"
                      "    pass\n")
    assert len(run_checks(assignment, {"mini": _Seeded()})) == 4


def test_a_run_stopped_half_way_is_never_reused(suite_course):
    course, log = suite_course
    checks = course / "source" / "mini" / "checks"
    flag = checks.parent / "stop"
    with open(checks / "test_mini.py", "a") as f:
        f.write(textwrap.dedent(f"""
            import os

            @grade("scale_test")
            def test_stops(student, shared):
                if os.path.exists({str(flag)!r}):
                    raise KeyboardInterrupt
        """))
    assignment = Assignment.load(Course(course), "mini")
    flag.touch()
    with pytest.raises(KeyboardInterrupt):
        run_checks(assignment, {"mini": _Seeded()})
    assert CollectedSuite._current is None
    flag.unlink()
    assert [o[2] for o in _outcomes(run_checks(assignment, {"mini": _Seeded()}))] == [True, False, True, True]
    assert log.read_text().count("collected") == 2


def test_pytest_internals_that_moved_fall_back_to_a_run_per_submission(suite_course, monkeypatch):
    course, log = suite_course

    def moved(*args, **kwargs):
        raise AttributeError("_prepareconfig")

    monkeypatch.setattr(CollectedSuite, "__init__", moved)
    assignment = Assignment.load(Course(course), "mini")
    for _ in range(2):
        assert [o[2] for o in _outcomes(run_checks(assignment, {"mini": _Seeded()}))] == [True, False, True]
    assert log.read_text().count("collected") == 2
