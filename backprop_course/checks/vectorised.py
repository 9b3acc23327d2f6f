"""Checks of 03_vectorised: a dense layer on a batch, softmax with cross-entropy, a gradient
check, and one epoch of mini-batch SGD on a 2-layer ReLU net.

Each is a ``Check`` (probe → judge, see ``core``) of a ``Case`` the instructor's answers computed
(``answers/vectorised.py``): expected gradients are centred finite differences of the losses as
defined, never the backprop formulas; ``grad_check``'s is the central difference in closed form;
an epoch's is SGD on finite-difference gradients. sgd_epoch runs on stand-in layers
(``standins``), so that a mistake in Exercise 1 or 2 costs its points there, not again here.
"""
from __future__ import annotations

import contextlib

import numpy as np

from . import standins
from .arrays import compare_shaped, raise_misses, raise_problem, returned_tuple, same_and_close, shaped_array
from .core import ATOL, RTOL, Check, Diagnosis, Mistake, WrongAnswer, compare, raises
from .mistakes import STRUCTURAL
from .observed import plain
from .structure import Layout
from .two_layer_net import (PARAMS, epoch_layout, observed_theta, param_shapes, predict, read_params, thetas_seen,
                            unpack)

#: tolerances of grad_check against the exact central difference: a central difference
#: rounds to ~1e-10 here, a one-sided one (error ~ h·f''/2) or a step of 1e-3 misses by 1e-6 or more
GRAD_RTOL, GRAD_ATOL = 1e-7, 1e-9
#: x must come back from grad_check as it went in, up to the rounding of x + h − h
RESTORED_RTOL, RESTORED_ATOL = 1e-9, 1e-12
#: the held-out accuracy the training loop must reach, and how it trains (stated in the notebook)
ACCURACY = 0.9
TRAINING = {"n_per_class": 100, "hidden": 64, "batch_size": 16, "learning_rate": 0.5, "epochs": 50}
#: the layer functions a student's sgd_epoch calls, which the probe swaps for stand-ins
LAYERS = ("dense_forward", "dense_backward", "relu_forward", "relu_backward", "softmax_cross_entropy")


# --- comparing arrays, shapes first ---------------------------------------------------------
# --- Exercise 1: the dense layer --------------------------------------------------------------

def _dense_inputs(s):
    return np.array(s["x"]), np.array(s["W"]), np.array(s["b"])


def probe_dense_forward(dense_forward, s, _):
    """dense_forward(x (N, D), W (D, M), b (M,)): its out (N, M) as plain data, or the problem
    with what it returned."""
    result, problem = returned_tuple(dense_forward(*_dense_inputs(s)), "dense_forward", 2)
    return {"problem": problem} if problem else {"out": plain(result[0])}


def judge_dense_forward(case, observed, reveal):
    """out = x·W + b, one row per sample: out[n, m] = Σ_d x[n, d]·W[d, m] + b[m]."""
    raise_problem(observed)
    compare_shaped(case.suspects(), "out returned by dense_forward", observed["out"], case.expected["out"], "out", reveal,
             layout=Layout(rows="samples", factors=(("batch", len(case.scenario["x"])),)))


def probe_dense_backward(dense_forward, dense_backward, s, _):
    """dense_backward(dout (N, M), cache) with the cache dense_forward returned (the documented
    (x, W, b) if forward fails): dx (N, D), dW (D, M), db (M,)."""
    x, W, b = _dense_inputs(s)
    try:
        result, problem = returned_tuple(dense_forward(x, W, b), "dense_forward", 2)
        cache = result[1] if result else (x, W, b)
    except Exception:  # noqa: BLE001 (forward is graded on its own: the backward test uses the documented cache)
        cache = (x, W, b)
    try:
        result, problem = returned_tuple(dense_backward(np.array(s["dout"]), cache), "dense_backward", 3)
    except ValueError as error:  # numpy's word for shapes that do not fit: a known mistake may be named by it
        return {"raised": f"{type(error).__name__}: {error}"}
    return {"problem": problem} if problem else dict(zip(("dx", "dW", "db"), map(plain, result)))


