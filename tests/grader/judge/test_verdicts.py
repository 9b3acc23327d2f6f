"""Trusted verdicts fail closed: a graded test cell is judged by the grader, or refused by name.

The grader judges a test cell's check calls in its own process (grader/verdicts.py); a
statement it cannot judge would be judged by the student's kernel alone, which the student's
code controls. So every graded test cell of source/ must be covered, `make release` refuses one
that is not (naming the cell and why), a cell judged by the kernel alone on purpose carries
verdicts.KERNEL_ONLY and is listed, and at grading an unexpected form fails that cell only.
"""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from backprop_course.grader.judge import verdicts
from backprop_course.grader.assignments import assignments
from backprop_course.grader.run.execute import GradingExecute
from grading_helpers import course_copy

from project import ROOT

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


def judged(cell):
    """GradingExecute's judging of a one-cell notebook, after its (no) cells ran: no kernel is needed
    for a cell that fails before its probes."""
    execute = GradingExecute()
    execute.reset()
    execute.nb = nbformat.v4.new_notebook(cells=[cell])
    execute.judge_test_cells()
    return cell


def grading_cell(source):
    return new_code_cell(source, metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}},
                         outputs=[nbformat.v4.new_output("stream", name="stdout", text="✓ all passed\n")])


@pytest.mark.parametrize("source", ["assert True\n", IMPORT + "\ncheck_train(train, no_such_argument=1)\n"])
def test_at_grading_a_form_the_grader_cannot_judge_fails_that_cell_only(source):
    """The kernel said it passed; the grader, unable to judge, fails the cell with the reason
    (and raises nothing, so the batch goes on). No kernel is needed: it fails before the probe."""
    cell = grading_cell(source)
    judged(cell)
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert [o.ename for o in errors] == ["UngradableTestCell"], cell.outputs
    assert "line 1" in errors[0].evalue or "no_such_argument" in errors[0].evalue, errors[0].evalue
    assert not any("✓" in o.get("text", "") for o in cell.outputs)


def test_make_release_refuses_an_aliased_import_and_a_plain_assert_naming_them(tmp_path, nbgrader_env):
    course = course_copy(tmp_path / "course")
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


# --- what a refusal says: the instructor must find the line and know what to write instead ------

KERNEL_ALONE = "is judged by the student's kernel alone, which the student's code controls"


def test_a_refused_statement_is_quoted_as_written_on_one_line():
    """The quote is the instructor's own text (so it can be found in the cell), its whitespace
    and line breaks folded into single spaces, not the grader's re-formatting of it."""
    reading = verdicts.read_cell("assert  train( 1 )==[1,\n  2]\n")
    assert reading.problems == [f"line 1: `assert train( 1 )==[1, 2]` {KERNEL_ALONE}"]


@pytest.mark.parametrize("length, quoted", [(60, None), (61, 57)])
def test_a_long_statement_is_quoted_shortened_to_sixty_characters(length, quoted):
    statement = 'assert train(1) == "' + "a" * (length - 21) + '"'
    assert len(statement) == length
    (problem,) = verdicts.read_cell(statement + "\n").problems
    shown = statement if quoted is None else statement[:quoted] + "..."
    assert problem == f"line 1: `{shown}` {KERNEL_ALONE}" and len(shown) == 60


@pytest.mark.parametrize("source, problem", [
    # a relative import names a module of whatever package the kernel says it is in, not the checks
    ("from .backprop_course.checks.backprop import check_train\n",
     "line 1: `from .backprop_course.checks.backprop import check_train` imports something other than the checks "
     "(only `from backprop_course.checks.<module> import check_x` belongs in a graded test cell)"),
    ("from backprop_course.checks.no_such_module import check_x\n",
     "line 1: the grader cannot import backprop_course.checks.no_such_module (ModuleNotFoundError: "
     "No module named 'backprop_course.checks.no_such_module')"),
    ("from backprop_course.checks.backprop import check_nothing\n",
     "line 1: backprop_course.checks.backprop.check_nothing is not a check (a Check of backprop_course.checks), "
     "so the grader could not judge a call to it"),
    (IMPORT + "train(1)\n",
     "line 2: `train(1)` is not a call of an imported check, so only the student's kernel would judge it"),
    # print runs the student's code when its argument is computed: no longer a harmless print
    (IMPORT + "check_train(train, seed=0)\nprint(train(1))\n",
     "line 3: `print(train(1))` is not a call of an imported check, so only the student's kernel would judge it"),
    (IMPORT + "import backprop_course.checks.backprop as checks\nchecks.check_train(train, seed=0)\n",
     "line 3: `checks.check_train(train, seed=0)` calls a check through a module: import it by name "
     "(`from backprop_course.checks.<module> import check_train`) and call `check_train(…)`"),
    (IMPORT + "check_train(train, *[0])\n",
     "line 2: `check_train(train, *[0])` unpacks its arguments (* or **): write each one out as a literal"),
])
def test_a_refusal_names_the_line_and_the_way_out(source, problem):
    reading = verdicts.read_cell(source)
    assert not reading.covered and problem in reading.problems, reading.problems


