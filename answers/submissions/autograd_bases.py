"""The bases of 04_autograd's submissions: the released cells with a student's code in them, and
a student's straightforward solutions, which the mistakes in ``autograd.py`` edit once each."""
from __future__ import annotations

from .submission import fill, reference_cells

A4 = "04_autograd"


def _ref4(exercise):
    return reference_cells(A4)[exercise]


#: the Value cell's solution regions, in order: one local backward each
OPERATIONS = ("add", "mul", "pow", "exp", "log", "tanh", "relu", "matmul", "sum")


def value_cell(**bodies):
    """The Value cell with the student's local backward of each operation (the given code as released)."""
    return fill(_ref4("value"), *(bodies[op] for op in OPERATIONS))


def backward_cell(body):
    """The released backward cell with the student's body of Value.backward."""
    return fill(_ref4("backward"), body)


def step_cell(body, prefix=""):
    """The released sgd_step cell with the student's body; ``prefix`` above it."""
    return fill(_ref4("sgd_step"), body, prefix=prefix)


def stopping_cell(body, prefix=""):
    """The released early_stopping cell with the student's body; ``prefix`` above it."""
    return fill(_ref4("early_stopping"), body, prefix=prefix)


# --- the bases the mistakes edit: a student's straightforward solutions ------------------------------

VALUE = dict(
    add="""
        self.grad += unbroadcast(out.grad, self.data.shape)
        other.grad += unbroadcast(out.grad, other.data.shape)
        """,
    mul="""
        self.grad += unbroadcast(other.data * out.grad, self.data.shape)
        other.grad += unbroadcast(self.data * out.grad, other.data.shape)
        """,
    pow="self.grad += n * self.data ** (n - 1) * out.grad",
    exp="self.grad += out.data * out.grad",
    log="self.grad += out.grad / self.data",
    tanh="self.grad += (1 - out.data ** 2) * out.grad",
    relu="self.grad += (self.data > 0) * out.grad",
    matmul="""
        self.grad += out.grad @ other.data.T
        other.grad += self.data.T @ out.grad
        """,
    sum="self.grad += np.ones_like(self.data) * out.grad",
)

BACKWARD = """
topo = []
visited = set()

def build(node):
    if node not in visited:
        visited.add(node)
        for child in node._prev:
            build(child)
        topo.append(node)

build(self)
self.grad = np.ones_like(self.data)
for node in reversed(topo):
    node._backward()
"""

STEP = """
model.zero_grad()
loss = model.data_loss(X, y)
loss.backward()
penalty = 0.5 * weight_decay * sum(np.sum(W.data ** 2) for W in model.weights())
for W in model.weights():
    W.grad += weight_decay * W.data
for p in model.parameters():
    p.data -= learning_rate * p.grad
return float(loss.data) + penalty
"""

STOPPING = """
history = []
best_accuracy, best_params, waited = -1.0, None, 0
for epoch in range(max_epochs):
    run_epoch(model)
    score = accuracy(model, *data["val"])
    history.append(score)
    if score > best_accuracy:
        best_accuracy, waited = score, 0
        best_params = [p.data.copy() for p in model.parameters()]
    else:
        waited += 1
        if waited >= patience:
            break
for p, saved in zip(model.parameters(), best_params):
    p.data = saved
return history
"""
