"""Shared reference code and worker helpers for the chapter 3 hidden checks (trusted process only).

Test modules cannot import this file by name under --import-mode=importlib, so everything is
offered through fixtures: ``kit`` (helpers that talk to the worker), ``ref`` (reference
implementations, computed here, never sent to the worker) and ``digits`` (the data of the
training gate). The ``student`` fixture comes from the grader.
"""
from __future__ import annotations

import ast
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from autograder.checks import Handle, StudentCodeError, call, call_method, close, fail
from autograder.checks.messages import error_text
from autograder.device import (DeviceSimulationUnsupported, check_device, contexts_for, run_on_device)
from autograder.wire.names import OP_COUNTS_GLOBAL

# ---------------------------------------------------------------------------- worker helpers


def forward_backward_on_device(student, model, x_handle, dev, what, hint=""):
    """model(x) and a backward pass on ``dev`` (meta simulation without a GPU); returns the output's handle,
    or None when the simulation cannot run an op the student used (not the student's fault)."""
    try:
        out = run_on_device(student, model, x_handle, device=dev, device_arg=None, keep=True, what=what)
        total = student.call_method(out, "sum", keep=True, contexts=contexts_for(dev))
        student.call_method(total, "backward", contexts=contexts_for(dev))
    except DeviceSimulationUnsupported:
        return None
    except StudentCodeError as exc:
        if exc.type == "NotImplementedError":
            raise
        fail(error_text(what, exc, hint))
    return out


def to_worker(student, value, device=None) -> Handle:
    """A copy of ``value`` in the worker, moved to ``device`` there (meta tensors cannot travel)."""
    handle = student.put(value)
    if device is not None:
        handle = student.call_method(handle, "to", torch.device(device), keep=True)
    return handle


def torch_object(student, dotted, *args, **kwargs) -> Handle:
    """Build ``torch.<dotted>(*args, **kwargs)`` in the worker with the notebook's own torch."""
    try:
        return student.call_method("torch", dotted, *args, keep=True, **kwargs)
    except StudentCodeError as exc:
        fail(f"Kontrol için torch.{dotted} oluşturulamadı ({exc.type}: {exc.message[:200]}); defterin ilk "
             "hücresindeki `import torch` değiştirilmemeli.")


def build_sequential(student, spec) -> Handle:
    """nn.Sequential of ``spec`` = [(layer class name, args, kwargs), ...], built in the worker."""
    layers = [torch_object(student, f"nn.{name}", *args, **kwargs) for name, args, kwargs in spec]
    return torch_object(student, "nn.Sequential", *layers)


def local_sequential(spec) -> nn.Sequential:
    return nn.Sequential(*[getattr(nn, name)(*args, **kwargs) for name, args, kwargs in spec])


def module_info(student, handle, what) -> dict:
    info = student.describe(handle)
    if not info.get("module"):
        fail(f"{what}: bir nn.Module bekleniyordu, ama {info.get('type', '?')} geldi.")
    return info


def param_shapes(info) -> list[tuple]:
    return sorted(tuple(int(s) for s in shape) for _, shape, _, _ in info.get("parameters", []))


def n_params(info) -> int:
    return int(sum(int(np.prod(shape)) for _, shape, _, _ in info.get("parameters", [])))


def fill_by_shape(student, handle, info, reference: nn.Module, seed: int, only_4d=False, scale=0.3):
    """Give the student's module and ``reference`` the same parameters, matched by shape.

    Independent of the order and names of the student's layers: every parameter of a given shape
    gets the same values. The student's module is turned to float64 first. Returns nothing;
    ``reference`` is changed in place (and is float64 afterwards).
    """
    g = torch.Generator().manual_seed(seed)
    values: dict[tuple, torch.Tensor] = {}
    for _, p in sorted(reference.named_parameters()):
        shape = tuple(p.shape)
        if (only_4d and len(shape) != 4) or shape in values:
            continue
        values[shape] = torch.randn(shape, generator=g, dtype=torch.float64) * scale
    call_method(student, handle, "double")
    for name, shape, _, _ in info.get("parameters", []):
        shape = tuple(int(s) for s in shape)
        if shape in values:
            call_method(student, handle, f"{name}.data.copy_", values[shape])
    reference.double()
    with torch.no_grad():
        for _, p in reference.named_parameters():
            if tuple(p.shape) in values:
                p.copy_(values[tuple(p.shape)])


def fetch_state(student, handle, keys) -> dict:
    """The student's module's tensors under these state_dict keys, read one by one."""
    state = {}
    for key in keys:
        value = student.get(handle, key)
        if not isinstance(value, torch.Tensor):
            fail(f"Modelin `{key}` değeri okunamadı ({type(value).__name__} geldi); model eğitim sırasında "
                 "değiştirilmemeli (katmanlar yeniden oluşturulmamalı).")
        state[key] = value
    return state


