"""Finding a class's submissions in a folder or a .zip, in the layout an LMS hands them out.

Layouts (auto-detected, or named with ``autograder grade --format``):

    folders     <student>/<notebook>.ipynb
    nbgrader    <student>/<assignment>/<notebook>.ipynb            (nbgrader's submitted/, timestamp.txt read)
    canvas      <name>_[LATE_]<user id>_<file id>_<file>           (flat: Canvas "Download Submissions")
    moodle      <Full Name>_<participant id>_assignsubmission_file[_]/<file>   (folder per student)
    gradescope  submission_metadata.yml + submission_<id>/<file>  (Gradescope "Export Submissions")

The LMS formats are parsed in :mod:`autograder.lms.imports`, which cites the documentation each one follows.
Each submission carries the LMS's identity of the student (its id, the display name as the LMS writes it), so
that ``autograder export`` can hand the grades back under the same ids. A name that is not a usable file or
nbgrader id (``Ali Yılmaz``: a space) gets a safe id derived from it (``ali-yilmaz``); the display name is kept.
An entry that cannot be used at all is reported and skipped; the rest of the class is graded.

A .zip is unpacked first (with limits on size and count, and no path can escape the unpack folder; the files
keep the times the archive records; names stored without the UTF-8 flag are read as UTF-8 when they are valid
UTF-8, as most LMS zips store them). A zip whose only top folder holds the class is accepted too. Symbolic
links are never followed: a linked student folder, assignment folder or notebook is refused and reported,
whatever it points to.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.late import TIMESTAMP_FILE, submission_time

MAX_ZIP_BYTES = 2 * 1024**3
MAX_ZIP_ENTRIES = 50_000
STUDENT_ID = re.compile(r"^[\w.@+-]{1,100}$")
IGNORED = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".DS_Store", "Thumbs.db", "desktop.ini"}
FORMATS = ("auto", "folders", "nbgrader", "canvas", "moodle", "gradescope")


class SubmissionsError(Exception):
    """The submissions argument cannot be used at all (a one-line reason for the instructor)."""


@dataclass
class Submission:
    student_id: str
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what discovery refused, for the student's feedback (Turkish)
    submitted_at: datetime | None = None  # UTC, without a zone (nbgrader's convention)
    submitted_source: str = ""  # "timestamp.txt", "mtime", "submission_metadata.yml" or "" (unknown)
    # Who the student is in the layout they came from: {"lms": format, "name": display name, "id": the LMS's id
    # ("" for folders), ...format-specific keys}. Recorded in the results, used by `autograder export`.
    identity: dict = field(default_factory=dict)


@dataclass
class Discovery:
    """A class found in a submissions argument."""

    format: str
    submissions: list[Submission]
    skipped: list[str] = field(default_factory=list)  # "entry: why" for each entry that could not be used
    notes: list[str] = field(default_factory=list)  # what the instructor should know about this layout


# ------------------------------------------------------------------------------------------- names and ids

_TURKISH = str.maketrans({"ı": "i", "İ": "I", "ş": "s", "Ş": "S", "ğ": "g", "Ğ": "G", "ç": "c", "Ç": "C",
                          "ö": "o", "Ö": "O", "ü": "u", "Ü": "U", "ß": "ss", "æ": "ae", "ø": "o", "đ": "d",
                          "ł": "l", "Ł": "L"})


def slug(text: str, limit: int = 60) -> str:
    """``Ali Yılmaz`` -> ``ali-yilmaz``: lowercase ASCII letters, digits and single dashes ('' if none)."""
    text = unicodedata.normalize("NFKD", str(text).translate(_TURKISH))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:limit].strip("-")


def safe_id(name: str, lms_id: str = "") -> str:
    """A student id usable as a file name and an nbgrader id, derived from a display name (and an LMS id)."""
    parts = [p for p in (slug(name), slug(lms_id, 40)) if p]
    if not parts:
        parts = ["student-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]]
    elif not slug(name) and lms_id:
        parts.insert(0, "student")
    return "-".join(parts)[:100]


def unique_ids(subs: list[Submission]) -> None:
    """Make student ids unique in place: an id that is the entry's own name is kept, a derived one that
    collides gets ``-2``, ``-3``, …"""
    seen: set[str] = set()
    for sub in sorted(subs, key=lambda s: s.student_id != s.identity.get("name")):
        base, n = sub.student_id, 1
        while sub.student_id in seen:
            n += 1
            sub.student_id = f"{base}-{n}"
        seen.add(sub.student_id)


# ----------------------------------------------------------------------------------------------- unpacking

def _inside(path: Path, root: Path) -> bool:
    """``path`` is no link and resolves to a place under ``root`` (itself no link)."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return not path.is_symlink() and (resolved == root or root in resolved.parents)


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name: zipfile reads names without the UTF-8 flag as cp437, but LMS zips (Canvas, Moodle, …)
    usually store UTF-8 without setting the flag; such a name is read as UTF-8 when it is valid UTF-8."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return unicodedata.normalize("NFC", name)


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
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        for info in infos:
            name = _entry_name(info)
            target = (dest / name).resolve()
            if root not in target.parents and target != root:
                raise SubmissionsError(f"{archive}: entry {name!r} points outside the archive")
            if info.is_dir():
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                continue  # symbolic links are not followed or created
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                target.unlink(missing_ok=True)  # this entry is lost; the rest of the class is not
                with open(dest / ".unreadable", "a", encoding="utf-8") as log:
                    log.write(f"{name}\t{' '.join(str(exc).split())}\n")
                continue
            try:  # the time the archive records, so a late submission is still late once unpacked
                stamp = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(target, (stamp, stamp))
            except (OverflowError, ValueError, OSError):
                pass
    return dest


