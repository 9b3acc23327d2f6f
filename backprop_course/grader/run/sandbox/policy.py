"""What a sandboxed kernel sees: the security policy, as data.

:func:`policy_for` turns the facts of one kernel launch (the notebook's folder, the kernel's private
folder, the grader's environment, and a :class:`Host` snapshot of this machine's layout) into
bubblewrap's arguments. It reads and writes nothing; the files it names (a made-up
``/etc/passwd`` and ``/etc/group``, the grader's IPython profile) are listed in
:attr:`Policy.files` for the launcher to write. So the policy is tested as plain data, without starting bwrap (tests/grader/run/test_sandbox_policy.py).

The kernel's mount namespace holds only:

* read-only: ``/usr`` (and the ``/bin``, ``/lib``, ``/lib64``, ``/sbin`` links), the Python
  installation (``sys.base_prefix``), the virtual environment (``sys.prefix``), the course's
  ``backprop_course`` package (the test cells import its checks), also at :data:`PACKAGE_MOUNT`,
  first on the kernel's ``PYTHONPATH``: the kernel imports the very files the grader judges
  with, whatever the install (an editable one of another folder, a copied course), any
  ``extra_read_only`` path, a handful of files of ``/etc`` (the loader cache, fonts, time zone;
  made-up ``passwd`` and ``group``), the kernel's private directory (connection file), and the
  working files: the submission's admitted files (grader/intake/folder.py) that nbgrader copied
  beside the notebook, bound one by one into the working folder;
* writable: four private, size-limited tmpfs, and no host folder at all: ``/tmp``; ``HOME``,
  which holds the kernel's working folder :data:`WORKDIR`; ``/dev/shm``; and :data:`SOCKETS`,
  where the kernel makes its unix sockets, which the grader reaches through the sandbox's own
  root (``/proc/<pid>/root``). All the kernel may write lives in memory, is capped, and is gone
  when it exits: nothing reaches the grader's disk, nor the autograded folder (nbgrader writes
  the graded notebook itself, from the grader), nor so the feedback. ``/dev`` itself is
  read-only;
* a fresh ``/dev`` and ``/proc``. Everything else of the machine is absent: ``source/``, the
  gradebook, other students' folders, the autograded notebook (hidden tests included), the
  grader's home. The mount skeleton itself is remounted read-only.

Nothing of the submission runs before the first cell: ``HOME`` is the grader's, not the
submission's folder (so no dotfile of it, ``.ipython/`` say, is where a program looks for its
configuration); IPython starts with the grader's read-only profile (:data:`IPYTHON_CONFIG`);
and with ``PYTHONSAFEPATH`` the working folder is on no import path until that profile appends
it, last, after every installed module: a student's ``numpy.py`` or ``ipykernel_launcher.py``
shadows nothing, and ``sitecustomize.py`` or a ``.pth`` file there is never read.

Besides: no network (a new, empty network namespace), no other process (new PID namespace),
no capability, uid and gid 65534 (nobody), and an environment cleared down to
:data:`PASSED_ENV` and the variables set here.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

#: the course package, which the test cells import (backprop_course/grader/run/sandbox/policy.py -> backprop_course)
PACKAGE_DIR = Path(__file__).resolve().parents[3]
#: inside the sandbox, the folder that holds only the grader's own package, and is the kernel's PYTHONPATH
PACKAGE_MOUNT = "/run/backprop-course"

#: inside the sandbox: the kernel's home (the grader's), its working folder (the submission's
#: files), matplotlib's folder (seeded read-only with the font list) and IPython's
HOME = "/home/student"
WORKDIR = f"{HOME}/work"
MPLCONFIGDIR = f"{HOME}/.matplotlib"
IPYTHONDIR = f"{HOME}/.ipython"
#: inside the sandbox: the folder of the kernel's unix sockets (transport ipc), a tmpfs of its own
SOCKETS = "/run/kernel"
SOCKETS_SIZE = 1024 ** 2
#: the grader's IPython profile: its config, and the folders IPython would otherwise make
IPYTHON_CONFIG = """\
# The grader's IPython profile for a sandboxed kernel (backprop_course/grader/sandbox/policy.py).
c = get_config()  # noqa: F821
# The working folder goes last on the import path: a student's module imports, but never in place
# of an installed one (PYTHONSAFEPATH kept it off the path until now); a child Python runs as usual.
c.InteractiveShellApp.exec_lines = [
    "import os as _os, sys as _sys; _sys.path.append(''); _os.environ.pop('PYTHONSAFEPATH', None); del _os, _sys"]
