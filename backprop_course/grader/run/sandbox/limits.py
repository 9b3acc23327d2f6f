"""What a sandboxed kernel may use: one budget for the whole kernel, and death with the grader.

Where the machine allows it (root, or a cgroup tree the grader may write), each kernel gets a
cgroup of its own (:class:`KernelCgroup`, cgroup v2 or v1), holding every process of its sandbox:

- memory: one cap on all the kernel's processes together, counting what they hold in their tmpfs
  (``/tmp``, ``HOME``, ``/dev/shm``) and in shared memory (System V, ``memfd``); past it the
  kernel's own OOM killer stops the largest process, the kernel as a rule;
- tasks (processes and threads);
- CPU: at most ``cpus`` cores at any moment, and ``cpu_seconds`` of CPU time in all, which the
  :class:`Watchdog` reads and enforces by killing the group.

Where no cgroup can be made, rlimits stand in, per process (:func:`rlimits`): address space
(``RLIMIT_AS``), CPU time (``RLIMIT_CPU``), tasks (``RLIMIT_NPROC``, which Linux does not enforce
for root). The rlimits on address space, CPU time and file size apply under a cgroup too: a
single allocation past the cap is then a ``MemoryError`` the student's code can see, not a kill.
:func:`enforcement` says which applies (the preflight prints it).

The :class:`Watchdog` also guards the grader: a kernel that makes the grader's own memory grow
by more than ``grader_memory`` (messages it floods the grader with faster than they are read,
held by ZeroMQ before the grader sees them) is killed. The child dies with the grader
(PR_SET_PDEATHSIG), from the fork on.
"""
from __future__ import annotations

import errno
import functools
import os
import resource
import signal
import time
from dataclasses import dataclass
from pathlib import Path

GiB = 1024 ** 3
MiB = 1024 ** 2
PR_SET_PDEATHSIG = 1
#: the folder of the kernels' cgroups, below the grader's own cgroup (v1) or the root (v2)
GROUP = "backprop-sandbox"
CGROUP_MOUNTS = "/proc/self/mountinfo"
OWN_CGROUPS = "/proc/self/cgroup"
#: the cgroup v1 controllers a kernel's group uses; memory is required, the others where mounted
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD = 100_000  # µs


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


@dataclass(frozen=True)
class Budget:
    """What one kernel may use (0: no cap of that kind)."""

    memory: int = 2 * GiB        # bytes, all its processes, tmpfs and shared memory together
    tasks: int = 64              # processes and threads
    cpus: float = 1.0            # cores at any moment
    cpu_seconds: int = 600       # CPU time in all


def _read_int(path, key=None):
    """The number in ``path`` (cgroup files: "123", or lines "key 123"); 0 when absent."""
    try:
        text = Path(path).read_text()
    except OSError:
        return 0
    if key is None:
        return int(text.split()[0]) if text.split() and text.split()[0].isdigit() else 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == key and parts[1].isdigit():
            return int(parts[1])
    return 0


def _write(path, value):
    Path(path).write_text(str(value))


def v1_folders(mountinfo=CGROUP_MOUNTS, own=OWN_CGROUPS):
    """{controller: the grader's own cgroup v1 folder of it}, for V1_CONTROLLERS that are mounted."""
    try:
        mounts, mine = Path(mountinfo).read_text(), Path(own).read_text()
    except OSError:
        return {}
    paths = {}
    for line in mine.splitlines():  # "4:memory:/process_api/abc"
        number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        for controller in controllers.split(","):
            paths[controller] = path
    found = {}
    for line in mounts.splitlines():  # "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory"
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        fstype, options = line.split(" - ", 1)[1].split()[0], line.split(" - ", 1)[1].split()[-1].split(",")
        if fstype != "cgroup":
            continue
        root, mountpoint = fields[3], fields[4]
        for controller in V1_CONTROLLERS:
            if controller in options and controller in paths and controller not in found:
                relative = os.path.relpath(paths[controller], root)
                if not relative.startswith(".."):
                    found[controller] = Path(mountpoint) / ("" if relative == "." else relative)
    return found


