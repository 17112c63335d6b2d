"""How many realistic mistakes the hidden checks catch, and whether correct alternatives keep full marks.

    python benchmarks/catch_rate.py ASSIGNMENT SET_DIR [--workers N] [--json OUT.json]

SET_DIR holds a set written by someone who read only the released notebooks:
    base/<notebook>.ipynb             their correct solution of every notebook
    subs/<variant_id>/<notebook>.ipynb one variant (a one-mistake bug, or a correct alternative) per folder
    variants.json                     [{"id", "notebook", "kind": "bug"|"device_bug"|"alternative", ...}]
A bug is caught when its notebook scores less than the base's notebook; an alternative is right when its notebook
earns every point. Prints per notebook and in all; the figures, not an assertion.

    --export DIR   also write DIR/mutants_<notebook>.toml and DIR/alternatives_<notebook>.toml: every variant as
                   the assignment's own entry (answer cells as written, added cells, the cells it lost today), to
                   review, give a requirement and feedback text, and move into source/<assignment>/.
"""
import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.assignment import Assignment, Course  # noqa: E402
from autograder.grading import GradeOptions, grade_class  # noqa: E402
from autograder.isolation import detect_isolation  # noqa: E402
from autograder.notebook import read_notebook  # noqa: E402
from autograder.assignment import nbgrader_meta  # noqa: E402
from autograder.submissions import Submission  # noqa: E402


def answer_cells(path: Path) -> tuple[dict, list]:
    """A submitted notebook as (answer cells by grade_id, added cells as [after grade_id, source])."""
    nb = read_notebook(path)
    cells, added, last = {}, [], ""
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if gid:
            last = gid
            if meta.get("solution") and cell.cell_type == "code":
                cells[gid] = cell.source
        elif cell.cell_type == "code" and cell.source.strip():
            added.append([last, cell.source])
    return cells, added


def export(rows, variants, set_dir: Path, out: Path, prefix: str):
    import tomli_w

    out.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, dict] = {}
    for row in rows:
        v = variants[row["id"]]
        nb = row["notebook"]
        cells, added = answer_cells(set_dir / "subs" / row["id"] / v["notebook"])
        entry = {"name": f"{prefix}{row['id']}", "description": v.get("description", ""), "notebook": nb,
                 "origin": "blind", "cells": cells}
        if added:
            entry["added"] = added
        if row["kind"] == "alternative":
            by_file.setdefault(f"alternatives_{nb}.toml", {"alternative": []})["alternative"].append(entry)
        else:
            entry.update(requirement="", feedback="", loses=row["lost"])
            entry["caught_today"] = row["ok"]
            by_file.setdefault(f"mutants_{nb}.toml", {"mutant": []})["mutant"].append(entry)
    for name, data in by_file.items():
        (out / name).write_text(tomli_w.dumps(data, multiline_strings=True))
        print(f"wrote {out / name}")


def notebook_points(result, notebook):
    cells = [c for c in result.cells if c.notebook == notebook and not c.manual]
    return sum(c.points or 0 for c in cells), sum(c.max_points for c in cells)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("assignment")
    parser.add_argument("set_dir", type=Path)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="write every variant's outcome here")
    parser.add_argument("--export", type=Path, help="write the variants as mutants/alternatives entries here")
    parser.add_argument("--prefix", default="blind_", help="prefix of exported names")
    args = parser.parse_args()
    course = Course.find(ROOT)
    assignment = Assignment.load(course, args.assignment)
    variants = {v["id"]: v for v in json.loads((args.set_dir / "variants.json").read_text())}
    subs = [Submission("0-base", sorted((args.set_dir / "base").glob("*.ipynb")))]
    only = {}
    for vid, v in sorted(variants.items()):
        folder = args.set_dir / "subs" / vid
        if not folder.is_dir():
            continue
        subs.append(Submission(vid, sorted(folder.glob("*.ipynb"))))
        only[vid] = {v["notebook"].removesuffix(".ipynb")}
    options = GradeOptions(isolation=detect_isolation("auto"))
    results = {r.student_id: r for r in grade_class(assignment, subs, options, args.workers, only=only)}
    base = results.pop("0-base")
    rows, per_nb = [], {}
    for vid, res in sorted(results.items()):
        v = variants[vid]
        nb = v["notebook"].removesuffix(".ipynb")
        got, top = notebook_points(res, nb)
        ref, _ = notebook_points(base, nb)
        lost = sorted(c.grade_id for c in res.cells if c.notebook == nb and not c.manual
                      and (c.points or 0) < c.max_points - 1e-9)
        if v["kind"] == "alternative":
            ok = got >= top - 1e-9
        else:
            ok = got < ref - 1e-9
        messages = [c.message for cell in res.cells if cell.notebook == nb for c in cell.checks
                    if not c.passed and not c.skipped]
        rows.append({"id": vid, "notebook": nb, "kind": v["kind"], "ok": ok, "points": round(got, 2),
                     "max": round(top, 2), "base": round(ref, 2), "lost": lost, "status": res.status,
                     "messages": messages[:3], "description": v.get("description", "")})
        stats = per_nb.setdefault(nb, {"bugs": 0, "caught": 0, "alts": 0, "alts_ok": 0})
        if v["kind"] == "alternative":
            stats["alts"] += 1
            stats["alts_ok"] += ok
        else:
            stats["bugs"] += 1
            stats["caught"] += ok
    print(f"{args.assignment}: base solution {base.score:.2f} / {base.max_score:.2f} ({base.status})")
    for cell in base.cells:
        if not cell.manual and (cell.points or 0) < cell.max_points - 1e-9:
            failing = [c.message[:160] for c in cell.checks if not c.passed and not c.skipped]
            print(f"  base loses {cell.grade_id}: {cell.points:.2f}/{cell.max_points:.2f} {failing[:2]}")
    total = {"bugs": 0, "caught": 0, "alts": 0, "alts_ok": 0}
    for nb, st in sorted(per_nb.items()):
        for key in total:
            total[key] += st[key]
        rate = st["caught"] / st["bugs"] if st["bugs"] else 1.0
        print(f"  {nb:28s} bugs caught {st['caught']:3d}/{st['bugs']:3d} ({rate:6.1%})   "
              f"alternatives at full marks {st['alts_ok']}/{st['alts']}")
    rate = total["caught"] / total["bugs"] if total["bugs"] else 1.0
    print(f"  {'ALL':28s} bugs caught {total['caught']:3d}/{total['bugs']:3d} ({rate:6.1%})   "
          f"alternatives at full marks {total['alts_ok']}/{total['alts']}")
    for row in rows:
        if not row["ok"]:
            what = "MISSED" if row["kind"] != "alternative" else "ALT LOST POINTS"
            print(f"  {what:15s} {row['id']}: {row['description'][:110]} {row['lost'] or ''} {row['messages'][:1]}")
    if args.json:
        args.json.write_text(json.dumps({"base": base.score, "rows": rows}, ensure_ascii=False, indent=1))
    if args.export:
        export(rows, variants, args.set_dir, args.export, args.prefix)


if __name__ == "__main__":
    main()
