"""No answer in what the lectures give a student: the lecture package, and the lecture notebooks' code.

1. ``backprop_course.lectures`` is installed for every student (the lecture kernels import it). None
   of its callables, whatever its name, may pass an exercise's public tests (issue 23).
2. A lecture teaches an exercise; it does not hold its answer for copying (issue 25, "transfer, not
   transcription"): no function or class a lecture notebook defines passes all the public tests of an
   exercise that the student has still to do after that lecture (an assignment is practised after the
   lectures that link to it: assignment 1 after lectures 1-3, 2 after 4-5, 3 after 6, 4 after 7), except the
   formulas every lecture derives and checks in code: assignment 1's sigmoid, ReLU, their
   derivatives and the loss. (The seed lecture's `backward`, quoted in lecture 4, is right for an
   output neuron and wrong for a hidden one: it passes a test of exercise 1, not the exercise.)

How a candidate is judged: each public test cell of source/ (hidden tests cut out) runs with one graded
name bound to the candidate and every other graded name bound to the reference solution (source/'s
solution cells), so the candidate is judged on its own exercise only. It passes when the cell runs
without an exception. A callable whose signature cannot take the exercise's call cannot pass, and is
not run.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import os
import pkgutil
import re
from functools import cache
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import backprop_course.lectures  # noqa: E402

from project import ROOT

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.S)

#: the graded names of each assignment, and how an exercise calls each (to skip what cannot take the call)
GRADED = {
    "01_neuron": {"sigmoid": 1, "relu": 1, "sigmoid_derivative": 1, "relu_derivative": 1, "loss": 2,
                  "loss_derivative": 2, "Neuron": 4},
    "02_backprop": {"Neuron": 4, "train": 6, "Network": 4},
    "03_vectorised": {"dense_forward": 3, "dense_backward": 2, "softmax_cross_entropy": 2, "grad_check": 3,
                      "sgd_epoch": 6},
    "04_autograd": {"grad_check": 3, "Value": 1, "sgd_step": 5, "early_stopping": 5},
}
#: the last lecture before each assignment: a lecture after it may hold its answers
LAST_LECTURE = {"01_neuron": 3, "02_backprop": 5, "03_vectorised": 6, "04_autograd": 7}
#: the formulas every lecture derives and checks: a lecture may define them (assignment 1, exercises 1-3)
FORMULAS = {("01_neuron", name) for name in ("sigmoid", "relu", "sigmoid_derivative", "relu_derivative", "loss",
                                             "loss_derivative")}


def code_definitions(source: str) -> ast.Module:
    """The imports, functions and classes of a cell, without the statements that run anything (but a function
    made a method, ``Value.backward = backward``, as assignment 4 adds backward() to its Value)."""
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%")))
    tree.body = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                                                 ast.ClassDef)) or _attaches_a_method(node)]
    return tree


def _attaches_a_method(node) -> bool:
    return (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Attribute)
            and isinstance(node.targets[0].value, ast.Name) and isinstance(node.value, ast.Name))


def definitions(path: Path, cells=None) -> dict:
    """The names a notebook's code cells define (imports, functions, classes), run in one namespace."""
    namespace = {}
    for cell in cells if cells is not None else nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            exec(compile(code_definitions(cell.source), str(path), "exec"), namespace)
    return namespace


