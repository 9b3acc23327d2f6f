"""Checks of 02_backprop: the Neuron backward pass, train() and Network.

Each is a ``Check`` (probe → judge, see ``core``) of a ``Case`` the instructor's answers computed
(``answers/backprop.py``): right values from finite differences, the known mistakes' replays,
and, for train() and Network, stand-in neurons (``standins``) that the student's loop drives.
"""
from __future__ import annotations

import numpy as np

from . import standins
from .core import Check, Plural, WrongAnswer, as_vector, compare
from .observed import plain, read, seen
from .structure import Layout


def _sequence(values, as_array):
    return np.array(values, float) if as_array else [float(v) for v in values]


def _make_neuron(Neuron, s):
    return Neuron(inputsize=len(s["w"]), weights=_sequence(s["w"], s["as_array"]), bias=s["b"],
                  activation=s["activation"])


def _check_update(case, observed, suspects, reveal):
    """w ← w − η·δ·o_i and b ← b − η·δ, naming the update mistakes."""
    s = case.scenario
    eta = (("learning-rate", s["learning_rate"]),)
    suspects.compare(Plural("The weights after backward()"), seen(observed, "weights", "Neuron"),
                     case.expected["weights"], "weights", reveal, narrow=False,  # the bias is updated beside them
                     layout=Layout(before=s["w"], factors=eta))
    suspects.compare("The bias after backward()", seen(observed, "bias", "Neuron"), case.expected["bias"], "bias",
                     reveal, layout=Layout(before=s["b"], factors=eta))


# --- an output neuron ---------------------------------------------------------------------

def probe_output(Neuron, s, _):
    """An output neuron's forward(x) then backward(t, ŷ, η, output_neuron=True): ŷ, δ and the
    updated weights (I,) and bias it stored."""
    neuron = _make_neuron(Neuron, s)
    y_hat = neuron.forward(_sequence(s["x"], s["as_array"]))
    neuron.backward(t=s["t"], y_hat=y_hat, learning_rate=s["learning_rate"], output_neuron=True)
    return {"y_hat": plain(y_hat), "delta_j": read(neuron, "delta_j"), "weights": read(neuron, "weights"),
            "bias": read(neuron, "bias")}


def judge_output(case, observed, reveal):
    """An output neuron: δ = (ŷ − t)·φ′(net), then w ← w − η·δ·o_i, b ← b − η·δ."""
    suspects = case.suspects()
    suspects.compare("ŷ returned by forward()", observed["y_hat"], case.expected["out"], "out", reveal)
    suspects.compare("δ of the output neuron (self.delta_j)", seen(observed, "delta_j", "backward()"),
                     case.expected["delta_j"], "delta_j", reveal, layout=Layout())
    _check_update(case, observed, suspects, reveal)


check_neuron_backward_output = Check("check_neuron_backward_output", 1, probe_output, judge_output,
                                     "backward() of an output neuron")


# --- a hidden neuron ----------------------------------------------------------------------

def probe_hidden(Neuron, s, _):
    """A hidden neuron's forward(x) then backward(δ_l (L,), w_l (L,), η): o_j, δ_j and the
    updated weights (I,) and bias."""
    neuron = _make_neuron(Neuron, s)
    o_j = neuron.forward(_sequence(s["x"], s["as_array"]))
    neuron.backward(delta_l=_sequence(s["delta_l"], s["as_array"]), w_l=_sequence(s["w_l"], s["as_array"]),
                    learning_rate=s["learning_rate"])
    return {"o_j": plain(o_j), "delta_j": read(neuron, "delta_j"), "weights": read(neuron, "weights"),
            "bias": read(neuron, "bias")}


def judge_hidden(case, observed, reveal):
    """A hidden neuron: δ_j = (Σ_l δ_l·w_jl)·φ′(net_j), then the same update."""
    suspects = case.suspects()
    suspects.compare("o_j returned by forward()", observed["o_j"], case.expected["out"], "out", reveal)
    outputs = (("outputs", len(case.scenario["w_l"])),)
    suspects.compare("δ_j of the hidden neuron (self.delta_j)", seen(observed, "delta_j", "backward()"),
                     case.expected["delta_j"], "delta_j", reveal, layout=Layout(factors=outputs))
    _check_update(case, observed, suspects, reveal)


check_neuron_backward_hidden = Check("check_neuron_backward_hidden", 1, probe_hidden, judge_hidden,
                                     "backward() of a hidden neuron")


# --- training -------------------------------------------------------------------------

