"""Checks of 03_vectorised: a dense layer on a batch, softmax with cross-entropy, a gradient
check, and one epoch of mini-batch SGD on a 2-layer ReLU net.

Each is a ``Check`` (scenario → probe → judge, see ``core``). Expected gradients come from
centred finite differences (``oracle.numerical_gradient``) of the losses as defined, never
from the backprop formulas; ``grad_check``'s expected result is the central difference in
closed form (functions whose central difference is known exactly), and an epoch's is SGD on
finite-difference gradients. A wrong result is named by replaying the reference
(``reference.dense_forward`` … ``reference.sgd_epoch``, written like lecture 6's equations) under
each deviation of the mistake table (``core.Suspects``). The probe of ``sgd_epoch`` swaps the
reference layers in for the student's own, so that a mistake there costs its points once, on
its own exercise.
"""
from __future__ import annotations

import contextlib
from functools import cache

import numpy as np

from ..lectures.datasets import spirals, split
from . import reference
from .core import ATOL, RTOL, Check, Missing, Suspects, WrongAnswer, plain
from .oracle import numerical_gradient

#: tolerances of grad_check against the exact central difference: a central difference
#: rounds to ~1e-10 here, a one-sided one (error ~ h·f''/2) or a step of 1e-3 misses by 1e-6 or more
GRAD_RTOL, GRAD_ATOL = 1e-7, 1e-9
#: x must come back from grad_check as it went in, up to the rounding of x + h − h
RESTORED_RTOL, RESTORED_ATOL = 1e-9, 1e-12
#: the held-out accuracy the training loop must reach, and how it trains (stated in the notebook)
ACCURACY = 0.9
TRAINING = {"n_per_class": 100, "hidden": 64, "batch_size": 16, "learning_rate": 0.5, "epochs": 50}
PARAMS = ("W1", "b1", "W2", "b2")


# --- comparing arrays, shapes first ---------------------------------------------------------

def _array(observed, quantity):
    if isinstance(observed, dict):
        what = observed.get("not_a_number") or f"no `{observed.get('missing')}`"
        raise WrongAnswer(f"{quantity} should be an array of numbers, not {what}.")
    try:
        return np.asarray(observed, dtype=float)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{quantity} should be an array of numbers, not {observed!r}"[:300]) from None


def _close(a, b, rtol, atol):
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and np.allclose(a, b, rtol=rtol, atol=atol)


def _compare(suspects, quantity, observed, expected, replay, reveal, narrow=True, rtol=RTOL, atol=ATOL):
    """``Suspects.compare``, where the shape counts too: a (D, M) gradient is not a (M, D) one, nor a
    flat one. A known mistake is named by its values, in any shape (a transposed dW is named
    although its shape differs). Hidden tests (reveal=False) show shapes, never values."""
    actual, expected = _array(observed, quantity), np.asarray(expected, dtype=float)
    try:
        suspects.compare(quantity, actual, expected, replay, reveal, narrow, rtol, atol)
    except WrongAnswer:
        if actual.shape != expected.shape:
            raise WrongAnswer(f"{quantity} has shape {actual.shape}, expected {expected.shape}.") from None
        if not np.all(np.isfinite(actual)):
            raise WrongAnswer(f"{quantity} holds nan or inf.") from None
        raise
    if actual.shape != expected.shape:
        raise WrongAnswer(f"{quantity} has shape {actual.shape}, expected {expected.shape}.")


def _pair(result, name, size):
    """(result, "") when a student's function returned a tuple of ``size``, else (None, what it returned instead)."""
    if not isinstance(result, (tuple, list)) or len(result) != size:
        what = f"a {type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        return None, f"{name} must return a tuple of {size} (see its docstring), not {what}."
    return result, ""


def _problem(observed):
    if observed.get("problem"):
        raise WrongAnswer(observed["problem"])


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


# --- the 2-layer net, from the definitions only: its loss and SGD on finite differences ----------

def net_loss(params, X, y):
    """The 2-layer ReLU net's mean cross-entropy, from the definitions only (for finite differences)."""
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0)
    return cross_entropy(hidden @ params["W2"] + params["b2"], y)


