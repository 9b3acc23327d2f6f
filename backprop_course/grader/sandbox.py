"""A kernel manager that runs student code in a bubblewrap sandbox, for autograding.

``nbgrader_config.py`` (through :func:`backprop_course.grader.preprocessors.configure`) makes nbgrader's
autograde run every submission's kernel through :class:`SandboxedKernelManager`, so the rule
holds for ``make grade`` and for a plain ``nbgrader autograde`` in the course root alike.

What the kernel sees (everything else of the machine is absent from its mount namespace):

* read-only: ``/usr`` (and the ``/bin``, ``/lib``, ``/lib64``, ``/sbin`` links), the Python
  installation (``sys.base_prefix``), the virtual environment (``sys.prefix``), the course's
  ``backprop_course`` package (its checks are imported by the test cells), and a handful of
  files of ``/etc`` (the loader cache, fonts, time zone; made-up ``passwd`` and ``group``);
* read-write: the notebook's working directory, nbgrader's scratch copy
  ``autograded/<student>/<assignment>``; a private directory holding the connection file and
  the kernel's unix sockets; a private, size-limited tmpfs ``/tmp`` and ``HOME``;
* a fresh ``/dev`` and ``/proc``; no network (a new, empty network namespace), no other
  process (new PID namespace), no capability, uid and gid 65534 (nobody).

Limits (``SandboxedKernelManager`` traits, all ``config=True``): address space
(``memory_limit``, RLIMIT_AS), CPU time (``cpu_seconds``, RLIMIT_CPU), size of a written file
(``file_size_limit``, RLIMIT_FSIZE) and number of processes and threads (``max_processes``):
through a cgroup v1 ``pids`` controller when the grader may create one (root on most hosts),
else RLIMIT_NPROC, which the kernel does not enforce for root. ``--die-with-parent`` kills the
sandbox with the grader.

Opting out, for a machine without user namespaces: ``c.SandboxedKernelManager.enabled = False``
in ``nbgrader_config.py``, or ``BACKPROP_SANDBOX=off`` in the environment. Without either, a
sandbox that cannot start stops the grading of the submission with :class:`SandboxUnavailableError`,
whose message says what to install; student code never runs unsandboxed by accident.
"""
from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, List, Unicode, default

#: environment variable that turns the sandbox off ("off", "0", "false", "no")
ENV_SWITCH = "BACKPROP_SANDBOX"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
CGROUP_PIDS = Path("/sys/fs/cgroup/pids")
GiB = 1024 ** 3
MiB = 1024 ** 2

#: inside the sandbox
HOME = "/home/student"
PASSWD = "root:x:0:0:root:/root:/usr/sbin/nologin\nstudent:x:65534:65534:student:/home/student:/usr/sbin/nologin\n"
GROUP = "root:x:0:\nstudent:x:65534:\n"
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime", "timezone", "mime.types")
#: variables of the grader's environment that reach the kernel (all others are dropped,
#: e.g. NBGRADER_DB_URL with its password)
PASSED_ENV = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "PYTHONHASHSEED",
              "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "SOURCE_DATE_EPOCH", "PYDEVD_DISABLE_FILE_VALIDATION")

INSTALL_HINT = (
    "Student code is run in a bubblewrap sandbox while autograding. Install it "
    "(Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`) and make sure "
    "unprivileged user namespaces are allowed (sysctl kernel.unprivileged_userns_clone=1, or "
    "kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04), or point "
    "c.SandboxedKernelManager.bwrap_path at it. To grade WITHOUT a sandbox (student code then "
    "runs with your rights), opt out explicitly: set BACKPROP_SANDBOX=off in the environment or "
    "c.SandboxedKernelManager.enabled = False in nbgrader_config.py."
)


class SandboxUnavailableError(RuntimeError):
    """The sandbox could not start; the message says why and what to do."""


def disabled_by_environment(environ=os.environ):
    return environ.get(ENV_SWITCH, "").strip().lower() in {"off", "0", "false", "no", "disabled"}


_preflight_cache: dict[tuple, str] = {}


