"""Recording what the stand-ins of a scenario answer (``backprop_course.checks.standins`` plays it back).

The reference's loops (train(), a network's forward and backward, sgd_epoch) run on recording
neurons or layers, which compute with the lecture's equations and note every call: once as the
lecture gives the loop, and once for each known mistake *of the loop* (the deviations of the
equations a loop applies around its neurons or layers: which samples, how many epochs, which
weights are propagated, which η is passed on, how a batch steps). A student's loop, correct or
with a known mistake, then asks the stand-ins only what they can answer. Mistakes inside a
neuron or a layer are no loop's: the stand-ins never make them.
"""
from __future__ import annotations

import numpy as np

from .deviations import TABLE
from .reference import LAYERS, Equations, Neuron, batch_layers

#: the equations a training loop applies around its neurons (``reference.backward``, ``train``, ``epoch``)
NEURON_LOOP = {"epochs", "samples", "online_step", "output_targets", "propagated_weights", "passed_back",
               "sample_loss", "recorded_loss", "epoch_loss", "epoch_recorded", "learning_rate"}
#: the equations sgd_epoch applies around its layers (``reference.sgd_epoch``)
BATCH_LOOP = {"working_params", "shuffled", "batches", "batch_order", "step_size", "sgd_step", "epoch_batch_loss",
              "through_relu", "propagated_layer", "recorded_batch_loss"}
#: the equations a stand-in neuron computes (trusted: a loop on stand-ins cannot get them wrong)
NEURON = {"net", "phi", "sigmoid", "relu", "phi_prime", "sigmoid_prime", "relu_prime", "derivative_for",
          "output_delta", "backpropagated", "hidden_delta", "weight_step", "bias_step", "given_or_random"}
#: the equations the stand-in layers compute (``reference.batch_layers``)
LAYER = {"batch_net", "input_gradient", "weight_gradient", "bias_gradient", "relu_backward", "phi", "relu",
         "relu_prime", "softmax", "log_softmax", "cross_entropy", "softmax_gradient"}
#: the equations of a gradient check around the function it is given (``reference.grad_check``)
GRAD_CHECK = {"finite_step", "displaced", "difference_quotient", "entry_after"}


def loop_equations(loop):
    """The lecture's loop, then each known mistake of it: Equations with only the deviations in ``loop``."""
    yield Equations()
    seen = set()
    for entry in TABLE:
        for deviation in entry.deviations:
            own = {name: wrong for name, wrong in deviation.items() if name in loop}
            if own and tuple(sorted((k, id(v)) for k, v in own.items())) not in seen:
                seen.add(tuple(sorted((k, id(v)) for k, v in own.items())))
                yield Equations(**own)


def _floats(value):
    return None if value is None else np.asarray(value, dtype=float).reshape(-1).tolist()


# --- neurons ----------------------------------------------------------------------------------

class NeuronRecord:
    """All that one neuron is asked, over every run: its states, forward() and backward() in each."""

    def __init__(self, activation):
        self.activation, self.states, self._index = activation, [], {}
        self.forward, self.backward = {}, {}

    def state(self, weights, bias):
        """The index of the neuron state (weights (I,), bias), added when new."""
        key = (tuple(np.asarray(weights, float).tolist()), float(bias))
        if key not in self._index:
            self._index[key] = len(self.states)
            self.states.append([list(key[0]), key[1]])
        return self._index[key]

    def data(self):
        """The recording as JSON data: the activation, the states, and the forward and backward
        calls answered in them."""
        return {"activation": self.activation, "states": self.states, "forward": list(self.forward.values()),
                "backward": list(self.backward.values())}


class _OverBudget(Exception):
    """A known mistake's loop runs far longer than the lecture's (train() ignoring its epochs)."""


