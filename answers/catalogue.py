"""A catalogue of student submissions: correct ones written in different styles, and known mistakes.

Each :class:`Submission` gives the full source of every solution cell of one assignment and,
for each exercise, the mistake code its test cells should name ('' when the exercise is right).
A mistake submission changes one exercise only; the others keep the reference solution of
source/, so it must lose points on that exercise and keep them on the rest. Its code is an
entry of the mistake table (backprop_course/checks/mistakes.py), and every entry needs at least
one submission here: that pair is all a new mistake takes.

The student code is written into the solution regions of the source notebook's cells (the
given code around them stays as released), without the nbgrader markers. tests/test_checks.py
runs the catalogue through the test cells' checks in-process; ``build_notebook`` makes a
notebook of a submission for tests that run nbgrader.
"""
from __future__ import annotations

import copy
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat

from backprop_course.grader.assignments import COURSE_ROOT as ROOT, assignments

#: each assignment's notebook, and its exercises (solution cells' grade_ids) in notebook order, from source/
NOTEBOOK = {name: a.notebook for name, a in assignments(ROOT / "source").items()}
EXERCISES = {name: list(a.exercises) for name, a in assignments(ROOT / "source").items()}

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass
class Submission:
    assignment: str
    name: str
    cells: dict[str, str]       # grade_id -> full replacement source of that solution cell
    mistakes: dict[str, str]    # exercise grade_id -> expected mistake code ('' for correct)
    description: str = ""

    @property
    def correct(self):
        return not any(self.mistakes.values())


# --- the source notebooks ----------------------------------------------------------------

