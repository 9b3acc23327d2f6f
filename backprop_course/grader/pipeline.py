"""The instructor's grading job: release, autograde, feedback, grades.csv and the report.

Every step is nbgrader's own (``NbGraderAPI`` and its export plugin), configured by the
course's ``nbgrader_config.py``. What this module adds is what a stock course lacks:
a check of each submission before nbgrader sees it, so that one broken folder is
reported and skipped instead of stopping the batch; a progress bar; and parallel
autograding: with SQLite each worker grades into its own copy of the gradebook, merged into
the class's after each submission; a database server (PostgreSQL) takes the workers' writes.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import shutil
import stat
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

from . import intake, verdicts
from .admission import submission_limits
from .assignments import COURSE_ROOT, assignments
from .safezip import printable

tqdm.monitor_interval = 0  # no monitor thread: workers are forked

DEMO_CLASS = "examples/demo_class"


@dataclass
class Submission:
    student: str
    assignment: str
    problem: str = ""     # why it could not be graded, if it could not
    log: str = field(default="", repr=False)
    notes: list[str] = field(default_factory=list)   # graded, but: files left out, limits hit


def _entries(folder):
    """The entries of ``folder`` but hidden ones, sorted; nothing followed."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _what(mode):
    return "a symbolic link" if stat.S_ISLNK(mode) else "a special file"


def load_config(root, class_dir="."):
    """The course's nbgrader config, for the class in ``class_dir`` (relative to root).

    ``nbgrader_config.py`` describes the class in the course root, as a plain ``nbgrader``
    command there sees it. Another class (the demo class) gets its own submitted/,
    autograded/ and feedback/ folders and, when the course's gradebook is the default SQLite
    file of the root, its own gradebook beside them.
    """
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if os.path.normpath(class_dir) != ".":
        course = config.CourseDirectory
        for step in ("submitted", "autograded", "feedback"):
            setattr(course, f"{step}_directory", os.path.join(class_dir, step))
        config.ZipCollectApp.downloaded_directory = os.path.join(class_dir, "downloaded")
        url = course.get("db_url", "")
        if is_sqlite(url) and Path(url.removeprefix("sqlite:///")).resolve() == (Path(root) / "gradebook.db").resolve():
            course.db_url = "sqlite:///" + str((Path(root) / class_dir / "gradebook.db").resolve())
    return config


