"""The cases of 04_autograd's checks: the local backward of each operation, backward(), a training
step with L2 weight decay, and training on the digits (early stopping's: ``early_stopping.py``).

Right values come from finite differences (``oracle.py``) of the functions as defined: an operation's
Σ g ⊙ out, a graph's root, the MLP's mean cross-entropy plus (λ/2)·Σ‖W‖². Known mistakes are
replayed on the reference (``reference_autograd.py``) with each deviation of the table. What the
probes hand the student's code in place of earlier exercises is recorded here: the local
derivatives of one graph, the states of one short training (``backprop_course/checks/autograd.py``
plays them back).
"""
from __future__ import annotations

import numpy as np

from backprop_course.checks.autograd import ACCURACY, TRAINING, fingerprint, predict
from backprop_course.checks.core import Case
from backprop_course.checks.observed import plain
from backprop_course import digits

from . import reference_autograd as ra
from .cases import Unsound, chain, each_named, later, register, suspects
from .deviations import TABLE
from .oracle import numerical_gradient
from .reference import Equations
from .standins import loop_equations

#: the forward pass of each operation, as defined (the oracle differentiates these)
FORWARD = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "matmul": lambda a, b: a @ b,
           "pow": lambda a, n: a ** n, "exp": np.exp, "log": np.log, "tanh": np.tanh,
           "relu": lambda a: np.maximum(a, 0.0)}


def _forward(s, a, b):
    op = s["op"]
    if op in ("add", "mul", "matmul"):
        return FORWARD[op](a, a if s["twice"] else b)
    if op == "pow":
        return FORWARD["pow"](a, s["n"])
    if op == "sum":
        return a.sum() if s["axis"] is None else a.sum(axis=s["axis"], keepdims=True)
    return FORWARD[op](a)


def _operands(rng, op, shape, n, broadcast, twice, columns):
    """(a, b or None) for an operation, clear of its kinks and poles (relu at 0, log and xⁿ at 0)."""
    if op in ("log",) or (op == "pow" and float(n) != int(n)):
        a = rng.uniform(0.5, 2.0, shape)
    elif op in ("relu", "pow"):
        a = rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    elif op == "exp":
        a = rng.uniform(-1.5, 1.5, shape)
    else:
        a = rng.normal(0, 1, shape)
    if op == "matmul":
        return a, (None if twice else rng.normal(0, 1, (shape[-1], columns)))
    if op in ("add", "mul"):
        return a, (None if twice else rng.normal(0, 1, shape[-1:] if broadcast else shape))
    return a, None


@register("check_local_backward")
def local_backward_case(*, op, seed=0, shape=(2, 3), n=3, axis=None, twice=False, broadcast=False, earlier=True,
                        columns=4):
    """out = a <op> b on arrays of ``shape`` (b a row of it with broadcast; a twice with twice), out.grad a
    random g, and each operand's grad holding an earlier share when ``earlier``."""
    if op not in ra.OPERATIONS:
        raise ValueError(f"unknown operation {op!r}: one of {', '.join(ra.OPERATIONS)}")
    rng = np.random.default_rng(seed)
    shape = tuple(int(k) for k in shape)
    a, b = _operands(rng, op, shape, n, broadcast, twice, columns)
    binary = op in ("add", "mul", "matmul")
    s = {"op": op, "a": plain(a), "b": None if b is None else plain(b), "twice": bool(twice) and binary,
         "n": float(n), "axis": None if axis is None else int(axis)}
    out = _forward(s, a, b)
    s["g"] = plain(rng.normal(0, 1, np.shape(out)))
    s["earlier"] = [plain(rng.normal(0, 1, a.shape)) if earlier else None,
                    plain(rng.normal(0, 1, b.shape)) if earlier and b is not None else None]
    g = np.array(s["g"])
    held = [np.zeros_like(a) if s["earlier"][0] is None else np.array(s["earlier"][0]),
            None if b is None else (np.zeros_like(b) if s["earlier"][1] is None else np.array(s["earlier"][1]))]
    expected = {"out": out, "grad_a": held[0] + numerical_gradient(lambda v: np.sum(g * _forward(s, v, b)), a)}
    if b is not None:
        expected["grad_b"] = held[1] + numerical_gradient(lambda v: np.sum(g * _forward(s, a, v)), b)

    def replay(eq):
        def run():
            Value = ra.value_class(eq)
            va = Value(a)
            vb = va if s["twice"] else (Value(b) if b is not None else None)
            va.grad = held[0].copy()
            if vb is not None and vb is not va:
                vb.grad = held[1].copy()
            out_ = {"add": lambda: va + vb, "mul": lambda: va * vb, "matmul": lambda: va @ vb,
                    "pow": lambda: va ** s["n"], "sum": lambda: va.sum() if s["axis"] is None else va.sum(s["axis"]),
                    }.get(op, lambda: getattr(va, op)())()
            out_.grad = g.copy()
            out_._backward()
            found = {"grad_a": va.grad}
            if vb is not None and vb is not va:
                found["grad_b"] = vb.grad
            return found
        return chain(run, "grad_a", "grad_b")

    return Case(s, expected, suspects(replay))


