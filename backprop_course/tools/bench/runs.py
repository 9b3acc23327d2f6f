"""`make bench`: how fast the course autogrades a class, against stock nbgrader and bare nbclient.

For each class size it builds a synthetic class of 02_backprop submissions (correct, buggy
and slow-but-valid ones, from answers/catalogue.py), releases the course once, and times,
each in a fresh subprocess so that import costs count alike:

(a) stock nbgrader: ``nbgrader autograde 02_backprop --force`` in a copy, sequential;
(b) ours: ``backprop-course grade --only autograde --jobs N`` in another copy (``Course.autograde``);
(c) bare nbclient: the same notebooks, as nbgrader executes them (hidden tests restored, the
    demonstrations it skips left out), run one after another with ``nbclient`` and no grading at all;
(d) Dask: ``backprop-course grade --only autograde --cluster SCHEDULER_FILE`` in a third copy,
    on a local cluster started for it (``dask scheduler`` and N ``dask worker --nthreads 1``,
    not timed): the distributed path, its workers' preflight included.

With (d) it also reports the distributed path's figures per submission (bytes sent and
returned, the client's merge). Then, in modules of their own: the CPU one more submission of
each assignment costs, demonstration cells skipped and run (tools/bench_cost.py, ``--no-cost``);
and a simulation at scale, the real scheduler and client with hundreds of replaying workers,
with the projection of real workers' wall time from what it and a real recording measured
(tools/bench_scale.py, ``--scale WORKERSxTASKS``, ``--no-scale``). ``--soak N`` grades N
submissions once through (d) alone and reports the client's memory and what is left behind
(kernels, folders, cgroups).

A size given as SIZExROUNDS (``40x3``) is timed in that many rounds, each on fresh copies,
the order of the three runs turning from round to round; every figure is then the median
over the rounds, since a shared machine has slow spells of a minute or more.

It prints a table and two ratios, (a)/(b), the speed-up over stock nbgrader, and
(b)/((c)/cores), the overhead over perfectly parallel bare execution; then checks that (a)
and (b) gave identical grades (per student and grade cell, read with nbgrader.api.Gradebook)
and identical autograded notebooks apart from what legitimately differs between two runs
(execution timestamps, object addresses, how a print was split into stream messages).
It exits 1 if anything differs, 2 if a run failed. Besides wall time it reports each run's
CPU time, kernels included (a cpuacct cgroup of its own, tools/cpu_meter.py; getrusage where
there is none, which misses the sandboxed kernels), which the other load of a shared machine
inflates far less than wall time.

    python -m backprop_course.tools.bench [--sizes 10x3,40x3,160] [--jobs N] [--keep DIR] [--no-dask] [--no-cost] [--no-scale]
    python -m backprop_course.tools.bench --soak 1000
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..grader.assignments import COURSE_ROOT, assignments
from ..grader.pipeline import cores
from answers import catalogue

from . import cpu_meter

ASSIGNMENT = "02_backprop"
NOTEBOOK = assignments()[ASSIGNMENT].notebook
TARGET_SPEEDUP = 1.8      # (a)/(b) at least this on 2 cores
TARGET_OVERHEAD = 1.25    # (b) at most this times (c)/cores
SLOW_EVERY = 5            # one submission in five is slow-but-valid
SLOW_POSITION = 2         # ... the third of every five, so that 4 submissions include one
STRIDE = 9                # walks the catalogue, coprime with its size, so small classes get a mix
SLOW_WORK = "_slow = sum(k * k for k in range(20000))  # harmless extra work each epoch: slow but valid"


# --- the synthetic class ------------------------------------------------------------------

def make_slow(sub):
    """A correct submission whose train() does an extra, harmless computation every epoch.

    train runs 1,000 epochs in each of the notebook's two demo cells (plus a few in the checks),
    so this adds about 1.5 s to each on a 2020s core, and changes no result.
    """
    source = sub.cells["train_multi_sample"]
    loop = re.search(r"^( *)for \w+ in range\(epochs\):\n", source, flags=re.M)
    assert loop, f"{sub.name}: no epoch loop in train"
    indent = loop.group(1) + "    "
    slowed = source[:loop.end()] + indent + SLOW_WORK + "\n" + source[loop.end():]
    return catalogue.Submission(sub.assignment, "slow-" + sub.name.removeprefix("02-"),
                                {**sub.cells, "train_multi_sample": slowed}, dict(sub.mistakes),
                                "a correct submission that is slow but valid")


def class_of(size):
    """``size`` (student id, kind, catalogue submission): buggy, correct and slow-but-valid ones."""
    pool = [s for s in catalogue.CATALOGUE if s.assignment == ASSIGNMENT]
    assert math.gcd(STRIDE, len(pool)) == 1, f"STRIDE {STRIDE} must be coprime with the {len(pool)} submissions"
    correct = [s for s in pool if s.correct]
    students, plain, slow = [], 0, 0
    for i in range(size):
        if i % SLOW_EVERY == SLOW_POSITION:
            sub, kind = make_slow(correct[slow % len(correct)]), "slow"
            slow += 1
        else:
            sub = pool[(plain * STRIDE) % len(pool)]
            kind = "correct" if sub.correct else "buggy"
            plain += 1
        students.append((f"s{i:03d}-{sub.name.removeprefix('02-')}", kind, sub))
    return students


def write_notebook(path, notebook):
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


def build_course(folder, size):
    """A course root in ``folder``: source/, nbgrader_config.py, submitted/ of ``size`` students.

    Also bare/<student>/backprop.ipynb: each submission as nbgrader executes it, its locked
    cells (hidden tests included) restored from source/ and the demonstrations grading skips
    left out (grader/skipping.py), for the bare nbclient run.
    Returns the class: [(student, kind, submission)].
    """
    from ..grader import skipping

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(COURSE_ROOT / "source", folder / "source")
    # the grader computes every expected value with the answers, which live beside source/ (its
    # release makes the copy a course secret of its own)
    shutil.copytree(COURSE_ROOT / "answers", folder / "answers", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", folder)
    students = class_of(size)
    demos = skipping.demos(catalogue.source_notebook(ASSIGNMENT).cells)
    for student, _, sub in students:
        write_notebook(folder / "submitted" / student / ASSIGNMENT / NOTEBOOK,
                       catalogue.build_notebook(sub, hidden_tests=False))
        bare = catalogue.build_notebook(sub, hidden_tests=True)
        bare.cells = [cell for cell in bare.cells if not skipping.skips(demos, cell)]
        write_notebook(folder / "bare" / student / NOTEBOOK, bare)
    (folder / "class.json").write_text(json.dumps({s: k for s, k, _ in students}, indent=1))
    return students


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
    wall: float = 0.0     # seconds, time.perf_counter
    cpu: float = 0.0      # CPU seconds of the run and all its descendants (kernels included)
    code: int = 0         # return code
    load: float = 0.0     # 1-minute load average at the end: how busy the machine was


def adopt_orphans():
    """Become the child subreaper (Linux), so that kernels orphaned by a run are reaped here, and
    their CPU time counts in RUSAGE_CHILDREN; without it, (a) and (b) would show only their own."""
    try:
        import ctypes

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
    from .local_cluster import LocalCluster

    cpu, meter = children_cpu(), cpu_meter.group("cluster")
    cluster = LocalCluster(course.parent / f"{course.name}-cluster", nbgrader_env())
    try:
        for i in range(jobs):
            cluster.add_worker(f"worker-{i + 1}")
        cluster.wait_for_workers(jobs)
        started = [p.pid for p in cluster.processes]
        for pid in [*started, *_descendants(started)] if meter else ():
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
    import nbformat
    from nbclient import NotebookClient

    notebooks = sorted(Path(folder).glob(f"*/{NOTEBOOK}"))
    for path in notebooks:
        nb = nbformat.read(str(path), as_version=4)
        NotebookClient(nb, timeout=20, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    print(f"executed {len(notebooks)} notebooks")


# --- comparing (a) and (b) ----------------------------------------------------------------

def gradebook_grades(course):
    """{student: {...}} of everything autograde writes to the gradebook for 02_backprop."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}", "backprop-course") as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT):
            record = {"timestamp": str(submission.timestamp), "extension": str(submission.extension)}
            for nb in submission.notebooks:
                record[f"{nb.name}: score"] = (nb.score, nb.max_score)
                record[f"{nb.name}: flagged"] = nb.flagged
                record[f"{nb.name}: late penalty"] = nb.late_submission_penalty
                for grade in nb.grades:
                    record[f"{nb.name}/{grade.name}"] = (grade.auto_score, grade.manual_score, grade.extra_credit,
                                                         grade.needs_manual_grade, grade.max_score)
                for comment in nb.comments:
                    record[f"{nb.name}/{comment.name} comment"] = (comment.auto_comment, comment.manual_comment)
            found[submission.student_id] = record
    return found


