"""Writing grades down: grades.csv, results/<student>.json, feedback/<student>.html, report.html.

A student's row joins three things: the automatic points (``results/<student>.json``), what a grader gave in
formgrader (manual scores, extra credit, comments: read from the nbgrader gradebook, see
:mod:`autograder.gradebook`) and the late penalty (:mod:`autograder.late`). Every file is written in a fixed
order and format, so grading the same class twice (with any number of workers) gives byte-identical grades.csv
and JSON; every file is replaced atomically.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, select_autoescape

from autograder.assignment import Assignment, CourseError
from autograder.atomic import write_text_atomic
from autograder.gradebook import GradebookGrade as ManualGrade
from autograder.grading import SubmissionResult
from autograder.late import penalty, split_penalty

CSV_HEADER = ["student_id", "assignment", "auto_score", "manual_score", "late_penalty", "score", "max_score",
              "status"]


def _fmt(x: float) -> str:
    return f"{x:.2f}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ tab or CR would start a formula."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    """Every CSV this package writes goes through here: formula prefixes neutralised in every cell."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
    tmp.replace(path)  # whoever reads it meanwhile sees the old file or the new one, never half of one


# ---------------------------------------------------------------------------------------------- a student's row

@dataclass
class Row:
    """One student's grade, everything joined: the line of grades.csv and what the feedback shows."""

    result: SubmissionResult
    points: dict[str, float | None]  # grade_id -> points counted (None: a written answer waiting for a grader)
    manual: dict[str, ManualGrade]  # grade_id -> what the grader gave
    comments: dict[str, str]  # answer cell grade_id -> the grader's comment
    auto_score: float
    manual_score: float | None  # None: written answers exist and none is graded yet
    late_penalty: float
    score: float
    max_score: float
    penalty_by_notebook: dict[str, float] = field(default_factory=dict)

    @property
    def waiting(self) -> list[str]:
        return [gid for gid, pts in self.points.items() if pts is None]


def make_row(result: SubmissionResult, manual: dict[str, ManualGrade] | None = None,
             comments: dict[str, str] | None = None) -> Row:
    """Join a result with the gradebook's manual grades: per cell a grader's score replaces the automatic one
    (as in nbgrader), extra credit is added, and the late penalty is computed from the points (never stored)."""
    manual = manual or {}
    blank = {g for nb in result.notebooks for g in nb.blank}
    answered = {g for nb in result.notebooks for g in nb.answers}
    points: dict[str, float | None] = {}
    by_notebook: dict[str, float] = {}
    auto = written = 0.0
    has_written = graded_written = False
    for cell in result.cells:
        given = manual.get(cell.grade_id, ManualGrade())
        extra = given.extra_credit or 0.0
        if given.manual_score is not None:
            pts = given.manual_score + extra
        elif cell.manual:
            pts = extra if (cell.grade_id in blank or cell.grade_id not in answered) else None
        else:
            pts = (cell.points or 0.0) + extra
        points[cell.grade_id] = None if pts is None else round(pts, 4)
        by_notebook[cell.notebook] = by_notebook.get(cell.notebook, 0.0) + (pts or 0.0)
        if cell.manual:
            has_written = True
            if pts is not None:
                graded_written = True
                written += pts
        else:
            auto += pts or 0.0
    max_score = round(sum(c.max_points for c in result.cells), 4)
    raw = auto + written
    late = penalty(result.late, max_score, raw)
    return Row(result, points, manual, dict(comments or {}), round(auto, 4),
               round(written, 4) if graded_written or not has_written else None, late, round(raw - late, 4),
               max_score, split_penalty(late, by_notebook))


def csv_header(assignment: Assignment) -> list[str]:
    """grades.csv: the totals, then one column per grade cell (its points), in the notebooks' order."""
    return CSV_HEADER + [cell.grade_id for cell in assignment.grade_cells]


def _opt(x: float | None) -> str:
    return "" if x is None else _fmt(x)


