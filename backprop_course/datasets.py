"""Small seeded 2-D classification data sets, made with numpy only.

Lecture 6 trains on them, its widget draws their decision boundaries, and assignment 03's
checks train on ``spirals`` (``backprop_course.checks.vectorised``): numpy only, so the
student's kernel and the grader import it without matplotlib or ipywidgets. A leaf of the
package: it imports none of its rooms, so the checks and the lectures both import it downward.

Each returns ``(X, y)``: X of shape (N, 2), floats in about [−1.5, 2.5]; y of shape (N,),
integer labels 0 … C − 1. The samples come in a seeded random order, so that the first
70 % and the last 30 % (``split``) are both a fair mix of the classes.
"""
import numpy as np

__all__ = ["two_moons", "spirals", "xor", "split"]


def _shuffled(X, y, rng):
    order = rng.permutation(len(y))
    return X[order], y[order]


def two_moons(n=200, noise=0.15, seed=0):
    """Two interleaved half circles, labels 0 (upper) and 1 (lower); n samples in all."""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    a, b = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    X = np.concatenate([np.c_[np.cos(a), np.sin(a)], np.c_[1 - np.cos(b), 0.5 - np.sin(b)]])
    y = np.concatenate([np.zeros(n0, int), np.ones(n - n0, int)])
    return _shuffled(X + rng.normal(0, noise, X.shape), y, rng)


def spirals(n_per_class=100, classes=3, noise=0.2, turns=0.6, seed=0):
    """``classes`` spiral arms from the centre outwards, ``turns`` turns each, n_per_class samples per arm.

    Arm k at radius r ∈ [0.05, 1] sits at angle 2π(k / classes + turns·r), plus Gaussian noise
    of ``noise`` radians: no straight line separates the arms, a hidden layer must bend.
    """
    rng = np.random.default_rng(seed)
    r = np.linspace(0.05, 1.0, n_per_class)
    X, y = [], []
    for k in range(classes):
        angle = 2 * np.pi * (k / classes + turns * r) + rng.normal(0, noise, n_per_class)
        X.append(np.c_[r * np.cos(angle), r * np.sin(angle)])
        y.append(np.full(n_per_class, k))
    return _shuffled(np.concatenate(X), np.concatenate(y), rng)


def xor(n=200, noise=0.1, seed=0):
    """Four blobs at (±1, ±1): label 1 where the signs of the two coordinates differ."""
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, (n, 2)) * 2 - 1
    X = corners + rng.normal(0, noise * 3, (n, 2))
    y = (corners[:, 0] != corners[:, 1]).astype(int)
    return X, y


def split(X, y, train=0.7):
    """(X_train, y_train, X_held_out, y_held_out): the first ``train`` fraction and the rest."""
    n = int(round(train * len(y)))
    return X[:n], y[:n], X[n:], y[n:]
