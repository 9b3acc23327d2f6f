"""What differs, when a wrong result matches no known mistake: a structural diagnosis.

A check compares the student's result with the right one and with each known mistake's. When
none matches, the result may still have a shape of its own: the right values transposed, the
right values times N, the values from before the update, the right values after one step of
three. :func:`diagnose` finds which, from the two arrays and what the check knows of them (a
:class:`Layout`): it implements no exercise, it only compares numbers the case holds (the right
values, the ones before the step, the right values after each step) with the student's.

Each finding is a code of ``mistakes.STRUCTURAL``, whose message is the same fixed text in every
scenario: a constant factor is named by what it is (N, B, η), never by its value, so a hidden
test may show it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: how close a factor must be to a named constant's value, relative: a result off by exactly that
#: factor is off by it up to the rounding of the student's sums
FACTOR_RTOL = 1e-6


@dataclass(frozen=True)
class Layout:
    """What a check knows of a compared array, for a structural diagnosis. Every field is optional.

    shaped: the shape counts (a batch's (N, M) is not its (M, N)); otherwise both are read flat.
    before: the values before the update the result comes from (same layout as the expected):
        the step, result − before, is what is compared with the right step.
    trajectory: the right values after 0, 1, 2, … steps, flat (the expected one among them).
    factors: ((symbol, value), …) of ``mistakes.FACTORS``: the constants a result may be off by,
        in the order to name them when two have the same value.
    rows: "samples" or "epochs" when the first axis runs over them: right for the first only;
        for epochs also a loss that never changes.
    parts: ((name, quantity, shape), …): the flat result is these arrays, in order (θ = W1, b1, W2,
        b2); the first that is wrong is diagnosed, and the message says which are right and which wrong.
    count: the result is a count of epochs or steps: any difference is steps off.
    """

    shaped: bool = False
    before: object = None
    trajectory: tuple = ()
    factors: tuple = ()
    rows: str = ""
    parts: tuple = ()
    count: bool = False


@dataclass(frozen=True)
class Finding:
    """code: a code of ``mistakes.STRUCTURAL``, or None (no structure found); part: the index of
    the layout's part the code is about, or None (the whole result)."""

    code: str | None = None
    part: int | None = None


def close(a, b, rtol, atol):
    """Whether ``a`` has ``b``'s shape, is finite, and agrees with it within rtol, atol."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _flat(value):
    return np.asarray(value, dtype=float).reshape(-1)


def diagnose(actual, expected, layout, rtol, atol):
    """The :class:`Finding` of a wrong ``actual`` against the right ``expected`` (both numbers,
    ``actual`` of any shape), read as ``layout`` says."""
    a, e = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if layout.count:
        return Finding("steps-off")
    if not layout.shaped:
        a, e = a.reshape(-1), e.reshape(-1)
    if a.shape != e.shape:
        return Finding(_shape(a, e, layout, rtol, atol))
    if not np.all(np.isfinite(a)):
        return Finding("not-finite")
    before = None if layout.before is None else np.asarray(layout.before, dtype=float).reshape(a.shape)
    whole = _steps(a, e, layout, rtol, atol) or (
        "nothing-updated" if before is not None and close(a, before, rtol, atol) and not close(e, before, rtol, atol)
        else None)
    if whole:  # said of the whole result, shown at its first wrong part
        return Finding(whole, _first_wrong(a.reshape(-1), e.reshape(-1), layout, rtol, atol))
    if layout.parts:
        return _parts(a.reshape(-1), e.reshape(-1), None if before is None else before.reshape(-1), layout, rtol, atol)
    return Finding(_values(a, e, before, layout, rtol, atol))


def _shape(a, e, layout, rtol, atol):
    if a.ndim == 2 and a.shape == e.shape[::-1] and close(a.T, e, rtol, atol):
        return "transposed"
    return "wrong-shape"


def _steps(a, e, layout, rtol, atol):
    """nothing-updated, right-for-first-only or steps-off, when the result is the right one after
    another number of steps than the scenario's."""
    for k, after_k in enumerate(layout.trajectory):
        after_k = np.asarray(after_k, dtype=float).reshape(a.shape)
        if close(a, after_k, rtol, atol) and not close(e, after_k, rtol, atol):
            return "nothing-updated" if k == 0 else "right-for-first-only" if k == 1 else "steps-off"
    return None


def _first_wrong(a, e, layout, rtol, atol):
    """The index of the first part of a flat result that is wrong, or None (no parts)."""
    start = 0
    for index, (_, _, shape) in enumerate(layout.parts):
        part = slice(start, start + int(np.prod(shape)))
        start = part.stop
        if not close(a[part], e[part], rtol, atol):
            return index
    return None


def _parts(a, e, before, layout, rtol, atol):
    """The first wrong part of a flat result, and what differs in it."""
    start = 0
    for index, (_, _, shape) in enumerate(layout.parts):
        part = slice(start, start + int(np.prod(shape)))
        start = part.stop
        if not close(a[part], e[part], rtol, atol):
            code = _values(a[part], e[part], None if before is None else before[part], layout, rtol, atol)
            return Finding(code, index)
    return Finding()


def _values(a, e, before, layout, rtol, atol):
    """What differs between two arrays of one shape: their rows, a factor, their signs."""
    if layout.rows and a.ndim >= 1 and len(a) > 1:
        if layout.rows == "epochs" and close(a, np.full_like(a, a[0]), rtol, atol) \
                and not close(e, np.full_like(e, e[0]), rtol, atol):
            return "nothing-updated"
        if close(a[0], e[0], rtol, atol):
            return "right-for-first-only"
    x, y = (a, e) if before is None else (a - before, e - before)
    if before is not None and close(x, np.zeros_like(x), rtol, atol):
        return "nothing-updated"
    return _scale(x.reshape(-1), y.reshape(-1), layout.factors, rtol, atol)


def _scale(x, y, factors, rtol, atol):
    """x against the right y: zero, y times a named factor, −y, y times a constant, or y's signs."""
    if close(y, np.zeros_like(y), rtol, atol):
        return None  # nothing to be a multiple of
    if close(x, np.zeros_like(x), rtol, atol):
        return "all-zero"
    k = float(x @ y / (y @ y))
    proportional = close(x, k * y, rtol, atol)
    if proportional:
        for symbol, value in factors:
            if np.isclose(k, value, rtol=FACTOR_RTOL, atol=0):
                return f"times-{symbol}"
            if np.isclose(k * value, 1.0, rtol=FACTOR_RTOL, atol=0):
                return f"over-{symbol}"
        if np.isclose(k, -1.0, rtol=FACTOR_RTOL, atol=0):
            return "sign-flipped"
    if x.size < 2:
        return None  # one number is a multiple of any other: only a named factor says something
    if proportional:
        return "scaled"
    if close(np.abs(x), np.abs(y), rtol, atol):
        return "some-signs-flipped"
    informative = np.abs(y) > atol + rtol * np.abs(y).max()
    if (y[informative] > 0).any() and (y[informative] < 0).any() and \
            np.array_equal(np.sign(x[informative]), np.sign(y[informative])):
        return "wrong-scale"
    return None
