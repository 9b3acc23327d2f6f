"""Checks of 04_autograd: the local backward of each operation of a Value, backward() in reverse
topological order, a training step with L2 weight decay (on the digits too), and early stopping.

Each is a ``Check`` (probe → judge, see ``core``) of a ``Case`` the instructor's answers computed
(``answers/autograd.py``): right values from finite differences, known mistakes from the reference
with one deviation each. Where an exercise runs on top of another, its probe hands the student's
code stand-ins that answer recorded calls only (below), so that a mistake costs its points once:

- backward() runs on a graph of the student's own Values whose ``_backward`` are stand-ins: each
  adds recorded numbers (the local derivatives of that one graph) and notes when it ran;
- sgd_step() steps a stand-in model, early_stopping() trains one through a stand-in ``run_epoch``
  (``autograd_standins``).

The digits check trains the student's sgd_step for real. In the student's kernel it runs on the
notebook's own MLP (the student's Value); at grading the grader sends its trusted numpy model
instead, inside the notebook's last probe (as assignment 3's training check sends its layers).
"""
from __future__ import annotations

import numpy as np

from .. import digits
from . import standins
from .autograd_standins import StandInModel, StandInRun, flat
from .core import Check, Plural, WrongAnswer, compare, raises
from .observed import plain

#: the digits check: how the notebook trains (its stated settings), and the test accuracy it must reach
TRAINING = {"sizes": [64, 64, 10], "batch_size": 32, "learning_rate": 0.2, "weight_decay": 1e-3, "epochs": 25}
ACCURACY = 0.95
#: the directions of the fingerprint of the parameters after the first epoch (``fingerprint``)
FINGERPRINT = 16

#: an operation as a test shows it, and the student's operation that computes it
EXPRESSIONS = {"add": "a + b", "mul": "a * b", "pow": "a ** n", "exp": "a.exp()", "log": "a.log()",
               "tanh": "a.tanh()", "relu": "a.relu()", "matmul": "a @ b", "sum": "a.sum(axis)"}


def _apply(s, a, b):
    """out = the scenario's operation of the student's Values a (and b)."""
    op = s["op"]
    if op == "add":
        return a + b
    if op == "mul":
        return a * b
    if op == "matmul":
        return a @ b
    if op == "pow":
        return a ** s["n"]
    if op == "sum":
        return a.sum() if s["axis"] is None else a.sum(axis=s["axis"])
    return getattr(a, op)()


def _shown(s):
    """How the test writes the operation: "a * a" when both operands are one node."""
    text = EXPRESSIONS[s["op"]]
    if s["op"] == "pow":
        text = text.replace("n", f"{s['n']:g}")
    if s["op"] == "sum":
        text = "a.sum()" if s["axis"] is None else f"a.sum(axis={s['axis']})"
    return text.replace("b", "a") if s.get("twice") else text


# --- Exercise 2: the local backward of each operation ------------------------------------------------

def probe_local_backward(Value, s, _):
    """One operation of the student's Value on operands a, b (arrays, the scenario's shapes, their
    grads holding an earlier user's share), its out.grad set to g and out._backward() run: out's
    data and a's and b's grads after it, or what _backward raised."""
    a = Value(np.array(s["a"], dtype=float))
    b = a if s["twice"] else (None if s["b"] is None else Value(np.array(s["b"], dtype=float)))
    earlier_a, earlier_b = s["earlier"]
    if earlier_a is not None:
        a.grad = np.array(earlier_a, dtype=float)  # an earlier user's share, which the student must add to
    if earlier_b is not None and b is not None and b is not a:
        b.grad = np.array(earlier_b, dtype=float)
    out = _apply(s, a, b)
    observed = {"out": plain(getattr(out, "data", None))}
    out.grad = np.array(s["g"], dtype=float)
    try:
        out._backward()
    except Exception as error:  # noqa: BLE001 (named when a known mistake raises the same)
        return {**observed, "raised": f"{type(error).__name__}: {error}"[:300]}
    observed["grad_a"] = plain(a.grad)
    if b is not None and b is not a:
        observed["grad_b"] = plain(b.grad)
    return observed


