"""The CI gate: an assignment is trustworthy only if all of this holds.

1. assignments/ and solutions/ are exactly what `release` makes from source/;
2. nothing hidden (solution code, hidden checks, mutants) is in assignments/;
3. every autograded grade cell has hidden checks;
4. the reference solution earns full marks, every check passing;
5. the released stubs earn zero;
6. every mutant loses points on exactly the grade cells it declares;
7. every hidden check fails on at least one mutant (a check no mutant trips is untested).
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.assignment import Assignment, Course, CourseError, Mutant, nbgrader_meta
from autograder.grading import GradeOptions, grade_class
from autograder.release import HIDDEN, generate
from autograder.submissions import Submission

SOLUTION_BLOCK = re.compile(r"### BEGIN SOLUTION(.*?)### END SOLUTION", re.S)


@dataclass
class Row:
    assignment: str
    item: str
    ok: bool
    detail: str = ""


def _notebook_json(path: Path) -> str:
    return nbformat.writes(nbformat.read(path, as_version=4))


def check_sync(course: Course, aid: str) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="ag-validate-") as tmp:
        rel, sol = Path(tmp) / "release", Path(tmp) / "solution"
        generate(course, aid, rel, sol)
        for label, fresh, committed in (("assignments", rel, course.release_dir / aid),
                                        ("solutions", sol, course.solutions_dir / aid)):
            want = sorted(p.name for p in fresh.glob("*.ipynb"))
            have = sorted(p.name for p in committed.glob("*.ipynb")) if committed.is_dir() else []
            stale = [n for n in want if n not in have or _notebook_json(fresh / n) != _notebook_json(committed / n)]
            extra = [n for n in have if n not in want]
            ok = not stale and not extra
            detail = "" if ok else ("out of date: " + ", ".join(stale + extra) + f" (run `autograder release {aid}`)")
            rows.append(Row(aid, f"{label}/ in sync with source/", ok, detail))
    return rows


def check_leaks(course: Course, aid: str) -> list[Row]:
    released = course.release_dir / aid
    problems = []
    for path in sorted(released.rglob("*")):
        if path.is_file() and path.suffix != ".ipynb":
            problems.append(f"non-notebook file {path.relative_to(released)}")
        if any(part in HIDDEN for part in path.relative_to(released).parts):
            problems.append(f"hidden material {path.relative_to(released)}")
    # A solution line is secret unless the source also shows it outside solution blocks (instructions may
    # quote `model.to(device)`, a visible check may repeat a call): the release is made of that public text.
    secret_lines, public_text = set(), []
    for src in sorted((course.source_dir / aid).glob("*.ipynb")):
        for cell in nbformat.read(src, as_version=4).cells:
            for block in SOLUTION_BLOCK.findall(cell.source):
                for line in block.splitlines():
                    line = line.strip()
                    if len(line) >= 16 and not line.startswith("#"):
                        secret_lines.add(line)
            public_text.append(SOLUTION_BLOCK.sub("", cell.source))
    public = "\n".join(public_text)
    secret_lines = {line for line in secret_lines if line not in public}
    check_sources = [p.read_text() for p in (course.source_dir / aid / "checks").rglob("*.py")] \
        if (course.source_dir / aid / "checks").is_dir() else []
    for path in sorted(released.glob("*.ipynb")):
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        if "BEGIN SOLUTION" in text or "BEGIN HIDDEN TESTS" in text:
            problems.append(f"{path.name}: solution markers left in")
        for line in sorted(secret_lines):
            if line in text:
                problems.append(f"{path.name}: solution line released: {line[:60]!r}")
        for check in check_sources:
            if len(check) > 200 and check.strip() in text:
                problems.append(f"{path.name}: hidden check source released")
    return [Row(aid, "nothing hidden in assignments/", not problems, "; ".join(problems[:5]))]


def apply_cells(solution_nb, cells: dict[str, str], added: list[tuple[str, str]], what: str):
    """The solution with these answer cells replaced and these cells added (after a grade_id; "" = at the end)."""
    nb = nbformat.from_dict(solution_nb)
    ids = {nbgrader_meta(c).get("grade_id"): c for c in nb.cells}
    for gid, source in cells.items():
        if gid not in ids or not nbgrader_meta(ids[gid]).get("solution"):
            raise CourseError(f"{what}: {gid!r} is no answer cell of this notebook")
        ids[gid].source = source
    for after, source in added:
        new = nbformat.v4.new_code_cell(source)
        if not after:
            nb.cells.append(new)
            continue
        if after not in ids:
            raise CourseError(f"{what}: added cell after unknown cell {after!r}")
        nb.cells.insert(nb.cells.index(ids[after]) + 1, new)
    return nb


def apply_mutant(solution_nb, mutant: Mutant):
    if mutant.cells:
        return apply_cells(solution_nb, mutant.cells, mutant.added, f"mutant {mutant.name}")
    nb = nbformat.from_dict(solution_nb)
    cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == mutant.cell]
    if len(cells) != 1:
        raise CourseError(f"mutant {mutant.name}: cell {mutant.cell!r} not found in {mutant.notebook}")
    cell = cells[0]
    for old, new in mutant.replace:
        count = cell.source.count(old)
        if count != 1:
            raise CourseError(f"mutant {mutant.name}: {old!r} occurs {count} times in cell {mutant.cell} (needs 1)")
        cell.source = cell.source.replace(old, new)
    return nb


#: Trivial answers that must earn nothing: each replaces every `raise NotImplementedError()` of a stub's
#: functions. "first argument" returns the input itself (the first parameter after self/cls).
TRIVIAL_ANSWERS = {
    "return None": lambda first: "None",
    "return the first argument": lambda first: first or "None",
    "return 0": lambda first: "0",
    "return an empty array": lambda first: "__import__('numpy').zeros(0)",
    "return an empty tensor": lambda first: "__import__('torch').zeros(0)",
}


def _trivial_source(source: str, answer) -> str:
    """The stub cell with each function's `raise NotImplementedError` replaced by a trivial `return`."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        params = [a.arg for a in node.args.posonlyargs + node.args.args]
        if params and params[0] in ("self", "cls"):
            params = params[1:]
        for stmt in node.body:
            if isinstance(stmt, ast.Raise) and "NotImplementedError" in ast.unparse(stmt):
                indent = lines[stmt.lineno - 1][: stmt.col_offset]
                lines[stmt.lineno - 1] = f"{indent}return {answer(params[0] if params else None)}"
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def trivial_stub(stub_nb, answer):
    nb = nbformat.from_dict(stub_nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            cell.source = _trivial_source(cell.source, answer)
    return nb


def _submission(folder: Path, student: str, notebooks: dict[str, object]) -> Submission:
    target = folder / student
    target.mkdir(parents=True)
    files = []
    for name, nb in notebooks.items():
        path = target / f"{name}.ipynb"
        nbformat.write(nb, path)
        files.append(path)
    return Submission(student, files)


def check_grading(course: Course, aid: str, options: GradeOptions, workers: int) -> list[Row]:
    assignment = Assignment.load(course, aid)
    mutants = assignment.mutants()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ag-validate-") as tmp:
        folder = Path(tmp)
        solutions = {name: nbformat.read(course.solutions_dir / aid / f"{name}.ipynb", as_version=4)
                     for name in assignment.notebooks}
        stubs = {name: spec.nb for name, spec in assignment.notebooks.items()}
        subs = [_submission(folder, "0-solution", solutions), _submission(folder, "0-stub", stubs)]
        trivial = {f"0-trivial-{i}": kind for i, kind in enumerate(TRIVIAL_ANSWERS)}
        for sid, kind in trivial.items():
            subs.append(_submission(folder, sid, {name: trivial_stub(nb, TRIVIAL_ANSWERS[kind])
                                                  for name, nb in stubs.items()}))
        only = {}
        for i, m in enumerate(mutants):
            if m.notebook not in assignment.notebooks:
                raise CourseError(f"mutant {m.name}: unknown notebook {m.notebook!r}")
            unknown = [g for g in m.loses if assignment.grade_cell(g) is None]
            if unknown:
                raise CourseError(f"mutant {m.name}: loses names unknown grade cells {unknown}")
            sid = f"mutant-{i:03d}"
            subs.append(_submission(folder, sid, {m.notebook: apply_mutant(solutions[m.notebook], m)}))
            only[sid] = {m.notebook}
        alternatives = assignment.alternatives()
        for i, alt in enumerate(alternatives):
            if alt.notebook not in assignment.notebooks:
                raise CourseError(f"alternative {alt.name}: unknown notebook {alt.notebook!r}")
            sid = f"alternative-{i:03d}"
            nb = apply_cells(solutions[alt.notebook], alt.cells, alt.added, f"alternative {alt.name}")
            subs.append(_submission(folder, sid, {alt.notebook: nb}))
            only[sid] = {alt.notebook}
        results = {r.student_id: r for r in grade_class(assignment, subs, options, workers, only=only)}

    sol = results["0-solution"]
    auto_cells = [c for c in sol.cells if not c.manual]
    unchecked = [c.grade_id for c in auto_cells if not c.checks]
    rows.append(Row(aid, "every grade cell has hidden checks", not unchecked,
                    "no checks for: " + ", ".join(unchecked) if unchecked else ""))
    failing = [f"{c.check}: {c.message[:120]}" for cell in sol.cells for c in cell.checks if not c.passed and not c.skipped]
    rows.append(Row(aid, "solution earns full marks", sol.score == sol.max_score and not failing and sol.status == "ok",
                    f"{sol.score:g}/{sol.max_score:g} status={sol.status}" + ("; " + "; ".join(failing[:3]) if failing else "")))
    stub = results["0-stub"]
    rows.append(Row(aid, "stubs earn zero", stub.score == 0, f"{stub.score:g}/{stub.max_score:g}"))
    for sid, kind in trivial.items():
        res = results[sid]
        earned = [f"{c.grade_id} {c.points:g}" for c in res.cells if not c.manual and (c.points or 0) > 0]
        rows.append(Row(aid, f"trivial stub ({kind}) earns zero", not earned,
                        f"{res.score:g}/{res.max_score:g}: " + ", ".join(earned[:6]) if earned else ""))

    requirements = assignment.requirements()
    known_requirements = {r.id for r in requirements or []}
    caught: set[str] = set()
    for i, m in enumerate(mutants):
        res = results[f"mutant-{i:03d}"]
        lost = {c.grade_id for c in res.cells if not c.manual and (c.points or 0) < c.max_points - 1e-9}
        declared = set(m.loses)
        messages = [c.message for cell in res.cells for c in cell.checks if not c.passed and not c.skipped]
        parts = []
        if declared - lost:
            parts.append("kept points on " + ", ".join(sorted(declared - lost)))
        if lost - declared:
            parts.append("also lost " + ", ".join(sorted(lost - declared)))
        if res.status != "ok":
            parts.append(f"status {res.status}")
        if m.feedback and not any(m.feedback in msg for msg in messages):
            parts.append(f"no failing check says {m.feedback!r}" + (f" (first: {messages[0][:100]!r})" if messages else ""))
        if requirements is not None and m.requirement not in known_requirements:
            parts.append(f"names no known requirement ({m.requirement!r})")
        rows.append(Row(aid, f"mutant {m.name}", not parts, "; ".join(parts)))
        caught |= {c.check for cell in res.cells for c in cell.checks if not c.passed and not c.skipped}
    for i, alt in enumerate(alternatives):
        res = results[f"alternative-{i:03d}"]
        lost = [f"{c.grade_id} {c.points or 0:g}/{c.max_points:g}" for c in res.cells
                if not c.manual and (c.points or 0) < c.max_points - 1e-9]
        first = next((c.message[:120] for cell in res.cells for c in cell.checks if not c.passed and not c.skipped), "")
        rows.append(Row(aid, f"alternative {alt.name} earns full marks", not lost and res.status == "ok",
                        (", ".join(lost[:4]) + (f"; {first}" if first else "")) if lost else ""))
    all_checks = {c.check for cell in sol.cells for c in cell.checks if not c.skipped}
    rows += check_requirements(aid, requirements, all_checks)
    never = sorted(all_checks - caught)
    rows.append(Row(aid, "every check fails on some mutant", not never,
                    "never fails: " + ", ".join(never[:8]) + (" …" if len(never) > 8 else "") if never else
                    f"{len(all_checks)} checks, {len(mutants)} mutants"))
    return rows


def _check_function(name: str) -> tuple[str, str]:
    """("test_file.py::test_name", "test_name") of a collected check, parameters dropped."""
    full = name.split("[", 1)[0]
    return full, full.rsplit("::", 1)[-1]


def check_requirements(aid: str, requirements, checks: set[str]) -> list[Row]:
    """Every requirement the task text states has a check, and every check verifies a stated requirement."""
    if requirements is None:
        # Reported, not failed: an assignment is given its table when its checks are reviewed against the text.
        return [Row(aid, "requirements table", True, f"none yet (source/{aid}/requirements.toml): coverage not checked")]
    names = {_check_function(c) for c in checks}
    refs = {ref for r in requirements for ref in r.checks}
    unchecked = [r.id for r in requirements if not any(ref in pair for ref in r.checks for pair in names)]
    dangling = sorted(ref for ref in refs if not any(ref in pair for pair in names))
    orphan = sorted({full for full, short in names if full not in refs and short not in refs})
    return [
        Row(aid, "every requirement has a check", not unchecked and not dangling,
            "; ".join(filter(None, ["no check: " + ", ".join(unchecked[:6]) if unchecked else "",
                                    "unknown checks: " + ", ".join(dangling[:6]) if dangling else ""]))
            or f"{len(requirements)} requirements"),
        Row(aid, "every check verifies a requirement", not orphan,
            "names no requirement: " + ", ".join(orphan[:6]) + (" …" if len(orphan) > 6 else "") if orphan else ""),
    ]


def validate(course: Course, ids: list[str], options: GradeOptions, workers: int) -> list[Row]:
    rows = []
    for aid in ids or course.assignment_ids():
        rows += check_sync(course, aid)
        rows += check_leaks(course, aid)
        rows += check_grading(course, aid, options, workers)
    return rows


def format_rows(rows: list[Row]) -> str:
    width = max((len(r.assignment) for r in rows), default=10)
    item_w = max((len(r.item) for r in rows), default=10)
    lines = []
    for r in rows:
        mark = "PASS" if r.ok else "FAIL"
        lines.append(f"{mark}  {r.assignment.ljust(width)}  {r.item.ljust(item_w)}  {r.detail}".rstrip())
    return "\n".join(lines)