# --- backward() ------------------------------------------------------------------------------------

#: the operations of the graphs backward() is checked on: a node's value from its children's, and each
#: child's local derivative ∂node/∂child (a child used twice appears twice)
GRAPH_OPS = {
    "+": (lambda a, b: a + b, lambda a, b, out: (1.0, 1.0)),
    "*": (lambda a, b: a * b, lambda a, b, out: (b, a)),
    "tanh": (np.tanh, lambda a, out: (1 - out ** 2,)),
    "exp": (np.exp, lambda a, out: (out,)),
    "**2": (lambda a: a ** 2, lambda a, out: (2 * a,)),
}


def _evaluate(nodes, leaves, override=None):
    """Every node's value, the leaves' given; ``override``: (index, value) put in place of one node's."""
    values = []
    for k, spec in enumerate(nodes):
        if override is not None and override[0] == k:
            values.append(override[1])
        elif not spec["children"]:
            values.append(leaves[k])
        else:
            values.append(float(GRAPH_OPS[spec["op"]][0](*(values[c] for c in spec["children"]))))
    return values


def _draw_graph(rng, n_leaves, n_inner):
    """A random graph of scalar operations on ``n_leaves`` inputs whose root (the last node) uses every node:
    each operation takes a node nothing uses yet and, if it has two operands, any node (itself, too), and
    "+" nodes join what is left unused to the root."""
    nodes = [{"children": [], "op": ""} for _ in range(n_leaves)]

    def unused():
        return [k for k in range(len(nodes)) if not any(k in spec["children"] for spec in nodes)]

    for _ in range(n_inner):
        op = str(rng.choice(list(GRAPH_OPS)))
        first = int(rng.choice(unused()))
        if op in ("+", "*"):
            second = first if rng.random() < 0.15 else int(rng.integers(0, len(nodes)))
            nodes.append({"children": [first, second], "op": op})
        else:
            nodes.append({"children": [first], "op": op})
    while len(unused()) > 1:
        left = unused()
        nodes.append({"children": [left[-1], left[0]], "op": "+"})
    return nodes


def _reaches_all(nodes):
    seen, stack = set(), [len(nodes) - 1]
    while stack:
        k = stack.pop()
        if k not in seen:
            seen.add(k)
            stack.extend(nodes[k]["children"])
    return len(seen) == len(nodes)


#: the codes of backward()'s mistakes, which every graph must name (``each_named``)
BACKWARD_CODES = ("topological-order-wrong", "node-visited-twice", "backward-not-seeded")


def _backward_replay(nodes, values, local):
    """replay(eq): every node's grad after the reference's backward() with eq, on recorded _backward."""
    def replay(eq):
        def run():
            Value = ra.value_class(eq)
            built = []
            for k, spec in enumerate(nodes):
                node = Value(values[k], tuple(built[c] for c in spec["children"]), spec["op"])
                if spec["children"]:
                    node._backward = _adds(node, [(built[c], d) for c, d in local[k]])
                built.append(node)
            built[-1].backward()
            return {"grads": [float(node.grad) for node in built]}
        return chain(run, "grads")
    return replay


