"""The reference of assignment 04 (lecture 7): a Value of any shape with the local backward of each
operation, backward() in reverse topological order, a training step with L2 weight decay and early
stopping, each computed with the lecture's equations (``reference.Equations``), so that a known
mistake is a deviation of one of them (``deviations.py``).

    out = f(a, b):   a.grad += unbroadcast(∂out/∂a · out.grad)      (every user adds its share)
    backward():      root.grad = 1, then each node's _backward, users before the nodes they use
    a step:          θ ← θ − η·(∂e/∂θ + λ·θ) for the weights, θ − η·∂e/∂θ for the biases,
                     with e the mean cross-entropy and the loss e + (λ/2)·Σ‖W‖²

Also the numpy model the grader trusts for the digits (``TRUSTED_SOURCE``): the MLP of the
notebook, its gradient computed with matrices (lecture 6), no graph. It is an answer to
assignment 03, and, like 03's trusted layers, reaches the student's kernel only inside the last
probe at grading (``answers/autograd.py``).

An answer to every exercise of 04: it lives with the instructor, never in the student's install.
"""
from __future__ import annotations

import numpy as np

from .reference import LECTURE

#: the operations of the assignment's Value whose local backward the student writes
OPERATIONS = ("add", "mul", "pow", "exp", "log", "tanh", "relu", "matmul", "sum")


class Value:
    """A number or an array in a computational graph, the assignment's contract (``equations``: its
    local derivatives and how a share is added).

    data: a float array; grad: ∂(the output backward() ran from)/∂data, its shape; _prev: the
    nodes it was computed from; _backward: adds this node's share of its grad to theirs.
    """

    def __init__(self, data, _children=(), _op="", equations=LECTURE):
        self.data = np.asarray(data, dtype=float)
        self.grad = np.zeros_like(self.data)
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op
        self.equations = equations

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def _lift(self, other):
        return other if isinstance(other, Value) else Value(other, equations=self.equations)

    def _share(self, node, local, g):
        """node.grad += reduced(local · g): the chain rule, summed back to node's shape."""
        eq = self.equations
        node.grad = eq.accumulated(node.grad, eq.reduced(eq.chained(local, g), node.data.shape))

    def __add__(self, other):
        other = self._lift(other)
        out = Value(self.data + other.data, (self, other), "+", self.equations)

        def _backward():
            ones = np.ones_like(out.data)
            self._share(self, ones, out.grad)
            self._share(other, ones, out.grad)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = Value(self.data * other.data, (self, other), "*", self.equations)

        def _backward():
            self._share(self, np.broadcast_to(other.data, out.data.shape), out.grad)
            self._share(other, np.broadcast_to(self.data, out.data.shape), out.grad)

        out._backward = _backward
        return out

    def __pow__(self, n):
        out = Value(self.data ** n, (self,), f"**{n}", self.equations)

        def _backward():
            self._share(self, self.equations.power_local(self.data, n), out.grad)

        out._backward = _backward
        return out

    def exp(self):
        """out = e^a elementwise; its backward adds g ⊙ out to a.grad."""
        out = Value(np.exp(self.data), (self,), "exp", self.equations)

        def _backward():
            self._share(self, self.equations.exp_local(self.data, out.data), out.grad)

        out._backward = _backward
        return out

    def log(self):
        """out = log a elementwise; its backward adds g / a to a.grad."""
        out = Value(np.log(self.data), (self,), "log", self.equations)

        def _backward():
            self._share(self, self.equations.log_local(self.data), out.grad)

        out._backward = _backward
        return out

    def tanh(self):
        """out = tanh a elementwise; its backward adds g ⊙ (1 − out²) to a.grad."""
        out = Value(np.tanh(self.data), (self,), "tanh", self.equations)

        def _backward():
            self._share(self, self.equations.tanh_local(self.data, out.data), out.grad)

        out._backward = _backward
        return out

    def relu(self):
        """out = max(a, 0) elementwise; its backward adds g where a > 0 to a.grad."""
        out = Value(np.maximum(self.data, 0.0), (self,), "relu", self.equations)

        def _backward():
            self._share(self, self.equations.relu_local(self.data, out.data), out.grad)

        out._backward = _backward
        return out

    def __matmul__(self, other):
        other = self._lift(other)
        out = Value(self.data @ other.data, (self, other), "@", self.equations)

        def _backward():
            eq = self.equations
            da, db = eq.matmul_grads(self.data, other.data, out.grad)
            self.grad = eq.accumulated(self.grad, da)
            other.grad = eq.accumulated(other.grad, db)

        out._backward = _backward
        return out

    def sum(self, axis=None):
        """out = Σ a over ``axis`` (all: a scalar; else kept as size 1); its backward adds g
        broadcast back to a's shape."""
        out = Value(self.data.sum(axis=axis, keepdims=axis is not None), (self,), "sum", self.equations)

        def _backward():
            self._share(self, np.ones_like(self.data), out.grad)

        out._backward = _backward
        return out

    def backward(self):
        """∂self/∂node for every node it was computed from, into node.grad (added to what is there)."""
        eq = self.equations
        order = eq.visit_order(self)
        self.grad = eq.seed(self.data)
        for node in order:
            node._backward()

    # given by the notebook: subtraction, negation and division through the operations above
    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __truediv__(self, other):
        return self * self._lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self


