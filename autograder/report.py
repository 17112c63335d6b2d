"""The class report (``report.html``): what a class got right and wrong, for the instructor, in Turkish.

One self-contained page that opens offline: a score histogram, per-question mean and full-marks bars and
per-notebook subtotals (plots drawn with matplotlib and embedded as PNG data), the most common diagnoses per
question with how many students got each (a stub's ``NotImplementedError`` counts as "not attempted"), and a
table of students linking to each one's feedback page. Students whose grading failed (status ``error``) are
listed but left out of the statistics; written answers count once a grader scored them. Every text is escaped
and stripped of control characters; the page has no scripts.
"""
from __future__ import annotations

import base64
import io
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, select_autoescape

from autograder.assignment import Assignment

MEAN_COLOR = "#2b6cb0"  # bars of means and the histogram
FULL_COLOR = "#38a169"  # bars of full marks
NOT_ATTEMPTED = "denenmedi: fonksiyon henüz yazılmamış (NotImplementedError)"
TOP_DIAGNOSES = 5


def diagnosis(message: str) -> str:
    """What a failing check's message says, as the report groups it: a stub's NotImplementedError (whatever
    the check made of it) is "not attempted"; anything else is the message itself, whole."""
    from autograder.records import printable

    text = " ".join(printable(str(message or "")).split())
    if "NotImplementedError" in text:
        return NOT_ATTEMPTED
    return text or "başarısız (mesaj yok)"


def cell_diagnoses(cell) -> list[tuple[str, list[str]]]:
    """The distinct diagnoses of a grade cell's failing checks, in check order, each with its checks' names."""
    found: dict[str, list[str]] = {}
    for check in cell.checks:
        if check.passed or check.skipped:
            continue
        found.setdefault(diagnosis(check.message), []).append(check.check.split("::")[-1])
    return list(found.items())


def shorten(text: str, limit: int = 240) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:.") + " …"


@dataclass
class QuestionStats:
    grade_id: str
    notebook: str
    points: float
    manual: bool
    graded: int = 0
    mean: float = 0.0
    full: int = 0
    waiting: int = 0
    diagnoses: list[dict] = field(default_factory=list)  # {"text", "short", "students", "share", "checks"}


def _question_stats(assignment: Assignment, rows) -> list[QuestionStats]:
    out = []
    for cell in assignment.grade_cells:
        q = QuestionStats(cell.grade_id, cell.notebook, cell.points, cell.manual)
        given = [row.points.get(cell.grade_id) for row in rows if cell.grade_id in row.points]
        graded = [p for p in given if p is not None]
        q.graded, q.waiting = len(graded), len(given) - len(graded)
        q.mean = sum(graded) / len(graded) if graded else 0.0
        q.full = sum(1 for p in graded if p >= cell.points - 1e-9)
        students: Counter = Counter()
        checks: dict[str, set[str]] = {}
        for row in rows:
            score = next((c for c in row.result.cells if c.grade_id == cell.grade_id), None)
            if score is None or cell.manual:
                continue
            for text, names in cell_diagnoses(score):
                students[text] += 1  # each student once per diagnosis
                checks.setdefault(text, set()).update(names)
        total = max(len(rows), 1)
        for text, n in sorted(students.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_DIAGNOSES]:
            q.diagnoses.append({"text": text, "short": shorten(text), "students": n, "share": n / total,
                                "checks": sorted(checks[text])})
        out.append(q)
    return out


def _notebook_stats(assignment: Assignment, rows) -> list[dict]:
    out = []
    for name, spec in assignment.notebooks.items():
        cells = [c for c in spec.grade_cells]
        points = sum(c.points for c in cells)
        totals = [sum(row.points.get(c.grade_id) or 0.0 for c in cells) for row in rows]
        mean = sum(totals) / len(totals) if totals else 0.0
        out.append({"name": name, "points": points, "mean": mean, "share": mean / points if points else 0.0,
                    "full": sum(1 for t in totals if points and t >= points - 1e-9), "questions": len(cells)})
    return out


# ------------------------------------------------------------------------------------------------ plots

def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def histogram_png(scores: list[float], max_score: float) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    top = max(max_score, max(scores, default=0.0), 1e-9)
    n_bins = int(min(20, max(4, math.ceil(top))))
    edges = [top * i / n_bins for i in range(n_bins + 1)]
    ax.hist(scores, bins=edges, color=MEAN_COLOR, edgecolor="white")
    ax.set_xlim(0, top)
    ax.set_xlabel("Puan")
    ax.set_ylabel("Öğrenci sayısı")
    ax.set_title(f"Puan dağılımı (en yüksek {max_score:g})")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig)


