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

The same rebuild gives the notebook written for nbgrader's formgrader
(``autograded/<student>/<assignment>/<notebook>.ipynb``): the released cells
with their nbgrader metadata, the student's answers (written answers with any
raw HTML and script links neutralised), and the outputs the worker captured,
as plain text and errors only.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import re
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


WRITTEN_KEEP = 20_000  # characters of one written answer kept for the feedback and the formgrader notebook
ATTACHMENT_KEEP = 2 * 1024**2  # bytes of base64 images a notebook's written answers may carry
OUTPUT_KEEP = 1000  # characters of one cell's output kept (the worker sends no more)
VERDICT_KEEP = 300  # characters of one hidden check's verdict shown under its visible-check cell


@dataclass
class Sanitized:
    cells: list[CellToRun]  # what the worker runs, in order
    student_cells: list[CellToRun]  # the cells the student wrote (answers and added cells), for static checks
    notes: list[str] = field(default_factory=list)  # what was restored, for the feedback (Turkish)
    notebook: nbformat.NotebookNode | None = None  # the rebuilt notebook (see module doc); outputs filled later
    written: dict[str, str] = field(default_factory=dict)  # grade_id -> the written answer (markdown grade cells)
    blank: list[str] = field(default_factory=list)  # written answers left as released


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|livescript|data|file)(\s*):")


def safe_markdown(text: str) -> str:
    """A student's markdown that renders as they wrote it but can run nothing in formgrader or in feedback.

    nbconvert passes raw HTML and ``javascript:`` links through. Here ``&`` and a ``<`` that would open a
    tag are written as entities (no raw HTML, no entity tricks) and a script-capable URL scheme gets a
    zero-width space before its colon, so a browser reads it as a relative link.
    """
    text = _CONTROL.sub("", text).replace("&", "&amp;")
    text = _TAG_START.sub("&lt;", text)
    return _SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}\u200b:", text)


_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def _safe_attachments(cell, budget: list[int]) -> dict:
    """PNG and JPEG attachments of a written answer that are what they say, within the notebook's budget."""
    kept = {}
    attachments = cell.get("attachments")
    if not isinstance(attachments, dict):
        return kept
    for name, bundle in attachments.items():
        if not isinstance(name, str) or not re.fullmatch(r"[\w.\- ]{1,100}", name) or not isinstance(bundle, dict):
            continue
        for mime, magic in _IMAGE_MAGIC.items():
            data = bundle.get(mime)
            data = "".join(data) if isinstance(data, list) and all(isinstance(d, str) for d in data) else data
            if not isinstance(data, str) or len(data) > budget[0] or not _BASE64.match(data):
                continue
            try:
                head = base64.b64decode(data[:64] + "=" * (-len(data[:64]) % 4), validate=False)
            except (binascii.Error, ValueError):
                continue
            if head.startswith(magic):
                kept[name] = {mime: data}
                budget[0] -= len(data)
                break
    return kept


def _plain_output(text: str) -> str:
    """Captured output as plain text: terminal escapes and control characters removed, within the cap."""
    return _CONTROL.sub("", _ANSI.sub("", text))[-OUTPUT_KEEP:]


# C0 and C1 control characters but tab and newline, and terminal escape sequences.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]{0,200}(?:\x07|\x1b\\)?")


def _stream(text: str) -> nbformat.NotebookNode:
    # nbformat.v4.new_output's node without its schema validation (a string is a valid stream text).
    return nbformat.NotebookNode(output_type="stream", name="stdout", text=str(text))


def _error(ename: str, evalue: str, traceback: list[str]) -> nbformat.NotebookNode:
    return nbformat.NotebookNode(output_type="error", ename=str(ename), evalue=str(evalue),
                                 traceback=[str(line) for line in traceback])


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """``nbformat.writes(nb)``, byte for byte, for a notebook that is written once and then dropped (the
    formgrader copy): it is serialised in place, without the deep copy and the validation ``writes`` adds
    (~10 ms a submission). Built by :func:`sanitize` and :func:`fill_outputs` from a validated notebook."""
    from nbformat.v4.nbjson import BytesEncoder
    from nbformat.v4.rwbase import split_lines, strip_transient

    return json.dumps(strip_transient(split_lines(nb)), cls=BytesEncoder, indent=1, sort_keys=True,
                      separators=(",", ": "), ensure_ascii=False)


