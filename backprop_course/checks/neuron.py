"""Checks of 01_neuron: activations, their derivatives, the loss and the forward pass.

Each is a ``Check`` (scenario → probe → judge, see ``core``). Expected values come from the
oracle; the mistakes a wrong result may show come from the mistake table (``core.Suspects``)."""
from __future__ import annotations

import contextlib

import numpy as np

from .core import Check, Plural, Suspects, WrongAnswer, plain, raises, read, seen
from .oracle import numerical_gradient, phi
from .reference import Neuron as ReferenceNeuron

#: inputs clear of ReLU's kink at 0, where its derivative is undefined
NETS = [-3.0, -1.2, -0.4, 0.3, 0.9, 2.5]


def _call(fn, argument):
    """fn(argument) as plain data, or a note of the error it raised on an array."""
    try:
        out = fn(argument)
    except (ValueError, TypeError) as error:
        return {"raised": f"{type(error).__name__}: {error}"}
    return {"value": plain(out), "shape": list(np.shape(out))}


def _elementwise(result, name, shape, suspects, replay):
    """The probed fn(array), or a Mistake/WrongAnswer that says why it does not work on arrays.

    replay(equations): the same computation by the reference, to name an error it raises too.
    """
    if "raised" in result:
        suspects.blame(f"{name}(net) on an array", raises(result["raised"], replay))
        raise WrongAnswer(f"{name}(net) raised {result['raised']} on an array: it must work elementwise.")
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
    grid, suspects = _grid(nets), Suspects()
    suspects.compare(f"{name}({nets[0]})", observed["scalar"], phi(nets[0], name),
                     lambda eq: eq.phi(nets[0], name), reveal)
    for key, values, what in (("array", nets, "an array"), ("grid", grid, "a 2-D array")):
        replay = lambda eq, values=values: eq.phi(values, name)  # noqa: E731
        result = _elementwise(observed[key], name, values.shape, suspects, replay)
        suspects.compare(f"{name}(net) on {what}", result, phi(values, name), replay, reveal,
                         narrow=False)  # a 1-D array working says nothing of a 2-D one


check_activation = Check("check_activation", 1, activation_scenario, probe_activation, judge_activation)


# --- derivatives ---------------------------------------------------------------------------

def probe_derivative(fn, s):
    with _trusted_activations(fn):
        return {"array": _call(fn, np.asarray(s["nets"]))}


def judge_derivative(s, observed, reveal):
    """φ′(net) against centred finite differences of φ, elementwise."""
    name, nets = s["name"], np.asarray(s["nets"])
    expected = np.array([numerical_gradient(lambda v: phi(v[0], name), [n])[0] for n in nets])
    o, suspects = phi(nets, name), Suspects()  # o from the oracle: the probe gives the student trusted activations

    def replay(eq):
        return eq.phi_prime(nets, o, name)

    result = _elementwise(observed["array"], f"{name}_derivative", nets.shape, suspects, replay)
    suspects.compare(f"{name}_derivative(net)", result, expected, replay, reveal)


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
    suspects = Suspects()
    suspects.compare("loss(t, y_hat)", observed["loss"], 0.5 * (t - y_hat) ** 2, lambda eq: eq.loss(t, y_hat), reveal,
                     narrow=False)  # the derivative is not computed from the loss's value
    expected = np.array([numerical_gradient(lambda v: 0.5 * (ti - v[0]) ** 2, [yi])[0] for ti, yi in zip(t, y_hat)])
    suspects.compare("loss_derivative(t, y_hat)", observed["gradient"], expected,
                     lambda eq: eq.loss_derivative(t, y_hat), reveal)


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
    w, b, x, activation = np.asarray(s["w"]), s["b"], np.asarray(s["x"]), s["activation"]
    suspects = Suspects()

    def build(eq, weights=np.array(s["w"]) if s["as_array"] else list(s["w"])):  # as the probe passes them
        return ReferenceNeuron(len(w), weights, int(b) if s["bias_is_int"] else b, activation, equations=eq)

    if observed.get("constructor") == "truth value":
        suspects.blame("Neuron(weights=<numpy array>)", raises("ValueError", build))
        raise WrongAnswer("Neuron(weights=<numpy array>) raised ValueError: the truth value of an array is ambiguous.")
    suspects.compare(Plural("neuron.weights after the constructor"), seen(observed, "weights", "Neuron"), w,
                     lambda eq: build(eq).weights, reveal, narrow=False)  # the bias is kept or lost by itself
    bias = observed["bias"]
    if not isinstance(bias, float) or not np.isclose(bias, b):
        # weights as a list, so that only the bias is in question
        suspects.blame(f"neuron.bias after Neuron(bias={b:g})", lambda eq: not np.isclose(build(eq, list(w)).bias, b))
        raise WrongAnswer(f"neuron.bias should be the bias given to the constructor{f', {b}' if reveal else ''}.")
    suspects.compare(f"forward(x) of a {activation} neuron", observed["output"], phi(float(x @ w + b), activation),
                     lambda eq: build(eq).forward(x), reveal)


check_neuron_forward = Check("check_neuron_forward", 1, forward_scenario, probe_forward, judge_forward)