def value_class(equations=LECTURE):
    """The reference Value computed with ``equations``, as a class with the contract's constructor
    ``Value(data, _children=(), _op="")``: what a student's notebook defines."""
    class StudentValue(Value):
        def __init__(self, data, _children=(), _op="", equations=equations):
            super().__init__(data, _children, _op, equations)

    StudentValue.__name__ = StudentValue.__qualname__ = "Value"
    return StudentValue


# --- the notebook's given code on Values: the MLP and its loss ---------------------------------------

def cross_entropy(logits, y):
    """The notebook's mean cross-entropy of a batch, a Value: −(1/N) Σ_n log softmax(z)[n, y_n]."""
    N, C = logits.data.shape
    shifted = logits - logits.data.max(axis=1, keepdims=True)
    log_probs = shifted - shifted.exp().sum(axis=1).log()
    return (log_probs * np.eye(C)[np.asarray(y, dtype=int)]).sum() * (-1.0 / N)


class MLP:
    """The notebook's MLP on Values: sizes [D, H_1, …, C], ReLU hidden layers, He initialisation."""

    def __init__(self, sizes, seed=0, value=Value):
        rng = np.random.default_rng(seed)
        self.value = value
        self.layers = [(value(rng.normal(0, np.sqrt(2 / m), (m, n))), value(np.zeros(n)))
                       for m, n in zip(sizes[:-1], sizes[1:])]

    def weights(self):
        """The weight Values W of each layer, (n_in, n_out) each."""
        return [W for W, _ in self.layers]

    def biases(self):
        """The bias Values b of each layer, (n_out,) each."""
        return [b for _, b in self.layers]

    def parameters(self):
        """Every parameter, layer by layer: W then b."""
        return [p for layer in self.layers for p in layer]

    def zero_grad(self):
        """Set every parameter's .grad to zeros of its shape."""
        for p in self.parameters():
            p.grad = np.zeros_like(p.data)

    def __call__(self, X):
        out = self.value(X)
        for k, (W, b) in enumerate(self.layers):
            out = out @ W + b
            if k < len(self.layers) - 1:
                out = out.relu()
        return out

    def data_loss(self, X, y):
        """The mean cross-entropy of the model's logits on X (N, D) against labels y (N,), a Value."""
        return cross_entropy(self(X), y)


def mlp_class(value):
    """The notebook's MLP on the Value class ``value``, with the contract's constructor MLP(sizes, seed)."""
    class StudentMLP(MLP):
        def __init__(self, sizes, seed=0):
            super().__init__(sizes, seed, value)

    StudentMLP.__name__ = StudentMLP.__qualname__ = "MLP"
    return StudentMLP


def accuracy(model, X, y):
    """The notebook's accuracy: the share of rows of X whose highest logit is the true class."""
    return float(np.mean(np.argmax(model(X).data, axis=1) == np.asarray(y)))


# --- exercises 4 and 5 ------------------------------------------------------------------------------

def sgd_step(model, X, y, learning_rate, weight_decay, equations=LECTURE):
    """One step of gradient descent on e + (λ/2)·Σ‖W‖² (e: the batch's mean cross-entropy); the loss before it."""
    eq = equations
    for p in model.parameters():
        p.grad = eq.zeroed(p.grad)
    loss = model.data_loss(X, y)
    loss.backward()
    penalty = eq.l2_penalty([W.data for W in model.weights()], [b.data for b in model.biases()], weight_decay)
    for W in model.weights():
        W.grad = W.grad + eq.l2_gradient(W.data, weight_decay)
    for b in model.biases():
        b.grad = b.grad + eq.bias_decay(b.data, weight_decay)
    eta = eq.learning_rate(learning_rate)
    for p in model.parameters():
        p.data = eq.sgd_step(p.data, eta, p.grad)
    return float(loss.data) + penalty


