"""The reference: the lecture's equations, and a neuron and a network computed with them.

The code follows the lecture line by line (o_i inputs, j hidden neurons, l outputs):

    net = Σ_i w_i·o_i + b,    o = φ(net)
    δ_l = (o_l − t_l)·φ′(net_l),    δ_j = (Σ_l δ_l·w_jl)·φ′(net_j)
    w ← w − η·δ·o_i,    b ← b − η·δ

Each equation is one method of :class:`Equations`, so that a known mistake is a small, named
deviation (the mistake table, ``mistakes.py``): ``Equations(hidden_delta=lambda back, prime:
back)`` computes the network with bug (b) of the original code.

This is not the oracle. What is right is decided by finite differences (``oracle.py``), which
know none of these formulas. The reference is used where a working Neuron is needed (the checks
of train() and Network run on reference neurons, so that a student's own backward costs points
once, on its own exercise; the lecture widgets run it when given no class), and to replay known
mistakes so that a wrong answer can be named. tests/test_checks.py compares it with the oracle.
"""
from __future__ import annotations

import numpy as np

from .oracle import phi


class Equations:
    """The lecture's equations, one method each.

    ``Equations(**deviation)`` replaces some of them by wrong versions: plain functions (no
    ``self``) of the same arguments.
    """

    def __init__(self, **deviation):
        for name, wrong in deviation.items():
            if not callable(getattr(Equations, name, None)):
                raise TypeError(f"{name!r} is not an equation of the reference")
            setattr(self, name, wrong)

    # --- a neuron's forward pass (lecture 1) -------------------------------------------------
    def net(self, w, o_i, b):
        """net = Σ_i w_i·o_i + b"""
        return np.dot(w, o_i) + b

    def phi(self, net, activation):
        """o = φ(net), for the contract's two activations"""
        if activation == "sigmoid":
            return self.sigmoid(net)
        if activation == "relu":
            return self.relu(net)
        raise ValueError(f"unknown activation {activation!r}: use 'sigmoid' or 'relu'")

    def sigmoid(self, net):
        """φ(net) = 1 / (1 + e^(−net)), elementwise (the oracle's φ: it is not in question)"""
        return phi(net, "sigmoid")

    def relu(self, net):
        """φ(net) = max(0, net), elementwise"""
        return phi(net, "relu")

    # --- derivatives of the activations (lecture 3) ----------------------------------------
    def phi_prime(self, net, o, activation):
        """φ′(net), given net and o = φ(net)"""
        return self.sigmoid_prime(net, o) if activation == "sigmoid" else self.relu_prime(net, o)

    def sigmoid_prime(self, net, o):
        """φ′(net) = o(1 − o)"""
        return o * (1 - o)

    def relu_prime(self, net, o):
        """φ′(net) = 1 if net > 0, else 0"""
        return (np.asarray(net) > 0).astype(float)

    # --- the loss (lectures 2 and 3) --------------------------------------------------------
    def loss(self, t, y_hat):
        """e = ½(t − ŷ)², elementwise"""
        return 0.5 * (t - y_hat) ** 2

    def loss_derivative(self, t, y_hat):
        """∂e/∂ŷ = ŷ − t"""
        return y_hat - t

    # --- a neuron's backward pass (lecture 4) ---------------------------------------------
    def output_delta(self, y_hat, t, prime):
        """δ_l = (ŷ − t)·φ′(net_l)"""
        return (y_hat - t) * prime

    def backpropagated(self, delta_l, w_l):
        """Σ_l δ_l·w_jl: what reaches hidden neuron j from every output l"""
        return np.dot(delta_l, w_l)

    def hidden_delta(self, back, prime):
        """δ_j = (Σ_l δ_l·w_jl)·φ′(net_j)"""
        return back * prime

    def learning_rate(self, eta):
        """η, as passed to backward()"""
        return eta

    def weight_step(self, w, eta, delta, o_i):
        """w ← w − η·δ·o_i"""
        return w - eta * delta * o_i

    def bias_step(self, b, eta, delta):
        """b ← b − η·δ"""
        return b - eta * delta

    # --- the constructor's contract -------------------------------------------------------
    def given_or_random(self, value, draw):
        """The weights or bias given, or draw() when the argument was left out (None)"""
        return draw() if value is None else value

    # --- training: online gradient descent (lecture 4) --------------------------------------
    def epochs(self, n):
        """the number of epochs, as passed in"""
        return n

    def samples(self, inputs, targets):
        """each epoch visits every sample (x, t), in order"""
        return list(zip(inputs, targets))

    def online_step(self, k, n):
        """online descent: a gradient step after the forward pass of every sample (the k-th of an epoch's n)"""
        return True

    def output_targets(self, t):
        """output l is trained towards t_l"""
        return t

    def propagated_weights(self, before, after):
        """δ_l flows back through w_jl as they were before the output neurons' update"""
        return before

    def sample_loss(self, t, o_l):
        """e = ½ Σ_l (t_l − o_l)², the loss of each output summed"""
        return np.sum(self.loss(t, o_l))

    def recorded_loss(self, at_forward, after_update):
        """a sample's loss is the one at its forward pass, before its update (after_update() is the other)"""
        return at_forward

    def epoch_loss(self, losses, earlier):
        """an epoch's loss is the mean of its samples' losses (earlier: those of the epochs before, not its own)"""
        return np.mean(losses)

    def epoch_recorded(self, k, n):
        """the epoch's loss joins the history once, after its last sample (the k-th of n)"""
        return k == n - 1


