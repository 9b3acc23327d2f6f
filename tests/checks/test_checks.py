"""Fast unit tests of the checks: no nbgrader, no kernel.

1. Every submission of the catalogue runs through the test cells of source/, in-process: the
   solution cells and the test cells (hidden tests included) are exec'd in notebook order in
   one namespace. Correct submissions pass every test cell; a mistake submission fails every
   test cell of its exercise with a Mistake naming its code (but the cells listed, with the
   reason, in RIGHTLY_PASSING), and passes those of the other exercises.
2. The reference (its Neuron and its training of a network) against the finite-difference
   oracle, and the mistake table: one entry per mistake, each a live deviation of the reference.
3. The oracle's numerical_gradient against a function with a known gradient.
4. core.compare and core.mistake_codes.
"""
from __future__ import annotations

import contextlib
import inspect
import itertools
import io
import json
import os
import re
from functools import cache
from pathlib import Path

import nbformat
import numpy as np
import pytest

from answers.catalogue import CATALOGUE, EXERCISES, build_notebook, reference_cells, source_notebook, strip_markers
import backprop_course.checks as checks
import backprop_course.checks.core as core
import backprop_course.checks.public as checks_public
import answers
from backprop_course.grader.judge import verdicts
from answers import reference
from answers.backprop import net_away_from_kink as _net_away_from_kink, network_problem as _problem, scenario_net as _net
from backprop_course.checks.backprop import (check_network_train, check_neuron_backward_output,
                                             check_train)
from backprop_course.checks.core import (ATOL, MISTAKES, RTOL, Check, Diagnosis, Mistake, Plural, Suspects, WrongAnswer,
                                         compare, is_wrong, mistake_codes)
from backprop_course.checks.observed import plain
from backprop_course.checks.mistakes import STRUCTURAL
from answers.deviations import TABLE, KnownMistake, known
from answers.deviations import clipped_log as _clipped_log, exp_normalised as _exp_normalised, fixed_step as _fixed
from answers.deviations import shifted_log as _shifted_log
from answers.oracle import TwoLayerNet, numerical_gradient, phi
from answers.reference import LECTURE, Equations
from backprop_course.checks.remote import REGISTRY  # every check, registered by their modules
from grading_helpers import NAMED_IF_FAILING, RIGHTLY_PASSING
import autograd_played

#: the reference against the oracle: the oracle's error (≈1e-10) after a few steps,
#: well inside the tolerance the checks allow a student (core.RTOL, core.ATOL)
TRUSTED_RTOL, TRUSTED_ATOL = 1e-7, 1e-9

#: every deviation of the table: (code, the equations it replaces)
DEVIATIONS = [(entry.code, deviation) for entry in TABLE for deviation in entry.deviations]

BY_NAME = {s.name: s for s in CATALOGUE}


# --- 1. the catalogue through the test cells ---------------------------------------------

def _meta(cell):
    return cell.metadata.get("nbgrader", {})


def exercise_of(assignment, test_id):
    """The exercise a test cell grades: the longest exercise grade_id that test_<id> starts with."""
    matches = [e for e in EXERCISES[assignment] if test_id.startswith(f"test_{e}")]
    assert matches, f"test cell {test_id} grades none of {EXERCISES[assignment]}"
    return max(matches, key=len)


HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


#: course secrets the catalogue is graded under (None: the seeds as written): every mistake must be
#: named whatever inputs a course's secret draws for the hidden tests
SECRETS = [None, bytes.fromhex("5e" * 32), b"another course's secret, 32 byte"]


def with_secret(source, secret):
    """A test cell's source with each hidden call's seed replaced by the one ``secret`` derives, as the grader does."""
    if secret is None:
        return source
    lines = source.splitlines()
    for call in verdicts.read_cell(source).calls:
        if call.hidden:
            _, derived = answers.hidden_arguments(secret, call.check.name, call.args, call.kwargs)
            line = lines[call.line - 1]
            assert line.count(f"seed={call.kwargs['seed']},") + line.count(f"seed={call.kwargs['seed']})") == 1, line
            lines[call.line - 1] = re.sub(rf"\bseed={call.kwargs['seed']}\b", f"seed={derived['seed']}", line)
    return "\n".join(lines)


@cache
def run(name, public=False, secret=None):
    """{test cell grade_id: the exception it raised, or None} for one submission.

    public=False judges every call as the grader does: on the case the answers compute (a
    hidden call on its written seed), with trusted stand-ins. public=True runs the test cells as
    the released notebook has them, without the hidden tests, in the student's kernel: on the
    recorded public cases (``backprop_course/checks/public/``). The given code cells run in both (04's
    Value calls the given unbroadcast).
    """
    submission = BY_NAME[name]
    namespace = {"__name__": "__main__"}
    exec("import numpy as np", namespace)
    results = {}
    as_graded = contextlib.nullcontext() if public else _without_recorded_cases()
    with contextlib.redirect_stdout(io.StringIO()), as_graded:
        for cell in source_notebook(submission.assignment).cells:
            meta = _meta(cell)
            if cell.cell_type == "code" and meta.get("grade_id", "").startswith("given"):  # as the kernel runs them
                exec(compile(cell.source, f"<{meta['grade_id']}>", "exec"), namespace)
            if meta.get("solution"):
                exec(compile(submission.cells[meta["grade_id"]], f"<{name}:{meta['grade_id']}>", "exec"), namespace)
            elif meta.get("grade"):
                try:
                    source = HIDDEN_TESTS.sub("", cell.source) if public else with_secret(cell.source, secret)
                    exec(compile(source, f"<{meta['grade_id']}>", "exec"), namespace)
                except Exception as error:  # noqa: BLE001 — a test cell fails on any exception
                    results[meta["grade_id"]] = error
                else:
                    results[meta["grade_id"]] = None
    return results


@contextlib.contextmanager
def _without_recorded_cases():
    """Every case computed by the answers, as at grading (the recorded ones are the student's kernel's)."""
    recorded = checks_public.recorded
    checks_public.recorded = lambda *args: None
    try:
        yield
    finally:
        checks_public.recorded = recorded


def _describe(failures):
    return "\n".join(f"  {cell}: {type(e).__name__}: {e}" for cell, e in failures.items())


@pytest.mark.parametrize("secret", SECRETS, ids=["as-written", "test-secret", "another-secret"])
@pytest.mark.parametrize("submission", CATALOGUE, ids=lambda s: s.name)
def test_submission(submission, secret):
    results = run(submission.name, secret=secret)
    for exercise, code in submission.mistakes.items():
        cells = {cell: e for cell, e in results.items() if exercise_of(submission.assignment, cell) == exercise}
        assert cells, f"no test cell grades {exercise}"
        failures = {cell: e for cell, e in cells.items() if e is not None}
        if not code:
            assert not failures, f"{exercise} is right but loses points:\n{_describe(failures)}"
            continue
        passing = RIGHTLY_PASSING.get(submission.name, {})
        for cell, error in cells.items():
            if cell in passing and (error is None or (submission.name, cell) not in NAMED_IF_FAILING):
                assert error is None, f"{cell} should pass ({passing[cell]}):\n{_describe({cell: error})}"
            else:
                assert isinstance(error, (Mistake, Diagnosis)) and error.code == code, (
                    f"{exercise} has [{code}]: {cell} must fail naming it, but "
                    + ("passes" if error is None else f"fails with\n{_describe({cell: error})}"))


