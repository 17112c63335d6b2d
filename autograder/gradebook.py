"""The nbgrader side of a grading run: the gradebook, and the course folder formgrader works in.

After ``autograder grade A SUBS --out DIR``, ``DIR`` is an nbgrader course root (``cd DIR && nbgrader
formgrader``): ``gradebook.db``, ``source/A/`` (the instructor's notebooks, hidden checks left out) and
``autograded/<student>/A/<notebook>.ipynb`` (the rebuilt notebook with the student's answers and the captured
outputs). With ``--gradebook sqlite:///COURSE/gradebook.db`` the same files go to that course's root instead; a
course's own ``source/A`` is never overwritten there. nbgrader itself keeps the gradebook: this module only calls
its API (the calls ``nbgrader autograde`` and formgrader make).

What is never lost: a grader's manual scores, extra credit and comments are never written here. A written answer
that was graded stays graded when its student is graded again, unless the answer's text changed (then it is
flagged for grading again, its score kept). The late penalty is set, never added: nbgrader's own or an earlier
one is replaced.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autograder import nbgrader_ready
from autograder.assignment import Assignment, is_solution_cell, nbgrader_meta
from autograder.atomic import write_text_atomic
from autograder.late import TIMESTAMP_FILE

NO_RESPONSE = "Cevap verilmedi."  # nbgrader's automatic comment on an untouched answer, in the course's language


@dataclass(frozen=True)
class NbgraderCourse:
    root: Path  # the nbgrader course root: source/, autograded/, feedback/ live here
    db_url: str
    ours: bool  # the root is the --out folder: its source/ copy is refreshed on every run


def course_for(out: Path, gradebook_url: str | None) -> NbgraderCourse:
    """Where nbgrader's files go: ``out``, or the root of the course whose SQLite gradebook was named."""
    out = out.resolve()
    if not gradebook_url:
        return NbgraderCourse(out, f"sqlite:///{out / 'gradebook.db'}", True)
    prefix = "sqlite:///"
    if gradebook_url.startswith(prefix) and len(gradebook_url) > len(prefix):
        root = Path(gradebook_url[len(prefix):]).resolve().parent
        return NbgraderCourse(root, gradebook_url, root == out)
    return NbgraderCourse(out, gradebook_url, True)  # a database server: nbgrader's files stay in --out


NBGRADER_CONFIG = """\
# Written by `autograder grade`: this folder is an nbgrader course root (cd here; nbgrader formgrader).
c = get_config()  # noqa: F821
# grades.csv here is autograder's (written answers and late penalties included); `nbgrader export` writes its
# own table beside it instead of over it.
c.ExportPlugin.to = "nbgrader_grades.csv"
"""


def write_masters(course: NbgraderCourse, assignment: Assignment) -> None:
    """``source/<id>/*.ipynb`` of the nbgrader course: the instructor's notebooks nbgrader expects there.

    Only the notebooks are copied (never ``checks/`` or the mutants); a course's own ``source/<id>`` is left alone.
    In an output folder of ours, an ``nbgrader_config.py`` (if none is there) sends ``nbgrader export`` to
    ``nbgrader_grades.csv``, so that it does not replace our ``grades.csv``.
    """
    config = course.root / "nbgrader_config.py"
    if course.ours and not config.exists():
        write_text_atomic(config, NBGRADER_CONFIG)
    dest = course.root / "source" / assignment.id
    masters = sorted(assignment.source_dir.glob("*.ipynb")) if assignment.source_dir.is_dir() else []
    if not masters or (dest.exists() and not course.ours):
        return
    if dest.resolve() == assignment.source_dir.resolve():
        return  # the output folder is the course itself
    dest.mkdir(parents=True, exist_ok=True)
    names = {p.name for p in masters}
    for old in dest.glob("*.ipynb"):
        if old.name not in names:
            old.unlink()
    for path in masters:
        write_text_atomic(dest / path.name, path.read_text(encoding="utf-8"))