def fill_outputs(nb: nbformat.NotebookNode, cells: list[CellToRun], outcomes: list, checks: dict[str, list[str]]):
    """Put the captured outputs into ``nb`` (from :func:`sanitize`): each cell the worker ran gets its text output
    and its error; each visible-check cell gets the hidden checks' verdicts for its grade cell (``checks``)."""
    count = 0
    for cell, outcome in zip(cells, outcomes):
        if cell.index is None or cell.label != outcome.label:
            continue
        target = nb.cells[cell.index]
        count += 1
        target.execution_count = count
        outputs = []
        text = _plain_output(outcome.output or "")
        if text:
            outputs.append(_stream(text))
        if not outcome.ok:
            err = outcome.error or {}
            ename = _plain_output(str(err.get("type", "Error")))[:200]
            evalue = _plain_output(str(err.get("message", "")))
            # The worker's shell already printed the traceback into the text output; an error alone is shown.
            shown = [] if ename and ename in text else [f"{ename}: {evalue}"]
            outputs.append(_error(ename, evalue, shown))
        target.outputs = outputs
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "code" and gid in checks and is_test_cell(cell):
            text = "\n".join(_CONTROL.sub("", _ANSI.sub("", line))[:VERDICT_KEEP] for line in checks[gid])
            cell.outputs = [_stream("Gizli kontroller:\n" + text[:20 * VERDICT_KEEP] + "\n")] if checks[gid] else []


def answered_cells(nb, spec: NotebookSpec) -> int:
    """How many answer cells of ``spec`` this notebook changed from the release (a copy's measure of work)."""
    stubs = {nbgrader_meta(c).get("grade_id"): c.source.strip() for c in spec.nb.cells if is_solution_cell(c)}
    first: dict[str, str] = {}
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in stubs and isinstance(cell.get("source"), str):
            first.setdefault(gid, cell.source.strip())
    return sum(1 for gid, src in first.items() if src != stubs[gid])