def v2_root(mountinfo=CGROUP_MOUNTS):
    """The cgroup v2 mount that has the controllers a kernel's group needs, or None."""
    try:
        mounts = Path(mountinfo).read_text()
    except OSError:
        return None
    for line in mounts.splitlines():
        if " - cgroup2 " in line:
            mountpoint = Path(line.split()[4])
            try:
                controllers = (mountpoint / "cgroup.controllers").read_text().split()
            except OSError:
                continue
            if {"memory", "pids"} <= set(controllers):
                return mountpoint
    return None


@functools.lru_cache(maxsize=None)
def _layout(mountinfo, own):
    """(v2_root, v1_folders) of this process, read once: /proc/self/mountinfo may be long."""
    return v2_root(mountinfo), v1_folders(mountinfo, own)


def group_parents(mountinfo=CGROUP_MOUNTS, own=OWN_CGROUPS):
    """The folders that hold the kernels' cgroups on this machine (each ``<pid>-<id>`` in them is
    one kernel's), whether they exist yet or not."""
    root, parents = _layout(mountinfo, own)
    return list(dict.fromkeys([*(folder / GROUP for folder in parents.values()), *([root / GROUP] if root else [])]))


class KernelCgroup:
    """The cgroup of one kernel: every process of its sandbox, within one :class:`Budget`.

    ``folders`` are the group's folders: one for cgroup v2, one per controller for v1.
    """

    def __init__(self, version, folders, budget):
        self.version, self.folders, self.budget = version, folders, budget

    # --- making one ----------------------------------------------------------------------
    @classmethod
    def create(cls, name, budget, mountinfo=CGROUP_MOUNTS, own=OWN_CGROUPS):
        """The group ``name`` with ``budget`` in force, or (None, why not). Returns (group, reason)."""
        root, parents = _layout(mountinfo, own)
        if root is not None:
            try:
                return cls._create_v2(root, name, budget), ""
            except OSError as error:
                reason = f"cgroup v2 at {root}: {error.strerror or error}"
        else:
            reason = "no cgroup v2 with the memory and pids controllers"
        if "memory" not in parents:
            return None, f"{reason}; no cgroup v1 memory controller"
        try:
            return cls._create_v1(parents, name, budget), ""
        except OSError as error:
            return None, f"{reason}; cgroup v1: {error.strerror or error}"

    @classmethod
    def _create_v2(cls, root, name, budget):
        parent = root / GROUP
        parent.mkdir(exist_ok=True)
        wanted = [c for c in V2_CONTROLLERS if c in (root / "cgroup.controllers").read_text().split()]
        for folder in (root, parent):  # the controllers reach the kernels' groups through both
            enabled = (folder / "cgroup.subtree_control").read_text().split()
            missing = [c for c in wanted if c not in enabled]
            if missing:
                _write(folder / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
        sweep([parent])
        folder = parent / name
        folder.mkdir()
        group = cls(2, {"": folder}, budget)
        try:
            if budget.memory:
                _write(folder / "memory.max", budget.memory)
                if (folder / "memory.swap.max").exists():
                    _write(folder / "memory.swap.max", 0)  # swap would stretch the cap
            if budget.tasks:
                _write(folder / "pids.max", budget.tasks)
            if budget.cpus and (folder / "cpu.max").exists():
                _write(folder / "cpu.max", f"{int(budget.cpus * CPU_PERIOD)} {CPU_PERIOD}")
        except OSError:
            group.remove()
            raise
        return group

    @classmethod
    def _create_v1(cls, parents, name, budget):
        folders = {}
        group = cls(1, folders, budget)
        try:
            for controller, parent in parents.items():
                folder = parent / GROUP / name
                if folder not in folders.values():  # cpu and cpuacct may share one hierarchy
                    (parent / GROUP).mkdir(exist_ok=True)
                    sweep([parent / GROUP])
                    folder.mkdir()
                folders[controller] = folder
            memory = folders["memory"]
            if budget.memory:
                _write(memory / "memory.limit_in_bytes", budget.memory)
                if (memory / "memory.memsw.limit_in_bytes").exists():
                    _write(memory / "memory.memsw.limit_in_bytes", budget.memory)  # swap would stretch the cap
            if budget.tasks and "pids" in folders:
                _write(folders["pids"] / "pids.max", budget.tasks)
            if budget.cpus and "cpu" in folders:
                _write(folders["cpu"] / "cpu.cfs_period_us", CPU_PERIOD)
                _write(folders["cpu"] / "cpu.cfs_quota_us", int(budget.cpus * CPU_PERIOD))
        except OSError:
            group.remove()
            raise
        return group

    # --- what it covers, and what it counted ---------------------------------------------
    def covers(self):
        """The caps this group enforces: a subset of ("memory", "tasks", "cpus", "cpu_seconds")."""
        if self.version == 2:
            return ("memory", "tasks", "cpus", "cpu_seconds")
        return ("memory",) + (("tasks",) if "pids" in self.folders else ()) + \
            (("cpus",) if "cpu" in self.folders else ()) + (("cpu_seconds",) if "cpuacct" in self.folders else ())

    def _file(self, controller, name):
        return self.folders.get("" if self.version == 2 else controller, Path("/nonexistent")) / name

    def cpu_seconds(self):
        """CPU time used by all the group's processes so far, in seconds."""
        if self.version == 2:
            return _read_int(self._file("cpu", "cpu.stat"), "usage_usec") / 1e6
        return _read_int(self._file("cpuacct", "cpuacct.usage")) / 1e9

    def oom_kills(self):
        """How many processes the memory cap has killed."""
        if self.version == 2:
            return _read_int(self._file("memory", "memory.events"), "oom_kill")
        return _read_int(self._file("memory", "memory.oom_control"), "oom_kill")

    def tasks_refused(self):
        """How many times a new process or thread was refused by the task cap."""
        return _read_int(self._file("pids", "pids.events"), "max")

    def procs_files(self):
        """The files a process writes its pid to, to join the group."""
        return [folder / "cgroup.procs" for folder in dict.fromkeys(self.folders.values())]

    # --- ending it -----------------------------------------------------------------------
    def kill(self):
        """Kill every process of the group."""
        kill_file = self._file("", "cgroup.kill")
        if self.version == 2 and kill_file.exists():
            try:
                _write(kill_file, 1)
                return
            except OSError:
                pass
        for procs in self.procs_files():
            try:
                pids = procs.read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass

    def remove(self):
        """Kill what is left in the group and remove its folders; True when all are gone."""
        removed = True
        for folder in dict.fromkeys(self.folders.values()):
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY:
                        removed = False
                        break
                self.kill()
                time.sleep(0.05)
            else:
                removed = False
        return removed


def sweep(parents):
    """Remove the groups of graders killed before they could: named ``<pid>-…`` after a process
    that is gone, and empty (Linux removes no group that still has a task)."""
    for parent in parents:
        try:
            groups = list(Path(parent).iterdir())
        except OSError:
            continue
        for group in groups:
            if group.is_dir() and gone(group.name.split("-", 1)[0]):
                try:
                    group.rmdir()
                except OSError:
                    pass


_enforcement: dict = {}


def enforcement(budget):
    """How this machine enforces ``budget``: (True, "cgroup v2: ...") where a kernel's cgroup can
    be made (tried once per process), else (False, "rlimits per process: <why no cgroup>")."""
    if budget not in _enforcement:
        group, reason = KernelCgroup.create(f"{os.getpid()}-probe-{time.monotonic_ns()}", budget)
        if group is not None:
            covered = group.covers()
            group.remove()
            names = {"memory": "memory (with tmpfs and shared memory)", "tasks": "tasks", "cpus": "cores",
                     "cpu_seconds": "CPU time"}
            rest = [names[c] for c in ("memory", "tasks", "cpus", "cpu_seconds") if c not in covered]
            _enforcement[budget] = (True, f"one cgroup (v{group.version}) per kernel for "
                                    f"{', '.join(names[c] for c in covered)}"
                                    + (f"; rlimits for {', '.join(rest)}" if rest else ""))
        else:
            _enforcement[budget] = (False, f"rlimits per process (no cgroup here: {reason})")
    return _enforcement[budget]


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
    if max_processes and (cgroup is None or "tasks" not in cgroup.covers()) and os.geteuid() != 0:
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
    procs = [str(path) for path in cgroup.procs_files()] if cgroup is not None else []
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
        for path in procs:
            with open(path, "w") as f:
                f.write(str(os.getpid()))

    return run