def predict(params, X):
    hidden = np.maximum(np.asarray(X) @ np.asarray(params["W1"]) + np.asarray(params["b1"]), 0)
    return np.argmax(hidden @ np.asarray(params["W2"]) + np.asarray(params["b2"]), axis=1)


def _pack(params):
    return np.concatenate([np.ravel(params[k]) for k in PARAMS])


def _unpack(theta, shapes):
    """θ (flat) → {"W1": …, "b1": …, "W2": …, "b2": …} of ``shapes``, as views of θ."""
    theta, params, start = np.asarray(theta, float), {}, 0
    for k in PARAMS:
        size = int(np.prod(shapes[k]))
        params[k] = theta[start:start + size].reshape(shapes[k])
        start += size
    return params


def sgd_epoch_oracle(params, X, y, batch_size, learning_rate, rng_seed):
    """One epoch of mini-batch SGD on finite-difference gradients: (params after, mean batch loss)."""
    shapes = {k: np.shape(v) for k, v in params.items()}
    theta = _pack(params)
    order = np.random.default_rng(rng_seed).permutation(len(y))
    losses = []
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        loss = lambda th: net_loss(_unpack(th, shapes), X[idx], y[idx])  # noqa: E731
        losses.append(loss(theta))
        theta = theta - learning_rate * numerical_gradient(loss, theta)
    return _unpack(theta, shapes), float(np.mean(losses))


#: what the probe of sgd_epoch swaps in for the student's own layers: the reference, as the lecture gives it
TRUSTED = {f.__name__: f for f in (reference.dense_forward, reference.dense_backward, reference.relu_forward,
                                   reference.relu_backward, reference.softmax_cross_entropy)}


# --- Exercise 1: the dense layer --------------------------------------------------------------

def dense_scenario(*, seed=0, N=4, D=3, M=5):
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(0, 1, (N, D)).tolist(), "W": rng.normal(0, 1, (D, M)).tolist(),
            "b": rng.normal(0, 1, M).tolist(), "dout": rng.normal(0, 1, (N, M)).tolist()}


def _dense_inputs(s):
    return np.array(s["x"]), np.array(s["W"]), np.array(s["b"])


def probe_dense_forward(dense_forward, s):
    result, problem = _pair(dense_forward(*_dense_inputs(s)), "dense_forward", 2)
    return {"problem": problem} if problem else {"out": plain(result[0])}


def judge_dense_forward(s, observed, reveal):
    """out = x·W + b, one row per sample: out[n, m] = Σ_d x[n, d]·W[d, m] + b[m]."""
    _problem(observed)
    x, W, b = _dense_inputs(s)
    _compare(Suspects(), "out returned by dense_forward", observed["out"], np.einsum("nd,dm->nm", x, W) + b,
             lambda eq: reference.dense_forward(x, W, b, eq)[0], reveal)


def probe_dense_backward(dense_forward, dense_backward, s):
    x, W, b = _dense_inputs(s)
    try:
        result, problem = _pair(dense_forward(x, W, b), "dense_forward", 2)
        cache = result[1] if result else (x, W, b)
    except Exception:  # noqa: BLE001 (forward is graded on its own: the backward test uses the documented cache)
        cache = (x, W, b)
    result, problem = _pair(dense_backward(np.array(s["dout"]), cache), "dense_backward", 3)
    return {"problem": problem} if problem else dict(zip(("dx", "dW", "db"), map(plain, result)))


def judge_dense_backward(s, observed, reveal):
    """dx, dW and db: finite differences of Σ dout ⊙ (x·W + b), the loss that sends dout back."""
    _problem(observed)
    x, W, b = _dense_inputs(s)
    dout = np.array(s["dout"])
    upstream = lambda x_, W_, b_: float(np.sum(dout * (np.einsum("nd,dm->nm", x_, W_) + b_)))  # noqa: E731
    expected = {"dW": numerical_gradient(lambda v: upstream(x, v, b), W),
                "db": numerical_gradient(lambda v: upstream(x, W, v), b),
                "dx": numerical_gradient(lambda v: upstream(v, W, b), x)}
    replay = cache(lambda eq: dict(zip(("dx", "dW", "db"), reference.dense_backward(dout, (x, W, b), eq))))
    suspects = Suspects()
    for name in ("dW", "db", "dx"):  # three results of dout, none computed from another: narrow=False
        _compare(suspects, f"{name} returned by dense_backward", observed[name], expected[name],
                 lambda eq, name=name: replay(eq)[name], reveal, narrow=False)


