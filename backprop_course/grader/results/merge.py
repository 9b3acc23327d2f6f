"""The client's merge: a graded submission's autograded folder, gradebook rows and journal line.

A worker that shares no filesystem or gradebook with the client (a Dask worker, a local worker
grading into its own SQLite copy) sends back what grading made: the autograded folder and the
gradebook rows (:func:`submission_rows`). The client writes them (:func:`apply_batch`), then the
journal line that says the submission is done (grader/run/journal.py).

Merged one at a time, a submission cost three commits (a student, a submission, its rows): 45 ms
of a client at load 2, 137 ms at a loaded one, so past about 46 worker cores the client set the
pace. :class:`Merger` merges in a thread of its own, in batches: a batch is what arrives within
``max_wait`` (0.5 s) of its first result, at most ``max_batch`` (50); its folders are written,
its rows go in in one transaction, its journal lines with one fsync. A transaction's fixed cost
(reading the assignment's cells, the commit) is then shared: measured at load 11, 10.3 ms of
CPU a submission one at a time, 4.5 ms four at a time, 2.6 ms from sixteen on.

The journal's promise holds: a line is written only once that submission's rows are committed
and its folder is in place, so a client killed at any point resumes exactly, grading again
whatever has no line (its rows are then updated in place).
"""
from __future__ import annotations

import queue
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from ..run.bundle import replace_folder

#: a batch: what arrives within MAX_WAIT seconds of its first result, at most MAX_BATCH results
MAX_WAIT, MAX_BATCH = 0.5, 50
#: the columns of a grade and of a comment that autograde writes (and a merge copies)
GRADE_COLUMNS = ("auto_score", "manual_score", "extra_credit", "needs_manual_grade")
COMMENT_COLUMNS = ("auto_comment", "manual_comment")


def submission_rows(gradebook, assignment, student):
    """What autograde wrote to ``gradebook`` for one submission, as plain data: the first half
    of a merge, run where the submission was graded (a local worker, a cluster worker)."""
    submission = gradebook.find_submission(assignment, student)
    return {"timestamp": submission.timestamp, "extension": submission.extension,
            "notebooks": {notebook.name: {
                "flagged": notebook.flagged, "late_submission_penalty": notebook.late_submission_penalty,
                "grades": {g.name: {c: getattr(g, c) for c in GRADE_COLUMNS} for g in notebook.grades},
                "comments": {c.name: {k: getattr(c, k) for k in COMMENT_COLUMNS} for c in notebook.comments}}
                for notebook in submission.notebooks}}


def apply_rows(target, assignment, student, rows):
    """:func:`apply_batch` of one submission."""
    apply_batch(target, [(assignment, student, rows)])


def apply_batch(target, batch):
    """Write submissions' :func:`submission_rows`, ``batch`` = [(assignment, student, rows)],
    into the class's gradebook ``target`` in one transaction: the second half of a merge, run by
    the client. Rows are updated in place, so a submission merged twice (a rerun) has its rows
    once. Rows for a cell the class's gradebook does not define raise MissingEntry before
    anything is written. Ends with no transaction open.

    nbgrader's own add_student and add_submission commit each; this builds the same rows (a
    submission mirrors its assignment's notebooks and cells) with nbgrader's models, and commits once.
    """
    from nbgrader.api import Student, SubmittedAssignment
    from nbgrader.utils import parse_utc

    db = target.db
    try:
        for assignment, _, rows in batch:
            _check_cells(target, assignment, rows)
        names = sorted({student for _, student, _ in batch})
        students = {s.id: s for s in db.query(Student).filter(Student.id.in_(names))}
        for name in names:
            if name not in students:
                students[name] = Student(id=name)
                db.add(students[name])
        for assignment_name in sorted({assignment for assignment, _, _ in batch}):
            assignment = target.find_assignment(assignment_name)
            for notebook in assignment.notebooks:  # loaded once: a grade's cell is then found without a query
                notebook.grade_cells, notebook.solution_cells, notebook.task_cells
            mine = [(student, rows) for name, student, rows in batch if name == assignment_name]
            submissions = {s.student_id: s for s in db.query(SubmittedAssignment).filter(
                SubmittedAssignment.assignment_id == assignment.id,
                SubmittedAssignment.student_id.in_({student for student, _ in mine}))}
            for student, rows in mine:
                submission = submissions.get(student)
                if submission is None:
                    submission = submissions[student] = _new_submission(db, assignment, students[student])
                submission.timestamp, submission.extension = parse_utc(rows["timestamp"]), rows["extension"]
                _copy_notebooks(submission, rows, assignment_name, student)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.remove()


def _new_submission(db, assignment, student):
    """A new submission, as nbgrader's Gradebook.add_submission makes it, not yet committed."""
    from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook

    with db.no_autoflush:  # flushed whole, at the commit
        submission = SubmittedAssignment(assignment=assignment, student=student)
        for notebook in assignment.notebooks:
            copy = SubmittedNotebook(notebook=notebook, assignment=submission)
            for cell in notebook.grade_cells:
                Grade(cell=cell, notebook=copy)
            for cell in notebook.solution_cells:
                Comment(cell=cell, notebook=copy)
            for cell in notebook.task_cells:
                Comment(cell=cell, notebook=copy)
                Grade(cell=cell, notebook=copy)
        db.add(submission)
    return submission


