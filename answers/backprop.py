"""The cases of 02_backprop's checks: the Neuron backward pass, train() and Network.

Every right value comes from finite differences (``oracle.py``); known mistakes are replayed on
the reference (``deviations.py``); train() and Network are run on stand-in neurons whose answers
are recorded here (``standins.py``).
"""
from __future__ import annotations

import numpy as np

from backprop_course.checks.core import Case
from backprop_course.checks.observed import plain

from . import reference, standins
from .cases import chain, later, register, suspects
from .oracle import TwoLayerNet, numerical_gradient, phi


def net_away_from_kink(rng, m, activation, positive=None):
    """(x, w, b) with net = w·x + b clear of ReLU's kink at 0 (|net| ≥ 0.3)."""
    while True:
        x, w, b = rng.uniform(-2, 2, m), rng.normal(0, 1, m), rng.uniform(-0.5, 0.5)
        net = x @ w + b
        if activation == "sigmoid" and abs(net) < 4:
            return x, w, b
        if activation == "relu" and abs(net) >= 0.3 and (positive is None or (net > 0) == positive):
            return x, w, b


def _replay_neuron(s):
    """What the reference neuron computes in an output or hidden scenario, with the given equations."""
    def replay(eq):
        def run():
            neuron = reference.Neuron(len(s["w"]), s["w"], s["b"], s["activation"], equations=eq)
            out = neuron.forward(s["x"])
            if "t" in s:
                neuron.backward(t=s["t"], y_hat=out, learning_rate=s["learning_rate"], output_neuron=True)
            else:
                neuron.backward(delta_l=s["delta_l"], w_l=s["w_l"], learning_rate=s["learning_rate"])
            return {"out": out, "delta_j": neuron.delta_j, "weights": neuron.weights, "bias": neuron.bias}
        return chain(run, "out", "delta_j", "weights", "bias")
    return replay


def _neuron_case(s, out, grad_w, delta):
    """The right ŷ (or o_j), δ and the updated weights and bias: w − η·∂e/∂w, b − η·δ."""
    w, b, eta = np.asarray(s["w"]), s["b"], s["learning_rate"]
    expected = {"out": out, "delta_j": delta, "weights": w - eta * grad_w, "bias": b - eta * delta}
    return Case(s, expected, suspects(_replay_neuron(s)))


# --- an output neuron ---------------------------------------------------------------------

@register("check_neuron_backward_output")
def output_case(*, seed=0, activation="sigmoid", learning_rate=0.1, x=None, weights=None, bias=None, t=None,
                as_array=False):
    """The Case of an output neuron's backward: ŷ, δ = (ŷ − t)·φ′(net) and the updated weights (I,)
    and bias, by finite differences of e = ½(t − ŷ)²; the mistakes' replays."""
    if x is None:
        rng = np.random.default_rng(seed)
        x, weights, bias = net_away_from_kink(rng, 3, activation, positive=True)
        t = rng.uniform(0, 1)
    s = {"x": plain(x), "w": plain(weights), "b": float(bias), "t": float(t), "activation": activation,
         "learning_rate": float(learning_rate), "as_array": bool(as_array)}
    x, w, b, t = np.asarray(s["x"]), np.asarray(s["w"]), s["b"], s["t"]
    grad = numerical_gradient(lambda th: 0.5 * (t - phi(x @ th[:-1] + th[-1], activation)) ** 2, np.append(w, b))
    return _neuron_case(s, phi(x @ w + b, activation), grad[:-1], grad[-1])  # ∂e/∂b = δ


# --- a hidden neuron ----------------------------------------------------------------------

def _hidden_gradient(s):
    """∂e/∂θ for θ = [w (m), b, b_l (L)] of the network downstream of the hidden neuron."""
    x, m, out = np.asarray(s["x"]), len(s["w"]), s["outputs"]
    w_l, others, t_l = (np.asarray(out[k]) for k in ("w_l", "others", "t_l"))

    def e(theta):
        o_j = phi(x @ theta[:m] + theta[m], s["activation"])
        return 0.5 * np.sum((t_l - phi(w_l * o_j + others + theta[m + 1:], "sigmoid")) ** 2)

    return numerical_gradient(e, np.concatenate([s["w"], [s["b"]], out["b_l"]]))


@register("check_neuron_backward_hidden")
def hidden_case(*, seed=0, activation="sigmoid", learning_rate=0.1, n_outputs=1, positive=None, as_array=False,
                x=None, weights=None, bias=None, delta_l=None, w_l=None):
    """With delta_l and w_l given they are used as they are. Otherwise the neuron feeds
    ``n_outputs`` sigmoid output neurons, and δ_l comes from finite differences of the
    network's loss ½ Σ_l (t_l − o_l)²."""
    rng = np.random.default_rng(seed)
    if x is None:
        x, weights, bias = net_away_from_kink(rng, 3, activation, positive)
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
    x, w, b = np.asarray(s["x"]), np.asarray(s["w"]), s["b"]
    m = len(w)
    if "outputs" in s:
        grad = _hidden_gradient(s)
        grad_w, delta = grad[:m], grad[m]
    else:  # the loss that flows through this neuron, to first order: (Σ_l δ_l·w_jl)·o_j
        back = float(np.asarray(s["delta_l"]) @ np.asarray(s["w_l"]))
        grad = numerical_gradient(lambda th: back * phi(x @ th[:-1] + th[-1], activation), np.append(w, b))
        grad_w, delta = grad[:-1], grad[-1]
    return _neuron_case(s, phi(x @ w + b, activation), grad_w, delta)