check_dense_forward = Check("check_dense_forward", 1, dense_scenario, probe_dense_forward, judge_dense_forward)
check_dense_backward = Check("check_dense_backward", 2, dense_scenario, probe_dense_backward, judge_dense_backward)


# --- Exercise 2: softmax with cross-entropy ---------------------------------------------------

def softmax_scenario(*, seed=0, N=4, C=3, scale=2.0, large=False):
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
    return {"logits": logits.tolist(), "y": y.tolist(), "large": bool(large)}


def probe_softmax(softmax_cross_entropy, s):
    result, problem = _pair(softmax_cross_entropy(np.array(s["logits"]), np.array(s["y"], dtype=int)),
                            "softmax_cross_entropy", 2)
    return {"problem": problem} if problem else {"loss": plain(result[0]), "dlogits": plain(result[1])}


def _softmax_expected(s):
    """logits, y, the loss as defined and its finite-difference gradient, and the reference replayed."""
    logits, y = np.array(s["logits"]), np.array(s["y"], dtype=int)
    replay = cache(lambda eq: reference.softmax_cross_entropy(logits, y, eq))
    return cross_entropy(logits, y), cross_entropy_gradient(logits, y), replay


def _judge_loss(s, observed, reveal):
    loss, _, replay = _softmax_expected(s)
    _compare(Suspects(), "The loss returned by softmax_cross_entropy", observed["loss"], loss,
             lambda eq: replay(eq)[0], reveal)


def _judge_gradient(s, observed, reveal):
    _, grad, replay = _softmax_expected(s)
    _compare(Suspects(), "dlogits returned by softmax_cross_entropy", observed["dlogits"], grad,
             lambda eq: replay(eq)[1], reveal)


def _finite(values):
    """'nan', 'inf' or 'finite': how a result went wrong on large logits."""
    values = np.asarray(values, dtype=float)
    return "nan" if np.isnan(values).any() else "inf" if np.isinf(values).any() else "finite"


def judge_softmax_loss(s, observed, reveal):
    """The mean cross-entropy −(1/N) Σ_n log ŷ_{n,y_n}."""
    _problem(observed)
    _judge_loss(s, observed, reveal)


def judge_softmax_gradient(s, observed, reveal):
    """dlogits against finite differences of the mean cross-entropy."""
    _problem(observed)
    _judge_gradient(s, observed, reveal)


def judge_softmax_stable(s, observed, reveal):
    """Loss and dlogits stay finite and right on logits around ±1000."""
    _problem(observed)
    with np.errstate(invalid="ignore"):
        seen = (_finite(_array(observed["loss"], "The loss")), _finite(_array(observed["dlogits"], "dlogits")))
    if seen != ("finite", "finite"):
        _, _, replay = _softmax_expected(s)
        quantity = ("The loss on a sample whose true class is 800 below the others" if seen == ("inf", "finite")
                    else "softmax_cross_entropy on logits around ±1000")
        Suspects().blame(quantity, lambda eq: (_finite(replay(eq)[0]), _finite(replay(eq)[1])) == seen)
        raise WrongAnswer(f"{quantity}: the loss is {seen[0]} and dlogits {seen[1]}; both must stay finite.")
    _judge_loss(s, observed, reveal)
    _judge_gradient(s, observed, reveal)


check_softmax_loss = Check("check_softmax_loss", 1, softmax_scenario, probe_softmax, judge_softmax_loss)
check_softmax_gradient = Check("check_softmax_gradient", 1, softmax_scenario, probe_softmax, judge_softmax_gradient)
check_softmax_stable = Check("check_softmax_stable", 1, lambda **a: softmax_scenario(large=True, **a), probe_softmax,
                             judge_softmax_stable)


