"""Turkish explanations of two common mistakes: `.view` on a non-contiguous tensor, a float update of an int array."""
import numpy as np
import pytest
import torch

from autograder.checks.messages import CAST_HINT, VIEW_HINT, explain_error


def _raised(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value).__name__, str(info.value)


def test_view_on_a_non_contiguous_tensor():
    assert explain_error(*_raised(lambda: torch.arange(6.0).reshape(2, 3).t().view(1, -1))) == VIEW_HINT


def test_float_update_of_an_integer_tensor_or_array():
    def torch_update():
        w = torch.zeros(3, dtype=torch.int64)
        w += 0.5 * torch.ones(3, dtype=torch.float64)

    def numpy_update():
        w = np.zeros(3, dtype=np.int64)
        w += 0.5 * np.ones(3)

    assert explain_error(*_raised(torch_update)) == CAST_HINT
    assert explain_error(*_raised(numpy_update)) == CAST_HINT


def test_unrelated_errors_are_not_explained_by_them():
    assert explain_error("RuntimeError", "shape '[2, 2]' is invalid for input of size 6") not in (VIEW_HINT, CAST_HINT)
