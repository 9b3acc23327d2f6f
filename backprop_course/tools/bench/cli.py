"""`make bench`'s command line: ``python -m backprop_course.tools.bench`` (the package's
docstring says what it measures)."""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from ...grader.pipeline import cores
from .report import machine, report
from .rounds import bench_size
from .runs import adopt_orphans, execute_bare
from .soak import soak
from .synthetic_class import ASSIGNMENT

DESCRIPTION = "`make bench`: how fast the course autogrades a class, against stock nbgrader and bare nbclient."


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
    """Run the benchmark as ``argv`` asks; returns the exit code: 0, 1 if anything differed or
    missed its target, 2 if a run failed."""
    parser = argparse.ArgumentParser(prog="python -m backprop_course.tools.bench", description=DESCRIPTION,
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
        if not args.no_cost:
            from .cost import costs  # lazy: (c)'s subprocess runs this module, and its imports are timed

            print("\n".join(costs(base / "cost")))
            sys.stdout.flush()
        if not args.no_scale:  # the simulation and the projection
            from .scale import run as at_scale  # lazy: it imports distributed; (c)'s subprocess times this module's imports

            workers, tasks = args.scale
            lines, done = at_scale(base / "scale", workers, tasks, jobs=args.jobs)
            print("\n".join(lines))
            ok = ok and done
    if any(r.failed for r in results):
        return 2
    return 0 if ok else 1
