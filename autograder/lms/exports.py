"""Handing grades back: the files an LMS imports, written from a grading output folder.

``autograder export A --format F`` reads ``results/`` and the gradebook's manual scores (read only) of the folder
``autograder grade`` wrote, and writes under ``<out>/export/``:

canvas      ``canvas_grades.csv``: Canvas's gradebook import CSV (Grades > Import). Canvas's importer
            (app/models/gradebook_importer.rb, instructure/canvas-lms) wants a header row starting
            ``Student,ID`` whose student columns end with ``Section`` (``SIS User ID``, ``SIS Login ID`` between),
            then one column per assignment titled ``<title> (<assignment id>)`` (or a bare title, matched by
            name or created), an optional ``Points Possible`` row, and one row per student, matched by ``ID``
            (Canvas's user id), else by ``SIS User ID``/``SIS Login ID``, else by name. A student imported from
            Canvas gets their Canvas user id; anyone else their student id as ``SIS User ID``.
moodle      ``moodle_grading_worksheet.csv``: the assignment's offline grading worksheet (Grading action >
            Upload grading worksheet). Moodle's importer (mod/assign/feedback/offline/importgradeslib.php) needs
            the columns ``Identifier`` (``Participant <id>``), ``Grade`` and ``Last modified (grade)`` and reads
            ``Feedback comments``; the other columns are those of the worksheet Moodle downloads. Only students
            imported from Moodle can be matched (their participant ids).
gradescope  ``gradescope/<submission>/results.json``: Gradescope's autograder results format (Autograder
            Specifications, gradescope-autograders.readthedocs.io/en/latest/specs/): ``score``, ``output``,
            ``visibility`` and ``tests`` with ``name``, ``score``, ``max_score``, ``output``, ``visibility``.
            A submission imported from Gradescope keeps its ``submission_<id>`` folder name.
csv         ``questions.csv``: one row per student and question: points, maximum and the diagnosis.

Students whose grading failed (status ``error``) are left out of every file (an empty grade could clear the
LMS's); each file is replaced atomically; spreadsheet formulas are neutralised.
"""
from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from pathlib import Path

from autograder.assignment import Assignment

CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                 "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
QUESTIONS_HEADER = ["student_id", "name", "lms", "lms_id", "notebook", "question", "kind", "points", "max_points",
                    "status", "diagnosis"]
LATE_TEST = "Geç teslim cezası"


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _graded(rows) -> list:
    return sorted((row for row in rows if row.result.status != "error"), key=lambda r: r.result.student_id)


def _scaled(row, scale_to: float | None) -> tuple[float, float]:
    if not scale_to or not row.max_score:
        return row.score, row.max_score
    return round(row.score * scale_to / row.max_score, 4), scale_to


def _waiting_warning(rows) -> list[str]:
    waiting = [row.result.student_id for row in rows if row.waiting]
    if not waiting:
        return []
    return [f"{len(waiting)} student(s) have written answers not graded yet (their exported score leaves them out): "
            f"{', '.join(waiting[:10])}{' …' if len(waiting) > 10 else ''}; grade them in formgrader, run "
            "`autograder feedback`, then export again"]


