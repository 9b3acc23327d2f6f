"""The cases of 03_vectorised's checks: a dense layer, softmax with cross-entropy, a gradient
check, one epoch of mini-batch SGD and training to an accuracy.

Right gradients are centred finite differences of the losses as defined (``oracle.py``); an
epoch's is SGD on finite-difference gradients; known mistakes are replayed on the reference
(``reference.dense_forward`` … ``reference.sgd_epoch``, written like lecture 6's equations).
"""
from __future__ import annotations

import numpy as np

from backprop_course.checks.core import Case
from backprop_course.checks.two_layer_net import unpack
from backprop_course.checks.vectorised import ACCURACY, PARAMS, TRAINING, finiteness, watched, wave
from backprop_course.checks.vectorised import predict as v_predict
from backprop_course.datasets import spirals, split

from . import reference, standins
from .cases import Unsound, attempt, chain, later, register, suspects
from .oracle import numerical_gradient


# --- the oracle: the losses as defined, and their finite differences --------------------------

def cross_entropy(logits, y):
    """e = −(1/N) Σ_n log ŷ_{n,y_n} with ŷ = softmax(z): the definition, through log-sum-exp."""
    logits = np.asarray(logits, dtype=float)
    log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    return -float(log_probs[np.arange(len(y)), y].sum()) / len(y)


def cross_entropy_gradient(logits, y):
    """∂e/∂z by finite differences; each row is shifted by its max first (e does not change,
    and the differences are then taken where e is of order 1, not 1000)."""
    logits = np.asarray(logits, dtype=float)
    return numerical_gradient(lambda z: cross_entropy(z, y), logits - logits.max(axis=1, keepdims=True))


def net_loss(params, X, y):
    """The 2-layer ReLU net's mean cross-entropy, from the definitions only (for finite differences)."""
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0)
    return cross_entropy(hidden @ params["W2"] + params["b2"], y)


def pack(params):
    """θ (P,): params' W1, b1, W2, b2 flattened in that order."""
    return np.concatenate([np.ravel(params[k]) for k in PARAMS])


def sgd_epoch_oracle(params, X, y, batch_size, learning_rate, rng_seed):
    """One epoch of mini-batch SGD on finite-difference gradients: (params after, mean batch loss,
    [θ flat before and after each batch])."""
    shapes = {k: np.shape(v) for k, v in params.items()}
    thetas = [pack(params)]
    order = np.random.default_rng(rng_seed).permutation(len(y))
    losses = []
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        loss = lambda th: net_loss(unpack(th, shapes), X[idx], y[idx])  # noqa: E731
        losses.append(loss(thetas[-1]))
        thetas.append(thetas[-1] - learning_rate * numerical_gradient(loss, thetas[-1]))
    return unpack(thetas[-1], shapes), float(np.mean(losses)), thetas


# --- Exercise 1: the dense layer --------------------------------------------------------------

def _dense(seed, N, D, M):
    rng = np.random.default_rng(seed)
    s = {"x": rng.normal(0, 1, (N, D)).tolist(), "W": rng.normal(0, 1, (D, M)).tolist(),
         "b": rng.normal(0, 1, M).tolist(), "dout": rng.normal(0, 1, (N, M)).tolist()}
    return s, np.array(s["x"]), np.array(s["W"]), np.array(s["b"]), np.array(s["dout"])


@register("check_dense_forward")
def dense_forward_case(*, seed=0, N=4, D=3, M=5):
    """The Case of check_dense_forward: out = x·W + b (N, M) for x (N, D), W (D, M), b (M,)."""
    s, x, W, b, _ = _dense(seed, N, D, M)
    return Case(s, {"out": np.einsum("nd,dm->nm", x, W) + b},
                suspects(lambda eq: {"out": attempt(lambda: reference.dense_forward(x, W, b, eq)[0])}))


@register("check_dense_backward")
def dense_backward_case(*, seed=0, N=4, D=3, M=5):
    """The Case of check_dense_backward: dx (N, D), dW (D, M), db (M,) by finite differences of
    Σ dout ⊙ (x·W + b)."""
    s, x, W, b, dout = _dense(seed, N, D, M)
    upstream = lambda x_, W_, b_: float(np.sum(dout * (np.einsum("nd,dm->nm", x_, W_) + b_)))  # noqa: E731
    expected = {"dW": numerical_gradient(lambda v: upstream(x, v, b), W),
                "db": numerical_gradient(lambda v: upstream(x, W, v), b),
                "dx": numerical_gradient(lambda v: upstream(v, W, b), x)}
    return Case(s, expected, suspects(lambda eq: chain(
        lambda: dict(zip(("dx", "dW", "db"), reference.dense_backward(dout, (x, W, b), eq))), "dx", "dW", "db")))


# --- Exercise 2: softmax with cross-entropy ---------------------------------------------------

