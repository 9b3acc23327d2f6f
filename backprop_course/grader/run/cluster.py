"""Autograding on the workers of an existing Dask cluster: ``backprop-course grade --cluster ADDRESS``.

The client (:class:`.cluster_client.DaskCluster`, an executor of :mod:`.executors`) and the workers share no
filesystem. The client registers a :class:`GradingWorker` plugin that carries the
:class:`~backprop_course.grader.run.bundle.CourseBundle`, so the scheduler sends the course once to
each worker, those that join later included. Before its first task a worker unpacks the
bundle into a private folder of its own (under the worker's local directory) and runs its
preflight: its course package must have the client's fingerprint, then grader/run/preflight.py's
preflight of every assignment (the sandbox starts, the kernel imports this package, the blank
release earns nothing and the reference full marks), once per worker process. A worker that
fails refuses every task. Each task runs nbgrader with the course's config, so the worker's
nbgrader reads the submission through the same intake (admission.py) as the client's would.

Each task carries one submission's files and returns what grading made of them: nbgrader's
result, the autograded folder and the gradebook rows; the client writes the folder and merges
the rows into the class's gradebook (SQLite or PostgreSQL), as it does for its local workers.
Faults are Dask's to handle: a task whose worker dies runs again elsewhere (the scheduler's
``distributed.scheduler.allowed-failures``, then ``KilledWorker``), a task that raises is tried
``c.DaskGrading.retries`` more times; either way a submission that never gets through is
reported as not graded and the rest of the class is graded.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin
from traitlets import Float, Integer
from traitlets.config import Configurable

from ..config import load_config, make_api, quiet_nbgrader
from ..results.merge import submission_rows
from . import preflight
from .bundle import RefusedFiles, read_folder, write_folder
from .sandbox import ExitingKernels

PLUGIN_PREFIX = "backprop-course-"
#: Dask's settings for a grading cluster's processes (``DASK_CONFIG``): fewer wake-ups of idle workers
WORKER_CONFIG = Path(__file__).with_name("dask-worker.yaml")


class DaskGrading(Configurable):
    """How the client uses a Dask cluster (``c.DaskGrading.*`` in nbgrader_config.py)."""
    connect_timeout = Float(30, help="Seconds to reach the scheduler before giving up.").tag(config=True)
    worker_timeout = Float(120, help="Seconds to wait for a first worker, and for one to come back "
                                     "when the cluster has none left.").tag(config=True)
    setup_timeout = Float(900, help="Seconds a worker may take to unpack the course and grade the "
                                    "reference solutions before its first task.").tag(config=True)
    retries = Integer(2, help="How many more times a task that raises is tried (a worker that dies "
                              "is the scheduler's allowed-failures).").tag(config=True)
    tasks_per_thread = Integer(2, help="Submissions in flight for each worker thread: the client "
                                       "reads a submission's files only when it is about to be sent.").tag(config=True)


class WorkerRefused(RuntimeError):
    """A worker cannot grade for this client: its message says which and why."""

def plugin_name(bundle):
    """The plugin's name on the workers: the course id and the bundle's digest."""
    return f"{PLUGIN_PREFIX}{bundle.course_id}-{bundle.digest[:16]}"


# --- the worker's side ----------------------------------------------------------------------

def check_worker(bundle, course, config, names):
    """Refuse (raise WorkerRefused) unless this worker grades as the client would: its course
    package has the client's fingerprint, and the preflight (run/preflight.py: the sandbox
    starts, the kernel imports this package, blank earns nothing, reference full marks) passes
    for each assignment of ``names`` in the unpacked course ``course``: once per worker process
    (``preflight.once``), as in every grading process."""
    mine = preflight.fingerprint()
    if mine != bundle.fingerprint:
        raise WorkerRefused(
            f"its course package differs from the client's (fingerprint {mine[:12]} here, {bundle.fingerprint[:12]} "
            "on the client): install backprop-course at the client's version on every worker")
    passed = []
    for name in names:
        try:
            passed.append(preflight.once(config, course, name))
        except preflight.PreflightError as error:
            raise WorkerRefused(str(error)) from None
    return passed


#: {bundle digest: the course folder this worker process unpacked it into}: a later run with
#: the same course reuses it, and so the preflight it passed (``preflight.once`` is per folder);
#: the folder goes with the worker's local directory when the worker closes
_unpacked = {}


class GradingWorker(WorkerPlugin):
    """The course on one Dask worker: unpacked once, checked once, then one grading at a time.

    Grading runs in a thread of the plugin's own, one submission after another: a kernel's
    deferred exit (:class:`~backprop_course.grader.run.sandbox.ExitingKernels`) is reaped by the
    thread that started it, and a worker started with several threads still runs one kernel
    at a time (start workers with ``--nthreads 1`` and one process per core).

    ``assignments``: those the client is about to grade, preflighted before the first task; any
    other is preflighted before its first submission (a plugin a killed client left registered).
    """
    idempotent = True  # registered again by the next run with the same course: kept, not set up again

    def __init__(self, bundle, assignments=()):
        self.bundle = bundle
        self.assignments = tuple(assignments)
        self.name = plugin_name(bundle)

    def setup(self, worker):
        """Dask's hook as the plugin reaches a worker: its preparation starts in the grading thread, and setup
        returns at once."""
        self.address = worker.address
        self.grader = ThreadPoolExecutor(1, thread_name_prefix="backprop-grader")
        self.ready = self.grader.submit(self._prepare, worker.local_directory)  # setup returns at once

    async def teardown(self, worker):
        """When the client that registered it leaves, or the worker closes: a coroutine, since
        a preflight under way is waited for and the worker's event loop must not be held."""
        import asyncio

        await asyncio.to_thread(self._teardown)

    def _teardown(self):
        exits = getattr(self, "exits", None)
        if exits is not None:
            self.grader.submit(exits.finish).result()
        self.grader.shutdown(wait=True, cancel_futures=True)
        gradebook = getattr(self, "gradebook", None)
        if gradebook is not None:
            gradebook.close()

    def _prepare(self, local_directory):
        started = time.perf_counter()
        course = _unpacked.get(self.bundle.digest)
        if course is not None and course.is_dir():
            (course / "gradebook.db").write_bytes(self.bundle.gradebook)  # this run's, with no student
        else:
            scratch = Path(tempfile.mkdtemp(prefix="backprop-grading-", dir=local_directory))
            course = _unpacked[self.bundle.digest] = self.bundle.unpack(scratch / "course")
        self.course = course
        self.config = config = load_config(course)
        self.exits = config.SandboxedKernelManager.exits = ExitingKernels()
        quiet_nbgrader()
        # the worker's own gradebook, whatever NBGRADER_DB_URL says on this machine
        self.api = make_api(config, f"sqlite:///{course / 'gradebook.db'}")
        self.preflights = check_worker(self.bundle, course, config, self.assignments)
        from nbgrader.api import Gradebook

        self.gradebook = Gradebook(f"sqlite:///{course / 'gradebook.db'}")
        return time.perf_counter() - started

    def state(self):
        """("preparing" | "ready" | "refused", why it refuses, seconds its preparation took)."""
        if not self.ready.done():
            return "preparing", "", 0.0
        error = self.ready.exception()
        return ("refused", str(error), 0.0) if error else ("ready", "", self.ready.result())

    def grade(self, student, assignment, files):
        """Grade one submission's ``files``; return nbgrader's result, the rows, the autograded folder."""
        self.ready.result()  # raises WorkerRefused on a worker that refused
        check_worker(self.bundle, self.course, self.config, [assignment])  # done already, but for a new one
        started = time.perf_counter()
        submitted, autograded = self.course / "submitted" / student, self.course / "autograded" / student
        for folder in (submitted, autograded):
            shutil.rmtree(folder, ignore_errors=True)
        try:
            write_folder(submitted / assignment, files)
            result = self.api.autograde(assignment, student, force=True, create=True)
            rows = out = None
            if result["success"]:
                try:
                    rows = submission_rows(self.gradebook, assignment, student)
                finally:
                    self.gradebook.db.remove()
                try:
                    out = read_folder(autograded / assignment, skip_links=True)
                except RefusedFiles as error:
                    result = {"success": False, "log": result.get("log", ""),
                              "error": f"the autograded folder cannot be sent back: {error}"}
                    rows = None
        finally:
            for folder in (submitted, autograded):
                shutil.rmtree(folder, ignore_errors=True)
        return {"result": result, "rows": rows, "files": out, "worker": self.address,
                "seconds": time.perf_counter() - started}


def worker_state(name, dask_worker=None):
    """Run by the client on each worker: its plugin's state, or ("joining", "", 0.0) before it has one."""
    plugin = dask_worker.plugins.get(name)
    if plugin is None:
        return "joining", "", 0.0
    return plugin.state()


async def settle(name, dask_worker=None):
    """Run by the client as it leaves; a coroutine, so that the worker's event loop is not held."""
    import asyncio

    plugin = dask_worker.plugins.get(name)
    if plugin is not None and plugin.ready.done() and not plugin.ready.exception():
        await asyncio.wrap_future(plugin.grader.submit(plugin.exits.finish))


def grade_on_worker(name, student, assignment, files):
    """The task: one submission, graded by this worker's :class:`GradingWorker`."""
    from distributed import get_worker

    worker = get_worker()
    plugin = worker.plugins.get(name)
    if plugin is None:
        raise WorkerRefused(f"{worker.address} was not given the course (no plugin {name})")
    return plugin.grader.submit(plugin.grade, student, assignment, files).result()
