"""Checks of 02_backprop: the Neuron backward pass, train() and Network.

Every expected value comes from finite differences (``backprop_course.checks.oracle``). Known
mistakes are replayed beside it on the reference (``core.Suspects``), so that a wrong answer can
be named. Each check is a ``Check``: a scenario (JSON data), a probe that runs the student's code
on it, and a judge.
"""
from __future__ import annotations

from functools import cache

import numpy as np

from . import reference
from .core import Check, Plural, Suspects, WrongAnswer, as_vector, compare, plain, read, seen
from .oracle import TwoLayerNet, numerical_gradient, phi


def _net_away_from_kink(rng, m, activation, positive=None):
    """(x, w, b) with net = w·x + b clear of ReLU's kink at 0 (|net| ≥ 0.3)."""
    while True:
        x, w, b = rng.uniform(-2, 2, m), rng.normal(0, 1, m), rng.uniform(-0.5, 0.5)
        net = x @ w + b
        if activation == "sigmoid" and abs(net) < 4:
            return x, w, b
        if activation == "relu" and abs(net) >= 0.3 and (positive is None or (net > 0) == positive):
            return x, w, b


def _sequence(values, as_array):
    return np.array(values, float) if as_array else [float(v) for v in values]


def _replay_neuron(s):
    """What the reference neuron computes in an output or hidden scenario, as a function of the
    equations (cached: each quantity compared reads the same replay)."""
    @cache
    def replay(eq):
        neuron = reference.Neuron(len(s["w"]), s["w"], s["b"], s["activation"], equations=eq)
        out = neuron.forward(s["x"])
        if "t" in s:
            neuron.backward(t=s["t"], y_hat=out, learning_rate=s["learning_rate"], output_neuron=True)
        else:
            neuron.backward(delta_l=s["delta_l"], w_l=s["w_l"], learning_rate=s["learning_rate"])
        return {"out": out, "delta_j": neuron.delta_j, "weights": neuron.weights, "bias": neuron.bias}
    return replay


def _check_update(s, observed, grad_w, delta, suspects, replay, reveal):
    """w ← w − η·δ·o_i and b ← b − η·δ, naming the update mistakes."""
    w, b, eta = np.asarray(s["w"]), s["b"], s["learning_rate"]
    suspects.compare(Plural("The weights after backward()"), seen(observed, "weights", "Neuron"), w - eta * grad_w,
                     lambda eq: replay(eq)["weights"], reveal, narrow=False)  # the bias is updated beside them
    suspects.compare("The bias after backward()", seen(observed, "bias", "Neuron"), b - eta * delta,
                     lambda eq: replay(eq)["bias"], reveal)


def _make_neuron(Neuron, s):
    return Neuron(inputsize=len(s["w"]), weights=_sequence(s["w"], s["as_array"]), bias=s["b"],
                  activation=s["activation"])


# --- an output neuron ---------------------------------------------------------------------

def output_scenario(*, seed=0, activation="sigmoid", learning_rate=0.1, x=None, weights=None, bias=None, t=None,
                    as_array=False):
    if x is None:
        rng = np.random.default_rng(seed)
        x, weights, bias = _net_away_from_kink(rng, 3, activation, positive=True)
        t = rng.uniform(0, 1)
    return {"x": plain(x), "w": plain(weights), "b": float(bias), "t": float(t), "activation": activation,
            "learning_rate": float(learning_rate), "as_array": bool(as_array)}


def probe_output(Neuron, s):
    neuron = _make_neuron(Neuron, s)
    y_hat = neuron.forward(_sequence(s["x"], s["as_array"]))
    neuron.backward(t=s["t"], y_hat=y_hat, learning_rate=s["learning_rate"], output_neuron=True)
    return {"y_hat": plain(y_hat), "delta_j": read(neuron, "delta_j"), "weights": read(neuron, "weights"),
            "bias": read(neuron, "bias")}


def judge_output(s, observed, reveal):
    """An output neuron: δ = (ŷ − t)·φ′(net), then w ← w − η·δ·o_i, b ← b − η·δ."""
    x, w, b, t, activation = np.asarray(s["x"]), np.asarray(s["w"]), s["b"], s["t"], s["activation"]
    grad = numerical_gradient(lambda th: 0.5 * (t - phi(x @ th[:-1] + th[-1], activation)) ** 2, np.append(w, b))
    delta = grad[-1]  # ∂e/∂b = δ
    suspects, replay = Suspects(), _replay_neuron(s)
    suspects.compare("ŷ returned by forward()", observed["y_hat"], phi(x @ w + b, activation),
                     lambda eq: replay(eq)["out"], reveal)
    suspects.compare("δ of the output neuron (self.delta_j)", seen(observed, "delta_j", "backward()"), delta,
                     lambda eq: replay(eq)["delta_j"], reveal)
    _check_update(s, observed, grad[:-1], delta, suspects, replay, reveal)