def _system_binds():
    """/usr read-only and the merged-/usr links (or directories) /bin, /lib, /lib64, /sbin."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "lib32", "libx32", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


#: the isolation of every sandbox, the preflight's empty one included, so that it tests what grading uses
ISOLATION = ["--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns",
             "--cap-drop", "ALL", "--die-with-parent", "--new-session"]


def preflight(bwrap_path="bwrap"):
    """Start an empty sandbox once; return the resolved bwrap, or raise SandboxUnavailableError."""
    resolved = shutil.which(bwrap_path)
    if resolved is None:
        raise SandboxUnavailableError(f"the sandbox program bwrap was not found (bwrap_path={bwrap_path!r}). {INSTALL_HINT}")
    key = (resolved,)
    if key in _preflight_cache:
        return _preflight_cache[key]
    cmd = [resolved, *ISOLATION, *_system_binds(),
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--", "/usr/bin/true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        raise SandboxUnavailableError(f"{resolved} could not be run ({error}). {INSTALL_HINT}") from error
    if proc.returncode != 0:
        raise SandboxUnavailableError(
            f"{resolved} failed to start an empty sandbox (exit {proc.returncode}: {proc.stderr.strip()}). {INSTALL_HINT}")
    _preflight_cache[key] = resolved
    return resolved


PR_SET_PDEATHSIG = 1


def _prctl():
    """libc's prctl, or None off Linux."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _user_tasks(uid):
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


def gone(pid):
    """Whether no process ``pid`` (a string of digits, as in a name) runs on this machine."""
    return pid.isdigit() and not Path(f"/proc/{pid}").exists()