def _stand_ins(s, recorded, misses):
    """The hidden and output stand-in neurons of the case (``standins``): trusted, answering its calls only."""
    labels = [f"hidden neuron {j + 1}" for j in range(s["J"])] + \
             ([f"output neuron {l + 1}" for l in range(s["L"])] if s["L"] > 1 else ["the output neuron"])
    everyone = standins.neurons(recorded["neurons"], labels, misses)
    return everyone[:s["J"]], everyone[s["J"]:]


def _read_layers(hidden, outputs):
    return {"hidden": [{"weights": read(n, "weights"), "bias": read(n, "bias")} for n in hidden],
            "outputs": [{"weights": read(n, "weights"), "bias": read(n, "bias")} for n in outputs]}


def _layers_of(s, after):
    """θ read per array, in the lecture's words: the hidden neurons' w_ij and b_j, the outputs' w_jl and b_l
    (a matrix with a row per neuron)."""
    outputs = "The output neurons'" if s["L"] > 1 else "The output neuron's"
    bias = "biases b_l" if s["L"] > 1 else "bias b_l"
    return (("w_ij", Plural(f"The hidden neurons' weights w_ij (a row per neuron) {after}"), (s["J"], s["m"])),
            ("b_j", Plural(f"The hidden neurons' biases b_j {after}"), (s["J"],)),
            ("w_jl", Plural(f"{outputs} weights w_jl (a row per neuron) {after}"), (s["L"], s["J"])),
            ("b_l", Plural(f"{outputs} {bias} {after}"), (s["L"],)))


def _parameters(s, layers):
    """θ = [W1, b1, W2, b2] flattened, read back from the probed neurons."""
    try:
        W1 = [as_vector(seen(n, "weights", "Neuron"), "a hidden neuron's weights") for n in layers["hidden"]]
        W2 = [as_vector(seen(n, "weights", "Neuron"), "an output neuron's weights") for n in layers["outputs"]]
        b1 = [float(np.squeeze(seen(n, "bias", "Neuron"))) for n in layers["hidden"]]
        b2 = [float(np.squeeze(seen(n, "bias", "Neuron"))) for n in layers["outputs"]]
        return np.concatenate([np.ravel(np.array(W1, float)), b1, np.ravel(np.array(W2, float)), b2])
    except (ValueError, TypeError) as error:
        raise WrongAnswer(f"The neurons' weights no longer have their shapes: {error}") from None


def _misses(observed):
    if observed.get("misses"):
        raise WrongAnswer(f"Your code drove the check's trusted neurons in a way no correct solution does: "
                          f"{observed['misses'][0]}.")


def _judge_training(case, observed, reveal, quantity):
    """The epoch losses and the weights after training against SGD on numerical gradients."""
    history = observed["history"]
    if not isinstance(history, list) or isinstance(history, dict):
        raise WrongAnswer(f"train must return a list of per-epoch losses, not {history}.")
    s, suspects = case.scenario, case.suspects()
    # First the count, which also clears the suspects that record another number of losses
    suspects.compare("The number of epoch losses returned", len(history), case.expected["count"], "count",
                     reveal=True, layout=Layout(count=True))
    _misses(observed)
    n, eta = len(s["inputs"]), s["learning_rate"]
    suspects.compare(Plural("The per-epoch mean losses returned"), history, case.expected["history"], "history",
                     reveal, layout=Layout(rows="epochs", factors=(("samples", n), ("2", 2.0), ("outputs", s["L"]))))
    suspects.compare(quantity, _parameters(s, observed["layers"]), case.expected["theta"], "theta", reveal,
                     layout=Layout(before=s["theta"], trajectory=tuple(case.expected["trajectory"]),
                                   parts=_layers_of(s, "after training"),
                                   factors=(("learning-rate", eta), ("samples", n), ("epochs", s["epochs"]))))


def _history(value):
    return plain(value) if isinstance(value, (list, tuple, np.ndarray)) else f"{type(value).__name__}"


def probe_train(train, s, recorded):
    """train() on stand-in neurons (``standins``) for the scenario's samples and epochs: the loss
    history it returned, each neuron's weights and bias after it, and the stand-ins' misses."""
    misses = standins.Misses()
    hidden, (output,) = _stand_ins(s, recorded, misses)
    history = train(hidden, output, [list(x) for x in s["inputs"]], [t[0] for t in s["targets"]],
                    epochs=s["epochs"], learning_rate=s["learning_rate"])
    return {"history": _history(history), "layers": _read_layers(hidden, [output]), "misses": misses}


