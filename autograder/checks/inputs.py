"""Inputs a task text allows but a quick test never tries: tensors on the grading device, non-contiguous views,
and inputs the student's function must leave unchanged.

``student.call(f, x)`` sends ``x`` by value: a fresh, contiguous CPU tensor in the worker. To try what a caller may
really pass, put the tensor in the worker first and hand the function the handle::

    from autograder.checks.inputs import put_noncontiguous, expect_follows_input_device, expect_unchanged

    h = put_noncontiguous(student, x)                          # same values, a strided view (x.T-like)
    out = call(student, "relu", h)
    info = expect_follows_input_device(student, "relu", x, what="relu(x)")  # x on the (simulated) GPU

    h = student.put(x.clone())
    out = call(student, "softmax", h)
    expect_close(out, want)                                    # a valid result first ...
    expect_unchanged(student, h, x, what="softmax")            # ... then the input must be intact

An "input unchanged" check must only pay for a function that also returned a valid result: call
:func:`expect_unchanged` after the result was checked, never alone.
"""
from __future__ import annotations

import torch

from autograder.checks import describe_value, fail
from autograder.checks.messages import error_text, explain_error, student_line
from autograder.device import DeviceSimulationUnsupported, device_words, simulation_gap, check_device, contexts_for
from autograder.session import StudentCodeError

__all__ = ["put_noncontiguous", "put_on_device", "expect_unchanged", "call_with_inputs_on_device", "expect_follows_input_device",
           "CREATE_ON_INPUT_DEVICE"]

CREATE_ON_INPUT_DEVICE = ("Fonksiyonun içinde oluşturduğunuz tensörler girdinin cihazında olmalı: "
                          "`torch.zeros(x.shape)` / `torch.ones(x.shape)` CPU'da oluşturulur; bunların yerine "
                          "`torch.zeros_like(x)` / `torch.ones_like(x)` kullanın ya da `device=x.device` verin.")


def put_noncontiguous(student, x: torch.Tensor):
    """A handle to a non-contiguous tensor in the worker with the values, shape and dtype of ``x``.

    2-D and more: the transpose of a contiguous tensor (``base.transpose(-1, -2)``), on which ``.view(-1)`` fails
    as on ``x.T`` while ``.reshape(-1)`` works. 1-D: every other element of a tensor twice as long.
    """
    x = torch.as_tensor(x)
    if x.dim() == 0:
        raise ValueError("a 0-d tensor is always contiguous")
    if x.dim() == 1 or x.shape[-1] == 1 or x.shape[-2] == 1:
        base = torch.zeros(*x.shape[:-1], 2 * x.shape[-1], dtype=x.dtype)
        base[..., ::2] = x
        base[..., 1::2] = x  # filler between the elements of the view
        handle = student.put(base)
        return student.call_method(handle, "__getitem__", (Ellipsis, slice(None, None, 2)), keep=True)
    handle = student.put(x.transpose(-1, -2).contiguous())
    return student.call_method(handle, "transpose", -1, -2, keep=True)


def put_on_device(student, x: torch.Tensor, device=None):
    """A handle to a copy of ``x`` on ``device`` in the worker (default :func:`check_device`: meta on a CPU grader)."""
    device = check_device() if device is None else torch.device(device)
    handle = student.put(torch.as_tensor(x))
    return student.call_method(handle, "to", device, keep=True)


def expect_unchanged(student, handle, original, what: str = "fonksiyon", message: str = ""):
    """Fail unless the worker's object behind ``handle`` still equals ``original`` (a tensor or array).

    Call it after the function's result was checked: by itself it would pay for a function that does nothing.
    """
    now = student.get(handle)
    same = False
    try:
        if isinstance(original, torch.Tensor):
            same = isinstance(now, torch.Tensor) and now.shape == original.shape and now.dtype == original.dtype \
                and torch.equal(now, original)
        else:
            import numpy as np

            same = isinstance(now, np.ndarray) and now.shape == np.shape(original) and \
                np.array_equal(now, original) and now.dtype == np.asarray(original).dtype
    except (TypeError, ValueError, RuntimeError):
        same = False
    if not same:
        fail(message or (f"{what} verilen girdiyi değiştirdi: `x -= ...`, `x *= ...`, `x[...] = ...` ya da "
                         "`x.clamp_(...)` gibi yerinde (in-place) işlemler çağıranın verisini bozar; yeni bir tensör "
                         "üretin (ör. `x = x - m`)."))


def call_with_inputs_on_device(student, fn, *tensors, device=None, what: str | None = None,
                               hint: str = CREATE_ON_INPUT_DEVICE, device_errors=(), **kwargs):
    """Call ``fn`` with ``tensors`` moved to ``device`` (default: the simulated GPU); the result's handle.

    A device error (or an error whose message holds one of ``device_errors``) names the student's line and says
    ``hint``; other errors are explained in Turkish; an op the meta simulation cannot run raises
    :class:`~autograder.device.DeviceSimulationUnsupported` (the caller skips or reruns on the CPU).
    """
    from autograder.device import explain_device_error

    device = check_device() if device is None else torch.device(device)
    name = what or (f"{fn}(...)" if isinstance(fn, str) else "fonksiyon")
    inputs = "girdiler" if len(tensors) > 1 else "girdi"
    handles = [put_on_device(student, t, device) for t in tensors]
    try:
        return student.call(fn, *handles, keep=True, contexts=contexts_for(device), **kwargs)
    except StudentCodeError as error:
        if error.type == "NotImplementedError" and not simulation_gap(error):
            raise
        if explain_device_error(error.type, error.message) or any(text in error.message for text in device_errors):
            fail(f"{name}: {inputs} {device_words(device)} üzerindeyken hata verdi{student_line(error.traceback)}. "
                 f"{hint}")
        if device.type == "meta" and simulation_gap(error):
            raise DeviceSimulationUnsupported(f"{name}: {error.type}: {error.message[:300]}") from None
        fail(error_text(f"{name} ({inputs} {device_words(device)} üzerindeyken)", error,
                        "" if explain_error(error.type, error.message) else hint))


def expect_follows_input_device(student, fn, *tensors, device=None, what: str | None = None,
                                hint: str = CREATE_ON_INPUT_DEVICE, **kwargs) -> dict:
    """Call ``fn`` with ``tensors`` moved to ``device`` (default: the simulated GPU) and require that the result is
    a tensor on that device; returns its description (``shape``, ``dtype``, ``device``, ``requires_grad``).

    Errors as in :func:`call_with_inputs_on_device`.
    """
    device = check_device() if device is None else torch.device(device)
    name = what or (f"{fn}(...)" if isinstance(fn, str) else "fonksiyon")
    out = call_with_inputs_on_device(student, fn, *tensors, device=device, what=name, hint=hint, **kwargs)
    info = student.describe(out)
    tensor = info.get("tensor")
    if tensor is None:
        fail(f"{name}: bir tensör döndürmeliydi, ama {describe_value(student.get(out)) if not info.get('module') else 'bir model'} "
             "geldi.")
    actual = torch.device(tensor["device"]) if tensor.get("device") else None
    if actual is None or actual.type != device.type:
        fail(f"{name}: girdi {device_words(device)} üzerindeyken sonuç `{tensor.get('device')}` cihazında geldi; "
             f"sonuç girdiyle aynı cihazda olmalı. {hint}")
    return tensor
