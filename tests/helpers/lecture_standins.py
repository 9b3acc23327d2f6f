"""The tests' own stand-ins for what the lecture widgets run: the widgets have no neuron, no backward
driver and no net of their own (they must answer no exercise), so the tests give them these.

A correct sigmoid/ReLU ``Neuron`` and ``driver`` (tests may hold answers: they are not installed), the
seed lecture's bugs as classes and drivers, and ``Centroids``, a class of the decision-boundary
widget's contract that is no network at all.
"""
import numpy as np

from backprop_course.lectures import activations as act
from backprop_course.lectures.classification import INITS


def sigmoid(net):
    return 1 / (1 + np.exp(-np.asarray(net, dtype=float)))


def sigmoid_prime(net):
    return sigmoid(net) * (1 - sigmoid(net))


def relu(net):
    return np.maximum(np.asarray(net, dtype=float), 0.0)


def relu_prime(net):
    return (np.asarray(net) > 0).astype(float)


ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_prime), "relu": (relu, relu_prime), **act.ACTIVATIONS}


class Neuron:
    """The course's Neuron contract, right for sigmoid and ReLU (the test's, not the package's)."""

    def __init__(self, inputsize=3, weights=None, bias=None, activation="sigmoid"):
        self.weights = np.random.normal(size=inputsize) if weights is None else np.array(weights, dtype=float)
        self.bias = np.random.rand() if bias is None else float(bias)
        self.activation_name = activation
        self.activation = sigmoid if activation == "sigmoid" else relu

    def forward(self, x):
        self.o_i = np.asarray(x, dtype=float)
        self.net = float(self.o_i @ self.weights + self.bias)
        self.o_j = float(self.activation(self.net))
        return self.o_j

    def phi_prime(self):
        return float(sigmoid_prime(self.net) if self.activation_name == "sigmoid" else relu_prime(self.net))

    def backward(self, t=None, y_hat=None, delta_l=None, w_l=None, learning_rate=0.1, output_neuron=False):
        de_do = (y_hat - t) if output_neuron else float(np.dot(delta_l, w_l))
        self.delta_j = de_do * self.phi_prime()
        self.weights = self.weights - learning_rate * self.delta_j * self.o_i
        self.bias = self.bias - learning_rate * self.delta_j


def driver(hidden, outputs, t, y_hat, learning_rate):
    """Every output's weights read before any update, every δ_l to every hidden neuron."""
    w_jl = [np.array(n.weights, dtype=float) for n in outputs]
    for l, n in enumerate(outputs):
        n.backward(t=t[l], y_hat=y_hat[l], learning_rate=learning_rate, output_neuron=True)
    for j, n in enumerate(hidden):
        n.backward(delta_l=[n_l.delta_j for n_l in outputs], w_l=[w[j] for w in w_jl], learning_rate=learning_rate)


def stale_driver(hidden, outputs, t, y_hat, learning_rate):
    """Bug (c) of the seed lecture's code: the w_jl read after the output neurons' update."""
    for l, n in enumerate(outputs):
        n.backward(t=t[l], y_hat=y_hat[l], learning_rate=learning_rate, output_neuron=True)
    for j, n in enumerate(hidden):
        n.backward(delta_l=[n_l.delta_j for n_l in outputs], w_l=[n_l.weights[j] for n_l in outputs],
                   learning_rate=learning_rate)


class SeedNeuron(Neuron):
    """Bug (b) of the seed lecture's code: the hidden δ leaves out φ′."""

    def backward(self, t=None, y_hat=None, delta_l=None, w_l=None, learning_rate=0.1, output_neuron=False):
        if output_neuron:
            return super().backward(t, y_hat, delta_l, w_l, learning_rate, True)
        self.delta_j = float(np.dot(delta_l, w_l))
        self.weights = self.weights - learning_rate * self.delta_j * self.o_i
        self.bias = self.bias - learning_rate * self.delta_j


class SeedConstructor:
    """The seed lecture's class of lecture 1, with its constructor's `if not` tests."""

    def __init__(self, inputsize=3, weights=None, bias=None, activation="sigmoid"):
        self.weights = weights
        if not weights:
            self.weights = np.random.normal(size=inputsize)
        self.bias = bias
        if not bias:
            self.bias = 0.123
        self.activation = self.sigmoid if activation == "sigmoid" else self.relu

    def sigmoid(self, net):
        return 1 / (1 + np.exp(-net))

    def relu(self, net):
        return net if net > 0 else 0

    def forward(self, x):
        return self.activation(np.matmul(x, self.weights) + self.bias)


class Centroids:
    """A class of the widget's contract that is no network: each epoch moves every class's centre a
    step towards its samples' mean; predict gives the nearest centre. (The test's stand-in.)"""

    def __init__(self, sizes, init="he", seed=0):
        self.sizes, self.init = sizes, init
        self.centres = np.random.default_rng(seed).normal(0, 1.0, (sizes[-1], sizes[0])) * INITS[init](2, 2)

    def train_epoch(self, X, y, learning_rate, rng):
        for c in range(len(self.centres)):
            self.centres[c] += min(learning_rate, 1.0) * (X[y == c].mean(axis=0) - self.centres[c])
        return float(np.mean(np.sum((X - self.centres[y]) ** 2, axis=1)))

    def predict(self, X):
        return np.argmin(((X[:, None, :] - self.centres[None]) ** 2).sum(axis=2), axis=1)
