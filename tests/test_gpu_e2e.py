"""On a machine with CUDA: every assignment validates with the device checks on the real GPU.

Skipped without CUDA (the meta-device simulation covers CPU graders in the other tests).
Run on a GPU machine with `pytest -m gpu`.
"""
import pytest

from conftest import ROOT, autograder

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.gpu, pytest.mark.slow,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_validate_every_assignment_on_the_gpu():
    r = autograder("validate", "--device", "cuda", "--workers", "1", cwd=ROOT, timeout=3000)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
