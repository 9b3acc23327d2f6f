"""The class's submissions at the grader's first look: every folder submitted/<student>/<assignment>,
checked before nbgrader sees it: the intake's result (:mod:`.folder`: links, special files, sizes,
names), then its notebooks and its time of submission.
"""
from __future__ import annotations

import difflib
import json
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbgrader.utils import parse_utc

from . import folder as intake
from .late import time_problem
from .safezip import printable


@dataclass
class Submission:
    """One folder submitted/<student>/<assignment> (``assignment`` "-" for a student's folder
    holding none), and what became of it on its way through the grader."""
    student: str
    assignment: str
    problem: str = ""     # why it could not be graded, if it could not
    log: str = field(default="", repr=False)
    worker: str = ""      # who graded it: "pid 1234", a Dask worker's address
    kept: bool = False    # graded by an earlier run from the same inputs, and kept
    notes: list[str] = field(default_factory=list)   # graded, but: files left out, limits hit
    # the intake's result of the first look (folder.IntakeResult), carried to every later read of
    # the submission in this process (what a cluster worker is sent, the review), never redone there
    admitted: object = field(default=None, repr=False, compare=False)


def _entries(folder):
    """The entries of ``folder`` but hidden ones, sorted; nothing followed."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def find_submissions(submitted, known, notebooks_of, dates, limits):
    """Every folder ``submitted``/<student>/<assignment> as a :class:`Submission`, its ``problem``
    set when it cannot be graded. ``known``: the assignments; ``notebooks_of(assignment)``: the
    names of its notebooks in source/; ``dates``: {assignment: (due, release)}; ``limits``: the
    intake's."""
    submitted = Path(submitted)
    found = []
    if not submitted.is_dir():
        return found
    for student_dir in _entries(submitted):
        student = printable(student_dir.name)
        mode = student_dir.lstat().st_mode
        if not stat.S_ISDIR(mode):
            if not stat.S_ISREG(mode):
                found.append(Submission(student, "-", f"the student's folder is {intake.kind_of(mode)}"))
            continue
        folders = [p for p in _entries(student_dir) if stat.S_ISDIR(p.lstat().st_mode) or p.is_symlink()]
        if not folders:
            found.append(Submission(student, "-", "the student's folder holds no assignment folder"))
        for folder in folders:
            sub = Submission(student, printable(folder.name))
            if folder.name not in known:
                sub.problem = f"unknown assignment folder '{sub.assignment}' (known: {', '.join(sorted(known))})"
            else:
                expected = notebooks_of(folder.name)
                admitted = sub.admitted = intake.examine(folder, expected, limits, root=submitted)
                sub.notes = admitted.notes()
                sub.problem = admitted.problem
                sub.problem = sub.problem or notebooks_problem(admitted, expected, limits)
                sub.problem = sub.problem or time_of_submission_problem(admitted, limits, folder.name, *dates[folder.name])
            found.append(sub)
    return found


def notebooks_problem(admitted, expected, limits):
    """Why the notebooks of the intake's result ``admitted`` cannot be graded, or '': each of
    ``expected`` (source/'s names) present, and each a valid notebook as the intake reads it."""
    folder = Path(admitted.folder)
    present = sorted(printable(p.name) for p in folder.glob("*.ipynb"))
    if not present:
        return f"no notebook in the folder (expected {', '.join(expected)})"
    missing = [name for name in expected if name not in present]
    if missing:
        return f"notebook {', '.join(missing)} is missing (found {', '.join(present)}): was it renamed?"
    for item in admitted.notebooks:
        try:
            invalid = {}  # nbformat.reads validates (once: validating again costs a ms a submission)
            nbformat.reads(intake.read_file(folder, item, limits).decode("utf-8"), as_version=4,
                           capture_validation_error=invalid)
            if invalid:
                raise invalid["ValidationError"]
        except intake.NotAdmitted as error:
            return str(error)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return f"{item.path} is not valid JSON ({error}); was it edited outside Jupyter?"
        except Exception as error:  # nbformat.ValidationError and friends
            return f"{item.path} is not a valid notebook: {str(error).splitlines()[0]}"
    return ""


def time_of_submission_problem(admitted, limits, assignment, due, released):
    """Why the submission's time (its timestamp.txt, nbgrader's) cannot be used, or '': it must
    be one nbgrader reads, and late.time_problem must not refuse it. It was collected, at the
    latest, when its timestamp.txt was written (the file's inode change time, set by the kernel)."""
    folder = Path(admitted.folder)
    stamp = next((f for f in admitted.files if f.path == intake.TIMESTAMP), None)
    when = collected = None
    if stamp is not None:
        try:
            when = parse_utc(intake.read_file(folder, stamp, limits).decode("utf-8").strip())
            collected = datetime.fromtimestamp((folder / stamp.path).lstat().st_ctime, timezone.utc).replace(tzinfo=None)
        except Exception as error:
            return f"{intake.TIMESTAMP} holds no time nbgrader can read ({type(error).__name__}): fix or remove it"
    return time_problem(when, assignment, due, released, collected)

def choose(submissions, student=None, assignment=None):
    """The submissions of ``student`` in ``assignment`` (None: any), to regrade one after an
    appeal or a fixed test. A name that matches no submission is an error, not an empty run."""
    if student is None and assignment is None:
        return submissions
    chosen = [s for s in submissions if student in (None, s.student) and assignment in (None, s.assignment)]
    if chosen:
        return chosen
    students = sorted({s.student for s in submissions})
    handed_in = sorted({s.assignment for s in submissions if s.assignment != "-"})
    if student is not None and student not in students:
        raise SystemExit(f"no student '{student}' in submitted/{_close(student, students)}")
    if assignment is not None and assignment not in handed_in:
        raise SystemExit(f"no submission of '{assignment}' in submitted/{_close(assignment, handed_in)}")
    theirs = sorted(s.assignment for s in submissions if s.student == student)
    raise SystemExit(f"{student} has no submission of {assignment} in submitted/ (theirs: {', '.join(theirs)})")


def _close(name, names):
    near = difflib.get_close_matches(name, names, n=3)
    return f": did you mean {' or '.join(near)}?" if near else f" ({len(names)} there, none like it)"
