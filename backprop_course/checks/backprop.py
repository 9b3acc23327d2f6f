"""Checks of 02_backprop: the Neuron backward pass, train() and Network.

Every expected value comes from finite differences (``backprop_course.oracle``). Known
mistakes are replayed beside it, so that a wrong answer can be named.
"""
from __future__ import annotations

import numpy as np

from ..oracle import TwoLayerNet, numerical_gradient, phi
from .core import quiet, WrongAnswer, as_vector, attribute, compare
from .trusted import VARIANTS, simulate, trusted_layers


def _rng(seed):
    return np.random.default_rng(seed)


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


def _update_variants(w, b, x, delta, learning_rate):
    """(weights, bias) that the update mistakes give, as lists of (code, value)."""
    weights = [("update-sign", w + learning_rate * delta * x),
               ("learning-rate-ignored", w - delta * x),
               ("learning-rate-ignored", w - 0.1 * delta * x)]
    bias = [("bias-not-updated", b),
            ("update-sign", b + learning_rate * delta),
            ("learning-rate-ignored", b - delta),
            ("learning-rate-ignored", b - 0.1 * delta)]
    return weights, bias


def _check_update(neuron, w, b, x, grad_w, delta, learning_rate, reveal):
    weight_variants, bias_variants = _update_variants(w, b, x, delta, learning_rate)
    compare("The weights after backward()", attribute(neuron, "weights", "Neuron"),
            w - learning_rate * grad_w, weight_variants, reveal)
    compare("The bias after backward()", attribute(neuron, "bias", "Neuron"),
            b - learning_rate * delta, bias_variants, reveal)


@quiet
def check_neuron_backward_output(Neuron, *, seed=0, activation="sigmoid", learning_rate=0.1,
                                 x=None, weights=None, bias=None, t=None, as_array=False, reveal=False):
    """An output neuron: δ = (ŷ − t)·φ′(net), then w ← w − η·δ·o_i, b ← b − η·δ."""
    rng = _rng(seed)
    if x is None:
        x, weights, bias = _net_away_from_kink(rng, 3, activation, positive=True)
        t = rng.uniform(0, 1)
    x, w, b, t = np.asarray(x, float), np.asarray(weights, float), float(bias), float(t)

    def e(theta):
        return 0.5 * (t - phi(x @ theta[:-1] + theta[-1], activation)) ** 2

    grad = numerical_gradient(e, np.append(w, b))
    delta = grad[-1]  # ∂e/∂b = δ
    neuron = Neuron(inputsize=len(w), weights=_sequence(w, as_array), bias=b, activation=activation)
    y_hat = neuron.forward(_sequence(x, as_array))
    net = x @ w + b
    o = phi(net, activation)
    compare("ŷ returned by forward()", y_hat, o, reveal=reveal)
    neuron.backward(t=t, y_hat=y_hat, learning_rate=learning_rate, output_neuron=True)
    variants = [("output-delta-sign", -delta), ("output-delta-no-phi-prime", o - t)]
    if activation == "relu":
        variants.append(("relu-with-sigmoid-derivative", (o - t) * o * (1 - o)))
    else:
        variants.append(("derivative-of-net", (o - t) * net * (1 - net)))
    compare("δ of the output neuron (self.delta_j)", attribute(neuron, "delta_j", "backward()"), delta, variants, reveal)
    _check_update(neuron, w, b, x, grad[:-1], delta, learning_rate, reveal)