def compare_grades(a, b, students):
    """Differences between the gradebooks of (a) and (b), one line each."""
    grades_a, grades_b = gradebook_grades(a), gradebook_grades(b)
    problems = []
    for student in students:
        ga, gb = grades_a.get(student), grades_b.get(student)
        if ga is None or gb is None:
            problems.append(f"{student}: not graded by {'(a)' if ga is None else ''}{'(b)' if gb is None else ''}")
            continue
        for key in sorted(set(ga) | set(gb)):
            if ga.get(key) != gb.get(key):
                problems.append(f"{student} {key}: (a) {ga.get(key)} != (b) {gb.get(key)}")
    return problems, grades_a


ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


def coalesced(outputs):
    """Consecutive stream outputs of one stream joined into one, as a front end shows them.

    How the kernel splits a print into stream messages depends on timing (``print(x)`` may
    arrive as ``x`` and ``\\n``, or as one message), so two runs of one cell can differ there.
    """
    out = []
    for output in outputs:
        text = output.get("text")
        if (output.get("output_type") == "stream" and out and out[-1].get("output_type") == "stream"
                and out[-1].get("name") == output.get("name")):
            previous = out[-1]["text"]
            out[-1] = {**out[-1], "text": ("".join(previous) if isinstance(previous, list) else previous)
                       + ("".join(text) if isinstance(text, list) else text)}
        else:
            if output.get("output_type") == "stream" and isinstance(text, list):
                output = {**output, "text": "".join(text)}
            out.append(output)
    return out


