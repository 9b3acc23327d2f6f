"""Activation functions φ and their derivatives φ′, vectorised with numpy.

Every function takes ``net`` (a float or an array of any shape) and returns an array
of the same shape (a 0-d array for a float input). Derivatives are taken with respect
to ``net``, i.e. φ′(net) = dφ/dnet, as in the lectures.

The ReLU family is not differentiable at net = 0; we use the convention of the course
(and of most libraries): φ′(0) = 0 for ReLU and φ′(0) = alpha for leaky ReLU.
"""
import numpy as np

__all__ = [
    "sigmoid", "sigmoid_prime", "tanh", "tanh_prime", "relu", "relu_prime",
    "leaky_relu", "leaky_relu_prime", "ACTIVATIONS", "get",
]

LEAKY_ALPHA = 0.1  # slope of leaky ReLU for net < 0 (large enough to see in a plot)


def sigmoid(net):
    """φ(net) = 1 / (1 + exp(−net)), values in (0, 1)."""
    net = np.asarray(net, dtype=float)
    # exp(−|net|) never overflows; both branches equal 1/(1+exp(−net)).
    e = np.exp(-np.abs(net))
    return np.where(net >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_prime(net):
    """φ′(net) = o(1 − o) with o = sigmoid(net) (derived in lecture 3)."""
    o = sigmoid(net)
    return o * (1.0 - o)


def tanh(net):
    """φ(net) = tanh(net), values in (−1, 1)."""
    return np.tanh(np.asarray(net, dtype=float))


def tanh_prime(net):
    """φ′(net) = 1 − tanh(net)²."""
    o = tanh(net)
    return 1.0 - o * o


def relu(net):
    """φ(net) = max(0, net)."""
    net = np.asarray(net, dtype=float)
    return np.where(net > 0, net, 0.0)


def relu_prime(net):
    """φ′(net) = 1 if net > 0 else 0."""
    net = np.asarray(net, dtype=float)
    return np.where(net > 0, 1.0, 0.0)


def leaky_relu(net, alpha=LEAKY_ALPHA):
    """φ(net) = net if net > 0 else alpha·net."""
    net = np.asarray(net, dtype=float)
    return np.where(net > 0, net, alpha * net)


def leaky_relu_prime(net, alpha=LEAKY_ALPHA):
    """φ′(net) = 1 if net > 0 else alpha."""
    net = np.asarray(net, dtype=float)
    return np.where(net > 0, 1.0, alpha)


# name -> (φ, φ′, LaTeX of φ, LaTeX of φ′)
ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_prime,
                r"$\phi(net)=\frac{1}{1+e^{-net}}$", r"$\phi'=o\,(1-o)$"),
    "relu": (relu, relu_prime,
             r"$\phi(net)=\max(0,\,net)$", r"$\phi'=1$ if $net>0$ else $0$"),
    "tanh": (tanh, tanh_prime,
             r"$\phi(net)=\tanh(net)$", r"$\phi'=1-o^2$"),
    "leaky_relu": (leaky_relu, leaky_relu_prime,
                   r"$\phi(net)=net$ if $net>0$ else $%g\,net$" % LEAKY_ALPHA,
                   r"$\phi'=1$ if $net>0$ else $%g$" % LEAKY_ALPHA),
}


def get(name):
    """Return ``(phi, phi_prime)`` for an activation name of ``ACTIVATIONS``."""
    try:
        phi, dphi, _, _ = ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return phi, dphi
