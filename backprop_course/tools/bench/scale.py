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
3. **Projection** of real workers' wall time, every input measured in 1 and 2
   (``scale_projection.projection``).

Steps 1, 2 and 3 are ``scale_recording.py``, ``scale_simulation.py`` (with its workers,
``scale_workers.py``) and ``scale_projection.py``.

    python -m backprop_course.tools.bench.scale [--workers 256] [--tasks 10000] [--hosts 8] [--record 10]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ...grader.intake.admission import submission_limits
from ...grader.run.bundle import read_submission
from ...grader.pipeline import Course
from .runs import adopt_orphans
from .scale_projection import Inputs, dask_overheads, projection
from .scale_recording import record
from .scale_simulation import simulate, simulation_lines
from .synthetic_class import ASSIGNMENT


def run(workdir, workers=256, tasks=10_000, hosts=8, size=10, jobs=2, say=print):
    """Record, simulate, project: the report's lines."""
    workdir = Path(workdir)
    say(f"\n== at scale: {size} real gradings recorded, then {tasks} submissions on {workers} replaying workers, in {workdir}")
    recording = record(workdir, size, say)
    sim = simulate(workdir, recording, workers, tasks, hosts, say)
    sample = next((workdir / "template" / "submitted").glob(f"*/{ASSIGNMENT}"))
    files = read_submission(sample, Course().source_notebooks(ASSIGNMENT), submission_limits())
    overheads = dask_overheads(workdir, jobs, files, int(recording.returned_bytes()), say=say)
    inputs = Inputs.measured(sim, recording, overheads)
    return simulation_lines(sim, recording) + projection(inputs, sim), sim.exit == 0 and sim.merged == tasks


def main(argv=None):
    """Record, simulate and project as ``argv`` asks; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m backprop_course.tools.bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=256, help="replaying workers (default 256)")
    parser.add_argument("--tasks", type=int, default=10_000, help="submissions graded (default 10000)")
    parser.add_argument("--hosts", type=int, default=8, help="processes the workers run in (default 8)")
    parser.add_argument("--record", type=int, default=10, help="submissions graded for real, to replay (default 10)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp dir)")
    args = parser.parse_args(argv)
    adopt_orphans()
    with tempfile.TemporaryDirectory(prefix="backprop-scale-") as tmp:
        lines, ok = run(Path(args.keep).resolve() if args.keep else Path(tmp), args.workers, args.tasks, args.hosts,
                        args.record)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
