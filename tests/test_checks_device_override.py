"""autograder.checks.device_override: a function that overwrites its `device` argument, found statically."""
from types import SimpleNamespace

import pytest

from autograder.checks import CheckFailed
from autograder.checks.device_override import device_overrides, expect_device_argument_kept
from autograder.session import CellToRun

OVERRIDE = '''
def train(X, y, epochs=10, device="cpu"):
    device = "cuda" if torch.cuda.is_available() else "cpu"  # use the GPU when there is one
    return X.to(device)
'''


def test_an_override_is_found_with_its_line_and_function():
    (o,) = device_overrides(OVERRIDE)
    assert (o.function, o.line) == ("train", 3)
    assert o.code.startswith('device = "cuda" if torch.cuda.is_available()')


@pytest.mark.parametrize("body", [
    "device = torch.device(device)",
    "device = device or 'cpu'",
    "dev = torch.device('cuda')",          # another name: hard-coding is expect_no_hardcoded_device's business
    "x = x.to(device)",
])
def test_conversions_and_other_names_are_allowed(body):
    assert device_overrides(f"def f(x, device='cpu'):\n    {body}\n    return x\n") == []


def test_only_functions_that_take_the_parameter_and_the_named_ones():
    source = "device = 'cuda'\n\ndef g(x):\n    device = 'cpu'\n    return x\n" + OVERRIDE
    assert [o.function for o in device_overrides(source)] == ["train"]
    assert device_overrides(source, names=["g"]) == []
    assert device_overrides("def f(x, *, device):\n    device, y = 'cpu', 1\n") != []
    assert device_overrides("def f(x, device):\n    if (device := 'cpu'):\n        pass\n") != []


def test_unparsable_cells_have_no_findings():
    assert device_overrides("def f(:\n") == []
    assert device_overrides("%time x = 1\ndef f(device):\n    device = 'cuda'\n")[0].line == 3


def test_expect_names_cell_line_and_function():
    student = SimpleNamespace(source_cells=[CellToRun("ok_cell", "def h(device):\n    return device\n"),
                                            CellToRun("train_cell", OVERRIDE)])
    with pytest.raises(CheckFailed) as info:
        expect_device_argument_kept(student, ["train"])
    message = str(info.value)
    assert message.startswith("`train_cell` hücresi, 3. satır (`train` içinde)")
    assert "argümanının üzerine yazıyor" in message
    expect_device_argument_kept(student, ["h"])
