"""Helpers for hidden check suites: one place, used by every chapter.

A hidden check is a pytest test in ``source/<assignment>/checks/`` that takes
the ``student`` fixture (a :class:`autograder.session.Student`) and is marked
with the grade cell it counts towards::

    from autograder.checks import grade, expect_close

    @grade("perceptron_predict", weight=2)
    def test_step_at_zero_is_zero(student):
        out = student.call("predict", X, w)
        expect_close(out, [0, 1, 0], what="predict(X, w)")

Checks run in the trusted process: expected values are computed here and never
sent to the worker. Failure messages are for students, so they are Turkish;
they say what was wrong and hint at the fix.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pytest

from autograder.wire.protocol import Handle, MetaTensorInfo
from autograder.session import StudentCodeError, WorkerLost

__all__ = [
    "grade", "CheckFailed", "fail", "rel_error", "as_array", "expect", "expect_close", "expect_equal",
    "expect_shape", "expect_dtype", "expect_tensor", "expect_ndarray", "expect_number", "describe_value",
    "StudentCodeError", "WorkerLost", "Handle", "call", "call_method", "close",
]


def grade(grade_id: str, weight: float = 1.0):
    """Mark a check as counting towards nbgrader grade cell ``grade_id`` with ``weight``."""
    if weight <= 0:
        raise ValueError("weight must be positive")
    return pytest.mark.grade(grade_id, weight=float(weight))


class CheckFailed(AssertionError):
    """A check found the student's answer wrong; the message is shown to the student."""


def fail(message: str):
    raise CheckFailed(message)


def expect(condition: bool, message: str):
    if not condition:
        raise CheckFailed(message)


# ---------------------------------------------------------------------- describing values