check_neuron_backward_output = Check("check_neuron_backward_output", 1, output_scenario, probe_output, judge_output)


# --- a hidden neuron ----------------------------------------------------------------------

def hidden_scenario(*, seed=0, activation="sigmoid", learning_rate=0.1, n_outputs=1, positive=None, as_array=False,
                    x=None, weights=None, bias=None, delta_l=None, w_l=None):
    """With delta_l and w_l given they are used as they are. Otherwise the neuron feeds
    ``n_outputs`` sigmoid output neurons, and δ_l comes from finite differences of the
    network's loss ½ Σ_l (t_l − o_l)² (the judge repeats that to get δ_j)."""
    rng = np.random.default_rng(seed)
    if x is None:
        x, weights, bias = _net_away_from_kink(rng, 3, activation, positive)
    s = {"x": plain(x), "w": plain(weights), "b": float(bias), "activation": activation,
         "learning_rate": float(learning_rate), "as_array": bool(as_array)}
    if delta_l is None:
        s["outputs"] = {"w_l": rng.normal(0, 1, n_outputs).tolist(),      # this neuron's weights into each output
                        "others": rng.normal(0, 1, n_outputs).tolist(),   # what the other hidden neurons send
                        "t_l": rng.uniform(0, 1, n_outputs).tolist(),
                        "b_l": rng.uniform(-0.5, 0.5, n_outputs).tolist()}
        grad = _hidden_gradient(s)
        s["delta_l"], s["w_l"] = grad[len(s["w"]) + 1:].tolist(), s["outputs"]["w_l"]   # ∂e/∂b_l = δ_l
    else:
        s["delta_l"], s["w_l"] = plain(delta_l), plain(w_l)
    return s


def _hidden_gradient(s):
    """∂e/∂θ for θ = [w (m), b, b_l (L)] of the network downstream of the hidden neuron."""
    x, m, out = np.asarray(s["x"]), len(s["w"]), s["outputs"]
    w_l, others, t_l = (np.asarray(out[k]) for k in ("w_l", "others", "t_l"))

    def e(theta):
        o_j = phi(x @ theta[:m] + theta[m], s["activation"])
        return 0.5 * np.sum((t_l - phi(w_l * o_j + others + theta[m + 1:], "sigmoid")) ** 2)

    return numerical_gradient(e, np.concatenate([s["w"], [s["b"]], out["b_l"]]))


def probe_hidden(Neuron, s):
    neuron = _make_neuron(Neuron, s)
    o_j = neuron.forward(_sequence(s["x"], s["as_array"]))
    neuron.backward(delta_l=_sequence(s["delta_l"], s["as_array"]), w_l=_sequence(s["w_l"], s["as_array"]),
                    learning_rate=s["learning_rate"])
    return {"o_j": plain(o_j), "delta_j": read(neuron, "delta_j"), "weights": read(neuron, "weights"),
            "bias": read(neuron, "bias")}


def judge_hidden(s, observed, reveal):
    """A hidden neuron: δ_j = (Σ_l δ_l·w_jl)·φ′(net_j), then the same update."""
    x, w, b, activation = np.asarray(s["x"]), np.asarray(s["w"]), s["b"], s["activation"]
    delta_l, w_l = np.asarray(s["delta_l"]), np.asarray(s["w_l"])
    m = len(w)
    if "outputs" in s:
        grad = _hidden_gradient(s)
        grad_w, delta = grad[:m], grad[m]
    else:  # the loss that flows through this neuron, to first order: (Σ_l δ_l·w_jl)·o_j
        grad = numerical_gradient(lambda th: float(delta_l @ w_l) * phi(x @ th[:-1] + th[-1], activation),
                                  np.append(w, b))
        grad_w, delta = grad[:-1], grad[-1]
    suspects, replay = Suspects(), _replay_neuron(s)
    suspects.compare("o_j returned by forward()", observed["o_j"], phi(x @ w + b, activation),
                     lambda eq: replay(eq)["out"], reveal)
    suspects.compare("δ_j of the hidden neuron (self.delta_j)", seen(observed, "delta_j", "backward()"), delta,
                     lambda eq: replay(eq)["delta_j"], reveal)
    _check_update(s, observed, grad_w, delta, suspects, replay, reveal)


check_neuron_backward_hidden = Check("check_neuron_backward_hidden", 1, hidden_scenario, probe_hidden, judge_hidden)


# --- training -------------------------------------------------------------------------

