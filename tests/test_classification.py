"""Lecture 6: its derivations against finite differences, its data sets, and its widget driven from Python.

The derivations are tested where they live: the functions the notebook defines (its cells tagged
``definitions``, run here by themselves) and ``backprop_course.lectures.classification``. The finite
differences are the test's own (centred, h = 1e-6: truncation ~1e-12, rounding ~1e-10). Tolerance:
relative 1e-6 of the larger of the two, absolute 1e-9.
"""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

from functools import cache  # noqa: E402
from pathlib import Path  # noqa: E402

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backprop_course.lectures import classification as cl  # noqa: E402
from backprop_course.lectures import datasets  # noqa: E402
from difference_quotients import centred  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_batches_and_classification.ipynb"
PNG = b"\x89PNG"


def assert_gradient(analytic, numeric, rtol=1e-6, atol=1e-9):
    assert np.shape(analytic) == np.shape(numeric)
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)


@cache
def lecture():
    """The notebook's own definitions: every cell tagged 'definitions', run in one namespace."""
    namespace = {"np": np}
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if "definitions" in c.metadata.get("tags", [])]
    assert len(cells) >= 3
    for cell in cells:
        exec(compile(cell.source, "<lecture 6>", "exec"), namespace)
    return namespace


# --- the notebook's derivations ---------------------------------------------------------------

@pytest.mark.parametrize("N,D,M", [(4, 3, 5), (1, 2, 2), (7, 1, 3)])
def test_the_lectures_dense_layer(N, D, M):
    """∂e/∂W = xᵀ·dout, ∂e/∂b = Σ_n dout, ∂e/∂x = dout·Wᵀ, for e = Σ dout ⊙ out."""
    forward, backward = lecture()["dense_forward"], lecture()["dense_backward"]
    rng = np.random.default_rng(N * 100 + D * 10 + M)
    x, W, b, dout = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M), rng.normal(size=(N, M))
    out, cache_ = forward(x, W, b)
    assert out.shape == (N, M)
    dx, dW, db = backward(dout, cache_)
    assert_gradient(dx, centred(lambda v: np.sum(dout * forward(v, W, b)[0]), x))
    assert_gradient(dW, centred(lambda v: np.sum(dout * forward(x, v, b)[0]), W))
    assert_gradient(db, centred(lambda v: np.sum(dout * forward(x, W, v)[0]), b))


@pytest.mark.parametrize("shift", [0.0, 1000.0, -1000.0])
def test_the_lectures_softmax_cross_entropy_gradient_is_y_hat_minus_t(shift):
    softmax, cross_entropy = lecture()["softmax"], lecture()["cross_entropy"]
    rng = np.random.default_rng(5)
    Z, y = rng.normal(0, 2, (6, 4)) + shift, rng.integers(0, 4, 6)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y_hat = softmax(Z)
        loss = cross_entropy(Z, y)
    np.testing.assert_allclose(y_hat.sum(axis=1), 1.0)
    plain = np.exp(Z - shift) / np.exp(Z - shift).sum(axis=1, keepdims=True)   # the definition, where it is safe
    assert loss == pytest.approx(-np.mean(np.log(plain[np.arange(6), y])), rel=1e-9)
    numeric = centred(lambda v: cross_entropy(v, y), Z - Z.max(axis=1, keepdims=True))  # e is shift-invariant per row
    assert_gradient((y_hat - np.eye(4)[y]) / 6, numeric)