def judge_local_backward(case, observed, reveal):
    """Each operand's grad after out._backward(): what it held plus ∂out/∂operand · out.grad, summed to its shape."""
    s = case.scenario
    shown = _shown(s)
    compare(f"out.data of out = {shown}", observed["out"], case.expected["out"], reveal=reveal)
    suspects = case.suspects()
    if "raised" in observed:
        kind = observed["raised"].split(":")[0]
        suspects.blame(f"out._backward() of out = {shown}, which raised {kind},", raises(observed["raised"], "grad_a"))
        raise WrongAnswer(f"out._backward() of out = {shown} raised {observed['raised']}")
    held = " (it held an earlier user's share)" if s["earlier"][0] is not None else ""
    _compare_grad(suspects, f"a.grad after out = {shown} and out._backward(){held}", observed["grad_a"],
                  case.expected["grad_a"], "grad_a", reveal)
    if "grad_b" in case.expected:
        held = " (it held an earlier user's share)" if s["earlier"][1] is not None else ""
        _compare_grad(suspects, f"b.grad after out = {shown} and out._backward(){held}", observed.get("grad_b"),
                      case.expected["grad_b"], "grad_b", reveal)


def _compare_grad(suspects, quantity, value, expected, key, reveal):
    """``Suspects.compare``, where the shape counts too: a node's grad has the node's shape. A known mistake
    is named by its values in any shape (a broadcast gradient left unsummed)."""
    try:
        suspects.compare(quantity, value, expected, key, reveal, narrow=False)
    except WrongAnswer:
        if np.shape(value) != np.shape(expected):
            raise WrongAnswer(f"{quantity}: it has shape {np.shape(value)}, but a node's gradient has the node's own "
                              f"shape {np.shape(expected)}.") from None
        raise
    if np.shape(value) != np.shape(expected):
        raise WrongAnswer(f"{quantity}: it has shape {np.shape(value)}, but a node's gradient has the node's own "
                          f"shape {np.shape(expected)}.")


check_local_backward = Check("check_local_backward", 1, probe_local_backward, judge_local_backward,
                             "the local backward of an operation")


# --- Exercise 3: backward() ---------------------------------------------------------------------------

def _recorded_backward(node, shares, calls, index):
    """A node's _backward that adds recorded local derivatives: useful on this one graph only."""
    def _backward():
        calls.append(index)
        for child, local in shares:
            child.grad = child.grad + local * node.grad
    return _backward


def probe_backward(Value, s, recorded):
    """backward() on a graph of the student's Values whose _backward are stand-ins adding
    recorded shares: each node's grad after it, and the stand-ins' calls in the order they ran."""
    nodes, calls = [], []
    for index, spec in enumerate(s["nodes"]):
        node = Value(np.array(spec["data"], dtype=float), tuple(nodes[c] for c in spec["children"]), spec["op"])
        if spec["children"]:
            node._backward = _recorded_backward(node, [(nodes[c], d) for c, d in recorded["local"][index]],
                                                calls, index)
        nodes.append(node)
    nodes[s["root"]].backward()
    return {"grads": [plain(node.grad) for node in nodes], "calls": calls}


def judge_backward(case, observed, reveal):
    """Every node's grad after root.backward() against finite differences of the root."""
    calls = observed["calls"]
    inner = [i for i, spec in enumerate(case.scenario["nodes"]) if spec["children"]]
    grads = [g[0] if isinstance(g, list) and len(g) == 1 else g for g in observed["grads"]]
    case.suspects().compare(Plural("The gradients .grad of the graph's nodes after root.backward()"), grads,
                            case.expected["grads"], "grads", reveal)
    missing = sorted(set(inner) - set(calls))
    if missing:
        raise WrongAnswer(f"backward() never ran the _backward of node {missing[0]}, which the root uses.")