def normalised(path):
    """An autograded notebook with what legitimately differs between two runs taken out:
    execution timestamps, object addresses, and how stream output was split into messages."""
    nb = json.loads(Path(path).read_text())
    for cell in nb.get("cells", []):
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if "outputs" in cell:
            cell["outputs"] = coalesced(cell["outputs"])
    return json.loads(ADDRESS.sub("0x…", json.dumps(nb, sort_keys=True)))


def notebook_differences(a, b):
    """Where two normalised notebooks differ: cell by cell, field by field."""
    if a == b:
        return []
    out = []
    for key in sorted(set(a) | set(b)):
        if key != "cells" and a.get(key) != b.get(key):
            out.append(f"notebook {key}")
    cells_a, cells_b = a.get("cells", []), b.get("cells", [])
    if len(cells_a) != len(cells_b):
        out.append(f"{len(cells_a)} cells != {len(cells_b)} cells")
    for i, (ca, cb) in enumerate(zip(cells_a, cells_b)):
        name = ca.get("metadata", {}).get("nbgrader", {}).get("grade_id", f"cell {i}")
        for key in sorted(set(ca) | set(cb)):
            if ca.get(key) != cb.get(key):
                out.append(f"{name} {key}")
    return out


def compare_notebooks(a, b):
    """Differences between the autograded/ folders of (a) and (b), apart from what may differ."""
    problems = []
    root_a, root_b = Path(a) / "autograded", Path(b) / "autograded"
    files_a = {p.relative_to(root_a) for p in root_a.rglob("*") if p.is_file()} if root_a.is_dir() else set()
    files_b = {p.relative_to(root_b) for p in root_b.rglob("*") if p.is_file()} if root_b.is_dir() else set()
    for path in sorted(files_a ^ files_b):
        problems.append(f"autograded/{path}: only in {'(a)' if path in files_a else '(b)'}")
    for path in sorted(files_a & files_b):
        if path.suffix == ".ipynb":
            diffs = notebook_differences(normalised(root_a / path), normalised(root_b / path))
            if diffs:
                problems.append(f"autograded/{path}: {', '.join(diffs)}")
        elif path.name != "timestamp.txt" and (root_a / path).read_bytes() != (root_b / path).read_bytes():
            problems.append(f"autograded/{path}: differs")
    return problems


# --- one class size, and the report -------------------------------------------------------

RUNS = {"a": "(a) stock nbgrader autograde, sequential", "b": "(b) ours, --jobs {jobs}",
        "c": "(c) bare nbclient, sequential", "d": "(d) ours on a local Dask cluster, {jobs} workers"}
TARGET_DASK = 1.10        # (d) at most this times (b)


