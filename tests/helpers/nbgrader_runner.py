"""``nbgrader ARGS`` for tests, run in this process with nbgrader's own test runner: the same
apps and config files as the command line, without starting Python and importing nbgrader
each time (about 2.5 s of CPU a command)."""
import os


def nbgrader(*args, cwd, env, retcode=0):
    """Run ``nbgrader ARGS`` in the folder ``cwd`` with the environment ``env``; returns its log.
    Fails the test on an exit code other than ``retcode``."""
    from nbgrader.tests import run_nbgrader

    here, environ = os.getcwd(), os.environ
    os.chdir(cwd)
    try:
        return run_nbgrader([str(a) for a in args], retcode=retcode, env=dict(env))
    finally:
        os.chdir(here)
        # run_nbgrader puts back a plain dict copy: the real os.environ object, which other
        # modules hold (os.getenv, default arguments), must come back or later setenv is lost
        os.environ = environ
