"""The catalogue's submissions of 02_backprop: correct ones in different styles, and one per known mistake.

Each is written on the bases of ``backprop_bases.py``: a mistake is one edit of a straightforward solution.
"""
from __future__ import annotations

from .backprop_bases import (BACKWARD, BACKWARD_LOOPS, BACKWARD_NUMPY, BACKWARD_UPDATE_FIRST, NET_BACKWARD, NET_FORWARD,
                             NET_INIT, NETWORK_DEEPCOPY, NETWORK_HIDDEN_FIRST, NETWORK_MATRIX, TRAIN, TRAIN_DEEPCOPY,
                             TRAIN_HIDDEN_FIRST, TRAIN_INDEXED, network_cell, network_edit, neuron_cell)
from .submission import edit

CORRECT_02 = [
    ("02-correct-numpy", "arrays throughout: np.where for ReLU′, np.sum(δ_l·w_l), weights copied as an array; "
     "Network keeps W (L×J) before the update", {
         "neuron_backward": neuron_cell(BACKWARD_NUMPY),
         "train_multi_sample": TRAIN_INDEXED,
         "multi_output_network": NETWORK_MATRIX}),
    ("02-correct-loops", "plain loops: sum of δ_l·w_l in a loop, weights updated in place as a list; train and "
     "Network compute the output δ by hand and update the hidden neurons first", {
         "neuron_backward": neuron_cell(BACKWARD_LOOPS),
         "train_multi_sample": TRAIN_HIDDEN_FIRST,
         "multi_output_network": NETWORK_HIDDEN_FIRST}),
    ("02-correct-update-first", "np.matmul for Σ δ_l·w_l, the update before self.delta_j is stored; "
     "copy.deepcopy of the old weights in train and Network", {
         "neuron_backward": neuron_cell(BACKWARD_UPDATE_FIRST),
         "train_multi_sample": TRAIN_DEEPCOPY,
         "multi_output_network": NETWORK_DEEPCOPY}),
]

