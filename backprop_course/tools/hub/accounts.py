"""The hub's Unix accounts: made with a mark of their own (``MARKER``), so that removing the hub
removes no other account; and running a command as one of them."""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .settings import MARKER, HubError, home


def chown_tree(path: Path, user):
    """Give ``path`` and everything under it to ``user`` (links themselves, not what they name)."""
    entry = pwd.getpwnam(user)
    for folder, dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, f) for f in dirs + files)]:
            os.lchown(name, entry.pw_uid, entry.pw_gid)


def made_here(user) -> bool:
    """Whether account ``user`` exists and carries this hub's mark."""
    try:
        return pwd.getpwnam(user).pw_gecos == MARKER
    except KeyError:
        return False


def admin_tool(name) -> str:
    """The path of a user-administration program (useradd, chpasswd, userdel): root's PATH has
    /usr/sbin, a PATH made for an unprivileged user often does not."""
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found is None:
        raise HubError(f"{name} is not installed: the hub's accounts need the shadow utilities (Debian: apt install passwd)")
    return found


def create_user(user) -> str:
    """A Unix account with a home of mode 700 and a new random password (returned)."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run([admin_tool("useradd"), "--create-home", "--user-group", "--shell", "/bin/bash", "--comment", MARKER, user],
                       check=True, capture_output=True)
    else:
        if not made_here(user):
            raise HubError(f"the account {user} exists and this hub did not make it: choose other names")
    home(user).chmod(0o700)
    password = secrets.token_urlsafe(12)
    subprocess.run([admin_tool("chpasswd")], input=f"{user}:{password}\n", text=True, check=True, capture_output=True)
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
    subprocess.run([admin_tool("userdel"), "--remove", user], check=True, capture_output=True)


def as_user(user, args, env_path: Path, **kwargs):
    """Run ``args`` as ``user``, in their home, with the hub's environment first on PATH: what
    they would type in a terminal of their server."""
    entry = pwd.getpwnam(user)
    environment = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
                   "PATH": f"{env_path / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
    kwargs.setdefault("cwd", entry.pw_dir)
    return subprocess.run(args, user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                          env=environment | kwargs.pop("env", {}), **kwargs)