def judge_train(case, observed, reveal):
    """train(hidden, output, inputs, targets, epochs, learning_rate) against SGD on numerical gradients."""
    _judge_training(case, observed, reveal, Plural("The network's weights and biases after train()"))


check_train = Check("check_train", 1, probe_train, judge_train, "train()")


# --- Network ----------------------------------------------------------------------------

def _network(Network, s, recorded, misses):
    """A student's Network whose neurons are swapped, in place, for the case's stand-ins."""
    network = Network(inputsize=s["m"], hidden_size=s["J"], output_size=s["L"], activation=s["activation"])
    for name, size in (("hidden", s["J"]), ("outputs", s["L"])):
        layer = getattr(network, name, None)
        if not isinstance(layer, list) or len(layer) != size:
            return None, f"Network.{name} must be a list of {size} Neuron objects."
    hidden, outputs = _stand_ins(s, recorded, misses)
    network.hidden[:] = hidden
    network.outputs[:] = outputs
    return network, ""


def probe_network_forward(Network, s, recorded):
    """The student's Network on stand-in neurons: what its forward(x) returned for each sample (its
    type, shape and values), or the problem building it."""
    misses = standins.Misses()
    network, problem = _network(Network, s, recorded, misses)
    if problem:
        return {"problem": problem}
    outputs = []
    for x in s["inputs"]:
        out = network.forward(list(x))
        kind = f"{type(out).__name__} {getattr(out, 'shape', '')}".strip()
        outputs.append({"type": kind, "value": plain(out), "ndarray": isinstance(out, np.ndarray)})
    return {"outputs": outputs, "misses": misses}


def judge_network_forward(case, observed, reveal):
    """Network.forward(x) returns o_l as an np.ndarray of shape (output_size,)."""
    if "problem" in observed:
        raise WrongAnswer(observed["problem"])
    L = case.scenario["L"]
    for out, expected in zip(observed["outputs"], case.expected["outputs"]):
        if not out["ndarray"] or np.shape(out["value"]) != (L,):
            raise WrongAnswer(f"Network.forward must return an np.ndarray of shape ({L},), got {out['type']}.")
    _misses(observed)
    compare(Plural("The outputs o_l of Network.forward(), one row per sample"),
            [out["value"] for out in observed["outputs"]], case.expected["outputs"], reveal=reveal,
            layout=Layout(shaped=True, rows="samples"))


def probe_network_backward(Network, s, recorded):
    """The student's Network on stand-in neurons: forward then backward(t, η) on one sample;
    the layers' weights and biases after it, and the stand-ins' misses."""
    misses = standins.Misses()
    network, problem = _network(Network, s, recorded, misses)
    if problem:
        return {"problem": problem}
    network.forward(list(s["inputs"][0]))
    network.backward(list(s["targets"][0]), learning_rate=s["learning_rate"])
    return {"layers": _read_layers(network.hidden, network.outputs), "misses": misses}


def judge_network_backward(case, observed, reveal):
    """One Network.backward() step against gradient descent on numerical gradients."""
    if "problem" in observed:
        raise WrongAnswer(observed["problem"])
    _misses(observed)
    s = case.scenario
    case.suspects().compare(Plural("The network's weights and biases after one backward()"),
                            _parameters(s, observed["layers"]), case.expected["theta"], "theta", reveal,
                            layout=Layout(before=s["theta"], parts=_layers_of(s, "after one backward()"),
                                          factors=(("learning-rate", s["learning_rate"]),)))


def probe_network_train(Network, s, recorded):
    """The student's Network.train on stand-in neurons: the loss history, the layers after it,
    and the stand-ins' misses."""
    misses = standins.Misses()
    network, problem = _network(Network, s, recorded, misses)
    if problem:
        return {"problem": problem}
    history = network.train([list(x) for x in s["inputs"]], [list(t) for t in s["targets"]], epochs=s["epochs"],
                            learning_rate=s["learning_rate"])
    return {"history": _history(history), "layers": _read_layers(network.hidden, network.outputs), "misses": misses}


def judge_network_train(case, observed, reveal):
    """Network.train() against SGD on numerical gradients."""
    if "problem" in observed:
        raise WrongAnswer(observed["problem"])
    _judge_training(case, observed, reveal, Plural("The network's weights and biases after train()"))


check_network_forward = Check("check_network_forward", 1, probe_network_forward, judge_network_forward,
                              "Network.forward()")
check_network_backward = Check("check_network_backward", 1, probe_network_backward, judge_network_backward,
                               "Network.backward()")
check_network_train = Check("check_network_train", 1, probe_network_train, judge_network_train, "Network.train()")
