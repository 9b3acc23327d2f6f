"""`make bench` at scale, step 2 (scale.py): the real scheduler and client grade a class on
hundreds of replaying workers (scale_workers.py), sampled every second."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...grader.pipeline import Course, cores
from ..local_cluster import LocalCluster
from .processes import cpu_and_rss
from .runs import dask_stats, nbgrader_env
from .synthetic_class import ASSIGNMENT, NOTEBOOK


@dataclass
class Simulation:
    """What one simulation measured: its wall time, the merges, and a sample a second of each
    process's CPU and memory (client, scheduler, hosts of workers)."""

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
        """RSS of ``role`` at ``seconds``, KiB (sampled)."""
        return self.at(seconds)[2].get(role, (0, 0))[1]

    def peak(self, role):
        """The highest RSS of ``role`` sampled, KiB."""
        return max(s[2][role][1] for s in self.samples if role in s[2])

    @property
    def rate(self):
        """Submissions merged per second, first to last."""
        return (self.merged - 1) / (self.last - self.first) if self.last and self.last > self.first else 0.0


def build_class(folder, template, size):
    """A released course in ``folder`` whose class hands in ``size`` submissions: the template's
    submitted notebooks, over and over, each under its own student."""
    folder = Path(folder)
    # the answers and the course secret too: the client's course bundle carries them to the workers
    for name in ("source", "release", "answers"):
        shutil.copytree(template / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("nbgrader_config.py", "gradebook.db", ".course-secret"):
        shutil.copy(template / name, folder / name)
    notebooks = sorted((template / "submitted").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}"))
    for i in range(size):
        target = folder / "submitted" / f"s{i:05d}" / ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copy(notebooks[i % len(notebooks)], target / NOTEBOOK)
    return folder


def simulate(workdir, recording, workers, tasks, hosts, say=print):
    """The real scheduler and client, ``workers`` replaying workers in ``hosts`` processes, ``tasks`` submissions."""
    workdir = Path(workdir)
    samples = recording.scaled()
    (workdir / "recording.pickle").write_bytes(pickle.dumps(samples, protocol=5))
    course = build_class(workdir / "class", workdir / "template", tasks)
    journal = course / ".autograde-journal.jsonl"
    sim = Simulation(workers, tasks, hosts, statistics.mean(s for s, _ in samples))
    sim.reading = reading(course)
    with LocalCluster(workdir / "scale-cluster", nbgrader_env()) as cluster:
        per_host = [workers // hosts + (i < workers % hosts) for i in range(hosts)]
        for i, count in enumerate(per_host):
            cluster.add_process(f"host-{i + 1}", [sys.executable, "-m", "backprop_course.tools.bench.scale_workers",
                                                  str(cluster.file), str(workdir / "recording.pickle"), str(count),
                                                  f"host-{i + 1}"])
        cluster.wait_for_workers(workers, timeout=600)
        roles = {"scheduler": cluster.processes[0].pid, **{f"host-{i}": p.pid for i, p in enumerate(cluster.processes[1:])}}
        say(f"   {workers} replaying workers up in {hosts} processes; the client grades {tasks} submissions")
        sim.load = os.getloadavg()
        started = time.perf_counter()
        with open(course / "autograde.log", "w") as log:
            client = subprocess.Popen([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course), "grade",
                                       "--class-dir", ".", "--only", "autograde", "--cluster", str(cluster.file)],
                                      cwd=course, env=nbgrader_env(), stdout=log, stderr=subprocess.STDOUT)
            roles["client"] = client.pid
            while True:
                now = time.perf_counter() - started
                merged = _lines(journal)
                if merged and sim.first is None:
                    sim.first = now
                if merged == tasks and sim.last is None:
                    sim.last = now
                seen = {role: cpu_and_rss(pid) for role, pid in roles.items()}
                sim.samples.append((now, merged, {role: value for role, value in seen.items() if value}))
                if client.poll() is not None:
                    break
                time.sleep(1.0)
        sim.wall, sim.exit = time.perf_counter() - started, client.returncode
    sim.merged = _lines(journal)
    sim.last = sim.last or sim.wall
    sim.load_end = os.getloadavg()
    text = (course / "autograde.log").read_text()
    sim.stats = dask_stats(course / "autograde.log")
    sim.not_graded = text.count("not graded:")
    (workdir / "simulation.json").write_text(json.dumps(  # the samples, for a closer look
        {"first": sim.first, "last": sim.last, "samples": sim.samples, "stats": sim.stats}, indent=0))
    return sim


def reading(course):
    """The client's CPU seconds per submission to read and check the class before grading it
    (``Course.submissions``: the intake, the notebook's validation; the journal's digests), measured
    here, in this process, on the class the client is about to grade."""
    graded = Course(root=course)
    started = time.process_time()
    found = graded.submissions()
    graded._digests(found)
    return (time.process_time() - started) / len(found)


def _lines(journal):
    """The lines of the journal: the submissions merged so far."""
    try:
        with open(journal, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def simulation_lines(sim, recording):
    """The report's lines on a simulation."""
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
            f"load average {sim.load[0]:.1f} at start, {sim.load_end[0]:.1f} at the end, on {cores()} shared cores",
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