def visible(path: Path) -> bool:
    return path.name not in IGNORED and not path.name.startswith(".") and not path.name.startswith("._")


def _student_dirs(folder: Path) -> list[Path]:
    root = folder.resolve()
    return sorted(p for p in folder.iterdir()
                  if not p.is_symlink() and p.is_dir() and visible(p) and _inside(p, root))


def stage(src: Path, dest_dir: Path, name: str, unpacked: Path | None) -> Path:
    """``src`` under ``dest_dir/name`` (moved if it was unpacked by us, else copied with its times);
    a name already there gets `` (2)``, `` (3)``, …"""
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = Path(name).name if Path(name).name not in ("", ".", "..") else "file"
    stem, suffix = Path(name).stem, Path(name).suffix
    target, n = dest_dir / name, 1
    while target.exists():
        n += 1
        target = dest_dir / f"{stem} ({n}){suffix}"
    if unpacked is not None and src.resolve().is_relative_to(unpacked.resolve()):
        src.rename(target)
    else:
        shutil.copy2(src, target)
    return target


def _unwrap(path: Path, assignment_id: str) -> Path:
    """A zip whose only top entry is a folder holding the class (not one student's nbgrader folder)."""
    entries = [p for p in path.iterdir() if visible(p)]
    if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
        return path
    top = entries[0]
    inner = [p for p in top.iterdir() if visible(p)]
    if any(p.is_dir() and p.name == assignment_id for p in inner):
        return path  # <student>/<assignment>/: one student in nbgrader's layout
    if any(p.name == "submission_metadata.yml" for p in inner):
        return top
    if any(p.is_dir() for p in inner) and not any(p.suffix.lower() == ".ipynb" for p in inner):
        return top
    from autograder.lms.imports import looks_like_canvas

    return top if looks_like_canvas(inner) else path


# ------------------------------------------------------------------------------------ the folders layouts

def folder_submission(folder: Path, root: Path, assignment_id: str, student_id: str, identity: dict) -> Submission:
    """One student's folder: its notebooks (or, if none, whatever it holds, so the student is told why)."""
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
        files = [p for p in usable if visible(p) and p.name != TIMESTAMP_FILE]
    submitted_at, source, note = submission_time(base if not inner.is_symlink() else None, files)
    if note:
        notes.append(note)
    return Submission(student_id, files, notes, submitted_at, source, identity)