@dataclass
class Result:
    size: int
    jobs: int
    kinds: dict
    rounds: list = field(default_factory=list)       # one {run: Timing} per round
    failed: list = field(default_factory=list)
    differences: dict = field(default_factory=dict)  # "grades (a) vs (b)" -> [lines]
    dask_stats: list = field(default_factory=list)   # (d)'s `cluster:` figures, one dict per round
    full_marks: dict = field(default_factory=dict)   # kind -> (with full marks, of)
    preflight: list = field(default_factory=list)    # seconds of (b)'s preflight (grader/preflight.py), per round

    @property
    def runs(self):
        return [r for r in "abcd" if self.rounds and r in self.rounds[0]]

    def wall(self, run):
        """The median wall time of ``run`` over the rounds."""
        return statistics.median(t[run].wall for t in self.rounds) if run in self.runs else None

    def cpu(self, run):
        return statistics.median(t[run].cpu for t in self.rounds) if run in self.runs else None

    @property
    def speedup(self):
        return self.wall("a") / self.wall("b")

    @property
    def overhead(self):
        return self.wall("b") / (self.wall("c") / cores()) if "c" in self.runs else None

    @property
    def dask_ratio(self):
        return self.wall("d") / self.wall("b") if "d" in self.runs else None

    def dask_figure(self, name):
        """The median over the rounds of a figure of (d)'s `cluster:` line, per submission when it is a sum."""
        values = [stats[name] for stats in self.dask_stats if name in stats]
        return statistics.median(values) if values else None

    def round_ratios(self):
        """(a)/(b) and (b)/((c)/cores) of each round on its own."""
        return [(t["a"].wall / t["b"].wall, t["b"].wall / (t["c"].wall / cores()) if "c" in t else None)
                for t in self.rounds]


def bench_size(workdir, size, jobs, bare=True, rounds=1, say=print, dask=True):
    """Build and release a class, then time (a), (b), (c) and (d), ``rounds`` times, and compare
    (b) and (d) with (a).

    Each round grades fresh copies of the released class. The order of the three runs turns
    from round to round (abc, bca, cab), so that a slow spell of a shared machine does not
    always fall on the same run; the report takes the median of each run over the rounds.
    """
    workdir = Path(workdir)
    say(f"\n== {size} submissions in {workdir}, {rounds} round(s)")
    students = prepare(workdir, size)
    kinds = {}
    for _, kind, _ in students:
        kinds[kind] = kinds.get(kind, 0) + 1
    result = Result(size, jobs, kinds)
    say("   " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + "; released; each round grades fresh copies")
    order = ["a", "b"] + (["c"] if bare else []) + (["d"] if dask else [])
    for round_ in range(rounds):
        a, b, d = workdir / f"a{round_}", workdir / f"b{round_}", workdir / f"d{round_}"
        for copy in (a, b) + ((d,) if dask else ()):
            shutil.copytree(workdir / "template", copy)
        plan = {"a": (lambda: run_stock(a), a / "autograde.log"),
                "b": (lambda: run_ours(b, jobs), b / "autograde.log"),
                "c": (lambda: run_bare(workdir / "template"), workdir / "template" / "bare.log"),
                "d": (lambda: run_dask(d, jobs), d / "autograde.log")}
        timings = {}
        for name in order[round_ % len(order):] + order[:round_ % len(order)]:
            go, log = plan[name]
            timing = timings[name] = go()
            say(f"   round {round_ + 1}: {RUNS[name].format(jobs=jobs):<46} {timing.wall:7.1f} s wall, "
                f"{timing.cpu:7.1f} s CPU, load {timing.load:.1f}")
            if timing.code:
                result.failed.append(f"{name} (round {round_ + 1}) exited {timing.code}: see {log}")
            if name in "bd":
                text = log.read_text()
                result.failed += [f"{name} {line.strip()}" for line in text.splitlines() if "not graded:" in line]
            if name == "b":
                result.preflight += preflight_seconds(text)
            if name == "d":
                result.dask_stats.append(dask_stats(log))
        result.rounds.append({name: timings[name] for name in order})
        problems, grades = compare_grades(a, b, [s for s, _, _ in students])
        where = f" (round {round_ + 1})" if rounds > 1 else ""
        result.differences[f"grade differences (a) vs (b){where}"] = problems
        result.differences[f"autograded notebook differences (a) vs (b){where}"] = compare_notebooks(a, b)
        if dask:
            result.differences[f"grade differences (a) vs (d){where}"] = compare_grades(a, d, [s for s, _, _ in students])[0]
            result.differences[f"autograded notebook differences (a) vs (d){where}"] = compare_notebooks(a, d)
        if round_ == 0:
            for student, kind, _ in students:
                done, of = result.full_marks.get(kind, (0, 0))
                score = grades.get(student, {}).get(f"{Path(NOTEBOOK).stem}: score", (None, None))
                result.full_marks[kind] = (done + (score[0] is not None and score[0] == score[1]), of + 1)
    return result