def judge_dense_backward(case, observed, reveal):
    """dx, dW and db: finite differences of Σ dout ⊙ (x·W + b), the loss that sends dout back."""
    raise_problem(observed)
    suspects = case.suspects()
    if "raised" in observed:
        suspects.blame("dense_backward(dout, cache)", raises(observed["raised"], "dx"))
        raise WrongAnswer(f"dense_backward(dout, cache) raised {observed['raised']}"[:400])
    batch = (("batch", len(case.scenario["x"])),)
    for name in ("dW", "db", "dx"):  # three results of dout, none computed from another: narrow=False
        compare_shaped(suspects, f"{name} returned by dense_backward", observed[name], case.expected[name], name, reveal,
                 narrow=False, layout=Layout(rows="samples" if name == "dx" else "", factors=batch))


check_dense_forward = Check("check_dense_forward", 1, probe_dense_forward, judge_dense_forward, "dense_forward")
check_dense_backward = Check("check_dense_backward", 2, probe_dense_backward, judge_dense_backward, "dense_backward")


# --- Exercise 2: softmax with cross-entropy ---------------------------------------------------

def probe_softmax(softmax_cross_entropy, s, _):
    """softmax_cross_entropy(logits (N, C), y (N,)): the loss (a number) and dlogits (N, C)."""
    result, problem = returned_tuple(softmax_cross_entropy(np.array(s["logits"]), np.array(s["y"], dtype=int)),
                            "softmax_cross_entropy", 2)
    return {"problem": problem} if problem else {"loss": plain(result[0]), "dlogits": plain(result[1])}


def _batch(case):
    return (("batch", len(case.scenario["y"])),)


def _judge_loss(case, observed, reveal):
    compare_shaped(case.suspects(), "The loss returned by softmax_cross_entropy", observed["loss"], case.expected["loss"],
             "loss", reveal, layout=Layout(factors=_batch(case)))


def _judge_gradient(case, observed, reveal):
    compare_shaped(case.suspects(), "dlogits returned by softmax_cross_entropy", observed["dlogits"],
             case.expected["dlogits"], "dlogits", reveal, layout=Layout(rows="samples", factors=_batch(case)))


def finite(values):
    """'nan', 'inf' or 'finite': how a result went wrong on large logits."""
    values = np.asarray(values, dtype=float)
    return "nan" if np.isnan(values).any() else "inf" if np.isinf(values).any() else "finite"


def finiteness(loss, dlogits):
    """[finite(loss), finite(dlogits), [finite(row) of each row of dlogits]]: which samples went wrong
    tells a softmax without the max (the rows far above and below the rest) from one with the whole
    batch's max (every row far below the largest)."""
    loss, dlogits = np.asarray(loss, dtype=float), np.asarray(dlogits, dtype=float)
    return [finite(loss), finite(dlogits), [finite(row) for row in np.atleast_2d(dlogits)]]


def judge_softmax_loss(case, observed, reveal):
    """The mean cross-entropy −(1/N) Σ_n log ŷ_{n,y_n}."""
    raise_problem(observed)
    _judge_loss(case, observed, reveal)


def judge_softmax_gradient(case, observed, reveal):
    """dlogits against finite differences of the mean cross-entropy."""
    raise_problem(observed)
    _judge_gradient(case, observed, reveal)


def judge_softmax_stable(case, observed, reveal):
    """Loss and dlogits stay finite and right on logits around ±1000."""
    raise_problem(observed)
    with np.errstate(invalid="ignore"):
        seen = finiteness(shaped_array(observed["loss"], "The loss"), shaped_array(observed["dlogits"], "dlogits"))
    if seen[:2] != ["finite", "finite"]:
        quantity = ("The loss on a sample whose true class is 800 below the others" if seen[:2] == ["inf", "finite"]
                    else "softmax_cross_entropy on logits around ±1000")
        case.suspects().blame(quantity, lambda replay: replay["finite"] == seen)
        raise WrongAnswer(f"{quantity}: the loss is {seen[0]} and dlogits {seen[1]}; both must stay finite.")
    _judge_loss(case, observed, reveal)
    _judge_gradient(case, observed, reveal)


