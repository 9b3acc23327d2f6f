"""What a sandboxed kernel may use: resource limits, set between fork and exec of bwrap.

Address space (RLIMIT_AS), CPU time (RLIMIT_CPU), the size of a written file (RLIMIT_FSIZE),
no core dumps, and the number of tasks: through a cgroup v1 ``pids`` group of its own where
the grader may create one (root on most hosts), else RLIMIT_NPROC, which the kernel does not
enforce for root. The child also dies with the grader (PR_SET_PDEATHSIG), from the fork on.
"""
from __future__ import annotations

import errno
import os
import resource
import signal
import time
from pathlib import Path

CGROUP_PIDS = Path("/sys/fs/cgroup/pids")
GiB = 1024 ** 3
MiB = 1024 ** 2
PR_SET_PDEATHSIG = 1


def gone(pid):
    """Whether no process ``pid`` (a string of digits, as in a name) runs on this machine."""
    return pid.isdigit() and not Path(f"/proc/{pid}").exists()


def user_tasks(uid):
    """How many tasks (threads included) the user runs: RLIMIT_NPROC counts them all."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                pass
    return count


class PidsCgroup:
    """A cgroup v1 ``pids`` controller group of one kernel: at most ``limit`` tasks."""

    def __init__(self, name, limit, root=CGROUP_PIDS):
        self.path = Path(root) / "backprop-sandbox" / name
        self.path.mkdir(parents=True)
        (self.path / "pids.max").write_text(str(limit))

    @classmethod
    def create(cls, name, limit, root=CGROUP_PIDS):
        """The group, or None where cgroups v1 pids cannot be created (not root, cgroup v2 only, ...)."""
        if not (Path(root) / "pids.max").exists() and not (Path(root) / "cgroup.procs").exists():
            return None
        cls.sweep(root)
        try:
            return cls(name, limit, root)
        except OSError:
            return None

    @staticmethod
    def sweep(root=CGROUP_PIDS):
        """Remove the groups of graders that were killed before they could: named after a
        process that is gone, and empty (the kernel removes no group that still has a task)."""
        parent = Path(root) / "backprop-sandbox"
        for group in parent.iterdir() if parent.is_dir() else ():
            if gone(group.name.split("-", 1)[0]):
                try:
                    group.rmdir()
                except OSError:
                    pass

    def remove(self):
        for _ in range(50):
            try:
                self.path.rmdir()
                return True
            except FileNotFoundError:
                return True
            except OSError as error:
                if error.errno != errno.EBUSY:
                    return False
            try:
                pids = (self.path / "cgroup.procs").read_text().split()
            except OSError:
                pids = []
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        return False


def rlimits(memory=0, cpu_seconds=0, file_size=0, max_processes=0, cgroup=None):
    """[(RLIMIT_*, value)] for the sandbox (0: no limit of that kind)."""
    limits = []
    if memory:
        limits.append((resource.RLIMIT_AS, memory))
    if cpu_seconds:
        limits.append((resource.RLIMIT_CPU, cpu_seconds))
    if file_size:
        limits.append((resource.RLIMIT_FSIZE, file_size))
    limits.append((resource.RLIMIT_CORE, 0))
    if max_processes and cgroup is None and os.geteuid() != 0:
        # per user, not per sandbox: leave room for what the user already runs
        limits.append((resource.RLIMIT_NPROC, user_tasks(os.geteuid()) + max_processes))
    return limits


def _prctl():
    """libc's prctl, or None off Linux."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def preexec(limits, cgroup=None):
    """The function Popen runs in the child before exec: the limits, the cgroup, death with the grader."""
    procs = str(cgroup.path / "cgroup.procs") if cgroup is not None else None
    grader, prctl = os.getpid(), _prctl()

    def run():
        # bwrap's --die-with-parent arms itself only once bwrap runs: a grader killed
        # between fork and then would leave the kernel running for good. Armed here, in
        # the forked child, and checked against a parent already gone, there is no gap.
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != grader:
            os._exit(1)
        for which, value in limits:
            resource.setrlimit(which, (value, value))
        if procs:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))

    return run
