"""The bases of 02_backprop's submissions: the released cells with a student's code in them, and
a student's straightforward solutions, which the mistakes in ``backprop.py`` edit once each."""
from __future__ import annotations

from .submission import edit, fill, reference_cells

A2 = "02_backprop"


def _ref2(exercise):
    return reference_cells(A2)[exercise]


def neuron_cell(backward):
    """The released Neuron class with the student's backward body."""
    return fill(_ref2("neuron_backward"), backward)


def network_cell(init, forward, backward, train, prefix=""):
    """The released Network cell with the student's four method bodies; ``prefix`` above it."""
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


def network_edit(part, old, new):
    """The base Network with one edit in one method (part: 'init', 'forward', 'backward' or 'train')."""
    parts = {"init": NET_INIT, "forward": NET_FORWARD, "backward": NET_BACKWARD, "train": NET_TRAIN}
    parts[part] = edit(parts[part], old, new)
    return network_cell(parts["init"], parts["forward"], parts["backward"], parts["train"])


NETWORK_MATRIX = network_cell("""
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

NETWORK_HIDDEN_FIRST = network_cell("""
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

NETWORK_DEEPCOPY = network_cell("""
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