def bars_png(labels: list[str], means: list[float], fulls: list[float], title: str) -> str:
    """Horizontal bars per label: mean as % of the points, and % of students with full marks."""
    plt = _pyplot()
    height = 1.5 + 0.45 * max(len(labels), 1)
    fig, ax = plt.subplots(figsize=(7.5, height))
    ys = list(range(len(labels)))
    ax.barh([y - 0.2 for y in ys], [100 * m for m in means], height=0.38, color=MEAN_COLOR,
            label="ortalama (% puan)")
    ax.barh([y + 0.2 for y in ys], [100 * f for f in fulls], height=0.38, color=FULL_COLOR,
            label="tam puan alan (% öğrenci)")
    ax.set_yticks(ys, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter("%{x:.0f}")
    ax.set_title(title, loc="left", pad=22)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, fontsize="small", frameon=False,
              borderaxespad=0.2)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig)


# ------------------------------------------------------------------------------------------------- page

TEMPLATE = """<!DOCTYPE html>
<html lang="tr"><head><meta charset="utf-8">
<title>{{ a.id }} – sınıf raporu</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
td, th { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
img.plot { max-width: 100%; height: auto; display: block; margin: .5rem 0 1rem; }
.summary span { display: inline-block; margin-right: 1.2rem; }
.diag li { margin: .25rem 0; } .checks { color: #666; font-size: .9em; }
.bad { color: #a4161a; } .muted { color: #777; }
details summary { cursor: pointer; }
code { background: #f3f3f3; padding: 0 .2rem; }
</style></head><body>
<h1>{{ a.id }} — sınıf raporu ({{ rows|length }} öğrenci)</h1>
<p class="summary">
{% if counted %}<span>ortalama <b>{{ "%.2f"|format(mean) }}</b> / {{ "%.2f"|format(max_score) }} (%{{ "%.0f"|format(100 * mean / max_score if max_score else 0) }})</span>
<span>medyan {{ "%.2f"|format(median) }}</span><span>en yüksek {{ "%.2f"|format(best) }}</span><span>en düşük {{ "%.2f"|format(worst) }}</span>
<span>tam puan alan: {{ full }}</span>{% endif %}
<span>durum: {% for s, n in statuses %}{{ s }} {{ n }}{% if not loop.last %}, {% endif %}{% endfor %}</span>
<span>geç teslim cezası alan: {{ late }}</span>{% if waiting %}<span>notlandırılmayı bekleyen yazılı cevap: {{ waiting }}</span>{% endif %}</p>
{% if errors %}<p class="bad">Notlandırılamayan (durum <code>error</code>, istatistiklere katılmadı): {{ errors|join(", ") }}</p>{% endif %}
{% if counted %}
<h2>Puan dağılımı</h2>
<img class="plot" alt="Puan dağılımı histogramı" src="{{ histogram }}">
<h2>Sorular</h2>
<img class="plot" alt="Soru başına ortalama ve tam puan alanlar" src="{{ question_plot }}">
<table><tr><th>Soru</th><th>Defter</th><th class="num">Puan</th><th class="num">Ortalama</th><th class="num">Tam puan alan</th><th>Not</th></tr>
{% for q in questions %}<tr><td><code>{{ q.grade_id }}</code></td><td>{{ q.notebook }}</td><td class="num">{{ "%g"|format(q.points) }}</td>
<td class="num">{{ "%.2f"|format(q.mean) }}</td><td class="num">{{ q.full }} / {{ q.graded }}</td>
<td>{% if q.manual %}yazılı cevap{% if q.waiting %}; {{ q.waiting }} cevap notlandırılmayı bekliyor{% endif %}{% endif %}</td></tr>
{% endfor %}</table>
<h2>Defterler</h2>
<img class="plot" alt="Defter başına ortalama ve tam puan alanlar" src="{{ notebook_plot }}">
<table><tr><th>Defter</th><th class="num">Soru</th><th class="num">Puan</th><th class="num">Ortalama</th><th class="num">Tam puan alan</th></tr>
{% for nb in notebooks %}<tr><td>{{ nb.name }}.ipynb</td><td class="num">{{ nb.questions }}</td><td class="num">{{ "%g"|format(nb.points) }}</td>
<td class="num">{{ "%.2f"|format(nb.mean) }} (%{{ "%.0f"|format(100 * nb.share) }})</td><td class="num">{{ nb.full }}</td></tr>
{% endfor %}</table>
<h2>En sık tanılar</h2>
<p class="muted">Her soruda başarısız kontrollerin söyledikleri; her öğrenci bir tanıda bir kez sayılır.</p>
{% for q in questions if q.diagnoses %}<h3><code>{{ q.grade_id }}</code> <small class="muted">({{ q.notebook }}, ortalama {{ "%.2f"|format(q.mean) }} / {{ "%g"|format(q.points) }})</small></h3>
<ol class="diag">{% for d in q.diagnoses %}<li><b>{{ d.students }} öğrenci</b> (%{{ "%.0f"|format(100 * d.share) }}):
{% if d.short != d.text %}<details><summary>{{ d.short }}</summary>{{ d.text }}</details>{% else %}{{ d.text }}{% endif %}
<span class="checks">— {{ d.checks|join(", ") }}</span></li>{% endfor %}</ol>
{% else %}<p>Hiçbir soruda başarısız kontrol yok.</p>{% endfor %}
{% endif %}
<h2>Öğrenciler</h2>
<table><tr><th>Öğrenci</th><th class="num">Puan</th><th class="num">Otomatik</th><th class="num">Elle</th><th class="num">Geç teslim</th><th>Durum</th>
{% for nb in notebooks %}<th class="num">{{ nb.name }}</th>{% endfor %}<th>Bekleyen</th></tr>
{% for s in students %}<tr><td><a href="{{ s.href }}">{{ s.name }}</a>{% if s.name != s.id %} <small class="muted">({{ s.id }})</small>{% endif %}{% if s.late_flag %} <small class="bad">LATE</small>{% endif %}</td>
<td class="num">{{ "%.2f"|format(s.score) }} / {{ "%.2f"|format(s.max) }}</td><td class="num">{{ "%.2f"|format(s.auto) }}</td>
<td class="num">{% if s.manual is none %}–{% else %}{{ "%.2f"|format(s.manual) }}{% endif %}</td>
<td class="num">{% if s.late %}−{{ "%.2f"|format(s.late) }}{% endif %}</td><td>{{ s.status }}</td>
{% for t in s.notebooks %}<td class="num">{{ "%.2f"|format(t) }}</td>{% endfor %}<td>{{ s.waiting|join(", ") }}</td></tr>
{% endfor %}</table>
{% if skipped %}<h2>Kullanılamayan girdiler</h2>
<p class="muted">Teslim klasöründe tanınmayan ve notlandırılmayan girdiler:</p>
<ul>{% for line in skipped %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""


def _env() -> Environment:
    from autograder.records import printable

    return Environment(autoescape=select_autoescape(default=True, default_for_string=True), finalize=printable)


def render_report(assignment: Assignment, rows, skipped: list[str] | None = None) -> str:
    """The report's HTML for ``rows`` (records.Row, one per student)."""
    rows = sorted(rows, key=lambda r: r.result.student_id)
    counted = [row for row in rows if row.result.status != "error"]
    questions = _question_stats(assignment, counted)
    notebooks = _notebook_stats(assignment, counted)
    max_score = counted[0].max_score if counted else sum(c.points for c in assignment.grade_cells)
    scores = [row.score for row in counted]
    context = {"a": assignment, "rows": rows, "counted": bool(counted), "questions": questions,
               "notebooks": notebooks, "max_score": max_score, "skipped": list(skipped or []),
               "statuses": sorted(Counter(row.result.status for row in rows).items()),
               "late": sum(1 for row in rows if row.late_penalty),
               "waiting": sum(len(row.waiting) for row in counted),
               "errors": [row.result.student_id for row in rows if row.result.status == "error"]}
    if counted:
        context.update(mean=statistics.fmean(scores), median=statistics.median(scores), best=max(scores),
                       worst=min(scores), full=sum(1 for s in scores if s >= max_score - 1e-9),
                       histogram=histogram_png(scores, max_score),
                       question_plot=bars_png([q.grade_id for q in questions],
                                              [q.mean / q.points if q.points else 0.0 for q in questions],
                                              [q.full / q.graded if q.graded else 0.0 for q in questions],
                                              "Sorular: ortalama ve tam puan"),
                       notebook_plot=bars_png([nb["name"] for nb in notebooks], [nb["share"] for nb in notebooks],
                                              [nb["full"] / len(counted) for nb in notebooks],
                                              "Defterler: ortalama ve tam puan"))
    students = []
    for row in rows:
        identity = row.result.identity or {}
        sid = row.result.student_id
        students.append({"id": sid, "name": identity.get("name") or sid, "href": f"feedback/{quote(sid)}.html",
                         "score": row.score, "max": row.max_score, "auto": row.auto_score,
                         "manual": row.manual_score, "late": row.late_penalty, "status": row.result.status,
                         "late_flag": bool(identity.get("late")), "waiting": row.waiting,
                         "notebooks": [sum(row.points.get(c.grade_id) or 0.0 for c in spec.grade_cells)
                                       for spec in assignment.notebooks.values()]})
    context["students"] = students
    return _env().from_string(TEMPLATE).render(**context)


def write_report(path: Path, assignment: Assignment, rows, skipped: list[str] | None = None) -> Path:
    from autograder.records import write_text_atomic

    write_text_atomic(path, render_report(assignment, rows, skipped))
    return path
