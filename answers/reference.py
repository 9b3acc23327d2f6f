"""The reference: the lecture's equations, and a neuron, a network and assignment 03's batch
functions computed with them.

The code follows the lecture line by line (o_i inputs, j hidden neurons, l outputs):

    net = Σ_i w_i·o_i + b,    o = φ(net)
    δ_l = (o_l − t_l)·φ′(net_l),    δ_j = (Σ_l δ_l·w_jl)·φ′(net_j)
    w ← w − η·δ·o_i,    b ← b − η·δ

and, on a batch of N samples (lecture 6; x (N, D), W (D, M), logits z (N, C), one-hot t):

    net = x·W + b,    ∂e/∂x = dout·Wᵀ,    ∂e/∂W = xᵀ·dout,    ∂e/∂b = Σ_n dout[n]
    e = −(1/N) Σ_n log ŷ[n, y_n],    ∂e/∂z = (ŷ − t)/N,    θ ← θ − η·∂e/∂θ per batch

Each equation is one method of :class:`Equations` (``equations.py``), so that a known mistake is a small, named
deviation (the mistake table, ``mistakes.py``): ``Equations(hidden_delta=lambda back, prime:
back)`` computes the network with bug (b) of the original code.

This is not the oracle. What is right is decided by finite differences (``oracle.py``), which
know none of these formulas. The reference replays known mistakes, so that a wrong answer can be
named (``deviations.py``), and records what the trusted neurons and layers of a scenario answer
(``standins.py``: train(), Network and sgd_epoch are checked on them, so that a student's own
backward costs points once, on its own exercise). tests/checks/test_checks.py compares it with the oracle.

It is an answer to every exercise: it lives with the instructor (``answers/``), never in the
student's install or the grading kernel.
"""
from __future__ import annotations

import numpy as np

from .equations import LECTURE, Equations, unbroadcast  # noqa: F401 (unbroadcast: as callers import it from here)


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
        """φ(net) of the neuron's activation."""
        return self.equations.phi(net, self.activation_name)

    def sigmoid(self, net):
        """σ(net) = 1 / (1 + e^(−net))."""
        return self.equations.sigmoid(net)

    def relu(self, net):
        """max(0, net)."""
        return self.equations.relu(net)

    def forward(self, x):
        """o = φ(Σ_i w_i·o_i + b) for inputs x (I,); stores o_i, net and o_j."""
        eq = self.equations
        self.o_i = np.asarray(x, dtype=float)
        self.net = float(eq.net(self.weights, self.o_i, self.bias))            # net = Σ_i w_i·o_i + b
        self.o_j = float(eq.phi(self.net, self.activation_name))              # o = φ(net)
        return self.o_j

    def backward(self, t=None, y_hat=None, delta_l=None, w_l=None, learning_rate=0.1, output_neuron=False):
        """One step of gradient descent: δ (output: (ŷ − t)·φ′(net); hidden: (Σ_l δ_l·w_jl)·φ′(net)),
        then w ← w − η·δ·o_i (I,) and b ← b − η·δ."""
        eq = self.equations
        prime = float(eq.phi_prime(self.net, self.o_j, eq.derivative_for(self.activation_name)))  # φ′(net)
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
    eta = eq.learning_rate(learning_rate)                             # the η passed on (a loop may drop it)
    for n, t_l in zip(outputs, eq.output_targets(t)):
        n.backward(t=t_l, y_hat=n.o_j, learning_rate=eta, output_neuron=True)
    delta_l = [n.delta_j for n in outputs]
    w_jl = eq.propagated_weights(before, np.array([n.weights for n in outputs]))
    for j, n in enumerate(hidden):
        given_delta, given_w = eq.passed_back(delta_l, w_jl[:, j], j)
        n.backward(delta_l=given_delta, w_l=given_w, learning_rate=eta)


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


# --- assignment 03's contract, on a batch (lecture 6), computed with the equations --------------

def dense_forward(x, W, b, equations=LECTURE):
    """A dense layer on a batch: x (N, D), W (D, M), b (M,) → (out (N, M), cache (x, W, b))."""
    return equations.batch_net(x, W, b), (x, W, b)


def dense_backward(dout, cache, equations=LECTURE):
    """dout = ∂e/∂out (N, M), cache (x, W, b) → (dx (N, D), dW (D, M), db (M,))."""
    eq, (x, W, _) = equations, cache
    return eq.input_gradient(dout, W), eq.weight_gradient(x, dout), eq.bias_gradient(dout)


def relu_forward(x, equations=LECTURE):
    """out = φ(x) = max(0, x), any shape → (out, cache = x)."""
    return equations.phi(x, "relu"), x


def relu_backward(dout, cache, equations=LECTURE):
    """dout = ∂e/∂out, cache = x → ∂e/∂x, shaped like x."""
    return equations.relu_backward(dout, cache)


