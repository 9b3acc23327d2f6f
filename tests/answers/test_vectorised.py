"""Assignment 03_vectorised without nbgrader: its oracle, its reference and its catalogue.

1. The oracle: ``cross_entropy`` against the plain definition, ``wave``'s closed-form central
   difference against evaluated differences and against its gradient.
2. The reference's batch functions (``answers/reference.py``: what the stand-ins of sgd_epoch
   answer, and what is replayed to name a mistake) against centred finite differences, and its
   ``sgd_epoch`` against ``sgd_epoch_oracle`` (SGD on finite-difference gradients) in every
   scenario the notebook's tests use: a ReLU kink inside a difference step would show here.
3. The stated training reaches the stated accuracy, and shuffling the inputs alone does not.
4. The catalogue and the notebook: the issue's mistakes covered, three correct styles, hidden
   tests on other seeds. (tests/checks/test_checks.py runs the catalogue through the test cells.)
"""
from __future__ import annotations

import ast
import re

import numpy as np
import pytest

from answers import reference
from answers import vectorised as av
from answers.oracle import numerical_gradient
from backprop_course.checks import vectorised as v
from backprop_course.checks.core import MISTAKES
from backprop_course.checks.mistakes import STRUCTURAL
from answers.deviations import TABLE
from answers.reference import Equations
from answers.catalogue import CATALOGUE, EXERCISES, source_notebook
from difference_quotients import centred, quotient

A = "03_vectorised"
SUBMISSIONS = [s for s in CATALOGUE if s.assignment == A]
#: what the 03 catalogue must cover: the issue's list and the classics the checks name
CODES = {"weight-gradient-transposed", "bias-gradient-not-summed", "batch-divided-twice", "softmax-gradient-not-averaged",
         "cross-entropy-not-averaged", "softmax-overflow", "log-of-zero-probability", "softmax-gradient-sign",
         "softmax-gradient-missing-target", "one-sided-difference", "step-too-large", "difference-not-halved",
         "input-not-restored", "shuffled-without-targets", "samples-not-shuffled", "last-batch-dropped",
         "relu-backward-skipped", "params-not-updated", "update-sign", "batch-losses-summed", "batch-losses-weighted",
         "forward-ignores-bias"}
#: the reference against finite differences (h = 1e-6: error ~1e-9 relative)
RTOL, ATOL = 1e-6, 1e-9


def calls(name):
    """The keyword arguments of every call to ``name`` in the source notebook's test cells, hidden ones too."""
    found = []
    for cell in source_notebook(A).cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name:
                    found.append({k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg != "reveal"})
    assert found, f"no test cell calls {name}"
    return found


def grad_check_function(s):
    """The scalar function of a grad_check scenario, and its exact central difference (or gradient) at x."""
    x, h = np.array(s["x"]), s["h"]
    if s["kind"] == "wave":
        a, k, A_, c = np.array(s["a"]), s["k"], np.array(s["A"]), np.array(s["c"])
        return (lambda u: v.wave(u, a, k, A_, c)), av.wave_central_difference(x, h, a, k, A_, c)
    batch, y = np.array(s["batch"]), np.array(s["y"], dtype=int)
    f = lambda W: av.cross_entropy(batch @ W, y)  # noqa: E731
    return f, numerical_gradient(f, x)


# --- 1. the oracle ---------------------------------------------------------------------------

def test_cross_entropy_is_the_definition():
    rng = np.random.default_rng(0)
    logits, y = rng.normal(0, 3, (6, 4)), rng.integers(0, 4, 6)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert av.cross_entropy(logits, y) == pytest.approx(-np.mean(np.log(probs[np.arange(6), y])), rel=1e-12)
    # the same loss shifted by 1000 per row: exact where a plain exp overflows
    with np.errstate(over="raise", invalid="raise"):
        assert av.cross_entropy(logits + 1000, y) == pytest.approx(av.cross_entropy(logits, y), rel=1e-9)


