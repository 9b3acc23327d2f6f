"""Running the benchmark's graders, each in a fresh subprocess so that import costs count alike,
with its wall time and its CPU time, kernels included (a cpuacct group of its own, cpu_meter.py;
getrusage where there is none):

(a) stock ``nbgrader autograde``, sequential; (b) ours, ``backprop-course grade --jobs N``;
(c) bare nbclient on the same notebooks; (d) ours on a local Dask cluster (``--cluster``).
"""
from __future__ import annotations

import ctypes
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from . import cpu_meter
from .processes import descendants
from .synthetic_class import ASSIGNMENT, NOTEBOOK, build_course


def nbgrader_env():
    """The environment of every run: the venv's bin/ first (nbgrader shells out to alembic).

    The runs and their kernels import backprop_course from the repository: do not edit it
    while the benchmark runs, or (a) and (b) may run different checks.
    """
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONHASHSEED"] = "0"
    env.pop("NBGRADER_DB_URL", None)
    return env


@dataclass
class Timing:
    """What one run took."""

    wall: float = 0.0     # seconds, time.perf_counter
    cpu: float = 0.0      # CPU seconds of the run and all its descendants (kernels included)
    code: int = 0         # return code
    load: float = 0.0     # 1-minute load average at the end: how busy the machine was


def adopt_orphans():
    """Become the child subreaper (Linux), so that kernels orphaned by a run are reaped here, and
    their CPU time counts in RUSAGE_CHILDREN; without it, (a) and (b) would show only their own."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap_orphans(grace=3.0):
    """Reap the adopted orphans of a run, giving lingering kernels ``grace`` seconds to exit."""
    deadline = time.monotonic() + grace
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no child left
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def children_cpu():
    """CPU seconds of this process's waited-for children (and orphans it adopted), user and system."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd, cwd, log):
    """Run ``cmd`` to completion with its output in ``log``. Its CPU and its kernels' is counted by a
    cpuacct group of its own (cpu_meter.py), else by getrusage, which misses sandboxed kernels."""
    meter = cpu_meter.group("run")
    try:
        with open(log, "w") as out:
            cpu, started = children_cpu(), time.perf_counter()
            code = subprocess.run(cmd, cwd=cwd, env=nbgrader_env(), stdout=out, stderr=subprocess.STDOUT,
                                  preexec_fn=meter.enter if meter else None).returncode
            wall = time.perf_counter() - started
        reap_orphans()
        used = meter.seconds if meter else children_cpu() - cpu
    finally:
        if meter:
            meter.close()
    return Timing(wall, used, code, os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0)


def release(course):
    """release/ and the gradebook's assignments, as `make release` makes them (not timed)."""
    if run([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course), "release"],
           course, course / "release.log").code:
        raise SystemExit(f"release failed in {course}:\n{(course / 'release.log').read_text()}")


def prepare(workdir, size):
    """workdir/template, released; returns the class. Each round grades copies of it."""
    template = Path(workdir) / "template"
    students = build_course(template, size)
    release(template)
    return students



# --- the three timed runs -----------------------------------------------------------------

def run_stock(course):
    """(a) stock nbgrader, sequential, exactly as an instructor would type it."""
    return run(["nbgrader", "autograde", ASSIGNMENT, "--force"], course, course / "autograde.log")


def run_ours(course, jobs):
    """(b) ours: the CLI behind `make autograde JOBS=N`, i.e. Course.autograde(subs, jobs=N)."""
    return run([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course), "grade",
                "--class-dir", ".", "--jobs", str(jobs), "--only", "autograde"], course, course / "autograde.log")


def run_dask(course, jobs):
    """(d) the CLI with ``--cluster``, on a local cluster of ``jobs`` one-thread workers started
    (untimed) beside the course; its CPU time includes the cluster's: with a cpuacct group,
    from the moment the workers are up (their preflight and grading, not their imports), else
    from their start (getrusage, which misses the sandboxed kernels)."""
    from ..local_cluster import LocalCluster  # lazy: it imports distributed, which (c)'s subprocess, timed, does not need

    cpu, meter = children_cpu(), cpu_meter.group("cluster")
    cluster = LocalCluster(course.parent / f"{course.name}-cluster", nbgrader_env())
    try:
        for i in range(jobs):
            cluster.add_worker(f"worker-{i + 1}")
        cluster.wait_for_workers(jobs)
        started = [p.pid for p in cluster.processes]
        for pid in [*started, *descendants(started)] if meter else ():
            meter.add(pid)
        timing = run([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course), "grade",
                      "--class-dir", ".", "--only", "autograde", "--cluster", str(cluster.file)],
                     course, course / "autograde.log")
    finally:
        cluster.stop()
        reap_orphans()
        used = meter.seconds if meter else None
        if meter:
            meter.close()
    timing.cpu = timing.cpu + used if meter else children_cpu() - cpu
    return timing


STAT = re.compile(r"^    cluster: (.*)$", re.M)


def dask_stats(log):
    """{name: value} of the ``cluster:`` line a run with --cluster prints."""
    match = STAT.search(Path(log).read_text())
    if not match:
        return {}
    return {key: float(value) for key, value in re.findall(r"([a-z][a-z ()]*?) ([0-9.e+-]+)(?:,|$)", match.group(1))}


def run_bare(course):
    """(c) the same notebooks executed with nbclient, one after another, and nothing else."""
    return run([sys.executable, "-m", "backprop_course.tools.bench", "--bare", str(course / "bare")],
               course, course / "bare.log")


def execute_bare(folder):
    """Execute every <student>/backprop.ipynb under ``folder`` in turn, as nbgrader's Execute would."""
    notebooks = sorted(Path(folder).glob(f"*/{NOTEBOOK}"))
    for path in notebooks:
        nb = nbformat.read(str(path), as_version=4)
        NotebookClient(nb, timeout=20, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    print(f"executed {len(notebooks)} notebooks")


def preflight_seconds(log):
    """The seconds each preflight took, as a grading run's log reports them ("preflight A: ...; 24.1 s")."""
    return [float(s) for s in re.findall(r"^preflight \S+: .*; ([0-9.]+) s", log, re.MULTILINE)]
