"""04_autograd in tests/checks/test_checks.py's tables: a student who plays the reference with given equations
(``played_by``), and what the reference computes with them wherever 04's checks replay it (``outcomes``)."""
from __future__ import annotations

import numpy as np

from answers import reference_autograd as ra


def played_by(eq):
    """04's objects the test cells pass, every answer the reference's with ``eq``."""
    Value = ra.value_class(eq)
    return {"Value": Value, "MLP": ra.mlp_class(Value),
            "sgd_step": lambda model, X, y, learning_rate, weight_decay: ra.sgd_step(model, X, y, learning_rate,
                                                                                   weight_decay, eq),
            "early_stopping": lambda model, run_epoch, data, max_epochs, patience: ra.early_stopping(
                model, run_epoch, data, max_epochs, patience, eq)}


def outcomes(eq):
    """{case: a function computing what the reference gives with ``eq`` there}: every operation's local
    backward (an operand used twice, a broadcast one, grads that held a share), backward() on a graph
    where a node is used at two depths, two steps of sgd_step, early stopping on a made-up training."""
    Value = ra.value_class(eq)
    rng = np.random.default_rng(21)
    a, b, row, g = rng.uniform(0.5, 1.5, (2, 3)), rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(2, 3))
    cases = {}

    def local(make, *operands, upstream=g):
        nodes = [Value(x) for x in operands]
        for node in nodes:
            node.grad = np.full(node.data.shape, 0.25)
        out = make(*nodes)
        out.grad = upstream
        out._backward()
        return np.concatenate([np.ravel(node.grad) for node in nodes])

    for name, make in {"+": lambda x, y: x + y, "*": lambda x, y: x * y}.items():
        cases[f"a {name} b"] = lambda make=make: local(make, a, b)
        cases[f"a {name} row"] = lambda make=make: local(make, a, row)
    cases["a * a"] = lambda: local(lambda x: x * x, a)
    cases["a ** 3"] = lambda: local(lambda x: x ** 3, a)
    for op in ("exp", "log", "tanh"):
        cases[f"a.{op}()"] = lambda op=op: local(lambda x: getattr(x, op)(), a)
    cases["b.relu()"] = lambda: local(lambda x: x.relu(), b)
    cases["a @ bᵀ"] = lambda: local(lambda x, y: x @ y, a, b.T, upstream=rng.normal(size=(2, 2)))
    cases["a.sum(axis=1)"] = lambda: local(lambda x: x.sum(axis=1), a, upstream=np.array([[0.5], [-2.0]]))
    cases["backward()"] = lambda: _backward(Value)
    cases["sgd_step"] = lambda: _steps(eq)
    cases["early_stopping"] = lambda: _stopping(eq)
    return cases


def _backward(Value):
    """c = tanh(a) used by x = 2c and, deeper, by y = exp(c·c), root = x + y: every wrong order gets c's
    gradient before y has added its share. The gradients of a and c."""
    a = Value(0.7)
    c = a.tanh()
    root = c * 2.0 + (c * c).exp()
    root.backward()
    return np.array([float(a.grad), float(c.grad)])


def _steps(eq):
    """Two steps of sgd_step on a trusted MLP with nonzero biases: the losses and the parameters after."""
    rng = np.random.default_rng(22)
    model = ra.trusted_mlp_class()([3, 4, 2], seed=1)
    for b in model.biases():
        b.data = rng.normal(size=b.data.shape)
    X, y = rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
    losses = [ra.sgd_step(model, X, y, 0.3, 0.1, eq) for _ in range(2)]
    return np.concatenate([losses] + [np.ravel(p.data) for p in model.parameters()])


def _stopping(eq):
    """Early stopping on a made-up training: validation best at epoch 3, test at 4, training always rising."""
    accuracies = {"train": [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97], "val": [0.5, 0.7, 0.8, 0.75, 0.6, 0.65, 0.7, 0.72],
                  "test": [0.4, 0.6, 0.7, 0.9, 0.5, 0.5, 0.5, 0.5]}
    data = {name: (name, None) for name in accuracies}

    class Model:
        epoch = 0
        params = [Value(np.zeros(2))]

        def parameters(self):
            return self.params

    def run_epoch(model):
        model.epoch += 1
        model.params[0].data[...] = model.epoch

    model = Model()
    history = ra.early_stopping(model, run_epoch, data, 8, 2, eq,
                                score=lambda model, split, _: accuracies[split][model.epoch - 1])
    return np.array(history + [len(history), float(model.params[0].data[0])])


Value = ra.Value