def test_the_rightly_passing_cells_exist():
    for name, cells in RIGHTLY_PASSING.items():
        sub = BY_NAME[name]
        (exercise,) = [e for e, code in sub.mistakes.items() if code]
        assert set(cells) <= {c for c in run(name) if exercise_of(sub.assignment, c) == exercise}, name


#: Exercise 1 answers written with lecture 4's vector update, self.weights − η·δ·self.o_i
LECTURE_4_STYLE = ["02-reference", "02-correct-lecture-4", "02-correct-in-place", "02-correct-generator-sum"]


@pytest.mark.parametrize("name", LECTURE_4_STYLE)
def test_lecture_4s_update_passes_the_public_tests(name):
    """The public tests pass lists; the given forward and constructor store arrays, so the
    natural vector update works (issue 16, item 1: it raised TypeError on a list o_i)."""
    assert "self.weights - learning_rate * self.delta_j * self.o_i" in BY_NAME[name].cells["neuron_backward"] \
        or "self.weights -= learning_rate * self.delta_j * self.o_i" in BY_NAME[name].cells["neuron_backward"]
    public = "\n".join(HIDDEN_TESTS.sub("", c.source) for c in source_notebook("02_backprop").cells if _meta(c).get("grade"))
    assert "x=[1, 2, 3]" in public, "the public tests no longer pass the inputs as a list"
    failures = {cell: e for cell, e in run(name, public=True).items() if e is not None}
    assert not failures, _describe(failures)


#: assignments whose every catalogue mistake must be caught, and named, by a public test
PUBLICLY_CAUGHT = ("01_neuron", "02_backprop", "03_vectorised", "04_autograd")


@pytest.mark.parametrize("submission", [s for s in CATALOGUE if not s.correct and s.assignment in PUBLICLY_CAUGHT],
                         ids=lambda s: s.name)
def test_each_mistake_fails_a_public_test_that_names_it(submission):
    """A student learns of a mistake before grading (issue 16, item 5: a ReLU mistake passed every public test)."""
    (exercise, code), = [(e, c) for e, c in submission.mistakes.items() if c]
    results = run(submission.name, public=True)
    named = {cell: e.code for cell, e in results.items()
             if isinstance(e, (Mistake, Diagnosis)) and exercise_of(submission.assignment, cell) == exercise}
    assert code in named.values(), \
        f"no public test of {exercise} names [{code}]:\n{_describe({c: e for c, e in results.items() if e})}"


def test_relu_backward_has_a_public_test():
    cell = next(c for c in source_notebook("02_backprop").cells if _meta(c).get("grade_id") == "test_neuron_backward_relu")
    assert 'activation="relu"' in HIDDEN_TESTS.sub("", cell.source) and "reveal=True" in cell.source
    relu_mistakes = [s.name for s in CATALOGUE if s.mistakes.get("neuron_backward") == "relu-with-sigmoid-derivative"]
    assert relu_mistakes
    for name in relu_mistakes:
        error = run(name, public=True)["test_neuron_backward_relu"]
        assert isinstance(error, Mistake) and error.code == "relu-with-sigmoid-derivative", error


def namespace_of(name):
    """The notebook's names after a submission's solution cells have run."""
    submission, namespace = BY_NAME[name], {"__name__": "__main__"}
    exec("import numpy as np", namespace)
    for exercise in EXERCISES[submission.assignment]:
        exec(compile(submission.cells[exercise], f"<{name}:{exercise}>", "exec"), namespace)
    return namespace


def _loop_mistakes():
    """The catalogue's mistakes in a training loop: train()'s, and Network's whose one backward()
    step is right (so the mistake is in Network.train)."""
    for s in CATALOGUE:
        if s.mistakes.get("train_multi_sample"):
            yield s.name, "train", s.mistakes["train_multi_sample"]
        elif "test_multi_output_network_backward" in RIGHTLY_PASSING.get(s.name, {}):
            yield s.name, "Network", s.mistakes["multi_output_network"]


#: (code named instead, the code made, when): scenarios where two mistakes give the same numbers
TIES = {
    ("loss-no-half", "loss-not-averaged"): lambda n, epochs: n == 2,           # Σ of 2 losses = 2 × their mean
    ("epochs-off-by-one", "return-inside-epoch-loop"): lambda n, epochs: epochs == 2,   # range(1, 2): one epoch
}


@pytest.mark.parametrize("name,trains,code", list(_loop_mistakes()), ids=lambda v: v if isinstance(v, str) else "")
def test_training_loop_mistakes_are_named_in_every_scenario_that_tells_them_apart(name, trains, code):
    """Issue 16, item 7: the off-by-one sample loop was named with 2 samples only, and other loop
    mistakes not at all. Each is named with 2, 3 and 5 samples and 2 to 4 epochs, but where
    another mistake gives the very same numbers (TIES)."""
    student = namespace_of(name)
    for n, epochs in itertools.product((2, 3, 5), (2, 3, 4)):
        with pytest.raises(Mistake) as named:
            if trains == "train":
                check_train(student["train"], seed=3, epochs=epochs, learning_rate=0.4, n_samples=n)
            else:
                check_network_train(student["Network"], seed=3, epochs=epochs, learning_rate=0.4, n_samples=n)
        said = named.value.code
        assert said == code or TIES.get((said, code), lambda *_: False)(n, epochs), \
            f"{n} samples, {epochs} epochs: {named.value}"


def test_the_ties_are_real():
    """Where TIES lets one mistake be named for another, the two replay to the same numbers, and
    nowhere else: a tie is no excuse for a scenario that could tell them apart."""
    by_code = {entry.code: entry for entry in TABLE}
    net, theta, inputs, targets = problem(3, 3, 2, 1, 5, "sigmoid")

    def replays(code, n, epochs):
        return [np.concatenate(reference_training(net, theta, inputs[:n], targets[:n], epochs, 0.4, Equations(**d)))
                for d in by_code[code].deviations]

    for (said, made), when in TIES.items():
        for n, epochs in itertools.product((2, 3, 5), (2, 3, 4)):
            same = any(a.shape == b.shape and np.allclose(a, b, rtol=RTOL, atol=ATOL)
                       for a in replays(said, n, epochs) for b in replays(made, n, epochs))
            assert same == when(n, epochs), f"[{said}] and [{made}] with {n} samples, {epochs} epochs"


def test_checks_put_the_students_activations_back():
    """check_derivative runs the student's code with trusted activations, and must restore them."""
    from backprop_course.checks.neuron import check_derivative
    namespace = {}
    exec("import numpy as np", namespace)
    for name in ("01-activations-sigmoid-math", "01-derivatives-of-net"):
        for exercise in ("activations", "derivatives"):
            exec(BY_NAME[name].cells[exercise], namespace)
        student_sigmoid = namespace["sigmoid"]
        with contextlib.suppress(Mistake):
            check_derivative(namespace["sigmoid_derivative"], "sigmoid", nets=[0.0, 1.0, -2.0])
        assert namespace["sigmoid"] is student_sigmoid


def test_a_mistake_is_one_table_entry_and_a_catalogue_submission():
    """How to add a mistake (checks/mistakes.py): an entry in the table and a submission in the
    catalogue. test_submission then requires a test cell of its exercise to name it. A catalogue
    submission may instead expect a structural diagnosis (a mistake no replay can make: np.random's
    order), which has no entry."""
    codes = [entry.code for entry in TABLE]
    assert len(codes) == len(set(codes)), "one entry per mistake"
    assert list(MISTAKES) == codes and checks.MISTAKES is MISTAKES
    assert not set(MISTAKES) & set(STRUCTURAL), "a code is a known mistake's or a structural diagnosis's"
    submitted = {code for s in CATALOGUE for code in s.mistakes.values() if code}
    assert set(codes) <= submitted, f"entries without a catalogue submission: {sorted(set(codes) - submitted)}"
    assert submitted <= set(codes) | set(STRUCTURAL), \
        f"catalogue codes without an entry: {sorted(submitted - set(codes) - set(STRUCTURAL))}"


