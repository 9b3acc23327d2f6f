"""Trusted verdicts fail closed: a graded test cell is judged by the grader, or refused by name.

The grader judges a test cell's check calls in its own process (grader/verdicts.py); a
statement it cannot judge would be judged by the student's kernel alone, which the student's
code controls. So every graded test cell of source/ must be covered, `make release` refuses one
that is not (naming the cell and why), a cell judged by the kernel alone on purpose carries
verdicts.KERNEL_ONLY and is listed, and at grading an unexpected form fails that cell only.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from backprop_course.grader import verdicts
from backprop_course.grader.assignments import assignments
from backprop_course.grader.preprocessors import GradingExecute

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
IMPORT = "from backprop_course.checks.backprop import check_train\n"
GOOD = IMPORT + "\ncheck_train(train, seed=0, epochs=3, learning_rate=0.1, reveal=True)\n"


def test_every_graded_test_cell_of_source_is_covered_by_trusted_verdicts():
    seen = 0
    for assignment in assignments(ROOT / "source").values():
        for name in assignment.notebooks:
            cells = nbformat.read(assignment.folder / name, as_version=4).cells
            refused, kernel_only = verdicts.uncovered(cells)
            assert refused == [], verdicts.refusal(f"source/{assignment.folder.name}/{name}", refused)
            for cell in cells:
                if verdicts.is_test_cell(cell):
                    seen += 1
                    reading = verdicts.read_cell(cell.source)
                    if cell.metadata.nbgrader["grade_id"] in kernel_only:
                        assert reading.kernel_only
                    else:
                        assert reading.covered and reading.calls, cell.metadata.nbgrader["grade_id"]
    assert seen >= 10  # every assignment's test cells were read, not none


@pytest.mark.parametrize("source, named", [
    (GOOD.replace("import check_train", "import check_train as ct").replace("check_train(", "ct("),
     "aliased import `check_train as ct`"),
    ("assert train(1) == 2\n", "`assert train(1) == 2` is judged by the student's kernel alone"),
    (GOOD + "assert True\n", "line 4: `assert True`"),
    ("import backprop_course.checks.backprop as checks\n\nchecks.check_train(train, seed=0)\n", "calls a check through a module"),
    ("from backprop_course.checks import backprop\n\nbackprop.check_train(train, seed=0)\n", "calls a check through a module"),
    (IMPORT + "\ncheck_train(train, seed=1 + 1)\n", "computed argument"),
    (IMPORT + "\nargs = {'seed': 0}\ncheck_train(train, **args)\n", "judged by the student's kernel alone"),
    (IMPORT + "\ncheck_train(train, *[0])\n", "unpacks its arguments"),
    (IMPORT + "\ncheck_train(seed=0)\n", "takes the student's 1 object(s) first"),
    ("from backprop_course.checks.core import quiet\n\nquiet()\n", "is not a check"),
    ("from numpy.testing import assert_allclose\n\nassert_allclose(train(), 1)\n", "imports something other"),
    ("if True:\n    " + GOOD.replace("\n", "\n    "), "judged by the student's kernel alone"),
    ("print('all good')\n", "it calls no check"),
    ("check_train(train, seed=0\n", "syntax error"),
])
def test_a_form_the_grader_cannot_judge_is_named(source, named):
    reading = verdicts.read_cell(source)
    assert not reading.covered and not reading.kernel_only
    assert any(named in problem for problem in reading.problems), reading.problems


def test_the_forms_the_grader_judges():
    reading = verdicts.read_cell(GOOD + "print('more tests below')\n'''a docstring'''\n"
                                 "### BEGIN HIDDEN TESTS\ncheck_train(train, seed=2, epochs=[1, 2][0] if False else 4)\n"
                                 "### END HIDDEN TESTS\n")
    assert reading.problems == ["line 7: `check_train(train, seed=2, epochs=[1, 2][0] if False else 4)` has a computed "
                                "argument: the grader runs the scenario itself and accepts only literals (numbers, "
                                "strings, lists, ...)"]
    reading = verdicts.read_cell(GOOD + "check_train(train, seed=2, epochs=4)\n")
    assert reading.covered and [(c.check.name, c.objects, c.args, c.kwargs) for c in reading.calls] == [
        ("check_train", ("train",), (), {"seed": 0, "epochs": 3, "learning_rate": 0.1, "reveal": True}),
        ("check_train", ("train",), (), {"seed": 2, "epochs": 4})]
    assert reading.calls[0].module == "backprop_course.checks.backprop"


def test_a_cell_judged_by_the_kernel_alone_says_so_and_is_listed():
    cell = new_code_cell(f"{verdicts.KERNEL_ONLY}\nassert train(1) == 2\n",
                         metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "by_hand", "points": 1}})
    refused, kernel_only = verdicts.uncovered([cell])
    assert refused == [] and kernel_only == ["by_hand"]


def grading_cell(source):
    return new_code_cell(source, metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}},
                         outputs=[nbformat.v4.new_output("stream", name="stdout", text="✓ all passed\n")])


@pytest.mark.parametrize("source", ["assert True\n", IMPORT + "\ncheck_train(train, no_such_argument=1)\n"])
def test_at_grading_a_form_the_grader_cannot_judge_fails_that_cell_only(source):
    """The kernel said it passed; the grader, unable to judge, fails the cell with the reason
    (and raises nothing, so the batch goes on). No kernel is needed: it fails before the probe."""
    cell = grading_cell(source)
    GradingExecute().judge(cell, 0)
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert [o.ename for o in errors] == ["UngradableTestCell"], cell.outputs
    assert "line 1" in errors[0].evalue or "no_such_argument" in errors[0].evalue, errors[0].evalue
    assert not any("✓" in o.get("text", "") for o in cell.outputs)


def test_make_release_refuses_an_aliased_import_and_a_plain_assert_naming_them(tmp_path, nbgrader_env):
    course = tmp_path / "course"
    for name in ("source", "release"):
        shutil.copytree(ROOT / name, course / name)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    path = course / "source" / "02_backprop" / "backprop.ipynb"
    nb = nbformat.read(path, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    aliased, plain = cells["test_train_multi_sample_sgd"], cells["test_multi_output_network_forward"]
    aliased.source = aliased.source.replace("import check_train", "import check_train as check").replace("check_train(", "check(")
    plain.source = "n = Network([2, 2], seed=0)\nassert n.forward([1.0, 2.0]) is not None\n"
    nbformat.write(nb, path)
    before = {p: p.read_bytes() for p in (course / "release").rglob("*") if p.is_file()}
    done = subprocess.run([BIN / "backprop-course", "--root", course, "release"], cwd=course, env=nbgrader_env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout
    said = done.stderr
    assert "release/ not made" in said and "source/02_backprop/backprop.ipynb" in said, said
    assert "cell test_train_multi_sample_sgd:" in said and "aliased import `check_train as check`" in said, said
    assert "cell test_multi_output_network_forward:" in said and "`assert n.forward([1.0, 2.0]) is not None`" in said, said
    assert verdicts.KERNEL_ONLY in said  # the way out, named
    assert {p: p.read_bytes() for p in (course / "release").rglob("*") if p.is_file()} == before, "release/ changed"
    # plain nbgrader generate_assignment refuses too (RequireTrustedVerdicts), naming the cells
    done = subprocess.run([BIN / "nbgrader", "generate_assignment", "02_backprop", "--force"], cwd=course,
                          env=nbgrader_env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "test_train_multi_sample_sgd" in done.stderr + done.stdout, done.stderr[-3000:]
    # the plain assert marked as judged by the kernel alone, the alias undone: released, and listed
    plain.source = f"{verdicts.KERNEL_ONLY}\n{plain.source}"
    aliased.source = cells["test_train_multi_sample_sgd"].source.replace("import check_train as check", "import check_train") \
        .replace("check(", "check_train(")
    nbformat.write(nb, path)
    done = subprocess.run([BIN / "backprop-course", "--root", course, "release"], cwd=course, env=nbgrader_env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "02_backprop/backprop.ipynb: test cell test_multi_output_network_forward is judged by the student's kernel " \
           "alone" in done.stdout, done.stdout