@quiet
def check_neuron_backward_hidden(Neuron, *, seed=0, activation="sigmoid", learning_rate=0.1, n_outputs=1,
                                 positive=None, as_array=False, reveal=False, x=None, weights=None, bias=None,
                                 delta_l=None, w_l=None):
    """A hidden neuron: δ_j = (Σ_l δ_l·w_jl)·φ′(net_j), then the same update.

    With delta_l and w_l given, those are passed as they are. Otherwise the neuron feeds
    ``n_outputs`` sigmoid output neurons, and δ_l and δ_j both come from finite
    differences of the network's loss ½ Σ_l (t_l − o_l)².
    """
    rng = _rng(seed)
    if x is None:
        x, weights, bias = _net_away_from_kink(rng, 3, activation, positive)
    x, w, b = np.asarray(x, float), np.asarray(weights, float), float(bias)
    m = len(w)
    net = x @ w + b
    o = phi(net, activation)
    if delta_l is None:
        w_l = rng.normal(0, 1, n_outputs)      # this neuron's weights into each output
        others = rng.normal(0, 1, n_outputs)   # what the other hidden neurons send
        t_l = rng.uniform(0, 1, n_outputs)

        def e(theta):  # θ = [w (m), b, b_l (L)]
            o_j = phi(x @ theta[:m] + theta[m], activation)
            return 0.5 * np.sum((t_l - phi(w_l * o_j + others + theta[m + 1:], "sigmoid")) ** 2)

        b_l = rng.uniform(-0.5, 0.5, n_outputs)
        grad = numerical_gradient(e, np.concatenate([w, [b], b_l]))
        grad_w, delta, delta_l = grad[:m], grad[m], grad[m + 1:]   # ∂e/∂b_l = δ_l
    else:
        delta_l, w_l = np.asarray(delta_l, float), np.asarray(w_l, float)

        def e(theta):  # the part of the loss that flows through this neuron, to first order
            return float(delta_l @ w_l) * phi(x @ theta[:-1] + theta[-1], activation)

        grad = numerical_gradient(e, np.append(w, b))
        grad_w, delta = grad[:-1], grad[-1]
    neuron = Neuron(inputsize=m, weights=_sequence(w, as_array), bias=b, activation=activation)
    compare("o_j returned by forward()", neuron.forward(_sequence(x, as_array)), o, reveal=reveal)
    neuron.backward(delta_l=_sequence(delta_l, as_array), w_l=_sequence(w_l, as_array), learning_rate=learning_rate)
    total = float(delta_l @ w_l)
    variants = [("hidden-delta-no-phi-prime", total)]
    if activation == "relu":
        variants.append(("relu-with-sigmoid-derivative", total * o * (1 - o)))
    else:
        variants.append(("derivative-of-net", total * net * (1 - net)))
    prime = delta / total if total else 0.0
    if len(delta_l) > 1:
        variants += [("only-one-output-delta", delta_l[0] * w_l[0] * prime),
                     ("only-one-output-delta", delta_l[-1] * w_l[-1] * prime),
                     ("averaged-over-outputs", delta / len(delta_l))]
    compare("δ_j of the hidden neuron (self.delta_j)", attribute(neuron, "delta_j", "backward()"), delta, variants, reveal)
    _check_update(neuron, w, b, x, grad_w, delta, learning_rate, reveal)


# --- training -------------------------------------------------------------------------

def _problem(seed, m, J, L, n_samples, activation):
    """A random two-layer net and data set, clear of ReLU's kink for the first sample."""
    rng = _rng(seed)
    net = TwoLayerNet(m, J, L, activation)
    inputs = rng.uniform(-1, 1, (n_samples, m))
    targets = rng.uniform(0.1, 0.9, (n_samples, L))
    while True:
        theta = net.pack(rng.normal(0, 1, (J, m)), rng.uniform(0.1, 0.5, J),
                         rng.normal(0, 1, (L, J)), rng.uniform(-0.5, 0.5, L))
        W1, b1, W2, b2 = net.unpack(theta)
        nets = np.concatenate([W1 @ x + b1 for x in inputs])
        if activation == "sigmoid" or np.all(np.abs(nets) > 0.1):
            return net, theta, inputs, targets


def _parameters(net, hidden, outputs):
    """θ read back from the neurons after training."""
    try:
        W1 = [as_vector(n.weights, "a hidden neuron's weights") for n in hidden]
        W2 = [as_vector(n.weights, "an output neuron's weights") for n in outputs]
        b1 = [float(np.squeeze(n.bias)) for n in hidden]
        b2 = [float(np.squeeze(n.bias)) for n in outputs]
        return net.pack(np.array(W1), b1, np.array(W2), b2)
    except ValueError as error:
        raise WrongAnswer(f"The neurons' weights no longer have their shapes: {error}") from None


def _variant_results(net, theta, inputs, targets, epochs, learning_rate, names):
    return {name: simulate(net, theta, inputs, targets, epochs, learning_rate, name) for name in names}


def _check_history(history, expected, variants, epochs, reveal):
    if not isinstance(history, (list, tuple, np.ndarray)):
        raise WrongAnswer(f"train must return a list of per-epoch losses, not {type(history).__name__}.")
    compare("The number of epoch losses returned", len(history), epochs, [("epochs-ignored", 1000)], reveal=True)
    compare("The per-epoch mean losses returned", history, expected, variants, reveal)


# No "epochs-ignored" replay in these lists: the number of epoch losses names that mistake before
# any value is compared, and replaying 1000 epochs took most of a grading run's time.
TRAIN_VARIANTS = ["updated-weights-propagated", "first-sample-only", "last-sample-only",
                  "learning-rate-one", "learning-rate-default", "hidden-delta-no-phi-prime", "update-sign",
                  "bias-not-updated", "loss-not-averaged", "loss-after-update"]


