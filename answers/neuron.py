"""The cases of 01_neuron's checks: scenarios, right values (the oracle) and the mistakes' replays."""
from __future__ import annotations

import numpy as np

from backprop_course.checks.core import Case
from backprop_course.checks.observed import plain
from backprop_course.checks.neuron import grid

from .cases import activation_table, attempt, chain, register, suspects
from .oracle import numerical_gradient, phi
from .reference import Neuron as ReferenceNeuron

#: inputs clear of ReLU's kink at 0, where its derivative is undefined
NETS = [-3.0, -1.2, -0.4, 0.3, 0.9, 2.5]


def draw_nets(seed, n=6):
    """n nets from ``seed``, half below 0 and half above, clear of ReLU's kink (|net| ≥ 0.2)."""
    rng = np.random.default_rng(seed)
    magnitudes = np.round(rng.uniform(0.2, 8.0, n), 2)
    signs = np.array([-1.0, 1.0] * (n // 2) + [1.0] * (n % 2))
    return (np.sort(signs * magnitudes)).tolist()


# --- activations ---------------------------------------------------------------------------

@register("check_activation")
def activation_case(name, *, nets=None, seed=None):
    """The Case of check_activation: φ (sigmoid or relu) on a scalar, the nets (N,) and a grid,
    from the oracle's φ; the mistakes' replays."""
    nets = np.asarray(nets if nets is not None else draw_nets(seed), float)
    s = {"name": name, "nets": plain(nets)}
    g = grid(nets)
    expected = {"scalar": phi(nets[0], name), "array": phi(nets, name), "grid": phi(g, name)}
    return Case(s, expected, suspects(lambda eq: {"scalar": attempt(lambda: eq.phi(nets[0], name)),
                                                  "array": attempt(lambda: eq.phi(nets, name)),
                                                  "grid": attempt(lambda: eq.phi(g, name))}))


# --- derivatives ---------------------------------------------------------------------------

@register("check_derivative")
def derivative_case(name, *, nets=None, seed=None):
    """The Case of check_derivative: φ′ on the nets (N,) by finite differences of φ, the trusted
    activations' recording, and the mistakes' replays."""
    nets = np.asarray(nets if nets is not None else draw_nets(seed, 4), float)
    s = {"name": name, "nets": plain(nets)}
    expected = np.array([numerical_gradient(lambda v: phi(v[0], name), [n])[0] for n in nets])
    o = phi(nets, name)  # from the oracle: the probe gives the student trusted activations
    trusted = np.concatenate([nets, -nets])  # φ′ may be written with φ(net) or φ(−net)
    return Case(s, {"array": expected}, suspects(lambda eq: {"array": attempt(lambda: eq.phi_prime(nets, o, name))}),
                {"activations": {a: activation_table(trusted, a) for a in ("sigmoid", "relu")}})


# --- the loss ------------------------------------------------------------------------------

@register("check_loss")
def loss_case(*, t=None, y_hat=None, seed=None):
    """The Case of check_loss: e = ½(t − ŷ)² and ∂e/∂ŷ (finite differences) on t, ŷ of shape (N,)."""
    if t is None:
        rng = np.random.default_rng(seed)
        t, y_hat = np.round(rng.uniform(0, 1, 4), 2), np.round(rng.uniform(0, 1, 4), 2)
    t, y_hat = np.asarray(t, float), np.asarray(y_hat, float)
    s = {"t": plain(t), "y_hat": plain(y_hat)}
    gradient = np.array([numerical_gradient(lambda v: 0.5 * (ti - v[0]) ** 2, [yi])[0] for ti, yi in zip(t, y_hat)])
    return Case(s, {"loss": 0.5 * (t - y_hat) ** 2, "gradient": gradient},
                suspects(lambda eq: {"loss": attempt(lambda: eq.loss(t, y_hat)),
                                     "gradient": attempt(lambda: eq.loss_derivative(t, y_hat))}))


# --- the forward pass ----------------------------------------------------------------------

def _forward_inputs(seed, m, zero_bias, activation):
    """weights, bias, x from ``seed``, with net = w·x + b clear of 0 (|net| ≥ 0.3, and > 0 for ReLU)."""
    rng = np.random.default_rng(seed)
    while True:
        w, x = np.round(rng.uniform(-1.5, 1.5, m), 2), np.round(rng.uniform(-2, 2, m), 2)
        b = 0 if zero_bias else float(np.round(rng.uniform(-0.5, 0.5), 2))
        net = float(x @ w + b)
        if abs(net) >= 0.3 and abs(x @ w) >= 0.3 and (activation == "sigmoid" or net > 0):
            return w.tolist(), b, x.tolist()


@register("check_neuron_forward")
def forward_case(*, weights=None, bias=None, x=None, seed=None, m=3, zero_bias=False, activation="sigmoid",
                 as_array=False):
    """The Case of check_neuron_forward: o_i, net = Σ_i w_i·o_i + b and o = φ(net) for x (I,)."""
    if weights is None:
        weights, bias, x = _forward_inputs(seed, m, zero_bias, activation)
    s = {"w": plain(weights), "b": float(bias), "bias_is_int": isinstance(bias, int), "x": plain(x),
         "activation": activation, "as_array": bool(as_array)}
    w, b, xs = np.asarray(s["w"]), s["b"], np.asarray(s["x"])
    given_bias = int(b) if s["bias_is_int"] else b

    def build(eq, weights):
        return ReferenceNeuron(len(w), weights, given_bias, activation, equations=eq)

    as_given = np.array(s["w"]) if s["as_array"] else list(s["w"])  # as the probe passes them

    def replay(eq):
        return {"constructed": attempt(lambda: build(eq, as_given) is not None),
                "bias_lost": attempt(lambda: not np.isclose(build(eq, list(w)).bias, b)),
                **chain(lambda: (lambda n: {"weights": n.weights, "output": n.forward(xs)})(build(eq, as_given)),
                        "weights", "output")}

    nets = np.array([xs @ w + b, xs @ w])  # the right net, and the one without the bias
    return Case(s, {"weights": w, "output": phi(float(xs @ w + b), activation)}, suspects(replay),
                {"activations": {a: activation_table(nets, a) for a in ("sigmoid", "relu")}})
