"""autograder.checks.layouts: a model's structure read by module order and type, whatever the layer names."""

import pytest

from autograder.checks import CheckFailed
from autograder.checks.layouts import distinct_children, format_layout, layout, parameters

CODE = """
from collections import OrderedDict
import torch
from torch import nn

def plain():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 3, bias=False))

def ordered():
    return nn.Sequential(OrderedDict(fc1=nn.Linear(4, 8), act=nn.ReLU(), drop=nn.Dropout(0.25),
                                     out=nn.Linear(8, 3, bias=False)))

def added():
    seq = nn.Sequential()
    for name, layer in [("linear0", nn.Linear(4, 8)), ("relu0", nn.ReLU()), ("dropout0", nn.Dropout(0.25)),
                        ("linear1", nn.Linear(8, 3, bias=False))]:
        seq.add_module(name, layer)
    return seq

def shared():
    act = nn.Tanh()
    return nn.Sequential(nn.Linear(2, 2), act, nn.Linear(2, 2), act, nn.Linear(2, 1))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(1, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.slope = nn.LeakyReLU(0.2)

def custom():
    return Net()

def not_a_model():
    return [1, 2]
"""


@pytest.fixture(scope="module")
def student(student_running):
    with student_running("layouts", CODE) as s:
        yield s


WANT = [("Linear", 4, 8), ("ReLU",), ("Dropout", 0.25), ("Linear", 8, 3, "bias=False")]


@pytest.mark.parametrize("builder", ["plain", "ordered", "added"])
def test_layout_does_not_depend_on_layer_names(student, builder):
    model = student.call(builder, keep=True)
    assert layout(student, model, builder) == WANT
    names = [name for name, _ in parameters(student, model)]
    assert len(names) == 3  # weight, bias, weight - whatever they are called
    tensors = [t for _, t in parameters(student, model)]
    assert [tuple(t.shape) for t in tensors] == [(8, 4), (8,), (3, 8)]


def test_format_layout():
    assert format_layout(WANT) == "[Linear(4, 8), ReLU, Dropout(0.25), Linear(8, 3, bias=False)]"


def test_a_reused_instance_is_listed_at_each_position_but_counted_once(student):
    model = student.call("shared", keep=True)
    assert [k[0] for k in layout(student, model)] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert distinct_children(student, model) == 4


def test_other_modules_in_registration_order(student):
    model = student.call("custom", keep=True)
    with pytest.raises(CheckFailed, match="nn.Sequential bekleniyordu"):
        layout(student, model, "custom()")
    assert layout(student, model, container=None) == [("Conv2d", 1, 4, (3, 3), (1, 1), (1, 1)),
                                                      ("BatchNorm2d", 4), ("LeakyReLU", 0.2)]


def test_not_a_model_fails_in_turkish(student):
    with pytest.raises(CheckFailed, match="nn.Module"):
        layout(student, student.call("not_a_model", keep=True), "f()")


# ---------------------------------------------------------------------- traced_ops

TRACE_CODE = """
from collections import OrderedDict
import torch
from torch import nn
import torch.nn.functional as F

def modules():
    return nn.Sequential(OrderedDict(c=nn.Conv2d(1, 2, 3, padding=1), act=nn.ReLU(), pool=nn.MaxPool2d(2),
                                     flat=nn.Flatten(), out=nn.Linear(2 * 2 * 2, 3)))

class Functional(nn.Module):
    # registered in another order than used, relu and pooling as functions, a nested Sequential
    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8, 3))
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv(x)), 2)
        return self.head(x).softmax(dim=1)

def functional():
    return Functional()

class Swapped(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.act = nn.ReLU()
    def forward(self, x):
        return self.act(self.pool(self.conv(x))).relu_()

def swapped():
    return Swapped()

class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
    def forward(self, x):
        if x.sum() > 0:       # control flow on values: symbolic tracing fails
            return self.conv(x)
        return x

def untraceable():
    return Untraceable()
"""


@pytest.fixture(scope="module")
def traced_student(student_running):
    with student_running("traced_ops", TRACE_CODE) as s:
        yield s


def test_traced_ops_reads_modules_by_type_not_name(traced_student):
    from autograder.checks.layouts import traced_ops

    ops = traced_ops(traced_student, traced_student.call("modules", keep=True))
    assert ops == ["conv", "relu", "maxpool", "flatten", "linear"]


def test_traced_ops_follows_forward_not_registration_and_sees_functions(traced_student):
    from autograder.checks.layouts import traced_ops

    ops = traced_ops(traced_student, traced_student.call("functional", keep=True))
    assert ops == ["conv", "relu", "maxpool", "flatten", "linear", "softmax"]
    ops = traced_ops(traced_student, traced_student.call("swapped", keep=True))
    assert ops == ["conv", "maxpool", "relu", "relu"]


def test_traced_ops_is_none_when_the_forward_cannot_be_traced(traced_student):
    from autograder.checks.layouts import traced_ops

    assert traced_ops(traced_student, traced_student.call("untraceable", keep=True)) is None