@quiet
def check_train(train, *, seed=0, activation="sigmoid", n_hidden=2, epochs=3, learning_rate=0.1, n_samples=2,
                reveal=False):
    """train(hidden, output, inputs, targets, epochs, learning_rate) against SGD on numerical gradients."""
    net, theta, inputs, targets = _problem(seed, 3, n_hidden, 1, n_samples, activation)
    hidden, (output,) = trusted_layers(net, theta)
    history = train(hidden, output, [list(x) for x in inputs], [float(t) for t in targets[:, 0]],
                    epochs=epochs, learning_rate=learning_rate)
    expected_theta, expected_history = net.sgd(theta, inputs, targets, epochs, learning_rate)
    names = [v for v in TRAIN_VARIANTS if not (v == "learning-rate-default" and learning_rate == 0.1)]
    results = _variant_results(net, theta, inputs, targets, epochs, learning_rate, names)
    _check_history(history, expected_history, [(VARIANTS[n], h) for n, (_, h) in results.items()], epochs, reveal)
    compare("The network's weights and biases after train()", _parameters(net, hidden, [output]),
            expected_theta, [(VARIANTS[n], th) for n, (th, _) in results.items()], reveal)


# --- Network ----------------------------------------------------------------------------

NETWORK_VARIANTS = ["updated-weights-propagated", "first-output-delta-only", "last-output-delta-only",
                    "averaged-over-outputs", "first-target-for-every-output", "hidden-delta-no-phi-prime",
                    "relu-with-sigmoid-derivative", "derivative-of-net", "update-sign", "bias-not-updated",
                    "learning-rate-one", "learning-rate-default"]
NETWORK_TRAIN_VARIANTS = NETWORK_VARIANTS + ["first-sample-only", "last-sample-only",
                                             "loss-not-averaged", "loss-after-update",
                                             "first-sample-target-for-every-sample", "loss-not-summed-over-outputs"]


def _network(Network, net, theta):
    """A student's Network whose neurons are swapped, in place, for trusted ones holding θ."""
    network = Network(inputsize=net.m, hidden_size=net.J, output_size=net.L, activation=net.activation)
    for name, size in (("hidden", net.J), ("outputs", net.L)):
        layer = attribute(network, name, "Network")
        if not isinstance(layer, list) or len(layer) != size:
            raise WrongAnswer(f"Network.{name} must be a list of {size} Neuron objects.")
    hidden, outputs = trusted_layers(net, theta)
    network.hidden[:] = hidden
    network.outputs[:] = outputs
    return network


@quiet
def check_network_forward(Network, *, seed=0, activation="sigmoid", inputsize=3, hidden_size=2, output_size=3,
                          reveal=False):
    net, theta, inputs, _ = _problem(seed, inputsize, hidden_size, output_size, 2, activation)
    network = _network(Network, net, theta)
    for x in inputs:
        out = network.forward(list(x))
        if not isinstance(out, np.ndarray) or out.shape != (output_size,):
            raise WrongAnswer(f"Network.forward must return an np.ndarray of shape ({output_size},), "
                              f"got {type(out).__name__} {getattr(out, 'shape', '')}.")
        compare("The outputs o_l of Network.forward()", out, net.forward(theta, x), reveal=reveal)


@quiet
def check_network_backward(Network, *, seed=0, activation="sigmoid", inputsize=3, hidden_size=2, output_size=3,
                           learning_rate=0.1, reveal=False):
    net, theta, inputs, targets = _problem(seed, inputsize, hidden_size, output_size, 1, activation)
    network = _network(Network, net, theta)
    network.forward(list(inputs[0]))
    network.backward(list(targets[0]), learning_rate=learning_rate)
    expected = theta - learning_rate * net.gradient(theta, inputs[0], targets[0])
    names = [v for v in NETWORK_VARIANTS if not (v == "learning-rate-default" and learning_rate == 0.1)]
    results = _variant_results(net, theta, inputs[:1], targets[:1], 1, learning_rate, names)
    compare("The network's weights and biases after one backward()",
            _parameters(net, network.hidden, network.outputs), expected,
            [(VARIANTS[n], th) for n, (th, _) in results.items()], reveal)


@quiet
def check_network_train(Network, *, seed=0, activation="sigmoid", inputsize=3, hidden_size=2, output_size=3,
                        epochs=3, learning_rate=0.1, n_samples=2, reveal=False):
    net, theta, inputs, targets = _problem(seed, inputsize, hidden_size, output_size, n_samples, activation)
    network = _network(Network, net, theta)
    history = network.train([list(x) for x in inputs], [list(t) for t in targets], epochs=epochs,
                            learning_rate=learning_rate)
    expected_theta, expected_history = net.sgd(theta, inputs, targets, epochs, learning_rate)
    names = [v for v in NETWORK_TRAIN_VARIANTS if not (v == "learning-rate-default" and learning_rate == 0.1)]
    results = _variant_results(net, theta, inputs, targets, epochs, learning_rate, names)
    _check_history(history, expected_history, [(VARIANTS[n], h) for n, (_, h) in results.items()], epochs, reveal)
    compare("The network's weights and biases after train()",
            _parameters(net, network.hidden, network.outputs), expected_theta,
            [(VARIANTS[n], th) for n, (th, _) in results.items()], reveal)
