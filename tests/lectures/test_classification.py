"""Lecture 6: its derivations against finite differences, its net, its data sets, and its widget.

The derivations and the net are tested where they live: the functions and the class the notebook
defines (its cells tagged ``definitions``, run here by themselves); the initialisations, data sets
and the widget in ``backprop_course.lectures.classification``. The finite differences are the test's
own (centred, h = 1e-6: truncation ~1e-12, rounding ~1e-10). Tolerance: relative 1e-6 of the larger
of the two, absolute 1e-9.
"""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

from functools import cache  # noqa: E402

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backprop_course.lectures import classification as cl  # noqa: E402
from backprop_course.lectures import datasets  # noqa: E402
from difference_quotients import centred  # noqa: E402
from lecture_standins import Centroids  # noqa: E402
from project import ROOT  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "06_batches_and_classification.ipynb"
PNG = b"\x89PNG"


def assert_gradient(analytic, numeric, rtol=1e-6, atol=1e-9):
    assert np.shape(analytic) == np.shape(numeric)
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)


@cache
def lecture():
    """The notebook's own definitions: its imports and every cell tagged 'definitions', in one namespace."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace = {}
    setup = next(c for c in nb.cells if c.cell_type == "code")
    exec(compile("\n".join(line for line in setup.source.splitlines()
                           if line.startswith(("import", "from"))), "<lecture 6 setup>", "exec"), namespace)
    cells = [c for c in nb.cells if "definitions" in c.metadata.get("tags", [])]
    assert len(cells) >= 4
    for cell in cells:
        exec(compile(cell.source, "<lecture 6>", "exec"), namespace)
    return namespace


# --- the notebook's derivations ---------------------------------------------------------------

@pytest.mark.parametrize("D,M", [(3, 5), (1, 2), (4, 1)])
def test_the_lectures_layer_gradients_for_one_sample(D, M):
    """∂e/∂W = o ⊗ δ, ∂e/∂b = δ, ∂e/∂o = W·δ, for e = Σ δ ⊙ (o·W + b)."""
    rng = np.random.default_rng(D * 10 + M)
    o, W, b, delta = rng.normal(size=D), rng.normal(size=(D, M)), rng.normal(size=M), rng.normal(size=M)
    d_o, d_W, d_b = lecture()["layer_gradients"](o, W, delta)
    assert_gradient(d_o, centred(lambda v: np.sum(delta * (v @ W + b)), o))
    assert_gradient(d_W, centred(lambda v: np.sum(delta * (o @ v + b)), W))
    assert_gradient(d_b, centred(lambda v: np.sum(delta * (o @ W + v)), b))


@pytest.mark.parametrize("shift", [0.0, 1000.0, -1000.0])
def test_the_lectures_softmax_cross_entropy_gradient_is_y_hat_minus_t(shift):
    softmax, cross_entropy = lecture()["softmax"], lecture()["cross_entropy"]
    rng = np.random.default_rng(5)
    z, y = rng.normal(0, 2, 4) + shift, 1
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y_hat = softmax(z)
        loss = cross_entropy(z, y)
    assert y_hat.sum() == pytest.approx(1.0)
    plain = np.exp(z - shift) / np.exp(z - shift).sum()   # the definition, where it is safe
    assert loss == pytest.approx(-np.log(plain[y]), rel=1e-9)
    numeric = centred(lambda v: cross_entropy(v, y), z - z.max())   # e is shift-invariant
    assert_gradient(y_hat - np.eye(4)[y], numeric)


def test_the_lectures_cross_entropy_survives_an_underflowing_probability():
    z, y = np.array([0.0, 800.0, 1.0]), 0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert lecture()["cross_entropy"](z, y) == pytest.approx(800.0, rel=1e-12)


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


# --- the lecture's Net -------------------------------------------------------------------------

def _loss_at(net, param, X, y):
    def loss(value):
        saved = param.copy()
        param[...] = value
        try:
            return net.mean_gradients(X, y)[0]
        finally:
            param[...] = saved
    return loss


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_the_lectures_net_backprop_matches_finite_differences(activation, output):
    X, y = datasets.spirals(n_per_class=3, seed=2)
    net = lecture()["Net"]([2, 5, 4, 3], activation=activation, output=output, init="xavier", seed=1)
    net.b = [b + 0.2 for b in net.b]
    loss, dW, db = net.mean_gradients(X, y)
    for analytic, param in zip(dW + db, net.W + net.b):
        assert_gradient(analytic, centred(_loss_at(net, param, X, y), param))


def test_the_lectures_net_losses_are_their_definitions():
    X, y = datasets.two_moons(n=10, seed=3)
    for output in ("softmax", "sigmoid"):
        net = lecture()["Net"]([2, 3, 2], output=output, seed=4)
        z, _ = net.forward(X)                      # the forward pass takes a batch, row by row
        t = np.eye(2)[y]
        if output == "softmax":
            expected = -np.mean(np.log(np.exp(z)[np.arange(10), y] / np.exp(z).sum(axis=1)))
        else:
            expected = np.mean(0.5 * np.sum((t - 1 / (1 + np.exp(-z))) ** 2, axis=1))
        assert net.mean_gradients(X, y)[0] == pytest.approx(expected, rel=1e-12)


def test_the_lectures_net_trains_online_in_a_seeded_order():
    """train_epoch: one step per sample, in the order rng.permutation(N); the mean of their losses."""
    Net = lecture()["Net"]
    X, y = datasets.spirals(n_per_class=3, seed=0)
    net, rng = Net([2, 4, 3], seed=2), np.random.default_rng(7)
    replay, order = Net([2, 4, 3], seed=2), np.random.default_rng(7).permutation(len(y))
    losses = []
    for n in order:
        loss, dW, db = replay.loss_and_gradients(X[n], y[n])
        losses.append(loss)
        replay.W = [W - 0.1 * g for W, g in zip(replay.W, dW)]
        replay.b = [b - 0.1 * g for b, g in zip(replay.b, db)]
    assert net.train_epoch(X, y, 0.1, rng) == pytest.approx(np.mean(losses), rel=1e-12)
    for a, b in zip(net.W + net.b, replay.W + replay.b):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_gradients_vanish_with_depth_for_sigmoid_not_relu():
    """The lecture's figure: 8 hidden layers, first-layer gradient over last-layer gradient."""
    Net = lecture()["Net"]
    X, y = datasets.spirals(seed=0)
    norms = {}
    for activation, init in (("sigmoid", "xavier"), ("relu", "he")):
        _, dW, _ = Net([2] + [32] * 8 + [3], activation, init=init, seed=0).mean_gradients(X[:64], y[:64])
        norms[activation] = [np.linalg.norm(g) for g in dW]
    assert norms["sigmoid"][0] / norms["sigmoid"][-1] < 1e-3
    assert 0.05 < norms["relu"][0] / norms["relu"][-1] < 20