def _problem(seed, m, J, L, n_samples, activation):
    """A random two-layer net and data set, clear of ReLU's kink at every sample."""
    rng = np.random.default_rng(seed)
    net = TwoLayerNet(m, J, L, activation)
    inputs = rng.uniform(-1, 1, (n_samples, m))
    targets = rng.uniform(0.1, 0.9, (n_samples, L))
    while True:
        theta = net.pack(rng.normal(0, 1, (J, m)), rng.uniform(0.1, 0.5, J),
                         rng.normal(0, 1, (L, J)), rng.uniform(-0.5, 0.5, L))
        W1, b1, W2, b2 = net.unpack(theta)
        nets = np.concatenate([W1 @ x + b1 for x in inputs])
        if activation == "sigmoid" or np.all(np.abs(nets) > 0.1):
            return {"m": m, "J": J, "L": L, "activation": activation, "theta": theta.tolist(),
                    "inputs": inputs.tolist(), "targets": targets.tolist()}


def _net(s):
    return TwoLayerNet(s["m"], s["J"], s["L"], s["activation"])


def _read_layers(hidden, outputs):
    return {"hidden": [{"weights": read(n, "weights"), "bias": read(n, "bias")} for n in hidden],
            "outputs": [{"weights": read(n, "weights"), "bias": read(n, "bias")} for n in outputs]}


def _parameters(s, layers):
    """θ read back from the probed neurons."""
    try:
        W1 = [as_vector(seen(n, "weights", "Neuron"), "a hidden neuron's weights") for n in layers["hidden"]]
        W2 = [as_vector(seen(n, "weights", "Neuron"), "an output neuron's weights") for n in layers["outputs"]]
        b1 = [float(np.squeeze(seen(n, "bias", "Neuron"))) for n in layers["hidden"]]
        b2 = [float(np.squeeze(seen(n, "bias", "Neuron"))) for n in layers["outputs"]]
        return _net(s).pack(np.array(W1), b1, np.array(W2), b2)
    except (ValueError, TypeError) as error:
        raise WrongAnswer(f"The neurons' weights no longer have their shapes: {error}") from None


def _judge_training(s, observed, reveal, quantity):
    """The epoch losses and the weights after training against SGD on numerical gradients."""
    history = observed["history"]
    if not isinstance(history, list) or isinstance(history, dict):
        raise WrongAnswer(f"train must return a list of per-epoch losses, not {history}.")
    net, theta, epochs, eta = _net(s), np.asarray(s["theta"]), s["epochs"], s["learning_rate"]
    inputs, targets = np.asarray(s["inputs"]), np.asarray(s["targets"])
    expected_theta, expected_history = net.sgd(theta, inputs, targets, epochs, eta)

    @cache
    def replay(eq):
        hidden, outputs = reference.layers(net, theta, eq)
        history = reference.train(hidden, outputs, inputs, targets, epochs, eta, eq)
        return {"history": history, "theta": reference.parameters(net, hidden, outputs)}

    @cache
    def count(eq):
        """len(history) from one epoch's replay: replaying train()'s default of 1000 epochs took
        most of a grading run's time."""
        hidden, outputs = reference.layers(net, theta, eq)
        records, _ = reference.epoch(hidden, outputs, inputs, targets, eta, equations=eq)
        return eq.epochs(epochs) * len(records)

    suspects = Suspects()
    # First the count, which also clears the suspects that record another number of losses
    suspects.compare("The number of epoch losses returned", len(history), epochs, count, reveal=True)
    suspects.compare(Plural("The per-epoch mean losses returned"), history, expected_history,
                     lambda eq: replay(eq)["history"], reveal)
    suspects.compare(quantity, _parameters(s, observed["layers"]), expected_theta, lambda eq: replay(eq)["theta"],
                     reveal)


def train_scenario(*, seed=0, activation="sigmoid", n_hidden=2, epochs=3, learning_rate=0.1, n_samples=2):
    return {**_problem(seed, 3, n_hidden, 1, n_samples, activation), "epochs": int(epochs),
            "learning_rate": float(learning_rate)}


def _history(value):
    return plain(value) if isinstance(value, (list, tuple, np.ndarray)) else f"{type(value).__name__}"


def probe_train(train, s):
    hidden, (output,) = reference.layers(_net(s), np.asarray(s["theta"]))
    history = train(hidden, output, [list(x) for x in s["inputs"]], [t[0] for t in s["targets"]],
                    epochs=s["epochs"], learning_rate=s["learning_rate"])
    return {"history": _history(history), "layers": _read_layers(hidden, [output])}


