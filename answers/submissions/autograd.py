"""The catalogue's submissions of 04_autograd: correct ones in different styles, and one per known mistake.

Each is written on the bases of ``autograd_bases.py``: a mistake is one edit of a straightforward solution.
"""
from __future__ import annotations

from .autograd_bases import (BACKWARD, STEP, STOPPING, VALUE, backward_cell, step_cell, stopping_cell,
                             value_cell)
from .submission import edit
from .vectorised import CORRECT_03


def _grad_check_of(name):
    """A correct grad_check of assignment 3's catalogue: assignment 4 asks for the same function."""
    return next(cells for style, _, cells in CORRECT_03 if style == name)["grad_check"]


CORRECT_04 = [
    ("04-correct-explicit", "grad = grad + share everywhere, np.where for relu, np.dot, an explicit broadcast for sum; "
     "an iterative depth-first search with a stack; grads set to zeros by hand and the updates written out; the best "
     "epoch's index and copy.deepcopy", {
         "grad_check": _grad_check_of("03-correct-einsum"),
         "value": value_cell(
             add="""
                 self.grad = self.grad + unbroadcast(out.grad, self.data.shape)
                 other.grad = other.grad + unbroadcast(out.grad, other.data.shape)
                 """,
             mul="""
                 self.grad = self.grad + unbroadcast(out.grad * other.data, self.data.shape)
                 other.grad = other.grad + unbroadcast(out.grad * self.data, other.data.shape)
                 """,
             pow="self.grad = self.grad + (n * self.data ** (n - 1)) * out.grad",
             exp="self.grad = self.grad + np.exp(self.data) * out.grad",
             log="self.grad = self.grad + (1.0 / self.data) * out.grad",
             tanh="self.grad = self.grad + (1 - np.tanh(self.data) ** 2) * out.grad",
             relu="self.grad = self.grad + np.where(self.data > 0, out.grad, 0.0)",
             matmul="""
                 self.grad = self.grad + np.dot(out.grad, other.data.T)
                 other.grad = other.grad + np.dot(self.data.T, out.grad)
                 """,
             sum="self.grad = self.grad + np.broadcast_to(out.grad, self.data.shape)"),
         "backward": backward_cell("""
             order, seen, stack = [], set(), [(self, False)]
             while stack:
                 node, expanded = stack.pop()
                 if expanded:
                     order.append(node)
                 elif id(node) not in seen:
                     seen.add(id(node))
                     stack.append((node, True))
                     for child in node._prev:
                         stack.append((child, False))
             self.grad = np.ones_like(self.data)
             for node in order[::-1]:
                 node._backward()
             """),
         "sgd_step": step_cell("""
             for p in model.parameters():
                 p.grad = np.zeros_like(p.data)
             e = model.data_loss(X, y)
             e.backward()
             L = float(e.data) + weight_decay / 2 * sum(np.sum(W.data * W.data) for W in model.weights())
             for W in model.weights():
                 W.data = W.data - learning_rate * (W.grad + weight_decay * W.data)
             for b in model.biases():
                 b.data = b.data - learning_rate * b.grad
             return L
             """),
         "early_stopping": stopping_cell("""
             history, best_epoch, kept = [], None, None
             for epoch in range(max_epochs):
                 run_epoch(model)
                 history.append(accuracy(model, data["val"][0], data["val"][1]))
                 if best_epoch is None or history[-1] > history[best_epoch]:
                     best_epoch, kept = epoch, copy.deepcopy([p.data for p in model.parameters()])
                 elif epoch - best_epoch >= patience:
                     break
             for p, saved in zip(model.parameters(), kept):
                 p.data = saved
             return history
             """, prefix="import copy\n\n"),
     }),
    ("04-correct-local-first", "the local derivative first, then += local·g; np.matmul; Kahn's algorithm "
     "(each node once all its users are done); p.grad *= 0 and a squared norm; a while loop and a dict of copies", {
         "grad_check": _grad_check_of("03-correct-loops"),
         "value": value_cell(
             add="""
                 g = out.grad
                 self.grad += unbroadcast(g, self.data.shape)
                 other.grad += unbroadcast(g, other.data.shape)
                 """,
             mul="""
                 local_self, local_other = other.data, self.data
                 self.grad += unbroadcast(local_self * out.grad, self.data.shape)
                 other.grad += unbroadcast(local_other * out.grad, other.data.shape)
                 """,
             pow="""
                 local = n * np.power(self.data, n - 1)
                 self.grad += local * out.grad
                 """,
             exp="""
                 local = out.data
                 self.grad += local * out.grad
                 """,
             log="""
                 local = 1.0 / self.data
                 self.grad += local * out.grad
                 """,
             tanh="""
                 local = 1.0 - out.data * out.data
                 self.grad += local * out.grad
                 """,
             relu="""
                 local = (self.data > 0).astype(float)
                 self.grad += local * out.grad
                 """,
             matmul="""
                 self.grad += np.matmul(out.grad, np.transpose(other.data))
                 other.grad += np.matmul(np.transpose(self.data), out.grad)
                 """,
             sum="self.grad += out.grad * np.ones(self.data.shape)"),
         "backward": backward_cell("""
             users, stack, seen = {}, [self], {id(self)}
             while stack:  # how many times each node is used, over the whole graph
                 node = stack.pop()
                 for child in node._prev:
                     users[id(child)] = users.get(id(child), 0) + 1
                     if id(child) not in seen:
                         seen.add(id(child))
                         stack.append(child)
             self.grad = np.ones_like(self.data)
             ready = [self]
             while ready:  # a node is ready once every use of it has passed its share back
                 node = ready.pop()
                 node._backward()
                 for child in node._prev:
                     users[id(child)] -= 1
                     if users[id(child)] == 0:
                         ready.append(child)
             """),
         "sgd_step": step_cell("""
             for p in model.parameters():
                 p.grad *= 0
             data_loss = model.data_loss(X, y)
             data_loss.backward()
             loss = float(data_loss.data)
             for W in model.weights():
                 loss += 0.5 * weight_decay * np.linalg.norm(W.data) ** 2
                 W.grad = W.grad + weight_decay * W.data
             for p in model.weights() + model.biases():
                 p.data -= learning_rate * p.grad
             return loss
             """),
         "early_stopping": stopping_cell("""
             history, best, saved, epochs_without = [], float("-inf"), {}, 0
             epoch = 0
             while epoch < max_epochs and epochs_without < patience:
                 run_epoch(model)
                 epoch += 1
                 X_val, y_val = data["val"]
                 current = accuracy(model, X_val, y_val)
                 history.append(current)
                 if current > best:
                     best, epochs_without = current, 0
                     saved = {k: p.data.copy() for k, p in enumerate(model.parameters())}
                 else:
                     epochs_without += 1
             for k, p in enumerate(model.parameters()):
                 p.data[...] = saved[k]
             return history
             """),
     }),
    ("04-correct-einsum", "np.einsum for @, np.heaviside for relu, np.add.at-free unbroadcast calls on a product; "
     "a recursive order returned as lists; the L2 term folded into the update; bad epochs counted to patience", {
         "grad_check": _grad_check_of("03-correct-copies"),
         "value": value_cell(
             add="""
                 for node in (self, other):
                     node.grad += unbroadcast(out.grad, node.data.shape)
                 """,
             mul="""
                 for node, partner in ((self, other), (other, self)):
                     node.grad += unbroadcast(np.multiply(partner.data, out.grad), node.data.shape)
                 """,
             pow="self.grad += out.grad * n * self.data ** (n - 1.0)",
             exp="self.grad += np.multiply(out.grad, out.data)",
             log="self.grad += np.divide(out.grad, self.data)",
             tanh="self.grad += out.grad - out.grad * out.data ** 2",
             relu="self.grad += np.heaviside(self.data, 0.0) * out.grad",
             matmul="""
                 self.grad += np.einsum("nm,dm->nd", out.grad, other.data)
                 other.grad += np.einsum("nd,nm->dm", self.data, out.grad)
                 """,
             sum="self.grad += np.zeros_like(self.data) + out.grad"),
         "backward": backward_cell("""
             def ordered(node, seen):
                 if node in seen:
                     return []
                 seen.add(node)
                 found = []
                 for child in node._prev:
                     found += ordered(child, seen)
                 return found + [node]

             nodes = ordered(self, set())
             self.grad = np.ones(self.data.shape)
             for node in nodes[::-1]:
                 node._backward()
             """),
         "sgd_step": step_cell("""
             model.zero_grad()
             e = model.data_loss(X, y)
             e.backward()
             penalty = sum(0.5 * weight_decay * float(np.einsum("ij,ij->", W.data, W.data)) for W in model.weights())
             for W, b in zip(model.weights(), model.biases()):
                 W.data -= learning_rate * W.grad + learning_rate * weight_decay * W.data
                 b.data -= learning_rate * b.grad
             return float(e.data) + penalty
             """),
         "early_stopping": stopping_cell("""
             history, best, best_params, bad_epochs = [], -np.inf, [], 0
             for _ in range(max_epochs):
                 run_epoch(model)
                 history.append(accuracy(model, *data["val"]))
                 if history[-1] > best:
                     best, bad_epochs = history[-1], 0
                     best_params = [np.array(p.data, copy=True) for p in model.parameters()]
                     continue
                 bad_epochs += 1
                 if bad_epochs == patience:
                     break
             for p, saved in zip(model.parameters(), best_params):
                 p.data = saved.copy()
             return history
             """),
     }),
]


