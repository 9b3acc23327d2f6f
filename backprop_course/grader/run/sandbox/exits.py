"""Kernels after grading: the exits a grading worker defers and reaps (:class:`ExitingKernels`),
and the private folders graders killed before their cleanup left (:func:`sweep_private_dirs`).
"""
from __future__ import annotations

import os
import time

from jupyter_core.utils import run_sync

from .cleanup import remove_tree
from .limits import gone


class ExitingKernels:
    """Kernels asked to exit whose exit is not yet reaped: one grading worker's.

    The worker makes one and hands it to every kernel manager it creates through the config
    (``c.SandboxedKernelManager.exits``), and calls :meth:`finish` before it exits.
    """
    def __init__(self):
        self._pending = []  # (manager, when to stop waiting for it)

    def __deepcopy__(self, memo):
        return self  # traitlets deep-copies config values: every copy must be this one list

    def __len__(self):
        return len(self._pending)

    def __contains__(self, manager):
        return any(km is manager for km, _ in self._pending)

    def add(self, manager):
        """Defer the exit of ``manager``'s kernel: reaped once it has exited, or killed after its
        ``shutdown_wait_time``."""
        self._pending.append((manager, time.monotonic() + manager.shutdown_wait_time))

    async def reap(self, wait=False):
        """Finish the shutdown of the kernels that have exited; with ``wait``, of all of them.

        A kernel still running past its ``shutdown_wait_time`` (say, a student's atexit
        handler that never returns) is killed.
        """
        pending, self._pending = self._pending, []
        for km, deadline in pending:
            if wait or not await km.is_alive():
                await km.finish_shutdown()  # at once when it has exited; else wait, SIGTERM, SIGKILL
            elif time.monotonic() > deadline:
                await km.finish_shutdown(waittime=0)  # SIGTERM, then SIGKILL at once
            else:
                self._pending.append((km, deadline))
                continue
            await km.cleanup_resources()

    def finish(self):
        """Wait for every kernel still exiting, and clean up after it."""
        run_sync(self.reap)(wait=True)


def sweep_private_dirs(runtime_dir):
    """Remove the private directories (``bpk-<grader pid>-…``) of graders killed before they could,
    whatever they hold (:func:`.cleanup.remove_tree`). Never raises: a leftover that cannot be
    removed is logged, and stops nothing."""
    try:
        entries = list(os.scandir(runtime_dir))
    except OSError:
        return
    for entry in entries:
        parts = entry.name.split("-")
        try:
            stale = len(parts) == 3 and parts[0] == "bpk" and gone(parts[1]) and entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if stale:
            remove_tree(entry.path)
