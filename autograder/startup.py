"""Start-up costs of the libraries every command imports, paid only when their feature is used.

torch imports ``torch._dynamo`` (the compiler's front end: ~2 s of imports, sympy and triton among them) the first
time any optimizer steps: ``Optimizer.step`` wraps its body in ``torch._dynamo.graph_break()`` calls and
``torch._disable_dynamo``, which ask for ``torch._dynamo.disable``. Outside ``torch.compile`` both do nothing:
``graph_break`` is an empty function and a disabled function is called as it is. :func:`defer_dynamo` puts a
stand-in in place that does exactly that until anything else of ``torch._dynamo`` is asked for (``torch.compile``,
one of its submodules, any other attribute); then the real module is imported and everything is handed to it.
torchvision imports ``torch._dynamo.utils.is_compile_supported`` as it is imported: that submodule is a stand-in too,
with that one function importing the real ones when it is called.
Grading processes and worker templates use it; what any code computes is unchanged.

nbformat validates notebooks with jsonschema, whose format checker imports ``rfc3987_syntax`` at import time for
the "iri" formats. That module builds some thirty Earley parsers with lark as it is imported: 1-3 s in every
process that reads a notebook, for a format no notebook schema uses (python-jsonschema/jsonschema#1428).
jsonschema binds ``is_valid_syntax`` when it is imported, so the module it finds is a stand-in whose
``is_valid_syntax`` (or any other attribute) imports the real module on first use: what is validated, and how,
is unchanged.

Python's cycle collector walks every object a full collection finds alive: with torch, scikit-learn and matplotlib
imported that is half a million objects, ~0.4 s a collection here. A process collects in full now and then as it
allocates, again several times as it exits (~2 s at the end of every ``autograder grade``), and each walk writes to
every object's header, so a forked child copies the pages it shares with its parent. :func:`freeze_imports` moves
what is alive once the imports are done out of the collector's reach (``gc.freeze``), in the grading command
before it forks its grading processes and in each worker template before it forks workers. Nothing is freed
differently: modules, classes and functions live as long as the process anyway.

The imports themselves trigger collections too: importing torch, pandas (under statsmodels) and matplotlib
allocates so much that the collector runs some 600 young and 5 full collections on the way, walking the growing
heap each time (~0.8 s of a ~3.5 s import here, in every process that imports them). :func:`pause_collector`
stops it from the start of the heavy imports until :func:`freeze_imports`, which collects once, freezes and turns
it back on. The imports make almost no cyclic garbage: what they leave is collected by that one collection.
"""
from __future__ import annotations

import functools
import gc
import importlib
import importlib.util
import sys
import types

_IRI_MODULE = "rfc3987_syntax"
_DYNAMO_MODULE = "torch._dynamo"


