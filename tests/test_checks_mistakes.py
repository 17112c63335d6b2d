"""autograder.checks.mistakes: comparisons that name the first known mistake an answer matches."""
import numpy as np
import pytest
import torch

from autograder.checks import CheckFailed
from autograder.checks.mistakes import expect_close, matching_mistake


def test_right_answer_passes_without_computing_mistakes():
    def boom():
        raise AssertionError("a mistake was computed although the answer is right")

    expect_close(np.array([1.0, 2.0]), [1.0, 2.0], mistakes=[("never", boom)])


def test_first_matching_mistake_names_the_bug():
    expected = np.array([1.0, 2.0, 3.0])
    wrong = expected * 2
    with pytest.raises(CheckFailed) as info:
        expect_close(wrong, expected, what="f(x)", mistakes=[("not this one", expected + 5),
                                                            ("doubled", lambda: expected * 2),
                                                            ("also doubled", expected * 2)])
    assert str(info.value) == "f(x): doubled"


def test_a_mistake_may_have_another_shape():
    expected = torch.arange(6.0)
    with pytest.raises(CheckFailed) as info:
        expect_close(expected.reshape(2, 3), expected, what="cat0",
                     mistakes=[("vstack kullanılmış", lambda: expected.reshape(2, 3))])
    assert "vstack kullanılmış" in str(info.value)


def test_no_match_falls_back_to_the_usual_failure_with_hint():
    with pytest.raises(CheckFailed) as info:
        expect_close([0.0, 9.0], [0.0, 1.0], what="g(x)", hint="ipucu", mistakes=[("other", [5.0, 5.0])])
    message = str(info.value)
    assert message.startswith("g(x): değerler yanlış") and message.endswith("ipucu")


def test_shape_failure_without_match():
    with pytest.raises(CheckFailed) as info:
        expect_close(np.zeros((3, 1)), np.zeros(3), what="p")
    assert "şekil (3,)" in str(info.value)


def test_a_variant_equal_to_the_right_answer_names_nothing():
    expected = np.array([1.0, 2.0])
    assert matching_mistake(expected, [("same", expected.copy())], expected=expected) is None
    assert matching_mistake(expected, [("same", expected.copy())]) == "same"


def test_none_variants_and_non_numeric_answers_are_skipped():
    assert matching_mistake(None, [("x", [1.0])]) is None
    assert matching_mistake([1.0], [("skip", None), ("x", lambda: [1.0])]) == "x"
    with pytest.raises(CheckFailed):
        expect_close("text", [1.0], mistakes=[("x", [1.0])])


def test_mistake_tolerance():
    expected = np.array([1.0])
    with pytest.raises(CheckFailed) as info:
        expect_close([2.0001], expected, mistake_tol=1e-3, mistakes=[("about two", [2.0])])
    assert "about two" in str(info.value)


def test_unique_names_nothing_when_two_mistakes_give_the_same_answer():
    expected = np.array([0.0, 0.0])
    same = np.array([1.0, 1.0])
    mistakes = [("first", same), ("second", lambda: same.copy()), ("other", [5.0, 5.0])]
    assert matching_mistake(same, mistakes, expected=expected) == "first"
    assert matching_mistake(same, mistakes, expected=expected, unique=True) is None
    assert matching_mistake(same, [("same text", same), ("same text", same)], unique=True) == "same text"
    with pytest.raises(CheckFailed) as info:
        expect_close(same, expected, mistakes=mistakes, unique=True, hint="genel")
    assert str(info.value).endswith("genel")
