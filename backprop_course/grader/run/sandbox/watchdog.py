"""The grader's watch over one running kernel: the caps a kernel's own limits cannot see (the
CPU time of its whole group, the grader's own memory), enforced by killing the kernel.
"""
from __future__ import annotations

import os
import threading


def resident_bytes():
    """This process's resident memory, in bytes."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Watchdog(threading.Thread):
    """Watches one running kernel from the grader, and kills it when it goes over a cap the
    kernel's own limits cannot see: CPU time of its whole group, and the grader's memory.

    ``kill``: how to kill the kernel; ``hits`` collects the caps it enforced (("cpu_seconds", …)).
    """

    def __init__(self, kill, cgroup=None, cpu_seconds=0, grader_memory=0, interval=0.05):
        super().__init__(name="kernel-watchdog", daemon=True)
        self._kill, self.cgroup, self.cpu_seconds, self.grader_memory = kill, cgroup, cpu_seconds, grader_memory
        self.interval = interval
        self.baseline = resident_bytes()
        self.hits = []
        self._stopped = threading.Event()

    def check(self):
        """One look; the cap that is over, or None."""
        if self.cgroup is not None and self.cpu_seconds and "cpu_seconds" in self.cgroup.covers() \
                and self.cgroup.cpu_seconds() > self.cpu_seconds:
            return "cpu_seconds"
        if self.grader_memory and resident_bytes() - self.baseline > self.grader_memory:
            return "grader_memory"
        return None

    def run(self):
        """Check the caps every ``interval`` seconds; kill the kernel at the first one it goes over."""
        while not self._stopped.wait(self.interval):
            over = self.check()
            if over is not None:
                self.hits.append(over)
                try:
                    self._kill()
                finally:
                    return

    def stop(self):
        """Stop watching (the kernel is gone)."""
        self._stopped.set()
