"""Puts tests/ on sys.path, so that tests import their helpers (``grading_helpers``) as plain modules."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import os  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def nbgrader_env():
    """The environment for nbgrader subprocesses: the venv's bin/ first (nbgrader shells out to alembic)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("NBGRADER_DB_URL", None)
    return env