def softmax_cross_entropy(logits, y, equations=LECTURE):
    """logits z (N, C), integer labels y (N,) → (mean cross-entropy e, dlogits = ∂e/∂z (N, C))."""
    eq = equations
    z, y = np.asarray(logits, dtype=float), np.asarray(y, dtype=int)
    t = np.eye(z.shape[1])[y]                                     # one-hot targets
    loss = eq.cross_entropy(eq.log_softmax(z), y)                 # e = −(1/N) Σ_n log ŷ[n, y_n]
    return float(loss), eq.softmax_gradient(eq.softmax(z), t)     # ∂e/∂z = (ŷ − t)/N


#: the layer functions sgd_epoch calls, as a student's sgd_epoch calls the notebook's
LAYERS = ("dense_forward", "dense_backward", "relu_forward", "relu_backward", "softmax_cross_entropy")


def batch_layers(equations=LECTURE):
    """{name: function} of the batch layers (``LAYERS``), computed with ``equations``."""
    eq = equations
    return {"dense_forward": lambda x, W, b: dense_forward(x, W, b, eq),
            "dense_backward": lambda dout, cache: dense_backward(dout, cache, eq),
            "relu_forward": lambda x: relu_forward(x, eq),
            "relu_backward": lambda dout, cache: relu_backward(dout, cache, eq),
            "softmax_cross_entropy": lambda logits, y: softmax_cross_entropy(logits, y, eq)}


def grad_check(f, x, h=1e-5, equations=LECTURE):
    """The central-difference gradient of a scalar f at the float array x, shaped like x; x is left as it was."""
    eq = equations
    h, f_0 = eq.finite_step(h), f(x)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = eq.displaced(old, h)                                 # x + h·e_i
        f_plus = f(x)
        x[i] = eq.displaced(old, -h)                                # x − h·e_i
        f_minus = f(x)
        x[i] = eq.entry_after(old, x[i])                            # x_i = old
        grad[i] = eq.difference_quotient(f_plus, f_0, f_minus, h)   # (f(x + h·e_i) − f(x − h·e_i)) / (2h)
    return grad


def sgd_epoch(params, X, y, batch_size, learning_rate, rng, equations=LECTURE, layer_functions=None):
    """One epoch of mini-batch SGD on the 2-layer ReLU net x → dense → ReLU → dense → softmax.

    params {"W1" (D, H), "b1" (H,), "W2" (H, C), "b2" (C,)} is updated in place; X (N, D), y (N,);
    rng a numpy Generator. Returns the mean of the batch losses, each taken before its step.
    layer_functions: the layer functions it calls ({name: function}, ``LAYERS``), by default the reference's
    with ``equations`` (the stand-ins' recording passes its own).
    """
    eq = equations
    L = layer_functions or batch_layers(eq)
    params = eq.working_params(params)
    X, y = eq.shuffled(np.asarray(X, dtype=float), np.asarray(y, dtype=int), rng)
    losses, sizes = [], []
    eta = eq.step_size(learning_rate, batch_size)
    for batch in eq.batches(len(y), batch_size):
        in_order, labels = eq.batch_order(X, y, rng)
        xb, yb = in_order[batch], labels[batch]

        def batch_loss():
            net1, cache1 = L["dense_forward"](xb, params["W1"], params["b1"])     # net₁ = x·W₁ + b₁
            o1, relu_cache = L["relu_forward"](net1)                             # o₁ = φ(net₁)
            logits, cache2 = L["dense_forward"](o1, params["W2"], params["b2"])   # z = o₁·W₂ + b₂
            return L["softmax_cross_entropy"](logits, yb), cache1, relu_cache, cache2

        (loss, dlogits), cache1, relu_cache, cache2 = batch_loss()                # e, ∂e/∂z = (ŷ − t)/B
        _, dW2, db2 = L["dense_backward"](dlogits, cache2)
        stepped = (cache2[0], eq.sgd_step(params["W2"], eta, dW2), eq.sgd_step(params["b2"], eta, db2))
        do1, _, _ = L["dense_backward"](dlogits, eq.propagated_layer(cache2, stepped))  # through W₂ before its step
        dnet1 = eq.through_relu(do1, relu_cache, L["relu_backward"])         # ∂e/∂net₁ = ∂e/∂o₁ ⊙ φ′(net₁)
        _, dW1, db1 = L["dense_backward"](dnet1, cache1)
        for key, grad in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
            params[key] = eq.sgd_step(params[key], eta, grad)               # θ ← θ − η·∂e/∂θ
        losses.append(eq.recorded_batch_loss(loss, lambda: batch_loss()[0][0]))
        sizes.append(len(yb))
    return float(eq.epoch_batch_loss(losses, sizes))