# the profile is read-only: no history file
c.HistoryManager.hist_file = ":memory:"
"""
IPYTHON_FOLDERS = ("startup", "security", "log", "pid")
PASSWD = "root:x:0:0:root:/root:/usr/sbin/nologin\nstudent:x:65534:65534:student:/home/student:/usr/sbin/nologin\n"
GROUP = "root:x:0:\nstudent:x:65534:\n"
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime", "timezone", "mime.types")
SYSTEM_DIRS = ("bin", "lib", "lib64", "lib32", "libx32", "sbin")

#: variables of the grader's environment that reach the kernel (all others are dropped,
#: e.g. NBGRADER_DB_URL with its password)
PASSED_ENV = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "PYTHONHASHSEED",
              "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "SOURCE_DATE_EPOCH", "PYDEVD_DISABLE_FILE_VALIDATION")

#: the isolation of every sandbox, check_bwrap's empty one included, so that it tests what grading uses
ISOLATION = ("--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns",
             "--cap-drop", "ALL", "--die-with-parent", "--new-session")


@dataclass(frozen=True)
class Host:
    """What the policy needs to know of this machine."""

    #: each of SYSTEM_DIRS that exists, with its link target, or None for a real directory
    system: tuple[tuple[str, str | None], ...]
    #: the ETC_FILES this machine has
    etc: tuple[str, ...]
    #: real paths bound read-only besides /usr: the Python installation, the virtual
    #: environment, the course package, the extra ones; existing, outside /usr, no repeats
    read_only: tuple[str, ...]
    #: the virtual environment's prefix (its bin/ goes first on the kernel's PATH)
    prefix: str
    #: the real path of the course package the grader imported, bound at PACKAGE_MOUNT ("": none)
    package: str = ""

    @classmethod
    def probe(cls, extra_read_only=()):
        """This machine, as the grader's Python sees it (reads the filesystem, writes nothing)."""
        system = []
        for name in SYSTEM_DIRS:
            path = Path("/") / name
            if path.is_symlink():
                system.append((str(path), os.readlink(path)))
            elif path.is_dir():
                system.append((str(path), None))
        read_only = []
        for path in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, str(PACKAGE_DIR), *extra_read_only):
            real = os.path.realpath(path)
            if not real.startswith("/usr/") and real not in read_only and os.path.exists(real):
                read_only.append(real)
        etc = tuple(name for name in ETC_FILES if os.path.exists(f"/etc/{name}"))
        return cls(tuple(system), etc, tuple(read_only), sys.prefix, os.path.realpath(PACKAGE_DIR))


def system_binds(host):
    """/usr read-only and the merged-/usr links (or directories) /bin, /lib, /lib64, /sbin."""
    args = ["--ro-bind", "/usr", "/usr"]
    for path, target in host.system:
        args += ["--symlink", target, path] if target is not None else ["--ro-bind", path, path]
    return args


def kernel_env(grader_env, spec_env, prefix):
    """The kernel's whole environment: a few of the grader's variables, the kernel spec's, and ours."""
    env = {k: grader_env[k] for k in PASSED_ENV if k in grader_env}
    env.update({k: grader_env.get(k, v) for k, v in (spec_env or {}).items()})
    env.update({
        # 1: "no parent to watch" for ipykernel (the grader's pid means nothing in the PID namespace)
        "JPY_PARENT_PID": "1",
        "HOME": HOME, "USER": "student", "LOGNAME": "student", "TMPDIR": "/tmp",
        "PATH": os.pathsep.join(dict.fromkeys([os.path.join(prefix, "bin"), "/usr/local/bin", "/usr/bin", "/bin"])),
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "PYTHONPATH": PACKAGE_MOUNT,
        # the working folder on no import path while the kernel starts (the profile appends it)
        "PYTHONSAFEPATH": "1", "IPYTHONDIR": IPYTHONDIR,
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MPLCONFIGDIR": MPLCONFIGDIR,
    })
    env.setdefault("LANG", "C.UTF-8")
    return env


