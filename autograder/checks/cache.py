"""Reference work done once per grading process, not once per submission.

pytest imports a chapter's ``conftest.py`` and check modules afresh for every submission (each is its own
``pytest.main``), so a module-level dict there is empty again for every student: a reference CNN would be retrained
and a dataset reloaded for each one. What does not depend on the student (datasets, trained references, expected
outputs) goes through :func:`per_process` instead; its store lives in this module, which stays imported for the
life of the grading process::

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
whether a value was computed or reused.
"""
from __future__ import annotations

import copy as _copy
import functools
import hashlib
from pathlib import Path
from typing import Callable, TypeVar

from autograder import timing

__all__ = ["per_process", "clear"]

T = TypeVar("T")

_STORE: dict[tuple, object] = {}


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
                    _STORE[key] = func(*args, **kwargs)
                value = _STORE[key]
                return _copy.deepcopy(value) if copy else value

        cached.uncached = func
        return cached

    return decorate(fn) if fn is not None else decorate


def clear():
    """Forget every stored value (tests)."""
    _STORE.clear()
