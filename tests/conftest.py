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


@pytest.fixture(scope="session")
def empty_gradebook(tmp_path_factory, nbgrader_env):
    """``make(path)``: an empty nbgrader gradebook at ``path``; returns its URL. nbgrader makes a
    new gradebook by asking alembic for its schema version, in a subprocess (seconds); a copy
    of the one made here, once a session, is a gradebook it opens as it is."""
    import shutil

    from nbgrader.api import Gradebook

    template = tmp_path_factory.mktemp("empty-gradebook") / "gradebook.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", nbgrader_env["PATH"])
        Gradebook(f"sqlite:///{template}").close()

    def make(path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return make


@pytest.fixture
def postgres_url():
    """A new, empty PostgreSQL database for one test, dropped after it.

    BACKPROP_TEST_POSTGRES_URL names a server and a role that may create databases
    (.ci/run starts Debian's PostgreSQL and sets it); without it the test is skipped.
    """
    admin_url = os.environ.get("BACKPROP_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("needs a PostgreSQL server: set BACKPROP_TEST_POSTGRES_URL=postgresql+psycopg2://user:pw@host:port/db "
                    "for a role with CREATEDB (.ci/run does)")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"backprop_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def graded_catalogue(tmp_path_factory, nbgrader_env):
    """The catalogue class, graded once for the session (grading_helpers.grade_catalogue)."""
    from grading_helpers import grade_catalogue

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", nbgrader_env["PATH"])  # nbgrader shells out to alembic, also when tests open the gradebook
        yield grade_catalogue(tmp_path_factory.mktemp("course"))