@dataclass(frozen=True)
class Policy:
    """One kernel's sandbox: bwrap's arguments, and what they bind, as data."""

    args: tuple[str, ...]           # bwrap's arguments, without the program and the kernel's command
    read_only: tuple[str, ...]      # host paths bound read-only at the same path (/usr included)
    writable: tuple[str, ...]       # host paths bound read-write at the same path
    tmpfs: tuple[str, ...]          # private, size-limited, empty at start
    placed: tuple[tuple[str, str], ...]  # (host file, path inside) bound read-only at another path
    files: dict                     # host path -> content (None: a folder): what the launcher writes before starting
    env: dict                       # the kernel's whole environment

    def command(self, bwrap, kernel_cmd, info_fd=None):
        """bwrap's command line; with ``info_fd``, bwrap writes there (JSON) the host pid of the
        sandbox's first process, whose ``/proc/<pid>/root`` is the sandbox's root."""
        # the connection file is read inside: its path must be the one it has there
        info = ["--info-fd", str(info_fd)] if info_fd is not None else []
        return [bwrap, *self.args, *info, "--", *kernel_cmd]

    def exposes(self, path):
        """Whether the host's ``path`` is visible in the sandbox (bound, or under a bound path)."""
        path = os.path.normpath(path)
        return any(path == bound or path.startswith(bound.rstrip("/") + "/")
                   for bound in (*self.read_only, *self.writable)) or any(path == host for host, _ in self.placed)

    def writes(self, path):
        """Whether the kernel may write the host's ``path``."""
        path = os.path.normpath(path)
        return any(path == bound or path.startswith(bound.rstrip("/") + "/") for bound in self.writable)


def socket_prefix():
    """The path prefix of the kernel's sockets inside the sandbox (jupyter_client's ``ip`` for
    transport ipc: the sockets are ``<prefix>-<port>``)."""
    return f"{SOCKETS}/kernel"


def ipython_profile(private_dir):
    """The host folder of the grader's IPython profile for this kernel (bound read-only)."""
    return os.path.join(private_dir, "ipython", "profile_default")


def policy_for(*, cwd, private_dir, host, grader_env, spec_env=None, tmpfs_size, shm_size, working_files=(),
               mpl_files=()):
    """The sandbox of a kernel for the notebook in the host folder ``cwd`` (a real path), with
    its files in ``private_dir``. ``working_files``: paths relative to ``cwd`` of the files to
    show in the kernel's working folder (read-only); ``mpl_files``: names of matplotlib cache
    files seeded in ``private_dir/matplotlib``. ``tmpfs_size``: bytes of ``/tmp`` and of
    ``HOME`` each; ``shm_size``: of ``/dev/shm``."""
    etc = os.path.join(private_dir, "etc")
    profile = ipython_profile(private_dir)
    files = {os.path.join(etc, "passwd"): PASSWD, os.path.join(etc, "group"): GROUP,
             os.path.join(profile, "ipython_kernel_config.py"): IPYTHON_CONFIG,
             **{os.path.join(profile, name): None for name in IPYTHON_FOLDERS}}
    env = kernel_env(grader_env, spec_env, host.prefix)
    writable = ()
    placed = tuple((os.path.join(cwd, rel), f"{WORKDIR}/{rel}") for rel in working_files) + \
        tuple((os.path.join(private_dir, "matplotlib", name), f"{MPLCONFIGDIR}/{name}") for name in mpl_files) + \
        ((profile, f"{IPYTHONDIR}/profile_default"),)
    args = [*ISOLATION, "--hostname", "sandbox", *system_binds(host),
            # the tmpfs first: a venv or course that lives under /tmp is bound on top of it
            "--size", str(tmpfs_size), "--tmpfs", "/tmp",
            "--size", str(tmpfs_size), "--tmpfs", HOME,
            "--size", str(SOCKETS_SIZE), "--tmpfs", SOCKETS]
    for path in host.read_only:
        args += ["--ro-bind", path, path]
    if host.package:
        args += ["--ro-bind", host.package, f"{PACKAGE_MOUNT}/{os.path.basename(host.package)}"]
    for name in host.etc:
        args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    # /dev: bwrap's own nodes; its shared memory a capped tmpfs, and /dev itself read-only
    args += ["--ro-bind", f"{etc}/passwd", "/etc/passwd", "--ro-bind", f"{etc}/group", "/etc/group",
             "--dev", "/dev", "--size", str(shm_size), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
             "--proc", "/proc", "--ro-bind", private_dir, private_dir]
    for source, target in placed:
        args += ["--ro-bind", source, target]
    # the working folder exists without working files too; the skeleton bwrap made (e.g. the
    # folders above the private one) is read-only
    args += ["--dir", WORKDIR, "--remount-ro", "/", "--chdir", WORKDIR, "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    read_only = ("/usr", *(path for path, target in host.system if target is None), *host.read_only,
                 *(f"/etc/{name}" for name in host.etc), private_dir)
    return Policy(tuple(args), read_only, writable, ("/tmp", HOME, SOCKETS, "/dev/shm"), placed, files, env)
