"""Reading a class as Canvas, Moodle or Gradescope hand it out.

Each parser follows the naming its LMS documents or implements (cited per format below), takes the student's id
and display name from it, and derives a safe student id (:func:`autograder.submissions.safe_id`: ``Ali Yılmaz``
with Moodle participant 12345 becomes ``ali-yilmaz-12345``). The LMS's own ids are kept in
``Submission.identity`` so that ``autograder export`` hands the grades back under them. An entry that does not
follow the naming is listed in ``Discovery.skipped`` and the rest of the class is graded.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

from autograder.submissions import (Discovery, Submission, SubmissionsError, _inside, safe_id, stage,
                                    visible)
from autograder.late import submission_time

# ------------------------------------------------------------------------------------------------- Canvas
# Canvas "Download Submissions" (Assignments > Download Submissions, or the Gradebook column menu) gives a flat
# zip. Canvas builds each name in lib/content_zipper.rb (instructure/canvas-lms, ContentZipper#get_filename and
# #add_upload_submission):
#     [<sortable name, lowercased, non-word characters removed>]_[LATE_]<user id | anon_<anonymous id>>
#         _<attachment id>_<file's display name>
# The name is left out for anonymous grading, where the id is ``anon_<anonymous id>``; ``LATE`` marks a
# submission Canvas counts as late. Text entries and URLs come as ``<prefix>_text.html`` / ``<prefix>_link.html``.
CANVAS_FILE = re.compile(r"^(?:(?P<name>.+?)_)??(?P<late>LATE_)?(?P<uid>anon_[0-9A-Za-z]+|\d+)_(?P<fid>\d+)_"
                         r"(?P<file>.+)$")
CANVAS_TEXT = re.compile(r"^(?:.+?_)??(?:LATE_)?(?:anon_[0-9A-Za-z]+|\d+)_(?:text|link)\.html$")

# ------------------------------------------------------------------------------------------------- Moodle
# Moodle's assignment "Download all submissions" (mod/assign/classes/downloader.php, moodle/moodle): one folder
# per student and submission plugin (the default since Moodle 3.1),
#     <full name, "_" replaced by " ">_<participant id>_assignsubmission_file[_]/<file path>/<file>
# (older versions end the folder name with "_"), or, with "Download submissions in folders" off, flat files
#     <full name>_<participant id>_assignsubmission_file_<file>
# Under blind marking the name is "Participant"; for group submissions it is the group's name and id. The
# participant id is the one the grading worksheet calls "Participant <id>".
MOODLE_DIR = re.compile(r"^(?P<name>[^_]+)_(?P<pid>\d+)_(?P<plugin>assign(?:submission|feedback)_[a-z0-9]+)_?$")
MOODLE_FLAT = re.compile(r"^(?P<name>[^_]+)_(?P<pid>\d+)_(?P<plugin>assignsubmission_[a-z0-9]+)_(?P<file>.+)$")

# --------------------------------------------------------------------------------------------- Gradescope
# Gradescope "Export Submissions" (Review Grades > Export Submissions) gives a zip with one top folder
# (assignment_<id>_export/) holding submission_metadata.yml and one folder per submission, submission_<id>/, with
# the files as uploaded. The metadata maps each folder name to its record, in Ruby symbol keys:
#     submission_<id>:
#       :submitters:
#       - :name: Ali Yılmaz
#         :sid: '20231234'
#         :email: ali@example.edu
#       :created_at: 2026-12-01 20:14:03.123456000 +03:00
#       :score: ...
# (the layout Gradescope's own tools and its users' scripts read; group submissions list every submitter).
GRADESCOPE_METADATA = "submission_metadata.yml"
GRADESCOPE_DIR = re.compile(r"^submission_(?P<id>\d+)$")
MAX_METADATA_BYTES = 64 * 1024**2

LATE_NOTE = ("Canvas bu teslimi geç teslim (LATE) olarak işaretledi; geç teslim kuralını Canvas uygular "
             "(Canvas'ın indirdiği dosyalarda teslim zamanı yoktur).")


def looks_like_canvas(entries: list[Path]) -> bool:
    files = [p for p in entries if visible(p) and not p.is_dir()]
    named = sum(1 for p in files if CANVAS_FILE.match(p.name) or CANVAS_TEXT.match(p.name))
    return bool(named) and named * 2 >= len(files)


def detect(path: Path, assignment_id: str) -> str:
    """The layout of the class folder ``path``: gradescope, moodle, canvas, nbgrader or folders."""
    if (path / GRADESCOPE_METADATA).is_file():
        return "gradescope"
    entries = [p for p in path.iterdir() if visible(p)]
    dirs = [p for p in entries if p.is_dir() and not p.is_symlink()]
    files = [p for p in entries if not p.is_dir()]
    moodle = sum(1 for p in dirs if MOODLE_DIR.match(p.name)) + sum(1 for p in files if MOODLE_FLAT.match(p.name))
    canvas = sum(1 for p in files if CANVAS_FILE.match(p.name) or CANVAS_TEXT.match(p.name))
    if moodle and moodle * 2 >= len(entries):
        return "moodle"
    if canvas and canvas > len(dirs) and looks_like_canvas(entries):
        return "canvas"
    return "nbgrader" if any((d / assignment_id).is_dir() for d in dirs) else "folders"


def _walk_files(folder: Path, root: Path) -> tuple[list[Path], list[str]]:
    """Every regular file under ``folder`` (links never followed: each is reported in the returned notes)."""
    files, notes = [], []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        for d in list(dirnames):
            if (here / d).is_symlink():
                notes.append(f"{d}/ bir sembolik bağlantı (symlink); izlenmedi.")
                dirnames.remove(d)
            elif not visible(here / d):
                dirnames.remove(d)
        for name in sorted(filenames):
            p = here / name
            if p.is_symlink():
                notes.append(f"{name} bir sembolik bağlantı (symlink); izlenmedi.")
            elif visible(p) and p.is_file() and _inside(p, root):
                files.append(p)
        dirnames.sort()
    return files, notes


def _notebooks_first(files: list[Path]) -> list[Path]:
    """The notebooks, or, if there are none, everything (so the student is told why nothing was graded)."""
    notebooks = [p for p in files if p.suffix.lower() == ".ipynb"]
    return notebooks or files


def parse_canvas(path: Path, assignment_id: str, staged: Path, unpacked: Path | None) -> Discovery:
    found = Discovery("canvas", [], notes=["Canvas downloads carry no submission times: no late penalty is "
                                           "computed for them (Canvas marks late work LATE_ and applies its own "
                                           "late policy to imported grades)."])
    root = path.resolve()
    by_uid: dict[str, dict] = {}
    for entry in sorted(path.iterdir()):
        if not visible(entry):
            continue
        if entry.is_dir() and not entry.is_symlink():
            found.skipped.append(f"{entry.name}/: a folder (a Canvas download is flat: "
                                 "<name>_<user id>_<file id>_<file>)")
            continue
        m = CANVAS_FILE.match(entry.name)
        if m is None:
            why = ("a text entry or URL, not a file upload" if CANVAS_TEXT.match(entry.name)
                   else "not named <name>_[LATE_]<user id>_<file id>_<file> as Canvas names downloads")
            found.skipped.append(f"{entry.name}: {why}")
            continue
        uid = m["uid"]
        rec = by_uid.setdefault(uid, {"name": m["name"] or "", "late": False, "files": [], "notes": []})
        rec["late"] = rec["late"] or bool(m["late"])
        if entry.is_symlink() or not _inside(entry, root):
            rec["notes"].append(f"{m['file']} bir sembolik bağlantı (symlink); izlenmedi.")
            continue
        rec["files"].append((entry, m["file"]))
    for uid, rec in by_uid.items():
        anonymous = uid.startswith("anon_")
        name = rec["name"] or uid
        sid = uid.replace("_", "-") if anonymous else safe_id(rec["name"], uid)
        files = [stage(src, staged / sid, original, unpacked) for src, original in rec["files"]]
        notes = list(rec["notes"]) + ([LATE_NOTE] if rec["late"] else [])
        found.submissions.append(Submission(sid, _notebooks_first(files), notes, None, "",
                                            {"lms": "canvas", "name": name, "id": uid, "late": rec["late"],
                                             "anonymous": anonymous}))
    return found


def parse_moodle(path: Path, assignment_id: str, staged: Path, unpacked: Path | None) -> Discovery:
    found = Discovery("moodle", [])
    root = path.resolve()
    by_pid: dict[str, dict] = {}
    for entry in sorted(path.iterdir()):
        if not visible(entry):
            continue
        m = MOODLE_DIR.match(entry.name) if entry.is_dir() else MOODLE_FLAT.match(entry.name)
        if m is None:
            found.skipped.append(f"{entry.name}{'/' if entry.is_dir() else ''}: not named <full name>_<participant "
                                 "id>_assignsubmission_file as Moodle names downloaded submissions")
            continue
        rec = by_pid.setdefault(m["pid"], {"name": m["name"].strip(), "files": [], "other": [], "notes": []})
        if entry.is_symlink():
            rec["notes"].append(f"{entry.name} bir sembolik bağlantı (symlink); izlenmedi.")
            continue
        if entry.is_dir():
            files, notes = _walk_files(entry, root)
            rec["notes"].extend(notes)
            (rec["files"] if m["plugin"] == "assignsubmission_file" else rec["other"]).extend(
                (p, p.name) for p in files)
        elif m["plugin"] == "assignsubmission_file" and _inside(entry, root):
            rec["files"].append((entry, m["file"]))
        else:
            rec["other"].append((entry, m["file"]))
    for pid, rec in by_pid.items():
        blind = rec["name"] == "Participant"
        name = f"Participant {pid}" if blind else rec["name"]
        sid = safe_id(rec["name"], pid)
        chosen = rec["files"] or rec["other"]  # only online text: kept, so the student is told it was not graded
        files = [stage(src, staged / sid, original, unpacked) for src, original in chosen]
        submitted_at, source, note = submission_time(None, files)
        notes = rec["notes"] + ([note] if note else [])
        found.submissions.append(Submission(sid, _notebooks_first(files), notes, submitted_at, source,
                                            {"lms": "moodle", "name": name, "id": pid, "blind": blind}))
    return found


def _load_metadata(path: Path) -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        """Safe loading that reads any tagged node (a Ruby object tag) as the plain value it holds."""

    def untagged(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", untagged)
    Loader.add_multi_constructor("tag:", untagged)
    if path.stat().st_size > MAX_METADATA_BYTES:
        raise SubmissionsError(f"{path}: larger than {MAX_METADATA_BYTES // 1024**2} MB")
    try:
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=Loader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise SubmissionsError(f"{path}: not readable YAML ({' '.join(str(exc).split())[:300]})") from None
    if not isinstance(data, dict):
        raise SubmissionsError(f"{path}: expected a mapping of submission_<id> to its record")
    return data


def _plain_keys(value):
    """Ruby symbol keys (``:name``) as plain ones (``name``), all the way down."""
    if isinstance(value, dict):
        return {str(k).lstrip(":"): _plain_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_keys(v) for v in value]
    return value


def _utc(value) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        from dateutil import parser

        try:
            moment = parser.parse(value)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def parse_gradescope(path: Path, assignment_id: str, staged: Path, unpacked: Path | None) -> Discovery:
    found = Discovery("gradescope", [])
    root = path.resolve()
    meta_path = path / GRADESCOPE_METADATA
    metadata = _plain_keys(_load_metadata(meta_path)) if meta_path.is_file() else {}
    if not meta_path.is_file():
        found.notes.append(f"no {GRADESCOPE_METADATA}: submissions are named after their folders")
    seen = set()
    for entry in sorted(path.iterdir()):
        if not visible(entry) or entry.name == GRADESCOPE_METADATA:
            continue
        m = GRADESCOPE_DIR.match(entry.name)
        if m is None or not entry.is_dir() or entry.is_symlink():
            found.skipped.append(f"{entry.name}: not a submission_<id>/ folder of a Gradescope export")
            continue
        seen.add(entry.name)
        record = metadata.get(entry.name)
        record = record if isinstance(record, dict) else {}
        submitters = [s for s in record.get("submitters") or [] if isinstance(s, dict)]
        people = [{"name": str(s.get("name") or ""), "sid": str(s.get("sid") or ""),
                   "email": str(s.get("email") or "")} for s in submitters]
        first = people[0] if people else {"name": "", "sid": "", "email": ""}
        name = ", ".join(p["name"] for p in people if p["name"]) or entry.name
        sid = safe_id(first["name"], first["sid"] or m["id"])
        files, notes = _walk_files(entry, root)
        staged_files = [stage(p, staged / sid, p.name, unpacked) for p in files]
        submitted_at = _utc(record.get("created_at"))
        source = "submission_metadata.yml" if submitted_at else ""
        if submitted_at is None:
            submitted_at, source, note = submission_time(None, staged_files)
            if note:
                notes.append(note)
        if not record and metadata:
            found.skipped.append(f"{entry.name}: not listed in {GRADESCOPE_METADATA} (graded under its folder name)")
        found.submissions.append(Submission(sid, _notebooks_first(staged_files), notes, submitted_at, source,
                                            {"lms": "gradescope", "name": name, "id": m["id"],
                                             "submission": entry.name, "sid": first["sid"],
                                             "email": first["email"], "submitters": people}))
    for key in sorted(k for k in metadata if k not in seen):
        found.skipped.append(f"{key}: listed in {GRADESCOPE_METADATA} but its folder is missing")
    return found


PARSERS = {"canvas": parse_canvas, "moodle": parse_moodle, "gradescope": parse_gradescope}
