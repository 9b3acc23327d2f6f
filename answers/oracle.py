"""The independent oracle the checks trust: centred finite differences in float64.

Nothing here knows the backpropagation formulas. The checks compare a student's result
with gradients measured numerically on the loss e = ½ Σ_l (t_l − o_l)², so an error in
the course's own derivation cannot hide behind a copy of itself.
"""
from __future__ import annotations

import numpy as np

#: step of the centred differences; error O(h²) ≈ 1e-12, rounding ≈ 1e-10 relative
STEP = 1e-6


def phi(net, activation):
    """Activation φ(net), elementwise. activation: 'sigmoid' or 'relu'."""
    net = np.asarray(net, dtype=float)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-net))
    if activation == "relu":
        return np.maximum(net, 0.0)
    raise ValueError(f"unknown activation {activation!r}: use 'sigmoid' or 'relu'")


def numerical_gradient(f, theta, h=STEP):
    """∂f/∂θ by centred differences, (f(θ + h·e_k) − f(θ − h·e_k)) / 2h for each entry k.

    f: callable taking a float64 array shaped like theta and returning a scalar.
    theta: array of any shape, e.g. (P,) or a weight matrix (D, M). Returns an array of its shape.
    """
    theta = np.array(theta, dtype=float)
    grad = np.zeros_like(theta)
    for k in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[k] = h
        grad[k] = (f(theta + step) - f(theta - step)) / (2 * h)
    return grad


class TwoLayerNet:
    """A fully connected net o_i → (J hidden neurons) → (L output neurons), one activation.

    Parameters live in one flat vector θ = [W1 (J×m), b1 (J), W2 (L×J), b2 (L)] so that
    the finite differences can move each one by itself. W1[j, i] is w_ij, W2[l, j] is w_jl.
    """

    def __init__(self, m, J, L, activation):
        self.m, self.J, self.L, self.activation = m, J, L, activation

    def pack(self, W1, b1, W2, b2):
        """θ (P,): W1 (J, m), b1 (J,), W2 (L, J), b2 (L,) flattened in that order."""
        return np.concatenate([np.ravel(W1), np.ravel(b1), np.ravel(W2), np.ravel(b2)]).astype(float)

    def unpack(self, theta):
        """(W1 (J, m), b1 (J,), W2 (L, J), b2 (L,)) of θ (P,), the inverse of ``pack``."""
        m, J, L = self.m, self.J, self.L
        sizes = [J * m, J, L * J, L]
        W1, b1, W2, b2 = np.split(np.asarray(theta, float), np.cumsum(sizes)[:-1])
        return W1.reshape(J, m), b1, W2.reshape(L, J), b2

    def forward(self, theta, x):
        """Outputs o_l for one sample x of shape (m,); returns shape (L,)."""
        W1, b1, W2, b2 = self.unpack(theta)
        o_j = phi(W1 @ np.asarray(x, float) + b1, self.activation)
        return phi(W2 @ o_j + b2, self.activation)

    def loss(self, theta, x, t):
        """Sample loss e = ½ Σ_l (t_l − o_l)²."""
        return 0.5 * float(np.sum((np.asarray(t, float) - self.forward(theta, x)) ** 2))

    def gradient(self, theta, x, t):
        """∂e/∂θ (P,) at θ for one sample x (m,), t (L,), by finite differences."""
        return numerical_gradient(lambda th: self.loss(th, x, t), theta)

    def sgd(self, theta, inputs, targets, epochs, learning_rate):
        """Online gradient descent on numerical gradients.

        Each epoch visits the samples in order; a sample's loss is taken at its forward
        pass, before its update. Returns (θ after training, list of per-epoch mean losses).
        """
        theta = np.array(theta, float)
        history = []
        for _ in range(epochs):
            losses = []
            for x, t in zip(inputs, targets):
                losses.append(self.loss(theta, x, t))
                theta = theta - learning_rate * self.gradient(theta, x, t)
            history.append(float(np.mean(losses)))
        return theta, history
