"""Checks of 01_neuron: activations, their derivatives, the loss and the forward pass.

Each is a ``Check`` (probe → judge, see ``core``) of a ``Case``: the right values come from the
finite-difference oracle, the mistakes a wrong result may show from the mistake table's replays,
both computed by the instructor's answers (``answers/neuron.py``), never here.
"""
from __future__ import annotations

import contextlib

import numpy as np

from . import standins
from .core import Check, Plural, WrongAnswer, raises
from .observed import plain, read, seen
from .structure import Layout

#: what an elementwise result may be off by: a doubled or halved value
ELEMENTWISE = Layout(factors=(("2", 2.0),))


def _call(fn, argument):
    """fn(argument) as plain data, or a note of the error it raised on an array."""
    try:
        out = fn(argument)
    except (ValueError, TypeError) as error:
        return {"raised": f"{type(error).__name__}: {error}"}
    return {"value": plain(out), "shape": list(np.shape(out))}


def _elementwise(result, name, shape, suspects, key):
    """The probed fn(array), or a Mistake/WrongAnswer that says why it does not work on arrays.

    key: the replays' key of the same computation, to name an error it raises too.
    """
    if "raised" in result:
        suspects.blame(f"{name}(net) on an array", raises(result["raised"], key))
        raise WrongAnswer(f"{name}(net) raised {result['raised']} on an array: it must work elementwise.")
    if tuple(result["shape"]) != tuple(shape):
        raise WrongAnswer(f"{name}(net) must return one value per element: shape {tuple(shape)}, got {tuple(result['shape'])}.")
    return result["value"]


@contextlib.contextmanager
def _trusted_activations(fn, recorded, misses):
    """Run with stand-ins of sigmoid and relu in place of the student's, in fn's namespace.

    sigmoid_derivative calls the student's sigmoid (the exercise's hint) and Neuron picks the
    student's activations: a mistake of Exercise 1 must cost its points once, there, not
    again in Exercises 2 and 4. The stand-ins answer the case's nets only (``standins``).
    """
    namespace = getattr(fn, "__globals__", {})
    saved = {name: namespace[name] for name in recorded if callable(namespace.get(name))}
    namespace.update({name: standins.activation(name, recorded[name], misses) for name in saved})
    try:
        yield
    finally:
        namespace.update(saved)


def grid(nets):
    """The nets as a 2-D array: how an activation is tried on a matrix."""
    nets = np.asarray(nets, float)
    return nets.reshape(2, -1) if nets.size % 2 == 0 else nets.reshape(1, -1)


def _misses(observed):
    if observed.get("misses"):
        raise WrongAnswer(f"Your code asked the check's trusted parts for something no correct answer asks: "
                          f"{observed['misses'][0]}.")


# --- activations ---------------------------------------------------------------------------

def probe_activation(fn, s, _):
    """The student's activation ``fn`` on a scalar, on the scenario's nets (N,), and on a grid of
    them (2-D): each result as plain data."""
    return {"scalar": _call(fn, float(s["nets"][0])), "array": _call(fn, np.asarray(s["nets"])),
            "grid": _call(fn, grid(s["nets"]))}


def judge_activation(case, observed, reveal):
    """sigmoid or relu, elementwise, on a scalar and on an array of any shape."""
    name, nets, expected = case.scenario["name"], case.scenario["nets"], case.expected
    suspects = case.suspects()
    scalar = observed["scalar"]
    if "raised" in scalar:
        suspects.blame(f"{name}(net) on a number", raises(scalar["raised"], "scalar"))
        raise WrongAnswer(f"{name}(net) raised {scalar['raised']} on a number.")
    suspects.compare(f"{name}({nets[0]})", scalar["value"], expected["scalar"], "scalar", reveal, layout=ELEMENTWISE)
    for key, what in (("array", "an array"), ("grid", "a 2-D array")):
        result = _elementwise(observed[key], name, np.shape(expected[key]), suspects, key)
        suspects.compare(f"{name}(net) on {what}", result, expected[key], key, reveal,
                         narrow=False, layout=ELEMENTWISE)  # a 1-D array working says nothing of a 2-D one


check_activation = Check("check_activation", 1, probe_activation, judge_activation, "sigmoid and relu")


# --- derivatives ---------------------------------------------------------------------------

def probe_derivative(fn, s, recorded):
    """The student's derivative ``fn`` on the nets (N,), with trusted activations in its module in
    place of the student's; the result and what it asked them that no correct solution asks."""
    misses = standins.Misses()
    with _trusted_activations(fn, recorded["activations"], misses):
        result = _call(fn, np.asarray(s["nets"]))
    return {"array": result, "misses": misses}