def _adds(node, shares):
    def _backward():
        for child, d in shares:
            child.grad = child.grad + d * node.grad
    return _backward


@register("check_backward")
def backward_case(*, seed=0, leaves=3, nodes=6):
    """A random graph of ``leaves`` inputs and ``nodes`` operations on numbers, on which every way of a wrong
    order, a node visited twice and a missing seed gives other gradients than the right backward(), each
    named by its own code."""
    rng = np.random.default_rng(seed)
    deviations = [Equations(**d) for entry in TABLE if entry.code in BACKWARD_CODES for d in entry.deviations]
    codes = [entry.code for entry in TABLE if entry.code in BACKWARD_CODES for _ in entry.deviations]
    for _ in range(500):
        graph = _draw_graph(rng, leaves, nodes)
        if not _reaches_all(graph):
            continue
        inputs = rng.uniform(-1.0, 1.0, leaves).tolist()
        values = _evaluate(graph, inputs)
        if max(abs(v) for v in values) > 20:
            continue
        local = [[] if not spec["children"] else
                 [[c, float(d)] for c, d in zip(spec["children"], GRAPH_OPS[spec["op"]][1](
                     *(values[c] for c in spec["children"]), values[k]))] for k, spec in enumerate(graph)]
        expected = [float(numerical_gradient(lambda v: _evaluate(graph, inputs, (k, float(v[0])))[-1],
                                             [values[k]])[0]) for k in range(len(graph))]
        replay = _backward_replay(graph, values, local)
        played = [(code, replay(eq)) for code, eq in zip(codes, deviations)]
        if each_named(played, {"grads": expected}, ["grads"]):
            s = {"nodes": [{"data": v, **spec} for v, spec in zip(values, graph)], "root": len(graph) - 1}
            return Case(s, {"grads": expected}, suspects(replay), {"local": local})
    raise Unsound(f"no graph of {leaves} leaves and {nodes} operations tells backward()'s mistakes apart")


# --- a training step with L2 weight decay ------------------------------------------------------------

#: the equations a training step applies around the model (``reference_autograd.sgd_step``)
STEP_LOOP = {"zeroed", "l2_penalty", "l2_gradient", "bias_decay", "learning_rate", "sgd_step"}


def _unflat(theta, shapes):
    arrays, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        arrays.append(np.asarray(theta[start:start + size], dtype=float).reshape(shape))
        start += size
    return arrays


def _total_loss(theta, shapes, X, y, weight_decay):
    """The MLP's mean cross-entropy plus (λ/2)·Σ‖W‖², from the definitions (for finite differences)."""
    params = _unflat(theta, shapes)
    out = X
    for k in range(0, len(params), 2):
        out = out @ params[k] + params[k + 1]
        if k < len(params) - 2:
            out = np.maximum(out, 0.0)
    log_probs = out - np.logaddexp.reduce(out, axis=1, keepdims=True)
    return -float(log_probs[np.arange(len(y)), y].mean()) + 0.5 * weight_decay * sum(
        float(np.sum(W ** 2)) for W in params[0::2])


class _RecordingMLP:
    """The contract's model on the trusted numpy MLP, noting [θ, loss, ∂loss/∂θ] of each data_loss call."""

    def __init__(self, trusted, params, record):
        self._trusted, self._record = trusted, record
        for p, data in zip(trusted.parameters(), params):
            p.data = np.array(data, dtype=float)

    def __getattr__(self, name):  # weights, biases, parameters, zero_grad, __call__ of the trusted model
        return getattr(self._trusted, name)

    def data_loss(self, X, y):
        """The trusted model's data_loss, recording [θ, loss, ∂loss/∂θ] of the state it was asked at."""
        out = self._trusted.data_loss(X, y)
        theta = np.concatenate([np.ravel(p.data) for p in self._trusted.parameters()])
        self._record.setdefault(theta.tobytes(), [theta.tolist(), float(out.data),
                                                  np.concatenate([np.ravel(g) for g in out._gradients]).tolist()])
        return out