def cores():
    """The cores this process may run on: the default number of grading workers."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def make_api(config, db_url=None):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    if db_url:
        config.CourseDirectory.db_url = db_url
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    api.log.setLevel(logging.ERROR)
    return api


class Course:
    """The course root and the class being graded in it."""

    def __init__(self, root=COURSE_ROOT, class_dir="."):
        self.root = Path(root).resolve()
        self.class_dir = Path(class_dir)
        self.class_path = (self.root / class_dir).resolve()
        if not (self.root / "nbgrader_config.py").is_file():
            raise SystemExit(f"{self.root} is not the course root: it has no nbgrader_config.py")
        self.config = load_config(self.root, self.class_dir)
        self.db_url = self.config.CourseDirectory.db_url
        self.api = make_api(self.config)

    @property
    def assignments(self):
        return list(assignments(self.root / "source"))

    def source_notebooks(self, assignment):
        return list(assignments(self.root / "source")[assignment].notebooks)

    # --- 1. release -------------------------------------------------------------------
    def kernel_only_cells(self):
        """[(assignment/notebook, grade_id)] of the test cells judged by the kernel alone, on
        purpose (verdicts.KERNEL_ONLY); SystemExit naming every graded test cell of source/ that
        trusted verdicts do not cover, and why."""
        refusals, kernel_only = [], []
        for assignment in self.assignments:
            for name in self.source_notebooks(assignment):
                cells = nbformat.read(self.root / "source" / assignment / name, as_version=4).cells
                refused, marked = verdicts.uncovered(cells)
                if refused:
                    refusals.append(verdicts.refusal(f"source/{assignment}/{name}", refused))
                kernel_only += [(f"{assignment}/{name}", grade_id) for grade_id in marked]
        if refusals:
            raise SystemExit("release/ not made: " + "\n".join(refusals))
        return kernel_only

    def release(self):
        self.kernel_only_cells()  # refuses before nbgrader starts, with the cells named
        for assignment in self.assignments:
            result = self.api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise SystemExit(f"nbgrader could not generate release/{assignment}:\n{result.get('error') or result['log']}")
        return self.assignments

    # --- 2. autograde -----------------------------------------------------------------
    def submissions(self):
        """Every folder submitted/<student>/<assignment>, checked before nbgrader sees it: the
        intake's verdict (grader/intake.py: links, special files, sizes, names), then its notebooks."""
        submitted = self.class_path / "submitted"
        found = []
        if not submitted.is_dir():
            return found
        known = set(self.assignments)
        limits = submission_limits(self.config)
        for student_dir in _entries(submitted):
            student = printable(student_dir.name)
            mode = student_dir.lstat().st_mode
            if not stat.S_ISDIR(mode):
                if not stat.S_ISREG(mode):
                    found.append(Submission(student, "-", f"the student's folder is {_what(mode)}: not followed"))
                continue
            folders = [p for p in _entries(student_dir) if stat.S_ISDIR(p.lstat().st_mode) or p.is_symlink()]
            if not folders:
                found.append(Submission(student, "-", "the student's folder holds no assignment folder"))
            for folder in folders:
                sub = Submission(student, printable(folder.name))
                if folder.name not in known:
                    sub.problem = f"unknown assignment folder '{sub.assignment}' (known: {', '.join(sorted(known))})"
                else:
                    verdict = intake.inspect(folder, self.source_notebooks(folder.name), limits, root=submitted)
                    sub.notes = verdict.notes()
                    sub.problem = verdict.problem
                    sub.problem = sub.problem or self._check_notebooks(verdict, limits)
                found.append(sub)
        return found

    def _check_notebooks(self, verdict, limits):
        folder = Path(verdict.folder)
        expected = self.source_notebooks(folder.name)
        present = sorted(printable(p.name) for p in folder.glob("*.ipynb"))
        if not present:
            return f"no notebook in the folder (expected {', '.join(expected)})"
        missing = [name for name in expected if name not in present]
        if missing:
            return f"notebook {', '.join(missing)} is missing (found {', '.join(present)}): was it renamed?"
        for item in verdict.notebooks:
            try:
                nbformat.validate(nbformat.reads(intake.read_file(folder, item, limits).decode("utf-8"), as_version=4))
            except intake.NotAdmitted as error:
                return str(error)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                return f"{item.path} is not valid JSON ({error}); was it edited outside Jupyter?"
            except Exception as error:  # nbformat.ValidationError and friends
                return f"{item.path} is not a valid notebook: {str(error).splitlines()[0]}"
        stamp = next((f for f in verdict.files if f.path == intake.TIMESTAMP), None)
        if stamp is not None:
            from nbgrader.utils import parse_utc

            try:
                parse_utc(intake.read_file(folder, stamp, limits).decode("utf-8").strip())
            except Exception as error:
                return f"{intake.TIMESTAMP} holds no time nbgrader can read ({type(error).__name__}): fix or remove it"
        return ""

    def autograde(self, submissions, jobs=1):
        """Autograde the submissions without a problem with ``jobs`` workers (None: :func:`cores`);
        returns them all, with any new problem."""
        jobs = jobs or cores()
        _quiet_nbgrader()
        todo = [s for s in submissions if not s.problem]
        for passed in self.preflight(*sorted({s.assignment for s in todo}), jobs=jobs):
            print(passed.summary())
        bar = tqdm(total=len(todo), desc="autograde", unit="submission", file=sys.stdout, dynamic_ncols=True)
        if jobs <= 1 or len(todo) <= 1:
            for sub in todo:
                bar.set_postfix_str(f"{sub.student}/{sub.assignment}")
                _record(sub, self.api.autograde(sub.assignment, sub.student, force=True, create=True))
                bar.update()
        else:
            self._autograde_parallel(todo, jobs, bar)
        bar.close()
        for sub in todo:
            if not sub.problem and self._hit_write_cap(sub):
                sub.notes.append("the kernel hit the cap on what it may write while graded "
                                 "(the cell that did lost its points; the rest were graded)")
        return submissions

    def _hit_write_cap(self, sub):
        from .preprocessors import WRITE_CAP_NOTE

        for path in sorted((self.class_path / "autograded" / sub.student / sub.assignment).glob("*.ipynb")):
            for cell in nbformat.read(path, as_version=4).cells:
                if any(WRITE_CAP_NOTE in o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream"):
                    return True
        return False

    def preflight(self, *assignments, jobs=1):
        """The preflight of each assignment (grader/preflight.py), once per process, ``jobs`` at a
        time; SystemExit with what is wrong and how to fix it if one fails, before any student
        is graded. Returns their Preflight results.

        Each runs in a thread of its own: the kernel it starts leaves its event loop there, not in
        this thread, whose state the workers inherit when they fork.
        """
        from concurrent.futures import ThreadPoolExecutor

        from . import preflight

        with ThreadPoolExecutor(max(1, min(jobs or 1, len(assignments)))) as threads:
            runs = [threads.submit(preflight.once, self.config, self.root, a) for a in assignments]
            try:
                return [run.result() for run in runs]
            except preflight.PreflightError as error:
                raise SystemExit(str(error)) from None

    def _autograde_parallel(self, todo, jobs, bar):
        workspace = self.class_path / ".grading"
        shutil.rmtree(workspace, ignore_errors=True)
        workspace.mkdir(parents=True)
        shared = not is_sqlite(self.db_url)
        if shared:
            # a database server takes concurrent writers: the workers write to it directly.
            # Students first, so that two workers never race to create the same one.
            from nbgrader.api import Gradebook

            with Gradebook(self.db_url) as gradebook:
                for student in sorted({s.student for s in todo}):
                    gradebook.update_or_create_student(student)
        try:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker,
                                     initargs=(str(self.root), str(self.class_dir), str(workspace), self.db_url)) as pool, \
                    Gradebooks() as gradebooks:
                futures = {pool.submit(_grade_in_worker, s.assignment, s.student): s for s in todo}
                for future in as_completed(futures):
                    sub = futures[future]
                    result, worker_db = future.result()
                    _record(sub, result)
                    if not sub.problem and not shared:
                        merge_submission(gradebooks[worker_db], gradebooks[self.db_url], sub.assignment, sub.student)
                    bar.set_postfix_str(f"{sub.student}/{sub.assignment}")
                    bar.update()
        finally:
            shutil.rmtree(workspace, ignore_errors=True)

    # --- 3. feedback, 4. export -------------------------------------------------------
    def feedback(self, submissions, only_these=False):
        """Feedback for every graded submission of the submissions' assignments; with
        ``only_these`` (a regrade), for these submissions alone, and nobody else's file is rewritten."""
        graded = [s for s in submissions if not s.problem]
        for assignment in sorted({s.assignment for s in graded}):
            students = sorted({s.student for s in graded if s.assignment == assignment}) if only_these else [None]
            for student in students:
                result = self.api.generate_feedback(assignment, student_id=student, force=True)
                if not result["success"]:
                    print(f"warning: feedback for {student or 'the class'}/{assignment} failed:\n{result.get('error', '')}",
                          file=sys.stderr)
        return self.class_path / "feedback"

    def export(self, lms=None):
        """grades.csv, or with ``lms`` ("canvas", "moodle") the CSV that LMS imports, in the class's folder."""
        from nbgrader.api import Gradebook

        from .export import EXPORTS

        plugin = EXPORTS[lms](config=self.config)
        plugin.to = str(self.class_path / plugin.default_to)
        with Gradebook(self.db_url) as gradebook:
            plugin.export(gradebook)
        return Path(plugin.to)


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
    import difflib

    near = difflib.get_close_matches(name, names, n=3)
    return f": did you mean {' or '.join(near)}?" if near else f" ({len(names)} there, none like it)"


