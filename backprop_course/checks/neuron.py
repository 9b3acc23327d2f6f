"""Checks of 01_neuron: activations, their derivatives, the loss and the forward pass.

Each is a ``Check`` (scenario → probe → judge, see ``core``)."""
from __future__ import annotations

import contextlib

import numpy as np

from .oracle import numerical_gradient, phi
from .core import Check, Mistake, WrongAnswer, compare, plain, read, seen

#: inputs clear of ReLU's kink at 0, where its derivative is undefined
NETS = [-3.0, -1.2, -0.4, 0.3, 0.9, 2.5]


def _call(fn, argument):
    """fn(argument) as plain data, or a note of the error it raised on an array."""
    try:
        out = fn(argument)
    except (ValueError, TypeError) as error:
        return {"raised": f"{type(error).__name__}: {error}"}
    return {"value": plain(out), "shape": list(np.shape(out))}


def _elementwise(result, name, shape):
    """The probed fn(array), or a Mistake/WrongAnswer that says why it does not work on arrays."""
    if "raised" in result:
        code = "relu-not-vectorised" if "truth value" in result["raised"] else "sigmoid-not-vectorised"
        raise Mistake(code, f"{name}(net) on an array")
    if tuple(result["shape"]) != tuple(shape):
        raise WrongAnswer(f"{name}(net) must return one value per element: shape {tuple(shape)}, got {tuple(result['shape'])}.")
    return result["value"]


@contextlib.contextmanager
def _trusted_activations(fn):
    """Run with the oracle's sigmoid and relu in place of the student's, in fn's namespace.

    sigmoid_derivative calls the student's sigmoid (the exercise's hint) and Neuron picks the
    student's activations: a mistake of Exercise 1 must cost its points once, there, not
    again in Exercises 2 and 4.
    """
    namespace = getattr(fn, "__globals__", {})
    saved = {name: namespace[name] for name in ("sigmoid", "relu") if callable(namespace.get(name))}
    namespace.update({name: (lambda net, name=name: phi(net, name)) for name in saved})
    try:
        yield
    finally:
        namespace.update(saved)


def _grid(nets):
    nets = np.asarray(nets, float)
    return nets.reshape(2, -1) if nets.size % 2 == 0 else nets.reshape(1, -1)


# --- activations ---------------------------------------------------------------------------

def activation_scenario(name, *, nets=NETS):
    return {"name": name, "nets": plain(nets)}


def probe_activation(fn, s):
    return {"scalar": plain(fn(float(s["nets"][0]))), "array": _call(fn, np.asarray(s["nets"])),
            "grid": _call(fn, _grid(s["nets"]))}


def judge_activation(s, observed, reveal):
    """sigmoid or relu, elementwise, on a scalar and on an array of any shape."""
    name, nets = s["name"], np.asarray(s["nets"])
    compare(f"{name}({nets[0]})", observed["scalar"], phi(nets[0], name), reveal=reveal)
    compare(f"{name}(net) on an array", _elementwise(observed["array"], name, nets.shape), phi(nets, name), reveal=reveal)
    grid = _grid(nets)
    compare(f"{name}(net) on a 2-D array", _elementwise(observed["grid"], name, grid.shape), phi(grid, name),
            reveal=reveal)


check_activation = Check("check_activation", 1, activation_scenario, probe_activation, judge_activation)


# --- derivatives ---------------------------------------------------------------------------

def probe_derivative(fn, s):
    with _trusted_activations(fn):
        return {"array": _call(fn, np.asarray(s["nets"]))}


def judge_derivative(s, observed, reveal):
    """φ′(net) against centred finite differences of φ, elementwise."""
    name, nets = s["name"], np.asarray(s["nets"])
    expected = np.array([numerical_gradient(lambda v: phi(v[0], name), [n])[0] for n in nets])
    o = phi(nets, name)
    variants = [("derivative-of-net", nets * (1 - nets))] if name == "sigmoid" else [
        ("relu-with-sigmoid-derivative", o * (1 - o)), ("relu-derivative-wrong", o),
        ("relu-derivative-wrong", np.sign(nets))]  # −1 for net < 0
    result = _elementwise(observed["array"], f"{name}_derivative", nets.shape)
    compare(f"{name}_derivative(net)", result, expected, variants, reveal)


