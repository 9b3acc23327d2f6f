"""The instructor's grading job: release, autograde, feedback, grades.csv and the report.

Every step is nbgrader's own (``NbGraderAPI`` and its export plugin), configured by the
course's ``nbgrader_config.py``. What this module adds is what a stock course lacks:
a check of each submission before nbgrader sees it, so that one broken folder is
reported and skipped instead of stopping the batch; a progress bar; and parallel
autograding: with SQLite each worker grades into its own copy of the gradebook, whose rows the
client merges into the class's (grader/results/merge.py); a database server (PostgreSQL) takes the
workers' writes.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import nbformat
from tqdm import tqdm

from ..checks import public
from .assignments import COURSE_ROOT, assignments
from .config import is_sqlite, load_config, make_api, quiet_nbgrader
from .intake.admission import submission_limits
from .intake.late import DueDates
from .intake.submissions import find_submissions
from .judge import answerbook, verdicts
from .results import review as reviewing
from .results.export import EXPORTS
from .results.merge import Done, Merger
from .run import preflight, skipping
from .run.bundle import (RefusedFiles, answers_files, inputs_digest, read_admitted, read_folder, read_submission,
                         tree_digest)
from .run.execute import CAP_NOTES
from .run.executors import InProcess, LocalPool
from .run.journal import Journal
from .run.preflight import fingerprint

tqdm.monitor_interval = 0  # no monitor thread: workers are forked

DEMO_CLASS = "examples/demo_class"


def cores():
    """The cores this process may run on: the default number of grading workers."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
        self._notebooks = {}

    @property
    def assignments(self):
        """The names of the course's assignments, from source/."""
        return list(assignments(self.root / "source"))

    def source_notebooks(self, assignment):
        """The notebooks of ``assignment`` in source/, read once (asked for each submission, several times)."""
        if assignment not in self._notebooks:
            self._notebooks[assignment] = tuple(assignments(self.root / "source")[assignment].notebooks)
        return list(self._notebooks[assignment])

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

    def check_skipped_cells(self):
        """SystemExit naming the cells, when a notebook of source/ has skip-when-grading tags that
        would change grading (grader/run/skipping.py)."""
        refusals = []
        for assignment in self.assignments:
            for name in self.source_notebooks(assignment):
                cells = nbformat.read(self.root / "source" / assignment / name, as_version=4).cells
                refusals += [f"source/{assignment}/{name}: {why}" for why in skipping.refusals(cells)]
        if refusals:
            raise SystemExit("release/ not made:\n" + "\n".join(refusals))

    def release(self):
        """Regenerate release/ from source/ with nbgrader (after the checks of its test cells and skip tags);
        returns the assignments released."""
        self.kernel_only_cells()  # both refuse before nbgrader starts, with the cells named
        self.check_skipped_cells()
        for assignment in self.assignments:
            result = self.api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise SystemExit(f"nbgrader could not generate release/{assignment}:\n{result.get('error') or result['log']}")
        self.record_public_cases()
        answerbook.secret(self.root)  # made at the first release, if there is none yet
        return self.assignments

    def record_public_cases(self):
        """The public tests' cases in the student's install (``backprop_course/checks/public/``),
        from this course's answers: written when this is the course the package was installed
        from, else only checked (a copy of the course must not rewrite the package's). Grading
        never reads them (the grader computes every case); students' kernels do."""
        answers = answerbook.load(self.root)
        if self.root == COURSE_ROOT.resolve():
            for path in answers.public.write(self.root / "source"):
                print(f"public tests' cases written: {path.relative_to(self.root)}")
        elif stale := answers.public.stale(self.root / "source"):
            print(f"WARNING: the student's install ({public.FOLDER}) has other public tests than {self.root}/source/ "
                  f"for {', '.join(stale)}: students' notebooks would say their public tests have no recorded case. "
                  "Run `make release` in the course the package comes from, and reinstall it where students work.",
                  file=sys.stderr)

    # --- 2. autograde -----------------------------------------------------------------
    def submissions(self):
        """Every folder submitted/<student>/<assignment>, checked before nbgrader sees it
        (:func:`.intake.submissions.find_submissions`)."""
        return find_submissions(self.class_path / "submitted", set(self.assignments), self.source_notebooks,
                                self.dates(), submission_limits(self.config))

    def dates(self):
        """{assignment: (due date, release)} from the config (naive UTC or None); SystemExit,
        before any student, if one cannot be read."""
        config = DueDates(config=self.config)
        try:
            return {a: (config.due(a), config.release(a)) for a in self.assignments}
        except ValueError as error:
            raise SystemExit(str(error)) from None

    def autograde(self, submissions, jobs=1, cluster=None, regrade=False):
        """Autograde the submissions without a problem; returns them all, with any new problem.

        Where: with ``cluster`` (a Dask scheduler's address or scheduler file) on that
        cluster's workers, else with ``jobs`` local workers (None: :func:`cores`). A submission
        the journal shows graded from the same inputs, and which the gradebook holds, is kept
        as it is (``kept``), unless ``regrade``: so a run killed midway goes on where it stopped.
        Before the first student the preflight (:meth:`preflight`) runs here, or on each cluster
        worker before its first task.
        """
        jobs = jobs or cores()
        quiet_nbgrader()
        todo = gradable = [s for s in submissions if not s.problem]
        journal = Journal(self.class_path)
        digests = self._digests(todo)
        if not regrade:
            done, graded = journal.entries(), self._in_gradebook()
            for sub in todo:
                key = (sub.student, sub.assignment)
                sub.kept = (digests.get(key) is not None and done.get(key) == digests[key] and key in graded
                            and (self.class_path / "autograded" / sub.student / sub.assignment).is_dir())
            todo = [s for s in todo if not s.kept]
        if cluster:
            from .run.cluster_client import DaskCluster  # lazy: distributed, heavy, only for --cluster

            # each worker runs the preflight itself, before its first task: here nothing is graded
            executor = DaskCluster(self, cluster, sorted({s.assignment for s in todo}))
        else:
            for passed in self.preflight(*sorted({s.assignment for s in todo}), jobs=jobs):
                print(passed.summary())
            executor = LocalPool(self, jobs) if jobs > 1 and len(todo) > 1 else InProcess(self)
        self.executor = executor
        if todo:
            self._grade(executor, todo, digests, journal)
        self._forget_earlier_results([s for s in submissions if s.problem])
        for sub in gradable:  # kept ones too: the notes are read from their autograded notebooks
            if not sub.problem:
                sub.notes += self._cap_notes(sub)
        return submissions

    def _grade(self, executor, todo, digests, journal):
        """Grade ``todo`` with ``executor``, taking each result as it comes; a thread of its own
        (merge.Merger) writes what the worker could not (its autograded folder, its gradebook
        rows), then its journal line."""
        stats = getattr(executor, "stats", None)
        with executor, Merger(self.class_path, self.db_url, journal, stats) as merger:
            bar = tqdm(total=len(todo), desc="autograde", unit="submission", file=sys.stdout, dynamic_ncols=True)
            per_worker = Counter()
            for graded in executor.grade(todo):
                started = time.perf_counter()
                sub = graded.submission
                sub.worker = graded.worker
                if graded.problem:
                    sub.problem = graded.problem
                else:
                    _record(sub, graded.result)
                if not sub.problem:
                    merger.put(Done(sub.student, sub.assignment, graded.files, graded.rows,
                                    digests.get((sub.student, sub.assignment))))
                per_worker[sub.worker] += not sub.problem
                # the workers' counts only when they are few: the summary lists them all
                bar.set_postfix_str(f"{sub.student}/{sub.assignment}; " + (f"{len(per_worker)} workers" if len(per_worker) > 4
                                    else "per worker: " + ", ".join(f"{w} {n}" for w, n in sorted(per_worker.items()))))
                bar.update()
                if stats is not None:
                    stats["result seconds"] += time.perf_counter() - started
            bar.close()

    @functools.cached_property
    def inputs_digest(self):
        """A digest of what every grade depends on besides the student's files: the course
        package, the nbgrader config, source/, the answers and the course secret."""
        source = read_folder(self.root / "source", hard_links=True)
        return inputs_digest((self.root / "nbgrader_config.py").read_bytes(), source, answers_files(self.root),
                             answerbook.secret(self.root), fingerprint())

    def _digests(self, todo):
        """{(student, assignment): digest of the course's and the submission's inputs}; a
        submission whose files the intake will not admit gets none (it is always graded again)."""
        digests = {}
        try:
            self.inputs_digest
        except RefusedFiles:  # source/ holds a link: no journal, everything is graded
            return digests
        for sub in todo:
            try:
                files = self.read_submission(sub)
            except (RefusedFiles, OSError):
                continue
            digests[sub.student, sub.assignment] = f"{self.inputs_digest[:32]}-{tree_digest(files)[:32]}"
        return digests

    def read_submission(self, sub):
        """The files of ``sub`` the intake admits, as {relative path: (mode, bytes)}: what a
        cluster worker is sent; RefusedFiles when it admits none. Read through the intake's result
        of the first look (``sub.admitted``), where the submission has one."""
        limits = submission_limits(self.config)
        if sub.admitted is not None:
            return read_admitted(sub.admitted, limits)
        return read_submission(self.class_path / "submitted" / sub.student / sub.assignment,
                               self.source_notebooks(sub.assignment), limits)

    def _forget_earlier_results(self, not_graded):
        """Remove what an earlier run made of these submissions (their gradebook rows, autograded and
        feedback folders): they are not graded now, and a grade must come from the submission in
        submitted/, never stay from the one it replaced. Their submitted/ folders stay as they are."""
        from nbgrader.api import Gradebook

        if not not_graded:   # the usual run: the gradebook is not read again
            return
        held = self._in_gradebook()
        stale = [sub for sub in not_graded if (sub.student, sub.assignment) in held]
        if stale:
            with Gradebook(self.db_url) as gradebook:
                for sub in stale:
                    gradebook.remove_submission(sub.assignment, sub.student)
        for sub in not_graded:
            for step in ("autograded", "feedback"):
                shutil.rmtree(self.class_path / step / sub.student / sub.assignment, ignore_errors=True)

    def _in_gradebook(self):
        """{(student, assignment)} of the submissions the class's gradebook holds."""
        from nbgrader.api import Gradebook

        if is_sqlite(self.db_url) and not Path(self.db_url.removeprefix("sqlite:///")).exists():
            return set()
        with Gradebook(self.db_url) as gradebook:
            return {(sub.student_id, sub.assignment.name) for assignment in gradebook.assignments
                    for sub in gradebook.assignment_submissions(assignment.name)}

    def _cap_notes(self, sub):
        """Each cap of the sandbox the submission's kernel hit, in words, as GradingExecute wrote them
        in its autograded notebooks ("memory cap of 2 GiB reached in cell 7")."""
        notes = []
        for path in sorted((self.class_path / "autograded" / sub.student / sub.assignment).glob("*.ipynb")):
            data = path.read_bytes()
            if CAP_NOTES.encode() not in data:  # nearly every notebook: no need to parse it
                continue
            found = nbformat.reads(data.decode("utf-8"), as_version=4).metadata.get(CAP_NOTES, [])
            notes += [f"{path.name}: {note}" if len(self.source_notebooks(sub.assignment)) > 1 else str(note)
                      for note in (found if isinstance(found, list) else [])]
        return notes

    def preflight(self, *assignments, jobs=1):
        """The preflight of each assignment (grader/run/preflight.py), once per process, ``jobs`` at a
        time; SystemExit with what is wrong and how to fix it if one fails, before any student
        is graded. Returns their PreflightReports.

        Each runs in a thread of its own: the kernel it starts leaves its event loop there, not in
        this thread, whose state the workers inherit when they fork.
        """
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max(1, min(jobs or 1, len(assignments)))) as threads:
            runs = [threads.submit(preflight.once, self.config, self.root, a) for a in assignments]
            try:
                return [run.result() for run in runs]
            except preflight.PreflightError as error:
                raise SystemExit(str(error)) from None

    # --- 3. feedback, 4. export -------------------------------------------------------
    def feedback(self, submissions, only_these=False):
        """Feedback for every graded submission of the submissions' assignments; with
        ``only_these`` (a regrade), for these submissions alone, and nobody else's file is rewritten.
        Returns the feedback folder and what failed (["<student or the class>/<assignment>"]), each
        failure's error printed on stderr."""
        graded = [s for s in submissions if not s.problem]
        failed = []
        for assignment in sorted({s.assignment for s in graded}):
            students = sorted({s.student for s in graded if s.assignment == assignment}) if only_these else [None]
            for student in students:
                result = self.api.generate_feedback(assignment, student_id=student, force=True)
                if not result["success"]:
                    failed.append(f"{student or 'the class'}/{assignment}")
                    print(f"error: feedback for {failed[-1]} failed:\n{result.get('error', '')}", file=sys.stderr)
        return self.class_path / "feedback", failed

    def export(self, lms=None, review=None):
        """grades.csv, or with ``lms`` ("canvas", "moodle") the CSV that LMS imports, in the class's
        folder: (its path, the export plugin, whose ``left_out`` says who an LMS export left out and why).
        An LMS export of nobody raises export.NothingExported and writes nothing. Its ``review``
        column from ``review`` (a grader/review.ClassReview; None: made here)."""
        from nbgrader.api import Gradebook

        quiet_nbgrader()  # reading late penalties trips the same SQLAlchemy warnings as grading
        plugin = EXPORTS[lms](config=self.config)
        if review is None and getattr(plugin, "review_column", "review"):
            review = reviewing.of_course(self)
        plugin.review = review
        plugin.to = str(self.class_path / plugin.default_to)
        with Gradebook(self.db_url) as gradebook:
            plugin.export(gradebook)
        return Path(plugin.to), plugin


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