def test_checks_name_no_mistake_themselves():
    """Every code is named through the table: no check module spells one out."""
    folder = Path(checks.__file__).parent
    for module in sorted(folder.glob("*.py")):
        if module.name == "mistakes.py":
            continue
        text = module.read_text(encoding="utf-8")
        spelt = [code for code in MISTAKES if f'"{code}"' in text or f"'{code}'" in text]
        assert not spelt, f"{module.name} names {spelt}: name a mistake by its deviation in the table"


def test_catalogue_has_three_correct_styles_per_exercise():
    for assignment, exercises in EXERCISES.items():
        correct = [s for s in CATALOGUE if s.assignment == assignment and s.correct and not s.name.endswith("reference")]
        for exercise in exercises:
            styles = {s.cells[exercise] for s in correct} - {strip_markers(reference_cells(assignment)[exercise])}
            assert len(styles) >= 3, f"{assignment}/{exercise}: {len(styles)} correct styles besides the reference"


def test_mistake_submissions_change_one_exercise():
    for s in CATALOGUE:
        if s.correct:
            continue
        reference = reference_cells(s.assignment)
        (wrong,) = [e for e, code in s.mistakes.items() if code]
        for exercise in EXERCISES[s.assignment]:
            same = s.cells[exercise] == strip_markers(reference[exercise])
            assert same == (exercise != wrong), f"{s.name}: {exercise}"


def test_build_notebook():
    submission = BY_NAME["02-neuron-hidden-no-phi-prime"]
    for hidden in (True, False):
        nb = build_notebook(submission, hidden_tests=hidden)
        nbformat.validate(nb)
        solutions = {_meta(c)["grade_id"]: c.source for c in nb.cells if _meta(c).get("solution")}
        assert solutions == submission.cells
        assert all(not c.outputs for c in nb.cells if c.cell_type == "code")
        tests = "".join(c.source for c in nb.cells if _meta(c).get("grade"))
        assert ("BEGIN HIDDEN TESTS" in tests) == hidden
        assert "check_neuron_backward_output(Neuron" in tests


# --- 2. the reference against the oracle, and the mistake table ----------------------------

