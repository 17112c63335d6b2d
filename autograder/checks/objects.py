"""Objects a check builds in the worker, and the student's modules read back through handles.

Checks never send their expected values to the worker, but they often need objects there: a model built with the
notebook's own ``torch`` to hand to the student's ``train`` function, a tensor moved to the check device, the
student's model's parameters set to known values. Everything here goes through the worker protocol
(:class:`autograder.session.Student`); nothing of the student's is trusted beyond the values it returns::

    from autograder.checks.objects import random_params, reference_sequential, worker_sequential

    layers = [("Linear", 4, 8), ("ReLU",), ("Linear", 8, 1)]
    params = random_params(layers, np.random.default_rng(0))
    model = worker_sequential(student, layers, params)      # a Handle, in the worker
    expected = reference_sequential(layers, params)          # the same model here, float64

A layer is ``(class name in torch.nn, *positional arguments)``, with an optional last ``dict`` of keyword
arguments: ``("Conv2d", 1, 8, 3, {"padding": 1})``.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from autograder.checks import Handle, call, call_method, fail
from autograder.session import StudentCodeError
from autograder.wire.names import OP_COUNTS_GLOBAL

__all__ = ["torch_object", "to_worker", "split_layer", "worker_sequential", "reference_sequential", "random_params",
           "module_info", "param_shapes", "n_params", "fill_by_shape", "fetch_state", "parameter_arrays",
           "tuple_items", "op_counts", "notebook_global"]

_TORCH_BROKEN = ("defterin ilk hücresindeki `import torch` değiştirilmemeli, `torch` adına başka bir değer "
                 "atanmamalı.")


def torch_object(student, dotted: str, *args, **kwargs) -> Handle:
    """``torch.<dotted>(*args, **kwargs)`` built in the worker with the notebook's own ``torch``."""
    try:
        return student.call_method("torch", dotted, *args, keep=True, **kwargs)
    except StudentCodeError as exc:
        fail(f"Kontrol için torch.{dotted} oluşturulamadı ({exc.type}: {exc.message[:200]}); {_TORCH_BROKEN}")


def to_worker(student, value, device=None) -> Handle:
    """A copy of ``value`` in the worker, moved to ``device`` there (meta tensors cannot travel, so they are made
    there)."""
    handle = student.put(value)
    if device is not None:
        handle = student.call_method(handle, "to", torch.device(device), keep=True)
    return handle


def split_layer(layer) -> tuple[str, tuple, dict]:
    """``("Conv2d", 1, 8, 3, {"padding": 1})`` -> ``("Conv2d", (1, 8, 3), {"padding": 1})``."""
    name, *args = layer
    kwargs = args.pop() if args and isinstance(args[-1], dict) else {}
    return name, tuple(args), dict(kwargs)


def worker_sequential(student, layers, params=None) -> Handle:
    """``nn.Sequential`` of ``layers`` built in the worker; a Handle.

    ``params`` (tensors in parameter order) are copied in when given; otherwise the worker's (seeded) default
    initialisation is kept.
    """
    modules = []
    for layer in layers:
        name, args, kwargs = split_layer(layer)
        modules.append(torch_object(student, f"nn.{name}", *args, **kwargs))
    model = torch_object(student, "nn.Sequential", *modules)
    if params is not None:
        names = [entry[0] for entry in student.describe(model)["parameters"]]
        for name, value in zip(names, params):
            call_method(student, model, f"{name}.data.copy_", value)
    return model


def reference_sequential(layers, params=None, dtype=torch.float64) -> torch.nn.Sequential:
    """The same model here, in the trusted process (float64 by default; ``dtype=None`` keeps float32)."""
    modules = []
    for layer in layers:
        name, args, kwargs = split_layer(layer)
        modules.append(getattr(torch.nn, name)(*args, **kwargs))
    model = torch.nn.Sequential(*modules)
    if dtype is not None:
        model = model.to(dtype)
    if params is not None:
        with torch.no_grad():
            for p, value in zip(model.parameters(), params):
                p.copy_(value.to(p.dtype))
    return model


def random_params(layers, rng: np.random.Generator) -> list[torch.Tensor]:
    """float32 parameters for the Linear and BatchNorm layers of ``layers``, in parameter order."""
    params = []
    for layer in layers:
        name, args, _ = split_layer(layer)
        if name == "Linear":
            n_in, n_out = args[:2]
            bound = 1.0 / np.sqrt(n_in)
            params.append(torch.tensor(rng.uniform(-bound, bound, size=(n_out, n_in)), dtype=torch.float32))
            params.append(torch.tensor(rng.uniform(-bound, bound, size=(n_out,)), dtype=torch.float32))
        elif name.startswith("BatchNorm"):
            params.append(torch.tensor(rng.uniform(0.5, 1.5, size=(args[0],)), dtype=torch.float32))
            params.append(torch.tensor(rng.normal(size=(args[0],)) * 0.3, dtype=torch.float32))
    return params


