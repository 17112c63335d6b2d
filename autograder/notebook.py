"""Reading a submitted notebook and restoring it against the release.

A submission is rebuilt on the skeleton of the released notebook (the idea of
nbgrader's OverwriteCells, taken further):

- locked cells (instructions, set-up, visible checks) always come from the
  release, whatever the submission did to them (edited, deleted, duplicated,
  re-tagged, points changed);
- an answer cell is taken from the submission by its ``grade_id`` (first
  occurrence); a missing one falls back to the released stub;
- cells the student added (no or unknown ``grade_id``) are kept, after the
  released cell they followed, so helper code they wrote still runs;
- cell tags and execution metadata are ignored: the grader decides what runs.

Visible-check cells are not executed while grading: grades come from the
hidden checks in the trusted process.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.assignment import Assignment, NotebookSpec, is_solution_cell, is_test_cell, nbgrader_meta
from autograder.session import CellToRun

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


class InvalidNotebook(Exception):
    """The file cannot be read as a notebook; the message is for the student (Turkish)."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidNotebook(f"dosya okunamadı ({exc.strerror})") from None
    if size == 0:
        raise InvalidNotebook("dosya boş")
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(f"dosya çok büyük ({size // 1024**2} MB); çıktıları temizleyip yeniden gönderin")
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        raise InvalidNotebook("dosya bir Jupyter defteri değil (UTF-8 metin değil)") from None
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise InvalidNotebook("dosya bozuk: geçerli JSON değil") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise InvalidNotebook("dosya bir Jupyter defteri değil (hücre listesi yok)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # students' notebooks often lack cell ids; harmless here
            nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for odd files
        raise InvalidNotebook(f"defter okunamadı: {type(exc).__name__}") from None
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise InvalidNotebook("defterde bozuk bir hücre var")
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()  # metadata is the student's to break; it holds no answer
    if not isinstance(nb.get("metadata"), dict):
        nb["metadata"] = nbformat.NotebookNode()
    return nb


def submission_grade_ids(nb) -> set[str]:
    ids = set()
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if isinstance(gid, str):
            ids.add(gid)
    return ids


def kernel_language(nb) -> str | None:
    """The notebook's language as its metadata says (any shape of metadata: it is the student's)."""
    meta = nb.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    ks, li = meta.get("kernelspec"), meta.get("language_info")
    lang = (ks.get("language") if isinstance(ks, dict) else None) or (li.get("name") if isinstance(li, dict) else None)
    if lang is None and isinstance(ks, str):
        lang = ks
    return str(lang).lower()[:40] if isinstance(lang, str) and lang else None


@dataclass
class Sanitized:
    cells: list[CellToRun]  # what the worker runs, in order
    student_cells: list[CellToRun]  # the cells the student wrote (answers and added cells), for static checks
    notes: list[str] = field(default_factory=list)  # what was restored, for the feedback (Turkish)


def sanitize(submitted, spec: NotebookSpec, include_tests: bool = False) -> Sanitized:
    """Rebuild ``submitted`` on the released skeleton of ``spec`` (see module doc).

    ``include_tests`` also runs the visible-check cells (a student's self-check).
    """
    release_cells = spec.nb.cells
    release_ids = {nbgrader_meta(c).get("grade_id") for c in release_cells}
    answers: dict[str, str] = {}
    extras: dict[str | None, list[str]] = {}
    notes: list[str] = []
    anchor: str | None = None
    duplicated = set()
    for cell in submitted.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if isinstance(gid, str) and gid in release_ids:
            release_cell = next(c for c in release_cells if nbgrader_meta(c).get("grade_id") == gid)
            if is_solution_cell(release_cell) and release_cell.cell_type == "code" and cell.cell_type == "code":
                if gid in answers:
                    duplicated.add(gid)
                else:
                    answers[gid] = cell.source
            anchor = gid
            continue
        if cell.cell_type == "code" and cell.source.strip():
            extras.setdefault(anchor, []).append(cell.source)
    if duplicated:
        notes.append("Aynı cevap hücresi birden çok kez vardı; ilki notlandırıldı: " + ", ".join(sorted(duplicated)))
    missing = []
    restored_locked = []

    cells: list[CellToRun] = []
    student_cells: list[CellToRun] = []

    def add_extras(key):
        for i, src in enumerate(extras.get(key, [])):
            cells.append(CellToRun(f"eklenen hücre ({key or 'başta'} sonrası #{i + 1})", src))
            student_cells.append(cells[-1])

    add_extras(None)
    submitted_by_id = {}
    for cell in submitted.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if isinstance(gid, str):
            submitted_by_id.setdefault(gid, cell)
    for i, rcell in enumerate(release_cells):
        meta = nbgrader_meta(rcell)
        gid = meta.get("grade_id")
        if rcell.cell_type == "code" and not is_test_cell(rcell):
            if is_solution_cell(rcell):
                if gid in answers:
                    src = answers[gid]
                    student_cells.append(CellToRun(gid, src))
                else:
                    src = rcell.source
                    missing.append(gid)
            else:
                src = rcell.source
                theirs = submitted_by_id.get(gid)
                if theirs is not None and theirs.source != rcell.source:
                    restored_locked.append(gid)
            cells.append(CellToRun(gid or f"hücre {i + 1}", src))
        elif is_test_cell(rcell):
            theirs = submitted_by_id.get(gid)
            if theirs is None or theirs.source != rcell.source:
                restored_locked.append(gid)
            if include_tests:
                cells.append(CellToRun(gid, rcell.source))
        if gid:
            add_extras(gid)
    if missing:
        notes.append("Şu cevap hücreleri bulunamadı, boş şablon kullanıldı: " + ", ".join(missing))
    if restored_locked:
        notes.append("Değiştirilmiş ya da silinmiş kilitli hücreler özgün hâline döndürüldü: "
                     + ", ".join(restored_locked))
    return Sanitized(cells, student_cells, notes)


def match_notebooks(assignment: Assignment, files: list[Path]) -> tuple[dict[str, Path], list[str]]:
    """Which submitted file is which notebook of the assignment.

    Matched by the nbgrader grade ids a file carries (so a renamed file is still
    found), then by file name. Returns ({notebook name: path}, notes).
    """
    notes = []
    scored = []  # (overlap, name match, path, spec name)
    for path in files:
        try:
            nb = read_notebook(path)
            ids = submission_grade_ids(nb)
        except InvalidNotebook:
            ids = set()
        for name, spec in assignment.notebooks.items():
            overlap = len(ids & spec.grade_ids)
            name_match = path.stem == name
            if overlap or name_match:
                scored.append((overlap, name_match, path, name))
    scored.sort(key=lambda t: (-t[0], not t[1], str(t[2])))
    chosen: dict[str, Path] = {}
    used: set[Path] = set()
    for overlap, name_match, path, name in scored:
        if name in chosen or path in used:
            continue
        chosen[name] = path
        used.add(path)
    for path in files:
        if path not in used:
            notes.append(f"{path.name}: bu ödevin bir defteri olarak tanınmadı ve notlandırılmadı")
    return chosen, notes
