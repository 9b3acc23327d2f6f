"""A trusted Neuron and a simulator of known mistakes, both for the checks' own use.

``TrustedNeuron`` follows the assignment's contract, so the checks of ``train`` and
``Network`` can run on it and do not depend on the student's own ``backward`` (an error
there must cost points once, on its own exercise). ``simulate`` replays training with
one known mistake switched on, to name a wrong result. Neither is the oracle: tests
compare both with finite differences (tests/test_checks.py).
"""
from __future__ import annotations

import numpy as np

from .oracle import phi


def phi_prime(net, o, activation, mistake=None):
    """φ′(net) given net and o = φ(net); ``mistake`` swaps in a known-wrong derivative."""
    if activation == "sigmoid":
        return net * (1 - net) if mistake == "derivative-of-net" else o * (1 - o)
    if mistake == "relu-with-sigmoid-derivative":
        return o * (1 - o)
    return (np.asarray(net) > 0).astype(float)


class TrustedNeuron:
    """One neuron, with the contract of 02_backprop's ``Neuron``."""

    def __init__(self, inputsize=3, weights=None, bias=None, activation="sigmoid"):
        self.weights = np.array(weights, dtype=float)
        self.bias = float(bias)
        self.activation_name = activation

    def activation(self, net):
        return phi(net, self.activation_name)

    def sigmoid(self, net):
        return phi(net, "sigmoid")

    def relu(self, net):
        return phi(net, "relu")

    def forward(self, x):
        self.o_i = np.asarray(x, dtype=float)
        self.net = float(self.o_i @ self.weights + self.bias)
        self.o_j = float(self.activation(self.net))
        return self.o_j

    def backward(self, t=None, y_hat=None, delta_l=None, w_l=None, learning_rate=0.1, output_neuron=False):
        if output_neuron:
            error = y_hat - t
        else:
            error = float(np.dot(np.atleast_1d(np.asarray(delta_l, float)), np.atleast_1d(np.asarray(w_l, float))))
        self.delta_j = error * float(phi_prime(self.net, self.o_j, self.activation_name))
        self.weights = self.weights - learning_rate * self.delta_j * self.o_i
        self.bias = self.bias - learning_rate * self.delta_j


def trusted_layers(net, theta):
    """TrustedNeurons holding θ of a TwoLayerNet: (hidden list, output list)."""
    W1, b1, W2, b2 = net.unpack(theta)
    hidden = [TrustedNeuron(net.m, W1[j], b1[j], net.activation) for j in range(net.J)]
    outputs = [TrustedNeuron(net.J, W2[l], b2[l], net.activation) for l in range(net.L)]
    return hidden, outputs


#: each simulated variant and the mistake it stands for
VARIANTS = {
    "update-sign": "update-sign",
    "bias-not-updated": "bias-not-updated",
    "learning-rate-one": "learning-rate-ignored",
    "learning-rate-default": "learning-rate-ignored",
    "hidden-delta-no-phi-prime": "hidden-delta-no-phi-prime",
    "relu-with-sigmoid-derivative": "relu-with-sigmoid-derivative",
    "derivative-of-net": "derivative-of-net",
    "updated-weights-propagated": "updated-weights-propagated",
    "first-sample-only": "subset-of-samples",
    "last-sample-only": "subset-of-samples",
    "epochs-ignored": "epochs-ignored",
    "loss-not-averaged": "loss-not-averaged",
    "loss-after-update": "loss-after-update",
    "first-output-delta-only": "only-one-output-delta",
    "last-output-delta-only": "only-one-output-delta",
    "averaged-over-outputs": "averaged-over-outputs",
    "first-target-for-every-output": "wrong-target",
    "first-sample-target-for-every-sample": "wrong-target",
    "loss-not-summed-over-outputs": "loss-not-summed-over-outputs",
}


def simulate(net, theta, inputs, targets, epochs, learning_rate, variant=None):
    """Online training of a TwoLayerNet by analytic backprop, with one variant switched on.

    Returns (θ after training, per-epoch mean losses), like ``TwoLayerNet.sgd``.
    """
    W1, b1, W2, b2 = (np.array(p, float) for p in net.unpack(theta))
    inputs = [np.asarray(x, float) for x in inputs]
    targets = [np.atleast_1d(np.asarray(t, float)) for t in targets]
    samples = list(zip(inputs, targets))
    if variant == "first-sample-only":
        samples = samples[:1]
    elif variant == "last-sample-only":
        samples = samples[-1:]
    elif variant == "first-sample-target-for-every-sample":
        samples = [(x, targets[0]) for x, _ in samples]
    if variant == "epochs-ignored":
        epochs = 1000
    if variant == "learning-rate-one":
        learning_rate = 1.0
    elif variant == "learning-rate-default":
        learning_rate = 0.1
    sign = -1.0 if variant == "update-sign" else 1.0
    mistake = variant if variant in ("derivative-of-net", "relu-with-sigmoid-derivative") else None

    def sample_loss(t, o_l):
        squared = (t - o_l) ** 2
        return 0.5 * float(np.mean(squared) if variant == "loss-not-summed-over-outputs" else np.sum(squared))

    history = []
    for _ in range(epochs):
        losses = []
        for x, t in samples:
            # the pairing of outputs with targets is Network.backward's; train's loss still sees the right t
            t_train = np.full_like(t, t[0]) if variant == "first-target-for-every-output" else t
            net_j = W1 @ x + b1
            o_j = phi(net_j, net.activation)
            net_l = W2 @ o_j + b2
            o_l = phi(net_l, net.activation)
            losses.append(sample_loss(t, o_l))
            delta_l = (o_l - t_train) * phi_prime(net_l, o_l, net.activation, mistake)
            W2_old = W2.copy()
            W2 = W2 - sign * learning_rate * np.outer(delta_l, o_j)
            if variant != "bias-not-updated":
                b2 = b2 - sign * learning_rate * delta_l
            W_jl = W2 if variant == "updated-weights-propagated" else W2_old
            if variant == "first-output-delta-only":
                back = W_jl[0] * delta_l[0]
            elif variant == "last-output-delta-only":
                back = W_jl[-1] * delta_l[-1]
            else:
                back = W_jl.T @ delta_l
                if variant == "averaged-over-outputs":
                    back = back / net.L
            if variant == "hidden-delta-no-phi-prime":
                delta_j = back
            else:
                delta_j = back * phi_prime(net_j, o_j, net.activation, mistake)
            W1 = W1 - sign * learning_rate * np.outer(delta_j, x)
            if variant != "bias-not-updated":
                b1 = b1 - sign * learning_rate * delta_j
            if variant == "loss-after-update":
                losses[-1] = sample_loss(t, phi(W2 @ phi(W1 @ x + b1, net.activation) + b2, net.activation))
        history.append(float(np.sum(losses) if variant == "loss-not-averaged" else np.mean(losses)))
    return net.pack(W1, b1, W2, b2), history