check_backward = Check("check_backward", 1, probe_backward, judge_backward, "backward()")


# --- Exercise 4: a training step with L2 weight decay ------------------------------------------------------

def probe_sgd_step(sgd_step, s, recorded):
    """sgd_step on a stand-in model for the scenario's steps: each step's loss and θ (P,) after it,
    and the stand-in's misses."""
    misses = standins.Misses()
    model = StandInModel(s, recorded, misses)
    X, y, losses, thetas = np.array(s["X"], dtype=float), np.array(s["y"]), [], []
    for _ in range(s["steps"]):
        losses.append(plain(sgd_step(model, X, y, s["learning_rate"], s["weight_decay"])))
        thetas.append(plain(flat([p.data for p in model.parameters()])))
    return {"losses": losses, "thetas": thetas, "misses": misses}


def judge_sgd_step(case, observed, reveal):
    """Each step's loss, e + (λ/2)·Σ‖W‖² before it, and the parameters after it, against gradient descent
    on finite differences of that loss."""
    suspects = case.suspects()
    for k, (loss, theta) in enumerate(zip(observed["losses"], observed["thetas"]), 1):
        if observed["misses"] and not np.all(np.isfinite(np.asarray(theta, dtype=float))):
            raise WrongAnswer(f"Step {k}: {observed['misses'][0]}.")
        suspects.compare(f"The loss sgd_step returned at step {k}", loss, case.expected[f"loss{k}"], f"loss{k}",
                         reveal)
        suspects.compare(Plural(f"The parameters W and b after step {k}"), theta, case.expected[f"theta{k}"],
                         f"theta{k}", reveal)


check_sgd_step = Check("check_sgd_step", 1, probe_sgd_step, judge_sgd_step, "sgd_step, step by step")


def _trusted_model(recorded):
    """The grader's trusted model class, or None (in the student's kernel: the notebook's own MLP)."""
    if not recorded or "source" not in recorded:
        return None
    namespace = {"np": np}
    exec(recorded["source"], namespace)  # the grader's own code, sent after every other test was probed
    return namespace["TrustedMLP"]


def fingerprint(theta, seed):
    """16 numbers that tell parameter vectors apart: θ along 16 seeded random directions (all of θ is
    thousands of numbers, too many to record for every known mistake, or for a grading probe to print
    twice: the grader keeps 200,000 characters of a cell's output)."""
    theta = np.asarray(theta, dtype=float).reshape(-1)
    return np.random.default_rng(seed).normal(size=(FINGERPRINT, theta.size)) @ theta


def predict(theta, sizes, X):
    """The digit of highest logit for each row of X, of the MLP with parameters θ ([W1, b1, W2, b2, …] flat)."""
    out, start = np.asarray(X, dtype=float), 0
    for k, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = np.asarray(theta[start:start + m * n]).reshape(m, n)
        b = np.asarray(theta[start + m * n:start + m * n + n])
        start += m * n + n
        out = out @ W + b
        if k < len(sizes) - 2:
            out = np.maximum(out, 0.0)
    return np.argmax(out, axis=1)


def digits_data(s):
    """The digits split of the scenario: {"train": (X, y), "val": …, "test": …}."""
    return digits.split(*digits.load(), seed=s["seed"])