def preflight_seconds(log):
    """The seconds each preflight took, as a grading run's log reports them ("preflight A: ...; 24.1 s")."""
    return [float(s) for s in re.findall(r"^preflight \S+: .*; ([0-9.]+) s", log, re.MULTILINE)]


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 ** 2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cores()} cores ({model}){memory}; {platform.system()} {platform.release()}, Python {platform.python_version()}"


def versions():
    from importlib.metadata import version

    return ", ".join(f"{name} {version(name)}" for name in ("nbgrader", "nbclient", "jupyter_client", "ipykernel"))


def table(results):
    n = cores()
    runs = [r for r in "abcd" if any(r in res.runs for res in results)]
    head = f"{'submissions':>11}  {'rounds':>6}" + "".join(f"  {f'({r}) wall':>10}" for r in runs) + \
        f"  {'(a)/(b)':>8}  {f'(b)/((c)/{n})':>12}  {'(d)/(b)':>8}" + "".join(f"  {f'({r}) CPU':>9}" for r in runs) + \
        f"  {'CPU (b)/(c)':>11}"
    lines = [head]
    for res in results:
        cells = [f"{res.wall(r):9.1f}s" if r in res.runs else f"{'-':>10}" for r in runs]
        cpu = [f"{res.cpu(r):8.0f}s" if r in res.runs else f"{'-':>9}" for r in runs]
        overhead = f"{res.overhead:12.2f}" if res.overhead else f"{'-':>12}"
        cpu_ratio = f"{res.cpu('b') / res.cpu('c'):11.2f}" if "c" in res.runs else f"{'-':>11}"
        dask = f"{res.dask_ratio:8.2f}" if res.dask_ratio else f"{'-':>8}"
        lines.append(f"{res.size:>11}  {len(res.rounds):>6}" + "".join(f"  {c}" for c in cells)
                     + f"  {res.speedup:8.2f}  {overhead}  {dask}" + "".join(f"  {c}" for c in cpu) + f"  {cpu_ratio}")
    return "\n".join(lines)


