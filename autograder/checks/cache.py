"""Reference work done once per grading process, not once per submission.

A grading process collects the hidden suite once and runs it for every submission, setting its fixtures up afresh
for each one, so a reference built in a fixture (a trained CNN, a loaded dataset) would be built again for every
student. What does not depend on the student (datasets, trained references, expected outputs) goes through
:func:`per_process` instead; its store lives in this module, which stays imported for the life of the grading
process, and each caller gets its own copy (a module-level dict in a check file would hand every student the same
object, changed by whoever changed it last)::

    from autograder.checks.cache import per_process

    @per_process
    def trained_reference(seed: int = 0) -> dict:
        ...  # seconds of training, same result every time
        return state_dict

    state = trained_reference(0)   # computed by the first submission, copied for every later one

Results are keyed by the function's file, its qualified name, a hash of that file's text (an edited check file is
computed again) and the arguments (which must be hashable). Each call returns a deep copy, so a check that changes
what it got (``model.double()``, an in-place op) never changes what the next student is checked against; pass
``copy=False`` to the decorator for large read-only values. Computation should be deterministic and leave global
random state alone (use ``torch.Generator`` or ``torch.random.fork_rng()``): then grades are byte-identical
whether a value was computed or reused. The global random generators (torch's CPU generator, numpy's, Python's)
are put back as they were after each computation, so a reference that draws from them does not shift the
student's random streams, whichever submission happens to compute it.

Across grading processes and runs: :func:`use_folder` (``autograder grade`` points it at ``<out>/.cache/reference``)
also keeps each value on disk, keyed by the same identity plus the torch and numpy versions (a course version): the
first process to need it computes it while the others wait for it, and a later run reads it back. Values made of
tensors, numpy arrays, numbers, strings, None, tuples, lists and dicts with string keys are stored, as a safetensors
file whose header holds the structure as JSON (nothing is pickled); anything else stays in memory only.
"""
from __future__ import annotations

import contextlib
import copy as _copy
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, TypeVar

from autograder import timing

__all__ = ["per_process", "clear", "use_folder"]

T = TypeVar("T")

_STORE: dict[tuple, object] = {}
_FOLDER: list[Path] = []  # where values are also kept on disk (empty: memory only)


def use_folder(folder: Path | None):
    """Keep reference values under ``folder`` too (shared by grading processes, kept between runs); None: only in
    this process's memory."""
    _FOLDER[:] = [Path(folder)] if folder is not None else []


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


def per_process(fn: Callable[..., T] | None = None, *, copy: bool = True):
    """Decorator: ``fn(*args, **kwargs)`` computed once per grading process for each distinct argument set."""

    def decorate(func):
        code = func.__code__
        identity = (code.co_filename, func.__qualname__, _file_digest(code.co_filename))

        @functools.wraps(func)
        def cached(*args, **kwargs):
            key = identity + (args, tuple(sorted(kwargs.items())))
            with timing.measure("reference"):
                if key not in _STORE:
                    _STORE[key] = _computed_or_stored(key, lambda: func(*args, **kwargs))
                value = _STORE[key]
                return _copy.deepcopy(value) if copy else value

        cached.uncached = func
        return cached

    return decorate(fn) if fn is not None else decorate


def _computed_or_stored(key: tuple, compute: Callable[[], T]) -> T:
    if not _FOLDER:
        return _keeping_random_state(compute)
    folder = _FOLDER[0]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(repr((key, _versions())).encode()).hexdigest()[:32]
        lock = open(folder / f"{name}.lock", "a")
    except OSError:
        return _keeping_random_state(compute)  # an unwritable folder costs the speed-up, not the grade
    import fcntl

    path = folder / f"{name}.safetensors"
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first process to get here computes; the others wait, then read
        stored = _read(path)
        if stored is not _MISSING:
            return stored
        value = _keeping_random_state(compute)
        _write(path, value)
        return value


def _keeping_random_state(compute: Callable[[], T]) -> T:
    import random

    import numpy as np
    import torch

    states = torch.random.get_rng_state(), np.random.get_state(), random.getstate()
    try:
        return compute()
    finally:
        torch.random.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[str, str]:
    import numpy as np
    import torch

    return torch.__version__, np.__version__


_MISSING = object()


class _NotStorable(Exception):
    pass


def _encode(value, tensors: dict):
    import numpy as np
    import torch

    if value is None or type(value) in (bool, int, float, str):
        return ["value", value]
    if type(value) in (tuple, list):
        return [type(value).__name__, [_encode(v, tensors) for v in value]]
    if type(value) is dict and all(type(k) is str for k in value):
        return ["dict", [[k, _encode(v, tensors)] for k, v in value.items()]]
    name = f"t{len(tensors)}"
    if type(value) is torch.Tensor and value.layout == torch.strided and value.device.type == "cpu" \
            and not value.requires_grad and value.is_contiguous():
        tensors[name] = value
        return ["tensor", name]
    if type(value) is np.ndarray and value.dtype.kind in "biuf" and value.flags.c_contiguous:
        tensors[name] = torch.from_numpy(value)
        return ["ndarray", name]
    raise _NotStorable(type(value).__name__)


def _decode(node, tensors: dict):
    kind, data = node
    if kind == "value":
        return data
    if kind in ("tuple", "list"):
        items = [_decode(v, tensors) for v in data]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: _decode(v, tensors) for k, v in data}
    if kind == "tensor":
        return tensors[data]
    if kind == "ndarray":
        return tensors[data].numpy()
    raise ValueError(kind)


def _write(path: Path, value):
    from safetensors.torch import save

    tensors: dict = {}
    try:
        skeleton = json.dumps(_encode(value, tensors))
        blob = save(tensors, metadata={"autograder-reference": skeleton})
    except (_NotStorable, ValueError, RuntimeError, TypeError):
        return  # shared memory between tensors, an unusual type: kept in memory only
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _read(path: Path):
    from safetensors import safe_open

    if not path.exists():
        return _MISSING
    try:
        with safe_open(str(path), framework="pt") as fh:
            skeleton = json.loads(fh.metadata()["autograder-reference"])
            tensors = {name: fh.get_tensor(name) for name in fh.keys()}
        return _decode(skeleton, tensors)
    except Exception:  # noqa: BLE001 - a damaged or foreign file: computed again and written over
        return _MISSING


def clear():
    """Forget every stored value (tests)."""
    _STORE.clear()
