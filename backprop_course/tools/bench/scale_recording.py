"""`make bench` at scale, step 1 (scale.py): real gradings of a class recorded on one worker, for
the replaying workers of step 2 (scale_workers.py)."""
from __future__ import annotations

import os
import pickle
import statistics
from dataclasses import dataclass
from pathlib import Path

from ...grader.run.cluster_client import DaskCluster
from ...grader.pipeline import Course
from ..local_cluster import LocalCluster
from . import cpu_meter
from .processes import descendants
from .runs import nbgrader_env, prepare, reap_orphans
from .synthetic_class import ASSIGNMENT


@dataclass
class Recording:
    """Real gradings of a class, to replay: [(seconds on the worker, the task's result)]."""

    samples: list
    cpu: float | None    # the worker's CPU per submission, kernels included (None: not measured here)
    setup: float         # the worker's setup before its first task (unpack, preflight), seconds
    load: tuple          # the machine's load average while recording

    @property
    def wall(self):
        """The mean wall time of a recorded grading, seconds."""
        return statistics.mean(seconds for seconds, _ in self.samples)

    @property
    def grading(self):
        """Seconds to grade a submission on a core of its own: its CPU, or the wall time without a measure."""
        return self.wall if self.cpu is None else self.cpu

    def scaled(self):
        """The samples with each time scaled so that their mean is :attr:`grading`: grading times on
        a core of its own (the recorded shape, this machine's contention taken out)."""
        factor = self.grading / self.wall
        return [(seconds * factor, out) for seconds, out in self.samples]

    def returned_bytes(self):
        """The mean size of a recorded result, pickled as Dask sends it, bytes."""
        return statistics.mean(len(pickle.dumps(out, protocol=5)) for _, out in self.samples)


def record(workdir, size, say=print):
    """Grade ``size`` of the bench's 02_backprop submissions on a local cluster of one worker,
    whose CPU (kernels included) a cpuacct group counts (cpu_meter.py; without one, the wall
    time stands in for it, and the lines say so)."""
    workdir = Path(workdir)
    prepare(workdir, size)
    course = Course(root=workdir / "template")
    todo = [s for s in course.submissions() if not s.problem]
    load = os.getloadavg()
    meter = cpu_meter.group("recording")
    try:
        with LocalCluster(workdir / "record-cluster", nbgrader_env()) as cluster:
            cluster.add_worker("worker-1")
            cluster.wait_for_workers(1)
            started = [p.pid for p in cluster.processes[1:]]
            for pid in [*started, *descendants(started)] if meter else ():
                meter.add(pid)
            with DaskCluster(course, str(cluster.file), [ASSIGNMENT]) as executor:
                before = meter.seconds if meter else 0.0   # the worker's setup (preflight) done
                samples = [(graded.seconds, {"result": graded.result, "rows": graded.rows, "files": graded.files})
                           for graded in executor.grade(todo) if not graded.problem]
                setup = executor.stats["setup seconds"]
            reap_orphans()
            after = meter.seconds if meter else 0.0  # the client left: the last kernel's exit is in
    finally:
        if meter:
            meter.close()
    if len(samples) != len(todo):
        raise SystemExit(f"bench.scale: only {len(samples)} of {len(todo)} submissions were graded while recording")
    found = Recording(samples, (after - before) / len(samples) if meter else None, setup, load)
    say(f"   recorded {len(samples)} gradings on one worker: {found.wall:.2f} s each on average (wall, at load "
        f"{load[0]:.1f}), " + (f"{found.cpu:.2f} s of CPU, kernels included" if meter else "no CPU measure here (no "
        "cpuacct cgroup): the wall time stands in for it") + f"; the worker's setup (preflight) {setup:.1f} s")
    return found
