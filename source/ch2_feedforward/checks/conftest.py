"""Shared helpers for the chapter 2 hidden checks (trusted process only).

Test modules cannot import this file by name under --import-mode=importlib, so the
helpers are offered through the ``kit`` fixture. The ``student`` fixture comes from
the grader.

Models used by the checks are built in the worker with the notebook's own ``torch``
(``worker_sequential``) and, where values matter, get weights from the check, so
that expected values never depend on how a student creates layers; the same model
is rebuilt here in float64 (``reference_sequential``) to compute the expected values.
"""
import ast
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from autograder.checks import CheckFailed, StudentCodeError, call, close, fail
from autograder.checks.device_override import expect_device_argument_kept
from autograder.checks.layouts import format_layout, layout
from autograder.checks.messages import error_text, explain_error
from autograder.device import (DeviceSimulationUnsupported, expect_no_hardcoded_device, run_counting_ops,
                               run_on_device)

def _name(fn) -> str:
    return fn if isinstance(fn, str) else "model"


def run_device(student, fn, *args, what: str, counting: bool = False, model=None, **kwargs):
    """run_on_device (or run_counting_ops when ``counting``) on the grading device; returns (result, counts).

    Device errors become CheckFailed inside autograder.device; when ``model`` (a Handle) is given and is still on
    the CPU after such an error, the message says so instead of the general advice. Other student errors are
    explained here. DeviceSimulationUnsupported propagates: the caller falls back to the CPU.
    """
    try:
        if counting:
            return run_counting_ops(student, fn, *args, what=what, **kwargs)
        return run_on_device(student, fn, *args, what=what, **kwargs), None
    except StudentCodeError as error:
        if error.type == "NotImplementedError":
            raise
        fail(error_text(f"{what} (cihaz denemesinde)", error))
    except CheckFailed as failure:
        mixed = "farklı cihazlardaki tensörler" in str(failure) or "ağırlıkları girdiyle aynı cihazda" in str(failure)
        if mixed and model is not None and kwargs.get("device", "x") != "cpu":
            devices = {entry[2] for entry in student.describe(model).get("parameters", [])}
            if devices == {"cpu"}:
                raise CheckFailed(f"{what}: model CPU'da kalmış, veriler ise hedef cihazda: fonksiyonun içinde "
                                  "modeli de `model.to(device)` ile verilen cihaza taşıyın.") from None
        raise


def no_hardcoded_cuda(student, names=None):
    """No hard-coded CUDA, and the function's own ``device`` argument is used, not chosen anew inside it."""
    expect_no_hardcoded_device(student, names)
    if names:
        expect_device_argument_kept(student, names)



# ---------------------------------------------------------------------- models in the worker and here

def random_params(layers, rng):
    """float32 parameters for the Linear and BatchNorm layers of ``layers`` (in parameter order)."""
    params = []
    for name, *args in layers:
        if name == "Linear":
            n_in, n_out = args[:2]
            bound = 1.0 / np.sqrt(n_in)
            params.append(torch.tensor(rng.uniform(-bound, bound, size=(n_out, n_in)), dtype=torch.float32))
            params.append(torch.tensor(rng.uniform(-bound, bound, size=(n_out,)), dtype=torch.float32))
        elif name.startswith("BatchNorm"):
            params.append(torch.tensor(rng.uniform(0.5, 1.5, size=(args[0],)), dtype=torch.float32))
            params.append(torch.tensor(rng.normal(size=(args[0],)) * 0.3, dtype=torch.float32))
    return params


def worker_sequential(student, layers, params=None):
    """Build ``nn.Sequential`` of ``layers`` ([("Linear", 4, 8), ("ReLU",), …]) in the worker; returns a Handle.

    ``params`` (tensors in parameter order) are copied in when given; otherwise the worker's
    (seeded) default initialisation is kept.
    """
    try:
        modules = [student.call_method("torch", f"nn.{name}", *args, keep=True) for name, *args in layers]
        model = student.call_method("torch", "nn.Sequential", *modules, keep=True)
        if params is not None:
            names = [entry[0] for entry in student.describe(model)["parameters"]]
            for name, value in zip(names, params):
                student.call_method(model, f"{name}.data.copy_", value, keep=True)
    except StudentCodeError as error:
        fail(f"Kontrol için bir model kurulamadı ({error.type}: {error.message[:200]}); defterin ilk hücresindeki "
             "`import torch` değiştirilmemeli, `torch` adına başka bir değer atanmamalı.")
    return model


def reference_sequential(layers, params=None, dtype=torch.float64):
    """The same model, here in the trusted process (float64 by default)."""
    model = torch.nn.Sequential(*[getattr(torch.nn, name)(*args) for name, *args in layers]).to(dtype)
    if params is not None:
        with torch.no_grad():
            for p, value in zip(model.parameters(), params):
                p.copy_(value.to(dtype))
    return model


# ---------------------------------------------------------------------- "from scratch" (static)

def _parse(source: str):
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # noqa: BLE001 - a cell that does not parse has no findings
        return None


def builtin_uses(source: str, functions, forbidden, names=()) -> list[str]:
    """Attribute uses like ``torch.sigmoid`` / ``F.softmax`` / ``x.tanh()`` whose name is in ``forbidden``, and
    plain names in ``names`` (``autograd_derivative(...)``, ``device``), inside the student's definitions of
    ``functions`` (def or assignment)."""
    tree = _parse(source)
    if tree is None:
        return []
    found = []
    for node in ast.walk(tree):
        defines = (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in functions) or \
            (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in functions for t in node.targets))
        if not defines:
            continue
        for sub in ast.walk(node):
            hit = (isinstance(sub, ast.Attribute) and sub.attr in forbidden) or \
                (isinstance(sub, ast.Name) and sub.id in names)
            if hit:
                code = ast.get_source_segment(source, sub) or getattr(sub, "attr", None) or sub.id
                if code not in found:
                    found.append(code)
    return found


@pytest.fixture
def kit():
    return SimpleNamespace(
        call=call, run_device=run_device, no_hardcoded_cuda=no_hardcoded_cuda,
        explain_error=lambda error: explain_error(error.type, error.message),
        error_text=error_text, random_params=random_params, worker_sequential=worker_sequential,
        reference_sequential=reference_sequential, layout=layout, format_layout=format_layout, close=close,
        builtin_uses=builtin_uses, DeviceSimulationUnsupported=DeviceSimulationUnsupported,
    )