def _folders(path: Path, assignment_id: str) -> Discovery:
    subs, skipped = [], []
    root = path.resolve()
    for link in sorted(p for p in path.iterdir() if p.is_symlink() and visible(p)):
        # Reported, never followed: it would let a folder point at solutions or at another student.
        sid = link.name if STUDENT_ID.match(link.name) else safe_id(link.name)
        subs.append(Submission(sid, [], ["Teslim klasörü bir sembolik bağlantı (symlink); izlenmedi, "
                                         "notlandırılmadı."], identity={"lms": "folders", "name": link.name,
                                                                         "id": ""}))
    nbgrader = False
    for folder in _student_dirs(path):
        name = unicodedata.normalize("NFC", folder.name)
        sid = name if STUDENT_ID.match(name) else safe_id(name)
        nbgrader = nbgrader or (folder / assignment_id).is_dir()
        subs.append(folder_submission(folder, root, assignment_id, sid, {"lms": "folders", "name": name, "id": ""}))
    for loose in sorted(p for p in path.iterdir() if visible(p) and not p.is_dir() and not p.is_symlink()):
        skipped.append(f"{loose.name}: a file outside any student folder (expected <student>/<notebook>.ipynb)")
    fmt = "nbgrader" if nbgrader else "folders"
    for sub in subs:
        sub.identity["lms"] = fmt
    return Discovery(fmt, subs, skipped)


# ------------------------------------------------------------------------------------------------ discovery

def find_class(path: Path, assignment_id: str, unpack_dir: Path, fmt: str = "auto") -> Discovery:
    """The class under ``path`` (a folder or a .zip) in layout ``fmt`` (``auto``: detected), sorted by id.

    Raises SubmissionsError when nothing at all can be used; an unusable entry is skipped and listed.
    """
    from autograder.lms import imports

    if fmt not in FORMATS:
        raise SubmissionsError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    if not path.exists():
        raise SubmissionsError(f"{path}: no such file or folder")
    unpacked = None
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise SubmissionsError(f"{path}: expected a folder of submissions or a .zip of one")
        path = unpacked = _safe_extract(path, unpack_dir / "unpacked")
        path = _unwrap(path, assignment_id)
    elif not path.is_dir():
        raise SubmissionsError(f"{path}: not a folder or a .zip")
    else:
        top = [p for p in path.iterdir() if visible(p)]
        if len(top) == 1 and top[0].is_dir() and (top[0] / "submission_metadata.yml").is_file():
            path = top[0]  # Gradescope's export folder, one level down
    if fmt == "auto":
        fmt = imports.detect(path, assignment_id)
    if fmt in ("folders", "nbgrader"):
        found = _folders(path, assignment_id)
    else:
        found = imports.PARSERS[fmt](path, assignment_id, unpack_dir / "staged", unpacked)
    if unpacked is not None and (unpacked / ".unreadable").exists():
        for line in (unpacked / ".unreadable").read_text(encoding="utf-8").splitlines():
            name, _, why = line.partition("\t")
            found.skipped.append(f"{name}: could not be unpacked ({why})")
    unique_ids(found.submissions)
    found.submissions.sort(key=lambda sub: sub.student_id)
    if not found.submissions:
        detail = f" ({len(found.skipped)} entries skipped: {found.skipped[0]} …)" if found.skipped else ""
        raise SubmissionsError(f"{path}: no submissions found in the {found.format} layout{detail} (expected "
                               "<student_id>/<notebook>.ipynb, an nbgrader submitted/ folder, or a Canvas, Moodle "
                               "or Gradescope download)")
    return found


def discover(path: Path, assignment_id: str, unpack_dir: Path, fmt: str = "auto") -> list[Submission]:
    """The submissions under ``path`` (a folder or a .zip), sorted by student id."""
    return find_class(path, assignment_id, unpack_dir, fmt).submissions
