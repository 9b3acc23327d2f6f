"""What a probe observes, as JSON data: the student's results as plain numbers (or a note saying
what they were instead), read where the student's code runs, and read back where it is judged.
"""
from __future__ import annotations

import numpy as np

from .core import WrongAnswer


def plain(value):
    """A student's result as JSON data: a float, nested lists of floats, or a note saying what it was."""
    if isinstance(value, Missing):
        return {"missing": value.name}
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return {"not_a_number": f"{type(value).__name__}: {value!r}"[:200]}
    return array.tolist()


class Missing:
    """Stands for an attribute the student's object does not have."""

    def __init__(self, name):
        self.name = name


def read(obj, name):
    """obj.name as plain data, or the note that it is missing."""
    return plain(getattr(obj, name, Missing(name)))


def seen(observed, key, what):
    """A probed value, or the WrongAnswer that says it is missing."""
    value = observed[key]
    if isinstance(value, dict) and "missing" in value:
        raise WrongAnswer(f"{what} must store `{value['missing']}` (see the exercise's contract).")
    return value
