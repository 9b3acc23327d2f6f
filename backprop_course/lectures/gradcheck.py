"""The course's one yardstick for a gradient check, and the finite differences the lectures use.

From lecture 4 on, every comparison of a gradient with finite differences is measured the same
way, by ``rel_error``: max over the entries of |a − n| / (|a| + |n|), the relative error of
Stanford's CS231n (its assignments' ``rel_error``; assignment 3 gives the same function). What
its sizes mean (lecture 4, section 4, has the table):

    below 1e-7      the two agree: a right gradient, centred differences with h = 1e-5, float64
    1e-7 to 1e-4    suspicious: fine only across a kink (ReLU at 0) or after many layers; else a small bug
    1e-4 to 1e-2    probably a bug
    above 1e-2      wrong

The finite differences here are the lectures' own and deliberately small: the derivative of a
function of one number (``derivative``) and the slope of a function along one direction
(``slope_along``). Neither is a gradient over an array: the central differences over every
entry of an array of any shape, leaving the array as it was, are assignment 3's exercise 3.
"""
import numpy as np

__all__ = ["STEP", "AGREE", "rel_error", "derivative", "slope_along", "agrees"]

#: the step h of the centred differences: truncation error ~h², rounding error ~1e-16/h; both
#: stay near 1e-10 at h = 1e-5 (lecture 4, section 4, measures it)
STEP = 1e-5

#: below this relative error, a gradient and its finite differences agree
AGREE = 1e-7


def rel_error(a, b):
    """max |a − b| / (|a| + |b|), entry by entry; a and b of one shape (numbers, or arrays).

    0 when they are equal, 1 when they have opposite signs, 1e-7 or below when they agree.
    Entries where both are 0 count as agreeing (the floor 1e-12 keeps 0/0 away).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def agrees(a, b):
    """True when ``rel_error(a, b)`` is below ``AGREE``."""
    return rel_error(a, b) < AGREE


def derivative(g, x, h=STEP):
    """(g(x + h) − g(x − h)) / 2h: the derivative of a function g of one number at x.

    When g works elementwise (an activation, say) and x is an array, this is g′ at every entry.
    """
    return (g(x + h) - g(x - h)) / (2 * h)


def slope_along(f, x, direction, h=STEP):
    """(f(x + h·d) − f(x − h·d)) / 2h: the slope of a scalar function f at x along d.

    By the chain rule it equals Σ ∂f/∂x ⊙ d, which a backward pass predicts; one number, from
    two evaluations of f, however large x is. x and d have one shape; x is not changed.
    """
    x, d = np.asarray(x, dtype=float), np.asarray(direction, dtype=float)
    return (f(x + h * d) - f(x - h * d)) / (2 * h)