def _record(sub, result):
    sub.log = result.get("log", "")
    if not result["success"]:
        sub.problem = "nbgrader failed: " + _reason(sub.log + "\n" + (result.get("error") or ""))


_EXCEPTION = re.compile(r"^\s*([\w.]*(Error|Exception|Entry|Exit))(: .*)?$")


def _reason(log):
    """The line of nbgrader's log that says why: an [ERROR] message, else the exception raised."""
    errors = [line.removeprefix("[ERROR] ") for line in log.splitlines() if line.startswith("[ERROR]")]
    errors = [e for e in errors if not e.startswith(("There was an error processing", "Traceback"))]
    if errors:
        return errors[0]
    raised = [line.strip() for line in log.splitlines() if _EXCEPTION.match(line)]
    return raised[-1] if raised else "no reason given (see the log)"


def _quiet_nbgrader():
    """nbgrader's add_submission trips SQLAlchemy autoflush warnings on every submission (the
    rows are right); they would drown the progress bar."""
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


# --- parallel workers: each imports nbgrader once and grades into its own gradebook ---
_worker = {}


def _start_worker(root, class_dir, workspace, main_db_url):
    from multiprocessing.util import Finalize

    from .sandbox import ExitingKernels

    if is_sqlite(main_db_url):  # SQLite takes one writer at a time: a copy of one's own, merged after each submission
        copy = Path(workspace) / f"worker-{os.getpid()}.db"
        shutil.copyfile(main_db_url.removeprefix("sqlite:///"), copy)
        db = f"sqlite:///{copy}"
    else:
        db = main_db_url
    config = load_config(root, class_dir)
    # a kernel's exit (about 0.4 s, idle) overlaps the next submission; the last ones are
    # awaited as the worker exits, so the pool's shutdown waits for them
    exits = config.SandboxedKernelManager.exits = ExitingKernels()
    Finalize(None, exits.finish, exitpriority=10)
    _quiet_nbgrader()
    _worker.update(api=make_api(config, db), db=db)


