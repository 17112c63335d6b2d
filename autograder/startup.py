"""Start-up costs of the libraries every command imports, paid only when their feature is used.

nbformat validates notebooks with jsonschema, whose format checker imports ``rfc3987_syntax`` at import time for
the "iri" formats. That module builds some thirty Earley parsers with lark as it is imported: 1-3 s in every
process that reads a notebook, for a format no notebook schema uses (python-jsonschema/jsonschema#1428).
jsonschema binds ``is_valid_syntax`` when it is imported, so the module it finds is a stand-in whose
``is_valid_syntax`` (or any other attribute) imports the real module on first use: what is validated, and how,
is unchanged.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types

_IRI_MODULE = "rfc3987_syntax"


class _DeferredModule(types.ModuleType):
    """Stands in for a module until one of its attributes is used, then gives way to the real one."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)  # the import system's own probes (``__path__``, ``__spec__``...)
        return getattr(_load_real(self), name)


def _load_real(stand_in: types.ModuleType) -> types.ModuleType:
    if sys.modules.get(stand_in.__name__) is stand_in:
        del sys.modules[stand_in.__name__]
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