# --- Exercise 3: the gradient check -----------------------------------------------------------

def wave(x, a, k, A, c):
    """f(x) = Σ_i a_i·sin(k·x_i) + ½ vᵀA v + cᵀv with v = x flattened: curved in every direction."""
    v = np.asarray(x, dtype=float).ravel()
    return float(np.sum(a * np.sin(k * v)) + 0.5 * v @ A @ v + c @ v)


def wave_central_difference(x, h, a, k, A, c):
    """The exact central difference of ``wave`` with step h: a_i·k·cos(k·x_i)·sin(kh)/(kh) + ((A + Aᵀ)/2·v + c)_i.

    (sin(k(x + h)) − sin(k(x − h)))/(2h) = cos(kx)·sin(kh)/h, and a quadratic's central
    difference is its gradient. As h → 0 it is the gradient, with error a·k³·h²/6.
    """
    x = np.asarray(x, dtype=float)
    v = x.ravel()
    return (a * np.cos(k * v) * np.sin(k * h) / h + 0.5 * (A + A.T) @ v + c).reshape(x.shape)


def grad_check_scenario(*, seed=0, shape=(3, 4), h=1e-5, kind="wave"):
    """kind 'wave': f = ``wave`` at a random x. kind 'model': f(W) = the mean cross-entropy of
    a softmax classifier on a small batch, with W (D, C), and the known-good and known-bad
    gradients the test reports about."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in shape)
    size = int(np.prod(shape))
    s = {"kind": kind, "h": float(h), "x": rng.normal(0, 1, shape).tolist()}
    if kind == "wave":
        s.update(a=rng.uniform(0.5, 1.5, size).tolist(), k=3.0, A=rng.normal(0, 1, (size, size)).tolist(),
                 c=rng.normal(0, 1, size).tolist())
    else:
        s.update(batch=rng.normal(0, 1, (5, shape[0])).tolist(), y=rng.integers(0, shape[1], 5).tolist())
    return s


def _grad_check_function(s):
    """The scalar function of the scenario, and its exact central difference (or gradient) at x."""
    x, h = np.array(s["x"]), s["h"]
    if s["kind"] == "wave":
        a, k, A, c = np.array(s["a"]), s["k"], np.array(s["A"]), np.array(s["c"])
        return (lambda v: wave(v, a, k, A, c)), wave_central_difference(x, h, a, k, A, c)
    batch, y = np.array(s["batch"]), np.array(s["y"], dtype=int)
    f = lambda W: cross_entropy(batch @ W, y)  # noqa: E731
    return f, numerical_gradient(f, x)


def _model_gradients(s):
    """The softmax classifier's gradient dW = batchᵀ·dlogits, and a known-bad one (dlogits not divided by N)."""
    batch, y, W = np.array(s["batch"]), np.array(s["y"], dtype=int), np.array(s["x"])
    _, dlogits = reference.softmax_cross_entropy(batch @ W, y)
    good = batch.T @ dlogits
    return good, good * len(y)