# --- training -------------------------------------------------------------------------

def network_problem(seed, m, J, L, n_samples, activation):
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


def scenario_net(s):
    """The oracle's TwoLayerNet of a Network scenario: m inputs, J hidden and L output neurons."""
    return TwoLayerNet(s["m"], s["J"], s["L"], s["activation"])


def trajectory(net, theta, inputs, targets, steps, learning_rate):
    """θ before and after each of ``steps`` online steps, the samples in order epoch after epoch, on
    numerical gradients: where a loop that takes another number of steps ends (a structural diagnosis)."""
    thetas = [np.array(theta, float)]
    for k in range(steps):
        x, t = inputs[k % len(inputs)], targets[k % len(inputs)]
        thetas.append(thetas[-1] - learning_rate * net.gradient(thetas[-1], x, t))
    return thetas


def _training_case(s, drive):
    """train() or Network.train(): the epoch losses and θ after training, against SGD on
    numerical gradients; the replays' epoch count, losses and θ; the stand-in neurons; θ after
    each step of up to twice the epochs."""
    net, theta, epochs, eta = scenario_net(s), np.asarray(s["theta"]), s["epochs"], s["learning_rate"]
    inputs, targets = np.asarray(s["inputs"]), np.asarray(s["targets"])
    expected_theta, expected_history = net.sgd(theta, inputs, targets, epochs, eta)
    steps = trajectory(net, theta, inputs, targets, 2 * epochs * len(inputs), eta)

    def replay(eq):
        def count():
            # len(history) from one epoch: replaying train()'s default of 1000 epochs took most of a grading run
            hidden, outputs = reference.layers(net, theta, eq)
            records, _ = reference.epoch(hidden, outputs, inputs, targets, eta, equations=eq)
            return {"count": eq.epochs(epochs) * len(records)}

        def run():
            hidden, outputs = reference.layers(net, theta, eq)
            history = reference.train(hidden, outputs, inputs, targets, epochs, eta, eq)
            return {"history": history, "theta": reference.parameters(net, hidden, outputs)}

        return {**later(count, "count"), **later(run, "history", "theta")}

    recorded = standins.neurons(net, theta, drive, inputs)
    return Case(s, {"count": epochs, "history": expected_history, "theta": expected_theta, "trajectory": steps},
                suspects(replay, standins.NEURON), {"neurons": recorded})


@register("check_train")
def train_case(*, seed=0, activation="sigmoid", n_hidden=2, epochs=3, learning_rate=0.1, n_samples=2):
    """The Case of train(): each epoch's loss and the neurons after online gradient descent on a
    3-n_hidden-1 net, with the stand-ins' recordings."""
    s = {**network_problem(seed, 3, n_hidden, 1, n_samples, activation), "epochs": int(epochs),
         "learning_rate": float(learning_rate)}
    inputs, targets = np.asarray(s["inputs"]), np.asarray(s["targets"])
    return _training_case(s, lambda hidden, outputs, eq: reference.train(
        hidden, outputs, inputs, targets, s["epochs"], s["learning_rate"], eq))


# --- Network ----------------------------------------------------------------------------

def network_scenario(*, seed=0, activation="sigmoid", inputsize=3, hidden_size=2, output_size=3, n_samples=2,
                     epochs=1, learning_rate=0.1):
    """The scenario of a Network check: a seeded inputsize-hidden_size-output_size net, its
    samples and targets, epochs and η."""
    return {**network_problem(seed, inputsize, hidden_size, output_size, n_samples, activation), "epochs": int(epochs),
            "learning_rate": float(learning_rate)}


@register("check_network_forward")
def network_forward_case(**arguments):
    """The Case of Network.forward: o_j (J,) and o_l (L,) for each sample, by the oracle's net."""
    s = network_scenario(**arguments)
    net, theta = scenario_net(s), np.asarray(s["theta"])

    def drive(hidden, outputs, eq):
        for x in s["inputs"]:
            reference.forward(hidden, outputs, x)

    return Case(s, {"outputs": [net.forward(theta, x) for x in s["inputs"]]}, [],
                {"neurons": standins.neurons(net, theta, drive)})


@register("check_network_backward")
def network_backward_case(**arguments):
    """The Case of Network.backward on one sample: the layers' weights and biases after one step
    of gradient descent on finite-difference gradients."""
    s = network_scenario(n_samples=1, **arguments)
    net, theta, eta = scenario_net(s), np.asarray(s["theta"]), s["learning_rate"]
    x, t = np.asarray(s["inputs"][0]), np.asarray(s["targets"][0])
    expected, _ = net.sgd(theta, [x], [t], 1, eta)

    def step(hidden, outputs, eq):
        reference.forward(hidden, outputs, x)
        reference.backward(hidden, outputs, t, eta, eq)

    def replay(eq):
        def run():
            hidden, outputs = reference.layers(net, theta, eq)
            step(hidden, outputs, eq)
            return {"theta": reference.parameters(net, hidden, outputs)}
        return chain(run, "theta")

    return Case(s, {"theta": expected}, suspects(replay, standins.NEURON),
                {"neurons": standins.neurons(net, theta, step)})


@register("check_network_train")
def network_train_case(*, epochs=3, **arguments):
    """The Case of Network.train: each epoch's loss and the layers after training."""
    s = network_scenario(epochs=epochs, **arguments)
    inputs, targets = np.asarray(s["inputs"]), np.asarray(s["targets"])
    return _training_case(s, lambda hidden, outputs, eq: reference.train(
        hidden, outputs, inputs, targets, s["epochs"], s["learning_rate"], eq))