#: the equations as the lecture gives them
LECTURE = Equations()


class Neuron:
    """One neuron with the assignments' Neuron contract, computed by ``equations``.

    Attributes after forward(x): o_i (inputs), net, o_j (output); after backward: delta_j,
    and the updated weights (shape (inputsize,)) and bias.
    """

    def __init__(self, inputsize=3, weights=None, bias=None, activation="sigmoid", equations=LECTURE):
        eq = self.equations = equations
        self.weights = np.array(eq.given_or_random(weights, lambda: _random().normal(size=inputsize)), dtype=float)
        self.bias = float(eq.given_or_random(bias, lambda: _random().random()))
        self.activation_name = activation

    def activation(self, net):
        return self.equations.phi(net, self.activation_name)

    def sigmoid(self, net):
        return self.equations.sigmoid(net)

    def relu(self, net):
        return self.equations.relu(net)

    def forward(self, x):
        eq = self.equations
        self.o_i = np.asarray(x, dtype=float)
        self.net = float(eq.net(self.weights, self.o_i, self.bias))            # net = Σ_i w_i·o_i + b
        self.o_j = float(eq.phi(self.net, self.activation_name))              # o = φ(net)
        return self.o_j

    def backward(self, t=None, y_hat=None, delta_l=None, w_l=None, learning_rate=0.1, output_neuron=False):
        eq = self.equations
        prime = float(eq.phi_prime(self.net, self.o_j, self.activation_name))  # φ′(net)
        if output_neuron:
            self.delta_j = eq.output_delta(y_hat, t, prime)                   # δ = (ŷ − t)·φ′(net)
        else:
            delta_l, w_l = np.asarray(delta_l, float).reshape(-1), np.asarray(w_l, float).reshape(-1)
            self.delta_j = eq.hidden_delta(float(eq.backpropagated(delta_l, w_l)), prime)  # (Σ_l δ_l·w_jl)·φ′
        eta = eq.learning_rate(learning_rate)
        self.weights = eq.weight_step(self.weights, eta, self.delta_j, self.o_i)  # w ← w − η·δ·o_i
        self.bias = eq.bias_step(self.bias, eta, self.delta_j)                    # b ← b − η·δ


def _random():
    """Seeded, so that a Neuron made without weights is the same in every run."""
    return np.random.default_rng(0)


# --- a two-layer network of Neurons: o_i → hidden j → outputs l ------------------------------

def layers(net, theta, equations=LECTURE):
    """Neurons holding θ of an oracle.TwoLayerNet: (hidden list, output list)."""
    W1, b1, W2, b2 = net.unpack(theta)
    hidden = [Neuron(net.m, W1[j], b1[j], net.activation, equations) for j in range(net.J)]
    outputs = [Neuron(net.J, W2[l], b2[l], net.activation, equations) for l in range(net.L)]
    return hidden, outputs


def parameters(net, hidden, outputs):
    """θ of an oracle.TwoLayerNet, read back from the neurons."""
    return net.pack([n.weights for n in hidden], [n.bias for n in hidden],
                    [n.weights for n in outputs], [n.bias for n in outputs])


def forward(hidden, outputs, x):
    """o_l for one sample x, shape (L,)."""
    o_j = [n.forward(x) for n in hidden]
    return np.array([n.forward(o_j) for n in outputs])


def backward(hidden, outputs, t, learning_rate, equations=LECTURE):
    """One step after forward(): the output neurons, then the hidden ones with δ_l and w_jl."""
    eq = equations
    before = np.array([n.weights for n in outputs])                   # w_jl, shape (L, J)
    for n, t_l in zip(outputs, eq.output_targets(t)):
        n.backward(t=t_l, y_hat=n.o_j, learning_rate=learning_rate, output_neuron=True)
    delta_l = [n.delta_j for n in outputs]
    w_jl = eq.propagated_weights(before, np.array([n.weights for n in outputs]))
    for j, n in enumerate(hidden):
        n.backward(delta_l=delta_l, w_l=w_jl[:, j], learning_rate=learning_rate)


def train(hidden, outputs, inputs, targets, epochs, learning_rate, equations=LECTURE):
    """Online gradient descent, sample by sample; returns the per-epoch mean losses."""
    eq = equations
    history, earlier = [], []
    for _ in range(eq.epochs(epochs)):
        records, losses = epoch(hidden, outputs, inputs, targets, learning_rate, earlier, eq)
        history += records
        earlier += losses
    return history


def epoch(hidden, outputs, inputs, targets, learning_rate, earlier=(), equations=LECTURE):
    """One epoch: forward, the sample's loss, a step, for each sample in order.

    earlier: the samples' losses of the epochs before. Returns (what the epoch adds to the
    history: its mean loss, the samples' losses).
    """
    eq = equations
    records, losses = [], []
    visits = eq.samples(inputs, targets)
    for k, (x, t) in enumerate(visits):
        e = eq.sample_loss(t, forward(hidden, outputs, x))
        if eq.online_step(k, len(visits)):
            backward(hidden, outputs, t, learning_rate, eq)
        losses.append(eq.recorded_loss(e, lambda: eq.sample_loss(t, forward(hidden, outputs, x))))
        if eq.epoch_recorded(k, len(visits)):
            records.append(float(eq.epoch_loss(losses, list(earlier))))
    return records, losses