def run(source: str, namespace: dict, label: str) -> bool:
    """True when a test cell runs in ``namespace`` without an exception."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
            exec(compile(source, label, "exec"), namespace)
    except Exception:  # noqa: BLE001 (a candidate may raise anything)
        return False
    return True


def broken(*args, **kwargs):
    raise RuntimeError("a stand-in that is no answer")


@cache
def assignment(name: str):
    """(reference namespace, [(public test source, graded names it tests)]) of an assignment in source/.

    A cell tests a graded name when it fails with that name broken and the others right: the cell of
    dense_backward also calls dense_forward, but a wrong dense_forward does not fail it.
    """
    (path,) = (ROOT / "source" / name).glob("*.ipynb")
    cells = nbformat.read(path, as_version=4).cells
    tests = [c for c in cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    reference = definitions(path, [c for c in cells if c not in tests])
    assert all(g in reference for g in GRADED[name]), "the reference solution is incomplete"
    public = []
    for cell in tests:
        source = HIDDEN.sub("", cell.source)
        used = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)} & set(GRADED[name])
        assert run(source, dict(reference), name), f"the reference fails {name}'s cell {source[:60]!r}"
        tested = sorted(g for g in used if not run(source, dict(reference, **{g: broken}), name))
        public.append((source, tested))
    return reference, public


def takes(candidate, arity: int) -> bool:
    """False when ``candidate`` cannot be called with ``arity`` positional arguments."""
    try:
        inspect.signature(candidate).bind(*range(arity))
    except TypeError:
        return False
    except ValueError:  # no signature (some builtins): try it
        return True
    return True


def passes(candidate, assignment_name: str, graded_name: str) -> list[str]:
    """The public test cells of ``assignment_name`` that ``candidate`` passes in the place of ``graded_name``."""
    reference, public = assignment(assignment_name)
    passed = []
    for source, tested in public:
        if graded_name in tested and run(source, dict(reference, **{graded_name: candidate}), assignment_name):
            passed.append(source.strip().splitlines()[0])
    return passed


def cells_testing(assignment_name: str, graded_name: str) -> int:
    return sum(graded_name in tested for _, tested in assignment(assignment_name)[1])


def answers(candidates: dict, exempt=frozenset(), whole_exercise=False) -> list[str]:
    """Every (candidate, exercise) where a candidate passes a public test (with ``whole_exercise``:
    every public test of that graded name), as readable lines."""
    import matplotlib.pyplot as plt

    found = []
    try:
        for label, candidate in candidates.items():
            for assignment_name, names in GRADED.items():
                for graded_name, arity in names.items():
                    if (assignment_name, graded_name) in exempt or not takes(candidate, arity):
                        continue
                    passed = passes(candidate, assignment_name, graded_name)
                    if whole_exercise and len(passed) < cells_testing(assignment_name, graded_name):
                        continue
                    found += [f"{label} passes {assignment_name}'s {graded_name}: {test}" for test in passed]
    finally:
        plt.close("all")
    return found


def package_callables() -> dict:
    """{'module.name': callable} of every module of backprop_course.lectures, imported names included."""
    found, seen = {}, set()
    modules = [backprop_course.lectures] + [importlib.import_module(m.name) for m in pkgutil.walk_packages(
        backprop_course.lectures.__path__, prefix="backprop_course.lectures.")]
    for module in modules:
        for name, value in vars(module).items():
            if callable(value) and not inspect.ismodule(value) and id(value) not in seen:
                seen.add(id(value))
                found[f"{module.__name__}.{name}"] = value
    return found


# --------------------------------------------------------------------------- the judge can fail

def test_the_reference_passes_and_a_wrong_one_fails():
    """The judge sees an answer: the reference itself passes each exercise, a wrong one does not."""
    for assignment_name, names in GRADED.items():
        reference, _ = assignment(assignment_name)
        for graded_name in names:
            assert passes(reference[graded_name], assignment_name, graded_name), (assignment_name, graded_name)
    assert not passes(lambda net: np.asarray(net) * 0.5, "01_neuron", "sigmoid")
    assert answers({"a correct sigmoid": lambda net: 1 / (1 + np.exp(-np.asarray(net, dtype=float)))}) == [
        "a correct sigmoid passes 01_neuron's sigmoid: from backprop_course.checks.neuron import check_activation"]


# --------------------------------------------------------------------------- the package

def test_the_lecture_package_passes_no_exercise():
    """Every callable of every module of backprop_course.lectures, against every graded exercise."""
    candidates = package_callables()
    assert len(candidates) > 30, sorted(candidates)  # the package was searched, not an empty module
    assert not answers(candidates), "\n".join(answers(candidates))


# --------------------------------------------------------------------------- the lecture notebooks

LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_no_lecture_holds_an_answer_to_copy(path):
    """A lecture's functions and classes answer no exercise beyond assignment 1's formulas."""
    namespace = definitions(path)
    package = {id(v) for v in package_callables().values()}
    candidates = {f"{path.name}: {name}": value for name, value in namespace.items()
                  if callable(value) and not inspect.ismodule(value) and not name.startswith("__")
                  and id(value) not in package}
    lecture = int(path.name[:2])
    done = {(a, g) for a, names in GRADED.items() if LAST_LECTURE[a] < lecture for g in names}
    found = answers(candidates, exempt=FORMULAS | done, whole_exercise=True)
    assert not found, "\n".join(found)
