"""The 8×8 handwritten digits, and their split into training, validation and test samples.

1,797 digits 0–9 (``data/digits.csv.gz``: the test set of UCI's *Optical Recognition of
Handwritten Digits*, CC BY 4.0, ``data/DIGITS.md`` says where it comes from), read with numpy
only, so that lecture 7, assignment 04's notebook, its checks and the grader all read the same
numbers without scikit-learn or a download. A leaf of the package: it imports none of its rooms,
so the checks and the lectures both import it downward.
"""
import gzip
from functools import cache
from pathlib import Path

import numpy as np

__all__ = ["FILE", "load", "split", "SPLITS"]

#: the data file, beside this module
FILE = Path(__file__).resolve().parent / "data" / "digits.csv.gz"

#: the names of the three splits, in the order ``split`` cuts them
SPLITS = ("train", "val", "test")


@cache
def _table():
    with gzip.open(FILE, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    table.setflags(write=False)
    return table


def load():
    """(X, y): X of shape (1797, 64), each row an image's 64 pixels, row by row, scaled from
    0 … 16 to 0 … 1; y of shape (1797,), the digit each image shows (0 … 9). Fresh arrays."""
    table = _table()
    return table[:, :64] / 16.0, table[:, 64].copy()


def split(X, y, seed=0, validation=0.2, test=0.2):
    """{"train": (X, y), "val": (X, y), "test": (X, y)}: the samples in the order of a seeded
    permutation, then the first 1 − validation − test of them for training, the next
    ``validation`` to choose with (the epoch, η, λ), the last ``test`` to report once."""
    order = np.random.default_rng(seed).permutation(len(y))
    n_val, n_test = int(round(validation * len(y))), int(round(test * len(y)))
    n_train = len(y) - n_val - n_test
    parts = (order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:])
    return {name: (X[part], y[part]) for name, part in zip(SPLITS, parts)}
