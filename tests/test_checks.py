"""Fast unit tests of the checks: no nbgrader, no kernel.

1. Every submission of the catalogue runs through the test cells of source/, in-process: the
   solution cells and the test cells (hidden tests included) are exec'd in notebook order in
   one namespace. Correct submissions pass every test cell; a mistake submission fails a test
   cell of its exercise with a Mistake naming its code, and passes those of the other exercises.
2. The trusted helpers (TrustedNeuron, simulate) against the finite-difference oracle.
3. The oracle's numerical_gradient against a function with a known gradient.
4. core.compare and core.mistake_codes.
"""
from __future__ import annotations

import contextlib
import io
import re
from functools import cache

import nbformat
import numpy as np
import pytest

from backprop_course.tools.catalogue import CATALOGUE, EXERCISES, build_notebook, reference_cells, source_notebook, strip_markers
from backprop_course.checks.backprop import _net, _net_away_from_kink, _problem
from backprop_course.checks.core import ATOL, MISTAKES, RTOL, Mistake, WrongAnswer, compare, mistake_codes
from backprop_course.checks.trusted import VARIANTS, TrustedNeuron, simulate
from backprop_course.checks.oracle import TwoLayerNet, numerical_gradient, phi

#: the mistake codes each assignment's catalogue must cover
CODES = {
    "01_neuron": {"relu-not-vectorised", "sigmoid-not-vectorised", "derivative-of-net", "relu-derivative-wrong",
                  "loss-no-half", "loss-gradient-sign", "constructor-truthiness", "forward-ignores-bias",
                  "forward-no-activation"},
    "02_backprop": {"update-sign", "bias-not-updated", "learning-rate-ignored", "output-delta-sign",
                    "output-delta-no-phi-prime", "relu-with-sigmoid-derivative", "derivative-of-net",
                    "hidden-delta-no-phi-prime", "only-one-output-delta", "averaged-over-outputs",
                    "updated-weights-propagated", "subset-of-samples", "epochs-ignored", "loss-not-averaged",
                    "loss-after-update", "wrong-target", "loss-not-summed-over-outputs"},
}

#: the trusted helpers against the oracle: the oracle's error (≈1e-10) after a few steps,
#: well inside the tolerance the checks allow a student (core.RTOL, core.ATOL)
TRUSTED_RTOL, TRUSTED_ATOL = 1e-7, 1e-9

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


@cache
def run(name, public=False):
    """{test cell grade_id: the exception it raised, or None} for one submission.

    public=True runs the test cells as the released notebook has them, without the hidden
    tests: what a student sees before grading.
    """
    submission = BY_NAME[name]
    namespace = {"__name__": "__main__"}
    exec("import numpy as np", namespace)
    results = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in source_notebook(submission.assignment).cells:
            meta = _meta(cell)
            if meta.get("solution"):
                exec(compile(submission.cells[meta["grade_id"]], f"<{name}:{meta['grade_id']}>", "exec"), namespace)
            elif meta.get("grade"):
                try:
                    source = HIDDEN_TESTS.sub("", cell.source) if public else cell.source
                    exec(compile(source, f"<{meta['grade_id']}>", "exec"), namespace)
                except Exception as error:  # noqa: BLE001 — a test cell fails on any exception
                    results[meta["grade_id"]] = error
                else:
                    results[meta["grade_id"]] = None
    return results


def _describe(failures):
    return "\n".join(f"  {cell}: {type(e).__name__}: {e}" for cell, e in failures.items())


@pytest.mark.parametrize("submission", CATALOGUE, ids=lambda s: s.name)
def test_submission(submission):
    results = run(submission.name)
    for exercise, code in submission.mistakes.items():
        cells = {cell: e for cell, e in results.items() if exercise_of(submission.assignment, cell) == exercise}
        assert cells, f"no test cell grades {exercise}"
        failures = {cell: e for cell, e in cells.items() if e is not None}
        if not code:
            assert not failures, f"{exercise} is right but loses points:\n{_describe(failures)}"
            continue
        assert failures, f"{exercise} has [{code}] but passes every test cell"
        named = {cell: e.code for cell, e in failures.items() if isinstance(e, Mistake)}
        assert code in named.values(), f"no test cell of {exercise} names [{code}]:\n{_describe(failures)}"
        misnamed = {cell: e for cell, e in failures.items() if cell in named and named[cell] != code}
        assert not misnamed, f"{exercise} has [{code}], but a test cell names another mistake:\n{_describe(misnamed)}"


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
PUBLICLY_CAUGHT = ("01_neuron", "02_backprop")


@pytest.mark.parametrize("submission", [s for s in CATALOGUE if not s.correct and s.assignment in PUBLICLY_CAUGHT],
                         ids=lambda s: s.name)
def test_each_mistake_fails_a_public_test_that_names_it(submission):
    """A student learns of a mistake before grading (issue 16, item 5: a ReLU mistake passed every public test)."""
    (exercise, code), = [(e, c) for e, c in submission.mistakes.items() if c]
    results = run(submission.name, public=True)
    named = {cell: e.code for cell, e in results.items()
             if isinstance(e, Mistake) and exercise_of(submission.assignment, cell) == exercise}
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