def report(results, jobs, load_at_start):
    out = ["", f"Machine: {machine()}; 1-minute load average {load_at_start:.2f} at start", f"Versions: {versions()}",
           f"(a) `nbgrader autograde {ASSIGNMENT} --force`, sequential; (b) `backprop-course grade --only autograde "
           f"--jobs {jobs}`; (c) the same notebooks, bare nbclient, sequential; (d) `backprop-course grade --only "
           f"autograde --cluster SCHEDULER_FILE` on a local Dask cluster of {jobs} one-thread workers, started "
           "untimed for each round (their preflight is timed). Each in a fresh process; with "
           "several rounds, in turning order, and each figure is the median over the rounds;",
           "CPU = CPU seconds of the run and its kernels (" + ("a cpuacct cgroup" if cpu_meter.available() else
           "getrusage, which misses the sandboxed kernels") + "), which other load on the machine inflates far less "
           "than wall time; CPU (b)/(c) is our grading's cost over bare execution.", "", table(results), ""]
    ok = True
    for r in results:
        marks = ", ".join(f"{k} {done}/{of}" for k, (done, of) in sorted(r.full_marks.items()))
        out.append(f"{r.size} submissions ({marks} with full marks):")
        each = r.round_ratios()
        verdict = "met" if r.speedup >= TARGET_SPEEDUP else "NOT met"
        rounds = f"; rounds: {', '.join(f'{x:.2f}' for x, _ in each)}" if len(each) > 1 else ""
        out.append(f"  speed-up (a)/(b) = {r.speedup:.2f} (target >= {TARGET_SPEEDUP}: {verdict}{rounds})")
        if r.preflight:
            out.append(f"  of which the preflight (sandbox, fingerprint, reference and blank as a canary; in (a) and (b) "
                       f"alike): {statistics.median(r.preflight):.1f} s wall (median of {len(r.preflight)})")
        if r.overhead:
            verdict = "met" if r.overhead <= TARGET_OVERHEAD else "NOT met"
            rounds = f"; rounds: {', '.join(f'{y:.2f}' for _, y in each)}" if len(each) > 1 else ""
            out.append(f"  (b) / ((c)/{cores()}) = {r.overhead:.2f} (target <= {TARGET_OVERHEAD}: {verdict}{rounds})")
            a, b, c = (r.cpu(k) for k in "abc")
            used = ", ".join(f"({k}) {r.cpu(k) / r.wall(k):.2f}" for k in "abc")
            out.append(f"  cores each run got on average (CPU/wall): {used}; were the {cores()} cores all ours, "
                       f"CPU time would predict (a)/(b) ~ {a / (b / cores()):.2f} and (b)/((c)/{cores()}) ~ {b / c:.2f} "
                       "(an estimate, not a measurement)")
        if r.dask_ratio:
            verdict = "met" if r.dask_ratio <= TARGET_DASK else "NOT met"
            ratios = ", ".join(f"{t['d'].wall / t['b'].wall:.2f}" for t in r.rounds)
            rounds = f"; rounds: {ratios}" if len(r.rounds) > 1 else ""
            out.append(f"  (d)/(b) = {r.dask_ratio:.2f} (target <= {TARGET_DASK}: {verdict}{rounds})")
            out += ["  " + line for line in dask_lines(r)]
        clean = True
        for title, problems in [("runs that failed", r.failed)] + list(r.differences.items()):
            if problems:
                ok = clean = False
                out.append(f"  {len(problems)} {title}:")
                out += [f"    {p}" for p in problems[:20]]
                if len(problems) > 20:
                    out.append(f"    ... and {len(problems) - 20} more")
        if clean:
            out.append(f"  (a) vs (b){' and (a) vs (d)' if r.dask_ratio else ''}: identical grades for all {r.size} "
                       "students (every grade cell), identical autograded notebooks apart from execution timestamps and stream chunking"
                       + (f", in each of the {len(r.rounds)} rounds" if len(r.rounds) > 1 else ""))
    return "\n".join(out), ok


# --- the distributed path: its overhead (for tools/bench_scale.py), a soak ----------------------

def dask_lines(result):
    """(d)'s own figures, per submission, medians over the rounds."""
    n = result.size
    figure = result.dask_figure
    if figure("worker seconds") is None:
        return ["(d) printed no `cluster:` figures"]
    return [f"(d) per submission: {figure('bytes sent') / n / 1024:.1f} KiB sent (the student's files), "
            f"{figure('bytes returned') / n / 1024:.1f} KiB returned (autograded folder and gradebook rows); "
            f"{1000 * figure('worker seconds') / n:.0f} ms on a worker (write, grade, read back), "
            f"the client's merge thread {1000 * (figure('merge cpu seconds') or 0) / n:.1f} ms of CPU "
            f"({1000 * figure('merge seconds') / n:.1f} ms busy, in {figure('merge transactions') or 0:.0f} "
            "transactions); the course bundle "
            f"{figure('bundle bytes') / 1024:.0f} KiB once per worker, whose preflight took {figure('setup seconds'):.1f} s"]


def _rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _descendants(pids):
    """{pid: command line} of every process below ``pids``."""
    children = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = {}, list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                found[child] = (Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:160])
            except OSError:
                continue
            todo.append(child)
    return found


def left_behind(cluster, worker_pids):
    """What grading left on this machine: kernels (or their sandboxes) still running under the
    cluster's processes, submissions in the workers' private folders, kernels' private folders
    (``bpk-<pid>-…``) and the kernels' cgroups of the worker processes."""
    kernels = [cmd for cmd in _descendants(p.pid for p in cluster.processes).values()
               if "ipykernel" in cmd or "bwrap" in cmd.split(" ", 1)[0]]
    folders = [str(p) for p in cluster.base.glob("*/local/**/backprop-grading-*/course/*/*")
               if p.parent.name in ("submitted", "autograded")]
    runtime = Path(tempfile.gettempdir())
    folders += [str(p) for pid in worker_pids for p in runtime.glob(f"bpk-{pid}-*")]
    from ..grader.sandbox.limits import group_parents

    cgroups = [str(p) for pid in worker_pids for parent in group_parents() for p in parent.glob(f"{pid}-*")]
    return {"kernels": kernels, "folders": folders, "cgroups": cgroups}