def rel_error(a, b):
    """max |a − b| / (|a| + |b|), entry by entry: the relative error the notebook reports."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def probe_grad_check(grad_check, s):
    f, _ = _grad_check_function(s)
    x = np.array(s["x"])
    g = lambda v: f(np.array(v, dtype=float))  # noqa: E731 (a copy: f never sees grad_check's own array)
    grad = grad_check(g, x, s["h"]) if s["h"] != 1e-5 else grad_check(g, x)  # 1e-5: the default is used
    return {"grad": plain(grad), "x_after": plain(x)}


def judge_grad_check(s, observed, reveal):
    """grad_check(f, x, h) against the exact central difference; x left unchanged."""
    x, h = np.array(s["x"]), s["h"]
    f, expected = _grad_check_function(s)

    @cache
    def replay(eq):
        """The reference grad_check with ``eq``: (grad, x after it)."""
        x_ = x.copy()
        return reference.grad_check(f, x_, h, eq), x_

    changed = lambda x_after: not _close(x_after, x, RESTORED_RTOL, RESTORED_ATOL)  # noqa: E731
    if changed(_array(observed["x_after"], "x after grad_check")):
        Suspects().blame("x after grad_check(f, x)", lambda eq: changed(replay(eq)[1]))
        raise WrongAnswer("grad_check(f, x) changed x: leave it as it was.")
    quantity = "The gradient returned by grad_check"
    if s["kind"] == "model":
        good, bad = _model_gradients(s)
        grad = _array(observed["grad"], quantity)
        if grad.shape == x.shape and np.all(np.isfinite(grad)):
            errors = f"it gives the correct dW a relative error of {rel_error(good, grad):.1e} (a correct grad_check: " \
                     f"below 1e-7) and the wrong one (1/N missing) {rel_error(bad, grad):.1e}"
            quantity += f" ({errors})"
    _compare(Suspects(), quantity, observed["grad"], expected, lambda eq: replay(eq)[0], reveal,
             rtol=GRAD_RTOL, atol=GRAD_ATOL)


check_grad_check = Check("check_grad_check", 1, grad_check_scenario, probe_grad_check, judge_grad_check)


# --- Exercise 4: one epoch of mini-batch SGD, and training to an accuracy -----------------------

def _init(rng, D, H, C):
    """He initialisation, N(0, 2/fan_in), and zero biases: what the notebook's init_params does."""
    return {"W1": rng.normal(0, np.sqrt(2 / D), (D, H)), "b1": np.zeros(H),
            "W2": rng.normal(0, np.sqrt(2 / H), (H, C)), "b2": np.zeros(C)}


def epoch_scenario(*, seed=0, N=10, D=3, H=5, C=3, batch_size=4, learning_rate=0.5):
    """A random batch and net; biases drawn too, so that a forgotten bias update shows."""
    rng = np.random.default_rng(seed)
    params = _init(rng, D, H, C)
    params["b1"], params["b2"] = rng.normal(0, 0.5, H), rng.normal(0, 0.5, C)
    return {"X": rng.normal(0, 1, (N, D)).tolist(), "y": rng.integers(0, C, N).tolist(),
            "params": {k: v.tolist() for k, v in params.items()}, "batch_size": int(batch_size),
            "learning_rate": float(learning_rate), "rng_seed": int(seed) + 1000}


@contextlib.contextmanager
def trusted_layers(fn):
    """Run with the trusted layers in place of the student's, in fn's namespace: a mistake in
    Exercise 1 or 2 costs its points there, not again in sgd_epoch."""
    namespace = getattr(fn, "__globals__", {})
    saved = {name: namespace[name] for name in TRUSTED if name in namespace}
    namespace.update(TRUSTED)
    try:
        yield
    finally:
        for name in TRUSTED:
            namespace.pop(name, None)
        namespace.update(saved)


def _read_params(params):
    if not isinstance(params, dict):
        return {k: {"not_a_number": "params is no longer a dict"} for k in PARAMS}
    return {k: plain(params.get(k, Missing(k))) for k in PARAMS}


def probe_epoch(sgd_epoch, s):
    params = {k: np.array(v) for k, v in s["params"].items()}
    X, y = np.array(s["X"]), np.array(s["y"], dtype=int)
    with trusted_layers(sgd_epoch):
        loss = sgd_epoch(params, X, y, s["batch_size"], s["learning_rate"], np.random.default_rng(s["rng_seed"]))
    return {"loss": plain(loss), "params": _read_params(params)}


def _observed_theta(observed, shapes, quantity):
    try:
        return np.concatenate([_array(observed[k], f"params['{k}']").reshape(shapes[k]).ravel() for k in PARAMS])
    except ValueError:
        got = {k: np.shape(observed[k]) for k in PARAMS}
        raise WrongAnswer(f"{quantity}: the arrays no longer have their shapes, {got}.") from None


