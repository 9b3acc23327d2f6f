"""Reading a student's arrays as the checks of 03_vectorised compare them: shapes first, then values.

A probe's observations come back as plain numbers (``observed.plain``); these turn them back into
arrays, or into the WrongAnswer that says what the student's code returned instead.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .core import ATOL, RTOL, WrongAnswer
from .structure import Layout


def shaped_array(observed, quantity):
    """A probed value as a float array, or the WrongAnswer saying what ``quantity`` was instead
    (a missing attribute, something not a number)."""
    if isinstance(observed, dict):
        what = observed.get("not_a_number") or f"no `{observed.get('missing')}`"
        raise WrongAnswer(f"{quantity} should be an array of numbers, not {what}.")
    try:
        return np.asarray(observed, dtype=float)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{quantity} should be an array of numbers, not {observed!r}"[:300]) from None


def same_and_close(a, b, rtol, atol):
    """Whether arrays ``a`` and ``b`` have one shape, ``a`` is finite, and they agree within rtol, atol."""
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and np.allclose(a, b, rtol=rtol, atol=atol)


def compare_shaped(suspects, quantity, observed, expected, key, reveal, narrow=True, rtol=RTOL, atol=ATOL, layout=Layout()):
    """``Suspects.compare``, where the shape counts too: a (D, M) gradient is not a (M, D) one, nor a
    flat one. A known mistake is named by its values, in any shape (a transposed dW is named
    although its shape differs); otherwise what differs is said as ``layout`` reads it (shaped).
    Hidden tests (reveal=False) show shapes, never values."""
    actual, expected = shaped_array(observed, quantity), np.asarray(expected, dtype=float)
    suspects.compare(quantity, actual, expected, key, reveal, narrow, rtol, atol, replace(layout, shaped=True))


def returned_tuple(result, name, size):
    """(result, "") when a student's function returned a tuple of ``size``, else (None, what it returned instead)."""
    if not isinstance(result, (tuple, list)) or len(result) != size:
        what = f"a {type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        return None, f"{name} must return a tuple of {size} (see its docstring), not {what}."
    return result, ""


def raise_problem(observed):
    """Raise the WrongAnswer the probe noted (``observed['problem']``: what the student's function returned), if any."""
    if observed.get("problem"):
        raise WrongAnswer(observed["problem"])


def raise_misses(observed, what):
    """Raise a WrongAnswer if ``what`` asked the stand-ins for something no correct solution asks
    (the first of ``observed['misses']``)."""
    if observed.get("misses"):
        raise WrongAnswer(f"{what} asked the check's trusted parts for something no correct solution asks: "
                          f"{observed['misses'][0]}.")
