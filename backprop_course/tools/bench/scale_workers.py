"""`make bench` at scale, step 2's workers (scale.py): real Dask workers, many to a process, whose
course plugin (``cluster.GradingWorker``) replays a recorded grading (scale_recording.py) after a
sleep drawn from the recorded times, instead of grading.

The simulation (scale_simulation.py) starts each process of workers as

    python -m backprop_course.tools.bench.scale_workers SCHEDULER_FILE RECORDING COUNT NAME

in a folder of its own, outside the course: this module imports nothing of the course's answers
(answers/ is importable from the checkout only).
"""
from __future__ import annotations

import argparse
import asyncio
import pickle
import random
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from distributed import Worker

from ...grader.run import cluster

SEED = 29  # the replaying workers' draws


class _NoKernels:
    """A replaying worker starts no kernel, so none has an exit to wait for."""

    def finish(self):
        """Nothing to wait for."""


def replaying(samples, seed=SEED):
    """Make this process's ``cluster.GradingWorker`` replay ``samples`` instead of grading: set up at
    once, then for each task a recorded (seconds, result) drawn with a seeded generator of the
    worker's own, its seconds slept, its result returned. The client and scheduler are untouched."""
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
    replaying(pickle.loads(Path(recording).read_bytes()))

    async def serve():
        workers = [Worker(scheduler_file=scheduler_file, nthreads=1, name=f"{name}-{i}", host="127.0.0.1",
                          local_directory=str(Path(folder) / f"{name}-{i}")) for i in range(count)]
        await asyncio.gather(*workers)
        await asyncio.gather(*(worker.finished() for worker in workers))

    asyncio.run(serve())


def main(argv=None):
    """Serve ``COUNT`` replaying workers until the process is stopped."""
    parser = argparse.ArgumentParser(prog="python -m backprop_course.tools.bench.scale_workers",
                                     description="replaying Dask workers for `make bench`'s simulation")
    parser.add_argument("scheduler_file")
    parser.add_argument("recording", help="the pickled [(seconds, result)] to replay")
    parser.add_argument("count", type=int)
    parser.add_argument("name")
    args = parser.parse_args(argv)
    host(args.scheduler_file, args.recording, args.count, args.name, Path.cwd())
    return 0


if __name__ == "__main__":
    sys.exit(main())