def sweep_private_dirs(runtime_dir):
    """Remove the private directories (``bpk-<grader pid>-…``) of graders killed before they could."""
    for entry in os.scandir(runtime_dir):
        parts = entry.name.split("-")
        if len(parts) == 3 and parts[0] == "bpk" and gone(parts[1]) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


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


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client, less the 0.2 s of IOPub silence it waits for once the
    kernel is ready (the end of ``KernelClient._async_wait_for_ready``), idle time paid by
    every submission. That wait drains the status messages of the kernel_info request; nbclient
    ignores any message whose parent is not the request it waits on, so they may come later.
    """

    async def _async_wait_for_ready(self, timeout=None):
        deadline = time.time() + (float("inf") if timeout is None else timeout)
        while True:  # upstream's handshake: a kernel_info reply on shell, then proof that IOPub is connected
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # drain what IOPub holds now, without waiting for more
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                break

    wait_for_ready = _async_wait_for_ready


class SandboxedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel runs inside bubblewrap (see the module's docstring)."""

    enabled = Bool(True, help="Run the kernel in the sandbox. BACKPROP_SANDBOX=off in the environment "
                              "also turns it off.").tag(config=True)
    bwrap_path = Unicode("bwrap", help="The bubblewrap program (a name on PATH or a path).").tag(config=True)
    memory_limit = Integer(2 * GiB, help="RLIMIT_AS of the kernel, in bytes (0: none).").tag(config=True)
    cpu_seconds = Integer(600, help="RLIMIT_CPU of the kernel, in seconds of CPU time (0: none).").tag(config=True)
    max_processes = Integer(64, help="Tasks (processes and threads) in the sandbox: a cgroup v1 pids "
                                     "limit where one can be created, else RLIMIT_NPROC (0: none).").tag(config=True)
    file_size_limit = Integer(256 * MiB, help="RLIMIT_FSIZE: the largest file the kernel may write (0: none).").tag(config=True)
    tmpfs_size = Integer(256 * MiB, help="Size of each of the sandbox's tmpfs /tmp and HOME, in bytes.").tag(config=True)
    extra_read_only = List(Unicode(), help="More paths the kernel may read (bound read-only at the same path).").tag(config=True)
    runtime_dir = Unicode(help="Where the private directory of each kernel (connection file, "
                               "sockets) is made; short, for unix socket paths.").tag(config=True)

    @default("client_factory")
    def _client_factory_default(self):
        return PromptKernelClient

    @default("runtime_dir")
    def _runtime_dir_default(self):
        return tempfile.gettempdir()

    _private_dir = None
    _cgroup = None
    _warned = False

    @property
    def sandboxed(self):
        return self.enabled and not disabled_by_environment()

    # --- transport: unix sockets in the private directory --------------------------------
    async def _async_pre_start_kernel(self, **kw):
        if self.sandboxed:
            self._make_private_dir()
            assert self.kernel_spec is not None
            # bwrap does not forward SIGINT to the kernel, which runs in its own session and
            # PID namespace: interrupt through the control channel (ipykernel signals itself).
            self.kernel_spec.interrupt_mode = "message"
        elif not SandboxedKernelManager._warned:
            SandboxedKernelManager._warned = True
            self.log.warning("The grading sandbox is OFF (%s): student code runs with your rights.",
                             f"{ENV_SWITCH}={os.environ.get(ENV_SWITCH)}" if disabled_by_environment()
                             else "c.SandboxedKernelManager.enabled = False")
        return await super()._async_pre_start_kernel(**kw)

    def _make_private_dir(self):
        if self._private_dir and os.path.isdir(self._private_dir):
            return  # a restart keeps its directory
        sweep_private_dirs(self.runtime_dir)
        self._private_dir = os.path.realpath(tempfile.mkdtemp(prefix=f"bpk-{os.getpid()}-", dir=self.runtime_dir))
        os.chmod(self._private_dir, 0o700)
        self.transport = "ipc"
        # absolute: the kernel's cwd is the notebook's folder, not ours (see upstream's 'kernel-ipc')
        self.ip = os.path.join(self._private_dir, "ipc")
        self.connection_file = os.path.join(self._private_dir, "kernel.json")
        self.cache_ports = False
        for port in ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port"):
            setattr(self, port, 0)

    # --- launch: wrap the kernel's command --------------------------------------------
    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.sandboxed:
            try:
                bwrap = preflight(self.bwrap_path)
            except SandboxUnavailableError as error:
                self.log.error("The grading sandbox cannot start: %s", error)
                self._remove_private_dir()
                raise
            cwd = os.path.abspath(kw.get("cwd") or os.getcwd())
            kernel_env = self._kernel_env(kw.get("env") or os.environ)
            kernel_cmd = self.sandbox_command(bwrap, kernel_cmd, cwd, kernel_env)
            kw["cwd"] = cwd
            kw["env"] = {"PATH": "/usr/bin:/bin", "LANG": os.environ.get("LANG", "C.UTF-8")}
            if self._cgroup is None and self.max_processes and os.geteuid() == 0:
                self._cgroup = PidsCgroup.create(f"{os.getpid()}-{uuid.uuid4().hex[:12]}", self.max_processes)
            kw["preexec_fn"] = self._limits_preexec()
            self.log.debug("Sandboxed kernel: %s", kernel_cmd)
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    def _kernel_env(self, env):
        out = {k: env[k] for k in PASSED_ENV if k in env}
        if self.kernel_spec is not None:
            out.update({k: env.get(k, v) for k, v in (self.kernel_spec.env or {}).items()})
        out.update({
            # 1: "no parent to watch" for ipykernel (the grader's pid means nothing in the PID namespace)
            "JPY_PARENT_PID": "1",
            "HOME": HOME, "USER": "student", "LOGNAME": "student", "TMPDIR": "/tmp",
            "PATH": os.pathsep.join(dict.fromkeys([os.path.join(sys.prefix, "bin"), "/usr/local/bin", "/usr/bin", "/bin"])),
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "MPLCONFIGDIR": os.path.join(self._private_dir, "matplotlib"),
        })
        out.setdefault("LANG", "C.UTF-8")
        self._seed_matplotlib_cache(out["MPLCONFIGDIR"])
        return out

    @staticmethod
    def _seed_matplotlib_cache(target):
        """Copy the grader's matplotlib font list: without it every kernel rebuilds it (seconds)."""
        os.makedirs(target, exist_ok=True)
        source = os.environ.get("MPLCONFIGDIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
        try:
            for entry in os.scandir(source):
                if entry.name.startswith("fontlist") and entry.name.endswith(".json"):
                    shutil.copyfile(entry.path, os.path.join(target, entry.name))
        except OSError:
            pass

    def sandbox_paths(self, cwd):
        """(read-only paths, read-write paths) bound at the same path inside the sandbox."""
        ro = []
        for path in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, str(PACKAGE_DIR), *self.extra_read_only):
            real = os.path.realpath(path)
            if not real.startswith("/usr/") and real not in ro and os.path.exists(real):
                ro.append(real)
        return ro, [os.path.realpath(cwd), self._private_dir]

    def sandbox_command(self, bwrap, kernel_cmd, cwd, env):
        etc = os.path.join(self._private_dir, "etc")
        os.makedirs(etc, exist_ok=True)
        Path(etc, "passwd").write_text(PASSWD)
        Path(etc, "group").write_text(GROUP)
        cmd = [bwrap, *ISOLATION, "--hostname", "sandbox", *_system_binds(),
               # the tmpfs first: a venv or course that lives under /tmp is bound on top of it
               "--size", str(self.tmpfs_size), "--tmpfs", "/tmp",
               "--size", str(self.tmpfs_size), "--tmpfs", HOME]
        ro, rw = self.sandbox_paths(cwd)
        for path in ro:
            cmd += ["--ro-bind", path, path]
        for name in ETC_FILES:
            if os.path.exists(f"/etc/{name}"):
                cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        cmd += ["--ro-bind", f"{etc}/passwd", "/etc/passwd", "--ro-bind", f"{etc}/group", "/etc/group",
                "--dev", "/dev", "--proc", "/proc"]
        for path in rw:
            cmd += ["--bind", path, path]
        # the skeleton bwrap made (e.g. the folders above the notebook's) is read-only too
        cmd += ["--remount-ro", "/", "--chdir", os.path.realpath(cwd), "--clearenv"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        # the connection file is read inside: its path must be the one it has there
        return cmd + ["--", *kernel_cmd]

    def _limits_preexec(self):
        """Limits set in the child between fork and exec of bwrap; bwrap and the kernel inherit them."""
        limits = []
        if self.memory_limit:
            limits.append((resource.RLIMIT_AS, self.memory_limit))
        if self.cpu_seconds:
            limits.append((resource.RLIMIT_CPU, self.cpu_seconds))
        if self.file_size_limit:
            limits.append((resource.RLIMIT_FSIZE, self.file_size_limit))
        limits.append((resource.RLIMIT_CORE, 0))
        procs = None
        if self.max_processes and self._cgroup is not None:
            procs = str(self._cgroup.path / "cgroup.procs")
        elif self.max_processes and os.geteuid() != 0:
            # per user, not per sandbox: leave room for what the user already runs
            limits.append((resource.RLIMIT_NPROC, _user_tasks(os.geteuid()) + self.max_processes))

        grader, prctl = os.getpid(), _prctl()

        def preexec():
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

        return preexec

    # --- deferred shutdown: a grading worker moves on while the kernel exits ------------
    #: kernels asked to shut down whose exit is not yet reaped: (manager, when to stop waiting)
    _exiting: list = []

    async def request_exit(self):
        """The first half of ``shutdown_kernel``: ask the kernel to exit, without waiting for it.

        :meth:`reap_exited` later finishes what ``shutdown_kernel`` would have waited for
        (about 0.4 s a kernel, nearly all idle): reaping the process, killing it if it
        ignored the request, and removing its private directory and cgroup.
        """
        self.shutting_down = True
        self.stop_restarter()
        await self._async_interrupt_kernel()
        await self._async_request_shutdown()
        SandboxedKernelManager._exiting.append((self, time.monotonic() + self.shutdown_wait_time))

    @classmethod
    async def reap_exited(cls, wait=False):
        """Finish the shutdown of the kernels that have exited; with ``wait``, of all of them.

        A kernel still running past its ``shutdown_wait_time`` (say, a student's atexit
        handler that never returns) is killed.
        """
        pending, cls._exiting[:] = list(cls._exiting), []
        for km, deadline in pending:
            if wait or not await km.is_alive():
                await km.finish_shutdown()  # at once when it has exited; else wait, SIGTERM, SIGKILL
                await km.cleanup_resources()
            elif time.monotonic() > deadline:
                await km._async_kill_kernel()
                await km.cleanup_resources()
            else:
                cls._exiting.append((km, deadline))

    # --- cleanup ---------------------------------------------------------------------
    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._remove_cgroup()
            self._remove_private_dir()

    # AsyncKernelManager binds cleanup_resources to KernelManager's own method, which skips
    # the override above; nbclient calls it alone for a kernel that is already dead.
    cleanup_resources = _async_cleanup_resources

    def _remove_cgroup(self):
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None

    def _remove_private_dir(self):
        if self._private_dir:
            shutil.rmtree(self._private_dir, ignore_errors=True)
            self._private_dir = None

    def __del__(self):
        try:
            self._remove_cgroup()
            self._remove_private_dir()
        except Exception:
            pass
        super().__del__()
