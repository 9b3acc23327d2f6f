"""The lecture's equations, one method each (:class:`Equations`), and ``LECTURE``, the equations as
the lecture gives them. A known mistake is a small, named deviation of them (the mistake table,
``mistakes.py``): ``Equations(hidden_delta=lambda back, prime: back)`` computes the network with
bug (b) of the original code. ``reference.py`` computes a neuron, a network and assignment 03's
batch functions with them.

This is not the oracle: what is right is decided by finite differences (``oracle.py``). It lives
with the instructor (``answers/``), never in the student's install or the grading kernel.
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

    def derivative_for(self, activation):
        """the φ′ a neuron's backward() takes: its own activation's, chosen by its name (self.activation_name)"""
        return activation

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

    def passed_back(self, delta_l, w_l, j):
        """hidden neuron j is given every output's δ_l and its weight w_jl into it"""
        return delta_l, w_l

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

    # --- a batch through a dense layer (lecture 6): x (N, D), W (D, M), b (M,) ----------------
    def batch_net(self, x, W, b):
        """net = x·W + b, shape (N, M): row n holds net_j = Σ_i w_ij·o_i + b_j of sample n"""
        return x @ W + b

    def input_gradient(self, dout, W):
        """∂e/∂x = dout·Wᵀ, shape (N, D): row n holds Σ_j δ_j·w_ij of sample n"""
        return dout @ W.T

    def weight_gradient(self, x, dout):
        """∂e/∂W = xᵀ·dout, shape (D, M) like W: entry (i, j) = Σ_n x[n, i]·dout[n, j]"""
        return x.T @ dout

    def bias_gradient(self, dout):
        """∂e/∂b = Σ_n dout[n], shape (M,): every sample adds its row"""
        return dout.sum(axis=0)

    def relu_backward(self, dout, net):
        """∂e/∂net = dout ⊙ φ′(net) for ReLU, shaped like net: dout where net > 0, else 0"""
        return dout * self.relu_prime(net, self.relu(net))

    def through_relu(self, do1, cache, relu_backward):
        """an epoch's gradient passes back through the hidden ReLU: relu_backward(∂e/∂o₁, cache) = ∂e/∂net₁"""
        return relu_backward(do1, cache)

    # --- softmax with cross-entropy (lecture 6): logits z (N, C), labels y (N,) -------------------
    def softmax(self, z):
        """ŷ = exp(z − max z) / Σ_c exp(z − max z), row by row, shape (N, C): the max changes nothing but
        the overflow"""
        shifted = z - z.max(axis=1, keepdims=True)
        return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)

    def log_softmax(self, z):
        """log ŷ = (z − max z) − log Σ_c exp(z − max z), row by row: finite where ŷ underflows to 0"""
        shifted = z - z.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def cross_entropy(self, log_y_hat, y):
        """e = −(1/N) Σ_n log ŷ[n, y_n], the mean over the batch"""
        return -np.mean(log_y_hat[np.arange(len(y)), y])

    def softmax_gradient(self, y_hat, t):
        """∂e/∂z = (ŷ − t)/N, shape (N, C), with t the one-hot targets"""
        return (y_hat - t) / len(t)

    # --- the gradient check (lecture 6): central differences ---------------------------------
    def finite_step(self, h):
        """h, as passed in: the central difference's error grows like h²"""
        return h

    def difference_quotient(self, f_plus, f_0, f_minus, h):
        """∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / (2h), the central difference (f_0 = f(x) is not needed)"""
        return (f_plus - f_minus) / (2 * h)

    def displaced(self, old, step):
        """x_i moved by ±h, where f is evaluated for the difference"""
        return old + step

    def entry_after(self, old, perturbed):
        """x_i once its differences are taken: put back as it was"""
        return old

    # --- an epoch of mini-batch SGD (lecture 6) -------------------------------------------------
    def working_params(self, params):
        """the dict the caller gave, updated in place (not a copy)"""
        return params

    def shuffled(self, X, y, rng):
        """(X[idx], y[idx]) with idx = rng.permutation(N), drawn once: every input keeps its target"""
        idx = rng.permutation(len(y))
        return X[idx], y[idx]

    def batches(self, N, batch_size):
        """runs of B consecutive samples of the shuffled set; the last holds what is left"""
        return [slice(start, start + batch_size) for start in range(0, N, batch_size)]

    def batch_order(self, X, y, rng):
        """each batch is cut from the epoch's one order, (X, y) as shuffled once"""
        return X, y

    def propagated_layer(self, before, after):
        """∂e/∂o₁ flows back through the second layer (its cache (o₁, W₂, b₂)) as it was at the forward pass,
        before its step"""
        return before

    def step_size(self, eta, batch_size):
        """η, the same for every batch: the batch's mean loss already carries its 1/B"""
        return eta

    def sgd_step(self, theta, eta, grad):
        """θ ← θ − η·∂e/∂θ"""
        return theta - eta * grad

    def recorded_batch_loss(self, at_forward, after_step):
        """a batch's loss is the one at its forward pass, before its step (after_step() is the other)"""
        return at_forward

    def epoch_batch_loss(self, losses, sizes):
        """an epoch's loss is the plain mean of its K batch losses, (1/K) Σ_k e_k (sizes: each batch's)"""
        return np.mean(losses)

    # --- 04_autograd: the local backward of each operation (lecture 7; ``reference_autograd.Value``) ----
    def chained(self, local, g):
        """a node's share of its user's gradient: ∂out/∂node · out.grad, the chain rule (local: out's shape)"""
        return local * g

    def reduced(self, contribution, shape):
        """the share summed back to the node's own shape, over the axes broadcasting added (``unbroadcast``)"""
        return unbroadcast(contribution, shape)

    def accumulated(self, grad, contribution):
        """node.grad += contribution: each user adds its share (a node used twice gets both)"""
        return grad + contribution

    def power_local(self, x, n):
        """∂(xⁿ)/∂x = n·xⁿ⁻¹"""
        return n * x ** (n - 1)

    def exp_local(self, x, out):
        """∂exp(x)/∂x = exp(x) = out"""
        return out

    def log_local(self, x):
        """∂log(x)/∂x = 1/x"""
        return 1 / x

    def tanh_local(self, x, out):
        """∂tanh(x)/∂x = 1 − tanh²(x) = 1 − out²"""
        return 1 - out ** 2

    def relu_local(self, x, out):
        """∂relu(x)/∂x = 1 where x > 0, else 0"""
        return (np.asarray(x) > 0).astype(float)

    def matmul_grads(self, a, b, g):
        """out = a @ b: (∂e/∂a, ∂e/∂b) = (g @ bᵀ, aᵀ @ g), each the shape of its operand"""
        return g @ b.T, a.T @ g

    # --- 04_autograd: backward() ---------------------------------------------------------------------------
    def visit_order(self, root):
        """the nodes whose _backward runs, in order: a topological order of the graph reversed, so that a
        node comes after every node that uses it (a depth-first search from the root, each node once)"""
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for child in node._prev:
                    visit(child)
                order.append(node)

        visit(root)
        return order[::-1]

    def seed(self, data):
        """∂root/∂root = 1, in the root's shape"""
        return np.ones_like(data)

    # --- 04_autograd: a training step with L2 weight decay, and early stopping ----------------------------
    def zeroed(self, grad):
        """a parameter's gradient before the step's backward(): zero (it holds the last step's otherwise)"""
        return np.zeros_like(grad)

    def l2_penalty(self, weights, biases, weight_decay):
        """(λ/2) Σ_k ‖W_k‖², of the weights only (biases: not decayed)"""
        return 0.5 * weight_decay * sum(float(np.sum(W ** 2)) for W in weights)

    def l2_gradient(self, W, weight_decay):
        """∂/∂W of (λ/2)‖W‖² = λ·W"""
        return weight_decay * W

    def bias_decay(self, b, weight_decay):
        """the penalty's gradient for a bias: 0 (biases are not decayed)"""
        return np.zeros_like(b)

    def selection_split(self, data):
        """the samples an epoch is chosen on: the validation split"""
        return data["val"]

    def patience_over(self, waited, patience):
        """stop once `patience` epochs in a row brought no better validation accuracy"""
        return waited >= patience

    def restored(self, best, last):
        """the parameters the model ends with: those of its best epoch (saved as copies)"""
        return best


#: the equations as the lecture gives them
LECTURE = Equations()


def unbroadcast(grad, shape):
    """``grad`` summed down to ``shape``: over the leading axes broadcasting added, and over each axis where
    ``shape`` has size 1 (assignment 04 gives its students the same helper)."""
    grad = np.asarray(grad, dtype=float)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
