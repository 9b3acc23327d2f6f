"""A hub's life: set up (the hub's folder and ports, then the users' side), started, stopped
and removed."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ...grader.results import typeset
from .accounts import chown_tree, create_user, remove_user
from .environment import REQUIREMENTS, build_env, configure_env, course_wheel, instructor_config
from .python_copy import shared_python
from .settings import COURSE_FILES, CONFIG, ROOT, Hub, HubError, installed, place_file, proxy_command, write_file


def share_mathjax(hub: Hub):
    """MathJax, which typesets the math of the feedback and of formgrader when the instructor's
    grading and formgrader make a page, in an npm cache every user reads (``<hub>/npm``: the
    users' servers get it as $BACKPROP_SITE_CACHE); this user's is root's own."""
    modules = installed(typeset.MATHJAX, "MathJax (the feedback's and formgrader's math)")
    if hub.npm.exists():
        shutil.rmtree(hub.npm)
    shutil.copytree(modules.parent, hub.npm / modules.parent.name, copy_function=place_file, symlinks=True)


def free_port():
    """A TCP port free on 127.0.0.1 now."""
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
    write_file(hub.state / "passwords.json", json.dumps(passwords, indent=2))
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