def test_cross_entropy_gradient_is_the_derivation():
    """∂e/∂z = (ŷ − t)/N, lecture 6's result, from the oracle's finite differences."""
    rng = np.random.default_rng(1)
    logits, y = rng.normal(0, 2, (5, 3)), rng.integers(0, 3, 5)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = (probs - np.eye(3)[y]) / 5
    np.testing.assert_allclose(av.cross_entropy_gradient(logits, y), expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(av.cross_entropy_gradient(logits + 1000, y), expected, rtol=RTOL, atol=ATOL)
    assert not np.allclose(av.cross_entropy_gradient(logits, y), -expected)


@pytest.mark.parametrize("h", [1e-5, 1e-3, 1e-1])
def test_wave_central_difference_is_exact(h):
    s = av.grad_check_case(seed=4, shape=(2, 3)).scenario
    f, _ = grad_check_function(s)
    a, k, A_, c, x = np.array(s["a"]), s["k"], np.array(s["A"]), np.array(s["c"]), np.array(s["x"])
    closed = av.wave_central_difference(x, h, a, k, A_, c)
    np.testing.assert_allclose(closed, quotient(f, x, h), rtol=1e-9, atol=1e-9)
    # and it tends to the gradient a·k·cos(kx) + ½(A + Aᵀ)v + c, with error a·k³·h²/6
    gradient = (a * k * np.cos(k * x.ravel()) + 0.5 * (A_ + A_.T) @ x.ravel() + c).reshape(x.shape)
    np.testing.assert_allclose(closed, gradient, rtol=0, atol=1.5 * k ** 3 * h ** 2 / 6 + 1e-12)
    np.testing.assert_allclose(centred(f, x), gradient, rtol=1e-6, atol=1e-8)


def test_grad_check_tolerance_separates_central_from_one_sided():
    """The stated tolerance passes the central difference at h = 1e-5 and fails a one-sided one."""
    for seed, shape, kind in [(0, (3, 4), "wave"), (1, (4, 3), "model"), (22, (2, 3, 2), "wave")]:
        s = av.grad_check_case(seed=seed, shape=shape, kind=kind).scenario
        f, expected = grad_check_function(s)
        x = np.array(s["x"])
        central = quotient(f, x, 1e-5)
        assert np.allclose(central, expected, rtol=v.GRAD_RTOL, atol=v.GRAD_ATOL)
        for kind_ in ("forward", "backward"):
            assert not np.allclose(quotient(f, x, 1e-5, kind_), expected, rtol=v.GRAD_RTOL, atol=v.GRAD_ATOL)
        assert not np.allclose(quotient(f, x, 1e-3), expected, rtol=v.GRAD_RTOL, atol=v.GRAD_ATOL)


def test_model_kind_good_and_bad_gradients():
    case = av.grad_check_case(seed=1, shape=(4, 3), kind="model")
    s = case.scenario
    f, expected = grad_check_function(s)
    good, bad = case.expected["good"], case.expected["bad"]
    np.testing.assert_allclose(good, centred(f, np.array(s["x"])), rtol=RTOL, atol=ATOL)
    assert v.rel_error(good, expected) < 1e-7 < 1e-2 < v.rel_error(bad, expected)


# --- 2. the reference against finite differences ----------------------------------------------

def test_reference_dense_layer_and_relu():
    rng = np.random.default_rng(2)
    x, W, b, dout = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(5, 4))
    out, cache_ = reference.dense_forward(x, W, b)
    np.testing.assert_allclose(out, [[sum(x[n, i] * W[i, j] for i in range(3)) + b[j] for j in range(4)]
                                     for n in range(5)], rtol=1e-12)
    dx, dW, db = reference.dense_backward(dout, cache_)
    assert (dx.shape, dW.shape, db.shape) == (x.shape, W.shape, b.shape)
    forward = lambda x_, W_, b_: np.sum(dout * reference.dense_forward(x_, W_, b_)[0])  # noqa: E731
    np.testing.assert_allclose(dx, centred(lambda a: forward(a, W, b), x), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dW, centred(lambda a: forward(x, a, b), W), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(db, centred(lambda a: forward(x, W, a), b), rtol=RTOL, atol=ATOL)
    net = rng.normal(size=(4, 3))
    net[np.abs(net) < 0.01] = 0.5  # clear of the kink
    hidden, relu_cache = reference.relu_forward(net)
    np.testing.assert_allclose(reference.relu_backward(dout[:4, :3], relu_cache),
                               centred(lambda a: np.sum(dout[:4, :3] * reference.relu_forward(a)[0]), net),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_reference_softmax_cross_entropy(scale):
    rng = np.random.default_rng(3)
    logits, y = rng.normal(0, 2, (6, 5)) + scale * rng.choice([-1, 1], (6, 1)), rng.integers(0, 5, 6)
    with np.errstate(over="raise", invalid="raise"):
        loss, dlogits = reference.softmax_cross_entropy(logits, y)
    assert loss == pytest.approx(av.cross_entropy(logits, y), rel=1e-12)
    np.testing.assert_allclose(dlogits, av.cross_entropy_gradient(logits, y), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("h", [1e-5, 1e-3])
def test_reference_grad_check_is_the_central_difference(h):
    s = av.grad_check_case(seed=4, shape=(2, 3)).scenario
    f, _ = grad_check_function(s)
    a, k, A_, c, x = np.array(s["a"]), s["k"], np.array(s["A"]), np.array(s["c"]), np.array(s["x"])
    before = x.copy()
    np.testing.assert_allclose(reference.grad_check(f, x, h), av.wave_central_difference(before, h, a, k, A_, c),
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("arguments", calls("check_sgd_epoch"), ids=str)
def test_reference_epoch_is_sgd_on_finite_differences(arguments):
    s = av.epoch_case(**arguments).scenario
    params = {k: np.array(p) for k, p in s["params"].items()}
    X, y = np.array(s["X"]), np.array(s["y"])
    expected, loss, _ = av.sgd_epoch_oracle(params, X, y, s["batch_size"], s["learning_rate"], s["rng_seed"])
    replayed = {k: p.copy() for k, p in params.items()}
    replayed_loss = reference.sgd_epoch(replayed, X, y, s["batch_size"], s["learning_rate"],
                                        np.random.default_rng(s["rng_seed"]))
    assert replayed_loss == pytest.approx(loss, rel=1e-9)
    for key in v.PARAMS:
        np.testing.assert_allclose(replayed[key], expected[key], rtol=RTOL, atol=ATOL)
        assert not np.allclose(expected[key], params[key]), f"the epoch must move {key}"


@pytest.mark.parametrize("arguments", calls("check_sgd_epoch"), ids=str)
def test_every_epoch_scenario_ends_with_a_smaller_batch(arguments):
    """Else a dropped last batch, or batch losses weighted by their sizes, could not be told apart."""
    s = av.epoch_case(**arguments).scenario
    assert len(s["y"]) % s["batch_size"] != 0


# --- 3. the stated training ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 41, 1, 2, 3])
def test_the_stated_training_reaches_the_stated_accuracy(seed):
    """The notebook's training (He init, H = 64, B = 16, η = 0.5, 50 epochs) clears ACCURACY with
    room to spare on the tested seeds and others, and inputs shuffled without targets do not."""
    case = av.training_case(seed=seed)
    s = case.scenario
    X, y, X_test, y_test = np.array(s["X"]), np.array(s["y"]), case.expected["X_test"], case.expected["y_test"]
    (inputs_only, *_), = [e.deviations for e in TABLE if e.code == "shuffled-without-targets"]
    trained = {}
    for name, eq in (("right", reference.LECTURE), ("inputs shuffled alone", Equations(**inputs_only))):
        params, rng = {k: np.array(p) for k, p in s["params"].items()}, np.random.default_rng(seed + 1)
        for _ in range(s["epochs"]):
            reference.sgd_epoch(params, X, y, s["batch_size"], s["learning_rate"], rng, eq)
        trained[name] = np.mean(v.predict(params, X_test) == y_test)
    assert trained["right"] >= v.ACCURACY + 0.03, trained
    assert trained["inputs shuffled alone"] < v.ACCURACY - 0.3, trained


# --- 4. the catalogue through the test cells, strictly -------------------------------------

def _meta(cell):
    return cell.metadata.get("nbgrader", {})


def _exercise(test_id):
    return max((e for e in EXERCISES[A] if test_id.startswith(f"test_{e}")), key=len)


def test_the_catalogue_covers_the_mistakes_and_three_styles():
    covered = {code for s in SUBMISSIONS for code in s.mistakes.values() if code}
    assert CODES <= covered, sorted(CODES - covered)
    assert covered <= set(MISTAKES) | set(STRUCTURAL)  # np.random in place of rng: a structural diagnosis
    correct = [s for s in SUBMISSIONS if s.correct and not s.name.endswith("reference")]
    for exercise in EXERCISES[A]:
        assert len({s.cells[exercise] for s in correct}) >= 3, exercise


def test_hidden_tests_use_other_seeds_than_the_public_ones_and_reveal_nothing():
    for cell in source_notebook(A).cells:
        if not _meta(cell).get("grade"):
            continue
        public, _, rest = cell.source.partition("### BEGIN HIDDEN TESTS")
        hidden = rest.partition("### END HIDDEN TESTS")[0]
        seeds = {part: set(re.findall(r"seed=(\d+)", text)) for part, text in (("public", public), ("hidden", hidden))}
        assert "reveal=True" in public and "reveal=True" not in hidden, _meta(cell)["grade_id"]
        assert seeds["hidden"] and not seeds["hidden"] & seeds["public"], _meta(cell)["grade_id"]


def test_the_notebook_has_the_contracts_exercises_and_16_points():
    nb = source_notebook(A)
    assert [_meta(c)["grade_id"] for c in nb.cells if _meta(c).get("solution")] == EXERCISES[A]
    tests = [_meta(c)["grade_id"] for c in nb.cells if _meta(c).get("grade")]
    assert {_exercise(t) for t in tests} == set(EXERCISES[A])
    assert sum(_meta(c)["points"] for c in nb.cells if _meta(c).get("grade")) == 16
