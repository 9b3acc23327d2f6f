"""`make bench` at scale: the real scheduler and client with hundreds of replaying workers, and a
projection for real ones.

Grading 10,000 submissions on 256 cores cannot be measured on this machine; all of it but the
grading can. Three steps:

1. **Recording.** A class of the bench's 02_backprop submissions is graded for real through the
   Dask path (``DaskCluster``, one ``dask worker``), keeping each submission's result (its
   autograded folder, gradebook rows, nbgrader's log) and how long the worker took; and the
   worker's CPU over the class, kernels included: a core of its own would grade a submission in
   about its CPU time, less than the wall time of this shared machine.
2. **Simulation.** The real ``dask scheduler``, the real client (``backprop-course grade --only
   autograde --cluster ...`` on a class of N submissions) and W real Dask ``Worker`` objects,
   many to a process, whose course plugin (``cluster.GradingWorker``) replays a recorded result
   after a sleep drawn from the recorded times, instead of grading. Sampled every second: the
   client's and the scheduler's CPU and memory, the workers' processes', the journal.
3. **Projection** of real workers' wall time, every input measured in 1 and 2 (:func:`projection`).

    python -m backprop_course.tools.bench_scale [--workers 256] [--tasks 10000] [--hosts 8] [--record 10]
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import bench, cpu_meter

SEED = 29  # the replaying workers' draws
CLOCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --- 1. recording -----------------------------------------------------------------------------

@dataclass
class Recording:
    """Real gradings of a class, to replay: [(seconds on the worker, the task's result)]."""

    samples: list
    cpu: float | None    # the worker's CPU per submission, kernels included (None: not measured here)
    setup: float         # the worker's setup before its first task (unpack, preflight), seconds
    load: tuple          # the machine's load average while recording

    @property
    def wall(self):
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
        return statistics.mean(len(pickle.dumps(out, protocol=5)) for _, out in self.samples)


def record(workdir, size, say=print):
    """Grade ``size`` of the bench's 02_backprop submissions on a local cluster of one worker,
    whose CPU (kernels included) a cpuacct group counts (cpu_meter.py; without one, the wall
    time stands in for it, and the lines say so)."""
    from ..grader.cluster import DaskCluster
    from ..grader.pipeline import Course
    from .local_cluster import LocalCluster

    workdir = Path(workdir)
    bench.prepare(workdir, size)
    course = Course(root=workdir / "template")
    todo = [s for s in course.submissions() if not s.problem]
    load = os.getloadavg()
    meter = cpu_meter.group("recording")
    try:
        with LocalCluster(workdir / "record-cluster", bench.nbgrader_env()) as cluster:
            cluster.add_worker("worker-1")
            cluster.wait_for_workers(1)
            started = [p.pid for p in cluster.processes[1:]]
            for pid in [*started, *bench._descendants(started)] if meter else ():
                meter.add(pid)
            with DaskCluster(course, str(cluster.file), [bench.ASSIGNMENT]) as executor:
                before = meter.seconds if meter else 0.0   # the worker's setup (preflight) done
                samples = [(graded.seconds, {"result": graded.result, "rows": graded.rows, "files": graded.files})
                           for graded in executor.grade(todo) if not graded.problem]
                setup = executor.stats["setup seconds"]
            bench.reap_orphans()
            after = meter.seconds if meter else 0.0  # the client left: the last kernel's exit is in
    finally:
        if meter:
            meter.close()
    if len(samples) != len(todo):
        raise SystemExit(f"bench_scale: only {len(samples)} of {len(todo)} submissions were graded while recording")
    found = Recording(samples, (after - before) / len(samples) if meter else None, setup, load)
    say(f"   recorded {len(samples)} gradings on one worker: {found.wall:.2f} s each on average (wall, at load "
        f"{load[0]:.1f}), " + (f"{found.cpu:.2f} s of CPU, kernels included" if meter else "no CPU measure here (no "
        "cpuacct cgroup): the wall time stands in for it") + f"; the worker's setup (preflight) {setup:.1f} s")
    return found


# --- 2. the replaying workers ------------------------------------------------------------------

class _NoKernels:
    """A replaying worker starts no kernel, so none has an exit to wait for."""

    def finish(self):
        pass


def replaying(samples, seed=SEED):
    """Make this process's ``cluster.GradingWorker`` replay ``samples`` instead of grading: set up at
    once, then for each task a recorded (seconds, result) drawn with a seeded generator of the
    worker's own, its seconds slept, its result returned. The client and scheduler are untouched."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from ..grader import cluster

    def setup(self, worker):
        self.address = worker.address
        self.grader = ThreadPoolExecutor(1, thread_name_prefix="replay")
        self.exits = _NoKernels()
        self.ready = Future()
        self.ready.set_result(0.0)
        self.draw = random.Random(f"{seed}-{worker.name}")

    def grade(self, student, assignment, files):
        seconds, out = samples[self.draw.randrange(len(samples))]
        time.sleep(seconds)
        return {**out, "worker": self.address, "seconds": seconds}

    cluster.GradingWorker.setup, cluster.GradingWorker.grade = setup, grade


def host(scheduler_file, recording, count, name, folder):
    """A process of ``count`` replaying workers (one thread each) until it is stopped."""
    import asyncio

    from distributed import Worker

    replaying(pickle.loads(Path(recording).read_bytes()))

    async def serve():
        workers = [Worker(scheduler_file=scheduler_file, nthreads=1, name=f"{name}-{i}", host="127.0.0.1",
                          local_directory=str(Path(folder) / f"{name}-{i}")) for i in range(count)]
        await asyncio.gather(*workers)
        await asyncio.gather(*(worker.finished() for worker in workers))

    asyncio.run(serve())


# --- 2. the simulation -----------------------------------------------------------------------

def _proc(pid):
    """(CPU seconds, RSS in KiB) of a process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss = bench._rss_kib(pid)
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK, rss or 0


@dataclass
class Simulation:
    workers: int
    tasks: int
    hosts: int
    grading: float                 # the mean sleep, seconds
    exit: int = 0
    wall: float = 0.0
    first: float | None = None     # seconds until the first submission was merged
    last: float | None = None      # ... the last
    merged: int = 0
    samples: list = field(default_factory=list)   # (seconds, merged, {role: (CPU, RSS KiB)})
    stats: dict = field(default_factory=dict)     # the client's `cluster:` figures
    load: tuple = (0.0, 0.0, 0.0)
    load_end: tuple = (0.0, 0.0, 0.0)
    not_graded: int = 0
    reading: float = 0.0           # the client's CPU seconds per submission to read and check it before grading

    @property
    def fixed(self):
        """The client's CPU seconds before its first merge that are not reading the submissions: its
        start, the bundle, the plugin, the first tasks. On a core of its own, the time they take."""
        return max(0.0, self.cpu("client", 0.0, self.first or 0.0) - self.reading * self.tasks)

    def at(self, seconds):
        """The sample nearest to ``seconds``."""
        return min(self.samples, key=lambda s: abs(s[0] - seconds))

    def cpu(self, role, start=0.0, end=None):
        """CPU seconds of ``role`` between two times (sampled)."""
        first, last = self.at(start), self.at(self.wall if end is None else end)
        return last[2][role][0] - first[2][role][0]

    def rss(self, role, seconds):
        return self.at(seconds)[2].get(role, (0, 0))[1]

    def peak(self, role):
        return max(s[2][role][1] for s in self.samples if role in s[2])

    @property
    def rate(self):
        """Submissions merged per second, first to last."""
        return (self.merged - 1) / (self.last - self.first) if self.last and self.last > self.first else 0.0


def build_class(folder, template, size):
    """A released course in ``folder`` whose class hands in ``size`` submissions: the template's
    submitted notebooks, over and over, each under its own student."""
    folder = Path(folder)
    for name in ("source", "release"):
        shutil.copytree(template / name, folder / name)
    for name in ("nbgrader_config.py", "gradebook.db"):
        shutil.copy(template / name, folder / name)
    notebooks = sorted((template / "submitted").glob(f"*/{bench.ASSIGNMENT}/{bench.NOTEBOOK}"))
    for i in range(size):
        target = folder / "submitted" / f"s{i:05d}" / bench.ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copy(notebooks[i % len(notebooks)], target / bench.NOTEBOOK)
    return folder


def simulate(workdir, recording, workers, tasks, hosts, say=print):
    """The real scheduler and client, ``workers`` replaying workers in ``hosts`` processes, ``tasks`` submissions."""
    from .local_cluster import LocalCluster

    workdir = Path(workdir)
    samples = recording.scaled()
    (workdir / "recording.pickle").write_bytes(pickle.dumps(samples, protocol=5))
    course = build_class(workdir / "class", workdir / "template", tasks)
    journal = course / ".autograde-journal.jsonl"
    sim = Simulation(workers, tasks, hosts, statistics.mean(s for s, _ in samples))
    sim.reading = reading(course)
    with LocalCluster(workdir / "scale-cluster", bench.nbgrader_env()) as cluster:
        per_host = [workers // hosts + (i < workers % hosts) for i in range(hosts)]
        for i, count in enumerate(per_host):
            cluster.add_process(f"host-{i + 1}", [sys.executable, "-m", "backprop_course.tools.bench_scale", "--host",
                                                  str(cluster.file), "--recording", str(workdir / "recording.pickle"),
                                                  "--count", str(count), "--name", f"host-{i + 1}"])
        cluster.wait_for_workers(workers, timeout=600)
        roles = {"scheduler": cluster.processes[0].pid, **{f"host-{i}": p.pid for i, p in enumerate(cluster.processes[1:])}}
        say(f"   {workers} replaying workers up in {hosts} processes; the client grades {tasks} submissions")
        sim.load = os.getloadavg()
        started = time.perf_counter()
        with open(course / "autograde.log", "w") as log:
            client = subprocess.Popen([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course), "grade",
                                       "--class-dir", ".", "--only", "autograde", "--cluster", str(cluster.file)],
                                      cwd=course, env=bench.nbgrader_env(), stdout=log, stderr=subprocess.STDOUT)
            roles["client"] = client.pid
            while True:
                now = time.perf_counter() - started
                merged = _lines(journal)
                if merged and sim.first is None:
                    sim.first = now
                if merged == tasks and sim.last is None:
                    sim.last = now
                seen = {role: _proc(pid) for role, pid in roles.items()}
                sim.samples.append((now, merged, {role: value for role, value in seen.items() if value}))
                if client.poll() is not None:
                    break
                time.sleep(1.0)
        sim.wall, sim.exit = time.perf_counter() - started, client.returncode
    sim.merged = _lines(journal)
    sim.last = sim.last or sim.wall
    sim.load_end = os.getloadavg()
    text = (course / "autograde.log").read_text()
    sim.stats = bench.dask_stats(course / "autograde.log")
    sim.not_graded = text.count("not graded:")
    (workdir / "simulation.json").write_text(json.dumps(  # the samples, for a closer look
        {"first": sim.first, "last": sim.last, "samples": sim.samples, "stats": sim.stats}, indent=0))
    return sim


def reading(course):
    """The client's CPU seconds per submission to read and check the class before grading it
    (``Course.submissions``: the intake, the notebook's validation; the journal's digests), measured
    here, in this process, on the class the client is about to grade."""
    from ..grader.pipeline import Course

    graded = Course(root=course)
    started = time.process_time()
    found = graded.submissions()
    graded._digests(found)
    return (time.process_time() - started) / len(found)


def _lines(journal):
    try:
        with open(journal, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def simulation_lines(sim, recording):
    n = sim.merged or 1
    grading = (sim.first or 0.0, sim.last or sim.wall)
    span = grading[1] - grading[0]
    client_all, client_grading = sim.cpu("client"), sim.cpu("client", *grading)
    scheduler = sim.cpu("scheduler", *grading)
    hosts = [role for role in sim.samples[-1][2] if role.startswith("host-")]
    ideal = sim.tasks * sim.grading / sim.workers
    stats = sim.stats
    return [
        "", f"Simulation: {sim.tasks} submissions, the real `dask scheduler` and client, {sim.workers} replaying workers "
            f"in {sim.hosts} processes; each task sleeps a recorded grading time scaled to the CPU per submission "
            f"(mean {sim.grading:.2f} s) and returns a recorded result ({recording.returned_bytes() / 1024:.0f} KiB); "
            f"load average {sim.load[0]:.1f} at start, {sim.load_end[0]:.1f} at the end, on {bench.cores()} shared cores",
        f"  exit {sim.exit}; merged {sim.merged} of {sim.tasks}, not graded {sim.not_graded}; wall {sim.wall:.1f} s: "
        f"{sim.first or 0:.1f} s to the first merge (of which reading and checking the submissions "
        f"{sim.reading * sim.tasks:.1f} s, {1000 * sim.reading:.2f} ms of CPU each), then {span:.1f} s for the rest: {sim.rate:.1f} submissions/s (the workers' pace alone: "
        f"{sim.workers / sim.grading:.1f}/s; ideal wall of the grading {ideal:.1f} s)",
        f"  client CPU: {1000 * client_all / n:.1f} ms per submission in all, {1000 * client_grading / n:.1f} ms while "
        f"grading (of which the merge thread {1000 * stats.get('merge cpu seconds', 0) / n:.1f} ms, in "
        f"{stats.get('merge transactions', 0):.0f} transactions); {1000 * (client_all - client_grading) / n:.1f} ms "
        "before the first merge",
        f"  scheduler CPU: {1000 * scheduler / n:.2f} ms per task while grading ({scheduler / span if span else 0:.2f} of a "
        f"core), heartbeats of {sim.workers} workers included: at most {n / scheduler if scheduler else 0:.0f} tasks/s "
        "on a core of its own",
        f"  memory (RSS): client {sim.rss('client', grading[0]) / 1024:.0f} MiB at the first merge, "
        f"{sim.rss('client', grading[1]) / 1024:.0f} MiB at the last, {sim.peak('client') / 1024:.0f} MiB at most; peaks: "
        f"scheduler {sim.peak('scheduler') / 1024:.0f} MiB, "
        f"replaying workers {sum(sim.peak(h) for h in hosts) / 1024:.0f} MiB in all "
        f"({sum(sim.peak(h) for h in hosts) / sim.workers / 1024:.1f} MiB a worker)",
        f"  per submission: {stats.get('bytes sent', 0) / n / 1024:.1f} KiB sent, {stats.get('bytes returned', 0) / n / 1024:.1f} "
        f"KiB returned; the course bundle {stats.get('bundle bytes', 0) / 1024:.0f} KiB to each of {sim.workers} workers",
    ]


# --- 3. the projection -----------------------------------------------------------------------

def _noop(i):
    return i


def _echo(files, size):
    """A task of the distributed path's size that grades nothing: a submission's files in, as
    much back as a graded submission returns."""
    return {"files": files, "padding": b"x" * size}


def dask_overheads(workdir, jobs, files, returned, echoes=200, noops=2000, say=print):
    """Measured on a fresh local cluster of ``jobs`` workers: the scheduler's throughput
    (``noops`` empty tasks), and what a task costs a worker with a real submission's payload
    (``echoes`` tasks carrying ``files`` and returning ``returned`` bytes), serialisation included."""
    import pickle

    from distributed import wait

    from .local_cluster import LocalCluster

    payload = pickle.dumps(files, protocol=5)
    started = time.perf_counter()
    for _ in range(100):
        pickle.loads(pickle.dumps(files, protocol=5))
        pickle.loads(pickle.dumps(_echo(files, returned), protocol=5))
    pickling = (time.perf_counter() - started) / 100
    with LocalCluster(Path(workdir) / "overhead-cluster", bench.nbgrader_env()) as cluster:
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
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def run(workdir, workers=256, tasks=10_000, hosts=8, size=10, jobs=2, say=print):
    """Record, simulate, project: the report's lines."""
    from ..grader.admission import submission_limits
    from ..grader.bundle import read_submission
    from ..grader.pipeline import Course

    workdir = Path(workdir)
    say(f"\n== at scale: {size} real gradings recorded, then {tasks} submissions on {workers} replaying workers, in {workdir}")
    recording = record(workdir, size, say)
    sim = simulate(workdir, recording, workers, tasks, hosts, say)
    sample = next((workdir / "template" / "submitted").glob(f"*/{bench.ASSIGNMENT}"))
    files = read_submission(sample, Course().source_notebooks(bench.ASSIGNMENT), submission_limits())
    overheads = dask_overheads(workdir, jobs, files, int(recording.returned_bytes()), say=say)
    inputs = Inputs.measured(sim, recording, overheads)
    return simulation_lines(sim, recording) + projection(inputs, sim), sim.exit == 0 and sim.merged == tasks


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m backprop_course.tools.bench_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=256, help="replaying workers (default 256)")
    parser.add_argument("--tasks", type=int, default=10_000, help="submissions graded (default 10000)")
    parser.add_argument("--hosts", type=int, default=8, help="processes the workers run in (default 8)")
    parser.add_argument("--record", type=int, default=10, help="submissions graded for real, to replay (default 10)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp dir)")
    parser.add_argument("--host", metavar="SCHEDULER_FILE", help=argparse.SUPPRESS)   # internal: a process of workers
    parser.add_argument("--recording", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.host:
        host(args.host, args.recording, args.count, args.name, Path.cwd())
        return 0
    bench.adopt_orphans()
    with tempfile.TemporaryDirectory(prefix="backprop-scale-") as tmp:
        lines, ok = run(Path(args.keep).resolve() if args.keep else Path(tmp), args.workers, args.tasks, args.hosts,
                        args.record)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