def soak(base, size, jobs, say=print):
    """Grade ``size`` submissions once through (d), sampling the client's memory; then look for
    anything left behind, with the cluster still up and after it stopped."""
    from .local_cluster import LocalCluster

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
                rss = _rss_kib(process.pid)
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


def parse_sizes(text):
    """'10x3,40x3,160' -> [(10, 3), (40, 3), (160, 1)]: class sizes, each with its number of rounds."""
    sizes = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        match = re.fullmatch(r"(\d+)(?:x(\d+))?", item)
        if not match or int(match.group(1)) < 1 or (match.group(2) and int(match.group(2)) < 1):
            raise argparse.ArgumentTypeError(f"{item!r} is not SIZE or SIZExROUNDS, e.g. 40 or 40x3")
        sizes.append((int(match.group(1)), int(match.group(2) or 1)))
    if not sizes:
        raise argparse.ArgumentTypeError("no class size given")
    return sizes


def parse_scale(text):
    """'256x10000' -> (256, 10000): the simulation's workers and submissions."""
    match = re.fullmatch(r"(\d+)x(\d+)", text.strip())
    if not match or not all(int(n) >= 1 for n in match.groups()):
        raise argparse.ArgumentTypeError(f"{text!r} is not WORKERSxTASKS, e.g. 256x10000")
    return int(match.group(1)), int(match.group(2))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m backprop_course.tools.bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="40", type=parse_sizes,
                        help="class sizes, comma-separated, each SIZE or SIZExROUNDS (default: 40), e.g. 10x3,40x3,160")
    parser.add_argument("--jobs", type=int, default=cores(), help=f"workers for (b) (default: the cores, {cores()})")
    parser.add_argument("--keep", metavar="DIR", help="build the courses in DIR and keep them (default: a temp dir)")
    parser.add_argument("--no-bare", action="store_true", help="skip (c), the bare nbclient run")
    parser.add_argument("--no-dask", action="store_true", help="skip (d), the run on a local Dask cluster")
    parser.add_argument("--no-cost", action="store_true", help="skip the CPU per submission of each assignment")
    parser.add_argument("--no-scale", action="store_true", help="skip the simulation at scale and the projection")
    parser.add_argument("--scale", default="256x10000", metavar="WORKERSxTASKS", type=parse_scale,
                        help="the simulation's replaying workers and submissions (default 256x10000)")
    parser.add_argument("--soak", type=int, metavar="N",
                        help="instead: grade N submissions once on a local Dask cluster, watching the client's "
                             "memory and what is left behind")
    parser.add_argument("--bare", metavar="FOLDER", help=argparse.SUPPRESS)     # internal: the (c) subprocess
    args = parser.parse_args(argv)
    if args.bare:
        execute_bare(args.bare)
        return 0
    adopt_orphans()
    if args.soak:
        with tempfile.TemporaryDirectory(prefix="backprop-soak-") as tmp:
            text, clean = soak(Path(args.keep).resolve() if args.keep else Path(tmp), args.soak, args.jobs)
        print(text)
        return 0 if clean else 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    plan = ", ".join(f"{size}" + (f" ({rounds} rounds)" if rounds > 1 else "") for size, rounds in args.sizes)
    print(f"Benchmark of autograding {ASSIGNMENT}: sizes {plan}, {args.jobs} job(s) for (b), on {machine()}")
    results = []
    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as tmp:
        base = Path(args.keep).resolve() if args.keep else Path(tmp)
        for size, rounds in args.sizes:
            workdir = base / f"class-{size}"
            if workdir.exists():
                shutil.rmtree(workdir)
            results.append(bench_size(workdir, size, args.jobs, bare=not args.no_bare, rounds=rounds,
                                      dask=not args.no_dask))
            sys.stdout.flush()
        text, ok = report(results, args.jobs, load)
        print(text)  # before the jobs below, so that a failure there loses no figure
        sys.stdout.flush()
        if not args.no_cost:  # tools/bench_cost.py
            from .bench_cost import costs

            print("\n".join(costs(base / "cost")))
            sys.stdout.flush()
        if not args.no_scale:  # tools/bench_scale.py: the simulation and the projection
            from .bench_scale import run as at_scale

            workers, tasks = args.scale
            lines, done = at_scale(base / "scale", workers, tasks, jobs=args.jobs)
            print("\n".join(lines))
            ok = ok and done
    if any(r.failed for r in results):
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