def write_grades_csv(path: Path, assignment: Assignment, rows: list[Row]) -> None:
    cells = [cell.grade_id for cell in assignment.grade_cells]
    write_csv(path, csv_header(assignment), [
        [row.result.student_id, row.result.assignment, _fmt(row.auto_score), _opt(row.manual_score),
         _fmt(row.late_penalty), _fmt(row.score), _fmt(row.max_score), row.result.status,
         *[_opt(row.points.get(gid)) for gid in cells]]
        for row in sorted(rows, key=lambda r: r.result.student_id)])


def write_result_json(folder: Path, result: SubmissionResult) -> Path:
    path = folder / f"{result.student_id}.json"
    write_text_atomic(path, json.dumps(result.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    return path


def load_results(folder: Path, assignment_id: str) -> dict[str, SubmissionResult]:
    """The results an earlier run left in ``folder`` (kept when part of a class is graded again).

    Raises CourseError for a file that cannot be read or that belongs to another assignment: nothing is graded
    over an output folder that would lose or mix grades.
    """
    results = {}
    if not folder.is_dir():
        return results
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            result = SubmissionResult.from_json(data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CourseError(f"{path} cannot be read ({type(exc).__name__}: {exc}); move it away or grade into "
                              "another --out folder") from None
        if result.assignment != assignment_id:
            raise CourseError(f"{path.parent.parent} holds grades of assignment {result.assignment!r}, not "
                              f"{assignment_id!r}: use another --out folder")
        results[result.student_id] = result
    return results


STATUS_TEXT = {
    "ok": "notlandırıldı",
    "timeout": "süre aşımı oldu",
    "crashed": "çalışırken çöktü",
    "invalid": "okunamadı",
    "missing": "teslim edilmedi",
    "error": "notlandırılamadı (notlandırma tarafında bir sorun; yeniden notlandırılacak)",
}

# C0 and C1 control characters but tab and newline: terminal escapes, bells and the like from student output.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(value) -> str:
    """Text safe to show in a page: control characters removed (escaping is the template's job)."""
    return _CONTROL.sub("", value) if isinstance(value, str) else value

SOURCE_TEXT = {"timestamp.txt": "timestamp.txt dosyasından", "mtime": "dosyaların son değiştirilme zamanından",
               "submission_metadata.yml": "Gradescope'un teslim kaydından"}

FEEDBACK_TEMPLATE = """<!DOCTYPE html>
<html lang="tr"><head><meta charset="utf-8">
<title>{{ r.assignment }} – {{ r.student_id }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
td, th { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
.ok { color: #176e2c; } .bad { color: #a4161a; } .skip { color: #777; }
.note { background: #fff6d5; padding: .5rem .75rem; border-radius: .3rem; margin: .3rem 0; }
.answer { white-space: pre-wrap; background: #f6f8fa; padding: .5rem .75rem; border-left: 3px solid #bbb; margin: .3rem 0; }
.comment { background: #e8f1fb; padding: .4rem .75rem; border-radius: .3rem; margin: .3rem 0; }
code { background: #f3f3f3; padding: 0 .2rem; }
</style></head><body>
<h1>{{ r.assignment }} — geri bildirim</h1>
<p>Öğrenci: <b>{{ r.identity.name or r.student_id }}</b>{% if r.identity.name and r.identity.name != r.student_id %} ({{ r.student_id }}){% endif %} · Puan: <b>{{ "%.2f"|format(row.score) }} / {{ "%.2f"|format(row.max_score) }}</b>
 · Durum: {{ status_text[r.status] }}</p>
<p>Otomatik puan: {{ "%.2f"|format(row.auto_score) }}
 · Elle verilen puan: {% if row.manual_score is none %}henüz notlandırılmadı{% else %}{{ "%.2f"|format(row.manual_score) }}{% endif %}
{% if row.late_penalty %} · Geç teslim cezası: −{{ "%.2f"|format(row.late_penalty) }}{% endif %}</p>
{% if r.late %}<p>Teslim zamanı: {{ r.late.submitted_at|replace("T", " ")|replace("Z", " UTC") }} ({{ source_text.get(r.late.source, r.late.source) }})
{% if r.late.due %} · Son teslim: {{ r.late.due|replace("T", " ")|replace("Z", " UTC") }}
{% if r.late.days_late %} · {{ r.late.days_late }} gün geç teslim edildi; ceza oranı %{{ "%g"|format(r.late.fraction * 100) }} (en yüksek puan üzerinden):
 −{{ "%.2f"|format(row.late_penalty) }} puan (ceza kazanılan puanı aşmaz){% else %} · zamanında teslim edildi{% endif %}{% endif %}</p>{% endif %}
{% for note in r.notes %}<div class="note">{{ note }}</div>{% endfor %}
{% for nb in r.notebooks %}
<h2>{{ nb.name }}.ipynb <small>({{ status_text.get(nb.status, nb.status) }})</small></h2>
{% for note in nb.notes %}<div class="note">{{ note }}</div>{% endfor %}
{% for err in nb.cell_errors %}<div class="note">Hücre <code>{{ err.label }}</code> çalışırken hata verdi:
 <code>{{ err.type }}: {{ err.message }}</code></div>{% endfor %}
<table><tr><th>Soru</th><th>Puan</th><th>Kontroller</th></tr>
{% for cell in r.cells if cell.notebook == nb.name %}{% set given = row.manual.get(cell.grade_id) %}
<tr><td><code>{{ cell.grade_id }}</code></td>
<td>{% if row.points[cell.grade_id] is none %}elle notlandırılacak (en çok {{ "%.2f"|format(cell.max_points) }}){% else %}{{ "%.2f"|format(row.points[cell.grade_id]) }} / {{ "%.2f"|format(cell.max_points) }}{% if given and given.manual_score is not none %} (değerlendirici verdi){% endif %}{% if given and given.extra_credit %} (ek puan dahil: {{ "%.2f"|format(given.extra_credit) }}){% endif %}{% endif %}</td>
<td>{% if cell.manual %}<div>Yazılı cevabınız:</div>{% if cell.grade_id in nb.blank or cell.grade_id not in nb.answers %}<div class="answer">(cevap verilmedi)</div>{% else %}<div class="answer">{{ nb.answers[cell.grade_id] }}</div>{% endif %}{% endif %}
{% for c in cell.checks %}<div class="{{ 'skip' if c.skipped else ('ok' if c.passed else 'bad') }}">
{{ '–' if c.skipped else ('✔' if c.passed else '✘') }} {{ c.check.split('::')[-1] }}{% if c.message and not c.passed %}: {{ c.message }}{% endif %}</div>{% endfor %}
{% if cell.grade_id in row.comments %}<div class="comment">Değerlendiricinin yorumu: {{ row.comments[cell.grade_id] }}</div>{% endif %}</td></tr>
{% endfor %}</table>
{% for gid, text in row.comments.items() if gid in answer_cells.get(nb.name, ()) and gid not in graded_ids %}
<div class="comment">Değerlendiricinin yorumu (<code>{{ gid }}</code>): {{ text }}</div>{% endfor %}
{% endfor %}
</body></html>
"""

# finalize: every value the template prints passes through printable() before it is escaped.
_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), finalize=printable)
_template = _env.from_string(FEEDBACK_TEMPLATE)


def write_feedback_html(folder: Path, row: Row, assignment: Assignment) -> Path:
    path = folder / f"{row.result.student_id}.html"
    answer_cells = {name: {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in spec.nb.cells}
                    for name, spec in assignment.notebooks.items()}
    write_text_atomic(path, _template.render(r=row.result, row=row, status_text=STATUS_TEXT,
                                             source_text=SOURCE_TEXT, answer_cells=answer_cells,
                                             graded_ids={c.grade_id for c in row.result.cells}))
    return path


def class_summary(rows_in: list[Row]) -> str:
    """A plain-text table for the terminal."""
    rows = [("student", "score", "max", "late", "status", "waiting")]
    for row in sorted(rows_in, key=lambda r: r.result.student_id):
        rows.append((row.result.student_id, _fmt(row.score), _fmt(row.max_score),
                     _fmt(row.late_penalty) if row.late_penalty else "", row.result.status, ", ".join(row.waiting)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    if not any(r[5] for r in rows[1:]):
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_class_report(path: Path, assignment: Assignment, rows: list[Row], skipped: list[str] | None = None) -> None:
    """The class report (see :mod:`autograder.report`): plots, per-question diagnoses, a table of students."""
    from autograder.report import write_report

    write_report(path, assignment, rows, skipped)