def canvas(folder: Path, assignment: Assignment, rows, title: str | None = None,
           scale_to: float | None = None, **_) -> tuple[list[Path], list[str]]:
    from autograder.records import write_csv

    rows = _graded(rows)
    warnings, lines, others = _waiting_warning(rows), [], []
    anonymous = []
    possible = scale_to or (rows[0].max_score if rows else sum(c.points for c in assignment.grade_cells))
    for row in rows:
        ident = row.result.identity or {}
        score, _ = _scaled(row, scale_to)
        if ident.get("lms") == "canvas":
            if ident.get("anonymous"):
                anonymous.append(row.result.student_id)
                continue
            lines.append([ident.get("name") or row.result.student_id, ident.get("id", ""), "", "", "", _fmt(score)])
        else:
            others.append(row.result.student_id)
            lines.append([ident.get("name") or row.result.student_id, "", row.result.student_id, "", "", _fmt(score)])
    if anonymous:
        warnings.append(f"{len(anonymous)} anonymous Canvas submission(s) left out (Canvas's gradebook import "
                        f"matches students by user id, which anonymous downloads do not carry): {', '.join(anonymous[:10])}")
    if others:
        warnings.append(f"{len(others)} student(s) not imported from Canvas: their student id is written as SIS User "
                        f"ID for Canvas to match: {', '.join(others[:10])}{' …' if len(others) > 10 else ''}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "canvas_grades.csv"
    write_csv(path, CANVAS_HEADER + [title or assignment.id],
              [["Points Possible", "", "", "", "", _fmt(possible)], *lines])
    return [path], warnings


def _comment(row) -> str:
    """The feedback comment Moodle shows the student: the points per question (HTML-escaped text)."""
    parts = [f"Otomatik notlandırma: {_fmt(row.score)} / {_fmt(row.max_score)}"]
    if row.late_penalty:
        parts.append(f"geç teslim cezası −{_fmt(row.late_penalty)}")
    for cell in row.result.cells:
        pts = row.points.get(cell.grade_id)
        parts.append(f"{cell.grade_id}: " + ("elle notlandırılacak" if pts is None else
                                             f"{_fmt(pts)} / {_fmt(cell.max_points)}"))
    return html.escape("; ".join(parts), quote=False)


def moodle(folder: Path, assignment: Assignment, rows, scale_to: float | None = None,
           now: datetime | None = None, **_) -> tuple[list[Path], list[str]]:
    from autograder.records import write_csv

    rows = _graded(rows)
    warnings, lines, others = _waiting_warning(rows), [], []
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    for row in rows:
        ident = row.result.identity or {}
        if ident.get("lms") != "moodle" or not str(ident.get("id", "")).isdigit():
            others.append(row.result.student_id)
            continue
        score, possible = _scaled(row, scale_to)
        late = row.result.late or {}
        submitted = str(late.get("submitted_at") or "").replace("T", " ").replace("Z", " UTC")
        lines.append([f"Participant {ident['id']}", ident.get("name", ""), ident.get("email", ""),
                      f"autograder: {row.result.status}", _fmt(score), _fmt(possible), "Yes", submitted, stamp,
                      _comment(row)])
    if others:
        warnings.append(f"{len(others)} student(s) not imported from Moodle left out (Moodle's worksheet matches "
                        f"participant ids): {', '.join(others[:10])}{' …' if len(others) > 10 else ''}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "moodle_grading_worksheet.csv"
    write_csv(path, MOODLE_HEADER, lines)
    return [path], warnings


def gradescope_results(row, visibility: str = "visible", execution_time: float | None = None) -> dict:
    """One submission in Gradescope's results.json format: a test per graded question (its checks' verdicts as
    output), the late penalty as a test of its own, notes in the top-level output."""
    from autograder.grading import check_line
    from autograder.records import STATUS_TEXT, printable

    tests = []
    waiting = []
    for number, cell in enumerate(row.result.cells, start=1):
        pts = row.points.get(cell.grade_id)
        if pts is None:
            waiting.append(cell.grade_id)
            continue
        lines = [printable(check_line(chk)) for chk in cell.checks]
        if cell.manual:
            lines = lines or ["Yazılı cevap: değerlendiricinin verdiği puan."]
            comment = row.comments.get(cell.grade_id)
            if comment:
                lines.append(f"Değerlendiricinin yorumu: {printable(comment)}")
        tests.append({"name": f"{cell.notebook} · {cell.grade_id}", "number": str(number), "score": round(pts, 4),
                      "max_score": round(cell.max_points, 4), "output": "\n".join(lines),
                      "tags": [cell.notebook], "visibility": visibility})
    if row.late_penalty:
        late = row.result.late or {}
        tests.append({"name": LATE_TEST, "score": -round(row.late_penalty, 4), "max_score": 0.0,
                      "output": f"{late.get('days_late', 0)} gün geç; −{_fmt(row.late_penalty)} puan.",
                      "visibility": visibility})
    output = [f"Durum: {STATUS_TEXT.get(row.result.status, row.result.status)}. "
              f"Puan: {_fmt(row.score)} / {_fmt(row.max_score)}."]
    output += [printable(n) for n in row.result.notes]
    for nb in row.result.notebooks:
        output += [f"{nb.name}.ipynb: {printable(n)}" for n in nb.notes]
        output += [f"{nb.name}.ipynb: {printable(e.label)} hücresi hata verdi: {printable(e.type)}: "
                   f"{printable(e.message)}" for e in nb.cell_errors]
    if waiting:
        output.append("Elle notlandırılacak yazılı cevaplar: " + ", ".join(waiting) + ".")
    results = {"score": round(row.score, 4), "output": "\n".join(output)[:20000], "visibility": visibility,
               "stdout_visibility": "hidden", "tests": tests}
    if execution_time is not None:
        results["execution_time"] = int(round(execution_time))
    return results


def gradescope(folder: Path, assignment: Assignment, rows, visibility: str = "visible",
               **_) -> tuple[list[Path], list[str]]:
    from autograder.records import write_text_atomic

    rows = _graded(rows)
    written = []
    for row in rows:
        ident = row.result.identity or {}
        key = ident.get("submission") if ident.get("lms") == "gradescope" else None
        path = folder / "gradescope" / (key or row.result.student_id) / "results.json"
        write_text_atomic(path, json.dumps(gradescope_results(row, visibility), ensure_ascii=False, indent=1) + "\n")
        written.append(path)
    return written, _waiting_warning(rows)


def questions(folder: Path, assignment: Assignment, rows, **_) -> tuple[list[Path], list[str]]:
    from autograder.records import write_csv
    from autograder.report import cell_diagnoses

    lines = []
    for row in _graded(rows):
        ident = row.result.identity or {}
        for cell in row.result.cells:
            pts = row.points.get(cell.grade_id)
            found = "; ".join(text for text, _ in cell_diagnoses(cell))
            lines.append([row.result.student_id, ident.get("name") or row.result.student_id, ident.get("lms", ""),
                          ident.get("id", ""), cell.notebook, cell.grade_id, "written" if cell.manual else "auto",
                          "" if pts is None else _fmt(pts), _fmt(cell.max_points), row.result.status, found])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "questions.csv"
    write_csv(path, QUESTIONS_HEADER, lines)
    return [path], _waiting_warning(_graded(rows))


EXPORTERS = {"canvas": canvas, "moodle": moodle, "gradescope": gradescope, "csv": questions}


def export(fmt: str, folder: Path, assignment: Assignment, rows, **options) -> tuple[list[Path], list[str]]:
    """Write ``fmt`` under ``folder``; returns (paths written, warnings for the instructor)."""
    if fmt not in EXPORTERS:
        raise ValueError(f"unknown export format {fmt!r}")
    return EXPORTERS[fmt](folder, assignment, rows, **{k: v for k, v in options.items() if v is not None})