class RecordingNeuron(Neuron):
    """A reference neuron (the lecture's equations) that notes each call in its record.

    budget: a list holding the calls still allowed in this run; past it the run stops (a
    stand-in that runs out of recorded calls answers nan, and the check names the mistake by
    the length of what the loop returned).
    """

    def __init__(self, record, weights, bias, budget=None):
        super().__init__(len(weights), np.array(weights, float), float(bias), record.activation)
        self.record, self.budget = record, budget

    def _spend(self):
        if self.budget is not None:
            self.budget[0] -= 1
            if self.budget[0] < 0:
                raise _OverBudget

    def forward(self, x):
        """The reference neuron's forward(x), recorded for the state it ran in."""
        self._spend()
        state = self.record.state(self.weights, self.bias)
        o = super().forward(x)
        self.record.forward.setdefault((state, tuple(_floats(x))), [state, _floats(x), float(self.net), float(o)])
        return o

    def backward(self, t=None, y_hat=None, delta_l=None, w_l=None, learning_rate=0.1, output_neuron=False):
        """The reference neuron's backward, recorded with its arguments and the state it reached."""
        self._spend()
        state = self.record.state(self.weights, self.bias)
        super().backward(t, y_hat, delta_l, w_l, learning_rate, output_neuron)
        after = self.record.state(self.weights, self.bias)
        arguments = {"t": None if t is None else float(t), "y_hat": None if y_hat is None else float(y_hat),
                     "delta_l": _floats(delta_l), "w_l": _floats(w_l), "learning_rate": float(learning_rate),
                     "output_neuron": bool(output_neuron)}
        key = (state, tuple(self.o_i.tolist()), repr(sorted(arguments.items())))
        self.record.backward.setdefault(key, [state, self.o_i.tolist(), arguments, float(self.delta_j), after])


def neurons(net, theta, drive, inputs=()):
    """The records of the neurons of a two-layer net holding θ (hidden ones, then outputs), after
    ``drive(hidden, outputs, equations)`` ran the lecture's loop and each known mistake of it.

    inputs: samples every hidden neuron is also asked forward() on, in every state it reaches (a
    loop may take a sample's loss again, with the weights as they are then).
    """
    W1, b1, W2, b2 = net.unpack(theta)
    hidden = [NeuronRecord(net.activation) for _ in range(net.J)]
    outputs = [NeuronRecord(net.activation) for _ in range(net.L)]
    budget = None
    for eq in loop_equations(NEURON_LOOP):
        spent = [budget if budget is not None else 10 ** 9]
        h = [RecordingNeuron(hidden[j], W1[j], b1[j], spent) for j in range(net.J)]
        o = [RecordingNeuron(outputs[l], W2[l], b2[l], spent) for l in range(net.L)]
        try:
            drive(h, o, eq)
        except _OverBudget:
            pass
        if budget is None:  # the lecture's loop, first: a mistake's loop may make 4 times its calls
            budget = 4 * (10 ** 9 - spent[0]) + 10
    for record in hidden:
        for weights, bias in list(record.states):
            for x in inputs:
                RecordingNeuron(record, weights, bias).forward(x)
    return [record.data() for record in hidden + outputs]


# --- batch layers -----------------------------------------------------------------------------

def _key(arrays):
    return tuple((np.shape(a), np.asarray(a, float).tobytes()) for a in arrays)


def layers(run):
    """{layer name: [[inputs, outputs], …]} of the layers ``run(layer_functions, equations)`` calls,
    for the lecture's sgd_epoch and each known mistake of its loop."""
    tables = {name: {} for name in LAYERS}
    for eq in loop_equations(BATCH_LOOP):
        trusted = batch_layers()

        def recording(name):
            def call(*args):
                result = trusted[name](*args)
                flat = [args[0], *args[1]] if name == "dense_backward" else list(args)
                outputs = {"dense_forward": lambda r: [r[0]], "relu_forward": lambda r: [r[0]],
                           "relu_backward": lambda r: [r], "softmax_cross_entropy": lambda r: [r[0], r[1]],
                           "dense_backward": lambda r: list(r)}[name](result)
                tables[name].setdefault(_key(flat), [[np.asarray(a, float).tolist() for a in flat],
                                                     [np.asarray(v, float).tolist() for v in outputs]])
                return result
            return call

        run({name: recording(name) for name in LAYERS}, eq)
    return {name: list(table.values()) for name, table in tables.items()}


# --- a function of an array -------------------------------------------------------------------

def points(f, run):
    """[[x, f(x)], …] of the points ``run(recording_f, equations)`` evaluates f at, for the
    lecture's gradient check and each known mistake of it (and x itself, which a one-sided
    difference takes)."""
    table = {}

    def recording(x):
        value = f(np.array(x, dtype=float))
        table.setdefault(np.asarray(x, float).tobytes(), [np.asarray(x, float).reshape(-1).tolist(), float(value)])
        return value

    for eq in loop_equations(GRAD_CHECK):
        run(recording, eq)
    return list(table.values())
