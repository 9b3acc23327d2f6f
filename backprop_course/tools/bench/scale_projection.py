"""`make bench` at scale, step 3 (scale.py): what a task costs on Dask itself, measured, and the
projection of real workers' wall time from every input measured in steps 1 and 2."""
from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from pathlib import Path

from distributed import wait

from ..local_cluster import LocalCluster
from .runs import nbgrader_env


def _noop(i):
    """An empty task."""
    return i


def _echo(files, size):
    """A task of the distributed path's size that grades nothing: a submission's files in, as
    much back as a graded submission returns."""
    return {"files": files, "padding": b"x" * size}


def dask_overheads(workdir, jobs, files, returned, echoes=200, noops=2000, say=print):
    """Measured on a fresh local cluster of ``jobs`` workers: the scheduler's throughput
    (``noops`` empty tasks), and what a task costs a worker with a real submission's payload
    (``echoes`` tasks carrying ``files`` and returning ``returned`` bytes), serialisation included."""
    payload = pickle.dumps(files, protocol=5)
    started = time.perf_counter()
    for _ in range(100):
        pickle.loads(pickle.dumps(files, protocol=5))
        pickle.loads(pickle.dumps(_echo(files, returned), protocol=5))
    pickling = (time.perf_counter() - started) / 100
    with LocalCluster(Path(workdir) / "overhead-cluster", nbgrader_env()) as cluster:
        for i in range(jobs):
            cluster.add_worker(f"worker-{i + 1}")
        cluster.wait_for_workers(jobs)
        with cluster.client() as client, client.as_current():  # wait() needs it current
            client.submit(_noop, -1, pure=False).result()
            started = time.perf_counter()
            wait(client.map(_noop, range(noops), pure=False))
            throughput = noops / (time.perf_counter() - started)
            started = time.perf_counter()
            wait([client.submit(_echo, files, returned, pure=False) for _ in range(echoes)])
            per_task = (time.perf_counter() - started) * jobs / echoes
            started = time.perf_counter()
            for _ in range(20):
                client.submit(_echo, files, returned, pure=False).result()
            latency = (time.perf_counter() - started) / 20
    figures = {"throughput": throughput, "per task": per_task, "latency": latency, "pickling": pickling,
               "payload": len(payload)}
    say(f"   Dask overhead: scheduler {throughput:.0f} tasks/s; a submission-sized task costs a worker "
        f"{1000 * per_task:.1f} ms, a round trip {1000 * latency:.1f} ms, (de)serialising it on the client "
        f"{1000 * pickling:.2f} ms")
    return figures


PROJECTED = (1_000, 10_000)
CORES = (8, 64, 256)


@dataclass
class Inputs:
    """The projection's inputs, every one measured (:meth:`measured`):

    F  ``fixed``: the client's time before the first task besides reading (its start, the bundle,
       the plugin): its CPU before its first merge in the simulation, less its reading;
    a  ``reading``: the client's CPU per submission to read and check it before grading (:func:`reading`);
    S  ``setup``: a worker's setup before its first task (unpack, preflight: the recording);
    g  ``grading``: grading a submission on a core of its own (the recording's CPU per submission);
    o  ``overhead``: a task's distributed overhead on a worker (:func:`dask_overheads`);
    c  ``client``: the client's CPU per submission while grading (the simulation);
    R  ``rate``: the scheduler's tasks per second on a core of its own (the simulation, heartbeats included).
    """

    fixed: float
    reading: float
    setup: float
    grading: float
    overhead: float
    client: float
    rate: float

    @classmethod
    def measured(cls, sim, recording, overheads):
        """The inputs as a simulation, a recording and :func:`dask_overheads` measured them."""
        n = sim.merged or 1
        scheduler = sim.cpu("scheduler", sim.first or 0.0, sim.last) / n
        return cls(sim.fixed, sim.reading, recording.setup, recording.grading, overheads["per task"],
                   sim.cpu("client", sim.first or 0.0, sim.last) / n, 1 / scheduler if scheduler else float("inf"))

    def terms(self, size, cores):
        """What each part needs, once grading runs: N·(g + o)/C, N·c, N/R."""
        return {"the workers": size * (self.grading + self.overhead) / cores, "the client": size * self.client,
                "the scheduler": size / self.rate}

    def wall(self, size, cores):
        """T = F + a·N + S + max(N·(g + o)/C, N·c, N/R) + g: the last g is the last submission's tail."""
        return self.fixed + self.reading * size + self.setup + max(self.terms(size, cores).values()) + self.grading


def projection(inputs, sim):
    """The projection's lines: its inputs, a table of wall times, what sets the pace."""
    i = inputs
    lines = ["", "Projection for real workers: T = F + a·N + S + max(N·(g + o)/C, N·c, N/R) + g, for N submissions on "
                 "C one-thread worker cores; measured here:",
             f"  F = {i.fixed:.1f} s the client's start (its CPU), a = {1000 * i.reading:.2f} ms its reading and checking "
             f"of a submission, S = {i.setup:.1f} s a worker's setup (preflight, once, in parallel), g = {i.grading:.2f} s "
             f"grading a submission (its CPU, kernel included), o = {1000 * i.overhead:.1f} ms a task's overhead on a "
             f"worker, c = {1000 * i.client:.1f} ms the client's CPU per submission while grading, R = {i.rate:.0f} "
             "tasks/s the scheduler on a core of its own",
             f"  {'submissions':>11}" + "".join(f"  {f'{cores} cores':>12}" for cores in CORES)]
    for size in PROJECTED:
        lines.append(f"  {size:>11}" + "".join(f"  {duration(i.wall(size, cores)):>12}" for cores in CORES))
    size, cores = PROJECTED[-1], CORES[-1]
    bound = i.terms(size, cores)
    limit = max(bound, key=bound.get)
    lines.append(f"  {size} on {cores} cores: the workers need {duration(bound['the workers'])}, the client "
                 f"{duration(bound['the client'])}, the scheduler {duration(bound['the scheduler'])}, after "
                 f"{duration(i.fixed + i.reading * size + i.setup)} of start, reading and setup: {limit} set the pace. "
                 f"The client keeps up with {i.grading / i.client if i.client else 0:.0f} worker cores, the scheduler "
                 f"with {i.rate * i.grading:.0f}.")
    n = sim.merged or 1
    moved = (sim.stats.get("bytes returned", 0) + sim.stats.get("bytes sent", 0)) / n
    pace = min(cores / (i.grading + i.overhead), 1 / i.client if i.client else float("inf"), i.rate)
    lines.append(f"  The network carries {moved / 1024:.0f} KiB a submission: {pace * moved * 8 / 1e6:.0f} Mbit/s "
                 f"at {pace:.0f} submissions/s; the bundle {sim.stats.get('bundle bytes', 0) * cores / 1e6:.0f} MB to "
                 f"{cores} workers, once.")
    return lines


def duration(seconds):
    """``seconds`` as a person reads them: "2.1 h", "3.5 min", "40 s"."""
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
