"""autograder.checks.modes and the worker's watch_grad context: no_grad and train/eval seen from outside."""

import numpy as np
import pytest

from autograder.checks import CheckFailed
from autograder.checks.modes import expect_no_graph, expect_training_mode, run_watching_grad
from autograder.device import check_device

CODE = """
import torch
from torch import nn

def model():
    return nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1))

def predict_no_grad(model, X, device="cpu"):
    model.to(device).eval()
    with torch.no_grad():
        out = model(torch.as_tensor(X, dtype=torch.float32).to(device))
    return out.reshape(-1).cpu().numpy()

def predict_inference_mode(model, X, device="cpu"):
    model.to(device).eval()
    with torch.inference_mode():
        out = model(torch.as_tensor(X, dtype=torch.float32).to(device))
    return out.reshape(-1).cpu().numpy()

def predict_detach(model, X, device="cpu"):
    model.to(device).eval()
    out = model(torch.as_tensor(X, dtype=torch.float32).to(device))
    return out.detach().reshape(-1).cpu().numpy()
"""


@pytest.fixture(scope="module")
def student(student_running):
    with student_running("modes", CODE) as s:
        yield s


X = np.random.default_rng(0).normal(size=(5, 3))


@pytest.mark.parametrize("fn", ["predict_no_grad", "predict_inference_mode"])
def test_no_grad_and_inference_mode_record_no_graph(student, fn):
    m = student.call("model", keep=True)
    out = expect_no_graph(student, fn, m, X, device="cpu", what=fn)
    assert out.shape == (5,)
    expect_training_mode(student, m, False)


def test_detach_after_the_forward_pass_is_seen(student):
    m = student.call("model", keep=True)
    _, counts = run_watching_grad(student, "predict_detach", m, X, device="cpu")
    assert counts["graph"] > 0
    with pytest.raises(CheckFailed, match="torch.no_grad"):
        expect_no_graph(student, "predict_detach", m, X, device="cpu", what="predict")


def test_watching_works_on_the_simulated_device(student):
    m = student.call("model", keep=True)
    device = check_device("cpu")  # meta
    _, counts = run_watching_grad(student, "predict_detach", m, X, device=device, contexts=["simulate_device"])
    assert counts["graph"] > 0
    m = student.call("model", keep=True)
    _, counts = run_watching_grad(student, "predict_no_grad", m, X, device=device, contexts=["simulate_device"])
    assert counts["graph"] == 0


def test_training_mode(student):
    m = student.call("model", keep=True)
    expect_training_mode(student, m, True)
    with pytest.raises(CheckFailed, match=r"model\.eval\(\)"):
        expect_training_mode(student, m, False, what="predict")
