"""autograder.checks.cache: reference work once per process, copies handed out, keyed by file text and args."""
import importlib.util
import textwrap

import torch

from autograder.checks import cache


def _load(path, name="conftest_like"):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODULE = """
from autograder.checks.cache import per_process
import torch
CALLS = []

@per_process
def reference(seed):
    CALLS.append(seed)
    return {"w": torch.randn(3, generator=torch.Generator().manual_seed(seed))}

@per_process(copy=False)
def shared():
    CALLS.append("shared")
    return [1, 2]
"""


def test_a_reimported_module_reuses_the_first_computation(tmp_path):
    cache.clear()
    path = tmp_path / "conftest.py"
    path.write_text(textwrap.dedent(MODULE))
    first = _load(path)
    a = first.reference(0)
    second = _load(path)  # what pytest does for the next submission
    b = second.reference(0)
    assert first.CALLS == [0] and second.CALLS == []
    assert torch.equal(a["w"], b["w"])
    second.reference(1)
    assert second.CALLS == [1]


def test_each_call_gets_its_own_copy_unless_told_otherwise(tmp_path):
    cache.clear()
    path = tmp_path / "conftest.py"
    path.write_text(textwrap.dedent(MODULE))
    module = _load(path)
    got = module.reference(0)
    got["w"].mul_(0)
    assert module.reference(0)["w"].abs().sum() > 0
    assert module.shared() is module.shared()


def test_an_edited_file_is_computed_again(tmp_path):
    cache.clear()
    path = tmp_path / "conftest.py"
    path.write_text(textwrap.dedent(MODULE))
    _load(path).reference(0)
    path.write_text(textwrap.dedent(MODULE) + "\n# edited\n")
    edited = _load(path)
    edited.reference(0)
    assert edited.CALLS == [0]
