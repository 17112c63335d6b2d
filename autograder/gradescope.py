"""Grading on Gradescope with this engine: the autograder zip, and what runs inside it for each submission.

Gradescope's Autograder Specifications (gradescope-autograders.readthedocs.io/en/latest/specs/) ask for a zip
with ``setup.sh`` (run once, as root, to build the image) and ``run_autograder`` (run for each submission, in
``/autograder``) at its root. Gradescope unpacks the zip to ``/autograder/source``, puts the student's files in
``/autograder/submission`` (and ``/autograder/submission_metadata.json`` beside it) and reads the grade from
``/autograder/results/results.json``.

``autograder gradescope A`` writes such a zip holding:

    setup.sh, run_autograder     the two scripts
    settings.json                the assignment, the limits and the tests' visibility
    engine/                      this package's source, a pyproject.toml and the versions it was built with
    course/assignments/A/        the release (what submissions are rebuilt on)
    course/source/A/             the instructor's notebooks and the hidden checks (no mutants)

``setup.sh`` installs Python ≥ 3.11, bubblewrap and the engine (PyTorch from its CPU index) into
``/opt/autograder-venv`` and makes ``/autograder/source`` readable by root only. ``run_autograder`` runs
``python -m autograder.gradescope run``: it grades the submission exactly as ``autograder grade`` does (student
code in the sandbox, run as an unprivileged user: it cannot read the hidden checks) and writes results.json with
one test per question (:func:`autograder.lms.exports.gradescope_results`). Late work is Gradescope's to handle;
written answers are left to Gradescope's manual grading.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
import tomllib
import traceback
import zipfile
from pathlib import Path

import autograder
from autograder.assignment import Assignment, Course

DIST = "pytorch-temelleri-autograder"
VENV = "/opt/autograder-venv"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Autograder Specifications:
# https://gradescope-autograders.readthedocs.io/en/latest/specs/). It installs Python >= 3.11, bubblewrap and
# the grading engine with the versions it was built with, then makes the course files (hidden checks included)
# readable by root only: student code runs as an unprivileged user.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SRC=/autograder/source
VENV={VENV}
apt-get update -qq
apt-get install -y -qq --no-install-recommends bubblewrap util-linux ca-certificates >/dev/null || true
PY=""
for candidate in python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
done
if [ -z "$PY" ]; then
  # Ubuntu 22.04 (Gradescope's default image) ships Python 3.10; 3.11 is in its universe component.
  apt-get install -y -qq python3.11 python3.11-venv >/dev/null
  PY=python3.11
fi
"$PY" -m venv "$VENV" 2>/dev/null || {{ apt-get install -y -qq "$PY-venv" >/dev/null; "$PY" -m venv "$VENV"; }}
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -c "$SRC/engine/constraints.txt" torch torchvision --index-url {TORCH_INDEX}
"$VENV/bin/pip" install -q -c "$SRC/engine/constraints.txt" "$SRC/engine"
chmod -R go-rwx "$SRC"
"""

RUN_AUTOGRADER = f"""#!/usr/bin/env bash
# Gradescope runs this for every submission, in /autograder: grade /autograder/submission with the engine
# (student code sandboxed) and write /autograder/results/results.json.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-{VENV}/bin/python}}"
chmod -R go-rwx "$ROOT/source" 2>/dev/null || true
mkdir -p "$ROOT/results"
exec "$PYTHON" -m autograder.gradescope run --root "$ROOT"
"""

ENGINE_PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
requires-python = ">=3.11"
dependencies = {dependencies}

[project.scripts]
autograder = "autograder.cli:run"