def source_notebook(assignment, root=ROOT):
    return nbformat.read(Path(root) / "source" / assignment / NOTEBOOK[assignment], as_version=4)


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@cache
def _reference_cells(assignment, root):
    nb = source_notebook(assignment, root)
    return {_grade_id(c): c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def reference_cells(assignment, root=ROOT):
    """grade_id -> source of each solution cell of source/<assignment>, markers included."""
    return dict(_reference_cells(assignment, str(root)))


def strip_markers(source):
    """The cell as a student would hand it in: without the ### BEGIN/END SOLUTION lines."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


def fill(source, *bodies, prefix=""):
    """``source`` with its solution regions, in order, replaced by ``bodies``.

    Each body is dedented and indented like the region's markers, so the student code sits
    where the released cell says "YOUR CODE HERE"; the given code around it stays as it is.
    ``prefix`` goes above the cell (a student's own imports).
    """
    lines, out, regions = source.splitlines(), [], iter(bodies)
    inside = False
    for line in lines:
        if line.strip() == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            body = next(regions, None)
            assert body is not None, "fewer bodies than solution regions"
            out += [indent + row if row else "" for row in textwrap.dedent(body).strip("\n").splitlines()]
            inside = True
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    assert next(regions, None) is None, "more bodies than solution regions"
    return prefix + "\n".join(out)


def edit(text, old, new):
    """``text`` with ``old``, which must occur exactly once, replaced by ``new``: one student edit.

    Both are dedented, so a block can be written at any indentation. An empty ``new`` deletes
    the line that holds ``old``.
    """
    old, new = textwrap.dedent(old).strip("\n"), textwrap.dedent(new).strip("\n")
    assert text.count(old) == 1, f"expected exactly one {old!r} in the base solution"
    if new:
        return text.replace(old, new)
    lines = text.splitlines(keepends=True)
    return "".join(line for line in lines if old not in line)


def build_notebook(submission, root=ROOT, hidden_tests=True):
    """The source notebook with the submission's solution cells and no outputs.

    hidden_tests=False drops the hidden-test blocks, as in the released notebook a student
    edits (nbgrader's autograde puts the source's test cells back either way).
    """
    nb = copy.deepcopy(source_notebook(submission.assignment, root))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and _grade_id(cell) in submission.cells:
            cell.source = submission.cells[_grade_id(cell)]
        if not hidden_tests and meta.get("grade"):
            cell.source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", cell.source, flags=re.S)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _submission(assignment, name, description, changed, mistake=None):
    """All solution cells: the changed ones, and the reference (without markers) for the rest.

    mistake: (exercise, code) for a mistake submission; ``changed`` must then touch that exercise only.
    """
    reference = reference_cells(assignment)
    assert set(changed) <= set(EXERCISES[assignment]), set(changed)
    mistakes = {exercise: "" for exercise in EXERCISES[assignment]}
    if mistake:
        exercise, code = mistake
        assert set(changed) == {exercise}, f"{name} must change {exercise} only"
        mistakes[exercise] = code
    cells = {exercise: changed[exercise].strip("\n") if exercise in changed else strip_markers(reference[exercise])
             for exercise in EXERCISES[assignment]}
    return Submission(assignment, name, cells, mistakes, description)


# =========================================================================================
# 01_neuron
# =========================================================================================

A1 = "01_neuron"


def _ref1(exercise):
    return reference_cells(A1)[exercise]


def _activations(sigmoid, relu, prefix=""):
    return fill(_ref1("activations"), sigmoid, relu, prefix=prefix)


def _derivatives(sigmoid_derivative, relu_derivative):
    return fill(_ref1("derivatives"), sigmoid_derivative, relu_derivative)


def _loss(loss, loss_derivative):
    return fill(_ref1("loss"), loss, loss_derivative)


def _neuron1(constructor, forward):
    return fill(_ref1("neuron_forward"), constructor, forward)


CORRECT_01 = [
    ("01-correct-where", "np.where and np.square, arrays made in the constructor, np.sum(x * w) in forward", {
        "activations": _activations("return 1.0 / (1.0 + np.exp(-net))",
                                    "return np.where(net > 0, net, 0.0)"),
        "derivatives": _derivatives("return sigmoid(net) * (1 - sigmoid(net))",
                                    "return np.where(np.asarray(net) > 0, 1.0, 0.0)"),
        "loss": _loss("return np.square(np.subtract(t, y_hat)) / 2",
                      "return -(np.asarray(t) - np.asarray(y_hat))"),
        "neuron_forward": _neuron1("""
            if weights is None:
                weights = np.random.normal(size=inputsize)
            self.weights = np.asarray(weights, dtype=float)
            if bias is None:
                bias = np.random.rand()
            self.bias = float(bias)
            """, """
            net = np.sum(np.asarray(x) * self.weights) + self.bias
            return self.activation(net)
            """),
    }),
    ("01-correct-python", "exp(net)/(1+exp(net)), net * (net > 0), lists kept as given, a loop for net", {
        "activations": _activations("return np.exp(net) / (1 + np.exp(net))",
                                    "return net * (net > 0)"),
        "derivatives": _derivatives("""
            s = 1 / (1 + np.exp(-net))
            return s - s ** 2
            """, "return (np.asarray(net) > 0) * 1.0"),
        "loss": _loss("return (np.array(t) - np.array(y_hat)) ** 2 * 0.5",
                      "return np.array(y_hat) - np.array(t)"),
        "neuron_forward": _neuron1("""
            self.weights = weights
            if self.weights is None:
                self.weights = np.random.normal(size=inputsize)
            self.bias = bias
            if self.bias is None:
                self.bias = np.random.rand()
            """, """
            net = self.bias
            for w_i, o_i in zip(self.weights, x):
                net += w_i * o_i
            return self.activation(net)
            """),
    }),
    ("01-correct-ufuncs", "np.reciprocal, np.clip, np.heaviside, np.power, the @ operator", {
        "activations": _activations("return np.reciprocal(1 + np.exp(-np.array(net, dtype=float)))",
                                    "return np.clip(net, 0, None)"),
        "derivatives": _derivatives("return np.exp(-net) / (1 + np.exp(-net)) ** 2",
                                    "return np.heaviside(net, 0.0)"),
        "loss": _loss("return 0.5 * np.power(np.asarray(t) - y_hat, 2)",
                      "return np.negative(np.subtract(t, y_hat))"),
        "neuron_forward": _neuron1("""
            self.weights = weights if weights is not None else np.random.randn(inputsize)
            self.bias = bias if bias is not None else np.random.rand()
            """, "return self.activation(np.asarray(self.weights) @ np.asarray(x) + self.bias)"),
    }),
]

#: (name, description, exercise, code, cell source)
MISTAKES_01 = [
    ("01-activations-relu-if", "relu with `if net > 0`, the original code", "activations", "relu-not-vectorised",
     _activations("return 1 / (1 + np.exp(-net))", """
         if net > 0:
             return net
         return 0.0
         """)),
    ("01-activations-relu-max", "relu with the builtin max(0, net)", "activations", "relu-not-vectorised",
     _activations("return 1 / (1 + np.exp(-net))", "return max(0, net)")),
    ("01-activations-relu-np-max", "relu as np.max(0, net), which reads net as an axis", "activations",
     "np-max-not-maximum", _activations("return 1 / (1 + np.exp(-net))", "return np.max(0, net)")),
    ("01-activations-sigmoid-math", "sigmoid with math.exp", "activations", "sigmoid-not-vectorised",
     _activations("return 1 / (1 + math.exp(-net))", "return np.maximum(0, net)", prefix="import math\n\n")),
    ("01-derivatives-of-net", "sigmoid′ as net(1 − net), the formula applied to net", "derivatives",
     "derivative-of-net", _derivatives("return net * (1 - net)", "return (np.asarray(net) > 0).astype(float)")),
    ("01-derivatives-relu-sign", "ReLU′ as np.sign(net): −1 for negative net", "derivatives", "relu-derivative-wrong",
     _derivatives("""
         o = sigmoid(net)
         return o * (1 - o)
         """, "return np.sign(net)")),
    ("01-derivatives-relu-is-relu", "ReLU′ returns ReLU itself", "derivatives", "relu-derivative-wrong",
     _derivatives("""
         o = sigmoid(net)
         return o * (1 - o)
         """, "return np.maximum(0, net)")),
    ("01-derivatives-relu-sigmoid-formula", "ReLU′ as o(1 − o), the sigmoid's formula copied", "derivatives",
     "relu-with-sigmoid-derivative", _derivatives("""
         o = sigmoid(net)
         return o * (1 - o)
         """, """
         o = relu(net)
         return o * (1 - o)
         """)),
    ("01-loss-no-half", "e = (t − ŷ)², the ½ left out", "loss", "loss-no-half",
     _loss("return (np.asarray(t) - np.asarray(y_hat)) ** 2", "return np.asarray(y_hat) - np.asarray(t)")),
    ("01-loss-gradient-sign", "∂e/∂ŷ = t − ŷ, the inner derivative's −1 forgotten", "loss", "loss-gradient-sign",
     _loss("return 0.5 * (np.asarray(t) - np.asarray(y_hat)) ** 2", "return np.asarray(t) - np.asarray(y_hat)")),
    ("01-forward-original-constructor", "the original constructor: `if not weights` / `if not bias`",
     "neuron_forward", "constructor-truthiness", _neuron1("""
         self.weights = weights
         if not weights:
             self.weights = np.random.normal(size=inputsize)
         self.bias = bias
         if not bias:
             self.bias = np.random.rand()
         """, "return self.activation(np.dot(x, self.weights) + self.bias)")),
    ("01-forward-bias-or", "weights fixed with `is None`, but `bias or np.random.rand()` drops a bias of 0",
     "neuron_forward", "constructor-truthiness", _neuron1("""
         self.weights = np.random.normal(size=inputsize) if weights is None else weights
         self.bias = bias or np.random.rand()
         """, "return self.activation(np.dot(x, self.weights) + self.bias)")),
    ("01-forward-no-bias", "forward computes φ(w·x), the bias left out", "neuron_forward", "forward-ignores-bias",
     _neuron1("""
         self.weights = np.random.normal(size=inputsize) if weights is None else weights
         self.bias = np.random.rand() if bias is None else bias
         """, "return self.activation(np.dot(x, self.weights))")),
    ("01-forward-no-activation", "forward returns net, not φ(net)", "neuron_forward", "forward-no-activation",
     _neuron1("""
         self.weights = np.random.normal(size=inputsize) if weights is None else weights
         self.bias = np.random.rand() if bias is None else bias
         """, "return np.dot(x, self.weights) + self.bias")),
]


# =========================================================================================
# 02_backprop
# =========================================================================================

A2 = "02_backprop"


def _ref2(exercise):
    return reference_cells(A2)[exercise]


def _neuron2(backward):
    """The released Neuron class with the student's backward body."""
    return fill(_ref2("neuron_backward"), backward)


def _network(init, forward, backward, train, prefix=""):
    return fill(_ref2("multi_output_network"), init, forward, backward, train, prefix=prefix)


# --- Exercise 1: Neuron.backward ---------------------------------------------------------

#: a student's straightforward solution; the mistakes below are one edit of it
BACKWARD = """
if self.activation_name == 'sigmoid':
    phi_prime = self.o_j * (1 - self.o_j)
else:
    phi_prime = 1.0 if self.net > 0 else 0.0
if output_neuron:
    delta_j = (y_hat - t) * phi_prime
else:
    delta_j = np.dot(delta_l, w_l) * phi_prime
self.delta_j = delta_j
self.weights = [w - learning_rate * delta_j * o for w, o in zip(self.weights, self.o_i)]
self.bias = self.bias - learning_rate * delta_j
"""

BACKWARD_NUMPY = """
if self.activation_name == 'sigmoid':
    d_phi = self.o_j * (1 - self.o_j)
else:
    d_phi = np.where(self.net > 0, 1.0, 0.0)
if output_neuron:
    error = y_hat - t
else:
    error = np.sum(np.asarray(delta_l) * np.asarray(w_l))
self.delta_j = error * d_phi
self.weights = np.asarray(self.weights, dtype=float) - learning_rate * self.delta_j * np.asarray(self.o_i, dtype=float)
self.bias = self.bias - learning_rate * self.delta_j
"""

BACKWARD_LOOPS = """
if self.activation_name == 'relu':
    phi_prime = float(self.net > 0)
else:
    s = self.sigmoid(self.net)
    phi_prime = s * (1 - s)
if output_neuron:
    error = y_hat - t
else:
    error = 0.0
    for d, w in zip(delta_l, w_l):
        error += d * w
self.delta_j = error * phi_prime
self.weights = list(self.weights)
for i in range(len(self.weights)):
    self.weights[i] -= learning_rate * self.delta_j * self.o_i[i]
self.bias -= learning_rate * self.delta_j
"""

BACKWARD_UPDATE_FIRST = """
phi_prime = self.o_j * (1 - self.o_j) if self.activation_name == 'sigmoid' else (1.0 if self.net > 0 else 0.0)
if output_neuron:
    delta = (y_hat - t) * phi_prime
else:
    delta = np.matmul(np.array(delta_l), np.array(w_l)) * phi_prime
self.weights = np.array(self.weights) - learning_rate * delta * np.array(self.o_i)
self.bias = self.bias - learning_rate * delta
self.delta_j = delta
"""

# --- Exercise 2: train -------------------------------------------------------------------

TRAIN = '''
def train(hidden, output, inputs, targets, epochs=1000, learning_rate=0.1):
    """Online gradient descent; returns the mean loss ½(t − ŷ)² of each epoch."""
    history = []
    for epoch in range(epochs):
        losses = []
        for x, t in zip(inputs, targets):
            o_j = [neuron.forward(x) for neuron in hidden]
            y_hat = output.forward(o_j)
            losses.append(0.5 * (t - y_hat) ** 2)
            w_l = list(output.weights)
            output.backward(t=t, y_hat=y_hat, learning_rate=learning_rate, output_neuron=True)
            for j, neuron in enumerate(hidden):
                neuron.backward(delta_l=[output.delta_j], w_l=[w_l[j]], learning_rate=learning_rate)
        history.append(sum(losses) / len(losses))
    return history
'''

TRAIN_INDEXED = '''
def train(hidden, output, inputs, targets, epochs=1000, learning_rate=0.1):
    """Online gradient descent; returns the mean loss ½(t − ŷ)² of each epoch."""
    history = []
    for _ in range(epochs):
        total = 0.0
        for i in range(len(inputs)):
            x, t = inputs[i], targets[i]
            o_j = [h.forward(x) for h in hidden]
            y_hat = output.forward(o_j)
            total += 0.5 * (t - y_hat) ** 2
            old_weights = np.array(output.weights, dtype=float)
            output.backward(t=t, y_hat=y_hat, learning_rate=learning_rate, output_neuron=True)
            for h, w_jl in zip(hidden, old_weights):
                h.backward(delta_l=[output.delta_j], w_l=[w_jl], learning_rate=learning_rate)
        history.append(total / len(inputs))
    return history
'''

TRAIN_HIDDEN_FIRST = '''
def train(hidden, output, inputs, targets, epochs=1000, learning_rate=0.1):
    """Online gradient descent; returns the mean loss ½(t − ŷ)² of each epoch."""
    history = []
    for epoch in range(epochs):
        epoch_losses = []
        for x, t in zip(inputs, targets):
            hidden_out = np.array([n.forward(x) for n in hidden])
            y_hat = output.forward(hidden_out)
            epoch_losses.append((t - y_hat) ** 2 / 2)
            # the output's δ by hand, so the hidden neurons can go first, with the old weights
            if output.activation_name == 'sigmoid':
                delta_out = (y_hat - t) * y_hat * (1 - y_hat)
            else:
                delta_out = (y_hat - t) * (1.0 if output.net > 0 else 0.0)
            for j, n in enumerate(hidden):
                n.backward(delta_l=[delta_out], w_l=[output.weights[j]], learning_rate=learning_rate)
            output.backward(t=t, y_hat=y_hat, learning_rate=learning_rate, output_neuron=True)
        history.append(np.mean(epoch_losses))
    return history
'''

TRAIN_DEEPCOPY = '''
import copy

def train(hidden, output, inputs, targets, epochs=1000, learning_rate=0.1):
    """Online gradient descent; returns the mean loss ½(t − ŷ)² of each epoch."""
    losses_per_epoch = []
    for epoch in range(epochs):
        sample_losses = []
        for x, t in zip(inputs, targets):
            o_j = [neuron.forward(x) for neuron in hidden]
            y_hat = output.forward(o_j)
            sample_losses.append(0.5 * (t - y_hat) ** 2)
            w_before = copy.deepcopy(output.weights)
            output.backward(t=t, y_hat=y_hat, learning_rate=learning_rate, output_neuron=True)
            delta_out = output.delta_j
            for neuron, w in zip(hidden, w_before):
                neuron.backward(delta_l=[delta_out], w_l=[w], learning_rate=learning_rate)
        losses_per_epoch.append(float(np.mean(sample_losses)))
    return losses_per_epoch
'''

# --- Exercise 3: Network -----------------------------------------------------------------

NET_INIT = """
self.hidden = [Neuron(inputsize, activation=activation) for _ in range(hidden_size)]
self.outputs = [Neuron(hidden_size, activation=activation) for _ in range(output_size)]
"""
NET_FORWARD = """
o_j = [neuron.forward(x) for neuron in self.hidden]
self.o_l = np.array([neuron.forward(o_j) for neuron in self.outputs])
return self.o_l
"""
NET_BACKWARD = """
w_jl = [list(neuron.weights) for neuron in self.outputs]
for neuron, t_l, o_l in zip(self.outputs, t, self.o_l):
    neuron.backward(t=t_l, y_hat=o_l, learning_rate=learning_rate, output_neuron=True)
delta_l = [neuron.delta_j for neuron in self.outputs]
for j, neuron in enumerate(self.hidden):
    neuron.backward(delta_l=delta_l, w_l=[w[j] for w in w_jl], learning_rate=learning_rate)
"""
NET_TRAIN = """
history = []
for epoch in range(epochs):
    losses = []
    for x, t in zip(inputs, targets):
        o_l = self.forward(x)
        losses.append(0.5 * np.sum((np.asarray(t) - o_l) ** 2))
        self.backward(t, learning_rate=learning_rate)
    history.append(float(np.mean(losses)))
return history
"""


def _network_edit(part, old, new):
    """The base Network with one edit in one method (part: 'backward' or 'train')."""
    parts = {"init": NET_INIT, "forward": NET_FORWARD, "backward": NET_BACKWARD, "train": NET_TRAIN}
    parts[part] = edit(parts[part], old, new)
    return _network(parts["init"], parts["forward"], parts["backward"], parts["train"])


NETWORK_MATRIX = _network("""
    self.hidden = []
    for _ in range(hidden_size):
        self.hidden.append(Neuron(inputsize=inputsize, activation=activation))
    self.outputs = []
    for _ in range(output_size):
        self.outputs.append(Neuron(inputsize=hidden_size, activation=activation))
    """, """
    self.o_j = np.array([h.forward(x) for h in self.hidden])
    return np.array([o.forward(self.o_j) for o in self.outputs], dtype=float)
    """, """
    W = np.array([o.weights for o in self.outputs], dtype=float)   # (L, J), before the update
    t = np.asarray(t, dtype=float)
    for l, neuron in enumerate(self.outputs):
        neuron.backward(t=t[l], y_hat=neuron.o_j, learning_rate=learning_rate, output_neuron=True)
    delta_l = np.array([o.delta_j for o in self.outputs])
    for j, neuron in enumerate(self.hidden):
        neuron.backward(delta_l=delta_l, w_l=W[:, j], learning_rate=learning_rate)
    """, """
    history = []
    for _ in range(epochs):
        total = 0.0
        for x, t in zip(inputs, targets):
            y = self.forward(x)
            total += 0.5 * np.sum((np.asarray(t, dtype=float) - y) ** 2)
            self.backward(t, learning_rate)
        history.append(total / len(inputs))
    return history
    """)

NETWORK_HIDDEN_FIRST = _network("""
    self.hidden = [Neuron(inputsize=inputsize, activation=activation) for j in range(hidden_size)]
    self.outputs = [Neuron(inputsize=hidden_size, activation=activation) for l in range(output_size)]
    """, """
    hidden_out = []
    for neuron in self.hidden:
        hidden_out.append(neuron.forward(x))
    out = []
    for neuron in self.outputs:
        out.append(neuron.forward(hidden_out))
    self.last_output = np.array(out)
    return self.last_output
    """, """
    # all the output deltas first; then the hidden neurons, while the output weights are still the old ones
    deltas = []
    for neuron, target in zip(self.outputs, t):
        if neuron.activation_name == 'sigmoid':
            d_phi = neuron.o_j * (1 - neuron.o_j)
        else:
            d_phi = 1.0 if neuron.net > 0 else 0.0
        deltas.append((neuron.o_j - target) * d_phi)
    for j, neuron in enumerate(self.hidden):
        neuron.backward(delta_l=deltas, w_l=[out.weights[j] for out in self.outputs], learning_rate=learning_rate)
    for neuron, target in zip(self.outputs, t):
        neuron.backward(t=target, y_hat=neuron.o_j, learning_rate=learning_rate, output_neuron=True)
    """, """
    history = []
    for epoch in range(epochs):
        epoch_loss = 0
        for i in range(len(inputs)):
            o = self.forward(inputs[i])
            e = 0
            for t_l, o_l in zip(targets[i], o):
                e += (t_l - o_l) ** 2
            epoch_loss += e / 2
            self.backward(targets[i], learning_rate=learning_rate)
        history.append(epoch_loss / len(inputs))
    return history
    """)

NETWORK_DEEPCOPY = _network("""
    self.hidden = [Neuron(inputsize=inputsize, activation=activation) for j in range(hidden_size)]
    self.outputs = [Neuron(inputsize=hidden_size, activation=activation) for l in range(output_size)]
    """, """
    o_j = np.array([n.forward(x) for n in self.hidden])
    self.y_hat = np.array([n.forward(o_j) for n in self.outputs])
    return self.y_hat
    """, """
    old = copy.deepcopy([n.weights for n in self.outputs])
    for l in range(len(self.outputs)):
        self.outputs[l].backward(t=t[l], y_hat=self.y_hat[l], learning_rate=learning_rate, output_neuron=True)
    delta_l = [n.delta_j for n in self.outputs]
    for j in range(len(self.hidden)):
        w_jl = [old[l][j] for l in range(len(self.outputs))]
        self.hidden[j].backward(delta_l=delta_l, w_l=w_jl, learning_rate=learning_rate)
    """, """
    history = []
    for epoch in range(epochs):
        losses = []
        for x, t in zip(inputs, targets):
            y = self.forward(x)
            losses.append(np.sum((np.array(t) - y) ** 2) / 2)
            self.backward(t, learning_rate=learning_rate)
        history.append(np.mean(losses))
    return history
    """, prefix="import copy\n\n")

CORRECT_02 = [
    ("02-correct-numpy", "arrays throughout: np.where for ReLU′, np.sum(δ_l·w_l), weights copied as an array; "
     "Network keeps W (L×J) before the update", {
         "neuron_backward": _neuron2(BACKWARD_NUMPY),
         "train_multi_sample": TRAIN_INDEXED,
         "multi_output_network": NETWORK_MATRIX}),
    ("02-correct-loops", "plain loops: sum of δ_l·w_l in a loop, weights updated in place as a list; train and "
     "Network compute the output δ by hand and update the hidden neurons first", {
         "neuron_backward": _neuron2(BACKWARD_LOOPS),
         "train_multi_sample": TRAIN_HIDDEN_FIRST,
         "multi_output_network": NETWORK_HIDDEN_FIRST}),
    ("02-correct-update-first", "np.matmul for Σ δ_l·w_l, the update before self.delta_j is stored; "
     "copy.deepcopy of the old weights in train and Network", {
         "neuron_backward": _neuron2(BACKWARD_UPDATE_FIRST),
         "train_multi_sample": TRAIN_DEEPCOPY,
         "multi_output_network": NETWORK_DEEPCOPY}),
]

# Exercise 1 written as lecture 4 writes it: the vector update on self.weights and self.o_i as they
# are, relying on the given constructor and forward to store numpy arrays (the tests pass lists).
CORRECT_02 += [
    ("02-correct-lecture-4", "lecture 4's backward: ∂e/∂o then φ′, self.weights − η·δ·self.o_i on the given arrays", {
        "neuron_backward": _neuron2("""
            if output_neuron:
                de_do = y_hat - t
            else:
                de_do = np.dot(delta_l, w_l)
            phi_prime = self.o_j * (1 - self.o_j) if self.activation_name == 'sigmoid' else float(self.net > 0)
            self.delta_j = de_do * phi_prime
            self.weights = self.weights - learning_rate * self.delta_j * self.o_i
            self.bias = self.bias - learning_rate * self.delta_j
            """)}),
    ("02-correct-in-place", "the text's np.matmul(δ_l, w_l), ReLU′ by np.heaviside, in-place -= on the given arrays", {
        "neuron_backward": _neuron2("""
            if self.activation_name == 'relu':
                d_phi = np.heaviside(self.net, 0.0)
            else:
                d_phi = self.o_j * (1.0 - self.o_j)
            if output_neuron:
                self.delta_j = (y_hat - t) * d_phi
            else:
                self.delta_j = np.matmul(delta_l, w_l) * d_phi
            self.weights -= learning_rate * self.delta_j * self.o_i
            self.bias -= learning_rate * self.delta_j
            """)}),
    ("02-correct-generator-sum", "sum(d·w for …) over the outputs, φ′ from self.sigmoid(net), the vector update", {
        "neuron_backward": _neuron2("""
            if self.activation_name == 'sigmoid':
                s = self.sigmoid(self.net)
                phi_prime = s * (1 - s)
            else:
                phi_prime = 1.0 if self.net > 0 else 0.0
            error = (y_hat - t) if output_neuron else sum(d * w for d, w in zip(delta_l, w_l))
            self.delta_j = error * phi_prime
            self.weights = self.weights - learning_rate * self.delta_j * self.o_i
            self.bias = self.bias - learning_rate * self.delta_j
            """)}),
]

#: (name, description, exercise, code, cell source)
MISTAKES_02 = [
    # Exercise 1: Neuron.backward
    ("02-neuron-update-sign", "w + η·δ·o_i and b + η·δ", "neuron_backward", "update-sign", _neuron2(edit(edit(
        BACKWARD, "w - learning_rate * delta_j * o", "w + learning_rate * delta_j * o"),
        "self.bias - learning_rate * delta_j", "self.bias + learning_rate * delta_j"))),
    ("02-neuron-bias-not-updated", "the bias line forgotten", "neuron_backward", "bias-not-updated",
     _neuron2(edit(BACKWARD, "self.bias = self.bias - learning_rate * delta_j", ""))),
    ("02-neuron-learning-rate-0.1", "η hard-coded as 0.1", "neuron_backward", "learning-rate-ignored",
     _neuron2(edit(edit(BACKWARD, "w - learning_rate * delta_j * o", "w - 0.1 * delta_j * o"),
                   "self.bias - learning_rate * delta_j", "self.bias - 0.1 * delta_j"))),
    ("02-neuron-learning-rate-one", "the step without η (η = 1)", "neuron_backward", "learning-rate-ignored",
     _neuron2(edit(edit(BACKWARD, "w - learning_rate * delta_j * o", "w - delta_j * o"),
                   "self.bias - learning_rate * delta_j", "self.bias - delta_j"))),
    ("02-neuron-output-delta-sign", "output δ = (t − ŷ)·φ′", "neuron_backward", "output-delta-sign",
     _neuron2(edit(BACKWARD, "(y_hat - t) * phi_prime", "(t - y_hat) * phi_prime"))),
    ("02-neuron-output-delta-no-phi-prime", "output δ = ŷ − t", "neuron_backward", "output-delta-no-phi-prime",
     _neuron2(edit(BACKWARD, "delta_j = (y_hat - t) * phi_prime", "delta_j = y_hat - t"))),
    ("02-neuron-relu-sigmoid-derivative", "φ′ = o(1 − o) for every activation", "neuron_backward",
     "relu-with-sigmoid-derivative", _neuron2(edit(BACKWARD, """
        if self.activation_name == 'sigmoid':
            phi_prime = self.o_j * (1 - self.o_j)
        else:
            phi_prime = 1.0 if self.net > 0 else 0.0
        """, "phi_prime = self.o_j * (1 - self.o_j)"))),
    ("02-neuron-derivative-of-net", "sigmoid φ′ = net(1 − net)", "neuron_backward", "derivative-of-net",
     _neuron2(edit(BACKWARD, "phi_prime = self.o_j * (1 - self.o_j)", "phi_prime = self.net * (1 - self.net)"))),
    ("02-neuron-hidden-no-phi-prime", "hidden δ_j = np.dot(δ_l, w_l), bug (b) of the original code",
     "neuron_backward", "hidden-delta-no-phi-prime",
     _neuron2(edit(BACKWARD, "delta_j = np.dot(delta_l, w_l) * phi_prime", "delta_j = np.dot(delta_l, w_l)"))),
    ("02-neuron-hidden-last-output-only", "a loop over the outputs that overwrites δ_j instead of adding up",
     "neuron_backward", "only-one-output-delta", _neuron2(edit(
         BACKWARD, "delta_j = np.dot(delta_l, w_l) * phi_prime",
         "for d, w in zip(delta_l, w_l):\n        delta_j = d * w * phi_prime"))),
    ("02-neuron-hidden-mean", "hidden δ_j with np.mean over the outputs", "neuron_backward", "averaged-over-outputs",
     _neuron2(edit(BACKWARD, "np.dot(delta_l, w_l) * phi_prime", "np.mean(np.multiply(delta_l, w_l)) * phi_prime"))),
    ("02-neuron-activation-compared-to-its-name", "`if self.activation == 'sigmoid'`, as the seed lecture's code "
     "tested it: self.activation is a function, so every neuron takes ReLU's φ′", "neuron_backward",
     "sigmoid-branch-never-taken", _neuron2(edit(BACKWARD, "if self.activation_name == 'sigmoid':",
                                                 "if self.activation == 'sigmoid':"))),
    # Exercise 2: train
    ("02-train-updated-weights", "w_l read from output.weights after the output's update, bug (c)",
     "train_multi_sample", "updated-weights-propagated", edit(edit(
         TRAIN, "            w_l = list(output.weights)\n", ""),
         "w_l=[w_l[j]]", "w_l=[output.weights[j]]")),
    ("02-train-first-sample-only", "zip(inputs[:1], targets[:1])", "train_multi_sample", "subset-of-samples",
     edit(TRAIN, "zip(inputs, targets)", "zip(inputs[:1], targets[:1])")),
    ("02-train-off-by-one", "for i in range(len(inputs) - 1): the last sample is never seen",
     "train_multi_sample", "subset-of-samples", edit(
         TRAIN, "for x, t in zip(inputs, targets):", """
         for i in range(len(inputs) - 1):
                     x, t = inputs[i], targets[i]
         """)),
    ("02-train-epochs-hard-coded", "range(1000) instead of range(epochs)", "train_multi_sample", "epochs-ignored",
     edit(TRAIN, "range(epochs)", "range(1000)")),
    ("02-train-loss-summed", "the epoch loss is sum(losses)", "train_multi_sample", "loss-not-averaged",
     edit(TRAIN, "sum(losses) / len(losses)", "sum(losses)")),
    ("02-train-loss-after-update", "the sample's loss recomputed after the updates", "train_multi_sample",
     "loss-after-update", edit(edit(TRAIN, "            losses.append(0.5 * (t - y_hat) ** 2)\n", ""),
         "w_l=[w_l[j]], learning_rate=learning_rate)", """
         w_l=[w_l[j]], learning_rate=learning_rate)
                     y_hat = output.forward([neuron.forward(x) for neuron in hidden])
                     losses.append(0.5 * (t - y_hat) ** 2)
         """)),
    ("02-train-learning-rate-not-passed", "backward() called without learning_rate, so always 0.1",
     "train_multi_sample", "learning-rate-ignored", edit(edit(
         TRAIN, "y_hat=y_hat, learning_rate=learning_rate, output_neuron=True", "y_hat=y_hat, output_neuron=True"),
         "w_l=[w_l[j]], learning_rate=learning_rate)", "w_l=[w_l[j]])")),
    ("02-train-loss-no-half", "the sample loss (t − ŷ)², without the ½", "train_multi_sample", "loss-no-half",
     edit(TRAIN, "0.5 * (t - y_hat) ** 2", "(t - y_hat) ** 2")),
    # the loops themselves: each one slip of TRAIN, as students make them
    ("02-train-epochs-from-one", "for epoch in range(1, epochs): one epoch short", "train_multi_sample",
     "epochs-off-by-one", edit(TRAIN, "range(epochs)", "range(1, epochs)")),
    ("02-train-return-in-loop", "`return history` indented inside the epoch loop", "train_multi_sample",
     "return-inside-epoch-loop", edit(
         TRAIN, "history.append(sum(losses) / len(losses))\n    return history",
         "history.append(sum(losses) / len(losses))\n        return history")),
    ("02-train-last-sample-loss", "no list of losses: the last sample's `loss` appended after the sample loop",
     "train_multi_sample", "epoch-loss-last-sample", edit(edit(edit(
         TRAIN, "losses = []", ""),
         "losses.append(0.5 * (t - y_hat) ** 2)", "loss = 0.5 * (t - y_hat) ** 2"),
         "history.append(sum(losses) / len(losses))", "history.append(loss)")),
    ("02-train-losses-not-reset", "`losses = []` before the epoch loop", "train_multi_sample", "losses-not-reset",
     edit(TRAIN, "history = []\n    for epoch in range(epochs):\n        losses = []",
          "history = []\n    losses = []\n    for epoch in range(epochs):")),
    ("02-train-append-per-sample", "history.append indented inside the sample loop", "train_multi_sample",
     "loss-recorded-per-sample", edit(
         TRAIN, "w_l=[w_l[j]], learning_rate=learning_rate)\n        history.append(",
         "w_l=[w_l[j]], learning_rate=learning_rate)\n            history.append(")),
    ("02-train-update-after-loop", "the backward calls indented one level too little: one step per epoch, "
     "on the last sample", "train_multi_sample", "update-once-per-epoch", edit(
         TRAIN, "losses.append(0.5 * (t - y_hat) ** 2)\n"
                "            w_l = list(output.weights)\n"
                "            output.backward(t=t, y_hat=y_hat, learning_rate=learning_rate, output_neuron=True)\n"
                "            for j, neuron in enumerate(hidden):\n"
                "                neuron.backward(",
         "losses.append(0.5 * (t - y_hat) ** 2)\n"
         "        w_l = list(output.weights)\n"
         "        output.backward(t=t, y_hat=y_hat, learning_rate=learning_rate, output_neuron=True)\n"
         "        for j, neuron in enumerate(hidden):\n"
         "            neuron.backward(")),
    # Exercise 3: Network
    ("02-network-updated-weights", "hidden w_l read from the output neurons after their update, bug (c)",
     "multi_output_network", "updated-weights-propagated", _network_edit("backward", """
        for j, neuron in enumerate(self.hidden):
            neuron.backward(delta_l=delta_l, w_l=[w[j] for w in w_jl], learning_rate=learning_rate)
        """, """
        for j, neuron in enumerate(self.hidden):
            neuron.backward(delta_l=delta_l, w_l=[out.weights[j] for out in self.outputs], learning_rate=learning_rate)
        """)),
    ("02-network-first-output-only", "Exercise 2's driver kept: only the first output's δ goes back",
     "multi_output_network", "only-one-output-delta", _network_edit(
         "backward", "delta_l=delta_l, w_l=[w[j] for w in w_jl]", "delta_l=[delta_l[0]], w_l=[w_jl[0][j]]")),
    ("02-network-own-output-only", "hidden neuron j takes the δ of \"its own\" output j only, with w_jj",
     "multi_output_network", "only-one-output-delta", _network_edit(
         "backward", "delta_l=delta_l, w_l=[w[j] for w in w_jl]", "delta_l=[delta_l[j]], w_l=[w_jl[j][j]]")),
    ("02-network-first-target", "every output neuron trained towards t[0]", "multi_output_network", "wrong-target",
     _network_edit("backward", "neuron.backward(t=t_l, y_hat=o_l", "neuron.backward(t=t[0], y_hat=o_l")),
    ("02-network-loss-mean-over-outputs", "sample loss ½·mean over the outputs", "multi_output_network",
     "loss-not-summed-over-outputs", _network_edit("train", "0.5 * np.sum(", "0.5 * np.mean(")),
    ("02-network-learning-rate-not-passed", "Network.backward does not pass learning_rate on to the neurons",
     "multi_output_network", "learning-rate-ignored", _network_edit("backward", """
        neuron.backward(t=t_l, y_hat=o_l, learning_rate=learning_rate, output_neuron=True)
        delta_l = [neuron.delta_j for neuron in self.outputs]
        for j, neuron in enumerate(self.hidden):
            neuron.backward(delta_l=delta_l, w_l=[w[j] for w in w_jl], learning_rate=learning_rate)
        """, """
        neuron.backward(t=t_l, y_hat=o_l, output_neuron=True)
        delta_l = [neuron.delta_j for neuron in self.outputs]
        for j, neuron in enumerate(self.hidden):
            neuron.backward(delta_l=delta_l, w_l=[w[j] for w in w_jl])
        """)),
    ("02-network-loss-after-update", "Network.train takes the loss after backward()", "multi_output_network",
     "loss-after-update", _network_edit(
         "train", "losses.append(0.5 * np.sum((np.asarray(t) - o_l) ** 2))\n        self.backward(t, learning_rate=learning_rate)",
         "self.backward(t, learning_rate=learning_rate)\n        losses.append(0.5 * np.sum((np.asarray(t) - self.forward(x)) ** 2))")),
    ("02-network-mse-loss", "the sample loss as the libraries' mean squared error, np.mean((t − o_l)²)",
     "multi_output_network", "loss-not-summed-over-outputs", _network_edit(
         "train", "0.5 * np.sum((np.asarray(t) - o_l) ** 2)", "np.mean((np.asarray(t) - o_l) ** 2)")),
    ("02-network-off-by-one", "for i in range(len(inputs) - 1): the last sample is never seen",
     "multi_output_network", "subset-of-samples", _network_edit(
         "train", "for x, t in zip(inputs, targets):",
         "for i in range(len(inputs) - 1):\n        x, t = inputs[i], targets[i]")),
    ("02-network-total-not-reset", "a running `total = 0.0` set once, before the epoch loop",
     "multi_output_network", "losses-not-reset", _network(NET_INIT, NET_FORWARD, NET_BACKWARD, """
        history = []
        total = 0.0
        for epoch in range(epochs):
            for x, t in zip(inputs, targets):
                o_l = self.forward(x)
                total += 0.5 * np.sum((np.asarray(t) - o_l) ** 2)
                self.backward(t, learning_rate=learning_rate)
            history.append(total / len(inputs))
        return history
        """)),
]


# =========================================================================================
# 03_vectorised
# =========================================================================================

A3 = "03_vectorised"


def _ref3(exercise):
    return reference_cells(A3)[exercise]


def _dense(forward, backward):
    """The released dense_layer cell (docstrings, cache and returns given) with the student's bodies."""
    return fill(_ref3("dense_layer"), forward, backward)


def _softmax(body, prefix=""):
    return fill(_ref3("softmax_cross_entropy"), body, prefix=prefix)


def _grad_check(body):
    return fill(_ref3("grad_check"), body)


def _sgd(body):
    return fill(_ref3("sgd_epoch"), body)


# --- the bases the mistakes edit: a student's straightforward solutions ----------------------

DENSE_FORWARD = "out = x.dot(W) + b"
DENSE_BACKWARD = """
dx = dout.dot(W.T)
dW = x.T.dot(dout)
db = np.sum(dout, axis=0)
"""

SOFTMAX = """
N = len(y)
z = logits - np.max(logits, axis=1, keepdims=True)
log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
probs = np.exp(log_probs)
loss = -np.mean(log_probs[np.arange(N), y])
t = np.zeros_like(probs)
t[np.arange(N), y] = 1
dlogits = (probs - t) / N
return loss, dlogits
"""

GRAD_CHECK = """
grad = np.zeros(x.shape)
for i in np.ndindex(*x.shape):
    saved = x[i]
    x[i] = saved + h
    up = f(x)
    x[i] = saved - h
    down = f(x)
    x[i] = saved
    grad[i] = (up - down) / (2 * h)
return grad
"""

SGD = """
N = len(y)
idx = rng.permutation(N)
batch_losses = []
for start in range(0, N, batch_size):
    batch = idx[start:start + batch_size]
    xb, yb = X[batch], y[batch]
    net1, cache1 = dense_forward(xb, params["W1"], params["b1"])
    o1, relu_cache = relu_forward(net1)
    logits, cache2 = dense_forward(o1, params["W2"], params["b2"])
    loss, dlogits = softmax_cross_entropy(logits, yb)
    batch_losses.append(loss)
    do1, dW2, db2 = dense_backward(dlogits, cache2)
    dnet1 = relu_backward(do1, relu_cache)
    _, dW1, db1 = dense_backward(dnet1, cache1)
    params["W1"] -= learning_rate * dW1
    params["b1"] -= learning_rate * db1
    params["W2"] -= learning_rate * dW2
    params["b2"] -= learning_rate * db2
return np.mean(batch_losses)
"""

# --- differently written correct solutions -------------------------------------------------

CORRECT_03 = [
    ("03-correct-einsum", "np.einsum for the layer, logaddexp.reduce and np.eye for softmax, np.nditer for the check, "
     "the batch sliced from X[idx] and y[idx] shuffled up front, updates by reassignment", {
         "dense_layer": _dense("out = np.einsum('nd,dm->nm', x, W) + b", """
             dx = np.einsum('nm,dm->nd', dout, W)
             dW = np.einsum('nd,nm->dm', x, dout)
             db = np.einsum('nm->m', dout)
             """),
         "softmax_cross_entropy": _softmax("""
             N, C = logits.shape
             log_norm = np.logaddexp.reduce(logits, axis=1, keepdims=True)
             log_probs = logits - log_norm
             loss = -np.sum(log_probs * np.eye(C)[y]) / N
             dlogits = (np.exp(log_probs) - np.eye(C)[y]) / N
             return float(loss), dlogits
             """),
         "grad_check": _grad_check("""
             grad = np.zeros_like(x, dtype=float)
             it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
             while not it.finished:
                 ix = it.multi_index
                 old_value = x[ix]
                 x[ix] = old_value + h
                 fxph = f(x)
                 x[ix] = old_value - h
                 fxmh = f(x)
                 x[ix] = old_value
                 grad[ix] = (fxph - fxmh) / (2 * h)
                 it.iternext()
             return grad
             """),
         "sgd_epoch": _sgd("""
             idx = rng.permutation(X.shape[0])
             X_shuffled, y_shuffled = X[idx], y[idx]
             losses = []
             for k in range(int(np.ceil(len(y) / batch_size))):
                 xb = X_shuffled[k * batch_size:(k + 1) * batch_size]
                 yb = y_shuffled[k * batch_size:(k + 1) * batch_size]
                 a1, c1 = dense_forward(xb, params["W1"], params["b1"])
                 h1, c_relu = relu_forward(a1)
                 scores, c2 = dense_forward(h1, params["W2"], params["b2"])
                 loss, dscores = softmax_cross_entropy(scores, yb)
                 losses.append(loss)
                 dh1, dW2, db2 = dense_backward(dscores, c2)
                 da1 = relu_backward(dh1, c_relu)
                 _, dW1, db1 = dense_backward(da1, c1)
                 grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
                 for name in grads:
                     params[name] = params[name] - learning_rate * grads[name]
             return sum(losses) / len(losses)
             """)}),
    ("03-correct-loops", "loops over the samples in the layer and in softmax, x.flat in the check, a while loop over "
     "the batches with the maths written inline", {
         "dense_layer": _dense("""
             out = np.zeros((x.shape[0], W.shape[1]))
             for n in range(x.shape[0]):
                 out[n] = x[n] @ W + b
             """, """
             dx, dW, db = np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)
             for n in range(x.shape[0]):
                 dx[n] = W @ dout[n]
                 dW += np.outer(x[n], dout[n])
                 db += dout[n]
             """),
         "softmax_cross_entropy": _softmax("""
             N = logits.shape[0]
             loss = 0.0
             dlogits = np.zeros(logits.shape)
             for n in range(N):
                 z = logits[n] - logits[n].max()
                 total = np.exp(z).sum()
                 loss += np.log(total) - z[y[n]]
                 dlogits[n] = np.exp(z) / total
                 dlogits[n, y[n]] -= 1.0
             return loss / N, dlogits / N
             """),
         "grad_check": _grad_check("""
             grad = np.zeros(x.shape)
             for i in range(x.size):
                 old = x.flat[i]
                 x.flat[i] = old + h
                 plus = f(x)
                 x.flat[i] = old - h
                 minus = f(x)
                 x.flat[i] = old
                 grad.flat[i] = (plus - minus) / (2 * h)
             return grad
             """),
         "sgd_epoch": _sgd("""
             W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
             order = rng.permutation(len(X))
             losses, start = [], 0
             while start < len(X):
                 rows = order[start:start + batch_size]
                 start += batch_size
                 xb, yb, n = X[rows], y[rows], len(rows)
                 net1 = xb @ W1 + b1
                 o1 = np.maximum(net1, 0)
                 z = o1 @ W2 + b2
                 z = z - z.max(axis=1, keepdims=True)
                 p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
                 losses.append(-np.mean(np.log(p[np.arange(n), yb])))
                 delta2 = p.copy()
                 delta2[np.arange(n), yb] -= 1
                 delta2 /= n
                 delta1 = (delta2 @ W2.T) * (net1 > 0)
                 np.subtract(W2, learning_rate * o1.T @ delta2, out=W2)
                 np.subtract(b2, learning_rate * delta2.sum(axis=0), out=b2)
                 np.subtract(W1, learning_rate * xb.T @ delta1, out=W1)
                 np.subtract(b1, learning_rate * delta1.sum(axis=0), out=b1)
             return float(np.mean(losses))
             """)}),
    ("03-correct-copies", "np.dot and np.matmul, a one-hot by np.put_along_axis, perturbed copies of x in the check, "
     "batches from np.array_split of the permutation at multiples of batch_size", {
         "dense_layer": _dense("out = np.matmul(x, W) + b[np.newaxis, :]", """
             dx = np.matmul(dout, np.transpose(W))
             dW = np.matmul(np.transpose(x), dout)
             db = dout.sum(0)
             """),
         "softmax_cross_entropy": _softmax("""
             shift = logits - logits.max(axis=-1)[:, None]
             exp = np.exp(shift)
             sums = exp.sum(axis=-1)
             onehot = np.zeros_like(logits)
             np.put_along_axis(onehot, y[:, None], 1.0, axis=1)
             loss = np.mean(np.log(sums) - np.sum(shift * onehot, axis=1))
             dlogits = (exp / sums[:, None] - onehot) / logits.shape[0]
             return loss, dlogits
             """),
         "grad_check": _grad_check("""
             grad = np.empty(x.shape)
             for i in range(x.size):
                 step = np.zeros(x.size)
                 step[i] = h
                 step = step.reshape(x.shape)
                 grad.flat[i] = (f(x + step) - f(x - step)) / (2 * h)
             return grad
             """),
         "sgd_epoch": _sgd("""
             perm = rng.permutation(X.shape[0])
             batches = np.array_split(perm, range(batch_size, X.shape[0], batch_size))
             total = 0.0
             for batch in batches:
                 net1, cache1 = dense_forward(X[batch], params["W1"], params["b1"])
                 o1, relu_cache = relu_forward(net1)
                 logits, cache2 = dense_forward(o1, params["W2"], params["b2"])
                 loss, dlogits = softmax_cross_entropy(logits, y[batch])
                 total += loss
                 do1, grad_W2, grad_b2 = dense_backward(dlogits, cache2)
                 _, grad_W1, grad_b1 = dense_backward(relu_backward(do1, relu_cache), cache1)
                 for key, grad in zip(["W1", "b1", "W2", "b2"], [grad_W1, grad_b1, grad_W2, grad_b2]):
                     params[key] -= learning_rate * grad
             return total / len(batches)
             """)}),
]


#: (name, description, exercise, code, cell source)
MISTAKES_03 = [
    # Exercise 1: the dense layer
    ("03-dense-forward-no-bias", "out = x·W, the bias left out", "dense_layer", "forward-ignores-bias",
     _dense("out = x.dot(W)", DENSE_BACKWARD)),
    ("03-dense-dW-transposed", "dW = doutᵀ·x, shape (M, D)", "dense_layer", "weight-gradient-transposed",
     _dense(DENSE_FORWARD, edit(DENSE_BACKWARD, "dW = x.T.dot(dout)", "dW = dout.T.dot(x)"))),
    ("03-dense-db-not-summed", "db = dout, one row per sample", "dense_layer", "bias-gradient-not-summed",
     _dense(DENSE_FORWARD, edit(DENSE_BACKWARD, "db = np.sum(dout, axis=0)", "db = dout"))),
    ("03-dense-averaged", "dW and db averaged over the batch, which the loss already did", "dense_layer",
     "layer-gradient-averaged", _dense(DENSE_FORWARD, edit(edit(
         DENSE_BACKWARD, "dW = x.T.dot(dout)", "dW = x.T.dot(dout) / x.shape[0]"),
         "db = np.sum(dout, axis=0)", "db = np.mean(dout, axis=0)"))),
    ("03-dense-db-mean", "db = dout.mean(0), the rest right", "dense_layer", "layer-gradient-averaged",
     _dense(DENSE_FORWARD, edit(DENSE_BACKWARD, "db = np.sum(dout, axis=0)", "db = dout.mean(0)"))),
    ("03-dense-dx-not-transposed", "dx = dout @ W, which does not fit unless W is square", "dense_layer",
     "input-gradient-not-transposed", _dense(DENSE_FORWARD, edit(DENSE_BACKWARD, "dx = dout.dot(W.T)", "dx = dout @ W"))),
    # Exercise 2: softmax with cross-entropy
    ("03-softmax-no-max", "softmax as exp(z)/Σ exp(z), the max not subtracted", "softmax_cross_entropy",
     "softmax-overflow", _softmax(edit(edit(
         SOFTMAX, "z = logits - np.max(logits, axis=1, keepdims=True)", "z = logits"),
         "log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))",
         "log_probs = np.log(np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True))"))),
    ("03-softmax-global-max", "np.max(logits): the largest logit of the whole batch subtracted",
     "softmax_cross_entropy", "softmax-global-max", _softmax(edit(
         SOFTMAX, "z = logits - np.max(logits, axis=1, keepdims=True)", "z = logits - np.max(logits)"))),
    ("03-softmax-log-of-probability", "the max subtracted, but the loss is np.log of ŷ", "softmax_cross_entropy",
     "log-of-zero-probability", _softmax(edit(
         SOFTMAX, "log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))\nprobs = np.exp(log_probs)",
         "probs = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)\nlog_probs = np.log(probs)"))),
    ("03-softmax-gradient-sign", "dlogits = (t − ŷ)/N", "softmax_cross_entropy", "softmax-gradient-sign",
     _softmax(edit(SOFTMAX, "(probs - t) / N", "(t - probs) / N"))),
    ("03-softmax-gradient-not-averaged", "dlogits = ŷ − t with the loss a mean", "softmax_cross_entropy",
     "softmax-gradient-not-averaged", _softmax(edit(SOFTMAX, "(probs - t) / N", "probs - t"))),
    ("03-softmax-loss-summed", "the loss summed over the batch, dlogits divided by N", "softmax_cross_entropy",
     "cross-entropy-not-averaged", _softmax(edit(SOFTMAX, "loss = -np.mean(", "loss = -np.sum("))),
    ("03-softmax-missing-target", "dlogits = ŷ/N, the one-hot target never subtracted", "softmax_cross_entropy",
     "softmax-gradient-missing-target", _softmax(edit(SOFTMAX, "(probs - t) / N", "probs / N"))),
    # Exercise 3: the gradient check
    ("03-grad-check-one-sided", "(f(x + h) − f(x))/h", "grad_check", "one-sided-difference", _grad_check(edit(edit(
        GRAD_CHECK, "x[i] = saved - h", "x[i] = saved"), "(up - down) / (2 * h)", "(up - down) / h"))),
    ("03-grad-check-step-1e-2", "the step set to 0.01 inside the function", "grad_check", "step-too-large",
     _grad_check("h = 0.01\n" + GRAD_CHECK.strip("\n"))),
    ("03-grad-check-not-halved", "(f(x + h) − f(x − h))/h", "grad_check", "difference-not-halved",
     _grad_check(edit(GRAD_CHECK, "(up - down) / (2 * h)", "(up - down) / h"))),
    ("03-grad-check-not-restored", "x[i] += h, x[i] -= 2h, and x[i] never put back", "grad_check",
     "input-not-restored", _grad_check(edit(edit(edit(
         GRAD_CHECK, "x[i] = saved + h", "x[i] += h"), "x[i] = saved - h", "x[i] -= 2 * h"), "x[i] = saved", ""))),
    ("03-grad-check-alias", "x_plus = x and x_minus = x: no copies, so the steps cancel before f is evaluated",
     "grad_check", "copy-is-an-alias", _grad_check("""
         grad = np.zeros(x.shape)
         for i in np.ndindex(*x.shape):
             x_plus = x
             x_plus[i] += h
             x_minus = x
             x_minus[i] -= h
             grad[i] = (f(x_plus) - f(x_minus)) / (2 * h)
         return grad
         """)),
    # Exercise 4: mini-batch SGD
    ("03-sgd-inputs-shuffled-only", "X[batch] with y[start:start + batch_size]", "sgd_epoch",
     "shuffled-without-targets", _sgd(edit(SGD, "xb, yb = X[batch], y[batch]",
                                            "xb, yb = X[batch], y[start:start + batch_size]"))),
    ("03-sgd-two-permutations", "X and y each shuffled by a permutation of its own", "sgd_epoch",
     "shuffled-without-targets", _sgd(edit(edit(
         SGD, "idx = rng.permutation(N)", "X, y = X[rng.permutation(N)], y[rng.permutation(N)]"),
         "batch = idx[start:start + batch_size]", "batch = np.arange(start, min(start + batch_size, N))"))),
    ("03-sgd-not-shuffled", "the batches in the stored order", "sgd_epoch", "samples-not-shuffled",
     _sgd(edit(SGD, "idx = rng.permutation(N)", "idx = np.arange(N)"))),
    ("03-sgd-permutation-per-batch", "rng.permutation(N) drawn anew for every batch", "sgd_epoch",
     "permutation-per-batch", _sgd(edit(edit(SGD, "idx = rng.permutation(N)", ""),
                                        "batch = idx[start:start + batch_size]",
                                        "batch = rng.permutation(N)[start:start + batch_size]"))),
    ("03-sgd-np-random", "np.random.permutation(N), not the rng given", "sgd_epoch", "rng-not-used",
     _sgd(edit(SGD, "idx = rng.permutation(N)", "idx = np.random.permutation(N)"))),
    ("03-sgd-last-batch-dropped", "N // batch_size batches", "sgd_epoch", "last-batch-dropped",
     _sgd(edit(SGD, "for start in range(0, N, batch_size):", "for start in range(0, N // batch_size * batch_size, batch_size):"))),
    ("03-sgd-divided-by-batch-size", "each step divided by batch_size once more", "sgd_epoch", "batch-divided-twice",
     _sgd(SGD.replace("learning_rate * d", "learning_rate / batch_size * d"))),
    ("03-sgd-relu-backward-skipped", "dense_backward of the first layer fed the unmasked gradient", "sgd_epoch",
     "relu-backward-skipped", _sgd(edit(SGD, "dnet1 = relu_backward(do1, relu_cache)", "dnet1 = do1"))),
    ("03-sgd-W2-updated-first", "W2 and b2 updated before the gradient goes back through W2", "sgd_epoch",
     "second-layer-updated-first", _sgd(edit(edit(
         SGD, 'params["b1"] -= learning_rate * db1\n    params["W2"] -= learning_rate * dW2\n'
              '    params["b2"] -= learning_rate * db2', 'params["b1"] -= learning_rate * db1'),
         "do1, dW2, db2 = dense_backward(dlogits, cache2)", """
         _, dW2, db2 = dense_backward(dlogits, cache2)
             params["W2"] -= learning_rate * dW2
             params["b2"] -= learning_rate * db2
             do1 = dlogits @ params["W2"].T
         """))),
    ("03-sgd-params-copied", "params copied first, so the caller's dict never changes", "sgd_epoch",
     "params-not-updated", _sgd(edit(SGD, "N = len(y)", "N = len(y)\nparams = {k: v.copy() for k, v in params.items()}"))),
    ("03-sgd-update-sign", "W ← W + η·∂e/∂W", "sgd_epoch", "update-sign",
     _sgd(SGD.replace("-= learning_rate", "+= learning_rate"))),
    ("03-sgd-losses-summed", "the epoch loss is the sum of the batch losses", "sgd_epoch", "batch-losses-summed",
     _sgd(edit(SGD, "return np.mean(batch_losses)", "return np.sum(batch_losses)"))),
    ("03-sgd-last-batch-loss", "returns `loss`, the last batch's", "sgd_epoch", "epoch-loss-last-batch",
     _sgd(edit(SGD, "return np.mean(batch_losses)", "return loss"))),
    ("03-sgd-loss-after-step", "each batch's loss taken again after its step", "sgd_epoch", "batch-loss-after-step",
     _sgd(edit(edit(SGD, "batch_losses.append(loss)", ""), 'params["b2"] -= learning_rate * db2', """
         params["b2"] -= learning_rate * db2
             o1_after = relu_forward(dense_forward(xb, params["W1"], params["b1"])[0])[0]
             loss_after, _ = softmax_cross_entropy(dense_forward(o1_after, params["W2"], params["b2"])[0], yb)
             batch_losses.append(loss_after)
         """))),
    ("03-sgd-losses-weighted", "the epoch loss weights each batch by its size", "sgd_epoch", "batch-losses-weighted",
     _sgd(edit(edit(SGD, "batch_losses.append(loss)", "batch_losses.append(loss * len(yb))"),
               "return np.mean(batch_losses)", "return np.sum(batch_losses) / N"))),
]


def _build():
    from .catalogue_autograd import A4, CORRECT_04, MISTAKES_04  # 04_autograd's, in a module of its own

    catalogue = []
    for assignment, correct, mistakes in ((A1, CORRECT_01, MISTAKES_01), (A2, CORRECT_02, MISTAKES_02),
                                         (A3, CORRECT_03, MISTAKES_03), (A4, CORRECT_04, MISTAKES_04)):
        short = assignment[:2]
        catalogue.append(Submission(assignment, f"{short}-reference", reference_cells(assignment),
                                    {exercise: "" for exercise in EXERCISES[assignment]},
                                    "the solution cells of source/, markers and all"))
        catalogue += [_submission(assignment, name, description, cells) for name, description, cells in correct]
        catalogue += [_submission(assignment, name, description, {exercise: source}, (exercise, code))
                      for name, description, exercise, code, source in mistakes]
    names = [s.name for s in catalogue]
    assert len(names) == len(set(names)), "submission names must be unique"
    return catalogue


CATALOGUE: list[Submission] = _build()
