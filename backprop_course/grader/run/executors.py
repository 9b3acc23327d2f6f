"""Where submissions are autograded: one interface, three places.

An executor is a context manager whose :meth:`grade` takes the submissions to grade and yields
a :class:`Graded` for each as it finishes, in any order:

- :class:`InProcess`: one after another in this process (``--jobs 1``);
- :class:`LocalPool`: forked worker processes on this machine (``--jobs N``, the default);
- :class:`backprop_course.grader.run.cluster_client.DaskCluster`: the workers of a Dask cluster (``--cluster ADDRESS``).

The client (:meth:`backprop_course.grader.pipeline.Course.autograde`) takes every result the
same way: it writes the autograded folder when the worker could not (a cluster worker shares no
filesystem with it), merges the gradebook rows when the worker could not write the class's
gradebook itself (a SQLite copy, or no access at all), and counts who graded what.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..config import is_sqlite, load_config, make_api, quiet_nbgrader
from ..results.merge import submission_rows
from .sandbox import ExitingKernels


@dataclass
class Graded:
    """One submission as a worker graded it."""
    submission: object          # intake.submissions.Submission
    result: dict                # nbgrader's: success, log, error
    worker: str                 # who graded it: "pid 1234", a Dask worker's address
    rows: dict | None = None    # merge.submission_rows, for the client to merge; None: already in the class's gradebook
    files: dict | None = None   # {relative path: (mode, bytes)} of autograded/<student>/<assignment>; None: already written
    problem: str = ""           # why it could not be graded, when the worker never got to say (it died, say)
    seconds: float | None = None  # how long the worker took (write, grade, read back), where it says


class InProcess:
    """One submission after another, in this process, straight into the class's gradebook."""
    def __init__(self, course):
        self.course = course
        self.description = "1 worker (this process)"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def grade(self, todo):
        """Grade ``todo`` one after another in this process; yield a :class:`Graded` for each."""
        for sub in todo:
            yield Graded(sub, self.course.api.autograde(sub.assignment, sub.student, force=True, create=True),
                         worker=f"pid {os.getpid()}")


class LocalPool:
    """``jobs`` worker processes forked on this machine, each with nbgrader imported once.

    They write the autograded folders themselves (the class's folder is theirs too). With SQLite
    each grades into its own copy of the gradebook and returns the rows; a database server
    (PostgreSQL) takes their writes directly.
    """
    def __init__(self, course, jobs):
        self.course, self.jobs = course, jobs
        self.description = f"{jobs} local worker processes"
        self.workspace = course.class_path / ".grading"

    def __enter__(self):
        shutil.rmtree(self.workspace, ignore_errors=True)
        self.workspace.mkdir(parents=True)
        self.pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("fork"),
                                        initializer=_start_worker,
                                        initargs=(str(self.course.root), str(self.course.class_dir),
                                                  str(self.workspace), self.course.db_url))
        return self

    def __exit__(self, *exc):
        try:
            self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            shutil.rmtree(self.workspace, ignore_errors=True)
        return False

    def grade(self, todo):
        """Grade ``todo`` on the pool's worker processes; yield a :class:`Graded` for each as it finishes."""
        if not is_sqlite(self.course.db_url):
            # the workers write to the server directly. Students first, so that two workers
            # never race to create the same one.
            from nbgrader.api import Gradebook

            with Gradebook(self.course.db_url) as gradebook:
                for student in sorted({s.student for s in todo}):
                    gradebook.update_or_create_student(student)
        futures = {self.pool.submit(_grade_in_worker, s.assignment, s.student): s for s in todo}
        for future in as_completed(futures):
            result, rows, pid = future.result()
            yield Graded(futures[future], result, worker=f"pid {pid}", rows=rows)


# --- the local pool's workers: each imports nbgrader once and grades into its own gradebook ---
_worker = {}


def _start_worker(root, class_dir, workspace, main_db_url):
    from multiprocessing.util import Finalize

    from nbgrader.api import Gradebook

    own = None
    if is_sqlite(main_db_url):  # SQLite takes one writer at a time: a copy of one's own, merged after each submission
        copy = Path(workspace) / f"worker-{os.getpid()}.db"
        shutil.copyfile(main_db_url.removeprefix("sqlite:///"), copy)
        db = f"sqlite:///{copy}"
        own = Gradebook(db)  # opened once: its engine caches the compiled SQL of reading the rows
    else:
        db = main_db_url
    config = load_config(root, class_dir)
    # a kernel's exit (about 0.4 s, idle) overlaps the next submission; the last ones are
    # awaited as the worker exits, so the pool's shutdown waits for them
    exits = config.SandboxedKernelManager.exits = ExitingKernels()
    Finalize(None, exits.finish, exitpriority=10)
    quiet_nbgrader()
    _worker.update(api=make_api(config, db), own=own)


def _grade_in_worker(assignment, student):
    result = _worker["api"].autograde(assignment, student, force=True, create=True)
    rows = None
    own = _worker["own"]
    if own is not None and result["success"]:
        try:
            rows = submission_rows(own, assignment, student)
        finally:
            own.db.remove()  # ends the read transaction, which would block the next submission's commit
    return result, rows, os.getpid()