[tool.setuptools.packages.find]
include = ["autograder*"]
"""


def _dependencies() -> list[str]:
    """The engine's runtime requirements: from the checkout's pyproject.toml, else the installed metadata."""
    pyproject = Path(autograder.__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
            if project.get("name") == DIST:
                return [str(d) for d in project.get("dependencies", [])]
        except tomllib.TOMLDecodeError:
            pass
    from importlib.metadata import requires

    return [r for r in requires(DIST) or [] if "extra ==" not in r]


def _constraints(dependencies: list[str]) -> str:
    """``name==version`` for each requirement installed here: Gradescope grades with the same versions."""
    from importlib.metadata import PackageNotFoundError, version

    lines = []
    for requirement in dependencies:
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0)
        try:
            lines.append(f"{name}=={version(name).split('+')[0]}")
        except PackageNotFoundError:
            continue
    return "\n".join(lines) + "\n"


def _add(zf: zipfile.ZipFile, name: str, data: bytes | str, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed times: the same course, the same zip
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)


def _tree(folder: Path, exclude=()) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                  and "__pycache__" not in p.parts and p.suffix != ".pyc"
                  and not any(part in exclude for part in p.relative_to(folder).parts))


def build_autograder(course: Course, assignment: Assignment, out: Path, timeout: float = 60.0,
                     memory: float = 2.0, visibility: str = "visible") -> Path:
    """Write the Gradescope autograder zip for ``assignment`` to ``out`` (replaced atomically)."""
    from autograder.cli import _version

    dependencies = _dependencies()
    settings = {"assignment": assignment.id, "timeout": timeout, "memory": memory, "visibility": visibility,
                "engine": _version()}
    package = Path(autograder.__file__).resolve().parent
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH, 0o755)
        _add(zf, "run_autograder", RUN_AUTOGRADER, 0o755)
        _add(zf, "settings.json", json.dumps(settings, indent=1) + "\n")
        _add(zf, "engine/pyproject.toml", ENGINE_PYPROJECT.format(name=DIST, version=_version(),
                                                                  dependencies=json.dumps(dependencies)))
        _add(zf, "engine/constraints.txt", _constraints(dependencies))
        for path in _tree(package):
            _add(zf, f"engine/autograder/{path.relative_to(package).as_posix()}", path.read_bytes())
        for path in sorted(assignment.course.release_dir.joinpath(assignment.id).glob("*.ipynb")):
            _add(zf, f"course/assignments/{assignment.id}/{path.name}", path.read_bytes())
        for path in sorted(assignment.source_dir.glob("*.ipynb")):
            _add(zf, f"course/source/{assignment.id}/{path.name}", path.read_bytes())
        for path in _tree(assignment.checks_dir):
            _add(zf, f"course/source/{assignment.id}/checks/{path.relative_to(assignment.checks_dir).as_posix()}",
                 path.read_bytes())
    tmp.replace(out)
    return out


# ------------------------------------------------------------------------------------- inside Gradescope

def _submission(root: Path):
    """The student's files and who they are (from submission_metadata.json, when Gradescope wrote one)."""
    from autograder.lms.imports import _notebooks_first, _utc, _walk_files
    from autograder.submissions import Submission, safe_id

    metadata = {}
    meta_path = root / "submission_metadata.json"
    if meta_path.is_file() and meta_path.stat().st_size < 16 * 1024**2:
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        except ValueError:
            metadata = {}
    users = [u for u in metadata.get("users") or [] if isinstance(u, dict)] if isinstance(metadata, dict) else []
    first = users[0] if users else {}
    name = ", ".join(str(u.get("name") or "") for u in users if u.get("name")) or "student"
    student = safe_id(str(first.get("name") or "student"), str(first.get("id") or ""))
    folder = root / "submission"
    files, notes = _walk_files(folder, folder.resolve()) if folder.is_dir() else ([], [])
    created = _utc(metadata.get("created_at")) if isinstance(metadata, dict) else None
    identity = {"lms": "gradescope", "name": name, "id": str(metadata.get("id") or "") if metadata else "",
                "email": str(first.get("email") or "")}
    return Submission(student, _notebooks_first(files), notes, created, "submission_metadata.json" if created else "",
                      identity)


def run(root: Path) -> int:
    """Grade ``root/submission`` and write ``root/results/results.json``; 0 unless the grader failed."""
    from autograder.cli import _limits
    from autograder.grading import GradeOptions, close_launchers, grade_class, preflight
    from autograder.isolation import detect_isolation
    from autograder.lms.exports import gradescope_results
    from autograder.records import make_row, write_text_atomic

    t0 = time.monotonic()
    results_path = root / "results" / "results.json"
    settings = {}
    try:
        settings = json.loads((root / "source" / "settings.json").read_text(encoding="utf-8"))
        visibility = settings.get("visibility", "visible")
        course = Course((root / "source" / "course").resolve())
        assignment = Assignment.load(course, settings["assignment"])
        submission = _submission(root)
        options = GradeOptions(limits=_limits(float(settings.get("timeout", 60.0)),
                                              float(settings.get("memory", 2.0))),
                               device="cpu", isolation=detect_isolation("auto", "cpu"))
        print(f"grading {assignment.id} for {submission.student_id}: {options.isolation.describe()}")
        preflight(options, assignment)
        [result] = grade_class(assignment, [submission], options, 1)
        result.identity = dict(submission.identity)
        results = gradescope_results(make_row(result), visibility, time.monotonic() - t0)
        status = 1 if result.status == "error" else 0
        if status:
            results["output"] = ("Otomatik notlandırma bu teslimde başarısız oldu (sorun notlandırma tarafında, "
                                 "sizin kodunuzda değil); teslim yeniden notlandırılacak.\n" + results["output"])
    except Exception as exc:  # noqa: BLE001 - whatever happens, Gradescope gets a results.json that says so
        traceback.print_exc()
        results = {"score": 0.0, "tests": [], "visibility": settings.get("visibility", "visible"),
                   "stdout_visibility": "hidden",
                   "output": ("Otomatik notlandırma çalışamadı (sorun notlandırma tarafında, sizin kodunuzda "
                              f"değil): {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")}
        status = 1
    finally:
        close_launchers()
    write_text_atomic(results_path, json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {results_path} (score {results['score']})")
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope",
                                     description="Inside Gradescope: grade /autograder/submission.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="grade the submission and write results/results.json")
    p.add_argument("--root", default="/autograder", help="Gradescope's /autograder folder (default /autograder)")
    args = parser.parse_args(argv)
    return run(Path(args.root))


if __name__ == "__main__":
    sys.exit(main())