check_softmax_loss = Check("check_softmax_loss", 1, probe_softmax, judge_softmax_loss,
                           "the loss of softmax_cross_entropy")
check_softmax_gradient = Check("check_softmax_gradient", 1, probe_softmax, judge_softmax_gradient,
                               "dlogits of softmax_cross_entropy")
check_softmax_stable = Check("check_softmax_stable", 1, probe_softmax, judge_softmax_stable,
                             "softmax_cross_entropy on large logits")


# --- Exercise 3: the gradient check -----------------------------------------------------------

def wave(x, a, k, A, c):
    """f(x) = Σ_i a_i·sin(k·x_i) + ½ vᵀA v + cᵀv with v = x flattened: curved in every direction."""
    v = np.asarray(x, dtype=float).ravel()
    return float(np.sum(a * np.sin(k * v)) + 0.5 * v @ A @ v + c @ v)


def rel_error(a, b):
    """max |a − b| / (|a| + |b|), entry by entry: the relative error the notebook reports."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def _function(s, recorded, misses):
    """The scalar function grad_check is given: the wave, or (kind 'model') a stand-in of a softmax
    classifier's loss that knows only the points a gradient check evaluates (``standins``)."""
    if s["kind"] == "wave":
        a, k, A, c = np.array(s["a"]), s["k"], np.array(s["A"]), np.array(s["c"])
        return lambda v: wave(np.array(v, dtype=float), a, k, A, c)  # a copy: f never sees grad_check's own array
    return standins.function("f", recorded["points"], misses)


def watched(f, x):
    """(f that notes where it is evaluated, [whether each point was away from x]): away means by more
    than rounding (x + h − h is x), so a check that perturbs no entry is told from one whose result is tiny."""
    x, away = np.array(x, dtype=float).reshape(-1), []

    def evaluated(v):
        try:
            point = np.asarray(v, dtype=float).reshape(-1)
            away.append(point.shape != x.shape or bool(np.max(np.abs(point - x), initial=0.0)
                                                         > 1e-12 * (1.0 + np.max(np.abs(x), initial=0.0))))
        except (TypeError, ValueError):
            away.append(True)
        return f(v)

    return evaluated, away


def probe_grad_check(grad_check, s, recorded):
    """grad_check(f, x) on a watched f whose values are recorded: the gradient (x's shape), x as
    grad_check left it, whether it moved x, and the stand-in's misses."""
    misses = standins.Misses()
    x = np.array(s["x"])
    f, away = watched(_function(s, recorded, misses), x)
    grad = grad_check(f, x, s["h"]) if s["h"] != 1e-5 else grad_check(f, x)  # 1e-5: the default is used
    return {"grad": plain(grad), "x_after": plain(x), "misses": misses, "moved": any(away)}


def judge_grad_check(case, observed, reveal):
    """grad_check(f, x, h) against the exact central difference; x left unchanged."""
    s, expected = case.scenario, case.expected
    x = np.array(s["x"])
    if not same_and_close(shaped_array(observed["x_after"], "x after grad_check"), x, RESTORED_RTOL, RESTORED_ATOL):
        case.suspects().blame("x after grad_check(f, x)", lambda replay: replay["x_changed"] is True)
        raise WrongAnswer("grad_check(f, x) changed x: leave it as it was.")
    quantity = "The gradient returned by grad_check"
    if s["kind"] == "model":
        grad = shaped_array(observed["grad"], quantity)
        if grad.shape == x.shape and np.all(np.isfinite(grad)):
            errors = f"it gives the correct dW a relative error of {rel_error(expected['good'], grad):.1e} (a correct " \
                     f"grad_check: below 1e-7) and the wrong one (1/N missing) {rel_error(expected['bad'], grad):.1e}"
            quantity += f" ({errors})"
    raise_misses(observed, "grad_check")
    suspects = case.suspects()
    # f must be evaluated away from x: what tells a check that perturbs nothing (a gradient of exact
    # zeros) from one whose gradient is only too small to tell from zero (… / 2 * h)
    where = "Where grad_check evaluates f"
    if observed["moved"] is not True:
        suspects.blame(where, lambda replay: replay["moved"] is False)
        raise WrongAnswer(f"{where} is wrong: only at x itself, so every difference is 0. Evaluate it at x + h·e_i "
                          "and at x − h·e_i, one entry i at a time.")
    suspects.compare(where, True, True, "moved")  # clears the suspects that never move x
    compare_shaped(suspects, quantity, observed["grad"], expected["grad"], "grad", reveal, rtol=GRAD_RTOL,
             atol=GRAD_ATOL, layout=Layout(factors=(("2", 2.0),)))


