"""The files a sandboxed kernel is given besides its notebook: the submission's files the intake
admits in its working folder, and the grader's matplotlib font list in its own folder.
"""
from __future__ import annotations

import os
import shutil

from ...intake.folder import examine


def seed_matplotlib_cache(target):
    """Copy the grader's matplotlib font list: without it every kernel rebuilds it (seconds).
    Returns the names of the files copied."""
    os.makedirs(target, exist_ok=True)
    source = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    copied = []
    try:
        for entry in os.scandir(source):
            if entry.name.startswith("fontlist") and entry.name.endswith(".json"):
                shutil.copyfile(entry.path, os.path.join(target, entry.name))
                copied.append(entry.name)
    except OSError:
        pass
    return sorted(copied)


def working_files(cwd):
    """The files of the notebook's folder to show the kernel: what the intake admits there
    (regular files, no link, within the caps), the notebooks themselves excepted, whose
    autograded copy holds the hidden tests."""
    return [f.path for f in examine(cwd).files]
