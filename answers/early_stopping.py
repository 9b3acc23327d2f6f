"""The cases of 04_autograd's early-stopping check: a recorded training of a few epochs, whose
validation curve makes each known mistake (choosing on the training or test split, patience off
by one, the best parameters not restored) stop at an epoch of its own.

Right values come from the reference (``reference_autograd.early_stopping``) on the recorded
trajectory; what the probe hands the student's code in place of training is the trajectory of
parameters and their logits on each split (``backprop_course/checks/autograd_standins.py`` plays it back).
"""
from __future__ import annotations

import numpy as np

from backprop_course.checks.core import Case
from backprop_course.checks.observed import plain

from . import reference_autograd as ra
from .cases import Unsound, chain, each_named, register, same_values, suspects
from .deviations import TABLE
from .reference import Equations


#: the codes of early stopping's mistakes, which every scenario must name (``each_named``)
STOPPING_CODES = ("evaluated-on-training-set", "selected-on-test-set", "patience-off-by-one", "best-not-restored")


def _curves(rng, epochs, patience, n):
    """Accuracies per epoch, multiples of 1/n: validation rising to one highest epoch (index ``peak``) and
    below it after, training rising, test highest at a neighbour of ``peak``."""
    peak = int(rng.integers(1, max(2, min(epochs - patience - 1, n // 2 - 3))))
    val = np.empty(epochs)
    val[:peak + 1] = np.sort(rng.choice(np.arange(n // 2, n - 2), peak + 1, replace=False))
    val[peak + 1:] = rng.choice(np.arange(n // 2, int(val[peak])), epochs - peak - 1)
    train = np.sort(rng.choice(np.arange(n // 2, n + 1), epochs, replace=False)) if epochs <= n // 2 + 1 else \
        np.sort(rng.choice(np.arange(n // 2, n + 1), epochs))
    test = val.copy()
    test[peak + 1] = min(n, val[peak] + 2)
    return train / n, val / n, test / n


def stopped(val, patience):
    """The definition, apart from the reference: (epochs run, the best epoch's index) of early stopping on the
    validation accuracies ``val``: the first of the highest so far, stop when patience epochs bring no higher."""
    best, best_epoch = -1.0, 0
    for epoch, accuracy in enumerate(val):
        if accuracy > best:
            best, best_epoch = accuracy, epoch
        elif epoch - best_epoch >= patience:
            return epoch + 1, best_epoch
    return len(val), best_epoch


def _logits(rng, accuracy, y, classes):
    """Logits whose argmax is right for round(accuracy·N) samples: the true class, else the next one."""
    right = np.zeros(len(y), bool)
    right[rng.permutation(len(y))[:int(round(accuracy * len(y)))]] = True
    chosen = np.where(right, y, (y + 1) % classes)
    logits = rng.normal(0, 0.3, (len(y), classes))
    logits[np.arange(len(y)), chosen] += 3.0
    return logits


@register("check_early_stopping")
def early_stopping_case(*, seed=0, max_epochs=12, patience=3, n=40, classes=3, shapes=((2, 3), (3, 3))):
    """A recorded training of ``max_epochs`` epochs on n samples per split: each epoch's parameters (random)
    and their logits, made to give designed accuracies, where each known mistake stops elsewhere."""
    rng = np.random.default_rng(seed)
    shapes = [[list(w), [w[1]]] for w in (tuple(int(k) for k in shape) for shape in shapes)]
    size = sum(int(np.prod(w)) + b[0] for w, b in shapes)
    data = {name: (rng.normal(0, 1, (n, 2)).round(3), rng.integers(0, classes, n)) for name in ("train", "val", "test")}
    deviations = [(entry.code, Equations(**d)) for entry in TABLE if entry.code in STOPPING_CODES
                  for d in entry.deviations]
    for _ in range(500):
        train, val, test = _curves(rng, max_epochs, patience, n)
        curves = {"train": train, "val": val, "test": test}
        states = [rng.normal(0, 1, size) for _ in range(max_epochs + 1)]
        logits = [{name: _logits(rng, curves[name][k - 1], data[name][1], classes) if k else
                   _logits(rng, 0.3, data[name][1], classes) for name in data} for k in range(max_epochs + 1)]
        s = {"data": {name: [plain(X), y.tolist()] for name, (X, y) in data.items()}, "shapes": shapes,
             "max_epochs": int(max_epochs), "patience": int(patience)}
        replay = _stopping_replay(s, states, logits, data)
        epochs, best = stopped(val, patience)
        if epochs >= max_epochs:
            continue  # early stopping must stop early here, or its patience goes untested
        right = {"history": val[:epochs].tolist(), "final": states[best + 1]}
        if not all(same_values(replay(Equations())[key], right[key]) for key in right):
            raise AssertionError("the reference's early stopping disagrees with its definition")
        played = [(code, replay(eq)) for code, eq in deviations]
        if each_named(played, right, ["history", "final"]):
            return Case(s, right, suspects(replay), {"states": [x.tolist() for x in states],
                                                     "logits": [{k: v.tolist() for k, v in e.items()} for e in logits]})
    raise Unsound(f"no early-stopping scenario of {max_epochs} epochs and patience {patience} tells its mistakes apart")


def _stopping_replay(s, states, logits, data):
    """replay(eq): the reference early_stopping with eq on the recorded trajectory."""
    def replay(eq):
        model = _TrajectoryModel(s["shapes"], states, logits, data)
        history = ra.early_stopping(model, model.run_epoch, dict(data), s["max_epochs"], s["patience"], eq)
        return {"history": history, "final": model.theta()}

    return lambda eq: chain(lambda: replay(eq), "history", "final")


class _TrajectoryModel:
    """The answers' side of the stand-in trajectory: the same states and logits, found by the parameters."""

    def __init__(self, shapes, states, logits, data):
        self._states, self._logits, self._data = states, logits, data
        self.params = []
        for w, b in shapes:
            self.params += [ra.Value(np.zeros(w)), ra.Value(np.zeros(b))]
        self._enter(states[0])

    def parameters(self):
        """Every parameter (Values), layer by layer: W then b."""
        return self.params

    def theta(self):
        """θ (P,): every parameter's data, flattened in order."""
        return np.concatenate([np.ravel(p.data) for p in self.params])

    def _enter(self, theta):
        start = 0
        for p in self.params:
            p.data[...] = np.asarray(theta[start:start + p.data.size]).reshape(p.data.shape)
            start += p.data.size

    def _state(self):
        theta = self.theta()
        return next(k for k, state in enumerate(self._states) if np.allclose(state, theta))

    def run_epoch(self, model):
        """One epoch: the parameters become the next recorded state."""
        self._enter(self._states[self._state() + 1])

    def __call__(self, X):
        k = self._state()
        name = next(name for name, (data, _) in self._data.items() if data is X or np.array_equal(data, X))
        return ra.Value(self._logits[k][name])
