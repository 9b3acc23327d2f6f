"""One class size of the benchmark: the class built and released once, then (a), (b), (c) and (d)
timed on fresh copies of it, in rounds whose order turns, and (b) and (d) compared with (a)."""
from __future__ import annotations

import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ...grader.pipeline import cores
from .compare import compare_grades, compare_notebooks
from .runs import dask_stats, preflight_seconds, prepare, run_bare, run_dask, run_ours, run_stock
from .synthetic_class import NOTEBOOK

#: the four runs, as the report names them
RUNS = {"a": "(a) stock nbgrader autograde, sequential", "b": "(b) ours, --jobs {jobs}",
        "c": "(c) bare nbclient, sequential", "d": "(d) ours on a local Dask cluster, {jobs} workers"}


@dataclass
class Result:
    """The timings of one class size, round by round, and what differed between the runs."""

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
        """The runs timed, of "abcd", in that order."""
        return [r for r in "abcd" if self.rounds and r in self.rounds[0]]

    def wall(self, run):
        """The median wall time of ``run`` over the rounds."""
        return statistics.median(t[run].wall for t in self.rounds) if run in self.runs else None

    def cpu(self, run):
        """The median CPU time of ``run`` over the rounds."""
        return statistics.median(t[run].cpu for t in self.rounds) if run in self.runs else None

    @property
    def speedup(self):
        """(a)/(b): the speed-up over stock nbgrader."""
        return self.wall("a") / self.wall("b")

    @property
    def overhead(self):
        """(b)/((c)/cores): the overhead over perfectly parallel bare execution (None without (c))."""
        return self.wall("b") / (self.wall("c") / cores()) if "c" in self.runs else None

    @property
    def dask_ratio(self):
        """(d)/(b): the distributed path against the local one (None without (d))."""
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