check_grad_check = Check("check_grad_check", 1, probe_grad_check, judge_grad_check, "grad_check")


# --- Exercise 4: one epoch of mini-batch SGD, and training to an accuracy -----------------------

@contextlib.contextmanager
def trusted_layers(fn, layers):
    """Run with ``layers`` ({name: function}) in place of the student's, in fn's namespace: a
    mistake in Exercise 1 or 2 costs its points there, not again in sgd_epoch."""
    namespace = getattr(fn, "__globals__", {})
    saved = {name: namespace[name] for name in layers if name in namespace}
    namespace.update(layers)
    try:
        yield
    finally:
        for name in layers:
            namespace.pop(name, None)
        namespace.update(saved)



def probe_epoch(sgd_epoch, s, recorded):
    """One sgd_epoch on stand-in layers: the loss it returned, the params after it, θ at each
    batch's forward pass (``weights``), whether it drew from rng, and the misses."""
    params = {k: np.array(v) for k, v in s["params"].items()}
    X, y, misses, weights = np.array(s["X"]), np.array(s["y"], dtype=int), standins.Misses(), []
    rng = np.random.default_rng(s["rng_seed"])
    state = rng.bit_generator.state
    with trusted_layers(sgd_epoch, standins.layers(recorded["layers"], misses, weights)):
        loss = sgd_epoch(params, X, y, s["batch_size"], s["learning_rate"], rng)
    return {"loss": plain(loss), "params": read_params(params), "misses": misses, "weights": weights,
            "rng_drawn": rng.bit_generator.state != state}



def _judge_steps(case, observed, theta, shapes, reveal):
    """Diagnose the first step that went wrong, from θ as the student's code passed it to each batch's
    forward pass (and θ at the end): the first step itself, or "right for the first batch only"."""
    s, trajectory = case.scenario, [np.asarray(t, dtype=float) for t in case.expected["trajectory"]]
    seen = thetas_seen(observed.get("weights", []), shapes)[:len(trajectory) - 1] + [theta]
    if len(seen) < 2 or not same_and_close(seen[0], trajectory[0], RTOL, ATOL):
        return
    k = next((k for k in range(1, min(len(seen), len(trajectory))) if not same_and_close(seen[k], trajectory[k], RTOL, ATOL)),
             None)
    if k is None:
        return
    if k == 2:
        raise Diagnosis("right-for-first-only", f"params after sgd_epoch are wrong: the first batch's step is right, "
                                                f"the second's is not. [right-for-first-only] "
                                                f"{STRUCTURAL['right-for-first-only']}")
    factors, parts = epoch_layout(s, shapes, f"after batch {k}'s step" if k > 1 else "after the first batch's step")
    try:
        compare("params after a step of sgd_epoch", seen[k], trajectory[k], reveal=reveal,
                layout=Layout(before=trajectory[k - 1], parts=parts, factors=factors))
    except Diagnosis:
        raise
    except WrongAnswer:
        return