@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_output_neuron_matches_finite_differences(activation, seed):
    rng = np.random.default_rng(seed)
    x, w, b = _net_away_from_kink(rng, 3, activation, positive=True)
    t, lr = rng.uniform(0, 1), 0.3

    def e(theta):
        return 0.5 * (t - phi(x @ theta[:-1] + theta[-1], activation)) ** 2

    grad = numerical_gradient(e, np.append(w, b))
    neuron = reference.Neuron(3, w, b, activation)
    y_hat = neuron.forward(x)
    assert np.isclose(y_hat, phi(x @ w + b, activation), rtol=TRUSTED_RTOL)
    neuron.backward(t=t, y_hat=y_hat, learning_rate=lr, output_neuron=True)
    np.testing.assert_allclose(neuron.delta_j, grad[-1], rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    np.testing.assert_allclose(neuron.weights, w - lr * grad[:-1], rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    np.testing.assert_allclose(neuron.bias, b - lr * grad[-1], rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)


@pytest.mark.parametrize("activation,positive", [("sigmoid", None), ("relu", True), ("relu", False)])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_reference_hidden_neuron_matches_finite_differences(activation, positive, n_outputs):
    """A hidden neuron feeding n_outputs sigmoid outputs: δ_l and δ_j are ∂e/∂b_l and ∂e/∂b_j."""
    rng = np.random.default_rng(7 + n_outputs)
    x, w, b = _net_away_from_kink(rng, 3, activation, positive)
    w_l, others, t_l = rng.normal(0, 1, n_outputs), rng.normal(0, 1, n_outputs), rng.uniform(0, 1, n_outputs)
    b_l, lr = rng.uniform(-0.5, 0.5, n_outputs), 0.25

    def e(theta):  # θ = [w (3), b, b_l (L)]
        o_j = phi(x @ theta[:3] + theta[3], activation)
        return 0.5 * np.sum((t_l - phi(w_l * o_j + others + theta[4:], "sigmoid")) ** 2)

    grad = numerical_gradient(e, np.concatenate([w, [b], b_l]))
    neuron = reference.Neuron(3, w, b, activation)
    neuron.forward(x)
    neuron.backward(delta_l=grad[4:], w_l=w_l, learning_rate=lr)
    np.testing.assert_allclose(neuron.delta_j, grad[3], rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    np.testing.assert_allclose(neuron.weights, w - lr * grad[:3], rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    np.testing.assert_allclose(neuron.bias, b - lr * grad[3], rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    if positive is False:
        assert neuron.delta_j == 0.0


SGD_CASES = [  # activation, hidden, outputs, samples, epochs, learning rate, seed
    ("sigmoid", 2, 1, 2, 3, 0.1, 0),
    ("sigmoid", 3, 3, 3, 4, 0.7, 71),
    ("sigmoid", 3, 4, 1, 1, 0.6, 61),
    ("relu", 2, 1, 4, 3, 0.05, 42),
    ("relu", 3, 2, 2, 2, 0.2, 72),
]


def problem(seed, m, J, L, n, activation):
    s = _problem(seed, m, J, L, n, activation)
    return _net(s), np.asarray(s["theta"]), np.asarray(s["inputs"]), np.asarray(s["targets"])


def reference_training(net, theta, inputs, targets, epochs, lr, equations=LECTURE):
    hidden, outputs = reference.layers(net, theta, equations)
    history = reference.train(hidden, outputs, inputs, targets, epochs, lr, equations)
    return reference.parameters(net, hidden, outputs), history


@pytest.mark.parametrize("activation,J,L,n,epochs,lr,seed", SGD_CASES)
def test_reference_training_is_sgd_on_numerical_gradients(activation, J, L, n, epochs, lr, seed):
    net, theta, inputs, targets = problem(seed, 3, J, L, n, activation)
    theta_ref, history_ref = reference_training(net, theta, inputs, targets, epochs, lr)
    theta_sgd, history_sgd = net.sgd(theta, inputs, targets, epochs, lr)
    assert len(history_ref) == epochs
    np.testing.assert_allclose(history_ref, history_sgd, rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    np.testing.assert_allclose(theta_ref, theta_sgd, rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    assert not np.allclose(theta_sgd, theta), "training must move θ, or the comparison proves nothing"


@pytest.mark.parametrize("code,deviation", DEVIATIONS, ids=[f"{c}-{'+'.join(d)}" for c, d in DEVIATIONS])
def test_every_deviation_names_equations_of_the_reference(code, deviation):
    """A wrong version takes the arguments of the equation it replaces."""
    for name, wrong in deviation.items():
        right = getattr(Equations, name, None)
        assert callable(right), f"[{code}]: {name!r} is not an equation of reference.Equations"
        expected = list(inspect.signature(right).parameters)[1:]  # without self
        assert list(inspect.signature(wrong).parameters) == expected, f"[{code}]: {name} takes {expected}"
    with pytest.raises(TypeError, match="not an equation"):
        Equations(no_such_equation=lambda: 0)


def _outcomes(eq):
    """What the reference computes, with ``eq``, in each place a check replays it: a value, or the
    type of the error it raises. A new equation of reference.Equations gets a case here."""
    nets, t, y_hat = np.array([-1.5, -0.4, 0.5, 2.0]), np.array([1.0, 0.0, 0.7]), np.array([0.6, 0.2, 0.9])
    net, theta, inputs, targets = problem(5, 3, 3, 3, 3, "sigmoid")
    cases = {}
    for activation in ("sigmoid", "relu"):
        cases[f"{activation} on an array"] = lambda a=activation: eq.phi(nets, a)
        cases[f"{activation}′ on an array"] = lambda a=activation: eq.phi_prime(nets, phi(nets, a), a)
        cases[f"{activation} output neuron"] = lambda a=activation: _neuron_step(eq, a, t=0.3, output_neuron=True)
        cases[f"{activation} hidden neuron"] = lambda a=activation: _neuron_step(eq, a, delta_l=[0.2, -0.5, 0.3],
                                                                                  w_l=[0.4, 0.9, -1.1])
    cases["loss"] = lambda: eq.loss(t, y_hat)
    cases["loss′"] = lambda: eq.loss_derivative(t, y_hat)
    cases["Neuron(weights=array)"] = lambda: reference.Neuron(3, np.ones(3), 0.5, equations=eq).weights
    cases["Neuron(bias=0)"] = lambda: reference.Neuron(3, [1.0, 1.0, 1.0], 0, equations=eq).bias
    cases["epochs"] = lambda: eq.epochs(2)
    if eq.epochs(2) == 2:  # ("epochs-ignored" is told by the count alone, as in the checks)
        cases["training"] = lambda: np.concatenate(reference_training(net, theta, inputs, targets, 2, 0.3, eq))
    # 03_vectorised: a batch through the dense layer, softmax with cross-entropy (around ±1000 too),
    # the gradient check at the default h and at a large one, and one mini-batch epoch
    rng = np.random.default_rng(9)
    x, W, b, dout = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5), rng.normal(size=(4, 5))
    logits, labels = rng.normal(0, 2, (4, 3)), np.array([0, 2, 1, 2])
    large = logits + [[1000.0], [-1000.0], [0.0], [0.0]]
    large[2, labels[2]] -= 800.0
    cases["dense layer"] = lambda: _flat(reference.dense_forward(x, W, b, eq)[0],
                                         *reference.dense_backward(dout, (x, W, b), eq))
    cases["softmax with cross-entropy"] = lambda: _flat(*reference.softmax_cross_entropy(logits, labels, eq))
    cases["softmax with cross-entropy at ±1000"] = lambda: _flat(*reference.softmax_cross_entropy(large, labels, eq))
    for h in (1e-5, 0.1):  # 0.1: a step set inside grad_check shows against a large h
        cases[f"grad_check, h = {h}"] = lambda h=h: _grad_check_case(eq, x, h)
    cases["mini-batch epoch"] = lambda: _epoch_case(eq)
    cases.update(autograd_played.outcomes(eq))  # 04_autograd
    outcomes = {}
    with np.errstate(all="ignore"):  # derivative-of-net diverges, as it does in the checks
        for case, compute in cases.items():
            try:
                outcomes[case] = np.asarray(compute(), dtype=float)
            except Exception as error:  # noqa: BLE001
                outcomes[case] = type(error).__name__
    return outcomes


def _flat(*arrays):
    return np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays])


def _grad_check_case(eq, x, h):
    """The gradient of a curved f, and x after grad_check."""
    x = x.copy()
    grad = reference.grad_check(lambda v: float(np.sum(np.sin(3 * v)) + np.sum(v) ** 2), x, h, eq)
    return _flat(grad, x)


def _epoch_case(eq):
    """One epoch of 10 samples in batches of 4 (the last holds 2): the params after it and its loss."""
    rng = np.random.default_rng(11)
    params = {"W1": rng.normal(size=(3, 5)), "b1": rng.normal(size=5), "W2": rng.normal(size=(5, 3)),
              "b2": rng.normal(size=3)}
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 3, 10)
    loss = reference.sgd_epoch(params, X, y, 4, 0.5, np.random.default_rng(12), eq)
    return _flat(*(params[k] for k in ("W1", "b1", "W2", "b2")), loss)


def _neuron_step(eq, activation, **backward):
    neuron = reference.Neuron(3, [0.5, -0.3, 0.8], 0.2, activation, equations=eq)
    out = neuron.forward([1.0, 0.5, 0.25])
    neuron.backward(y_hat=out if backward.get("output_neuron") else None, learning_rate=0.3, **backward)
    return np.concatenate([[out, neuron.delta_j, neuron.bias], neuron.weights])


@pytest.mark.parametrize("eps", [1e-15, 1e-12, 1e-10])
def test_a_log_of_a_clipped_or_shifted_y_hat_is_right_but_where_y_hat_underflows(eps):
    """03's log-softmax mistakes (made by factories when the table is built): the reference's
    log ŷ where ŷ is far above ε, about log ε where ŷ underflows (the right value is −800, −1600)."""
    z = np.array([[0.0, 1.0, 2.0], [800.0, 0.0, -800.0]])
    right = LECTURE.log_softmax(z)
    for wrong in (_clipped_log(eps)(z), _shifted_log(eps)(z)):
        np.testing.assert_allclose(wrong[0], right[0], rtol=TRUSTED_RTOL)
        assert wrong[1, 0] == pytest.approx(right[1, 0], abs=TRUSTED_ATOL)
        np.testing.assert_allclose(wrong[1, 1:], np.log(eps), rtol=TRUSTED_RTOL)
        assert np.all(right[1, 1:] < np.log(eps) - 100)


def test_a_softmax_without_the_max_is_right_until_exp_overflows():
    """softmax-overflow's ŷ (made by _exp_normalised): each row's own softmax, e^z / Σ e^z, for
    moderate logits (rows of unlike scale: a sum over the batch would show), nan once e^z is inf."""
    z = np.array([[0.0, 1.0, 2.0], [-3.0, 5.0, 0.5]])
    by_hand = np.exp(z) / np.exp(z).sum(axis=1)[:, None]
    np.testing.assert_allclose(by_hand[0], [0.09003057, 0.24472847, 0.66524096], rtol=1e-7)
    np.testing.assert_allclose(_exp_normalised(z), by_hand, rtol=TRUSTED_RTOL)
    with np.errstate(over="ignore", invalid="ignore"):
        overflowed = _exp_normalised(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.isnan(overflowed[0, 0]) and np.all(np.isfinite(LECTURE.softmax(np.array([[1000.0, 0.0, -1000.0]]))))


def test_a_fixed_finite_step_ignores_the_step_passed():
    for step in (1e-3, 1.0):
        assert [_fixed(step)(h) for h in (1e-5, 0.5, step)] == [step] * 3
        assert LECTURE.finite_step(1e-5) == 1e-5  # the reference takes the h it is given


@pytest.mark.parametrize("code,deviation", DEVIATIONS, ids=[f"{c}-{'+'.join(d)}" for c, d in DEVIATIONS])
def test_every_deviation_changes_what_the_reference_computes(code, deviation):
    """A deviation that coincides with the reference everywhere could never be named."""
    right, wrong = _outcomes(LECTURE), _outcomes(Equations(**deviation))
    assert all(isinstance(v, np.ndarray) for v in right.values()), right
    differ = [case for case in right if isinstance(wrong.get(case), str)
              or np.shape(wrong.get(case, np.nan)) != np.shape(right[case])   # a history of another length
              or not np.allclose(wrong.get(case, np.nan), right[case], rtol=RTOL, atol=ATOL)]
    assert differ, (f"[{code}] {sorted(deviation)} changes nothing the checks replay "
                    "(for a new equation, add a case that uses it to _outcomes)")


@cache
def check_calls():
    """(check name, objects' names, other arguments, keyword arguments) of every check call in
    the test cells of source/, hidden ones included."""
    calls = []
    for assignment in EXERCISES:
        for cell in source_notebook(assignment).cells:
            if not _meta(cell).get("grade"):
                continue
            record = {name: (lambda name: lambda *a, **k: calls.append((name, a, k)))(name) for name in REGISTRY}
            namespace = _Names(record, print=lambda *a: None)
            code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("from backprop_course"))
            exec(code, {"__builtins__": {}}, namespace)
    return [(name, args[:REGISTRY[name].objects], args[REGISTRY[name].objects:], kwargs) for name, args, kwargs in calls]


class _Names(dict):
    """A test cell's namespace where every student object is its own name (recorded, not called)."""

    def __missing__(self, key):
        return key


def played_by(eq):
    """A student whose every answer is the reference's with ``eq``: the objects the test cells pass
    (a new assignment adds its own, built on its equations)."""
    class Neuron(reference.Neuron):
        def __init__(self, inputsize=3, weights=None, bias=None, activation="sigmoid"):
            super().__init__(inputsize, weights, bias, activation, equations=eq)

    def own(neurons):  # the checks hand train() and Network reference neurons: make them the student's
        for neuron in neurons:
            neuron.equations = eq

    def train(hidden, output, inputs, targets, epochs=1000, learning_rate=0.1):
        own(hidden + [output])
        return reference.train(hidden, [output], inputs, [np.array([t]) for t in targets], epochs, learning_rate, eq)

    class Network:
        def __init__(self, inputsize, hidden_size, output_size, activation="sigmoid"):
            self.hidden = [Neuron(inputsize, activation=activation) for _ in range(hidden_size)]
            self.outputs = [Neuron(hidden_size, activation=activation) for _ in range(output_size)]

        def forward(self, x):
            own(self.hidden + self.outputs)
            return reference.forward(self.hidden, self.outputs, x)

        def backward(self, t, learning_rate=0.1):
            own(self.hidden + self.outputs)
            reference.backward(self.hidden, self.outputs, np.asarray(t, float), learning_rate, eq)

        def train(self, inputs, targets, epochs=1000, learning_rate=0.1):
            own(self.hidden + self.outputs)
            return reference.train(self.hidden, self.outputs, inputs, np.asarray(targets, float), epochs,
                                   learning_rate, eq)

    def sgd_epoch(params, X, y, batch_size, learning_rate, rng):
        return reference.sgd_epoch(params, X, y, batch_size, learning_rate, rng, eq)

    return {"sigmoid": lambda net: eq.phi(net, "sigmoid"), "relu": lambda net: eq.phi(net, "relu"),
            "sigmoid_derivative": lambda net: eq.phi_prime(net, phi(net, "sigmoid"), "sigmoid"),
            "relu_derivative": lambda net: eq.phi_prime(net, phi(net, "relu"), "relu"),
            "loss": eq.loss, "loss_derivative": eq.loss_derivative, "Neuron": Neuron, "train": train,
            "Network": Network,
            # 03_vectorised
            "dense_forward": lambda x, W, b: reference.dense_forward(x, W, b, eq),
            "dense_backward": lambda dout, cache: reference.dense_backward(dout, cache, eq),
            "softmax_cross_entropy": lambda logits, y: reference.softmax_cross_entropy(logits, y, eq),
            "grad_check": lambda f, x, h=1e-5: reference.grad_check(f, x, h, eq), "sgd_epoch": sgd_epoch,
            **autograd_played.played_by(eq)}


def played(eq):
    """The outcome of each check call of the test cells, in order, played by ``eq``: None or the error."""
    student = played_by(eq)
    for name, objects, args, kwargs in check_calls():
        missing = [o for o in objects if o not in student]
        assert not missing, f"played_by() has no {missing}: a new assignment's objects go there"
        try:
            REGISTRY[name](*(student[o] for o in objects), *args, **kwargs)
        except Exception as error:  # noqa: BLE001
            yield error
        else:
            yield None


def test_the_reference_played_as_a_student_passes_every_check():
    assert list(played(LECTURE)) == [None] * len(check_calls())
    assert len(check_calls()) > 30


@pytest.mark.parametrize("code,deviation", DEVIATIONS, ids=[f"{c}-{'+'.join(d)}" for c, d in DEVIATIONS])
def test_every_deviation_played_as_a_student_is_named(code, deviation):
    """One entry is enough for a mistake to be named: a student who makes it exactly as the entry
    says (the reference with its deviation, in every exercise) is named by at least one check
    call. Other codes may be named where both give the same results (a sign flipped in δ or in
    the update moves a trained network the same way)."""
    if not any(isinstance(error, Mistake) and error.code == code for error in played(Equations(**deviation))):
        said = [str(error)[:100] for error in played(Equations(**deviation)) if error]
        pytest.fail(f"[{code}] is never named; the checks said {said}")


# --- 3. the oracle ---------------------------------------------------------------------

def test_numerical_gradient_of_a_quadratic_form():
    rng = np.random.default_rng(3)
    A, c, theta = rng.normal(size=(5, 5)), rng.normal(size=5), rng.normal(size=5)  # A not symmetric
    before = theta.copy()
    grad = numerical_gradient(lambda v: 0.5 * v @ A @ v + c @ v + 2.0, theta)
    assert grad.shape == (5,)
    np.testing.assert_allclose(grad, 0.5 * (A + A.T) @ theta + c, rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(theta, before)
    # the test can fail: the gradient of a non-symmetric form is not A·θ + c
    assert not np.allclose(grad, A @ theta + c, rtol=1e-3)


def test_numerical_gradient_of_a_smooth_function():
    theta = np.array([0.3, -1.2, 2.0])
    grad = numerical_gradient(lambda v: np.sum(np.sin(v)) + np.prod(v), theta)
    np.testing.assert_allclose(grad, np.cos(theta) + np.prod(theta) / theta, rtol=1e-8, atol=1e-9)


def test_phi_and_the_two_layer_net():
    np.testing.assert_allclose(phi([0.0, np.log(3)], "sigmoid"), [0.5, 0.75])
    np.testing.assert_array_equal(phi([-1.0, 0.0, 2.5], "relu"), [0.0, 0.0, 2.5])
    with pytest.raises(ValueError):
        phi(1.0, "tanh")
    net = TwoLayerNet(2, 1, 1, "relu")
    theta = net.pack([[1.0, 2.0]], [0.5], [[3.0]], [-1.0])
    assert net.forward(theta, [1.0, 1.0])[0] == pytest.approx(3.0 * 3.5 - 1.0)
    assert net.loss(theta, [1.0, 1.0], [0.5]) == pytest.approx(0.5 * (9.5 - 0.5) ** 2)


# --- 4. compare and mistake_codes ------------------------------------------------------

def test_compare_passes_on_close_values():
    compare("w", [1.0, 2.0], [1.0, 2.0 + 1e-9])
    compare("δ", 0.25, np.float64(0.25) * (1 + RTOL / 10))
    compare("n", 3, 3, [("epochs-ignored", 1000)])


def test_compare_names_the_matching_variant():
    with pytest.raises(Mistake) as info:
        compare("δ_j", 0.3, 0.5, [("update-sign", 0.9), ("hidden-delta-no-phi-prime", 0.3)])
    assert info.value.code == "hidden-delta-no-phi-prime"
    assert "[hidden-delta-no-phi-prime]" in str(info.value) and str(info.value).startswith("δ_j is wrong")


def test_compare_raises_wrong_answer_when_no_variant_matches():
    with pytest.raises(WrongAnswer):
        compare("w", [1.0, 2.0], [1.0, 2.5], [("update-sign", [1.0, 3.0])])
    with pytest.raises(WrongAnswer, match="2 value"):
        compare("w", [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(WrongAnswer, match="number or a sequence"):
        compare("w", "half", 0.5)
    with pytest.raises(WrongAnswer):
        compare("w", [np.nan], [np.nan])  # NaN is never right


@pytest.mark.parametrize("variants", [(), [("update-sign", 0.9)]], ids=["no-variant", "no-match"])
def test_compare_hides_the_expected_value(variants):
    expected, actual = 0.1234567891, 0.7654321
    with pytest.raises(WrongAnswer) as info:
        compare("The bias", actual, expected, variants, reveal=False)
    message = str(info.value)
    for shown in (repr(expected), f"{expected:.8f}", "0.123", "1.2345"):
        assert shown not in message
    assert "hidden test" in message
    with pytest.raises(WrongAnswer, match="0.12345679"):
        compare("The bias", actual, expected, variants, reveal=True)


def test_compare_shows_a_matrix_as_a_matrix_at_8_digits_whatever_the_notebooks_print_options():
    """A public test shows W as the lecture writes it, a row per neuron, the rows aligned under
    "got:" and "expected:"; a number or a vector as a vector."""
    shown = {}
    with np.printoptions(precision=3):  # a student's notebook may set its own
        for name, actual, expected in [("W", [[1.1, 2.123456789123], [3.0, -4.0]], [[1.0, 2.0], [3.0, 4.0]]),
                                       ("b", 0.25, 0.5), ("w", [0.123456789123, 1.0], [0.5, 1.987654321])]:
            with pytest.raises(WrongAnswer) as info:
                compare(name, actual, expected, reveal=True)
            shown[name] = str(info.value)
    assert shown == {
        "W": "W is wrong.\n  got:      [[ 1.1         2.12345679]\n             [ 3.         -4.        ]]"
             "\n  expected: [[1. 2.]\n             [3. 4.]]",
        "b": "b is wrong.\n  got:      [0.25]\n  expected: [0.5]",
        "w": "w is wrong.\n  got:      [0.12345679 1.        ]\n  expected: [0.5        1.98765432]"}
    with pytest.raises(WrongAnswer, match=r"got:      \[2\.\]\n  expected: \[3\.\]$"):
        compare("The number of epochs", 2, 3, reveal=True)  # a count is shown as the student's number is


def test_a_result_that_is_no_number_is_observed_as_its_type_and_its_start():
    assert [(type(x), x) for x in plain([1, True])] == [(float, 1.0), (float, 1.0)]  # JSON numbers, as floats
    assert plain("half") == {"not_a_number": "str: 'half'"}
    long = plain("x" * 300)["not_a_number"]
    assert long == ("str: '" + "x" * 300)[:200] and len(long) == 200


def test_compare_names_a_variant_within_the_tolerance_it_is_given():
    """A result is a known mistake when it is as close to the mistake's result as a right one
    must be to the right answer: the same rtol and atol, the caller's when it gives its own."""
    with pytest.raises(Mistake):
        compare("w", [2.0 * (1 + RTOL / 2)], [1.0], [("update-sign", [2.0])])
    with pytest.raises(WrongAnswer) as info:
        compare("w", [2.0 * (1 + 3 * RTOL)], [1.0], [("update-sign", [2.0])])
    assert not isinstance(info.value, Mistake)
    with pytest.raises(Mistake):
        compare("w", [5e-4], [1.0], [("update-sign", [0.0])], atol=1e-3)


def test_compare_mistake_hides_the_expected_value():
    with pytest.raises(Mistake) as info:
        compare("The bias", 0.7654321, 0.1234567891, [("bias-not-updated", 0.7654321)], reveal=False)
    assert "0.123" not in str(info.value) and "0.765" not in str(info.value)


def test_compare_does_not_name_a_variant_that_coincides_with_the_right_answer():
    # with η = 0.1, "η hard-coded to 0.1" gives the right answer: it must not be named
    with pytest.raises(WrongAnswer) as info:
        compare("w", [9.0], [1.0], [("learning-rate-ignored", [1.0 + 1e-9])])
    assert not isinstance(info.value, Mistake)
    with pytest.raises(Mistake) as info:  # the next variant still can be
        compare("w", [9.0], [1.0], [("learning-rate-ignored", [1.0]), ("update-sign", [9.0])])
    assert info.value.code == "update-sign"
    # within the tolerance of the right answer is the right answer, even for a result just
    # outside the tolerance that is within the variant's (closeness does not chain)
    tolerance = ATOL + RTOL * 1.0
    with pytest.raises(WrongAnswer) as info:
        compare("w", [1.0 + 1.5 * tolerance], [1.0], [("learning-rate-ignored", [1.0 + 0.6 * tolerance])])
    assert not isinstance(info.value, Mistake)


# the table and the registry are built at import; these call their builders at run time, so
# that `make mutants` (which imports the package once, unmutated) sees them too

def test_known_makes_an_entry_of_every_way_to_make_the_mistake():
    wrong_w, wrong_b = (lambda w, eta, delta, o_i: w), (lambda b, eta, delta: b)
    assert known("update-sign", weight_step=wrong_w) == KnownMistake("update-sign", ({"weight_step": wrong_w},))
    assert known("update-sign", weight_step=wrong_w).message == MISTAKES["update-sign"]
    assert known("update-sign", {"weight_step": wrong_w}, {"bias_step": wrong_b}).deviations == (
        {"weight_step": wrong_w}, {"bias_step": wrong_b})
    assert known("update-sign", {"weight_step": wrong_w}, bias_step=wrong_b).deviations == (
        {"weight_step": wrong_w}, {"bias_step": wrong_b})
    with pytest.raises(ValueError, match=r"\[a-code\] has no message in backprop_course/checks/mistakes\.py"):
        known("a-code", weight_step=wrong_w)


def test_a_check_registers_itself_and_runs_its_two_parts_on_its_case():
    from answers.cases import BUILDERS

    calls = []

    def judge(case, observed, reveal):
        """What the check promises."""
        calls.append(("judge", case.scenario, observed, reveal))

    check = Check("check_made_here", 2, lambda x, y, scenario, standins: calls.append(("probe", x, y, scenario)) or [x + y],
                  judge, "a made-up check")
    BUILDERS["check_made_here"] = lambda *a, **k: calls.append(("case", a, k)) or core.Case({"case": 1})
    try:
        assert REGISTRY["check_made_here"] is check
        assert (check.name, check.__name__, check.objects, check.__doc__, check.title) == (
            "check_made_here", "check_made_here", 2, "What the check promises.", "a made-up check")
        check(1.0, 2.0, "sigmoid", seed=3, reveal=True)
        assert calls == [("case", ("sigmoid",), {"seed": 3}), ("probe", 1.0, 2.0, {"case": 1}),
                         ("judge", {"case": 1}, [3.0], True)]
    finally:
        del REGISTRY["check_made_here"], BUILDERS["check_made_here"]


def test_a_check_without_a_recorded_case_or_the_answers_says_so(monkeypatch):
    """In the student's install there are no answers: a call that was not released has no case."""
    import builtins

    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name))
                        if name == "answers" else real_import(name, *a, **k))
    with pytest.raises(WrongAnswer, match=r"^check_train has no recorded case for these arguments: only the public"):
        check_train(lambda *a, **k: [], seed=123456)


def test_two_checks_of_one_name_in_two_modules_are_refused():
    """A test cell and the probe find a check by its name: a second module's check of the same
    name would silently take the first one's place."""
    def judge(case, observed, reveal):
        """Another check_loss."""

    judge.__module__ = "backprop_course.checks.elsewhere"
    with pytest.raises(ValueError, match=r"two checks are named 'check_loss', in backprop_course\.checks\.neuron "
                                         r"and in backprop_course\.checks\.elsewhere: a test cell names its check, so rename one$"):
        Check("check_loss", 1, lambda x, case, standins: [], judge, "another loss")
    assert REGISTRY["check_loss"].module == "backprop_course.checks.neuron"


def test_the_probe_runs_only_the_check_of_the_module_it_is_given(capsys):
    from backprop_course.checks import remote

    remote.probe("backprop_course.checks.backprop", "check_loss", lambda: (None, None), "{}", "null", "n0nce")
    out = capsys.readouterr().out.lstrip("\n")
    assert out.startswith(remote.MARK + "n0nce ") and json.loads(out[len(remote.MARK) + 6:]) == {
        "raised": "TypeError: backprop_course.checks.backprop.check_loss is not a check"}


#: (submission, test cell, how its message starts): the verb agrees with what the checks compare
AGREEMENT = [
    ("02-train-loss-summed", "test_train_multi_sample_sgd", "The per-epoch mean losses returned are wrong. ["),
    ("02-train-epochs-hard-coded", "test_train_multi_sample_sgd", "The number of epoch losses returned is wrong. ["),
    ("02-neuron-learning-rate-one", "test_neuron_backward_output", "The weights after backward() are wrong. ["),
    ("02-neuron-bias-not-updated", "test_neuron_backward_output", "The bias after backward() is wrong. ["),
    ("02-neuron-hidden-no-phi-prime", "test_neuron_backward_hidden", "δ_j of the hidden neuron (self.delta_j) is wrong."),
    ("02-network-updated-weights", "test_multi_output_network_backward",
     "The network's weights and biases after one backward() are wrong. ["),
]


@pytest.mark.parametrize("name,cell,start", AGREEMENT, ids=[a[0] for a in AGREEMENT])
def test_the_verb_agrees_with_the_quantity(name, cell, start):
    """Issue 16, item 7: "The per-epoch mean losses returned is wrong"."""
    assert str(run(name)[cell]).startswith(start), run(name)[cell]


def test_a_plural_quantity_is_plural_in_every_message():
    with pytest.raises(Mistake, match=r"^The weights are wrong\. \[update-sign\]"):
        compare(Plural("The weights"), [3.0], [1.0], [("update-sign", [3.0])])
    with pytest.raises(WrongAnswer, match=r"^The weights are wrong\.\n  got"):
        compare(Plural("The weights"), [3.0], [1.0], reveal=True)
    with pytest.raises(WrongAnswer, match=r"^The bias is wrong\. \(hidden test"):
        compare("The bias", [3.0], [1.0])
    assert Plural("The weights") == "The weights" and is_wrong(Plural("o_l")) == "o_l are wrong."


def three_suspects(*replays):
    """Suspects of the table's first three codes, with the given replays ({key: value}):
    (suspects, [(code, replay)])."""
    suspects = Suspects([(entry.code, replay) for entry, replay in zip(TABLE[:3], replays)])
    return suspects, suspects.suspects


def test_a_suspect_whose_replay_lacks_what_blame_reads_is_not_guilty():
    suspects, [_, (code, _), _] = three_suspects({"raised": "ValueError"}, {"bias": 2.0}, {"bias": 2.0})
    with pytest.raises(Mistake) as info:
        suspects.blame("The bias", lambda replay: replay["bias"] == 2.0)
    assert info.value.code == code and str(info.value).startswith(is_wrong("The bias"))


def test_only_suspects_that_agree_with_a_right_result_within_the_tolerance_stay():
    """A right result clears the suspects whose replay of it raised or is off by more than the
    stated tolerance; one within a tenth of it stays."""
    suspects, [_, _, (near_code, _)] = three_suspects(
        {"bias": {"raised": "ValueError"}}, {"bias": 1.0 + 10 * RTOL}, {"bias": 1.0 + RTOL / 10})
    suspects.compare("The bias", 1.0, 1.0, "bias")
    assert [code for code, _ in suspects._left()] == [near_code]
    with pytest.raises(Mistake) as info:
        suspects.blame("The weights", lambda replay: True)
    assert info.value.code == near_code


def test_a_replay_that_raised_everywhere_is_no_variant_and_clears_itself():
    suspects, [_, (code, _), _] = three_suspects({"raised": "TypeError"}, {"bias": 3.0}, {"bias": 1.0})
    with pytest.raises(Mistake) as info:
        suspects.compare("The bias", 3.0, 2.0, "bias")
    assert info.value.code == code
    assert core.raised({"raised": "TypeError"}, "bias") == "TypeError" and core.raised({"bias": 1.0}, "bias") is None


def test_mistake_codes_extracts_known_codes():
    text = "δ is wrong. [update-sign] see [not-a-code] and [bias-not-updated] (and [0.5])"
    assert mistake_codes(text) == ["update-sign", "bias-not-updated"]
    assert mistake_codes("") == [] and mistake_codes(None) == []


@pytest.mark.parametrize("code", sorted(MISTAKES))
def test_every_mistake_message_carries_its_code(code):
    error = Mistake(code, "The quantity")
    assert error.code == code and isinstance(error, AssertionError)
    assert mistake_codes(str(error)) == [code]


# --- what a student sees when a check fails (IPython's showtraceback, in-process) ---------

def shown(error):
    """The text a notebook shows for ``error``, by IPython's rule: an error's own
    ``_render_traceback_`` if it has one, else IPython's traceback of it (which leaves out a
    frame that sets ``__tracebackhide__``)."""
    from IPython.core.ultratb import AutoFormattedTB
    if hasattr(error, "_render_traceback_"):
        lines = error._render_traceback_()
    else:
        lines = AutoFormattedTB(mode="Context", theme_name="nocolor").structured_traceback(
            type(error), error, error.__traceback__)
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(lines))


def _mutmuts(frame):
    """A frame of mutmut's trampoline, through which `make mutants` calls every function of core.py."""
    return f"{os.sep}mutmut{os.sep}" in frame.f_code.co_filename


@pytest.fixture
def as_in_a_notebook(monkeypatch):
    """Under `make mutants` the checks' functions are called through mutmut's trampoline: its
    frames count as the checks' own, so that the traceback is the one a notebook gets (no-op
    otherwise)."""
    own = core._own
    monkeypatch.setattr(core, "_own", lambda frame: own(frame) or _mutmuts(frame))


def frames(error):
    """Whose frames ``error``'s traceback holds, outermost first: a function's name, or
    "checks" for the checks' own code."""
    names, tb, checks_dir = [], error.__traceback__, str(Path(checks.__file__).parent) + os.sep
    while tb is not None:
        code = tb.tb_frame.f_code
        if not _mutmuts(tb.tb_frame):
            names.append("checks" if code.co_filename.startswith(checks_dir) else code.co_name)
        tb = tb.tb_next
    return names


def caught(call):
    """The error ``call()`` raises, as a test cell would see it."""
    try:
        call()
    except BaseException as error:  # noqa: BLE001
        return error
    raise AssertionError("the check passed")


def _line_of(function, text):
    """The line number of ``text`` in ``function``'s source (the test's call into the check)."""
    lines, start = inspect.getsourcelines(function)
    return start + next(i for i, line in enumerate(lines) if text in line)


CASE = dict(x=[0.2, 0.7], weights=[-0.43875046, 0.81212614], bias=0.5, t=1.0)


def student_neuron(**changes):
    """02_backprop's reference Neuron, with its methods replaced by ``changes``."""
    namespace = {}
    exec("import numpy as np", namespace)
    exec(compile(reference_cells("02_backprop")["neuron_backward"], "<reference Neuron>", "exec"), namespace)
    return type("Neuron", (namespace["Neuron"],), changes)


def _students_step(neuron, delta):
    return _students_scale(neuron, delta)


def _students_scale(neuron, delta):
    return float(delta) / 0  # the student's own bug, two calls deep


def _backward_with_a_bug(self, t, y_hat, learning_rate, output_neuron=True, **_):
    self.delta_j = _students_step(self, (y_hat - t) * y_hat * (1 - y_hat))


def test_a_failed_check_shows_its_message_first_and_the_tests_line_not_the_checks_code(as_in_a_notebook):
    wrong = student_neuron(backward=lambda self, **_: None)  # stores nothing: a WrongAnswer from the checks
    error = caught(lambda: check_neuron_backward_output(wrong, **CASE))
    text, line = shown(error), _line_of(test_a_failed_check_shows_its_message_first_and_the_tests_line_not_the_checks_code, "caught(")
    assert isinstance(error, WrongAnswer) and text.splitlines() == [
        "WrongAnswer: backward() must store `delta_j` (see the exercise's contract).",
        f"(the test's line {line}: error = caught(lambda: check_neuron_backward_output(wrong, **CASE)))"]
    named = caught(lambda: check_neuron_backward_output(student_neuron(backward=_backward_no_phi_prime), **CASE))
    assert isinstance(named, Mistake) and shown(named).startswith(f"Mistake: {named}\n(the test's line ")
    assert "core.py" not in shown(named) and len(shown(named).splitlines()) == 2


def _backward_no_phi_prime(self, t, y_hat, learning_rate, output_neuron=True, **_):
    self.delta_j = y_hat - t
    self.weights = self.weights - learning_rate * self.delta_j * self.o_i
    self.bias = self.bias - learning_rate * self.delta_j


def test_a_bug_in_the_students_code_shows_their_frames_and_none_of_the_checks(as_in_a_notebook):
    error = caught(lambda: check_neuron_backward_output(student_neuron(backward=_backward_with_a_bug), **CASE))
    assert isinstance(error, ZeroDivisionError)
    assert frames(error) == ["caught", "<lambda>", "checks", "_backward_with_a_bug", "_students_step", "_students_scale"]
    text = shown(error)  # IPython's own traceback: the student's lines, the check's call hidden
    assert "float(delta) / 0" in text and "_students_step(self" in text and "ZeroDivisionError" in text
    assert "self.judge(scenario" not in text and "self.probe(" not in text and "neuron.backward(" not in text
    assert "with_traceback(students)" not in text  # the check's own raise: its frame sets __tracebackhide__


def test_a_students_wrong_signature_shows_the_error_and_the_tests_line_only(as_in_a_notebook):
    wrong = student_neuron(backward=lambda self, t, y_hat: None)  # learning_rate missing
    error = caught(lambda: check_neuron_backward_output(wrong, **CASE))
    line = _line_of(test_a_students_wrong_signature_shows_the_error_and_the_tests_line_only, "caught(")
    assert isinstance(error, TypeError) and frames(error) == ["caught", "<lambda>", "checks"]
    assert shown(error).splitlines() == [f"TypeError: {error}",
                                         f"(the test's line {line}: error = caught(lambda: check_neuron_backward_output(wrong, **CASE)))"]


def test_the_tests_line_is_the_call_into_the_checks_and_is_left_out_when_there_is_none(as_in_a_notebook):
    assert shown(WrongAnswer("never raised")) == "WrongAnswer: never raised"
    outside = caught(lambda: exec("raise WrongAnswer('raised by a test cell itself')", {"WrongAnswer": WrongAnswer}))
    assert shown(outside) == "WrongAnswer: raised by a test cell itself"  # it never entered the checks
    within = caught(lambda: compare("The bias", 2.0, 1.0))
    within.__traceback__ = within.__traceback__.tb_next.tb_next  # only the checks' own frames
    assert shown(within) == f"WrongAnswer: {within}"
    no_source = caught(lambda: exec(compile("\n\ncompare('The bias', 2.0, 1.0)", "<no source>", "exec"), {"compare": compare}))
    assert shown(no_source).splitlines()[1:] == ["(the test's line 3)"]


def _backward_bias_off(self, **arguments):
    type(self).__mro__[1].backward(self, **arguments)
    self.bias += 1.0


def test_a_check_hides_the_expected_values_unless_asked():
    wrong = student_neuron(backward=_backward_bias_off)
    hidden = str(caught(lambda: check_neuron_backward_output(wrong, **CASE)))
    assert "hidden test" in hidden and "expected:" not in hidden
    assert "expected:" in str(caught(lambda: check_neuron_backward_output(wrong, **CASE, reveal=True)))


def test_a_suspect_whose_replay_gives_no_number_is_no_variant():
    """A replay may hold something that is no number (a method not called, say): that suspect is
    skipped, the next one is named, and the check does not break."""
    suspects, [_, (code, _), _] = three_suspects({"bias": "<function>"}, {"bias": 3.0}, {"bias": 1.0})
    with pytest.raises(Mistake) as info:
        suspects.compare("The bias", 3.0, 2.0, "bias")
    assert info.value.code == code


def test_a_right_result_clears_suspects_with_the_tolerance_it_was_compared_with():
    """A quantity compared with a wider atol (a gradient check's) keeps the suspects within it."""
    suspects, [(near_code, _), _, (exact_code, _)] = three_suspects({"g": 5e-4}, {"g": 5e-2}, {"g": 0.0})
    suspects.compare("The gradient check", 0.0, 0.0, "g", atol=1e-3)
    assert [code for code, _ in suspects._left()] == [near_code, exact_code]


def test_suspects_hide_the_expected_values_unless_asked():
    """A check that does not say reveal=True shows no expected value (hidden tests are the default)."""
    suspects, _ = three_suspects({"bias": 5.0}, {"bias": 5.0}, {"bias": 5.0})
    with pytest.raises(WrongAnswer) as info:
        suspects.compare("The bias", 0.7654321, 0.1234567891, "bias")
    assert "hidden test" in str(info.value) and "0.123" not in str(info.value)


def test_a_result_that_is_no_number_is_named_by_its_type():
    with pytest.raises(WrongAnswer, match=r"^The bias should be a number or a sequence of numbers, not str: 'half'$"):
        compare("The bias", "half", 0.5)