def judge_derivative(case, observed, reveal):
    """φ′(net) against centred finite differences of φ, elementwise."""
    name, expected, suspects = case.scenario["name"], case.expected["array"], case.suspects()
    result = _elementwise(observed["array"], f"{name}_derivative", np.shape(expected), suspects, "array")
    _misses(observed)
    suspects.compare(f"{name}_derivative(net)", result, expected, "array", reveal, layout=ELEMENTWISE)


check_derivative = Check("check_derivative", 1, probe_derivative, judge_derivative, "the derivatives of the activations")


# --- the loss ------------------------------------------------------------------------------

def probe_loss(loss, loss_derivative, s, _):
    """The student's loss(t, ŷ) and loss_derivative(t, ŷ) on arrays t, ŷ of shape (N,)."""
    t, y_hat = np.asarray(s["t"]), np.asarray(s["y_hat"])
    return {"loss": plain(loss(t, y_hat)), "gradient": plain(loss_derivative(t, y_hat))}


def judge_loss(case, observed, reveal):
    """e = ½(t − ŷ)² and ∂e/∂ŷ (finite differences), elementwise over arrays t and ŷ."""
    suspects = case.suspects()
    layout = Layout(factors=(("2", 2.0), ("samples", len(case.scenario["t"]))))  # a mean where each sample's own belongs
    suspects.compare("loss(t, y_hat)", observed["loss"], case.expected["loss"], "loss", reveal,
                     narrow=False, layout=layout)  # the derivative is not computed from the loss's value
    suspects.compare("loss_derivative(t, y_hat)", observed["gradient"], case.expected["gradient"], "gradient", reveal,
                     layout=layout)


check_loss = Check("check_loss", 2, probe_loss, judge_loss, "the loss and its derivative")


# --- the forward pass ----------------------------------------------------------------------

def probe_forward(Neuron, s, recorded):
    """A Neuron built with the scenario's weights (I,) and bias, and its forward(x) on x (I,), with
    trusted activations in place of the student's: the weights and bias it kept, what forward
    returned, and what it asked the activations that no correct solution asks."""
    weights = np.array(s["w"]) if s["as_array"] else list(s["w"])
    bias = int(s["b"]) if s["bias_is_int"] else s["b"]
    misses = standins.Misses()
    try:
        with _trusted_activations(Neuron.__init__, recorded["activations"], misses):
            neuron = Neuron(inputsize=len(s["w"]), weights=weights, bias=bias, activation=s["activation"])
    except ValueError as error:
        if "truth value" in str(error):
            return {"constructor": "truth value"}
        raise
    bias_seen = getattr(neuron, "bias", None)
    with _trusted_activations(Neuron.__init__, recorded["activations"], misses):
        output = neuron.forward(np.asarray(s["x"], float))
    return {"weights": read(neuron, "weights"), "bias": plain(bias_seen) if np.ndim(bias_seen) == 0 else "not a number",
            "output": plain(output), "misses": misses}


def judge_forward(case, observed, reveal):
    """Neuron(weights=…, bias=…) keeps what it is given (arrays, lists, 0) and forward() = φ(w·x + b)."""
    s, expected, suspects = case.scenario, case.expected, case.suspects()
    b = s["b"]
    if observed.get("constructor") == "truth value":
        suspects.blame("Neuron(weights=<numpy array>)", raises("ValueError", "constructed"))
        raise WrongAnswer("Neuron(weights=<numpy array>) raised ValueError: the truth value of an array is ambiguous.")
    suspects.compare(Plural("neuron.weights after the constructor"), seen(observed, "weights", "Neuron"),
                     expected["weights"], "weights", reveal, narrow=False)  # the bias is kept or lost by itself
    bias = observed["bias"]
    if not isinstance(bias, float) or not np.isclose(bias, b):
        # with the weights as a list, so that only the bias is in question
        suspects.blame(f"neuron.bias after Neuron(bias={b:g})", lambda replay: replay["bias_lost"] is True)
        raise WrongAnswer(f"neuron.bias should be the bias given to the constructor{f', {b}' if reveal else ''}.")
    _misses(observed)
    suspects.compare(f"forward(x) of a {s['activation']} neuron", observed["output"], expected["output"], "output",
                     reveal, layout=Layout())


check_neuron_forward = Check("check_neuron_forward", 1, probe_forward, judge_forward,
                             "the Neuron's constructor and forward()")
