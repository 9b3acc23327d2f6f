"""The tests' own finite differences, entry by entry: independent of the package's oracle, so a
test of the oracle, the checks or a lecture's derivation never checks the package against itself."""
import numpy as np

#: the step: truncation error ~h² ≈ 1e-12, rounding ~1e-10 relative
H = 1e-6


def quotient(f, x, h=H, kind="central"):
    """∂f/∂x of a scalar f at an array x of any shape, by central, forward or backward differences."""
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        grad[i] = {"central": (f(plus) - f(minus)) / (2 * h), "forward": (f(plus) - f(x)) / h,
                   "backward": (f(x) - f(minus)) / h}[kind]
    return grad


def centred(f, x, h=H):
    return quotient(f, x, h)