def op_counts(student, fn, *args, **kwargs) -> dict:
    """Call a student function under the ``count_ops`` context on the CPU; return {family: count}."""
    call(student, fn, *args, contexts=["count_ops"], **kwargs)
    counts = student.get(OP_COUNTS_GLOBAL)
    if not isinstance(counts, dict):
        fail("İşlem sayıları okunamadı (notlandırıcının değişkeni değiştirilmiş).")
    total: dict[str, int] = {}
    for families in counts.values():
        for family, n in dict(families).items():
            total[family] = total.get(family, 0) + int(n)
    return total


def _definitions(source: str, names) -> dict:
    """{name: (first line, last line)} of the last top-level def/class of each name in the student's code."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        try:  # IPython magics (%matplotlib, !pip) become calls, line for line
            from IPython.core.inputtransformer2 import TransformerManager

            tree = ast.parse(TransformerManager().transform_cell(source))
        except Exception:  # noqa: BLE001 - code that does not parse has no definitions (and fails elsewhere)
            return {}
    spans = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names:
            spans[node.name] = (node.lineno, node.end_lineno)
    return spans


def device_words(device) -> str:
    d = torch.device(device)
    return "taklit edilen GPU (meta)" if d.type == "meta" else str(d)


@pytest.fixture
def kit():
    return SimpleNamespace(
        call=call, call_method=call_method, close=close, to_worker=to_worker, torch_object=torch_object,
        build_sequential=build_sequential, local_sequential=local_sequential, module_info=module_info,
        param_shapes=param_shapes, n_params=n_params, fill_by_shape=fill_by_shape, fetch_state=fetch_state,
        op_counts=op_counts, device_words=device_words,
        run_on_device=run_on_device, check_device=check_device, contexts_for=contexts_for,
        forward_backward_on_device=forward_backward_on_device,
        DeviceSimulationUnsupported=DeviceSimulationUnsupported,
    )


# ---------------------------------------------------------------------------- reference models


class DigitCNNRef(nn.Module):
    """02_cnn_structure: the architecture the students are asked for."""

    def __init__(self, in_channels=1, num_classes=10, image_size=8):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        n_flat = 32 * (image_size // 4) ** 2
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(n_flat, 64), nn.ReLU(), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def make_digit_model_ref(num_classes=10, image_size=8):
    """03_image_classification: the same model the notebook's locked cell builds."""
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * (image_size // 4) ** 2, num_classes),
    )


def vgg_block_ref(in_channels, out_channels, num_convs):
    layers = []
    for i in range(num_convs):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1, bias=False),
                   nn.BatchNorm2d(out_channels), nn.ReLU()]
    return nn.Sequential(*layers, nn.MaxPool2d(2, 2))


class ResidualBlockRef(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + self.shortcut(x))


class SmallResNetRef(nn.Module):
    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(ResidualBlockRef(16, 16), ResidualBlockRef(16, 32, 2), ResidualBlockRef(32, 64, 2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


@pytest.fixture
def ref():
    return SimpleNamespace(DigitCNN=DigitCNNRef, make_digit_model=make_digit_model_ref, vgg_block=vgg_block_ref,
                           ResidualBlock=ResidualBlockRef, SmallResNet=SmallResNetRef)


# ---------------------------------------------------------------------------- data

_DIGITS = {}


@pytest.fixture
def digits():
    """load_digits split as in the notebook, standardised here with the training statistics.

    Returns (X_train, y_train, X_test, y_test) as CPU tensors; y_test never leaves this process.
    """
    if not _DIGITS:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        data = load_digits()
        X = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1)
        y = torch.tensor(data.target, dtype=torch.int64)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
        mean = X_train.mean(dim=(0, 2, 3), keepdim=True)
        std = X_train.std(dim=(0, 2, 3), keepdim=True)
        _DIGITS["split"] = ((X_train - mean) / std, y_train, (X_test - mean) / std, y_test)
    return _DIGITS["split"]


_TRAINED = {}


@pytest.fixture
def trained_digit_state(digits):
    """A state dict for make_digit_model: trained here (3 epochs), then its batch norms re-parametrised.

    The re-parametrisation keeps the model's function in evaluation mode exactly (running variance
    times c², weight times c, running mean and bias shifted together) but changes it in training
    mode, where batch statistics replace the running ones: there the activations are scaled by c and
    shifted, and most predictions change. So a predict() that forgets model.eval() gives visibly
    different labels, while in eval mode the model is an ordinary ~97 % accurate classifier.
    """
    if not _TRAINED:
        X_train, y_train, _, _ = digits
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = make_digit_model_ref()
            optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
            model.train()
            for _ in range(3):
                order = torch.randperm(len(X_train))
                for start in range(0, len(X_train), 32):
                    idx = order[start:start + 32]
                    optimizer.zero_grad()
                    nn.functional.cross_entropy(model(X_train[idx]), y_train[idx]).backward()
                    optimizer.step()
        c, shift = 0.5, 3.0
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, nn.BatchNorm2d):
                    sd = (module.running_var + module.eps).sqrt()
                    module.running_var.copy_(c * c * sd * sd - module.eps)
                    module.weight.mul_(c)
                    module.running_mean.add_(shift * sd)
                    module.bias.add_(module.weight * shift / c)
        _TRAINED["state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return _TRAINED["state"]
