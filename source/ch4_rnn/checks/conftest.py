"""Shared reference code for the chapter 4 hidden checks (trusted process only).

Test modules cannot import this file by name (--import-mode=importlib), so what they share is offered as
fixtures: the reference split of the sunspots series, a reader for a student's module parameters and a small
toolkit for running student code on the check device (meta without a GPU, else the GPU).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from autograder.checks import Handle, fail
from autograder.device import (DeviceSimulationUnsupported, check_device, expect_no_hardcoded_device,
                               run_on_device)

#: The forecasting set-up of 03_forecasting: window of 12 years, the last 62 years (1947-2008) held out.
WINDOW = 12
N_TEST = 62


@functools.lru_cache(maxsize=None)
def _sunspots() -> np.ndarray:
    from statsmodels.datasets import sunspots

    return sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=np.float64)


def reference_windows(series, window, horizon=1):
    s = np.asarray(series, dtype=np.float64)
    m = len(s) - window - horizon + 1
    X = np.stack([s[i:i + window] for i in range(m)])
    y = s[window + horizon - 1:window + horizon - 1 + m].copy()
    return X, y


def reference_prepare(series, window, n_test, *, scale_on_all=False):
    """The correct chronological split (``scale_on_all`` builds the leaky variant, to name it)."""
    s = np.asarray(series, dtype=np.float64)
    stats_from = s if scale_on_all else s[:len(s) - n_test]
    mean, std = float(stats_from.mean()), float(stats_from.std())
    X, y = reference_windows((s - mean) / std, window)
    return X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:], (mean, std)


class Split:
    """The reference split of the sunspots series; ``actual`` (the held-out tail) stays in this process."""

    def __init__(self):
        self.series = _sunspots()
        self.X_train, self.y_train, self.X_test, y_test, (self.mean, self.std) = \
            reference_prepare(self.series, WINDOW, N_TEST)
        self.actual = self.series[-N_TEST:]
        assert np.allclose(y_test * self.std + self.mean, self.actual)
        self.naive_rmse = self.rmse(self.X_test[:, -1])

    def rmse(self, scaled_predictions) -> float:
        pred = np.asarray(scaled_predictions, dtype=np.float64) * self.std + self.mean
        return float(np.sqrt(np.mean((pred - self.actual) ** 2)))


@pytest.fixture
def sunspots_split() -> Split:
    return Split()


@pytest.fixture
def series_data():
    return _sunspots()


@pytest.fixture
def reference():
    """Reference helpers: ``reference.windows(...)``, ``reference.prepare(...)``."""
    class Reference:
        windows = staticmethod(reference_windows)
        prepare = staticmethod(reference_prepare)
    return Reference


def _params_of(student, model: Handle, what: str) -> dict[str, np.ndarray]:
    info = student.describe(model)
    if not info.get("module"):
        fail(f"{what}: bir nn.Module bekleniyordu, ama {info.get('type', '?')} geldi.")
    out = {}
    for name, _shape, _device, _dtype in info.get("parameters", []):
        out[name] = np.asarray(student.get(model, name).detach().to(torch.float64).numpy())
    return out


@pytest.fixture
def params_of():
    """params_of(student, model_handle, what) -> {parameter name: float64 array}, read from the worker."""
    return _params_of


class DeviceKit:
    """Running student code on the check device and looking at what it returned, through handles.

    Values are looked at through ``describe`` (not by value): a tensor decoded by value always arrives on the
    CPU, so only a handle tells where it really lives.
    """

    @property
    def device(self) -> torch.device:
        return check_device()

    def put(self, student, *tensors):
        """Handles to copies of CPU tensors, moved to the check device in the worker."""
        dev = self.device
        return [student.call_method(student.put(t), "to", dev, keep=True) for t in tensors]

    @staticmethod
    def items(student, handle, n: int, what: str) -> list:
        info = student.describe(handle)
        if info.get("type") not in ("tuple", "list"):
            fail(f"{what}: {n} ögeli bir demet (tuple) bekleniyordu, ama {info.get('type', '?')} geldi.")
        length = student.call_method(handle, "__len__")
        if length != n:
            fail(f"{what}: {n} ögeli bir demet (tuple) bekleniyordu, ama {length} ögeli geldi.")
        return [student.call_method(handle, "__getitem__", i, keep=True) for i in range(n)]

    @staticmethod
    def simulation_gap(failure: Exception) -> bool:
        """Whether a failed device run hit an op the meta simulation cannot run (not a device bug)."""
        return isinstance(failure, DeviceSimulationUnsupported)

    @staticmethod
    def run(student, fn, *args, model=None, what: str, **kwargs):
        """:func:`run_on_device` (``device=`` added)."""
        return run_on_device(student, fn, *args, what=what, **kwargs)

    @staticmethod
    def no_hardcoded_cuda(student, names):
        """Fail if the definitions (functions, classes) called ``names`` hard-code CUDA (only reading finds it)."""
        expect_no_hardcoded_device(student, names)

    def expect_tensor_here(self, student, handle, shape, what: str):
        """Fail unless ``handle`` is a tensor of ``shape`` on the check device."""
        info = student.describe(handle)
        if "tensor" not in info:
            fail(f"{what}: bir tensör bekleniyordu, ama {info.get('type', '?')} geldi.")
        got_shape = tuple(info["tensor"]["shape"])
        if got_shape != tuple(shape):
            fail(f"{what}: şekil {tuple(shape)} olmalıydı, ama {got_shape} geldi.")
        actual = torch.device(info["tensor"]["device"])
        dev = self.device
        if actual.type != dev.type:
            where = "hedef cihaz (notlandırmada GPU `meta` cihazıyla taklit ediliyor)" if dev.type == "meta" \
                else f"GPU (`{dev}`)"
            fail(f"{what}: sonuç {where} üzerinde olmalıydı, ama `{actual}` cihazında. Yeni tensörleri girdinin "
                 "cihazında oluşturun (`torch.zeros(..., device=x.device)` ya da `device=device`); `torch.zeros(...)` "
                 "cihaz verilmezse CPU'da oluşturur.")


@pytest.fixture
def device_kit() -> DeviceKit:
    return DeviceKit()
