"""Reading the student's code as written (static checks), for the rules a run cannot see.

Used for "write it from scratch" rules (no ``torch.sigmoid`` inside ``sigmoid``), hard-coded devices and the
spans of the definitions a grade cell is about. A cell with IPython syntax (``%time``, ``!pip``) is turned into
Python line for line first; a cell that still does not parse has no findings (it fails elsewhere)::

    from autograder.checks.source import builtin_uses

    for cell in student.source_cells:
        used = builtin_uses(cell.source, {"sigmoid"}, forbidden={"sigmoid", "softmax"})
"""
from __future__ import annotations

import ast

__all__ = ["parse_cell", "definitions", "builtin_uses"]


def parse_cell(source: str) -> ast.AST | None:
    """The cell's syntax tree (IPython magics become calls, line numbers kept), or None if it does not parse."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
        # IPython drops leading blank lines; put them back so that line numbers are the cell's own
        lines = source.split("\n")
        blank = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
        return ast.parse("\n" * blank + code.lstrip("\n"))
    except Exception:  # noqa: BLE001 - a cell that does not parse has no findings
        return None


def definitions(source: str, names) -> dict[str, tuple[int, int]]:
    """``{name: (first line, last line)}`` of the last top-level ``def``/``class`` of each of ``names``."""
    tree = parse_cell(source)
    if tree is None:
        return {}
    return {node.name: (node.lineno, node.end_lineno) for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names}


def builtin_uses(source: str, functions, forbidden, names=()) -> list[str]:
    """Attribute uses like ``torch.sigmoid`` / ``F.softmax`` / ``x.tanh()`` whose name is in ``forbidden``, and
    plain names in ``names`` (``autograd_derivative(...)``, ``device``), inside the student's definitions of
    ``functions`` (``def`` or assignment, any nesting level). Each use once, as written, in order of appearance."""
    tree = parse_cell(source)
    if tree is None:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        defines = (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in functions) or \
            (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in functions for t in node.targets))
        if not defines:
            continue
        for sub in ast.walk(node):
            hit = (isinstance(sub, ast.Attribute) and sub.attr in forbidden) or \
                (isinstance(sub, ast.Name) and sub.id in names)
            if hit:
                code = ast.get_source_segment(source, sub) or getattr(sub, "attr", None) or sub.id
                if code not in found:
                    found.append(code)
    return found
