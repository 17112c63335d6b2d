"""autograder.checks.objects.notebook_global: a notebook global changed for a block and restored after."""
import pytest
import torch

from autograder.checks.objects import notebook_global

CODE = """
import torch
from torch import nn

device = torch.device("cpu")

class UsesGlobal(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 2).to(device)

def where():
    return str(device)

def missing():
    return str(globals().get("not_there", "absent"))

class Inherits(nn.Linear):
    pass
"""


@pytest.fixture(scope="module")
def student(student_running):
    with student_running("notebook_global", CODE) as s:
        yield s


def test_a_class_sees_the_value_and_it_is_restored(student):
    with notebook_global(student, "UsesGlobal", "device", torch.device("meta")):
        model = student.call("UsesGlobal", keep=True)
        assert student.call("where") == "meta"
    devices = {entry[2] for entry in student.describe(model)["parameters"]}
    assert devices == {"meta"}
    assert student.call("where") == "cpu"


def test_a_function_owner_and_a_name_that_did_not_exist(student):
    with notebook_global(student, "missing", "not_there", "here"):
        assert student.call("missing") == "here"
    assert student.call("missing") == "absent"


def test_restored_when_the_block_fails(student):
    with pytest.raises(RuntimeError):
        with notebook_global(student, "where", "device", torch.device("meta")):
            raise RuntimeError("check failed")
    assert student.call("where") == "cpu"


def test_a_class_without_its_own_init_changes_nothing(student):
    # Inherits.__init__ is nn.Linear's: its globals are torch's, not the notebook's
    with notebook_global(student, "Inherits", "device", torch.device("meta")):
        assert student.call("where") == "cpu"
    assert student.call("where") == "cpu"