def early_stopping(model, run_epoch, data, max_epochs, patience, equations=LECTURE, score=accuracy):
    """Train epoch by epoch, keep the parameters of the best validation accuracy (the first of equals),
    stop after ``patience`` epochs without a better one, put the best back; the accuracies, one per epoch."""
    eq = equations
    history, best, best_params, waited = [], -np.inf, None, 0
    for _ in range(max_epochs):
        run_epoch(model)
        current = score(model, *eq.selection_split(data))
        history.append(current)
        if current > best:
            best, best_params, waited = current, [p.data.copy() for p in model.parameters()], 0
        else:
            waited += 1
            if eq.patience_over(waited, patience):
                break
    last = [p.data.copy() for p in model.parameters()]
    for p, kept in zip(model.parameters(), eq.restored(best_params, last)):
        p.data = np.array(kept, dtype=float)
    return history


def epoch_runner(sgd_step_function, X, y, batch_size, learning_rate, weight_decay, rng):
    """run_epoch(model): one epoch of mini-batches in the order rng.permutation(N), each an sgd_step
    (the notebook's given make_run_epoch, and what the digits check's probe does)."""
    def run_epoch(model):
        order = rng.permutation(len(y))
        return [sgd_step_function(model, X[order[start:start + batch_size]], y[order[start:start + batch_size]],
                                  learning_rate, weight_decay) for start in range(0, len(y), batch_size)]
    return run_epoch


# --- the grader's trusted model of the digits check -------------------------------------------------

#: the MLP of the notebook as numpy arrays: parameters with .data and .grad, data_loss(X, y) whose
#: backward() adds the gradient of the mean cross-entropy (lecture 6's matrices), no graph. The digits
#: check trains the student's sgd_step on it at grading (``answers/autograd.py``), so that a mistake of
#: exercises 2 and 3 costs its points there only; tests/lectures/test_autograd.py checks it against the Values.
TRUSTED_SOURCE = '''
class TrustedParameter:
    def __init__(self, data):
        self.data = data
        self.grad = np.zeros_like(data)


class TrustedOutput:
    def __init__(self, data, parameters=(), gradients=()):
        self.data = data
        self._parameters, self._gradients = parameters, gradients

    def backward(self):
        for p, g in zip(self._parameters, self._gradients):
            p.grad = p.grad + g


class TrustedMLP:
    def __init__(self, sizes, seed=0):
        rng = np.random.default_rng(seed)
        self.layers = [(TrustedParameter(rng.normal(0, np.sqrt(2 / m), (m, n))), TrustedParameter(np.zeros(n)))
                       for m, n in zip(sizes[:-1], sizes[1:])]

    def weights(self):
        return [W for W, _ in self.layers]

    def biases(self):
        return [b for _, b in self.layers]

    def parameters(self):
        return [p for layer in self.layers for p in layer]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = np.zeros_like(p.data)

    def _forward(self, X):
        inputs, out = [], np.asarray(X, dtype=float)
        for k, (W, b) in enumerate(self.layers):
            inputs.append(out)
            out = out @ W.data + b.data
            if k < len(self.layers) - 1:
                out = np.maximum(out, 0.0)
        return inputs, out

    def __call__(self, X):
        return TrustedOutput(self._forward(X)[1])

    def data_loss(self, X, y):
        inputs, z = self._forward(X)
        y = np.asarray(y, dtype=int)
        N = len(y)
        shifted = z - z.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_probs[np.arange(N), y].mean()
        delta = np.exp(log_probs)
        delta[np.arange(N), y] -= 1.0
        delta /= N
        gradients = [None] * (2 * len(self.layers))
        for k in reversed(range(len(self.layers))):
            W, _ = self.layers[k]
            gradients[2 * k], gradients[2 * k + 1] = inputs[k].T @ delta, delta.sum(axis=0)
            if k > 0:
                delta = (delta @ W.data.T) * (inputs[k] > 0)
        return TrustedOutput(np.asarray(loss), self.parameters(), gradients)
'''


def trusted_mlp_class():
    """The class TRUSTED_SOURCE defines, made here from the same text the grader sends."""
    namespace = {"np": np}
    exec(TRUSTED_SOURCE, namespace)  # the answers' own code, as the probe gets it
    return namespace["TrustedMLP"]