def describe_value(value) -> str:
    """A short Turkish description of what a student returned."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
    if value is None:
        return "None (fonksiyon bir şey döndürmüyor; `return` unutulmuş olabilir)"
    if isinstance(value, Handle):
        return f"{value.type} türünde bir nesne"
    if isinstance(value, MetaTensorInfo):
        return f"{value.device} cihazında {tuple(value.shape)} şekilli bir tensör"
    if torch is not None and isinstance(value, torch.Tensor):
        return f"{tuple(value.shape)} şekilli, {str(value.dtype).removeprefix('torch.')} türünde bir tensör"
    if isinstance(value, np.ndarray):
        return f"{value.shape} şekilli, {value.dtype} türünde bir NumPy dizisi"
    if isinstance(value, (bool, int, float, np.generic)):
        return f"{type(value).__name__} türünde {value!r}"
    if isinstance(value, (list, tuple)):
        return f"{len(value)} ögeli bir {type(value).__name__}"
    return f"{type(value).__name__} türünde bir değer"


def _is_tensor(value) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, torch.Tensor)


#: The most elements a check converts to float64 for a comparison: far above any expected value of the course,
#: far below what would strain the trusted process (a student decides what size comes back).
MAX_COMPARE_ELEMENTS = 1 << 22


def _raw_shape(value):
    """The shape of an array or tensor without converting it, else None."""
    if isinstance(value, np.ndarray) or _is_tensor(value):
        return tuple(value.shape)
    return None


def as_array(value, what: str = "sonuç") -> np.ndarray:
    """The value as a float64/complex numpy array, or a friendly failure.

    Accepts numpy arrays, CPU tensors (as decoded from the worker), numbers and
    (nested) lists of numbers. Sizes are checked before anything is converted.
    """
    if isinstance(value, (Handle, MetaTensorInfo)) or value is None:
        fail(f"{what}: sayısal bir dizi bekleniyordu, ama {describe_value(value)} geldi.")
    shape = _raw_shape(value)
    if shape is not None and math.prod(shape) > MAX_COMPARE_ELEMENTS:
        fail(f"{what}: {shape} şekilli, beklenenden çok büyük bir sonuç geldi.")
    if _is_tensor(value):
        value = value.detach().to("cpu")
        if value.dtype.is_complex:
            return value.numpy().astype(np.complex128)
        return value.to(dtype=__import__("torch").float64).numpy()
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001
        fail(f"{what}: sayısal bir dizi bekleniyordu, ama {describe_value(value)} geldi.")
    if arr.dtype.kind not in "biufc":
        fail(f"{what}: sayısal bir dizi bekleniyordu, ama {describe_value(value)} geldi.")
    return arr.astype(np.complex128 if arr.dtype.kind == "c" else np.float64)


def rel_error(got, expected) -> float:
    """max |got - expected| / max(max |expected|, 1e-12), in float64; inf on NaN or shape mismatch."""
    e = as_array(expected, "beklenen")
    shape = _raw_shape(got)
    if shape is not None and shape != e.shape:
        return math.inf  # before converting what the student sent
    g = as_array(got)
    if g.shape != e.shape:
        return math.inf
    if g.size == 0:
        return 0.0
    if not np.all(np.isfinite(g)):
        return math.inf
    scale = max(float(np.max(np.abs(e))), 1e-12)
    return float(np.max(np.abs(g - e)) / scale)


def expect_shape(value, shape: Iterable[int], what: str = "sonuç"):
    shape = tuple(shape)
    got = tuple(getattr(value, "shape", None) or ()) if not isinstance(value, (list, tuple)) else np.shape(value)
    if isinstance(value, (Handle,)) or value is None:
        fail(f"{what}: {shape} şekilli bir dizi bekleniyordu, ama {describe_value(value)} geldi.")
    if tuple(got) != shape:
        hint = ""
        if len(got) == len(shape) + 1 and got[-1] == 1:
            hint = " Fazladan bir boyut var: `.squeeze(-1)` ya da `.view(-1)` işe yarayabilir."
        elif len(got) + 1 == len(shape) and shape[-1] == 1:
            # (n,) -> (n, 1): unsqueeze(-1) or reshape(-1, 1); () -> (1,): reshape(-1) (reshape(-1, 1) gives (1, 1))
            fix = "`.unsqueeze(-1)` ya da `reshape(-1, 1)`" if len(shape) >= 2 else "`.reshape(-1)`"
            hint = f" Bir boyut eksik: {fix} işe yarayabilir."
            if len(shape) == 1:
                hint += " (`.squeeze()` tek ögeli bir sonucu 0 boyutlu yapar.)"
        fail(f"{what}: şekil {shape} olmalıydı, ama {tuple(got)} geldi.{hint}")


def expect_tensor(value, what: str = "sonuç"):
    if not _is_tensor(value):
        fail(f"{what}: bir PyTorch tensörü (torch.Tensor) bekleniyordu, ama {describe_value(value)} geldi.")


def expect_ndarray(value, what: str = "sonuç"):
    if not isinstance(value, np.ndarray):
        fail(f"{what}: bir NumPy dizisi (np.ndarray) bekleniyordu, ama {describe_value(value)} geldi.")


def expect_number(value, what: str = "sonuç") -> float:
    """A real number (Python or numpy scalar, or a one-element array/tensor) as float."""
    if isinstance(value, bool) or value is None or isinstance(value, (Handle, MetaTensorInfo)):
        fail(f"{what}: bir sayı bekleniyordu, ama {describe_value(value)} geldi.")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    arr = as_array(value, what)
    if arr.size != 1:
        fail(f"{what}: tek bir sayı bekleniyordu, ama {describe_value(value)} geldi.")
    return float(arr.reshape(()).real)


def expect_dtype(value, dtype, what: str = "sonuç"):
    """``dtype`` is a torch.dtype for tensors or a numpy dtype (or kind letter like 'f') for arrays."""
    if _is_tensor(value):
        if value.dtype != dtype:
            fail(f"{what}: veri türü (dtype) {str(dtype).removeprefix('torch.')} olmalıydı, ama "
                 f"{str(value.dtype).removeprefix('torch.')} geldi.")
        return
    if isinstance(value, np.ndarray):
        ok = value.dtype.kind == dtype if isinstance(dtype, str) and len(dtype) == 1 else value.dtype == np.dtype(dtype)
        if not ok:
            names = {"f": "ondalıklı (float)", "i": "tam sayı (int)", "b": "mantıksal (bool)"}
            want = names.get(dtype, str(dtype)) if isinstance(dtype, str) else str(np.dtype(dtype))
            fail(f"{what}: veri türü {want} olmalıydı, ama {value.dtype} geldi.")
        return
    fail(f"{what}: bir dizi bekleniyordu, ama {describe_value(value)} geldi.")


def expect_close(got, expected, *, tol: float = 1e-10, what: str = "sonuç", hint: str = "", mistakes=(),
                 mistake_tol: float | None = None, unique: bool = False):
    """Compare numerically in float64 with a relative error bound; check the shape first.

    ``mistakes``: ``(message, variant)`` pairs of known mistakes (see :mod:`autograder.checks.mistakes`), tried in
    order when ``got`` is not within ``tol``; the first one ``got`` matches (within ``mistake_tol``, default
    ``tol``) fails with ``"<what>: <message>"``; ``unique``: name a mistake only when no other one matches too.
    Without a match the failure is the usual comparison with ``hint``.
    """
    if mistakes and not close(got, expected, tol):
        from autograder.checks.mistakes import matching_mistake

        message = matching_mistake(got, mistakes, expected=expected, unique=unique,
                                   tol=tol if mistake_tol is None else mistake_tol)
        if message:
            fail(f"{what}: {message}")
    e = as_array(expected, "beklenen")
    shape = _raw_shape(got)
    if shape is not None and shape != e.shape:
        expect_shape(got, e.shape, what)  # before converting what the student sent
    g = as_array(got, what)
    if g.shape != e.shape:
        expect_shape(got, e.shape, what)
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
        fail(f"{what}: sonuçta NaN ya da sonsuz değerler var." + (f" {hint}" if hint else ""))
    err = rel_error(g, e)
    if err > tol:
        idx = np.unravel_index(int(np.argmax(np.abs(g - e))), e.shape) if e.ndim else ()
        where = f" (en büyük fark {tuple(int(i) for i in idx)} konumunda: {g[idx]:.6g} geldi, {e[idx]:.6g} bekleniyordu)" \
            if e.ndim else f" ({g.item():.6g} geldi, {e.item():.6g} bekleniyordu)"
        fail(f"{what}: değerler yanlış, bağıl hata {err:.2e} > {tol:.0e}{where}." + (f" {hint}" if hint else ""))


def expect_equal(got, expected, what: str = "sonuç", hint: str = ""):
    """Exact equality for labels, counts, shapes and other discrete answers."""
    if isinstance(expected, (list, tuple, np.ndarray)) or _is_tensor(expected):
        e = as_array(expected, "beklenen")
        shape = _raw_shape(got)
        if shape is not None and shape != e.shape:
            expect_shape(got, e.shape, what)
        g = as_array(got, what)
        if g.shape != e.shape:
            expect_shape(got, e.shape, what)
        if not np.array_equal(g, e):
            wrong = int(np.sum(g != e))
            fail(f"{what}: {e.size} değerden {wrong} tanesi yanlış." + (f" {hint}" if hint else ""))
        return
    if type(got) is not type(expected) and not (isinstance(got, (int, float, np.generic))
                                               and isinstance(expected, (int, float))):
        fail(f"{what}: {expected!r} bekleniyordu, ama {describe_value(got)} geldi." + (f" {hint}" if hint else ""))
    if got != expected:
        fail(f"{what}: {expected!r} bekleniyordu, ama {got!r} geldi." + (f" {hint}" if hint else ""))


# ---------------------------------------------------------------------- calling with a hint

def _raised(name: str, exc: StudentCodeError, hint: str):
    if exc.type == "NotImplementedError":
        raise exc  # the runtime says "not written yet"
    from autograder.checks.messages import error_text

    fail(error_text(name, exc, hint))


def call(student, fn, *args, hint: str = "", what: str | None = None, **kwargs):
    """``student.call`` that, when the student's code raises, fails with the error explained (a known
    PyTorch mistake) or with ``hint``, naming the student's line. ``what`` names the call in the message."""
    try:
        return student.call(fn, *args, **kwargs)
    except StudentCodeError as exc:
        _raised(what or (f"{fn}(...)" if isinstance(fn, str) else "model(...)"), exc, hint)


def call_method(student, obj, method: str, *args, hint: str = "", **kwargs):
    """``student.call_method`` with the same failure message as :func:`call`."""
    try:
        return student.call_method(obj, method, *args, **kwargs)
    except StudentCodeError as exc:
        _raised(f"{method}(...)", exc, hint)


def close(got, expected, tol: float = 1e-10) -> bool:
    """Whether ``got`` matches ``expected`` within ``tol`` relative error (False for a non-numeric answer)."""
    try:
        return rel_error(got, expected) <= tol
    except AssertionError:
        return False
