"""autograder.checks.objects and .source, and the device helpers built on them: objects made in the worker,
the student's modules read back by handle, static reading of the student's code."""
import numpy as np
import pytest
import torch

from autograder.checks import CheckFailed
from autograder.checks.objects import (fill_by_shape, module_info, n_params, param_shapes, parameter_arrays,
                                       random_params, reference_sequential, split_layer, torch_object, tuple_items,
                                       worker_sequential)
from autograder.checks.source import builtin_uses, definitions, parse_cell
from autograder.device import (DeviceSimulationUnsupported, expect_tensor_on_device, forward_backward_on_device,
                               not_simulated)
from autograder.runner import skip_message

CODE = """
import torch
from torch import nn

class Twisted(nn.Module):
    # parameters registered in another order than they are used, under the student's own names
    def __init__(self):
        super().__init__()
        self.second = nn.Linear(3, 2)
        self.first = nn.Linear(4, 3)
    def forward(self, x):
        return self.second(torch.relu(self.first(x)))

def pair(x):
    return x + 1, x * 2

def cpu_ones(x):
    return x * torch.ones(x.shape)   # a CPU tensor, whatever the device of x

def not_a_module():
    return 3
"""

LAYERS = [("Linear", 4, 3), ("ReLU",), ("Linear", 3, 2)]


@pytest.fixture(scope="module")
def student(student_running):
    with student_running("objects", CODE) as s:
        yield s


def test_split_layer_takes_a_trailing_dict_as_keywords():
    assert split_layer(("Conv2d", 1, 8, 3, {"padding": 1})) == ("Conv2d", (1, 8, 3), {"padding": 1})
    assert split_layer(("ReLU",)) == ("ReLU", (), {})


def test_worker_and_reference_models_agree_with_given_parameters(student):
    params = random_params(LAYERS, np.random.default_rng(0))
    assert [tuple(p.shape) for p in params] == [(3, 4), (3,), (2, 3), (2,)]
    model = worker_sequential(student, LAYERS, params)
    x = torch.randn(5, 4)
    got = student.call(model, x)
    want = reference_sequential(LAYERS, params)(x.double())
    assert want.dtype == torch.float64
    assert torch.allclose(got.double(), want, atol=1e-6)
    assert reference_sequential(LAYERS, dtype=None)[0].weight.dtype == torch.float32


def test_torch_object_failure_is_a_turkish_check_failure(student):
    with pytest.raises(CheckFailed, match="oluşturulamadı"):
        torch_object(student, "nn.NoSuchLayer", 3)


def test_module_reading_is_independent_of_names_and_order(student):
    model = student.call("Twisted", keep=True)
    info = module_info(student, model, "Twisted()")
    assert param_shapes(info) == [(2,), (2, 3), (3,), (3, 4)]
    assert n_params(info) == 2 * 3 + 2 + 3 * 4 + 3
    arrays = parameter_arrays(student, model, "Twisted()")
    assert list(arrays) == ["second.weight", "second.bias", "first.weight", "first.bias"]
    assert all(a.dtype == np.float64 for a in arrays.values())
    with pytest.raises(CheckFailed, match="nn.Module bekleniyordu"):
        module_info(student, student.call("not_a_module", keep=True), "not_a_module()")


def test_fill_by_shape_makes_student_and_reference_compute_the_same(student):
    model = student.call("Twisted", keep=True)
    reference = reference_sequential(LAYERS, dtype=None)
    fill_by_shape(student, model, module_info(student, model, "Twisted()"), reference, seed=3)
    x = torch.randn(6, 4, dtype=torch.float64)
    assert torch.allclose(student.call(model, x), reference(x))


def test_tuple_items_keeps_handles_and_checks_the_length(student):
    first, second = tuple_items(student, student.call("pair", torch.ones(2), keep=True), 2, "pair(x)")
    assert torch.equal(student.get(second), torch.full((2,), 2.0))
    with pytest.raises(CheckFailed, match="2 ögeli"):
        tuple_items(student, student.call("pair", torch.ones(2), keep=True), 3, "pair(x)")
    with pytest.raises(CheckFailed, match="demet"):
        tuple_items(student, student.call("not_a_module", keep=True), 2, "f()")


def test_expect_tensor_on_device_reads_the_device_from_the_handle(student):
    meta = student.call_method(student.put(torch.ones(2, 3)), "to", torch.device("meta"), keep=True)
    expect_tensor_on_device(student, meta, (2, 3), "x", device="meta")
    with pytest.raises(CheckFailed, match=r"şekil \(3, 2\)"):
        expect_tensor_on_device(student, meta, (3, 2), "x", device="meta")
    with pytest.raises(CheckFailed, match="`cpu` cihazında"):
        expect_tensor_on_device(student, student.put(torch.ones(2)), None, "x", device="meta")


def test_a_cpu_tensor_inside_forward_fails_the_device_run(student):
    model = worker_sequential(student, LAYERS)
    student.call_method(model, "to", torch.device("meta"))
    x = student.call_method(student.put(torch.randn(2, 4)), "to", torch.device("meta"), keep=True)
    out = forward_backward_on_device(student, model, x, "meta", "model(x)")
    expect_tensor_on_device(student, out, (2, 2), "model(x)", device="meta")
    with pytest.raises(CheckFailed):
        forward_backward_on_device(student, "cpu_ones", x, "meta", "cpu_ones(x)")


def test_not_simulated_skips_and_says_why():
    with pytest.raises(pytest.skip.Exception) as skipped:
        not_simulated(DeviceSimulationUnsupported("f: NotImplementedError: aten::unique"))
    assert "sayılmadı" in str(skipped.value) and "aten::unique" in str(skipped.value)
    assert skip_message(("f.py", 3, "Skipped: neden bu")) == "atlandı: neden bu"
    assert skip_message(None) == "atlandı"


SOURCE = """
%time x = 1
import torch
def sigmoid(z):
    return torch.sigmoid(z)
relu = lambda z: z.clamp(min=0)
class Model:
    pass
"""


def test_source_reading_handles_magics_and_finds_uses():
    assert parse_cell(SOURCE) is not None and parse_cell("def (") is None
    assert definitions(SOURCE, {"sigmoid", "Model", "missing"}) == {"sigmoid": (4, 5), "Model": (7, 8)}
    assert builtin_uses(SOURCE, {"sigmoid"}, forbidden={"sigmoid"}) == ["torch.sigmoid"]
    assert builtin_uses(SOURCE, {"relu"}, forbidden={"clamp"}) == ["z.clamp"]
    assert builtin_uses("def (", {"f"}, forbidden={"x"}) == []
