"""The hub's Python environment, made offline in seconds from the installed distributions of the
environment running this (the versions pyproject.toml pins), and its Jupyter configuration: what
every user's server reads, and the instructor's own."""
from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from .accounts import chown_tree
from .settings import ROOT, STUDENT_LAB_OFF, STUDENT_SERVER_OFF, Hub, HubError, course_id, home, place_file, write_file


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
        place_file(os.path.normpath(os.path.join(origin, entry)), target)
    for point in dist.entry_points:
        if point.group == "console_scripts":
            script = env / "bin" / point.name
            write_file(script, SCRIPT.format(python=env / "bin" / "python", module=point.module,
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
    write_file(etc / "nbgrader_config.py", "# the hub's course and exchange, for every user (backprop_course/tools/hub/)\n"
           f"c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = {course_id()!r}\n"
           f"c.Exchange.root = {str(hub.exchange)!r}\n")
    server = {"nbgrader.server_extensions.validate_assignment": True, "nbgrader.server_extensions.assignment_list": True}
    server |= {name: False for name in STUDENT_SERVER_OFF}
    # replaces nbgrader's own file of this name, which turns all four on
    write_file(etc / "jupyter_server_config.d" / "nbgrader.json", json.dumps({"ServerApp": {"jpserver_extensions": server}}, indent=2))
    # a terminal's shell is not a login shell, which would reset PATH (/etc/profile) and lose the
    # hub's environment: `backprop-course grade` and `nbgrader` in the instructor's terminal
    # (jupyter_server_config.d/ holds extensions only; other settings go in the main file)
    write_file(etc / "jupyter_server_config.json",
           json.dumps({"ServerApp": {"terminado_settings": {"shell_command": ["/bin/bash"]}}}, indent=2))
    write_file(etc / "labconfig" / "page_config.json",
           json.dumps({"disabledExtensions": {name: True for name in STUDENT_LAB_OFF}}, indent=2))
    # a hub fetches nothing from the internet for its users: no news, no update checks
    write_file(hub.env / "share" / "jupyter" / "lab" / "settings" / "overrides.json", json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}, indent=2))


def instructor_config(hub: Hub):
    """The instructor's ``~/.jupyter``: formgrader and the course list on (what ``jupyter server
    extension enable --user`` and ``jupyter labextension enable --level=user`` write), and an
    nbgrader config that is the course's own (so formgrader collects through the course's intake)."""
    jupyter = home(hub.instructor) / ".jupyter"
    write_file(jupyter / "jupyter_server_config.json", json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: True for name in STUDENT_SERVER_OFF}}}, indent=2))
    write_file(jupyter / "labconfig" / "page_config.json",
           json.dumps({"disabledExtensions": {name: False for name in STUDENT_LAB_OFF}}, indent=2))
    write_file(jupyter / "nbgrader_config.py", "# the instructor's course: formgrader and nbgrader commands anywhere use its config\n"
           f"c = get_config()  # noqa: F821\nload_subconfig({str(hub.course / 'nbgrader_config.py')!r})  # noqa: F821\n")
    chown_tree(jupyter, hub.instructor)