def _value_with(**changed):
    return value_cell(**{**VALUE, **changed})


#: (name, description, exercise, code, cell source)
MISTAKES_04 = [
    # Exercise 2: the local backward of each operation
    ("04-value-assign-not-add", "self.grad = … in every operation, not +=", "value", "grad-overwritten",
     value_cell(**{op: body.replace("+=", "=") for op, body in VALUE.items()})),
    ("04-value-exp-without-upstream", "exp's backward adds out.data, not out.data · out.grad", "value",
     "upstream-gradient-dropped", _value_with(exp="self.grad += out.data")),
    ("04-value-no-unbroadcast", "+ and * add out.grad's shares as they are, a broadcast operand's too", "value",
     "broadcast-not-summed", _value_with(add="""
         self.grad += out.grad
         other.grad += out.grad
         """, mul="""
         self.grad += other.data * out.grad
         other.grad += self.data * out.grad
         """)),
    ("04-value-power-exponent-kept", "∂(aⁿ)/∂a as n·aⁿ, the exponent not lowered", "value", "power-rule-off-by-one",
     _value_with(pow="self.grad += n * self.data ** n * out.grad")),
    ("04-value-tanh-of-input", "tanh′ as 1 − a², of the input", "value", "tanh-derivative-of-input",
     _value_with(tanh="self.grad += (1 - self.data ** 2) * out.grad")),
    ("04-value-relu-by-relu", "relu's backward multiplies out.grad by relu(a) itself", "value", "relu-derivative-wrong",
     _value_with(relu="self.grad += out.data * out.grad")),
    # Exercise 3: backward()
    ("04-backward-not-reversed", "the _backward of each node in the topological order itself, leaves first",
     "backward", "topological-order-wrong", backward_cell(edit(BACKWARD, "for node in reversed(topo):", "for node in topo:"))),
    ("04-backward-breadth-first", "the nodes taken from a queue, nearest the root first", "backward",
     "topological-order-wrong", backward_cell("""
         self.grad = np.ones_like(self.data)
         queue, seen = [self], {self}
         while queue:
             node = queue.pop(0)
             node._backward()
             for child in node._prev:
                 if child not in seen:
                     seen.add(child)
                     queue.append(child)
         """)),
    ("04-backward-no-visited-set", "the depth-first search without a set: a node reached twice is ordered twice",
     "backward", "node-visited-twice", backward_cell("""
         topo = []

         def build(node):
             for child in node._prev:
                 build(child)
             topo.append(node)

         build(self)
         self.grad = np.ones_like(self.data)
         for node in reversed(topo):
             node._backward()
         """)),
    ("04-backward-not-seeded", "the root's gradient left at 0", "backward", "backward-not-seeded",
     backward_cell(edit(BACKWARD, "self.grad = np.ones_like(self.data)", ""))),
    # Exercise 4: a training step with L2 weight decay
    ("04-step-grads-not-zeroed", "no model.zero_grad(): each step adds its gradient to the last", "sgd_step",
     "grads-not-zeroed", step_cell(edit(STEP, "model.zero_grad()", ""))),
    ("04-step-l2-twice-lambda", "the penalty λ·Σ‖W‖² and its gradient 2λ·W", "sgd_step", "l2-gradient-factor",
     step_cell(edit(edit(STEP, "penalty = 0.5 * weight_decay *", "penalty = weight_decay *"),
                "W.grad += weight_decay * W.data", "W.grad += 2 * weight_decay * W.data"))),
    ("04-step-l2-on-biases", "λ·θ added to every parameter's gradient, the biases' too", "sgd_step", "l2-on-biases",
     step_cell(edit(edit(STEP, "for W in model.weights():\n    W.grad += weight_decay * W.data",
                     "for p in model.parameters():\n    p.grad += weight_decay * p.data"),
                "sum(np.sum(W.data ** 2) for W in model.weights())",
                "sum(np.sum(p.data ** 2) for p in model.parameters())"))),
    # Exercise 5: early stopping
    ("04-stopping-on-training-set", "the accuracy after each epoch measured on data['train']", "early_stopping",
     "evaluated-on-training-set", stopping_cell(edit(STOPPING, 'accuracy(model, *data["val"])',
                                                 'accuracy(model, *data["train"])'))),
    ("04-stopping-on-test-set", "the epoch chosen on data['test']", "early_stopping", "selected-on-test-set",
     stopping_cell(edit(STOPPING, 'accuracy(model, *data["val"])', 'accuracy(model, *data["test"])'))),
    ("04-stopping-patience-plus-one", "stops when waited > patience", "early_stopping", "patience-off-by-one",
     stopping_cell(edit(STOPPING, "if waited >= patience:", "if waited > patience:"))),
    ("04-stopping-references-saved", "the best parameters saved as references, p.data, which training then changes",
     "early_stopping", "best-not-restored",
     stopping_cell(edit(STOPPING, "best_params = [p.data.copy() for p in model.parameters()]",
                    "best_params = [p.data for p in model.parameters()]"))),
]