def sanitize(submitted, spec: NotebookSpec, include_tests: bool = False) -> Sanitized:
    """Rebuild ``submitted`` on the released skeleton of ``spec`` (see module doc).

    ``include_tests`` also runs the visible-check cells (a student's self-check).
    """
    release_cells = spec.nb.cells
    release_ids = {nbgrader_meta(c).get("grade_id") for c in release_cells}
    by_id = {}
    for c in release_cells:
        by_id.setdefault(nbgrader_meta(c).get("grade_id"), c)
    answers: dict[str, str] = {}
    written: dict[str, str] = {}
    written_cells: dict[str, object] = {}
    extras: dict[str | None, list] = {}
    notes: list[str] = []
    anchor: str | None = None
    duplicated = set()
    for cell in submitted.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if isinstance(gid, str) and gid in release_ids:
            release_cell = by_id[gid]
            if is_solution_cell(release_cell) and release_cell.cell_type == cell.cell_type:
                if gid in answers or gid in written:
                    duplicated.add(gid)
                elif cell.cell_type == "code":
                    answers[gid] = cell.source
                elif cell.cell_type == "markdown":
                    written[gid] = cell.source[:WRITTEN_KEEP]
                    written_cells[gid] = cell
            anchor = gid
            continue
        if cell.cell_type in ("code", "markdown") and cell.source.strip():
            extras.setdefault(anchor, []).append(cell)
    if duplicated:
        notes.append("Aynı cevap hücresi birden çok kez vardı; ilki notlandırıldı: " + ", ".join(sorted(duplicated)))
    missing = []
    restored_locked = []

    cells: list[CellToRun] = []
    student_cells: list[CellToRun] = []
    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(spec.nb.metadata))
    budget = [ATTACHMENT_KEEP]

    def place(cell) -> int:
        out.cells.append(cell)
        return len(out.cells) - 1

    def add_extras(key):
        code = 0
        for cell in extras.get(key, []):
            if cell.cell_type == "markdown":
                added = nbformat.v4.new_markdown_cell(safe_markdown(cell.source[:WRITTEN_KEEP]))
                added.id = f"added-{len(out.cells)}"
                place(added)
                continue
            code += 1
            added = nbformat.v4.new_code_cell(cell.source)
            added.id = f"added-{len(out.cells)}"
            cells.append(CellToRun(f"eklenen hücre ({key or 'başta'} sonrası #{code})", cell.source, place(added)))
            student_cells.append(cells[-1])

    def released(rcell, source=None):
        cell = copy.deepcopy(rcell)
        if source is not None:
            cell.source = source
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        return cell

    add_extras(None)
    submitted_by_id = {}
    for cell in submitted.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if isinstance(gid, str):
            submitted_by_id.setdefault(gid, cell)
    blank = []
    for i, rcell in enumerate(release_cells):
        meta = nbgrader_meta(rcell)
        gid = meta.get("grade_id")
        if rcell.cell_type == "code" and not is_test_cell(rcell):
            theirs = is_solution_cell(rcell) and gid in answers
            if is_solution_cell(rcell) and not theirs:
                missing.append(gid)
            elif not is_solution_cell(rcell):
                submitted_cell = submitted_by_id.get(gid)
                if submitted_cell is not None and submitted_cell.source != rcell.source:
                    restored_locked.append(gid)
            src = answers[gid] if theirs else rcell.source
            cells.append(CellToRun(gid or f"hücre {i + 1}", src, place(released(rcell, src))))
            if theirs:
                student_cells.append(cells[-1])
        elif is_test_cell(rcell):
            theirs = submitted_by_id.get(gid)
            if theirs is None or theirs.source != rcell.source:
                restored_locked.append(gid)
            index = place(released(rcell))
            if include_tests:
                cells.append(CellToRun(gid, rcell.source, index))
        elif rcell.cell_type == "markdown" and is_solution_cell(rcell):
            text = written.get(gid)
            if text is None:
                missing.append(gid)
                text = rcell.source
            if text.strip() == rcell.source.strip():
                blank.append(gid)
            cell = released(rcell, safe_markdown(text))
            cell.pop("attachments", None)
            kept = _safe_attachments(written_cells[gid], budget) if gid in written_cells else {}
            if kept:
                cell["attachments"] = kept
            place(cell)
            written.setdefault(gid, text)
        else:
            place(released(rcell))
        if gid:
            add_extras(gid)
    if missing:
        notes.append("Şu cevap hücreleri bulunamadı, boş şablon kullanıldı: " + ", ".join(missing))
    if restored_locked:
        notes.append("Değiştirilmiş ya da silinmiş kilitli hücreler özgün hâline döndürüldü: "
                     + ", ".join(restored_locked))
    graded_written = {g.grade_id for g in spec.grade_cells if g.manual}
    return Sanitized(cells, student_cells, notes, out, {g: t for g, t in written.items() if g in graded_written},
                     [g for g in blank if g in graded_written])


_COPY_SUFFIX = re.compile(r"(?i)(?:-copy\d*|\s*\(\d+\)|\s+-\s+(?:copy|kopya)|\s+(?:copy|kopya)(?:\s*\d+)?|_copy\d*)$")
_COPY_PREFIX = re.compile(r"(?i)^(?:copy of|kopyası)\s+")


def copy_base(stem: str) -> str:
    """The notebook a copy's name comes from: ``01_tensors-Copy1``, ``01_tensors (1)``, ``01_tensors - Copy``,
    ``01_tensors copy 2``, ``Copy of 01_tensors`` -> ``01_tensors`` (any other name is returned as it is)."""
    base, previous = stem, None
    while previous != base:
        previous = base
        base = _COPY_PREFIX.sub("", _COPY_SUFFIX.sub("", base).strip())
    return base or stem


