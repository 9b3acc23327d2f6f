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
    env.pop("BACKPROP_CLASS_DIR", None)
    env.pop("NBGRADER_DB_URL", None)
    return env


@pytest.fixture(scope="session")
def graded_catalogue(tmp_path_factory, nbgrader_env):
    """The catalogue class, graded once for the session (grading_helpers.grade_catalogue)."""
    from grading_helpers import grade_catalogue

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", nbgrader_env["PATH"])  # nbgrader shells out to alembic, also when tests open the gradebook
        yield grade_catalogue(tmp_path_factory.mktemp("course"))
