"""Checks of 01_neuron: activations, their derivatives, the loss and the forward pass."""
from __future__ import annotations

import contextlib

import numpy as np

from ..oracle import numerical_gradient, phi
from .core import quiet, Mistake, WrongAnswer, compare

#: inputs clear of ReLU's kink at 0, where its derivative is undefined
NETS = np.array([-3.0, -1.2, -0.4, 0.3, 0.9, 2.5])


def _elementwise(fn, name, nets):
    """fn(nets) for an array, or a Mistake/WrongAnswer that says why it does not work on arrays."""
    try:
        out = fn(nets)
    except (ValueError, TypeError) as error:
        code = "relu-not-vectorised" if "truth value" in str(error) else "sigmoid-not-vectorised"
        raise Mistake(code, f"{name}(net) on an array") from error
    if np.shape(out) != np.shape(nets):
        raise WrongAnswer(f"{name}(net) must return one value per element: shape {np.shape(nets)}, got {np.shape(out)}.")
    return out


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


@quiet
def check_activation(fn, name, *, nets=NETS, reveal=False):
    """sigmoid or relu, elementwise, on a scalar and on an array of any shape."""
    nets = np.asarray(nets, float)
    compare(f"{name}({nets[0]})", fn(float(nets[0])), phi(nets[0], name), reveal=reveal)
    compare(f"{name}(net) on an array", _elementwise(fn, name, nets), phi(nets, name), reveal=reveal)
    grid = nets.reshape(2, -1) if nets.size % 2 == 0 else nets.reshape(1, -1)
    compare(f"{name}(net) on a 2-D array", _elementwise(fn, name, grid), phi(grid, name), reveal=reveal)


@quiet
def check_derivative(fn, name, *, nets=NETS, reveal=False):
    """φ′(net) against centred finite differences of φ, elementwise."""
    nets = np.asarray(nets, float)
    expected = np.array([numerical_gradient(lambda v: phi(v[0], name), [n])[0] for n in nets])
    o = phi(nets, name)
    variants = [("derivative-of-net", nets * (1 - nets))] if name == "sigmoid" else [
        ("relu-with-sigmoid-derivative", o * (1 - o)), ("relu-derivative-wrong", o),
        ("relu-derivative-wrong", np.sign(nets))]  # −1 for net < 0
    with _trusted_activations(fn):
        result = _elementwise(fn, f"{name}_derivative", nets)
    compare(f"{name}_derivative(net)", result, expected, variants, reveal)


@quiet
def check_loss(loss, loss_derivative, *, t, y_hat, reveal=False):
    """e = ½(t − ŷ)² and ∂e/∂ŷ (finite differences), elementwise over arrays t and ŷ."""
    t, y_hat = np.asarray(t, float), np.asarray(y_hat, float)
    compare("loss(t, y_hat)", loss(t, y_hat), 0.5 * (t - y_hat) ** 2,
            [("loss-no-half", (t - y_hat) ** 2)], reveal)
    expected = np.array([numerical_gradient(lambda v: 0.5 * (ti - v[0]) ** 2, [yi])[0] for ti, yi in zip(t, y_hat)])
    compare("loss_derivative(t, y_hat)", loss_derivative(t, y_hat), expected,
            [("loss-gradient-sign", t - y_hat), ("loss-no-half", 2 * (y_hat - t))], reveal)


@quiet
def check_neuron_forward(Neuron, *, weights, bias, x, activation="sigmoid", reveal=False):
    """Neuron(weights=…, bias=…) keeps what it is given (arrays, lists, 0) and forward() = φ(w·x + b)."""
    w, b, x = np.asarray(weights, float), bias, np.asarray(x, float)
    try:
        with _trusted_activations(Neuron.__init__):
            neuron = Neuron(inputsize=len(w), weights=weights, bias=bias, activation=activation)
    except ValueError as error:
        if "truth value" in str(error):
            raise Mistake("constructor-truthiness", "Neuron(weights=<numpy array>)") from error
        raise
    compare("neuron.weights after the constructor", neuron.weights, w, reveal=reveal)
    if np.ndim(neuron.bias) != 0 or not np.isclose(float(neuron.bias), float(b)):
        if b == 0:
            raise Mistake("constructor-truthiness", "neuron.bias after Neuron(bias=0)")
        raise WrongAnswer(f"neuron.bias should be the bias given to the constructor{f', {b}' if reveal else ''}.")
    net = float(x @ w + b)
    variants = [("forward-ignores-bias", phi(net - b, activation)), ("forward-no-activation", net)]
    with _trusted_activations(Neuron.__init__):
        output = neuron.forward(x)
    compare(f"forward(x) of a {activation} neuron", output, phi(net, activation), variants, reveal)
