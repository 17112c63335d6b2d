"""Writing grades down: grades.csv, results/<student>.json, feedback/<student>.html, the nbgrader gradebook.

Every file is written in a fixed order and format, so grading the same class
twice (with any number of workers) gives byte-identical grades.csv and JSON.
"""
from __future__ import annotations

import csv
import html
import json
import re
import warnings
from pathlib import Path

from jinja2 import Environment, select_autoescape

from autograder import nbgrader_ready
from autograder.assignment import Assignment, is_solution_cell, nbgrader_meta
from autograder.grading import SubmissionResult

CSV_HEADER = ["student_id", "assignment", "score", "max_score", "status"]


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


def write_grades_csv(path: Path, results: list[SubmissionResult]) -> None:
    write_csv(path, CSV_HEADER, [[r.student_id, r.assignment, _fmt(r.score), _fmt(r.max_score), r.status]
                                 for r in sorted(results, key=lambda r: r.student_id)])


def write_result_json(folder: Path, result: SubmissionResult) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.student_id}.json"
    path.write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


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

FEEDBACK_TEMPLATE = """<!DOCTYPE html>
<html lang="tr"><head><meta charset="utf-8">
<title>{{ r.assignment }} – {{ r.student_id }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
td, th { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
.ok { color: #176e2c; } .bad { color: #a4161a; } .skip { color: #777; }
.note { background: #fff6d5; padding: .5rem .75rem; border-radius: .3rem; margin: .3rem 0; }
code { background: #f3f3f3; padding: 0 .2rem; }
</style></head><body>
<h1>{{ r.assignment }} — geri bildirim</h1>
<p>Öğrenci: <b>{{ r.student_id }}</b> · Otomatik puan: <b>{{ "%.2f"|format(r.score) }} / {{ "%.2f"|format(r.max_score) }}</b>
 · Durum: {{ status_text[r.status] }}</p>
{% for note in r.notes %}<div class="note">{{ note }}</div>{% endfor %}
{% for nb in r.notebooks %}
<h2>{{ nb.name }}.ipynb <small>({{ status_text.get(nb.status, nb.status) }})</small></h2>
{% for note in nb.notes %}<div class="note">{{ note }}</div>{% endfor %}
{% for err in nb.cell_errors %}<div class="note">Hücre <code>{{ err.label }}</code> çalışırken hata verdi:
 <code>{{ err.type }}: {{ err.message }}</code></div>{% endfor %}
<table><tr><th>Soru</th><th>Puan</th><th>Kontroller</th></tr>
{% for cell in r.cells if cell.notebook == nb.name %}
<tr><td><code>{{ cell.grade_id }}</code></td>
<td>{% if cell.manual %}elle notlandırılacak (en çok {{ "%.2f"|format(cell.max_points) }}){% else %}{{ "%.2f"|format(cell.points) }} / {{ "%.2f"|format(cell.max_points) }}{% endif %}</td>
<td>{% for c in cell.checks %}<div class="{{ 'skip' if c.skipped else ('ok' if c.passed else 'bad') }}">
{{ '–' if c.skipped else ('✔' if c.passed else '✘') }} {{ c.check.split('::')[-1] }}{% if c.message and not c.passed %}: {{ c.message }}{% endif %}</div>{% endfor %}</td></tr>
{% endfor %}</table>
{% endfor %}
</body></html>
"""

# finalize: every value the template prints passes through printable() before it is escaped.
_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), finalize=printable)
_template = _env.from_string(FEEDBACK_TEMPLATE)


def write_feedback_html(folder: Path, result: SubmissionResult) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.student_id}.html"
    path.write_text(_template.render(r=result, status_text=STATUS_TEXT), encoding="utf-8")
    return path


def record_gradebook(db_url: str, assignment: Assignment, results: list[SubmissionResult]) -> None:
    """Record automatic scores in an nbgrader gradebook (for `nbgrader export` and formgrader).

    The assignment's notebooks and cells are entered from the release first, as
    nbgrader's generate_assignment would. Manual scores already given by a grader
    are kept; written answers are flagged for manual grading.
    """
    nbgrader_ready()
    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        # nbgrader's own SQLAlchemy usage warns on every new submission; nothing for the user to act on.
        warnings.simplefilter("ignore")
        gb.update_or_create_assignment(assignment.id)
        for name, spec in assignment.notebooks.items():
            gb.update_or_create_notebook(name, assignment.id)
            for cell in spec.nb.cells:
                meta = nbgrader_meta(cell)
                gid = meta.get("grade_id")
                if not gid:
                    continue
                if meta.get("grade"):
                    gb.update_or_create_grade_cell(gid, name, assignment.id, max_score=float(meta.get("points", 0)),
                                                   cell_type=cell.cell_type)
                if is_solution_cell(cell):
                    gb.update_or_create_solution_cell(gid, name, assignment.id)
                gb.update_or_create_source_cell(gid, name, assignment.id, cell_type=cell.cell_type,
                                                locked=bool(meta.get("locked")), source=cell.source,
                                                checksum=meta.get("checksum"))
        for r in results:
            gb.update_or_create_student(r.student_id)
            try:
                gb.find_submission(assignment.id, r.student_id)
            except Exception:  # nbgrader raises MissingEntry
                gb.add_submission(assignment.id, r.student_id)
            for cell in r.cells:
                grade = gb.find_grade(cell.grade_id, cell.notebook, assignment.id, r.student_id)
                grade.auto_score = cell.points
                grade.needs_manual_grade = cell.manual or grade.manual_score is not None
            gb.db.commit()


def class_summary(results: list[SubmissionResult]) -> str:
    """A plain-text table for the terminal."""
    rows = [("student", "score", "max", "status")]
    for r in sorted(results, key=lambda r: r.student_id):
        rows.append((r.student_id, _fmt(r.score), _fmt(r.max_score), r.status))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_class_report(path: Path, assignment: Assignment, results: list[SubmissionResult]) -> None:
    """Per grade cell: mean score and how many students got full marks; the most common failure messages."""
    lines = [f"<!DOCTYPE html><html lang='tr'><head><meta charset='utf-8'><title>{html.escape(assignment.id)}</title>"
             "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}td,th{padding:.3rem .6rem;"
             "border-bottom:1px solid #ddd;text-align:left}</style></head><body>",
             f"<h1>{html.escape(assignment.id)} — sınıf raporu ({len(results)} öğrenci)</h1><table>",
             "<tr><th>Soru</th><th>Ortalama</th><th>Tam puan alan</th><th>En sık hata</th></tr>"]
    for cell in assignment.grade_cells:
        if cell.manual:
            continue
        scores = [c for r in results for c in r.cells if c.grade_id == cell.grade_id]
        mean = sum(c.points or 0 for c in scores) / len(scores) if scores else 0.0
        full = sum(1 for c in scores if (c.points or 0) >= c.max_points - 1e-9)
        messages: dict[str, int] = {}
        for c in scores:
            for chk in c.checks:
                if not chk.passed and not chk.skipped:
                    messages[chk.message] = messages.get(chk.message, 0) + 1
        common = max(messages.items(), key=lambda kv: (kv[1], kv[0]))[0] if messages else ""
        lines.append(f"<tr><td><code>{html.escape(cell.grade_id)}</code></td><td>{mean:.2f} / {cell.points:.2f}</td>"
                     f"<td>{full}</td><td>{html.escape(printable(common)[:200])}</td></tr>")
    lines.append("</table></body></html>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