check_derivative = Check("check_derivative", 1, activation_scenario, probe_derivative, judge_derivative)


# --- the loss ------------------------------------------------------------------------------

def loss_scenario(*, t, y_hat):
    return {"t": plain(t), "y_hat": plain(y_hat)}


def probe_loss(loss, loss_derivative, s):
    t, y_hat = np.asarray(s["t"]), np.asarray(s["y_hat"])
    return {"loss": plain(loss(t, y_hat)), "gradient": plain(loss_derivative(t, y_hat))}


def judge_loss(s, observed, reveal):
    """e = ½(t − ŷ)² and ∂e/∂ŷ (finite differences), elementwise over arrays t and ŷ."""
    t, y_hat = np.asarray(s["t"]), np.asarray(s["y_hat"])
    compare("loss(t, y_hat)", observed["loss"], 0.5 * (t - y_hat) ** 2, [("loss-no-half", (t - y_hat) ** 2)], reveal)
    expected = np.array([numerical_gradient(lambda v: 0.5 * (ti - v[0]) ** 2, [yi])[0] for ti, yi in zip(t, y_hat)])
    compare("loss_derivative(t, y_hat)", observed["gradient"], expected,
            [("loss-gradient-sign", t - y_hat), ("loss-no-half", 2 * (y_hat - t))], reveal)


check_loss = Check("check_loss", 2, loss_scenario, probe_loss, judge_loss)


# --- the forward pass ----------------------------------------------------------------------

def forward_scenario(*, weights, bias, x, activation="sigmoid", as_array=False):
    return {"w": plain(weights), "b": float(bias), "bias_is_int": isinstance(bias, int), "x": plain(x),
            "activation": activation, "as_array": bool(as_array)}


def probe_forward(Neuron, s):
    weights = np.array(s["w"]) if s["as_array"] else list(s["w"])
    bias = int(s["b"]) if s["bias_is_int"] else s["b"]
    try:
        with _trusted_activations(Neuron.__init__):
            neuron = Neuron(inputsize=len(s["w"]), weights=weights, bias=bias, activation=s["activation"])
    except ValueError as error:
        if "truth value" in str(error):
            return {"constructor": "truth value"}
        raise
    bias_seen = getattr(neuron, "bias", None)
    with _trusted_activations(Neuron.__init__):
        output = neuron.forward(np.asarray(s["x"], float))
    return {"weights": read(neuron, "weights"), "bias": plain(bias_seen) if np.ndim(bias_seen) == 0 else "not a number",
            "output": plain(output)}


def judge_forward(s, observed, reveal):
    """Neuron(weights=…, bias=…) keeps what it is given (arrays, lists, 0) and forward() = φ(w·x + b)."""
    if observed.get("constructor") == "truth value":
        raise Mistake("constructor-truthiness", "Neuron(weights=<numpy array>)")
    w, b, x, activation = np.asarray(s["w"]), s["b"], np.asarray(s["x"]), s["activation"]
    compare("neuron.weights after the constructor", seen(observed, "weights", "Neuron"), w, reveal=reveal)
    bias = observed["bias"]
    if not isinstance(bias, float) or not np.isclose(bias, b):
        if b == 0:
            raise Mistake("constructor-truthiness", "neuron.bias after Neuron(bias=0)")
        raise WrongAnswer(f"neuron.bias should be the bias given to the constructor{f', {b}' if reveal else ''}.")
    net = float(x @ w + b)
    variants = [("forward-ignores-bias", phi(net - b, activation)), ("forward-no-activation", net)]
    compare(f"forward(x) of a {activation} neuron", observed["output"], phi(net, activation), variants, reveal)


check_neuron_forward = Check("check_neuron_forward", 1, forward_scenario, probe_forward, judge_forward)
