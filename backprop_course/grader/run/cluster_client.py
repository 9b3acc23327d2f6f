"""The client's side of grading on a Dask cluster (:mod:`.cluster` is the workers'): it connects,
registers the course plugin, waits until every worker passed its preflight, and keeps a window of
submissions in flight, each read through the intake and sent as its admitted files.
"""
from __future__ import annotations

import os
import pickle
import queue
import re
import sys
import time
from collections import Counter
from pathlib import Path

from .bundle import CourseBundle, RefusedFiles
from .cluster import DaskGrading, GradingWorker, WorkerRefused, grade_on_worker, settle, worker_state
from .executors import Graded


def _take(finished, timeout):
    """What ``finished`` holds, waiting up to ``timeout`` seconds for a first item: [] if none came."""
    try:
        found = [finished.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            found.append(finished.get_nowait())
        except queue.Empty:
            return found


def connect(address, timeout):
    """A Client of the scheduler at ``address`` (tcp://host:port, a scheduler file, or a Dask
    Gateway cluster's gateway://…/NAME), or a clear stop when it cannot be reached."""
    from distributed import Client  # lazy: distributed, heavy, imported by the client only when it connects

    if address.startswith("gateway://"):
        try:
            from dask_gateway import Gateway
        except ImportError:
            raise SystemExit(f"{address} is a Dask Gateway cluster: `pip install dask-gateway` first. "
                             "Nothing was graded.") from None
        try:
            return Gateway().connect(address.rstrip("/").rsplit("/", 1)[-1]).get_client(set_as_default=False)
        except Exception as error:  # the gateway's own errors: unknown cluster, authentication
            raise SystemExit(f"Cannot reach the Dask Gateway cluster {address} ({error}). Nothing was graded.") from None
    where = {"address": address}
    if "://" not in address and not re.fullmatch(r"[\w.\-]+:\d+", address):
        if not Path(address).is_file():
            raise SystemExit(f"No Dask scheduler at {address!r}: it is neither an address (tcp://HOST:PORT) "
                             "nor a scheduler file. Nothing was graded.")
        where = {"scheduler_file": address}
    try:
        return Client(**where, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise SystemExit(f"Cannot reach the Dask scheduler at {address} within {timeout:g} s ({error}). "
                         "Nothing was graded. Is the scheduler running, and is the address right "
                         "(tcp://HOST:PORT, or the scheduler file of `dask scheduler --scheduler-file`)?") from None


class DaskCluster:
    """The executor of ``--cluster ADDRESS``: the workers of an existing Dask cluster."""
    def __init__(self, course, address, assignments=()):
        self.course, self.address, self.assignments = course, address, tuple(assignments)
        self.settings = DaskGrading(config=course.config)
        self.description = f"the Dask cluster at {address}"
        self.stats = Counter()

    def __enter__(self):
        self.client = connect(self.address, self.settings.connect_timeout)
        try:
            self._start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc):
        # the plugin leaves with its client: a worker that restarts later unpacks and checks no
        # course nobody grades any more (a killed client leaves it, for its rerun to find set up)
        try:
            if exc[0] is None:
                self.client.run(settle, self.name)
        finally:
            try:
                if getattr(self, "name", None):
                    self.client.unregister_worker_plugin(self.name)
            except Exception as error:  # the workers keep a copy of the course in their local folder
                print(f"note: the Dask workers kept the course plugin {self.name}: {error}", file=sys.stderr)
            finally:
                self.client.close()
        return False

    def _start(self):
        try:
            self.client.wait_for_workers(1, timeout=self.settings.worker_timeout)
        except TimeoutError:
            raise SystemExit(f"The Dask scheduler at {self.address} has no worker (waited "
                             f"{self.settings.worker_timeout:g} s). Nothing was graded.") from None
        bundle = CourseBundle.of(self.course)
        plugin = GradingWorker(bundle, self.assignments)
        self.name = plugin.name   # set first: __exit__ unregisters it, also when the preflight fails
        self.stats["bundle bytes"] = len(pickle.dumps(bundle, protocol=5))
        self.client.register_plugin(plugin)
        states = self._wait_until_set_up()
        refused = {worker: reason for worker, (state, reason, _) in states.items() if state == "refused"}
        self.stats["setup seconds"] = max(seconds for _, _, seconds in states.values())
        if refused:
            raise SystemExit(f"{len(refused)} of {len(states)} Dask workers refuse to grade. Nothing was graded.\n"
                             + "\n".join(f"  worker {worker} refuses: {reason}" for worker, reason in sorted(refused.items())))
        threads = self.client.nthreads()
        self.description = (f"the Dask cluster at {self.address}: {len(states)} worker(s), "
                             f"{sum(threads.values())} thread(s)")
        several = sorted(w for w, n in threads.items() if n > 1)
        if several:
            print(f"note: {len(several)} worker(s) have several threads but grade one submission at a time: "
                  "start workers with --nthreads 1 and one process per core", file=sys.stderr)

    def _wait_until_set_up(self):
        deadline = time.monotonic() + self.settings.setup_timeout
        while True:
            states = self.client.run(worker_state, self.name)
            if states and all(state in ("ready", "refused") for state, _, _ in states.values()):
                return states
            if time.monotonic() > deadline:
                slow = sorted(w for w, (state, _, _) in states.items() if state not in ("ready", "refused"))
                raise SystemExit(f"Dask workers {', '.join(slow)} did not finish their preflight within "
                                 f"{self.settings.setup_timeout:g} s (c.DaskGrading.setup_timeout). Nothing was graded.")
            time.sleep(0.5)

    def _window(self):
        return max(4, self.settings.tasks_per_thread * sum(self.client.nthreads().values()))

    def grade(self, todo):
        """Grade ``todo`` on the cluster, a window of submissions in flight; yield a :class:`.executors.Graded`
        for each as it finishes."""
        from distributed.scheduler import KilledWorker  # lazy: with Client above

        waiting = list(todo)[::-1]
        running = {}    # future -> submission
        # each future puts itself here as it finishes (Dask's callback thread): taking them costs
        # nothing per future still running, where wait(FIRST_COMPLETED) watched all of them each time
        finished = queue.Queue()
        window, refreshed = self._window(), time.monotonic()
        no_worker_since = None
        while waiting or running:
            while waiting and len(running) < window:
                sub = waiting.pop()
                try:
                    files = self.course.read_submission(sub)
                except (RefusedFiles, OSError) as error:
                    yield Graded(sub, {"success": False, "log": ""}, worker="-", problem=f"not sent: {error}")
                    continue
                self.stats["bytes sent"] += len(pickle.dumps(files, protocol=5))
                future = self.client.submit(grade_on_worker, self.name, sub.student, sub.assignment, files,
                                            key=f"grade-{sub.student}/{sub.assignment}-{os.urandom(4).hex()}",
                                            pure=False, retries=self.settings.retries)
                running[future] = sub
                future.add_done_callback(finished.put)
            if not running:
                continue
            done = _take(finished, timeout=5)
            if not done:
                if not self.client.scheduler_info()["workers"]:
                    no_worker_since = no_worker_since or time.monotonic()
                    if time.monotonic() - no_worker_since > self.settings.worker_timeout:
                        raise SystemExit(f"The Dask cluster at {self.address} has had no worker for "
                                         f"{self.settings.worker_timeout:g} s; {len(running) + len(waiting)} "
                                         "submissions were not graded. Run again to go on where this stopped.")
                else:
                    no_worker_since = None
            for future in done:
                sub = running.pop(future, None)
                if sub is None:  # cancelled, and reported already
                    continue
                try:
                    out = future.result()
                except KilledWorker as error:
                    yield Graded(sub, {"success": False, "log": ""}, worker=error.last_worker.address,
                                 problem=f"every worker that graded it died ({error.allowed_failures + 1} tries, "
                                         "Dask's KilledWorker)")
                except WorkerRefused as error:
                    for other in running:
                        other.cancel()
                    raise SystemExit(f"A Dask worker refuses to grade: {error}. The submissions graded so far are "
                                     "kept; fix the worker and run again to go on where this stopped.") from None
                except Exception as error:  # raised on every try
                    yield Graded(sub, {"success": False, "log": ""}, worker="-",
                                 problem=f"failed on every try ({self.settings.retries + 1}): "
                                         f"{type(error).__name__}: {error}")
                else:
                    self.stats["bytes returned"] += len(pickle.dumps(out, protocol=5))
                    self.stats["worker seconds"] += out["seconds"]
                    yield Graded(sub, out["result"], worker=out["worker"], rows=out["rows"], files=out["files"],
                                 seconds=out["seconds"])
                future.release()
            if time.monotonic() - refreshed > 10:
                window, refreshed = self._window(), time.monotonic()
