"""The activations that no assignment grades, φ and φ′, vectorised with numpy: tanh and leaky ReLU.

Sigmoid and ReLU, and their derivatives, are assignment 1's exercises: the lecture notebooks
define them in their own cells and pass them to the figures and widgets, so that nothing the
course installs answers an exercise. Every function here takes ``net`` (a float or an array of
any shape) and returns an array of its shape; derivatives are taken with respect to ``net``.

Leaky ReLU has no derivative at net = 0; the convention of the course (and of most libraries)
is φ′(0) = ``LEAKY_ALPHA``, the slope of its off side.
"""
import numpy as np

__all__ = ["tanh", "tanh_prime", "leaky_relu", "leaky_relu_prime", "LEAKY_ALPHA", "ACTIVATIONS"]

#: slope of leaky ReLU for net < 0 (large enough to see in a plot); fixed, not a parameter
LEAKY_ALPHA = 0.1


def tanh(net):
    """φ(net) = tanh(net), values in (−1, 1)."""
    return np.tanh(np.asarray(net, dtype=float))


def tanh_prime(net):
    """φ′(net) = 1 − tanh(net)², i.e. 1 − o² (lecture 3 derives it)."""
    o = tanh(net)
    return 1.0 - o * o


def leaky_relu(net):
    """φ(net) = net if net > 0 else LEAKY_ALPHA·net."""
    net = np.asarray(net, dtype=float)
    return np.where(net > 0, net, LEAKY_ALPHA * net)


def leaky_relu_prime(net):
    """φ′(net) = 1 if net > 0 else LEAKY_ALPHA."""
    net = np.asarray(net, dtype=float)
    return np.where(net > 0, 1.0, LEAKY_ALPHA)


#: name -> (φ, φ′): the package's activations, for the figures and the playground
ACTIVATIONS = {"tanh": (tanh, tanh_prime), "leaky_relu": (leaky_relu, leaky_relu_prime)}