class _DeferredModule(types.ModuleType):
    """Stands in for a module until one of its attributes is used, then gives way to the real one."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)  # the import system's own probes (``__path__``, ``__spec__``...)
        return getattr(_load_real(self), name)


def _load_real(stand_in: types.ModuleType) -> types.ModuleType:
    for sub in vars(stand_in).get("_deferred_submodules", {}).values():
        if sys.modules.get(sub.__name__) is sub:
            del sys.modules[sub.__name__]  # the real package imports the real submodule, never the stand-in
    if sys.modules.get(stand_in.__name__) is stand_in:
        del sys.modules[stand_in.__name__]
        parent, _, child = stand_in.__name__.rpartition(".")
        if parent and getattr(sys.modules.get(parent), child, None) is stand_in:
            delattr(sys.modules[parent], child)  # the real module's own import must not meet the stand-in
    return importlib.import_module(stand_in.__name__)


def defer_iri_grammar() -> None:
    """Put the stand-in for ``rfc3987_syntax`` in place, if it is installed and not imported yet."""
    if _IRI_MODULE in sys.modules:
        return
    try:
        if importlib.util.find_spec(_IRI_MODULE) is None:
            return
    except (ImportError, ValueError):
        return
    stand_in = _DeferredModule(_IRI_MODULE)

    def is_valid_syntax(term: str, value: str) -> bool:
        return _load_real(stand_in).is_valid_syntax(term, value)

    stand_in.is_valid_syntax = is_valid_syntax
    sys.modules[_IRI_MODULE] = stand_in


class _DeferredPackage(_DeferredModule):
    """A deferred package. Its ``__path__`` is the real one's, so that importing a submodule reaches
    :class:`_SubmoduleOfDeferred`, which imports the real package first."""


class _SubmoduleOfDeferred:
    """Import hook (first on ``sys.meta_path``): a submodule of a deferred package imports the real package first.

    The real package imports some of its submodules itself; one it did is handed over as it is, never executed a
    second time.
    """

    def __init__(self, stand_in: types.ModuleType):
        self.stand_in = stand_in

    def find_spec(self, name, path=None, target=None):
        if not name.startswith(self.stand_in.__name__ + "."):
            return None
        if sys.modules.get(self.stand_in.__name__) is self.stand_in:
            deferred = self.stand_in._deferred_submodules.get(name)
            if deferred is not None:
                return importlib.util.spec_from_loader(name, _AlreadyLoaded(deferred))
            _load_real(self.stand_in)
        module = sys.modules.get(name)
        if module is None:
            return None  # not imported by the package: found and loaded as usual
        return importlib.util.spec_from_loader(name, _AlreadyLoaded(module), is_package=hasattr(module, "__path__"))


class _AlreadyLoaded:
    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


def _deferred_submodule(package: types.ModuleType, name: str) -> types.ModuleType:
    """A stand-in for ``package.name``, given to an import of it while ``package`` is deferred; any attribute it
    does not have imports the real package, and so the real submodule."""
    sub = _DeferredSubmodule(f"{package.__name__}.{name}")
    sub._package = package
    package._deferred_submodules[sub.__name__] = sub
    return sub


class _DeferredSubmodule(_DeferredModule):
    def __getattr__(self, name):
        if name.startswith("__") or name == "_package":
            raise AttributeError(name)
        return getattr(_real_submodule(self._package, self), name)


def _real_submodule(package: types.ModuleType, sub: types.ModuleType) -> types.ModuleType:
    if sys.modules.get(package.__name__) is package:
        _load_real(package)  # removes the stand-in submodule first: the real package imports the real one
    if sys.modules.get(sub.__name__) is sub:
        del sys.modules[sub.__name__]
    return importlib.import_module(sub.__name__)


def _real_if_loaded(stand_in: types.ModuleType) -> types.ModuleType | None:
    module = sys.modules.get(stand_in.__name__)
    return None if module is None or module is stand_in else module


def defer_dynamo() -> None:
    """Put the stand-in for ``torch._dynamo`` in place (after ``import torch``), if torch is imported and
    ``torch._dynamo`` is not."""
    torch = sys.modules.get("torch")
    if torch is None or _DYNAMO_MODULE in sys.modules or "_dynamo" in vars(torch):
        return
    try:
        spec = importlib.util.find_spec(_DYNAMO_MODULE)
    except (ImportError, ValueError):
        return
    if spec is None or not spec.submodule_search_locations:
        return
    stand_in = _DeferredPackage(_DYNAMO_MODULE)
    stand_in.__path__ = list(spec.submodule_search_locations)

    def graph_break(msg: str = "") -> None:
        real = _real_if_loaded(stand_in)
        if real is not None:
            real.graph_break(msg)

    def disable(fn=None, recursive=True, *, reason=None, wrapping=True):
        if fn is None:
            return functools.partial(disable, recursive=recursive, reason=reason, wrapping=wrapping)
        handed_over = []

        @functools.wraps(fn)
        def call(*args, **kwargs):
            real = _real_if_loaded(stand_in)
            if real is None:
                return fn(*args, **kwargs)  # no compiler has run: a disabled function is the function
            if not handed_over:
                handed_over.append(real.disable(fn, recursive, reason=reason, wrapping=wrapping))
            return handed_over[0](*args, **kwargs)

        return call

    stand_in.graph_break = graph_break
    stand_in.disable = disable
    stand_in._deferred_submodules = {}
    # torchvision's roi_align imports ``is_compile_supported`` from here as it is imported; it calls it only
    # where its compiled kernels are missing.
    utils = _deferred_submodule(stand_in, "utils")

    def is_compile_supported(device_type):
        return _real_submodule(stand_in, utils).is_compile_supported(device_type)

    utils.is_compile_supported = is_compile_supported
    sys.meta_path.insert(0, _SubmoduleOfDeferred(stand_in))
    sys.modules[_DYNAMO_MODULE] = stand_in
    torch._dynamo = stand_in


def pause_collector() -> None:
    """No cyclic collections until :func:`freeze_imports` (call it before the heavy imports; module docstring)."""
    gc.disable()


def freeze_imports() -> None:
    """Collect what the imports left behind, then keep every object alive now out of later collections.

    Call it once the heavy imports are done and before forking: children inherit the frozen objects and never walk
    them either (``gc.freeze``; see the module's docstring). Objects made later are collected as usual: the
    collector is on again afterwards, also where :func:`pause_collector` stopped it.
    """
    gc.collect()
    gc.freeze()
    gc.enable()