def is_sqlite(db_url):
    return db_url.startswith("sqlite:")


def _grade_in_worker(assignment, student):
    return _worker["api"].autograde(assignment, student, force=True, create=True), _worker["db"]


class Gradebooks(dict):
    """Gradebooks by URL, each opened once: a Gradebook's engine caches its compiled SQL,
    which is most of the cost of a merge (0.1 s a submission with a new one each time)."""

    def __missing__(self, url):
        from nbgrader.api import Gradebook

        self[url] = Gradebook(url)
        return self[url]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for gradebook in self.values():
            gradebook.close()


def merge_submission(source, target, assignment, student):
    """Copy one autograded submission's grades and comments from one Gradebook to another.

    Ends with no transaction open in either: the worker that owns ``source`` goes on writing it.
    """
    from nbgrader.api import MissingEntry

    try:
        submission = source.find_submission(assignment, student)
        target.update_or_create_student(student)
        try:
            copy = target.find_submission(assignment, student)
            copy.timestamp, copy.extension = submission.timestamp, submission.extension
        except MissingEntry:
            copy = target.add_submission(assignment, student, timestamp=submission.timestamp,
                                         extension=submission.extension)
        for notebook in submission.notebooks:
            target_nb = target.find_submission_notebook(notebook.name, assignment, student)
            target_nb.flagged = notebook.flagged
            target_nb.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                twin = target.find_grade(grade.name, notebook.name, assignment, student)
                for column in ("auto_score", "manual_score", "extra_credit", "needs_manual_grade"):
                    setattr(twin, column, getattr(grade, column))
            for comment in notebook.comments:
                twin = target.find_comment(comment.name, notebook.name, assignment, student)
                twin.auto_comment, twin.manual_comment = comment.auto_comment, comment.manual_comment
        target.db.commit()
    except BaseException:
        target.db.rollback()
        raise
    finally:
        source.db.remove()  # ends the read transaction, which would block the worker's next commit
        target.db.remove()