@dataclass
class Candidate:
    """A submitted file that could be one of the assignment's notebooks."""

    path: Path
    readable: bool
    answered: int  # answer cells changed from the release
    mtime: float
    # What reading it gave (the notebook, or why it cannot be read), so that grading does not read it again.
    notebook: object = field(default=None, repr=False, compare=False)
    problem: InvalidNotebook | None = field(default=None, repr=False, compare=False)

    def read(self) -> nbformat.NotebookNode:
        """The notebook as read when it was matched; raises the InvalidNotebook that reading it raised."""
        if self.problem is not None:
            raise self.problem
        return self.notebook

    @property
    def rank(self):
        # Most answered cells, then the newest; then the plain name, then the name itself (a fixed order).
        return (self.readable, self.answered, self.mtime, copy_base(self.path.stem) == self.path.stem,
                self.path.name)


def notebook_candidates(assignment: Assignment, files: list[Path]) -> tuple[dict[str, list[Candidate]], list[Path]]:
    """Each file goes to the notebook it matches best: by the nbgrader grade ids it carries (a renamed file is
    still found), then by its name or the name it is a copy of. Returns ({notebook: candidates, best first},
    files that match no notebook)."""
    by_notebook: dict[str, list[Candidate]] = {}
    unmatched = []
    for path in files:
        problem = None
        try:
            nb = read_notebook(path)
            readable = True
        except InvalidNotebook as exc:
            nb, readable, problem = None, False, exc
        ids = submission_grade_ids(nb) if nb is not None else set()
        best = None
        for name, spec in assignment.notebooks.items():
            overlap = len(ids & spec.grade_ids)
            name_match = 2 if path.stem == name else 1 if copy_base(path.stem) == name else 0
            if (overlap or name_match) and (best is None or (overlap, name_match) > best[0]):
                best = ((overlap, name_match), name, spec)
        if best is None:
            unmatched.append(path)
            continue
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        answered = answered_cells(nb, best[2]) if nb is not None else -1
        by_notebook.setdefault(best[1], []).append(Candidate(path, readable, answered, mtime, nb, problem))
    for found in by_notebook.values():
        found.sort(key=lambda c: c.rank, reverse=True)
    return by_notebook, unmatched


def copies_note(name: str, found: list[Candidate]) -> str:
    """Which of several files for one notebook was graded and which were ignored (Turkish)."""
    def describe(c: Candidate) -> str:
        return f"{c.path.name} ({c.answered} cevap)" if c.readable else f"{c.path.name} (okunamadı)"

    return (f"{name}.ipynb için birden çok dosya bulundu (kopya ya da yeniden adlandırılmış); en çok cevap "
            f"hücresi dolu olan (eşitlikte en yeni) notlandırıldı: {describe(found[0])}. Yok sayılan: "
            + ", ".join(describe(c) for c in found[1:]) + ".")


def match_notebooks(assignment: Assignment, files: list[Path]) -> tuple[dict[str, Path], list[str]]:
    """Which submitted file is which notebook of the assignment (see :func:`notebook_candidates`).

    When several files match one notebook (``-Copy1``, `` (1)``, a renamed copy), the one with the most answered
    cells is graded, then the newest, and a note says which was graded and which ignored.
    Returns ({notebook name: path}, notes).
    """
    chosen, notes = choose_notebooks(assignment, files)
    return {name: candidate.path for name, candidate in chosen.items()}, notes


def choose_notebooks(assignment: Assignment, files: list[Path]) -> tuple[dict[str, Candidate], list[str]]:
    """:func:`match_notebooks`, with each chosen file as its :class:`Candidate` (which holds what reading it
    gave). Returns ({notebook name: candidate}, notes)."""
    by_notebook, unmatched = notebook_candidates(assignment, files)
    notes = []
    chosen = {}
    for name in assignment.notebooks:
        found = by_notebook.get(name)
        if not found:
            continue
        chosen[name] = found[0]
        if len(found) > 1:
            notes.append(copies_note(name, found))
    for path in unmatched:
        notes.append(f"{path.name}: bu ödevin bir defteri olarak tanınmadı ve notlandırılmadı")
    return chosen, notes
