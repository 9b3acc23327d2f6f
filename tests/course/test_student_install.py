"""Nothing a student installs passes an exercise (issue 23).

The student's install is the course's wheel, what ``pip install .``, ``make lab`` and a hub's
student image install, without the instructor's answers/ and the repository around it. A
submission that looks up every graded name (the objects the test cells check) in every module of
that install, and runs the released public tests on what it finds, fails every one of them. The
same lookup in the instructor's answers passes some: the test can fail.
"""
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from backprop_course.grader.judge import verdicts
from backprop_course.grader.assignments import assignments

from project import ROOT

#: run with ``python -S``: the wheel's files first, then the standard library and the venv's
#: third-party packages (no .pth file read, so no editable install of the course and no answers/)
LOOKUP = r'''
import contextlib, importlib, io, itertools, json, pkgutil, sys
site, packages, extra, task = json.loads(sys.argv[1])
sys.path[:0] = [site]
sys.path += packages
import matplotlib
matplotlib.use("Agg")
import backprop_course
report = {"package": backprop_course.__file__, "answers": importlib.util.find_spec("answers") is not None,
          "found": {}, "passed": []}
sys.path += extra  # the control: the instructor's answers beside the install
roots = [backprop_course] + [importlib.import_module(name) for name in task["roots"]]
modules = []
for root in roots:
    modules.append(root)
    for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
        with contextlib.suppress(BaseException):
            modules.append(importlib.import_module(info.name))
for assignment, spec in task["assignments"].items():
    base = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for source in spec["given"]:
            exec(source, base)
    found = {}  # graded name -> [(module, object)]: every callable of that name anywhere
    for name in spec["graded"]:
        for module in modules:
            candidate = getattr(module, name, None)
            if callable(candidate) and all(candidate is not other for _, other in found.get(name, [])):
                found.setdefault(name, []).append((module.__name__, candidate))
                report["found"].setdefault(name, []).append(module.__name__)
    for grade_id, source in spec["tests"].items():
        names = spec["uses"][grade_id]
        for choice in itertools.product(*(found.get(name, []) for name in names)):
            namespace = dict(base, **{name: obj for name, (_, obj) in zip(names, choice)})
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(source, namespace)
            except BaseException:
                continue
            report["passed"].append([assignment, grade_id, [module for module, _ in choice]])
print(json.dumps(report))
'''


def task():
    """What the lookup runs, from release/: per assignment its given code, its public test cells,
    the graded names each test cell checks, and every graded name."""
    found = {}
    for name, assignment in assignments(ROOT / "source").items():
        nb = nbformat.read(ROOT / "release" / name / assignment.notebook, as_version=4)
        given, tests, uses = [], {}, {}
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if cell.cell_type == "code" and (grade_id.startswith("given") or grade_id == "setup"):
                given.append(cell.source)
            elif verdicts.is_test_cell(cell):
                tests[grade_id] = cell.source
                uses[grade_id] = sorted({o for call in verdicts.read_cell(cell.source).calls for o in call.objects})
        found[name] = {"given": given, "tests": tests, "uses": uses,
                       "graded": sorted({o for names in uses.values() for o in names})}
    return found


@pytest.fixture(scope="module")
def student_install(tmp_path_factory):
    """The course's wheel, unpacked: the files a student's ``pip install`` puts in site-packages."""
    out = tmp_path_factory.mktemp("wheel")
    project = out / "project"  # built from a copy: setuptools writes its build/ beside the sources
    shutil.copytree(ROOT / "backprop_course", project / "backprop_course", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", project)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", out,
                    project], check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(out / "site")
    return out / "site"


def lookup(site, extra=(), roots=()):
    packages = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    done = subprocess.run([sys.executable, "-S", "-c", LOOKUP,
                           json.dumps([str(site), packages, [str(p) for p in extra],
                                       {"assignments": task(), "roots": list(roots)}])],
                          capture_output=True, text=True, timeout=900, cwd=site)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_student_install_holds_no_answers_and_nothing_in_it_passes_a_public_test(student_install):
    report = lookup(student_install)
    assert Path(report["package"]).is_relative_to(student_install), report["package"]
    assert not report["answers"], "the student's install can import the answers"
    assert not list((student_install / "backprop_course").rglob("reference.py")), "a reference module in the wheel"
    assert report["passed"] == [], f"found in the student's install and passing public tests: {report['passed']}"


def test_the_same_lookup_in_the_instructors_answers_passes_public_tests(student_install):
    """The control: the lookup, given the answers too, finds what passes (the test above can fail)."""
    report = lookup(student_install, extra=[ROOT], roots=["answers"])
    passed = {(assignment, grade_id) for assignment, grade_id, _ in report["passed"]}
    assert {("03_vectorised", "test_dense_layer_forward"), ("01_neuron", "test_neuron_forward"),
            ("04_autograd", "test_value_arithmetic"), ("04_autograd", "test_backward")} <= passed, report["passed"]
