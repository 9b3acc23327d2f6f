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

ROOT = Path(__file__).resolve().parents[2]

NOTEBOOK = {"01_neuron": "neuron.ipynb", "02_backprop": "backprop.ipynb"}

#: the exercises (solution cells' grade_ids) of each assignment, in notebook order
EXERCISES = {
    "01_neuron": ["activations", "derivatives", "loss", "neuron_forward"],
    "02_backprop": ["neuron_backward", "train_multi_sample", "multi_output_network"],
}

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


def _build():
    catalogue = []
    for assignment, correct, mistakes in ((A1, CORRECT_01, MISTAKES_01), (A2, CORRECT_02, MISTAKES_02)):
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
