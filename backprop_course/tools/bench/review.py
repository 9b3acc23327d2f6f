"""`make bench`, the review's part: how long similarity and integrity notes take for a class.

For each size it writes a class of 02_backprop submissions to a temporary submitted/ folder (no
grading: the review reads the notebooks through the intake, as `make grade` does after
autograding) and times :func:`backprop_course.grader.results.review.of_course` on it. Each student hands
in a mix of the catalogue's versions of the three exercises (correct ones and mistakes, seeded),
plus a helper function of their own (random numbers and operators: every student's code has
something nobody else's has, as a real class's does); every ``PLANT_EVERY``-th student hands in
the previous one's work, disguised (tools/copies.py). It reports the time, the pairs there are
and the pairs that shared code and were compared, and whether exactly the planted copies were
flagged.

    python -m backprop_course.tools.bench.review [--sizes 40,1000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from answers import catalogue

from ...grader import pipeline
from ...grader.results import review
from ...grader.assignments import COURSE_ROOT
from .. import copies

ASSIGNMENT = "02_backprop"
PLANT_EVERY = 50          # one copy in fifty submissions
SEED = 2027
OPERATORS = ("+", "-", "*")


def helper(rng, i, kinds=("check", "scale", "report")):
    """Small functions of a student's own, their numbers and operators drawn at random: about as
    much code again as the exercises' answers, as a real student's own way of writing them is."""
    out = ""
    for kind in kinds:
        c = [round(rng.uniform(0.1, 9.9), 2) for _ in range(8)]
        o = [rng.choice(OPERATORS) for _ in range(5)]
        out += (f"\n\ndef my_{kind}_{i}(values, scale={c[0]}, start={c[1]}):\n"
                f"    \"\"\"My own {kind} of a training history.\"\"\"\n"
                f"    total, seen = start, []\n"
                f"    for k, v in enumerate(values):\n"
                f"        total = total {o[0]} v * {c[2]} {o[1]} k ** {rng.randint(2, 5)} / {c[3]}\n"
                f"        seen.append(total {o[2]} {c[4]})\n"
                f"    if total > {c[5]} * scale:\n"
                f"        total = total / {c[6]} {o[3]} scale\n"
                f"    return total {o[4]} max(seen or [{c[7]}])\n")
    return out


def class_of(size, seed=SEED):
    """[(student, {exercise: source}, copied from whom or None)] of ``size`` submissions."""
    rng = random.Random(seed)
    pool = [s for s in catalogue.CATALOGUE if s.assignment == ASSIGNMENT]
    versions = {e: sorted({catalogue.strip_markers(s.cells[e]) for s in pool}) for e in catalogue.EXERCISES[ASSIGNMENT]}
    students = []
    for i in range(size):
        name = f"s{i:04d}"
        if i % PLANT_EVERY == PLANT_EVERY - 1:
            original_name, original, _ = students[-1]
            students.append((name, copies.disguise(original, salt=f"c{i}"), original_name))
            continue
        cells = {e: rng.choice(options) for e, options in versions.items()}
        cells["train_multi_sample"] += helper(rng, i)
        students.append((name, cells, None))
    return students


def write_class(folder, students):
    """The course root's class in ``folder``: submitted/<student>/02_backprop/backprop.ipynb."""
    for student, cells, _ in students:
        sub = catalogue.Submission(ASSIGNMENT, student, cells, {e: "" for e in cells})
        path = Path(folder) / "submitted" / student / ASSIGNMENT / catalogue.NOTEBOOK[ASSIGNMENT]
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(catalogue.build_notebook(sub, hidden_tests=False), path)


def bench(folder, size):
    """Times the review of a class of ``size``: a dict of figures."""
    students = class_of(size)
    write_class(folder, students)
    course = pipeline.Course(root=COURSE_ROOT, class_dir=str(folder))
    started, cpu = time.perf_counter(), time.process_time()
    submissions = course.submissions()
    found = review.of_course(course, submissions)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    comparison = found.comparisons[ASSIGNMENT]
    planted = {tuple(sorted((student, copied))) for student, _, copied in students if copied}
    flagged = {tuple(sorted((v.pair.a.owner, v.pair.b.owner))) for v in found.pairs[ASSIGNMENT]}
    return {"size": size, "seconds": seconds, "cpu": cpu, "possible": comparison.possible, "compared": comparison.compared,
            "common": comparison.common, "planted": len(planted), "found": len(planted & flagged),
            "other": len(flagged - planted), "noted": len(found.noted)}


def report(results):
    """(the report's text, whether exactly the planted copies were found and nothing else) for ``results``."""
    lines = [f"Review of {ASSIGNMENT} (similarity and integrity notes), one process, on {_machine()}:",
             f"{'submissions':>11}  {'wall s':>7}  {'CPU s':>7}  {'CPU ms each':>11}  {'pairs there are':>15}  "
             f"{'compared':>8}  {'planted copies found':>20}  {'other pairs':>11}  {'noted':>5}"]
    for r in results:
        lines.append(f"{r['size']:>11}  {r['seconds']:7.1f}  {r['cpu']:7.1f}  {1000 * r['cpu'] / r['size']:11.1f}  "
                     f"{r['possible']:>15,}  {r['compared']:>8,}  {r['found']:>9} of {r['planted']:<8}  "
                     f"{r['other']:>11}  {r['noted']:>5}")
    lines.append("Wall time counts the machine's other load; CPU time is this process's alone.")
    lines.append("The pairs stay tractable: only those that share a fingerprint no more than c.Similarity.common "
                 "submissions hold are compared (an inverted index), and reading each submission is linear.")
    ok = all(r["found"] == r["planted"] and r["other"] == 0 and r["noted"] == 0 for r in results)
    return "\n".join(lines), ok


def _machine():
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{os.cpu_count()} cores{load}"


def main(argv=None):
    """Time the review for each size ``argv`` asks; returns the exit code (1: a copy missed or a pair too many)."""
    parser = argparse.ArgumentParser(prog="python -m backprop_course.tools.bench.review",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="40,1000", help="class sizes, comma-separated (default: 40,1000)")
    parser.add_argument("--keep", metavar="DIR", help="write the classes in DIR and keep them (default: a temp dir)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="backprop-review-bench-") as tmp:
        base = Path(args.keep).resolve() if args.keep else Path(tmp)
        for size in sizes:
            folder = base / f"review-{size}"
            shutil.rmtree(folder, ignore_errors=True)
            results.append(bench(folder, size))
    text, ok = report(results)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
