"""A sandbox program that is installed but cannot start stops grading before the first student.

A missing bwrap is caught by looking for it (tests/test_sandbox.py); one that is there but
cannot start (user namespaces turned off, as on many hosts) is caught only by starting it.
Grading must then stop loudly: a non-zero exit, a message that says why, and not a single
student in the gradebook, rather than a class graded zero, or graded unsandboxed.
"""
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from backprop_course.grader import pipeline
from backprop_course.tools.catalogue import CATALOGUE, NOTEBOOK, build_notebook

ROOT = Path(__file__).resolve().parent.parent
A = "02_backprop"
REFERENCE = next(s for s in CATALOGUE if s.name == "02-reference")
#: what bubblewrap prints where unprivileged user namespaces are off
NO_USERNS = ("bwrap: No permissions to creating new namespace, likely because the kernel does not allow "
             "non-privileged user namespaces.")
STOP = "The grading sandbox cannot start"


def course_with_bwrap(course, bwrap_path, students=("ada", "grace")):
    """A course root whose config points the sandbox at ``bwrap_path``, with a class of honest students."""
    for folder in ("source", "release"):
        shutil.copytree(ROOT / folder, course / folder)
    config = (ROOT / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(config + f"\nc.SandboxedKernelManager.bwrap_path = {str(bwrap_path)!r}\n")
    for student in students:
        path = course / "submitted" / student / A / NOTEBOOK[A]
        path.parent.mkdir(parents=True)
        nbformat.write(build_notebook(REFERENCE, hidden_tests=False), path)
    return course


def fake_bwrap(folder):
    """An executable that fails as bwrap does on a host without user namespaces."""
    path = folder / "bwrap"
    path.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "{NO_USERNS}" >&2
        exit 1
        """))
    path.chmod(0o755)
    return path


def test_make_grade_stops_before_the_first_student(tmp_path, nbgrader_env):
    """`make grade`'s command line, with a bwrap that is there but cannot start."""
    env = {k: v for k, v in nbgrader_env.items() if k != "BACKPROP_SANDBOX"}
    bwrap = fake_bwrap(tmp_path)
    course = course_with_bwrap(tmp_path / "course", bwrap)
    run = subprocess.run([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course),
                          "grade", "--jobs", "2"], cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode != 0, run.stdout[-3000:]
    assert STOP in run.stderr and str(bwrap) in run.stderr and NO_USERNS in run.stderr, run.stderr[-3000:]
    assert "3/5 feedback" not in run.stdout
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert [a.name for a in gradebook.assignments] == sorted(NOTEBOOK)  # release/ did run
        assert gradebook.students == [], "grading started although the sandbox cannot"
    assert not (course / "autograded").exists() or not any((course / "autograded").iterdir())


@pytest.mark.parametrize("bwrap_path", ["/bin/false"])
def test_the_course_api_stops_before_the_first_student(tmp_path, bwrap_path, nbgrader_env, monkeypatch):
    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    monkeypatch.delenv("BACKPROP_SANDBOX", raising=False)
    course = course_with_bwrap(tmp_path, bwrap_path)
    grader = pipeline.Course(root=course)
    with pytest.raises(SystemExit) as stop:
        grader.autograde(grader.submissions(), jobs=1)
    assert STOP in str(stop.value) and bwrap_path in str(stop.value)
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()