def _copy_notebooks(submission, rows, assignment, student):
    from nbgrader.api import MissingEntry

    notebooks = {notebook.notebook.name: notebook for notebook in submission.notebooks}
    for name, notebook in rows["notebooks"].items():
        if name not in notebooks:
            raise MissingEntry(f"{student}'s submission of {assignment} has no notebook {name!r}")
        target = notebooks[name]
        target.flagged = notebook["flagged"]
        target.late_submission_penalty = notebook["late_submission_penalty"]
        for kind, twins in (("grades", target.grades), ("comments", target.comments)):
            twins = {twin.cell.name: twin for twin in twins}
            for cell, columns in notebook[kind].items():
                for column, value in columns.items():
                    setattr(twins[cell], column, value)


#: {class gradebook: {assignment: {notebook: {"grades"|"comments": cell names}}}}
_defined_cells = weakref.WeakKeyDictionary()


def _check_cells(target, assignment, rows):
    """MissingEntry unless the class's gradebook defines every notebook and cell of ``rows``
    (source/ changed after the worker graded the submission, say)."""
    from nbgrader.api import MissingEntry

    known = _defined_cells.setdefault(target, {})
    if assignment not in known:  # once per gradebook and assignment: the release is done before grading
        known[assignment] = {nb.name: {"grades": {c.name for c in (*nb.grade_cells, *nb.task_cells)},
                                       "comments": {c.name for c in (*nb.solution_cells, *nb.task_cells)}}
                             for nb in target.find_assignment(assignment).notebooks}
    notebooks = known[assignment]
    for name, notebook in rows["notebooks"].items():
        if name not in notebooks:
            raise MissingEntry(f"the class's gradebook has no notebook {name!r} in {assignment}")
        for kind, cells in notebooks[name].items():
            unknown = sorted(set(notebook[kind]) - cells)
            if unknown:
                raise MissingEntry(f"the class's gradebook has no cell {', '.join(map(repr, unknown))} in "
                                   f"{assignment}/{name}: was source/ changed while grading? Release and grade again")


# --- the client's writer --------------------------------------------------------------------

@dataclass
class Done:
    """One graded submission for the :class:`Merger`: what of it is still to be written."""
    student: str
    assignment: str
    files: dict | None = None    # the autograded folder {relative path: (mode, bytes)}; None: written already
    rows: dict | None = None     # submission_rows; None: in the class's gradebook already
    digest: str | None = None    # its journal line's; None: no line (its inputs cannot be read)


class Merger:
    """Merges graded submissions into the class, in a thread of its own, in batches (the module's docstring).

    ``with Merger(...) as merger: merger.put(Done(...))``. On leaving, everything put is merged
    before the thread ends, whatever stopped the grading. An error of the merge (a row the
    class's gradebook cannot take) is raised by the next :meth:`put` or on leaving; the
    submissions before it in its batch are merged first.

    ``stats`` (the cluster's summary figures): "merge seconds" the thread spent merging,
    "merge cpu seconds" of it, "merge transactions".
    """
    def __init__(self, class_path, db_url, journal, stats=None, max_batch=MAX_BATCH, max_wait=MAX_WAIT):
        self.class_path, self.db_url, self.journal = Path(class_path), db_url, journal
        self.stats = Counter() if stats is None else stats
        self.max_batch, self.max_wait = max_batch, max_wait
        self._queue = queue.Queue()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="backprop-merge", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def put(self, done):
        """Queue one graded submission (:class:`Done`) for the merging thread; raises the error that stopped it,
        if one did."""
        if self._error is not None:
            raise self._error
        self._queue.put(done)

    def __exit__(self, *exc):
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise self._error
        return False

    def _run(self):
        gradebook = None
        try:
            while True:
                batch, last = [self._queue.get()], False
                deadline = time.monotonic() + self.max_wait
                while batch[-1] is not None and len(batch) < self.max_batch:
                    try:
                        batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                    except queue.Empty:
                        break
                if batch[-1] is None:
                    batch.pop()
                    last = True
                if batch and self._error is None:
                    if gradebook is None and any(done.rows is not None for done in batch):
                        from nbgrader.api import Gradebook

                        gradebook = Gradebook(self.db_url)  # in this thread: its session is this thread's
                    self._merge(batch, gradebook)
                if last:
                    return
        finally:
            if gradebook is not None:
                gradebook.close()

    def _merge(self, batch, gradebook):
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            good = []
            for done in batch:  # those before a submission the gradebook cannot take go in, then it stops
                if done.rows is not None:
                    try:
                        _check_cells(gradebook, done.assignment, done.rows)
                    except Exception as error:  # noqa: BLE001 (raised in the grading thread, by put or on leaving)
                        self._error = error
                        break
                good.append(done)
            for done in good:
                if done.files is not None:
                    replace_folder(self.class_path / "autograded" / done.student / done.assignment, done.files)
            rows = [(done.assignment, done.student, done.rows) for done in good if done.rows is not None]
            if rows:
                apply_batch(gradebook, rows)
            self.journal.add_many([(done.student, done.assignment, done.digest) for done in good if done.digest])
        except Exception as error:  # noqa: BLE001 (as above)
            self._error = error
        finally:
            self.stats["merge seconds"] += time.perf_counter() - started
            self.stats["merge cpu seconds"] += time.thread_time() - cpu
            self.stats["merge transactions"] += 1
