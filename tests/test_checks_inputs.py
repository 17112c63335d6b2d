"""autograder.checks.inputs: device-following results, non-contiguous inputs, unchanged inputs."""

import pytest
import torch

from autograder.checks import CheckFailed
from autograder.checks.inputs import expect_follows_input_device, expect_unchanged, put_noncontiguous
from autograder.session import StudentCodeError

CODE = """
import torch

def good(x):
    return torch.where(x > 0, x, torch.zeros_like(x))

def cpu_zeros(x):
    return torch.maximum(x, torch.zeros(x.shape, dtype=x.dtype))

def flat_view(x):
    return x.view(-1)

def flat_reshape(x):
    return x.reshape(-1)

def is_contiguous(x):
    return x.is_contiguous()

def shift_in_place(x):
    x -= x.amax(dim=-1, keepdim=True)
    return x.exp()

def returns_list(x):
    return [1.0]
"""


@pytest.fixture(scope="module")
def student(student_running):
    with student_running("inputs", CODE) as s:
        yield s


X = torch.tensor([[-1.0, 2.0, 0.5], [3.0, -4.0, 0.0]], dtype=torch.float64)


def test_noncontiguous_view_has_the_values(student):
    h = put_noncontiguous(student, X)
    assert student.call("is_contiguous", h) is False
    assert torch.equal(student.get(h), X)
    assert torch.equal(student.call("flat_reshape", h), X.reshape(-1))
    with pytest.raises(StudentCodeError):
        student.call("flat_view", h)
    h1 = put_noncontiguous(student, torch.arange(5))
    assert student.call("is_contiguous", h1) is False and torch.equal(student.get(h1), torch.arange(5))


def test_result_on_the_input_device(student):
    info = expect_follows_input_device(student, "good", X, what="relu(x)")
    assert info["shape"] == [2, 3] and info["dtype"] == "float64" and info["device"] == "meta"


def test_cpu_tensor_made_inside_is_named(student):
    with pytest.raises(CheckFailed, match="zeros_like"):
        expect_follows_input_device(student, "cpu_zeros", X, what="relu(x)")


def test_a_non_tensor_result_fails(student):
    with pytest.raises(CheckFailed, match="tensör döndürmeliydi"):
        expect_follows_input_device(student, "returns_list", X, what="f(x)")


def test_unchanged_input(student):
    h = student.put(X.clone())
    student.call("good", h)
    expect_unchanged(student, h, X, what="good")
    student.call("shift_in_place", h)
    with pytest.raises(CheckFailed, match="yerinde"):
        expect_unchanged(student, h, X, what="softmax")
