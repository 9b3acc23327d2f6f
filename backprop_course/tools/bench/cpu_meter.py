"""CPU time of a process tree, the sandboxed kernels included: for `make bench`.

getrusage's RUSAGE_CHILDREN counts a child's CPU only once some process waits for it, up the
tree; a sandboxed kernel runs in a pid namespace of its own, under bwrap, and when its sandbox
is torn down nobody waits for it, so its CPU (most of a submission's) is counted nowhere:
grading three 02_backprop submissions in one process showed 1.3 s of the grader's own CPU
and 0.02 s of its children's. A cgroup v1 ``cpuacct`` group counts every task in it, waited
for or not, and a child starts in its parent's group: :class:`CpuGroup` is one, for the processes
put in it and everything they start. Where there is none to make (no cgroup v1 cpuacct, not
root), :func:`group` returns None and the bench falls back to getrusage, and says so.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class CpuGroup:
    """A cpuacct group of this benchmark's own: ``add`` processes, read ``seconds``, ``close``."""

    def __init__(self, name, root=CPUACCT):
        self.path = Path(root) / "backprop-bench" / f"{os.getpid()}-{name}"
        self.path.mkdir(parents=True)

    def add(self, pid):
        """Put process ``pid`` in the group (its threads too; what it starts from now on follows)."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def enter(self):
        """For ``Popen(preexec_fn=...)``: the child puts itself in the group before it execs."""
        self.add(os.getpid())

    @property
    def seconds(self):
        """CPU seconds of every task that ran in the group, as the kernel counts them."""
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def close(self):
        """Move what still runs in the group to the root group, and remove it."""
        for _ in range(50):
            for pid in (self.path / "cgroup.procs").read_text().split():
                try:
                    (self.path.parent.parent / "cgroup.procs").write_text(pid)
                except OSError:
                    pass  # gone meanwhile
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.05)


def group(name, root=CPUACCT):
    """A new :class:`CpuGroup`, or None where none can be made here."""
    if not (Path(root) / "cpuacct.usage").is_file():
        return None
    try:
        return CpuGroup(name, root)
    except OSError:
        return None


def available():
    """Whether :func:`group` can make a group here (else the bench measures with getrusage)."""
    probe = group("probe")
    if probe is None:
        return False
    probe.close()
    return True