def _replay_epochs(params, X, y, batch_size, learning_rate, rng_seed, epochs=1):
    """What the reference's sgd_epoch with ``eq`` does to a copy of params, epoch after epoch on
    one rng: a function of eq giving (θ after, the last epoch's mean loss), cached."""
    @cache
    def replay(eq):
        P, rng = {k: np.array(v, dtype=float) for k, v in params.items()}, np.random.default_rng(rng_seed)
        for _ in range(epochs):
            loss = reference.sgd_epoch(P, X, y, batch_size, learning_rate, rng, eq)
        return _pack(P), loss
    return replay


def judge_epoch(s, observed, reveal):
    """One epoch against SGD on finite-difference gradients, batch by batch in the order rng.permutation(N)."""
    params = {k: np.array(v) for k, v in s["params"].items()}
    shapes = {k: v.shape for k, v in params.items()}
    X, y, B, eta = np.array(s["X"]), np.array(s["y"], dtype=int), s["batch_size"], s["learning_rate"]
    expected, loss = sgd_epoch_oracle(params, X, y, B, eta, s["rng_seed"])
    replay = _replay_epochs(params, X, y, B, eta, s["rng_seed"])
    suspects = Suspects()
    quantity = "params after sgd_epoch (W1, b1, W2, b2)"
    _compare(suspects, quantity, _observed_theta(observed["params"], shapes, quantity), _pack(expected),
             lambda eq: replay(eq)[0], reveal)
    _compare(suspects, "The mean loss returned by sgd_epoch", observed["loss"], loss, lambda eq: replay(eq)[1], reveal)


check_sgd_epoch = Check("check_sgd_epoch", 1, epoch_scenario, probe_epoch, judge_epoch)


def training_scenario(*, seed=0):
    return {"seed": int(seed), **TRAINING}


def _training_data(s):
    X, y = spirals(n_per_class=s["n_per_class"], seed=s["seed"])
    return split(X, y)


def probe_training(sgd_epoch, s):
    X, y, _, _ = _training_data(s)
    params = _init(np.random.default_rng(s["seed"]), X.shape[1], s["hidden"], int(y.max()) + 1)
    rng = np.random.default_rng(s["seed"] + 1)
    losses, first = [], None
    with trusted_layers(sgd_epoch):
        for epoch in range(s["epochs"]):
            losses.append(plain(sgd_epoch(params, X, y, s["batch_size"], s["learning_rate"], rng)))
            first = _read_params(params) if epoch == 0 else first
    return {"losses": losses, "first_epoch": first, "params": _read_params(params)}


def judge_training(s, observed, reveal):
    """Training with sgd_epoch reaches ACCURACY on the held-out split."""
    X, y, X_test, y_test = _training_data(s)
    initial = _init(np.random.default_rng(s["seed"]), X.shape[1], s["hidden"], int(y.max()) + 1)
    shapes = {k: v.shape for k, v in initial.items()}
    theta = _observed_theta(observed["params"], shapes, "params after training")
    if not np.all(np.isfinite(theta)):
        raise WrongAnswer("The weights became nan or inf during training.")
    accuracy = float(np.mean(predict(_unpack(theta, shapes), X_test) == y_test))
    if accuracy >= ACCURACY:
        return
    # Name a known mistake whose replay gives the student's weights after the first epoch, and at
    # the end: only a suspect that passes the first (one epoch each) is replayed for all of them.
    first = _observed_theta(observed["first_epoch"], shapes, "params after the first epoch")
    arguments = (initial, X, y, s["batch_size"], s["learning_rate"], s["seed"] + 1)
    first_epoch, every_epoch = _replay_epochs(*arguments), _replay_epochs(*arguments, epochs=s["epochs"])
    if not _close(first_epoch(reference.LECTURE)[0], first, RTOL, ATOL):
        Suspects().blame(f"Training ({accuracy:.0%} held-out accuracy, {ACCURACY:.0%} needed)",
                         lambda eq: _close(first_epoch(eq)[0], first, RTOL, ATOL)
                         and _close(every_epoch(eq)[0], theta, RTOL, ATOL))
    raise WrongAnswer(f"After {s['epochs']} epochs the net classifies {accuracy:.0%} of the held-out samples "
                      f"right; it needs {ACCURACY:.0%}.")


check_training = Check("check_training", 1, training_scenario, probe_training, judge_training)
