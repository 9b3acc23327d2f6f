"""The cell tag skip-when-grading (grader/skipping.py): which cells grading skips, decided by
source/ and never by the student's notebook, and the release's refusal of a tag that would
change grading. No kernel here: the grading of tagged notebooks is test_grading's and test_tamper's."""
import copy
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from backprop_course.grader import pipeline
from backprop_course.grader.run import skipping
from backprop_course.grader.judge import verdicts
from backprop_course.grader.config import configure
from backprop_course.grader.run.execute import GradingExecute
from backprop_course.grader.run.preprocessors import RequireSkippableDemos, UnskippableDemos

from grading_helpers import course_copy
from project import ROOT

BIN = Path(sys.executable).parent
#: the demonstration cells of each assignment, which no test needs: training runs and plots
DEMOS = {"01_neuron": {"activations_plot", "neuron_demo"},
         "02_backprop": {"neuron_backward_demo", "train_demo", "train_demo_scaled", "network_demo"},
         "03_vectorised": {"grad_check_demo", "training_demo"}}


def source(assignment):
    return nbformat.read(next((ROOT / "source" / assignment).glob("*.ipynb")), as_version=4)


def by_id(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def cell(source_code, grade_id=None, tags=(), **nbgrader):
    made = new_code_cell(source_code)
    if grade_id:
        made.metadata.nbgrader = {"grade_id": grade_id, "locked": True, "grade": False, "solution": False,
                                  "schema_version": 3, **nbgrader}
    if tags:
        made.metadata.tags = list(tags)
    return made


def demo(source_code, grade_id="demo"):
    return cell(source_code, grade_id, tags=[skipping.TAG])


@pytest.mark.parametrize("assignment", sorted(DEMOS))
def test_the_demonstrations_of_source_are_tagged_and_nothing_that_runs_needs_them(assignment):
    nb = source(assignment)
    assert set(skipping.demos(nb.cells)) == DEMOS[assignment]
    assert skipping.refusals(nb.cells) == []
    # released as they are: the students' notebook keeps them, tag and all
    released = by_id(nbformat.read(next((ROOT / "release" / assignment).glob("*.ipynb")), as_version=4))
    for grade_id in DEMOS[assignment]:
        assert skipping.is_tagged(released[grade_id]) and released[grade_id].source == by_id(nb)[grade_id].source


def test_a_cell_reading_a_name_only_a_skipped_cell_defines_is_refused_naming_both():
    cells = [cell("import numpy as np", "setup"), demo("history = [1, 2]\nimport math", "train_demo"),
             cell("print(history[-1], math.pi)", "test_loss", grade=True, points=1)]
    (history, math) = skipping.refusals(cells)
    assert history.startswith("test_loss reads `history`, which only train_demo defines before it") and "tagged" in history
    assert math.startswith("test_loss reads `math`, which only train_demo defines before it")
    # defined by a cell that runs, before: fine; after it only: refused all the same
    assert skipping.refusals([cell("history = []", "given"), *cells[1:2], cell("print(history, math)")]) == [
        "cell 3 reads `math`, which only train_demo defines before it, and train_demo is tagged skip-when-grading: "
        "at grading cell 3 would fail. Define `math` in a cell that runs when grading, or take the tag off train_demo"]
    assert len(skipping.refusals([*cells, cell("history = []\nimport math", "given")])) == 2
    # a skipped cell may read another's names: neither runs
    assert skipping.refusals([*cells[:2], demo("print(history)", "plot")]) == []


def test_a_name_read_inside_a_function_a_class_or_a_comprehension_counts_and_a_parameter_does_not():
    skipped = demo("inputs, t, scale = [1, 2], 1.0, 2", "train_demo")
    assert skipping.refusals([skipped, cell("def f(inputs, t=0):\n    return inputs, t\n")]) == []
    for code in ("def f():\n    return inputs\n", "class C:\n    w = t\n", "ys = [k * scale for k in range(3)]\n",
                 "def f():\n    def g():\n        return t\n    return g\n"):
        (refused,) = skipping.refusals([skipped, cell(code, "given_code")])
        assert refused.startswith("given_code reads `") and "train_demo" in refused, code
    # a global statement defines the name for the cells after it
    assert skipping.refusals([skipped, cell("def f():\n    global t\n    t = 1.0\nf()"), cell("print(t)")]) == []


def test_magics_are_read_as_the_kernel_reads_them_and_a_cell_that_is_no_python_is_refused():
    assert skipping.names("%matplotlib inline\nx = 1\n!ls\n") == ({"x"}, {"get_ipython"})
    (refused,) = skipping.refusals([demo("x = 1"), cell("def broken(:\n", "train")])
    assert refused.startswith("train is not Python (") and skipping.TAG in refused


@pytest.mark.parametrize("where, why", [
    ({"grade": True, "points": 2}, "it is graded"),
    ({"solution": True}, "it holds the student's solution"),
    ({"locked": False}, "it is not read-only"),
])
def test_a_tag_on_anything_but_a_read_only_demonstration_is_refused(where, why):
    tagged = cell("print(1)", "test_x", tags=[skipping.TAG], **where)
    (refused,) = skipping.refusals([tagged])
    assert refused.startswith(f"test_x is tagged {skipping.TAG}, but {why}"), refused
    assert skipping.demos([tagged]) == {}


def test_what_grading_skips_is_decided_by_source_never_by_the_students_notebook():
    nb = source("02_backprop")
    trusted = skipping.demos(nb.cells)
    cells = by_id(copy.deepcopy(nb))
    assert skipping.skips(trusted, cells["train_demo"])
    # the student took the tag off: still skipped (the cell is the instructor's, and source/ tags it)
    del cells["train_demo"].metadata["tags"]
    assert skipping.skips(trusted, cells["train_demo"])
    # the student tagged a test cell, their own code, and the setup: each runs
    for grade_id in ("test_train_multi_sample_sgd", "train_multi_sample", "setup"):
        cells[grade_id].metadata["tags"] = [skipping.TAG]
        assert not skipping.skips(trusted, cells[grade_id]), grade_id
    # a demonstration whose source is not source/'s, or that claims to be graded: runs
    edited = copy.deepcopy(cells["network_demo"])
    edited.source += "\nprint('mine')"
    claimed = copy.deepcopy(cells["network_demo"])
    claimed.metadata.nbgrader.update(grade=True, points=1)
    assert not skipping.skips(trusted, edited) and not skipping.skips(trusted, claimed)


def grading_execute(skip_demos=True):
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(ROOT)
    c.GradingExecute.skip_demos = skip_demos
    execute = GradingExecute(config=c)
    execute.resources = {"nbgrader": {"assignment": "02_backprop", "notebook": "backprop"}}
    return execute


def test_grading_execute_skips_the_demonstrations_of_source_without_a_kernel_and_says_so():
    cells = by_id(source("02_backprop"))
    execute = grading_execute()
    for grade_id, tagged in cells.items():
        if tagged.cell_type != "code":
            continue
        ran = copy.deepcopy(tagged)
        assert execute.skipped_when_grading(ran) == (grade_id in DEMOS["02_backprop"]), grade_id
    skipped = copy.deepcopy(cells["train_demo"])
    execute.reset()
    execute.nb = source("02_backprop")
    assert execute.preprocess_cell(skipped, execute.resources, 13) == (skipped, execute.resources)  # no kernel started
    assert [o.text for o in skipped.outputs] == [skipping.NOTE]
    # the opt-out runs every cell, and a notebook source/ does not hold skips nothing
    assert not grading_execute(skip_demos=False).skipped_when_grading(copy.deepcopy(cells["train_demo"]))
    execute.resources = {"nbgrader": {"assignment": "02_backprop", "notebook": "no-such-notebook"}}
    assert not execute.skipped_when_grading(copy.deepcopy(cells["train_demo"]))


def broken_source(course):
    """A copy of the course whose 02 test cell reads the demo's ``history``."""
    course_copy(course)
    path = course / "source" / "02_backprop" / "backprop.ipynb"
    nb = nbformat.read(path, as_version=4)
    test = by_id(nb)["test_multi_output_network_train"]
    test.source = f"{verdicts.KERNEL_ONLY}\nassert len(history) > 0\n" + test.source  # a form release admits
    nbformat.write(nb, path)
    return nb


def test_make_release_refuses_a_test_that_needs_a_skipped_cell_naming_both(tmp_path, nbgrader_env, monkeypatch):
    course = tmp_path / "course"
    nb = broken_source(course)
    before = {p: p.read_bytes() for p in (course / "release").rglob("*") if p.is_file()}
    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    with pytest.raises(SystemExit) as refused:
        pipeline.Course(root=course).release()
    said = str(refused.value)
    assert said.startswith("release/ not made:\nsource/02_backprop/backprop.ipynb: test_multi_output_network_train "
                           "reads `history`, which only train_demo defines before it"), said
    assert {p: p.read_bytes() for p in (course / "release").rglob("*") if p.is_file()} == before, "release/ changed"
    # nbgrader's own release runs the same check (RequireSkippableDemos), placed by configure()
    from traitlets.config import Config

    c = Config()
    configure(c)
    assert RequireSkippableDemos in c.GenerateAssignment.preprocessors
    with pytest.raises(UnskippableDemos, match="test_multi_output_network_train reads `history`"):
        RequireSkippableDemos().preprocess(nb, {"unique_key": "backprop"})
    done = subprocess.run([BIN / "nbgrader", "generate_assignment", "02_backprop", "--force"], cwd=course,
                          env=nbgrader_env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "train_demo" in done.stdout + done.stderr, done.stderr[-3000:]