def probe_digits(MLP, sgd_step, s, recorded):
    """The MLP (the grader's trusted one when sent, else the notebook's) trained with the student's
    sgd_step on the training digits: a fingerprint of θ after the first epoch, θ at the end, and
    whether the notebook's own MLP ran."""
    model_class = _trusted_model(recorded) or MLP
    X, y = digits_data(s)["train"]
    model = model_class(s["sizes"], seed=s["seed"])
    rng, first = np.random.default_rng(s["seed"] + 1), None
    for epoch in range(s["epochs"]):
        order = rng.permutation(len(y))
        for start in range(0, len(y), s["batch_size"]):
            batch = order[start:start + s["batch_size"]]
            sgd_step(model, X[batch], y[batch], s["learning_rate"], s["weight_decay"])
        if epoch == 0:  # the parameters after it, seen along the fingerprint's directions: a grading probe's
            first = plain(fingerprint(flat([p.data for p in model.parameters()]), s["seed"] + 2))  # output is capped
    return {"first": first, "final": plain(flat([p.data for p in model.parameters()])),
            "own": model_class is MLP}


def judge_digits(case, observed, reveal):
    """Training the MLP with sgd_step reaches ACCURACY on the test digits, and its first epoch is gradient descent's."""
    s = case.scenario
    sizes = s["sizes"]
    size = sum(m * n + n for m, n in zip(sizes[:-1], sizes[1:]))
    theta = np.asarray(observed["final"], dtype=float)
    if theta.shape != (size,) or np.shape(observed["first"]) != (FINGERPRINT,):
        raise WrongAnswer(f"The model's parameters changed their shapes during training ({theta.size} numbers, "
                          f"expected {size})." + _own(observed))
    case.suspects().compare(Plural(f"The parameters after the first epoch (seen along {FINGERPRINT} directions)"),
                            observed["first"], case.expected["first"], "first", reveal)
    if not np.all(np.isfinite(theta)):
        raise WrongAnswer("The parameters became nan or inf during training." + _own(observed))
    X_test, y_test = digits_data(s)["test"]
    accuracy = float(np.mean(predict(theta, sizes, X_test) == y_test))
    if accuracy < ACCURACY:
        raise WrongAnswer(f"After {s['epochs']} epochs the MLP reads {accuracy:.1%} of the test digits right; it "
                          f"needs {ACCURACY:.0%}." + _own(observed))


def _own(observed):
    return (" Your sgd_step trained the notebook's MLP on your own Value here: the tests of exercises 2 and 3 must "
            "pass first.") if observed.get("own") else ""


check_digits = Check("check_digits", 2, probe_digits, judge_digits, "training on the digits to 95 %")


# --- Exercise 5: early stopping ------------------------------------------------------------------------



def probe_early_stopping(early_stopping, s, recorded):
    """early_stopping on a stand-in run (a recorded trajectory): the history it returned, how many
    epochs it ran, θ it left the model with, and the stand-in's misses."""
    misses = standins.Misses()
    run = StandInRun(s, recorded, misses)
    history = early_stopping(run.model, run.run_epoch, run.data(), s["max_epochs"], s["patience"])
    history = plain(history) if isinstance(history, (list, tuple, np.ndarray)) else {
        "not_a_number": type(history).__name__}
    return {"history": history, "epochs_run": run.epochs_run, "final": plain(flat([p.data for p in run.model.parameters()])),
            "misses": misses}


def judge_early_stopping(case, observed, reveal):
    """The validation accuracies of the epochs run, and the parameters the model ends with (the best epoch's)."""
    history = observed["history"]
    if isinstance(history, dict):
        raise WrongAnswer(f"early_stopping must return the list of validation accuracies, not {history}.")
    if observed["misses"]:
        raise WrongAnswer(f"early_stopping: {observed['misses'][0]}.")
    suspects = case.suspects()
    suspects.compare(Plural("The validation accuracies returned, one per epoch run"), history,
                     case.expected["history"], "history", reveal)
    if observed["epochs_run"] != len(history):
        raise WrongAnswer(f"early_stopping ran {observed['epochs_run']} epochs but returned {len(history)} "
                          "accuracies: one per epoch run.")
    suspects.compare(Plural("The parameters the model ends with"), observed["final"], case.expected["final"], "final",
                     reveal)


check_early_stopping = Check("check_early_stopping", 1, probe_early_stopping, judge_early_stopping,
                             "early_stopping")