def judge_epoch(case, observed, reveal):
    """One epoch against SGD on finite-difference gradients, batch by batch in the order rng.permutation(N)."""
    s = case.scenario
    quantity = "params after sgd_epoch (W1, b1, W2, b2)"
    shapes = param_shapes(s["params"])
    theta = observed_theta(observed["params"], shapes, quantity)
    suspects = case.suspects()
    factors, parts = epoch_layout(s, shapes, "after sgd_epoch")
    try:
        raise_misses(observed, "sgd_epoch")
        compare_shaped(suspects, quantity, theta, case.expected["theta"], "theta", reveal,
                 layout=Layout(before=np.concatenate([np.ravel(s["params"][k]) for k in PARAMS]),
                               trajectory=tuple(case.expected["trajectory"]), parts=parts, factors=factors))
        compare_shaped(suspects, "The mean loss returned by sgd_epoch", observed["loss"], case.expected["loss"], "loss",
                 reveal, layout=Layout(factors=factors[:3]))
    except Mistake:
        raise
    except WrongAnswer:
        if not observed.get("rng_drawn", True):  # no known mistake, and the rng was never drawn from
            raise Diagnosis("rng-not-used", f"{quantity} {'is wrong' if not observed['misses'] else 'cannot be judged'}"
                                            f". [rng-not-used] {STRUCTURAL['rng-not-used']}") from None
        _judge_steps(case, observed, theta, shapes, reveal)  # a step of its own that went wrong, if one shows
        raise


check_sgd_epoch = Check("check_sgd_epoch", 1, probe_epoch, judge_epoch, "sgd_epoch, step by step")


def _trusted_source(recorded):
    """The trusted layers the grader hands sgd_epoch for training, or None (the student's own: no
    recording can hold 700 steps' answers, so the student's kernel trains on the student's layers)."""
    if not recorded or "source" not in recorded:
        return None
    namespace = {"np": np}
    exec(recorded["source"], namespace)  # the grader's own code, sent after every other test was probed
    return {name: namespace[name] for name in LAYERS}


def probe_training(sgd_epoch, s, recorded):
    """sgd_epoch for the scenario's epochs (on the grader's trusted layers when sent, else the
    student's own): the losses, the params after the first epoch and at the end."""
    params = {k: np.array(v) for k, v in s["params"].items()}
    X, y, layers = np.array(s["X"]), np.array(s["y"], dtype=int), _trusted_source(recorded)
    rng = np.random.default_rng(s["seed"] + 1)
    losses, first = [], None
    with trusted_layers(sgd_epoch, layers or {}):
        for epoch in range(s["epochs"]):
            losses.append(plain(sgd_epoch(params, X, y, s["batch_size"], s["learning_rate"], rng)))
            first = read_params(params) if epoch == 0 else first
    return {"losses": losses, "first_epoch": first, "params": read_params(params), "own_layers": layers is None}


def judge_training(case, observed, reveal):
    """Training with sgd_epoch reaches ACCURACY on the held-out split."""
    s, expected = case.scenario, case.expected
    shapes = param_shapes(s["params"])
    theta = observed_theta(observed["params"], shapes, "params after training")
    if not np.all(np.isfinite(theta)):
        raise WrongAnswer("The weights became nan or inf during training." + _own_layers(observed))
    accuracy = float(np.mean(predict(unpack(theta, shapes), expected["X_test"]) == np.asarray(expected["y_test"])))
    if accuracy >= ACCURACY:
        return
    # Name a known mistake whose replay gives the student's weights after the first epoch, and at
    # the end: only a suspect that passes the first (one epoch each) is replayed for all of them.
    first = observed_theta(observed["first_epoch"], shapes, "params after the first epoch")
    if not same_and_close(np.asarray(expected["first"], float), first, RTOL, ATOL):
        case.suspects().blame(f"Training ({accuracy:.0%} held-out accuracy, {ACCURACY:.0%} needed)",
                              lambda replay: same_and_close(np.asarray(replay["first"], float), first, RTOL, ATOL)
                              and same_and_close(np.asarray(replay["last"], float), theta, RTOL, ATOL))
    raise WrongAnswer(f"After {s['epochs']} epochs the net classifies {accuracy:.0%} of the held-out samples "
                      f"right; it needs {ACCURACY:.0%}." + _own_layers(observed))


def _own_layers(observed):
    return (" Your sgd_epoch ran on your own dense_forward, dense_backward and softmax_cross_entropy here: "
            "their tests must pass first.") if observed.get("own_layers") else ""


check_training = Check("check_training", 1, probe_training, judge_training, "training to 90 % held-out accuracy")