def judge_train(s, observed, reveal):
    """train(hidden, output, inputs, targets, epochs, learning_rate) against SGD on numerical gradients."""
    _judge_training(s, observed, reveal, Plural("The network's weights and biases after train()"))


check_train = Check("check_train", 1, train_scenario, probe_train, judge_train)


# --- Network ----------------------------------------------------------------------------

def _network(Network, s):
    """A student's Network whose neurons are swapped, in place, for reference ones holding θ."""
    network = Network(inputsize=s["m"], hidden_size=s["J"], output_size=s["L"], activation=s["activation"])
    for name, size in (("hidden", s["J"]), ("outputs", s["L"])):
        layer = getattr(network, name, None)
        if not isinstance(layer, list) or len(layer) != size:
            return None, f"Network.{name} must be a list of {size} Neuron objects."
    hidden, outputs = reference.layers(_net(s), np.asarray(s["theta"]))
    network.hidden[:] = hidden
    network.outputs[:] = outputs
    return network, ""


def network_scenario(*, seed=0, activation="sigmoid", inputsize=3, hidden_size=2, output_size=3, n_samples=2,
                     epochs=1, learning_rate=0.1):
    return {**_problem(seed, inputsize, hidden_size, output_size, n_samples, activation), "epochs": int(epochs),
            "learning_rate": float(learning_rate)}


def probe_network_forward(Network, s):
    network, problem = _network(Network, s)
    if problem:
        return {"problem": problem}
    outputs = []
    for x in s["inputs"]:
        out = network.forward(list(x))
        kind = f"{type(out).__name__} {getattr(out, 'shape', '')}".strip()
        outputs.append({"type": kind, "value": plain(out), "ndarray": isinstance(out, np.ndarray)})
    return {"outputs": outputs}


def judge_network_forward(s, observed, reveal):
    """Network.forward(x) returns o_l as an np.ndarray of shape (output_size,)."""
    if "problem" in observed:
        raise WrongAnswer(observed["problem"])
    net, theta = _net(s), np.asarray(s["theta"])
    for x, out in zip(s["inputs"], observed["outputs"]):
        if not out["ndarray"] or np.shape(out["value"]) != (s["L"],):
            raise WrongAnswer(f"Network.forward must return an np.ndarray of shape ({s['L']},), got {out['type']}.")
        compare(Plural("The outputs o_l of Network.forward()"), out["value"], net.forward(theta, x), reveal=reveal)


def network_backward_scenario(**arguments):
    return network_scenario(n_samples=1, **arguments)


def probe_network_backward(Network, s):
    network, problem = _network(Network, s)
    if problem:
        return {"problem": problem}
    network.forward(list(s["inputs"][0]))
    network.backward(list(s["targets"][0]), learning_rate=s["learning_rate"])
    return {"layers": _read_layers(network.hidden, network.outputs)}


def judge_network_backward(s, observed, reveal):
    """One Network.backward() step against gradient descent on numerical gradients."""
    if "problem" in observed:
        raise WrongAnswer(observed["problem"])
    net, theta, eta = _net(s), np.asarray(s["theta"]), s["learning_rate"]
    x, t = np.asarray(s["inputs"][0]), np.asarray(s["targets"][0])
    expected, _ = net.sgd(theta, [x], [t], 1, eta)

    def replay(eq):
        hidden, outputs = reference.layers(net, theta, eq)
        reference.forward(hidden, outputs, x)
        reference.backward(hidden, outputs, t, eta, eq)
        return reference.parameters(net, hidden, outputs)

    Suspects().compare(Plural("The network's weights and biases after one backward()"),
                       _parameters(s, observed["layers"]), expected, replay, reveal)


def network_train_scenario(*, epochs=3, **arguments):
    return network_scenario(epochs=epochs, **arguments)


def probe_network_train(Network, s):
    network, problem = _network(Network, s)
    if problem:
        return {"problem": problem}
    history = network.train([list(x) for x in s["inputs"]], [list(t) for t in s["targets"]], epochs=s["epochs"],
                            learning_rate=s["learning_rate"])
    return {"history": _history(history), "layers": _read_layers(network.hidden, network.outputs)}


def judge_network_train(s, observed, reveal):
    """Network.train() against SGD on numerical gradients."""
    if "problem" in observed:
        raise WrongAnswer(observed["problem"])
    _judge_training(s, observed, reveal, Plural("The network's weights and biases after train()"))


check_network_forward = Check("check_network_forward", 1, network_scenario, probe_network_forward,
                              judge_network_forward)
check_network_backward = Check("check_network_backward", 1, network_backward_scenario, probe_network_backward,
                               judge_network_backward)
check_network_train = Check("check_network_train", 1, network_train_scenario, probe_network_train,
                            judge_network_train)
