"""The stand-ins the checks of 04_autograd hand the student's code, so that a mistake in an earlier
exercise costs its points there only: they answer recorded states, and compute nothing.

- sgd_step() steps a ``StandInModel``: its ``data_loss(X, y)`` answers the loss and the gradients
  recorded for the parameters a correct step, or a known mistaken one, reaches;
- early_stopping() trains a ``StandInRun``'s ``TrajectoryModel`` through its ``run_epoch``: the
  parameters of a recorded trajectory, epoch after epoch, and their recorded logits on each split.

What the student's code asks that no correct solution asks is noted in ``misses`` (``standins.Misses``).
"""
from __future__ import annotations

import numpy as np

from . import standins


def flat(arrays):
    """The arrays' numbers as one float vector θ, in order (empty: shape (0,))."""
    return np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays]) if arrays else np.zeros(0)


class StandInParameter:
    """A parameter as sgd_step sees it: .data and .grad, arrays of one shape."""

    def __init__(self, data):
        self.data = np.array(data, dtype=float)
        self.grad = np.zeros_like(self.data)


class StandInOutput:
    """What the stand-in model returns: .data, and backward(), which adds recorded gradients to .grad."""

    def __init__(self, data, parameters=(), gradients=()):
        self.data = np.asarray(data, dtype=float)
        self._parameters, self._gradients = parameters, gradients

    def backward(self):
        """Add the recorded gradients to the parameters' .grad (each of its parameter's shape)."""
        for p, g in zip(self._parameters, self._gradients):
            p.grad = g if p.grad is None else p.grad + g


class StandInLayers:
    """The MLP contract's parameter methods over ``self.layers``, [(W, b)] of stand-in parameters."""

    def weights(self):
        """The weight parameters W of each layer, (n_in, n_out) each."""
        return [W for W, _ in self.layers]

    def biases(self):
        """The bias parameters b of each layer, (n_out,) each."""
        return [b for _, b in self.layers]

    def parameters(self):
        """Every parameter, layer by layer: W then b."""
        return [p for layer in self.layers for p in layer]

    def zero_grad(self):
        """Set every parameter's .grad to zeros of its shape."""
        for p in self.parameters():
            p.grad = np.zeros_like(p.data)


class StandInModel(StandInLayers):
    """The MLP's contract (weights, biases, parameters, zero_grad, data_loss), answering the states a
    correct sgd_step, or a known mistaken one, reaches: recorded [θ, loss, ∂loss/∂θ]."""

    def __init__(self, s, recorded, misses):
        self.layers = [(StandInParameter(W), StandInParameter(b)) for W, b in s["params"]]
        self._X, self._y, self._misses = np.array(s["X"], dtype=float), np.array(s["y"]), misses
        self._states = np.array([theta for theta, _, _ in recorded["states"]], dtype=float)
        self._answers = [(loss, grads) for _, loss, grads in recorded["states"]]

    def __call__(self, X):
        self._misses.note("sgd_step called model(X): its graph is model.data_loss(X, y), the mean cross-entropy")
        return StandInOutput(np.full((len(self._y), np.shape(self.layers[-1][0].data)[1]), np.nan))

    def data_loss(self, X, y):
        """The recorded mean cross-entropy for the parameters' current θ, as an output whose
        backward() adds the recorded ∂loss/∂θ; nan and a miss for other samples or an unknown θ."""
        parameters = self.parameters()
        nan = [np.full(np.shape(p.data), np.nan) for p in parameters]
        if np.shape(X) != self._X.shape or not np.allclose(X, self._X) or not np.array_equal(np.ravel(y), self._y):
            self._misses.note("sgd_step passed model.data_loss other samples than its own X and y")
            return StandInOutput(np.nan, parameters, nan)
        theta = flat([p.data for p in parameters])
        hits = [k for k, state in enumerate(self._states) if state.shape == theta.shape
                and np.allclose(state, theta, rtol=standins.RTOL, atol=standins.ATOL)]
        if not hits:
            self._misses.note("the parameters reached a state no correct sgd_step, nor a known mistaken one, reaches: "
                              "compare your update with the formula")
            return StandInOutput(np.nan, parameters, nan)
        loss, grads = self._answers[hits[0]]
        sizes = np.cumsum([p.data.size for p in parameters])[:-1]
        return StandInOutput(loss, parameters, [g.reshape(np.shape(p.data)) for g, p in
                                          zip(np.split(np.array(grads, dtype=float), sizes), parameters)])


class StandInRun:
    """The model and run_epoch of an early-stopping scenario: a recorded trajectory of parameters (one
    state per epoch) and each state's recorded logits on each split; nothing is computed."""

    def __init__(self, s, recorded, misses):
        self._states = [np.array(theta, dtype=float) for theta in recorded["states"]]
        self._logits = recorded["logits"]
        self._data = {name: (np.array(s["data"][name][0], dtype=float), np.array(s["data"][name][1]))
                      for name in ("train", "val", "test")}
        self._misses, self.epochs_run = misses, 0
        self.model = TrajectoryModel(self, s["shapes"])
        self.model._enter(self._states[0])

    def data(self):
        """{"train": (X, y), "val": …, "test": …}: the scenario's splits, X (N, D) and y (N,)."""
        return dict(self._data)

    def state(self):
        """The index of the recorded epoch whose θ the model holds now, or None."""
        theta = flat([p.data for p in self.model.parameters()])
        for k, state in enumerate(self._states):
            if state.shape == theta.shape and np.allclose(state, theta, rtol=standins.RTOL, atol=standins.ATOL):
                return k
        return None

    def run_epoch(self, model):
        """One epoch of training: the model's parameters become the next recorded state (in place);
        a miss for another model, or parameters of no epoch."""
        if model is not self.model:
            self._misses.note("run_epoch was given another model than early_stopping's")
            return None
        self.epochs_run += 1
        k = self.state()
        if k is None or k + 1 >= len(self._states):
            self._misses.note("run_epoch was called on parameters no epoch of this training has "
                              + ("(they were changed before training ended)" if k is None else "(after the last epoch)"))
            self.model._enter(np.full_like(self._states[0], np.nan))
            return None
        self.model._enter(self._states[k + 1])
        return None

    def logits(self, X):
        """The recorded logits (N, C) of the model's current state on the split X is; nan and a miss
        for other samples or an unknown state."""
        k = self.state()
        for name, (data, _) in self._data.items():
            if np.shape(X) == data.shape and np.array_equal(np.asarray(X, dtype=float), data):
                if k is not None:
                    return np.array(self._logits[k][name], dtype=float)
                self._misses.note("the model was asked for its outputs with parameters no epoch of this training has")
                return np.full((len(data), np.shape(self._logits[0][name])[1]), np.nan)
        self._misses.note("the model was asked for its outputs on samples that are none of data's three splits")
        return np.full((len(np.atleast_2d(X)), np.shape(self._logits[0]["val"])[1]), np.nan)


class TrajectoryModel(StandInLayers):
    """The model early_stopping is given: parameters (.data, .grad), and model(X) → an output with .data."""

    def __init__(self, run, shapes):
        self._run = run
        self.layers = [(StandInParameter(np.zeros(w)), StandInParameter(np.zeros(b))) for w, b in shapes]

    def _enter(self, theta):
        sizes = np.cumsum([p.data.size for p in self.parameters()])[:-1]
        for p, part in zip(self.parameters(), np.split(np.asarray(theta, dtype=float), sizes)):
            p.data[...] = part.reshape(p.data.shape)  # in place, as a training step changes them

    def __call__(self, X):
        return StandInOutput(self._run.logits(X))