@register("check_sgd_step")
def sgd_step_case(*, seed=0, sizes=(3, 4, 2), N=5, steps=3, learning_rate=0.5, weight_decay=0.1):
    """``steps`` steps of sgd_step on one batch of N samples; biases drawn nonzero, so that their decay shows."""
    rng = np.random.default_rng(seed)
    sizes = [int(k) for k in sizes]
    params = []
    for m, k in zip(sizes[:-1], sizes[1:]):
        params += [rng.normal(0, np.sqrt(2 / m), (m, k)), rng.normal(0, 0.5, k)]
    X, y = rng.normal(0, 1, (N, sizes[0])), rng.integers(0, sizes[-1], N)
    s = {"sizes": sizes, "params": [[plain(params[k]), plain(params[k + 1])] for k in range(0, len(params), 2)],
         "X": plain(X), "y": y.tolist(), "steps": int(steps), "learning_rate": float(learning_rate),
         "weight_decay": float(weight_decay)}
    shapes = [p.shape for p in params]
    theta = np.concatenate([p.ravel() for p in params])
    expected = {}
    for k in range(1, steps + 1):
        loss = lambda v: _total_loss(v, shapes, X, y, s["weight_decay"])  # noqa: E731
        expected[f"loss{k}"] = loss(theta)
        theta = theta - s["learning_rate"] * numerical_gradient(loss, theta)
        expected[f"theta{k}"] = theta
    Trusted = ra.trusted_mlp_class()

    def run(eq, record):
        model = _RecordingMLP(Trusted(sizes), params, record)
        found = {}
        for k in range(1, steps + 1):
            found[f"loss{k}"] = ra.sgd_step(model, X, y, s["learning_rate"], s["weight_decay"], eq)
            found[f"theta{k}"] = np.concatenate([np.ravel(p.data) for p in model.parameters()])
        return found

    def replay(eq):
        return chain(lambda: run(eq, {}), *expected)

    record = {}
    for eq in loop_equations(STEP_LOOP):
        chain(lambda: run(eq, record))
    return Case(s, expected, suspects(replay), {"states": list(record.values())})


# --- training on the digits --------------------------------------------------------------------------

#: a digits scenario is sound when the reference's training reaches this test accuracy: a right sgd_step
#: passes with room to spare
SOUND_ACCURACY = ACCURACY + 0.01


def train_digits(s, eq, epochs=None):
    """The reference's sgd_step with ``eq`` on the trusted MLP, as the probe trains: (θ after epoch 1, θ at the end)."""
    X, y = digits.split(*digits.load(), seed=s["seed"])["train"]
    model = ra.trusted_mlp_class()(s["sizes"], seed=s["seed"])
    run_epoch = ra.epoch_runner(lambda *a: ra.sgd_step(*a, equations=eq), X, y, s["batch_size"], s["learning_rate"],
                                s["weight_decay"], np.random.default_rng(s["seed"] + 1))
    first = None
    for epoch in range(s["epochs"] if epochs is None else epochs):
        run_epoch(model)
        if epoch == 0:
            first = np.concatenate([np.ravel(p.data) for p in model.parameters()])
    return first, np.concatenate([np.ravel(p.data) for p in model.parameters()])


@register("check_digits")
def digits_case(*, seed=0):
    """The Case of check_digits: the reference's training on the digits (it must reach
    SOUND_ACCURACY on the test split), its first-epoch fingerprint, and the mistakes' replays."""
    s = {**TRAINING, "seed": int(seed)}
    first, theta = train_digits(s, Equations())
    X_test, y_test = digits.split(*digits.load(), seed=s["seed"])["test"]
    reached = float(np.mean(predict(theta, s["sizes"], X_test) == y_test))
    if reached < SOUND_ACCURACY:
        raise Unsound(f"the stated training reaches {reached:.1%} of the test digits on seed {seed}")

    def replay(eq):
        return later(lambda: {"first": fingerprint(train_digits(s, eq, epochs=1)[0], s["seed"] + 2)}, "first")

    return Case(s, {"first": fingerprint(first, s["seed"] + 2)}, suspects(replay), {"source": ra.TRUSTED_SOURCE})