def _softmax(seed, N, C, scale, large):
    """Logits ~ N(0, scale²). ``large``: row 0 lifted by +1000, row 1 lowered by −1000 (a plain
    exp overflows or underflows to 0/0), and row 2's true class put 800 below the others (its ŷ
    underflows to 0, so log ŷ is −inf unless the log is taken by log-sum-exp)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, scale, (N, C))
    y = rng.integers(0, C, N)
    if large:
        logits[0] += 1000.0
        logits[1] -= 1000.0
        logits[2, y[2]] -= 800.0
    s = {"logits": logits.tolist(), "y": y.tolist(), "large": bool(large)}
    logits, y = np.array(s["logits"]), np.array(s["y"], dtype=int)

    def replay(eq):
        def run():
            loss, dlogits = reference.softmax_cross_entropy(logits, y, eq)
            return {"loss": loss, "dlogits": dlogits, "finite": finiteness(loss, dlogits)}
        return chain(run, "loss", "dlogits", "finite")

    expected = {"loss": cross_entropy(logits, y), "dlogits": cross_entropy_gradient(logits, y)}
    return Case(s, expected, suspects(replay))


@register("check_softmax_loss")
def softmax_loss_case(*, seed=0, N=4, C=3, scale=2.0):
    """The Case of check_softmax_loss: e = −(1/N) Σ_n log ŷ[n, y_n] for logits (N, C)."""
    return _softmax(seed, N, C, scale, False)


@register("check_softmax_gradient")
def softmax_gradient_case(*, seed=0, N=4, C=3, scale=2.0):
    """The Case of check_softmax_gradient: ∂e/∂logits (N, C) by finite differences."""
    return _softmax(seed, N, C, scale, False)


@register("check_softmax_stable")
def softmax_stable_case(*, seed=0, N=4, C=3, scale=2.0):
    """The Case of check_softmax_stable: the loss and gradient on logits large enough to overflow e^z."""
    return _softmax(seed, N, C, scale, True)


# --- Exercise 3: the gradient check -----------------------------------------------------------

def wave_central_difference(x, h, a, k, A, c):
    """The exact central difference of ``wave`` with step h: a_i·k·cos(k·x_i)·sin(kh)/(kh) + ((A + Aᵀ)/2·v + c)_i.

    (sin(k(x + h)) − sin(k(x − h)))/(2h) = cos(kx)·sin(kh)/h, and a quadratic's central
    difference is its gradient. As h → 0 it is the gradient, with error a·k³·h²/6.
    """
    x = np.asarray(x, dtype=float)
    v = x.ravel()
    return (a * np.cos(k * v) * np.sin(k * h) / h + 0.5 * (A + A.T) @ v + c).reshape(x.shape)


@register("check_grad_check")
def grad_check_case(*, seed=0, shape=(3, 4), h=1e-5, kind="wave"):
    """kind 'wave': f = ``wave`` at a random x. kind 'model': f(W) = the mean cross-entropy of a
    softmax classifier on a small batch, with W (D, C), and the known-good and known-bad gradients
    the test reports about; the probe gets a stand-in of f that knows the points a gradient check
    evaluates (f would be cross-entropy's loss, in the kernel, otherwise)."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in shape)
    size = int(np.prod(shape))
    s = {"kind": kind, "h": float(h), "x": rng.normal(0, 1, shape).tolist()}
    x = np.array(s["x"])
    if kind == "wave":
        s.update(a=rng.uniform(0.5, 1.5, size).tolist(), k=3.0, A=rng.normal(0, 1, (size, size)).tolist(),
                 c=rng.normal(0, 1, size).tolist())
        a, k, A, c = np.array(s["a"]), s["k"], np.array(s["A"]), np.array(s["c"])
        f, recorded = (lambda v: wave(v, a, k, A, c)), None
        expected = {"grad": wave_central_difference(x, h, a, k, A, c), "moved": True}
    else:
        s.update(batch=rng.normal(0, 1, (5, shape[0])).tolist(), y=rng.integers(0, shape[1], 5).tolist())
        batch, y = np.array(s["batch"]), np.array(s["y"], dtype=int)
        f = lambda W: cross_entropy(batch @ W, y)  # noqa: E731
        _, dlogits = reference.softmax_cross_entropy(batch @ x, y)
        good = batch.T @ dlogits
        expected = {"grad": numerical_gradient(f, x), "good": good, "bad": good * len(y), "moved": True}
        recorded = {"points": standins.points(f, lambda g, eq: reference.grad_check(g, x.copy(), h, eq))}

    def replay(eq):
        def run():
            x_ = x.copy()
            evaluated, away = watched(f, x)
            grad = reference.grad_check(evaluated, x_, h, eq)
            changed = not (x_.shape == x.shape and np.allclose(x_, x, rtol=1e-9, atol=1e-12))
            return {"grad": grad, "x_changed": bool(changed), "moved": any(away)}
        return chain(run, "grad", "x_changed", "moved")

    return Case(s, expected, suspects(replay), recorded)


# --- Exercise 4: one epoch of mini-batch SGD, and training to an accuracy -----------------------

def init_params(rng, D, H, C):
    """He initialisation, N(0, 2/fan_in), and zero biases: what the notebook's init_params does."""
    return {"W1": rng.normal(0, np.sqrt(2 / D), (D, H)), "b1": np.zeros(H),
            "W2": rng.normal(0, np.sqrt(2 / H), (H, C)), "b2": np.zeros(C)}


def _replay_epochs(params, X, y, batch_size, learning_rate, rng_seed, equations, epochs=1):
    """What the reference's sgd_epoch with ``equations`` does to a copy of params, epoch after epoch
    on one rng: (θ after, the last epoch's mean loss)."""
    P, rng = {k: np.array(v, dtype=float) for k, v in params.items()}, np.random.default_rng(rng_seed)
    for _ in range(epochs):
        loss = reference.sgd_epoch(P, X, y, batch_size, learning_rate, rng, equations)
    return pack(P), loss


@register("check_sgd_epoch")
def epoch_case(*, seed=0, N=10, D=3, H=5, C=3, batch_size=4, learning_rate=0.5):
    """A random batch and net; biases drawn too, so that a forgotten bias update shows."""
    rng = np.random.default_rng(seed)
    params = init_params(rng, D, H, C)
    params["b1"], params["b2"] = rng.normal(0, 0.5, H), rng.normal(0, 0.5, C)
    s = {"X": rng.normal(0, 1, (N, D)).tolist(), "y": rng.integers(0, C, N).tolist(),
         "params": {k: v.tolist() for k, v in params.items()}, "batch_size": int(batch_size),
         "learning_rate": float(learning_rate), "rng_seed": int(seed) + 1000}
    params = {k: np.array(v) for k, v in s["params"].items()}
    X, y, B, eta = np.array(s["X"]), np.array(s["y"], dtype=int), s["batch_size"], s["learning_rate"]
    expected, loss, steps = sgd_epoch_oracle(params, X, y, B, eta, s["rng_seed"])

    def run(layer_functions, eq):
        P = {k: np.array(v, dtype=float) for k, v in params.items()}
        reference.sgd_epoch(P, X, y, B, eta, np.random.default_rng(s["rng_seed"]), eq, layer_functions)

    def replay(eq):
        return chain(lambda: dict(zip(("theta", "loss"), _replay_epochs(params, X, y, B, eta, s["rng_seed"], eq))),
                     "theta", "loss")

    return Case(s, {"theta": pack(expected), "loss": loss, "trajectory": steps}, suspects(replay, standins.LAYER),
                {"layers": standins.layers(run)})


#: a training scenario is sound when the lecture's training clears the accuracy by this much: a right
#: sgd_epoch passes it with room to spare
SOUND_MARGIN = 0.03

#: the trusted layers the grader hands sgd_epoch for the training check, as source: no recording
#: can hold 700 steps' answers, so they are sent, computing, after every other probe of the notebook
#: (tests/checks/test_checks.py checks they compute what ``reference.batch_layers()`` does, bit for bit)
TRUSTED_SOURCE = '''
def dense_forward(x, W, b):
    return x @ W + b, (x, W, b)


def dense_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(np.asarray(x, dtype=float), 0.0), x


def relu_backward(dout, cache):
    return dout * (np.asarray(cache) > 0).astype(float)


def softmax_cross_entropy(logits, y):
    z, y = np.asarray(logits, dtype=float), np.asarray(y, dtype=int)
    t = np.eye(z.shape[1])[y]
    shifted = z - z.max(axis=1, keepdims=True)
    log_y_hat = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(log_y_hat[np.arange(len(y)), y])
    shifted = z - z.max(axis=1, keepdims=True)
    y_hat = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    return float(loss), (y_hat - t) / len(t)
'''


@register("check_training")
def training_case(*, seed=0):
    """The Case of check_training: the spirals split, the initial params, and the held-out test
    samples the trained net must reach ACCURACY on; the reference's θ after the first epoch, and
    the mistakes' replays of it and of the last (Unsound when the stated training falls short)."""
    settings = {"seed": int(seed), **TRAINING}
    X_all, y_all = spirals(n_per_class=settings["n_per_class"], seed=settings["seed"])
    X, y, X_test, y_test = split(X_all, y_all)
    initial = init_params(np.random.default_rng(seed), X.shape[1], settings["hidden"], int(y.max()) + 1)
    s = {**settings, "X": X.tolist(), "y": y.tolist(), "params": {k: v.tolist() for k, v in initial.items()}}
    arguments = (initial, X, y, s["batch_size"], s["learning_rate"], seed + 1)

    def replay(eq):
        return {**later(lambda: {"first": _replay_epochs(*arguments, eq)[0]}, "first"),
                **later(lambda: {"last": _replay_epochs(*arguments, eq, epochs=s["epochs"])[0]}, "last")}

    trained = unpack(_replay_epochs(*arguments, reference.LECTURE, epochs=s["epochs"])[0],
                     {k: np.shape(v) for k, v in initial.items()})
    reached = float(np.mean(v_predict(trained, X_test) == y_test))
    if reached < ACCURACY + SOUND_MARGIN:
        raise Unsound(f"the stated training reaches {reached:.0%} on seed {seed}")
    expected = {"X_test": X_test, "y_test": y_test, "first": _replay_epochs(*arguments, reference.LECTURE)[0]}
    return Case(s, expected, suspects(replay), {"source": TRUSTED_SOURCE})
