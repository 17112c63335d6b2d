"""Late submissions: when a submission was handed in, and what that costs.

The submission time is read from ``timestamp.txt`` beside the notebooks (nbgrader's ``submitted/`` layout, parsed
by nbgrader's own function so that formgrader agrees), else from the newest notebook's modification time; the
results say which. The policy is a due date, a fraction of the assignment's maximum deducted per started day late,
and a cap on that fraction. The penalty never exceeds the points earned, so the score never goes below zero
(as in ``nbgrader export``), and it is always computed afresh from the points: grading again or after manual
grading replaces it, it is never added to an earlier one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

DAY = 86400.0
TIMESTAMP_FILE = "timestamp.txt"


@dataclass(frozen=True)
class LatePolicy:
    due: datetime  # timezone-aware
    per_day: float = 0.0  # fraction of the maximum deducted per started day late
    max_fraction: float = 1.0  # the most that may be deducted, as a fraction of the maximum


def parse_due(value) -> datetime:
    """A due date from a flag or autograder.toml: ISO 8601 (``2026-12-01T23:59:00+03:00``), or a TOML date-time.

    Without a UTC offset it is the grading machine's local time.
    """
    if isinstance(value, datetime):
        due = value
    elif isinstance(value, date):
        due = datetime(value.year, value.month, value.day, 23, 59, 59)
    elif isinstance(value, str):
        try:
            due = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"due date {value!r} is not ISO 8601 (e.g. 2026-12-01T23:59:00+03:00)") from None
    else:
        raise ValueError(f"due date {value!r} is not a date")
    return due if due.tzinfo is not None else due.astimezone()


def make_policy(due, per_day, max_fraction) -> LatePolicy | None:
    """The policy from the flags or settings (None without a due date); ValueError says what is wrong."""
    per_day = float(per_day or 0.0)
    max_fraction = 1.0 if max_fraction is None else float(max_fraction)
    if not 0.0 <= per_day <= 1.0:
        raise ValueError(f"--late-per-day {per_day:g}: expected a fraction of the maximum between 0 and 1")
    if not 0.0 <= max_fraction <= 1.0:
        raise ValueError(f"--late-max {max_fraction:g}: expected a fraction of the maximum between 0 and 1")
    if due is None or due == "":
        if per_day:
            raise ValueError("--late-per-day needs a due date (--due, or due in autograder.toml [grade])")
        return None
    return LatePolicy(parse_due(due), per_day, max_fraction)


def utc_naive(moment: datetime) -> datetime:
    """UTC without a zone: what nbgrader's gradebook stores."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def submission_time(folder: Path | None, files: list[Path]) -> tuple[datetime | None, str, str | None]:
    """(UTC time without zone, where it came from: "timestamp.txt" or "mtime", a note for the student or None)."""
    note = None
    stamp = folder / TIMESTAMP_FILE if folder is not None else None
    if stamp is not None and stamp.is_file() and not stamp.is_symlink():
        try:
            text = stamp.read_text(encoding="utf-8", errors="replace")[:200].strip()
            from nbgrader.utils import parse_utc

            return parse_utc(text), TIMESTAMP_FILE, None
        except Exception:  # noqa: BLE001 - dateutil raises several kinds
            note = (f"{TIMESTAMP_FILE} okunamadı; teslim zamanı olarak dosyaların son değiştirilme zamanı "
                    "kullanıldı.")
    times = []
    for path in files:
        try:
            times.append(path.lstat().st_mtime)
        except OSError:
            continue
    if not times:
        return None, "", note
    return datetime.fromtimestamp(max(times), timezone.utc).replace(tzinfo=None), "mtime", note


def late_info(submitted_at: datetime | None, source: str, policy: LatePolicy | None) -> dict | None:
    """What the results record about lateness: the time, its source, the due date and the fraction to deduct."""
    if submitted_at is None:
        return None
    info = {"submitted_at": submitted_at.isoformat() + "Z", "source": source, "due": None, "seconds_late": 0.0,
            "days_late": 0, "fraction": 0.0}
    if policy is not None:
        due = utc_naive(policy.due)
        late = max(0.0, (submitted_at - due).total_seconds())
        days = math.ceil(late / DAY) if late > 0 else 0
        info.update(due=due.isoformat() + "Z", seconds_late=round(late, 3), days_late=days,
                    fraction=round(min(policy.per_day * days, policy.max_fraction), 6))
    return info


def penalty(late: dict | None, max_score: float, earned: float) -> float:
    """Points deducted: the fraction of the maximum, never more than what was earned."""
    if not late or not late.get("fraction"):
        return 0.0
    return round(max(0.0, min(float(late["fraction"]) * max_score, earned)), 4)


def split_penalty(total: float, earned_by_notebook: dict[str, float]) -> dict[str, float]:
    """The penalty spread over the notebooks in proportion to what each earned (nbgrader keeps one per notebook)."""
    earned = sum(earned_by_notebook.values())
    if total <= 0 or earned <= 0:
        return {name: 0.0 for name in earned_by_notebook}
    shares = {name: round(total * e / earned, 4) for name, e in earned_by_notebook.items()}
    largest = max(earned_by_notebook, key=lambda name: earned_by_notebook[name])
    shares[largest] = round(shares[largest] + total - sum(shares.values()), 4)
    return shares
