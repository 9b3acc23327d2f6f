"""`make bench`: what grading one submission costs, per assignment, with the demonstration cells
skipped (grader/skipping.py) and, for comparison, run.

For each assignment a class of catalogue submissions (02_backprop: the bench's class, with its
slow-but-valid ones) is graded with ``backprop-course grade --only autograde --jobs 1`` twice:
as configured (demonstrations skipped) and with ``c.GradingExecute.skip_demos = False``. CPU is
the run's and its kernels' (as runs.run measures it), which the machine's other
load does not inflate as it does wall time. A run's fixed part (Python, imports, the
preflight's canary) is measured on its own (``backprop-course preflight``) and taken out, so
"per submission" is what one more submission costs; "all in" divides the whole run.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from answers import catalogue
from .runs import Timing, release, run
from .synthetic_class import ASSIGNMENT, STRIDE, class_of, copy_course, write_notebook

#: CPU seconds one more submission may cost (issue 29)
TARGETS = {"02_backprop": 2.5, "03_vectorised": 4.0}


@dataclass
class Cost:
    """One assignment's grading run, demonstrations skipped or run, and its fixed part."""

    assignment: str
    size: int
    skip: bool
    grading: Timing     # the grading run
    fixed: Timing       # the preflight alone: the run's fixed part

    @property
    def per_submission(self):
        """CPU seconds one more submission costs: the run's less its fixed part, per submission."""
        return (self.grading.cpu - self.fixed.cpu) / self.size

    @property
    def all_in(self):
        """CPU seconds of the whole run per submission."""
        return self.grading.cpu / self.size


def build(folder, assignment, size, skip):
    """A released course in ``folder`` whose class hands in ``size`` submissions of ``assignment``."""
    folder = copy_course(folder)  # the answers too: the release computes the expected values with them
    if not skip:
        with open(folder / "nbgrader_config.py", "a") as config:
            config.write("\nc.GradingExecute.skip_demos = False  # bench/cost.py: every cell, for comparison\n")
    if assignment == ASSIGNMENT:
        subs = [sub for _, _, sub in class_of(size)]
    else:
        pool = [s for s in catalogue.CATALOGUE if s.assignment == assignment]
        subs = [pool[(i * STRIDE) % len(pool)] for i in range(size)]
    for i, sub in enumerate(subs):
        write_notebook(folder / "submitted" / f"s{i:03d}" / assignment / catalogue.NOTEBOOK[assignment],
                       catalogue.build_notebook(sub, hidden_tests=False))
    release(folder)
    return folder


def measure(workdir, assignment, size, skip):
    """The Cost of ``size`` submissions of ``assignment``, demonstrations skipped or not."""
    course = build(Path(workdir) / f"{assignment}-{'skipped' if skip else 'every-cell'}", assignment, size, skip)
    cli = [sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course)]
    fixed = run([*cli, "preflight", assignment], course, course / "preflight.log")
    grading = run([*cli, "grade", "--class-dir", ".", "--jobs", "1", "--only", "autograde"], course,
                  course / "autograde.log")
    if fixed.code or grading.code:
        raise SystemExit(f"bench.cost: a run failed in {course}: see preflight.log and autograde.log")
    return Cost(assignment, size, skip, grading, fixed)


def costs(workdir, size=8, assignments=tuple(catalogue.NOTEBOOK), say=print):
    """Measure every assignment both ways; returns the report's lines."""
    say(f"\n== CPU per submission: {size} submissions of each assignment, --jobs 1, demonstrations skipped and run")
    found = []
    for assignment in assignments:
        for skip in (True, False):
            cost = measure(workdir, assignment, size, skip)
            found.append(cost)
            say(f"   {assignment} {'skipped' if skip else 'run':>7}: {cost.grading.cpu:6.1f} s CPU in all, "
                f"{cost.fixed.cpu:4.1f} s of it fixed (preflight), load {cost.grading.load:.1f}")
    return report(found)


def report(found):
    """The report's lines: per assignment, skipped and run, what was saved, against its target."""
    lines = ["", "CPU per submission (one more submission; all in: the whole run / submissions), demonstrations "
                 "skipped (grader/skipping.py) and run:",
             f"  {'assignment':<14} {'skipped':>9} {'run':>9} {'saved':>7} {'all in, skipped':>16}  target"]
    by = {(c.assignment, c.skip): c for c in found}
    for assignment in dict.fromkeys(c.assignment for c in found):
        skipped, run = by[assignment, True], by[assignment, False]
        target = TARGETS.get(assignment)
        verdict = "" if target is None else \
            f"<= {target:g} s: {'met' if skipped.per_submission <= target else 'NOT met'}"
        lines.append(f"  {assignment:<14} {skipped.per_submission:8.2f}s {run.per_submission:8.2f}s "
                     f"{1 - skipped.per_submission / run.per_submission:6.0%} {skipped.all_in:15.2f}s  {verdict}")
    return lines
