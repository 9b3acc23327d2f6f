"""The 2-layer ReLU net of 03_vectorised as its checks read it: θ = W1, b1, W2, b2, flat and back;
the notebook's given ``predict``; the params a student's sgd_epoch left; and θ at each batch.
"""
from __future__ import annotations

import numpy as np

from .arrays import same_and_close, shaped_array
from .core import ATOL, RTOL, WrongAnswer
from .observed import Missing, plain

#: the net's parameters, in the order θ holds them
PARAMS = ("W1", "b1", "W2", "b2")


def predict(params, X):
    """The class of highest logit, for each row of X (the notebook's given predict)."""
    hidden = np.maximum(np.asarray(X) @ np.asarray(params["W1"]) + np.asarray(params["b1"]), 0)
    return np.argmax(hidden @ np.asarray(params["W2"]) + np.asarray(params["b2"]), axis=1)


def unpack(theta, shapes):
    """θ (flat) → {"W1": …, "b1": …, "W2": …, "b2": …} of ``shapes``, as views of θ."""
    theta, params, start = np.asarray(theta, float), {}, 0
    for k in PARAMS:
        size = int(np.prod(shapes[k]))
        params[k] = theta[start:start + size].reshape(shapes[k])
        start += size
    return params


def read_params(params):
    """The student's params after sgd_epoch as plain data: {"W1": …, "b1": …, "W2": …, "b2": …},
    each nested lists of floats or a note saying what it was instead."""
    if not isinstance(params, dict):
        return {k: {"not_a_number": "params is no longer a dict"} for k in PARAMS}
    return {k: plain(params.get(k, Missing(k))) for k in PARAMS}


def observed_theta(observed, shapes, quantity):
    """θ of shape (P,): the observed W1, b1, W2, b2 reshaped to ``shapes`` and flattened in order,
    or the WrongAnswer saying they are not arrays of those shapes."""
    try:
        return np.concatenate([shaped_array(observed[k], f"params['{k}']").reshape(shapes[k]).ravel() for k in PARAMS])
    except ValueError:
        got = {k: np.shape(observed[k]) for k in PARAMS}
        raise WrongAnswer(f"{quantity}: the arrays no longer have their shapes, {got}.") from None


def param_shapes(params):
    """{"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}: the shape of each of ``params``."""
    return {k: np.shape(params[k]) for k in PARAMS}


def epoch_layout(s, shapes, after):
    """How θ = W1, b1, W2, b2 of an epoch is read: per array, and the constants a step may be off by."""
    N, B = len(s["y"]), s["batch_size"]
    factors = (("batch-size", B), ("samples", N), ("batches", -(-N // B)), ("learning-rate", s["learning_rate"]))
    parts = tuple((k, f"params['{k}'] {after}", shapes[k]) for k in PARAMS)
    return factors, parts


def thetas_seen(weights, shapes):
    """θ as the student's code had it at each batch's forward pass: a dense_forward of the first
    layer's shapes followed by one of the second's is a batch (a repeat of the same θ is one)."""
    seen, i = [], 0
    shaped = [(np.shape(W) if W is not None else None, np.shape(b) if b is not None else None) for W, b in weights]
    while i + 1 < len(weights):
        if shaped[i] == (shapes["W1"], shapes["b1"]) and shaped[i + 1] == (shapes["W2"], shapes["b2"]):
            theta = np.concatenate([np.ravel(weights[i][0]), np.ravel(weights[i][1]),
                                    np.ravel(weights[i + 1][0]), np.ravel(weights[i + 1][1])]).astype(float)
            if not seen or not same_and_close(theta, seen[-1], RTOL, ATOL):
                seen.append(theta)
            i += 2
        else:
            i += 1
    return seen
