"""`make bench`'s soak (``--soak N``): N submissions graded once through a local Dask cluster,
watching the client's memory, then looking for anything grading left behind (kernels, folders,
cgroups), with the cluster still up and after it stopped."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ...grader.run.sandbox.limits import group_parents
from .compare import gradebook_grades
from .processes import descendants, rss_kib
from .runs import nbgrader_env, prepare
from .synthetic_class import NOTEBOOK


def left_behind(cluster, worker_pids):
    """What grading left on this machine: kernels (or their sandboxes) still running under the
    cluster's processes, submissions in the workers' private folders, kernels' private folders
    (``bpk-<pid>-…``) and the kernels' cgroups of the worker processes."""
    kernels = [cmd for cmd in descendants(p.pid for p in cluster.processes).values()
               if "ipykernel" in cmd or "bwrap" in cmd.split(" ", 1)[0]]
    folders = [str(p) for p in cluster.base.glob("*/local/**/backprop-grading-*/course/*/*")
               if p.parent.name in ("submitted", "autograded")]
    runtime = Path(tempfile.gettempdir())
    folders += [str(p) for pid in worker_pids for p in runtime.glob(f"bpk-{pid}-*")]
    cgroups = [str(p) for pid in worker_pids for parent in group_parents() for p in parent.glob(f"{pid}-*")]
    return {"kernels": kernels, "folders": folders, "cgroups": cgroups}


def soak(base, size, jobs, say=print):
    """Grade ``size`` submissions once through (d), sampling the client's memory; then look for
    anything left behind, with the cluster still up and after it stopped."""
    from ..local_cluster import LocalCluster  # lazy: it imports distributed, which (c)'s subprocess, timed, does not need

    workdir = Path(base) / f"soak-{size}"
    say(f"\n== soak: {size} submissions through a local Dask cluster of {jobs} workers, in {workdir}")
    students = prepare(workdir, size)
    course = workdir / "d"
    shutil.copytree(workdir / "template", course)
    journal = course / ".autograde-journal.jsonl"
    load = os.getloadavg()
    with LocalCluster(workdir / "cluster", nbgrader_env()) as cluster:
        for i in range(jobs):
            cluster.add_worker(f"worker-{i + 1}")
        cluster.wait_for_workers(jobs)
        with cluster.client() as client:
            worker_pids = list(client.run(os.getpid).values())
        started = time.perf_counter()
        with open(course / "autograde.log", "w") as log:
            process = subprocess.Popen([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course),
                                        "grade", "--class-dir", ".", "--only", "autograde", "--cluster", str(cluster.file)],
                                       cwd=course, env=nbgrader_env(), stdout=log, stderr=subprocess.STDOUT)
            samples = []  # (seconds, submissions merged, client RSS in KiB)
            while process.poll() is None:
                rss = rss_kib(process.pid)
                graded = len(journal.read_text().splitlines()) if journal.exists() else 0
                if rss:
                    samples.append((time.perf_counter() - started, graded, rss))
                time.sleep(2)
        wall = time.perf_counter() - started
        during = left_behind(cluster, worker_pids)
    after = left_behind(cluster, worker_pids)
    after["folders"] += [str(p) for p in cluster.base.glob("*/local/**/backprop-grading-*")]
    load_end = os.getloadavg()
    text = (course / "autograde.log").read_text()
    graded = len(journal.read_text().splitlines()) if journal.exists() else 0
    grades = gradebook_grades(course)
    full = {}
    for student, kind, _ in students:
        score = grades.get(student, {}).get(f"{Path(NOTEBOOK).stem}: score", (None, None))
        done, of = full.get(kind, (0, 0))
        full[kind] = (done + (score[0] is not None and score[0] == score[1]), of + 1)
    early = next(((t, n, rss) for t, n, rss in samples if n >= size // 10), samples[0] if samples else None)
    late = samples[-1] if samples else None
    lines = [f"Soak of {size} submissions: exit {process.returncode}, {wall / 60:.1f} min wall "
             f"({wall / size:.2f} s a submission), load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at start, "
             f"{load_end[0]:.1f} / {load_end[1]:.1f} / {load_end[2]:.1f} at the end",
             f"  merged into the gradebook: {graded} of {size}; "
             + ", ".join(f"{k} {d}/{o} with full marks" for k, (d, o) in sorted(full.items()))
             + f"; not graded: {text.count('not graded:')}"]
    if early and late:
        growth = (late[2] - early[2]) / max(1, late[1] - early[1]) * 100
        lines.append(f"  client memory (RSS): {early[2] / 1024:.0f} MiB after {early[1]} submissions, "
                     f"{late[2] / 1024:.0f} MiB after {late[1]}, at most {max(r for _, _, r in samples) / 1024:.0f} MiB: "
                     f"{growth:+.0f} KiB per 100 submissions")
    for when, found in (("with the cluster up", during), ("after it stopped", after)):
        lines.append(f"  left behind {when}: {len(found['kernels'])} kernels, {len(found['folders'])} folders, "
                     f"{len(found['cgroups'])} cgroups" + "".join(f"\n    {k}: {v}" for k, vs in found.items() for v in vs[:5]))
    clean = process.returncode == 0 and graded == size and not any(during.values()) and not any(after.values())
    return "\n".join(lines), clean