def test_the_lectures_cross_entropy_survives_an_underflowing_probability():
    Z, y = np.array([[0.0, 800.0, 1.0]]), np.array([0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert lecture()["cross_entropy"](Z, y) == pytest.approx(800.0, rel=1e-12)


@pytest.mark.parametrize("t", [0.0, 1.0])
def test_the_lectures_sigmoid_deltas(t):
    """δ_MSE = (ŷ − t)·ŷ(1 − ŷ) and δ_CE = ŷ − t, and how far apart they are when confidently wrong."""
    sigma = lambda n: 1 / (1 + np.exp(-n))  # noqa: E731
    nets = np.array([-6.0, -2.0, -0.3, 0.4, 2.5, 6.0])
    mse = centred(lambda n: np.sum(0.5 * (t - sigma(n)) ** 2), nets)
    bce = centred(lambda n: np.sum(-t * np.log(sigma(n)) - (1 - t) * np.log(1 - sigma(n))), nets)
    assert_gradient(lecture()["delta_mse"](nets, t), mse)
    assert_gradient(lecture()["delta_cross_entropy"](nets, t), bce)
    wrong = -6.0 if t == 1.0 else 6.0  # the lecture's claim: 400 times smaller when confidently wrong
    ratio = lecture()["delta_cross_entropy"](wrong, t) / lecture()["delta_mse"](wrong, t)
    assert 300 < ratio < 500


# --- the package: MLP, the gradient norms, the helpers -------------------------------------------

def _loss_at(net, param, X, y):
    def loss(value):
        saved = param.copy()
        param[...] = value
        try:
            return net.loss(X, y)
        finally:
            param[...] = saved
    return loss


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_mlp_backprop_matches_finite_differences(activation, output):
    X, y = datasets.spirals(n_per_class=4, seed=2)
    net = cl.MLP([2, 5, 4, 3], activation=activation, output=output, init="xavier", seed=1)
    net.b = [b + 0.2 for b in net.b]
    loss, dW, db = net.loss_and_gradients(X, y)
    assert loss == pytest.approx(net.loss(X, y))
    for analytic, param in zip(dW + db, net.W + net.b):
        assert_gradient(analytic, centred(_loss_at(net, param, X, y), param))


def test_mlp_losses_are_their_definitions():
    X, y = datasets.two_moons(n=10, seed=3)
    for output in ("softmax", "sigmoid"):
        net = cl.MLP([2, 3, 2], output=output, seed=4)
        z, _ = net.forward(X)
        t = np.eye(2)[y]
        if output == "softmax":
            expected = -np.mean(np.log(np.exp(z)[np.arange(10), y] / np.exp(z).sum(axis=1)))
        else:
            expected = np.mean(0.5 * np.sum((t - 1 / (1 + np.exp(-z))) ** 2, axis=1))
        assert net.loss(X, y) == pytest.approx(expected, rel=1e-12)


def test_gradient_norms_are_the_norms_of_the_finite_differences():
    X, y = datasets.spirals(n_per_class=3, seed=0)
    net = cl.MLP([2, 4, 4, 4, 3], activation="sigmoid", init="xavier", seed=0)
    norms = cl.gradient_norms(net, X, y)
    assert norms.shape == (4,)
    numeric = [np.linalg.norm(centred(_loss_at(net, W, X, y), W)) for W in net.W]
    np.testing.assert_allclose(norms, numeric, rtol=1e-5)


def test_gradients_vanish_with_depth_for_sigmoid_not_relu():
    """The lecture's figure: 8 hidden layers, first-layer gradient over last-layer gradient."""
    X, y = datasets.spirals(seed=0)
    sigmoid = cl.gradient_norms(cl.MLP([2] + [32] * 8 + [3], "sigmoid", init="xavier", seed=0), X[:64], y[:64])
    relu = cl.gradient_norms(cl.MLP([2] + [32] * 8 + [3], "relu", init="he", seed=0), X[:64], y[:64])
    assert sigmoid[0] / sigmoid[-1] < 1e-3
    assert 0.05 < relu[0] / relu[-1] < 20


def test_initialisations():
    for init, expected in (("he", np.sqrt(2 / 200)), ("xavier", np.sqrt(1 / 200)), ("small", 0.01), ("large", 3.0)):
        W = cl.MLP([200, 400, 2], init=init, seed=0).W[0]
        assert W.std() == pytest.approx(expected, rel=0.02)
    assert not np.any(cl.MLP([3, 4, 2], init="zeros").W[0])
    assert cl.MLP([3, 4, 2], init=0.5, seed=1).W[1].std() == pytest.approx(0.5, rel=0.6)


def test_zero_init_keeps_the_hidden_neurons_identical():
    X, y = datasets.spirals(seed=0)
    net, rng = cl.MLP([2, 8, 3], activation="sigmoid", init="zeros"), np.random.default_rng(0)
    for _ in range(5):
        net.train_epoch(X, y, 16, 0.5, rng)
    assert np.any(net.W[0]) and np.allclose(net.W[0], net.W[0][:, :1])


def test_numerical_gradient_rel_error_and_standardise():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    before = x.copy()
    grad = cl.numerical_gradient(lambda v: float(np.sum(np.sin(v)) + np.prod(v)), x)
    np.testing.assert_allclose(grad, np.cos(x) + np.prod(x) / x, rtol=1e-8)
    np.testing.assert_array_equal(x, before)
    assert cl.rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert cl.rel_error([1.0], [3.0]) == pytest.approx(0.5)
    A = np.random.default_rng(0).normal(5, 3, (50, 2))
    S = cl.standardise(A)
    np.testing.assert_allclose(S.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(S.std(axis=0), 1)
    np.testing.assert_allclose(cl.standardise(A[:5], A), S[:5])


@pytest.mark.parametrize("make,classes", [(datasets.two_moons, 2), (datasets.spirals, 3), (datasets.xor, 2)])
def test_datasets_are_seeded_balanced_and_shuffled(make, classes):
    X, y = make(seed=4)
    X2, y2 = make(seed=4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(make(seed=5)[0], X)
    assert X.shape == (len(y), 2) and set(np.unique(y)) == set(range(classes))
    X_train, y_train, X_test, y_test = datasets.split(X, y)
    assert len(y_train) == round(0.7 * len(y)) and len(y_train) + len(y_test) == len(y)
    assert set(np.unique(y_test)) == set(range(classes))  # the order is shuffled: every class is held out
    np.testing.assert_array_equal(np.concatenate([X_train, X_test]), X)


def test_a_hidden_layer_is_needed_for_the_spirals():
    X, y = datasets.spirals(seed=0)
    X_train, y_train, X_test, y_test = datasets.split(X, y)
    accuracies = {}
    for sizes in ([2, 3], [2, 32, 3]):
        net, rng = cl.MLP(sizes, seed=0), np.random.default_rng(0)
        for _ in range(60):
            net.train_epoch(X_train, y_train, 16, 0.5, rng)
        accuracies[len(sizes)] = cl.accuracy(net.predict(X_test), y_test)
    assert accuracies[2] < 0.75 < 0.95 < accuracies[3]


# --- the widget ------------------------------------------------------------------------------

def test_boundary_trainer_trains_and_redraws():
    w = cl.boundary_trainer(dataset="two moons", hidden=16, learning_rate=0.5, epochs=10, frames=3)
    assert w.epochs == 0 and w.losses == [] and bytes(w.image.value).startswith(PNG)
    first, drawn = bytes(w.image.value), w.frames_drawn
    w.train_button.click()
    assert w.epochs == 10 and len(w.losses) == len(w.test_accuracy) == 10
    assert w.frames_drawn == drawn + 3            # redrawn as it trains, not only at the end
    assert bytes(w.image.value) != first
    assert w.losses[-1] < w.losses[0]
    w.train(20)
    assert w.epochs == 30 and w.test_accuracy[-1] >= 0.95
    assert f"{w.test_accuracy[-1]:.1%}" in w.readout.value
    # the widget's net is the lecture's MLP: its accuracy is what predict gives
    assert w.test_accuracy[-1] == cl.accuracy(w.net.predict(w.X_test), w.y_test)


def test_one_frame_per_click_shows_the_last_epoch():
    w = cl.boundary_trainer(dataset="two moons", hidden=8, learning_rate=0.5, epochs=4, frames=1)
    drawn = w.frames_drawn
    w.train()
    assert w.frames_drawn == drawn + 1 and w.figure.axes[0].get_title() == "epoch 4: held-out samples"


def test_boundary_trainer_controls_start_again():
    w = cl.boundary_trainer(epochs=5, frames=1)
    w.train()
    w.hidden_slider.value = 3
    assert w.epochs == 0 and w.net.W[0].shape == (2, 3)
    w.dataset_dropdown.value = "spirals"
    assert w.net.W[1].shape == (3, 3) and set(np.unique(w.y_train)) == {0, 1, 2}
    w.init_dropdown.value = "zeros"
    assert not np.any(w.net.W[0])
    w.train()
    assert not np.any(w.net.W[0])                 # ReLU′(0) = 0: nothing reaches W1
    assert w.test_accuracy[-1] < 0.5
    w.init_dropdown.value = "he"
    w.eta_slider.value = 10.0
    w.train(10)                                   # η far too large: no error, a bad net
    assert w.epochs == 10 and w.test_accuracy[-1] < 0.9
    w.reset_button.click()
    assert w.epochs == 0 and w.losses == []


def test_boundary_trainer_is_reproducible():
    a, b = cl.boundary_trainer(epochs=4, frames=1), cl.boundary_trainer(epochs=4, frames=1)
    a.train()
    b.train()
    assert a.losses == b.losses


def test_boundary_trainer_displays():
    bundle = cl.boundary_trainer(frames=1)._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
