"""A function that takes ``device`` but chooses its own: a static check with a message that names the line.

``def train(..., device="cpu"): device = "cuda" if torch.cuda.is_available() else "cpu"`` runs, and on a machine
with a GPU even gives the right answer, but it ignores the caller: ``train(..., device="cpu")`` still trains on the
GPU. On a CPU grader the model then ends up on the CPU instead of the (simulated) device, and the generic advice
"call model.to(device)" would mislead a student whose code does call it. This check finds the reassignment::

    from autograder.checks.device_override import expect_device_argument_kept

    expect_device_argument_kept(student, ["train_sigmoid_neuron"])

A reassignment that is computed from the argument itself (``device = torch.device(device)``,
``device = device or "cpu"``) is a conversion, not an override, and is allowed.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from autograder.checks import fail
from autograder.checks.source import parse_cell as _parse

__all__ = ["Override", "device_overrides", "expect_device_argument_kept"]


@dataclass(frozen=True)
class Override:
    function: str
    line: int
    code: str  # the assignment as written (first line)


def _mentions(node, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _targets(node):
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield from (t for t in ast.walk(target) if isinstance(t, ast.Name))
    elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and isinstance(node.target, ast.Name):
        yield node.target


def device_overrides(source: str, names=None, param: str = "device") -> list[Override]:
    """Assignments to the parameter ``param`` inside functions that take it, whose value does not use it.

    ``names``: only the functions with these names (any nesting level); None: every function. Sorted by line.
    """
    tree = _parse(source)
    if tree is None:
        return []
    wanted = None if names is None else set(names)
    found: dict[int, Override] = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if wanted is not None and fn.name not in wanted:
            continue
        args = fn.args
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        if param not in params:
            continue
        for node in ast.walk(fn):
            if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) or node.value is None:
                continue
            if any(t.id == param for t in _targets(node)) and not _mentions(node.value, param):
                code = (ast.get_source_segment(source, node) or param).splitlines()[0][:120]
                found.setdefault(node.lineno, Override(fn.name, node.lineno, code))
    return sorted(found.values(), key=lambda o: o.line)


def expect_device_argument_kept(student, names=None, param: str = "device"):
    """Fail if one of the student's functions ``names`` (None: any) overwrites its ``param`` argument.

    The message names the cell, the line and the function, and says why it is a bug.
    """
    for cell in student.source_cells:
        for o in device_overrides(cell.source, names, param):
            fail(f"`{cell.label}` hücresi, {o.line}. satır (`{o.function}` içinde): `{o.code}` fonksiyona verilen "
                 f"`{param}` argümanının üzerine yazıyor; çağıran `{param}=\"cpu\"` istese bile başka bir cihaz "
                 f"kullanılır. `{param}`'ı olduğu gibi kullanın (cihazı seçmek çağıranın işi); gerekirse yalnızca "
                 f"`{param} = torch.device({param})` ile dönüştürün.")