# Exercise 1 written as lecture 4 writes it: the vector update on self.weights and self.o_i as they
# are, relying on the given constructor and forward to store numpy arrays (the tests pass lists).
CORRECT_02 += [
    ("02-correct-lecture-4", "lecture 4's backward: ∂e/∂o then φ′, self.weights − η·δ·self.o_i on the given arrays", {
        "neuron_backward": neuron_cell("""
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
        "neuron_backward": neuron_cell("""
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
        "neuron_backward": neuron_cell("""
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
    ("02-neuron-update-sign", "w + η·δ·o_i and b + η·δ", "neuron_backward", "update-sign", neuron_cell(edit(edit(
        BACKWARD, "w - learning_rate * delta_j * o", "w + learning_rate * delta_j * o"),
        "self.bias - learning_rate * delta_j", "self.bias + learning_rate * delta_j"))),
    ("02-neuron-bias-not-updated", "the bias line forgotten", "neuron_backward", "bias-not-updated",
     neuron_cell(edit(BACKWARD, "self.bias = self.bias - learning_rate * delta_j", ""))),
    ("02-neuron-learning-rate-0.1", "η hard-coded as 0.1", "neuron_backward", "learning-rate-ignored",
     neuron_cell(edit(edit(BACKWARD, "w - learning_rate * delta_j * o", "w - 0.1 * delta_j * o"),
                   "self.bias - learning_rate * delta_j", "self.bias - 0.1 * delta_j"))),
    ("02-neuron-learning-rate-one", "the step without η (η = 1)", "neuron_backward", "learning-rate-ignored",
     neuron_cell(edit(edit(BACKWARD, "w - learning_rate * delta_j * o", "w - delta_j * o"),
                   "self.bias - learning_rate * delta_j", "self.bias - delta_j"))),
    ("02-neuron-output-delta-sign", "output δ = (t − ŷ)·φ′", "neuron_backward", "output-delta-sign",
     neuron_cell(edit(BACKWARD, "(y_hat - t) * phi_prime", "(t - y_hat) * phi_prime"))),
    ("02-neuron-output-delta-no-phi-prime", "output δ = ŷ − t", "neuron_backward", "output-delta-no-phi-prime",
     neuron_cell(edit(BACKWARD, "delta_j = (y_hat - t) * phi_prime", "delta_j = y_hat - t"))),
    ("02-neuron-relu-sigmoid-derivative", "φ′ = o(1 − o) for every activation", "neuron_backward",
     "relu-with-sigmoid-derivative", neuron_cell(edit(BACKWARD, """
        if self.activation_name == 'sigmoid':
            phi_prime = self.o_j * (1 - self.o_j)
        else:
            phi_prime = 1.0 if self.net > 0 else 0.0
        """, "phi_prime = self.o_j * (1 - self.o_j)"))),
    ("02-neuron-derivative-of-net", "sigmoid φ′ = net(1 − net)", "neuron_backward", "derivative-of-net",
     neuron_cell(edit(BACKWARD, "phi_prime = self.o_j * (1 - self.o_j)", "phi_prime = self.net * (1 - self.net)"))),
    ("02-neuron-hidden-no-phi-prime", "hidden δ_j = np.dot(δ_l, w_l), bug (b) of the original code",
     "neuron_backward", "hidden-delta-no-phi-prime",
     neuron_cell(edit(BACKWARD, "delta_j = np.dot(delta_l, w_l) * phi_prime", "delta_j = np.dot(delta_l, w_l)"))),
    ("02-neuron-hidden-last-output-only", "a loop over the outputs that overwrites δ_j instead of adding up",
     "neuron_backward", "only-one-output-delta", neuron_cell(edit(
         BACKWARD, "delta_j = np.dot(delta_l, w_l) * phi_prime",
         "for d, w in zip(delta_l, w_l):\n        delta_j = d * w * phi_prime"))),
    ("02-neuron-hidden-mean", "hidden δ_j with np.mean over the outputs", "neuron_backward", "averaged-over-outputs",
     neuron_cell(edit(BACKWARD, "np.dot(delta_l, w_l) * phi_prime", "np.mean(np.multiply(delta_l, w_l)) * phi_prime"))),
    ("02-neuron-activation-compared-to-its-name", "`if self.activation == 'sigmoid'`, as the seed lecture's code "
     "tested it: self.activation is a function, so every neuron takes ReLU's φ′", "neuron_backward",
     "sigmoid-branch-never-taken", neuron_cell(edit(BACKWARD, "if self.activation_name == 'sigmoid':",
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
     "multi_output_network", "updated-weights-propagated", network_edit("backward", """
        for j, neuron in enumerate(self.hidden):
            neuron.backward(delta_l=delta_l, w_l=[w[j] for w in w_jl], learning_rate=learning_rate)
        """, """
        for j, neuron in enumerate(self.hidden):
            neuron.backward(delta_l=delta_l, w_l=[out.weights[j] for out in self.outputs], learning_rate=learning_rate)
        """)),
    ("02-network-first-output-only", "Exercise 2's driver kept: only the first output's δ goes back",
     "multi_output_network", "only-one-output-delta", network_edit(
         "backward", "delta_l=delta_l, w_l=[w[j] for w in w_jl]", "delta_l=[delta_l[0]], w_l=[w_jl[0][j]]")),
    ("02-network-own-output-only", "hidden neuron j takes the δ of \"its own\" output j only, with w_jj",
     "multi_output_network", "only-one-output-delta", network_edit(
         "backward", "delta_l=delta_l, w_l=[w[j] for w in w_jl]", "delta_l=[delta_l[j]], w_l=[w_jl[j][j]]")),
    ("02-network-first-target", "every output neuron trained towards t[0]", "multi_output_network", "wrong-target",
     network_edit("backward", "neuron.backward(t=t_l, y_hat=o_l", "neuron.backward(t=t[0], y_hat=o_l")),
    ("02-network-loss-mean-over-outputs", "sample loss ½·mean over the outputs", "multi_output_network",
     "loss-not-summed-over-outputs", network_edit("train", "0.5 * np.sum(", "0.5 * np.mean(")),
    ("02-network-learning-rate-not-passed", "Network.backward does not pass learning_rate on to the neurons",
     "multi_output_network", "learning-rate-ignored", network_edit("backward", """
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
     "loss-after-update", network_edit(
         "train", "losses.append(0.5 * np.sum((np.asarray(t) - o_l) ** 2))\n        self.backward(t, learning_rate=learning_rate)",
         "self.backward(t, learning_rate=learning_rate)\n        losses.append(0.5 * np.sum((np.asarray(t) - self.forward(x)) ** 2))")),
    ("02-network-mse-loss", "the sample loss as the libraries' mean squared error, np.mean((t − o_l)²)",
     "multi_output_network", "loss-not-summed-over-outputs", network_edit(
         "train", "0.5 * np.sum((np.asarray(t) - o_l) ** 2)", "np.mean((np.asarray(t) - o_l) ** 2)")),
    ("02-network-off-by-one", "for i in range(len(inputs) - 1): the last sample is never seen",
     "multi_output_network", "subset-of-samples", network_edit(
         "train", "for x, t in zip(inputs, targets):",
         "for i in range(len(inputs) - 1):\n        x, t = inputs[i], targets[i]")),
    ("02-network-total-not-reset", "a running `total = 0.0` set once, before the epoch loop",
     "multi_output_network", "losses-not-reset", network_cell(NET_INIT, NET_FORWARD, NET_BACKWARD, """
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