# ---------------------------------------------------------------------- the student's modules

def module_info(student, handle, what: str) -> dict:
    """``student.describe(handle)``, failing with a Turkish message unless it is an ``nn.Module``."""
    info = student.describe(handle)
    if not info.get("module"):
        fail(f"{what}: bir nn.Module bekleniyordu, ama {info.get('type', '?')} geldi.")
    return info


def param_shapes(info: dict) -> list[tuple]:
    """The shapes of a described module's parameters, sorted (independent of names and order)."""
    return sorted(tuple(int(s) for s in shape) for _, shape, _, _ in info.get("parameters", []))


def n_params(info: dict) -> int:
    """How many numbers a described module's parameters hold."""
    return int(sum(int(np.prod(shape)) for _, shape, _, _ in info.get("parameters", [])))


def fill_by_shape(student, handle, info: dict, reference: torch.nn.Module, seed: int, only_4d: bool = False,
                  scale: float = 0.3):
    """Give the student's module and ``reference`` the same parameters, matched by shape.

    Independent of the order and names of the student's layers: every parameter of a given shape gets the same
    values. The student's module is turned to float64 first; ``reference`` is changed in place (float64 after).
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


def fetch_state(student, handle, keys) -> dict[str, torch.Tensor]:
    """The student's module's tensors under these ``state_dict`` keys, read one by one."""
    state = {}
    for key in keys:
        value = student.get(handle, key)
        if not isinstance(value, torch.Tensor):
            fail(f"Modelin `{key}` değeri okunamadı ({type(value).__name__} geldi); model eğitim sırasında "
                 "değiştirilmemeli (katmanlar yeniden oluşturulmamalı).")
        state[key] = value
    return state


def parameter_arrays(student, model: Handle, what: str) -> dict[str, np.ndarray]:
    """``{parameter name: float64 array}`` of the student's module, in ``named_parameters()`` order."""
    info = module_info(student, model, what)
    return {name: np.asarray(student.get(model, name).detach().to(torch.float64).numpy())
            for name, _shape, _device, _dtype in info.get("parameters", [])}


def tuple_items(student, handle: Handle, n: int, what: str) -> list[Handle]:
    """Handles to the ``n`` items of a tuple/list the student returned (kept in the worker: their device and
    graph stay as they are); fails unless it is a tuple/list of ``n`` items."""
    info = student.describe(handle)
    if info.get("type") not in ("tuple", "list"):
        fail(f"{what}: {n} ögeli bir demet (tuple) bekleniyordu, ama {info.get('type', '?')} geldi.")
    length = student.call_method(handle, "__len__")
    if length != n:
        fail(f"{what}: {n} ögeli bir demet (tuple) bekleniyordu, ama {length} ögeli geldi.")
    return [student.call_method(handle, "__getitem__", i, keep=True) for i in range(n)]


def op_counts(student, fn, *args, **kwargs) -> dict[str, int]:
    """Call a student function under the ``count_ops`` context on the CPU; ``{op family: count}``."""
    call(student, fn, *args, contexts=["count_ops"], **kwargs)
    counts = student.get(OP_COUNTS_GLOBAL)
    if not isinstance(counts, dict):
        fail("İşlem sayıları okunamadı (notlandırıcının değişkeni değiştirilmiş).")
    total: dict[str, int] = {}
    for families in counts.values():
        for family, n in dict(families).items():
            total[family] = total.get(family, 0) + int(n)
    return total


@contextlib.contextmanager
def notebook_global(student, owner: str, name: str, value):
    """Give the notebook's global ``name`` the value ``value`` (e.g. ``device`` = the simulated GPU) while the
    block runs, and restore it afterwards.

    ``owner`` is a function or class the student defined in the notebook (its globals are the notebook's): a
    constructor that reads the notebook's ``device`` instead of leaving the device to its caller behaves there as
    it would on a machine with a GPU.
    """
    path = "__init__.__globals__" if student.describe(owner).get("type") == "type" else "__globals__"
    try:
        namespace = student.get(owner, path, keep=True)
        ours = student.call_method(namespace, "get", "__name__") == "__main__"
    except StudentCodeError:
        ours = False
    if not ours:  # e.g. a class without its own __init__: its globals are not the notebook's; change nothing
        yield
        return
    had = bool(student.call_method(namespace, "__contains__", name))
    old = student.call_method(namespace, "get", name, keep=True) if had else None
    student.call_method(namespace, "__setitem__", name, value)
    try:
        yield
    finally:
        if had:
            student.call_method(namespace, "__setitem__", name, old)
        else:
            student.call_method(namespace, "pop", name, None)
