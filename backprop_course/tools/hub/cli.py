"""`make hub` and `make hub-remove`: ``python -m backprop_course.tools.hub`` sets up a hub (or
loads the one in ``--dir``) and runs it in the foreground; ``--remove`` removes it."""
from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from .lifecycle import command, remove, setup
from .settings import Hub, HubError

DESCRIPTION = "A JupyterHub for the course on one machine: an instructor and students as real Unix users."


def main(argv=None):
    """Set up and run the hub ``argv`` names, or remove it; returns the hub's exit code."""
    parser = argparse.ArgumentParser(prog="python -m backprop_course.tools.hub", description=DESCRIPTION)
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