def test_zero_init_keeps_the_hidden_neurons_identical():
    X, y = datasets.spirals(seed=0)
    net, rng = lecture()["Net"]([2, 8, 3], activation="sigmoid", init="zeros"), np.random.default_rng(0)
    for _ in range(3):
        net.train_epoch(X, y, 0.05, rng)
    assert np.any(net.W[0]) and np.allclose(net.W[0], net.W[0][:, :1])


def test_a_hidden_layer_is_needed_for_the_spirals():
    X, y = datasets.spirals(seed=0)
    X_train, y_train, X_test, y_test = datasets.split(X, y)
    accuracies = {}
    for sizes in ([2, 3], [2, 32, 3]):
        net, rng = lecture()["Net"](sizes, seed=0), np.random.default_rng(0)
        for _ in range(30):                       # as lecture 6's figure
            net.train_epoch(X_train, y_train, 0.05, rng)
        accuracies[len(sizes)] = cl.accuracy(net.predict(X_test), y_test)
    assert accuracies[2] < 0.75 < 0.95 < accuracies[3]


# --- the package: initialisations, helpers, data sets ----------------------------------------------

def test_initialisations():
    """LeCun σ² = 1/fan_in, Xavier (Glorot and Bengio) σ² = 2/(fan_in + fan_out), He σ² = 2/fan_in."""
    for init, expected in (("he", np.sqrt(2 / 200)), ("lecun", np.sqrt(1 / 200)), ("xavier", np.sqrt(2 / 600)),
                           ("small", 0.01), ("large", 3.0), ("zeros", 0.0)):
        assert cl.INITS[init](200, 400) == pytest.approx(expected, rel=1e-12), init
    assert cl.INITS["xavier"](64, 64) == pytest.approx(cl.INITS["lecun"](64, 64))   # equal when fan_in = fan_out
    W = lecture()["Net"]([200, 400, 2], init="xavier", seed=0).W[0]
    assert W.std() == pytest.approx(np.sqrt(2 / 600), rel=0.02)


def test_accuracy_and_standardise():
    assert cl.accuracy([0, 1, 1, 2], [0, 1, 2, 2]) == 0.75
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


# --- the widget: it trains the class it is given ------------------------------------------------

def test_boundary_trainer_trains_and_redraws():
    w = cl.boundary_trainer(lecture()["Net"], dataset="two moons", hidden=16, learning_rate=0.05, epochs=10, frames=3)
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
    # the widget's net is the class it was given: its accuracy is what that net's predict gives
    assert isinstance(w.net, lecture()["Net"])
    assert w.test_accuracy[-1] == cl.accuracy(w.net.predict(w.X_test), w.y_test)


def test_boundary_trainer_runs_any_class_of_its_contract():
    w = cl.boundary_trainer(Centroids, dataset="xor", epochs=3, frames=1, learning_rate=0.5)
    assert isinstance(w.net, Centroids) and w.net.sizes == [2, 16, 2]
    w.train()
    assert w.epochs == 3 and w.losses[-1] < w.losses[0]
    w.hidden_slider.value = 5
    assert w.net.sizes == [2, 5, 2] and w.epochs == 0
    w.init_dropdown.value = "zeros"
    assert w.net.init == "zeros" and not np.any(w.net.centres)


def test_one_frame_per_click_shows_the_last_epoch():
    w = cl.boundary_trainer(Centroids, dataset="two moons", epochs=4, frames=1)
    drawn = w.frames_drawn
    w.train()
    assert w.frames_drawn == drawn + 1 and w.figure.axes[0].get_title() == "epoch 4: held-out samples"


def test_boundary_trainer_controls_start_again():
    Net = lecture()["Net"]
    w = cl.boundary_trainer(Net, epochs=5, frames=1)
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
    w.eta_slider.value = 3.0
    w.train(5)                                    # η far too large: no error, a bad net
    assert w.epochs == 5 and w.test_accuracy[-1] < 0.9
    w.reset_button.click()
    assert w.epochs == 0 and w.losses == []


def test_boundary_trainer_is_reproducible():
    a, b = (cl.boundary_trainer(lecture()["Net"], epochs=4, frames=1) for _ in range(2))
    a.train()
    b.train()
    assert a.losses == b.losses


def test_boundary_trainer_displays():
    bundle = cl.boundary_trainer(Centroids, frames=1)._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
