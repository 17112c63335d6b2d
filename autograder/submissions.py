"""Finding a class's submissions in a folder or a .zip.

Accepted layouts, per student:
    <student_id>/<notebook>.ipynb
    <student_id>/<assignment>/<notebook>.ipynb      (nbgrader's submitted/ layout)
A .zip of either is unpacked first (with limits on size and count, and no path
can escape the unpack folder; the files keep the times the archive records). A zip whose only top folder holds the students
is accepted too. Symbolic links are never followed: a linked student folder,
assignment folder or notebook is refused and reported, whatever it points to.
"""
from __future__ import annotations

import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.late import TIMESTAMP_FILE, submission_time

MAX_ZIP_BYTES = 2 * 1024**3
MAX_ZIP_ENTRIES = 50_000
STUDENT_ID = re.compile(r"^[\w.@+-]{1,100}$")
IGNORED = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}


class SubmissionsError(Exception):
    """The submissions argument cannot be used at all (a one-line reason for the instructor)."""


@dataclass
class Submission:
    student_id: str
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what discovery refused, for the student's feedback (Turkish)
    submitted_at: datetime | None = None  # UTC, without a zone (nbgrader's convention)
    submitted_source: str = ""  # "timestamp.txt" or "mtime" (the newest file's modification time)


def _inside(path: Path, root: Path) -> bool:
    """``path`` is no link and resolves to a place under ``root`` (itself no link)."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return not path.is_symlink() and (resolved == root or root in resolved.parents)


def _safe_extract(archive: Path, dest: Path) -> Path:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionsError(f"{archive}: not a readable zip ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise SubmissionsError(f"{archive}: too many entries ({len(infos)})")
        if sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
            raise SubmissionsError(f"{archive}: unpacks to more than {MAX_ZIP_BYTES // 1024**3} GB")
        root = dest.resolve()
        for info in infos:
            target = (dest / info.filename).resolve()
            if root not in target.parents and target != root:
                raise SubmissionsError(f"{archive}: entry {info.filename!r} points outside the archive")
            if info.is_dir():
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                continue  # symbolic links are not followed or created
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            try:  # the time the archive records, so a late submission is still late once unpacked
                stamp = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(target, (stamp, stamp))
            except (OverflowError, ValueError, OSError):
                pass
    return dest


def _student_dirs(folder: Path) -> list[Path]:
    root = folder.resolve()
    return sorted(p for p in folder.iterdir()
                  if not p.is_symlink() and p.is_dir() and p.name not in IGNORED and not p.name.startswith(".")
                  and _inside(p, root))


def discover(path: Path, assignment_id: str, unpack_dir: Path) -> list[Submission]:
    """The submissions under ``path`` (a folder or a .zip), sorted by student id."""
    if not path.exists():
        raise SubmissionsError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise SubmissionsError(f"{path}: expected a folder of submissions or a .zip of one")
        path = _safe_extract(path, unpack_dir)
        top = _student_dirs(path)
        loose = [p for p in path.iterdir() if p.is_file()]
        if len(top) == 1 and not loose and _student_dirs(top[0]) and not list(top[0].glob("*.ipynb")):
            path = top[0]
    subs = []
    root = path.resolve()
    for link in sorted(p for p in path.iterdir() if p.is_symlink() and STUDENT_ID.match(p.name)):
        # Reported, never followed: it would let a folder point at solutions or at another student.
        subs.append(Submission(link.name, [], ["Teslim klasörü bir sembolik bağlantı (symlink); izlenmedi, "
                                               "notlandırılmadı."]))
    for folder in _student_dirs(path):
        if not STUDENT_ID.match(folder.name):
            raise SubmissionsError(f"{folder.name!r}: not a usable student id (letters, digits, . _ @ + - only)")
        notes = []
        inner = folder / assignment_id
        base = folder
        if inner.is_symlink():
            notes.append(f"{assignment_id}/ bir sembolik bağlantı (symlink); izlenmedi, içindekiler notlandırılmadı.")
        elif inner.is_dir():
            base = inner
        entries = sorted(base.iterdir())
        for p in entries:
            if p.is_symlink() and p.suffix.lower() == ".ipynb":
                notes.append(f"{p.name} bir sembolik bağlantı (symlink); izlenmedi.")
        usable = [p for p in entries if not p.is_symlink() and p.is_file() and _inside(p, root)]
        files = [p for p in usable if p.suffix.lower() == ".ipynb"]
        if not files:
            # Keep what was handed in, so the student is told why it was not graded.
            files = [p for p in usable if not p.name.startswith(".") and p.name != TIMESTAMP_FILE]
        submitted_at, source, note = submission_time(base if not inner.is_symlink() else None, files)
        if note:
            notes.append(note)
        subs.append(Submission(folder.name, files, notes, submitted_at, source))
    subs.sort(key=lambda sub: sub.student_id)
    if not subs:
        raise SubmissionsError(f"{path}: no student folders found (expected <student_id>/<notebook>.ipynb)")
    return subs