def test_catalogue_covers_every_mistake():
    for assignment, codes in CODES.items():
        covered = {c for s in CATALOGUE if s.assignment == assignment for c in s.mistakes.values() if c}
        assert codes <= covered, f"{assignment}: no submission for {sorted(codes - covered)}"
        assert covered <= set(MISTAKES)
    every = {c for s in CATALOGUE for c in s.mistakes.values() if c}
    assert every == set(MISTAKES), f"codes without a submission: {sorted(set(MISTAKES) - every)}"


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


# --- 2. the trusted helpers against the oracle ---------------------------------------------

@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trusted_output_neuron_matches_finite_differences(activation, seed):
    rng = np.random.default_rng(seed)
    x, w, b = _net_away_from_kink(rng, 3, activation, positive=True)
    t, lr = rng.uniform(0, 1), 0.3

    def e(theta):
        return 0.5 * (t - phi(x @ theta[:-1] + theta[-1], activation)) ** 2

    grad = numerical_gradient(e, np.append(w, b))
    neuron = TrustedNeuron(3, w, b, activation)
    y_hat = neuron.forward(x)
    assert np.isclose(y_hat, phi(x @ w + b, activation), rtol=TRUSTED_RTOL)
    neuron.backward(t=t, y_hat=y_hat, learning_rate=lr, output_neuron=True)
    np.testing.assert_allclose(neuron.delta_j, grad[-1], rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    np.testing.assert_allclose(neuron.weights, w - lr * grad[:-1], rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    np.testing.assert_allclose(neuron.bias, b - lr * grad[-1], rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)


@pytest.mark.parametrize("activation,positive", [("sigmoid", None), ("relu", True), ("relu", False)])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_trusted_hidden_neuron_matches_finite_differences(activation, positive, n_outputs):
    """A hidden neuron feeding n_outputs sigmoid outputs: δ_l and δ_j are ∂e/∂b_l and ∂e/∂b_j."""
    rng = np.random.default_rng(7 + n_outputs)
    x, w, b = _net_away_from_kink(rng, 3, activation, positive)
    w_l, others, t_l = rng.normal(0, 1, n_outputs), rng.normal(0, 1, n_outputs), rng.uniform(0, 1, n_outputs)
    b_l, lr = rng.uniform(-0.5, 0.5, n_outputs), 0.25

    def e(theta):  # θ = [w (3), b, b_l (L)]
        o_j = phi(x @ theta[:3] + theta[3], activation)
        return 0.5 * np.sum((t_l - phi(w_l * o_j + others + theta[4:], "sigmoid")) ** 2)

    grad = numerical_gradient(e, np.concatenate([w, [b], b_l]))
    neuron = TrustedNeuron(3, w, b, activation)
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


@pytest.mark.parametrize("activation,J,L,n,epochs,lr,seed", SGD_CASES)
def test_simulate_without_variant_is_sgd_on_numerical_gradients(activation, J, L, n, epochs, lr, seed):
    net, theta, inputs, targets = problem(seed, 3, J, L, n, activation)
    theta_sim, history_sim = simulate(net, theta, inputs, targets, epochs, lr, variant=None)
    theta_sgd, history_sgd = net.sgd(theta, inputs, targets, epochs, lr)
    assert len(history_sim) == epochs
    np.testing.assert_allclose(history_sim, history_sgd, rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    np.testing.assert_allclose(theta_sim, theta_sgd, rtol=TRUSTED_RTOL, atol=TRUSTED_ATOL)
    assert not np.allclose(theta_sgd, theta), "training must move θ, or the comparison proves nothing"


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "epochs-ignored"])
def test_every_simulated_variant_differs_from_the_right_answer(variant):
    """A variant that coincides with the right answer could never be named."""
    activation = "relu" if variant == "relu-with-sigmoid-derivative" else "sigmoid"  # the only one it applies to
    net, theta, inputs, targets = problem(5, 3, 3, 3, 3, activation)
    with np.errstate(over="ignore"):  # derivative-of-net diverges, as it does in the checks
        theta_ok, history_ok = simulate(net, theta, inputs, targets, 2, 0.3)
        theta_v, history_v = simulate(net, theta, inputs, targets, 2, 0.3, variant)
    assert not (np.allclose(theta_v, theta_ok, rtol=RTOL, atol=ATOL)
                and np.allclose(history_v, history_ok, rtol=RTOL, atol=ATOL))


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


def test_mistake_codes_extracts_known_codes():
    text = "δ is wrong. [update-sign] see [not-a-code] and [bias-not-updated] (and [0.5])"
    assert mistake_codes(text) == ["update-sign", "bias-not-updated"]
    assert mistake_codes("") == [] and mistake_codes(None) == []


@pytest.mark.parametrize("code", sorted(MISTAKES))
def test_every_mistake_message_carries_its_code(code):
    error = Mistake(code, "The quantity")
    assert error.code == code and isinstance(error, AssertionError)
    assert mistake_codes(str(error)) == [code]