def write_autograded(course: NbgraderCourse, assignment: Assignment, result) -> None:
    """``autograded/<student>/<id>/``: this result's notebooks (and its timestamp, as nbgrader writes it).

    A notebook of the assignment that this result does not hold (no longer submitted) is removed, so formgrader
    never shows an older version as the current one.
    """
    if result.status == "error":
        return  # the grader failed: what an earlier run wrote stays
    folder = course.root / "autograded" / result.student_id / assignment.id
    folder.mkdir(parents=True, exist_ok=True)
    for name in assignment.notebooks:
        if name in result.autograded:
            write_text_atomic(folder / f"{name}.ipynb", result.autograded[name])
        else:
            (folder / f"{name}.ipynb").unlink(missing_ok=True)
    stamp = submitted_at(result)
    if stamp is not None:
        write_text_atomic(folder / TIMESTAMP_FILE, stamp.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC\n")
    else:
        (folder / TIMESTAMP_FILE).unlink(missing_ok=True)


def submitted_at(result) -> datetime | None:
    """The submission time (UTC, no zone) recorded in a result."""
    late = result.late or {}
    text = late.get("submitted_at")
    return datetime.fromisoformat(text.rstrip("Z")) if isinstance(text, str) and text else None


@contextmanager
def open_gradebook(db_url: str):
    """nbgrader's Gradebook (created if new), with nbgrader's SQLAlchemy warnings silenced."""
    with _quiet():
        gb = _open(db_url)
        try:
            yield gb
        finally:
            gb.close()


@contextmanager
def _quiet():
    with warnings.catch_warnings():
        # nbgrader's own SQLAlchemy usage warns on every new submission; nothing for the user to act on.
        warnings.simplefilter("ignore")
        yield


def _open(db_url: str):
    nbgrader_ready()
    from nbgrader.api import Gradebook

    _stamp_new_database(db_url)
    return Gradebook(db_url)


class ClassRecorder:
    """The gradebook of one grading run, written as each result arrives instead of all at the end.

    Opening the gradebook and entering the assignment take ~1 s, and each student ~40 ms: done while the class is
    graded, they leave only the late penalties and the report for after the last submission. The gradebook is
    opened on the first result (the grading processes are forked by then, so none inherits it) and the
    assignment is entered then, before anyone is recorded.

    Recording during the run is a head start, never a condition: if it fails, the run goes on and
    :meth:`record_all` at the end does it again and raises there, as recording everything at the end would.
    nbgrader's warnings are silenced only around its own calls.
    """

    def __init__(self, db_url: str, assignment: Assignment, due: datetime | None):
        self.db_url, self.assignment, self.due = db_url, assignment, due
        self._gb = None
        self._recorded: dict[str, object] = {}  # student id -> the result recorded for them
        self._failed = False

    def gradebook(self):
        """The open gradebook, with the assignment entered (opened on first use)."""
        if self._gb is None:
            with _quiet():
                gb = _open(self.db_url)
                try:
                    sync_assignment(gb, self.assignment, self.due)
                except BaseException:
                    gb.close()
                    raise
            self._gb = gb
        return self._gb

    def record_early(self, result, previous=None) -> None:
        """Record one result now if the gradebook works; a failure is left for :meth:`record_all`."""
        if self._failed:
            return
        try:
            self._record(result, previous)
        except Exception:  # noqa: BLE001 - raised again, with the same cause, by record_all
            self._failed = True
            self.close()

    def record_all(self, results: dict, earlier: dict) -> None:
        """Make sure every result of ``results`` (student id -> result) is recorded, ``earlier`` giving each
        student's previous result; those recorded during the run are not recorded twice."""
        for sid, result in results.items():
            if self._recorded.get(sid) is not result:
                self._record(result, earlier.get(sid))

    def _record(self, result, previous) -> None:
        gb = self.gradebook()
        with _quiet():
            record_result(gb, self.assignment, result, previous)
            first, last, email = student_names(result.identity, result.student_id)
            if result.status != "error" and (last or email):
                # formgrader lists students by these names
                gb.update_or_create_student(result.student_id, first_name=first, last_name=last, email=email)
            gb.db.commit()
        self._recorded[result.student_id] = result

    @contextmanager
    def quiet(self):
        """nbgrader's warnings silenced, for calls on :meth:`gradebook` made by the caller."""
        with _quiet():
            yield

    def close(self) -> None:
        gb, self._gb = self._gb, None
        if gb is not None:
            gb.close()


def student_names(identity: dict, student: str) -> tuple[str | None, str | None, str | None]:
    """(first name, last name, email) for nbgrader's student record, from the identity a layout gave (None:
    unknown, or nothing more than the id)."""
    name = " ".join(str(identity.get("name") or "").split())
    if not name or name == student or identity.get("anonymous") or identity.get("blind"):
        return None, None, identity.get("email") or None
    first, _, last = name.rpartition(" ")
    return first or None, last, identity.get("email") or None


def _stamp_new_database(db_url: str) -> None:
    """Give a new database the migration revision nbgrader would give it, read in this process.

    For a database without tables nbgrader's Gradebook runs ``alembic heads`` in a subprocess (a fresh interpreter,
    ~3.5 s here) to learn the revision to record. The same revision comes from alembic's API over nbgrader's own
    migration scripts in ~0.1 s; once the ``alembic_version`` table holds it, Gradebook creates its tables as usual
    and leaves the revision alone, so ``nbgrader db upgrade`` sees exactly what it would otherwise.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url, future=True)
    try:
        if inspect(engine).get_table_names():
            return
        head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head})
    finally:
        engine.dispose()


def gradebook_exists(db_url: str) -> bool:
    prefix = "sqlite:///"
    return not db_url.startswith(prefix) or Path(db_url[len(prefix):]).exists()


def sync_assignment(gb, assignment: Assignment, due: datetime | None) -> None:
    """Enter the assignment's notebooks and cells from the release, as nbgrader's generate_assignment would."""
    if due is not None:
        gb.update_or_create_assignment(assignment.id, duedate=due)
    else:
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


def record_result(gb, assignment: Assignment, result, previous=None) -> None:
    """Record one student's automatic grades; manual scores and comments are kept (see module doc).

    ``previous`` is the student's earlier result, to tell whether a graded written answer changed.
    """
    from nbgrader.api import MissingEntry

    if result.status == "error":
        return  # the grader failed on it: nothing new is known, the gradebook keeps what it had
    gb.update_or_create_student(result.student_id)
    try:
        submission = gb.find_submission(assignment.id, result.student_id)
    except MissingEntry:
        submission = gb.add_submission(assignment.id, result.student_id)
    submission.timestamp = submitted_at(result)
    answers = {g: t for nb in result.notebooks for g, t in nb.answers.items()}
    blank = {g for nb in result.notebooks for g in nb.blank}
    before = {} if previous is None else {g: t for nb in previous.notebooks for g, t in nb.answers.items()}
    grades, comments = _grades_and_comments(gb, submission)
    for cell in result.cells:
        grade = grades.get((cell.notebook, cell.grade_id))
        if grade is None:
            continue
        if cell.manual:
            unanswered = cell.grade_id in blank or cell.grade_id not in answers
            grade.auto_score = 0.0 if unanswered else None
            changed = previous is None or before.get(cell.grade_id) != answers.get(cell.grade_id)
            if grade.manual_score is None:
                grade.needs_manual_grade = not unanswered
            elif changed and not unanswered:
                grade.needs_manual_grade = True  # a new answer: grade it again (the old score is still shown)
            comment = comments.get((cell.notebook, cell.grade_id))
            if comment is not None:
                comment.auto_comment = NO_RESPONSE if unanswered else None
        else:
            grade.auto_score = cell.points
            if grade.manual_score is None:
                grade.needs_manual_grade = False
    gb.db.commit()


def _grades_and_comments(gb, submission) -> tuple[dict, dict]:
    """The submission's grades and comments by (notebook, cell name): one query each, instead of a seven-table join
    for every cell (``find_grade`` / ``find_comment``, ~4 ms each: most of recording a class)."""
    from nbgrader.api import BaseCell, Comment, Grade, Notebook, SubmittedNotebook

    def by_cell(entry):
        rows = (gb.db.query(entry, Notebook.name, BaseCell.name)
                .join(SubmittedNotebook, SubmittedNotebook.id == entry.notebook_id)
                .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
                .join(BaseCell, BaseCell.id == entry.cell_id)
                .filter(SubmittedNotebook.assignment_id == submission.id))
        return {(notebook, cell): row for row, notebook, cell in rows}

    return by_cell(Grade), by_cell(Comment)


@dataclass
class GradebookGrade:
    """What a grader gave one grade cell in formgrader (None: nothing given)."""

    manual_score: float | None = None
    extra_credit: float | None = None
    needs_manual_grade: bool = False


@dataclass
class GradebookEntry:
    """What the gradebook holds for one student beyond the automatic points."""

    grades: dict[str, GradebookGrade]  # grade_id -> manual score etc.
    comments: dict[str, str]  # solution cell grade_id -> the grader's comment
    penalty: float = 0.0  # late penalty nbgrader holds now (sum over notebooks)


def read_entries(gb, assignment_id: str) -> dict[str, GradebookEntry]:
    """Every student's manual scores, extra credit, comments and late penalty for this assignment."""
    from nbgrader.api import MissingEntry

    entries = {}
    try:
        gb.find_assignment(assignment_id)
    except MissingEntry:
        return entries
    for submission in gb.assignment_submissions(assignment_id):
        grades, comments, penalty = {}, {}, 0.0
        for notebook in submission.notebooks:
            penalty += notebook.late_submission_penalty or 0.0
            for grade in notebook.grades:
                grades[grade.name] = GradebookGrade(grade.manual_score, grade.extra_credit,
                                                    bool(grade.needs_manual_grade))
            for comment in notebook.comments:
                if comment.manual_comment:
                    comments[comment.name] = comment.manual_comment
        entries[submission.student.id] = GradebookEntry(grades, comments, round(penalty, 4))
    return entries


def write_penalties(gb, assignment_id: str, penalties: dict[str, dict[str, float]]) -> None:
    """Set each notebook's ``late_submission_penalty`` (replacing nbgrader's or an earlier one, never adding)."""
    from nbgrader.api import MissingEntry

    for student_id, by_notebook in penalties.items():
        try:
            submission = gb.find_submission(assignment_id, student_id)
        except MissingEntry:
            continue
        for notebook in submission.notebooks:
            notebook.late_submission_penalty = float(by_notebook.get(notebook.name, 0.0))
    gb.db.commit()