def test_pass_is_harmless():
    assert verdicts.read_cell(GOOD + "pass\n").covered


# --- which cells are graded test cells, and the refusal of a notebook --------------------------

@pytest.mark.parametrize("cell, tested", [
    ({"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "solution": False}}}, True),
    # a hand-edited graded cell that no longer says whether it is a solution: judged, not skipped
    ({"cell_type": "code", "metadata": {"nbgrader": {"grade": True}}}, True),
    # a manually graded answer (the student writes it): not a test the grader runs
    ({"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "solution": True}}}, False),
    ({"cell_type": "code", "metadata": {"nbgrader": {"grade": False, "solution": True}}}, False),
    ({"cell_type": "code", "metadata": {"nbgrader": {"solution": False, "locked": True}}}, False),
    ({"cell_type": "markdown", "metadata": {"nbgrader": {"grade": True, "solution": False}}}, False),
    ({"cell_type": "code", "metadata": {}}, False),
    ({"cell_type": "code"}, False),  # a cell stripped of its metadata (a hostile file): no crash
])
def test_a_graded_test_cell_is_a_graded_code_cell_that_is_no_solution(cell, tested):
    assert bool(verdicts.is_test_cell(nbformat.from_dict(cell))) is tested


def test_uncovered_reads_every_test_cell_of_a_notebook():
    def test_cell(source, **nbgrader):
        return new_code_cell(source, metadata={"nbgrader": {"grade": True, "solution": False, **nbgrader}})
    cells = [nbformat.v4.new_markdown_cell("# Exercise"), new_code_cell("x = 1"),
             test_cell(GOOD, grade_id="judged"),
             test_cell("assert train(1) == 2\n", grade_id="plain"),
             new_code_cell("def train(): ...", metadata={"nbgrader": {"grade": False, "solution": True}}),
             test_cell(f"{verdicts.KERNEL_ONLY}\nassert train(1) == 2\n", grade_id="by_hand"),
             test_cell("print('nothing')\n")]  # no grade_id (a hand-edited notebook): refused all the same
    refused, kernel_only = verdicts.uncovered(cells)
    assert refused == [("plain", [f"line 1: `assert train(1) == 2` {KERNEL_ALONE}"]),
                       ("?", ["it calls no check: nothing in it can fail, or be judged by the grader"])]
    assert kernel_only == ["by_hand"]


def test_the_refusal_of_a_notebook_names_each_cell_its_problems_and_the_way_out():
    refused = [("plain", ["line 1: a", "line 2: b"]), ("other", ["it calls no check"])]
    assert verdicts.refusal("source/02_backprop/backprop.ipynb", refused).splitlines() == [
        "source/02_backprop/backprop.ipynb: 2 graded test cell(s) the grader cannot judge on its own (their verdict "
        "would come from the student's kernel, which the student's code controls):",
        "  cell plain:", "    line 1: a", "    line 2: b",
        "  cell other:", "    it calls no check",
        "Write each as `from backprop_course.checks.<module> import check_x` and calls `check_x(Object, literal=…)`, "
        f"or, to have a cell judged by the student's kernel alone on purpose, give it the line `{verdicts.KERNEL_ONLY}`.",
    ]


def test_a_cell_the_grader_cannot_judge_tells_the_student_why_it_scores_nothing():
    problems = verdicts.read_cell("assert True\nassert False\n").problems
    failure = verdicts.cannot_judge(problems)
    assert (failure.output_type, failure.ename) == ("error", "UngradableTestCell")
    assert failure.evalue == ("The grader cannot judge this test cell on its own, so it scores nothing (tell your "
                              f"instructor): line 1: `assert True` {KERNEL_ALONE}; line 2: `assert False` {KERNEL_ALONE}")


def test_at_grading_a_call_whose_arguments_the_check_rejects_is_named_by_its_line():
    """It fails before any probe runs, so no kernel is needed."""
    cell = grading_cell(IMPORT + "\n\ncheck_train(train, seed=0, no_such_argument=1)\n" + GOOD)
    judged(cell)
    (error,) = [o for o in cell.outputs if o.output_type == "error"]
    assert error.ename == "UngradableTestCell"
    assert "line 4: check_train rejects its arguments (TypeError: " in error.evalue and "no_such_argument" in error.evalue
