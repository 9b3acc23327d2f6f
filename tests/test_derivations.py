"""Each derivation's final formula against centred finite differences, in float64.

Centred differences (f(x+h) − f(x−h)) / 2h have truncation error O(h²) and rounding error
O(ε/h); with h = 1e-6 both stay below ~1e-9 for the values used here. Tolerances:
- activation derivatives: absolute 1e-8 (functions of order 1);
- network gradients: relative 1e-6, i.e. |a − n| ≤ 1e-6 · max(|a|, |n|) + 1e-12, since they
  span several orders of magnitude.
"""
import numpy as np
import pytest

from backprop_course.lectures import activations as act

H = 1e-6


def centred(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


def assert_rel(a, n, rtol=1e-6, atol=1e-12):
    np.testing.assert_allclose(a, n, rtol=rtol, atol=atol)


# Points away from the ReLU kink at 0, where no derivative exists.
NET = np.concatenate([np.linspace(-6, -0.05, 60), np.linspace(0.05, 6, 60)])


def test_sigmoid_prime_is_o_times_one_minus_o():
    o = act.sigmoid(NET)
    np.testing.assert_allclose(o * (1 - o), centred(act.sigmoid, NET), atol=1e-8, rtol=0)
    np.testing.assert_allclose(act.sigmoid_prime(NET), o * (1 - o), atol=1e-15, rtol=0)


def test_sigmoid_is_stable_for_large_net():
    with np.errstate(over="raise", invalid="raise"):
        assert act.sigmoid(np.array([-1000.0, 1000.0])).tolist() == [0.0, 1.0]


def test_tanh_prime_is_one_minus_o_squared():
    o = act.tanh(NET)
    np.testing.assert_allclose(1 - o ** 2, centred(act.tanh, NET), atol=1e-8, rtol=0)
    np.testing.assert_allclose(act.tanh_prime(NET), 1 - o ** 2, atol=1e-15, rtol=0)


def test_relu_prime_is_a_step():
    np.testing.assert_allclose(act.relu_prime(NET), centred(act.relu, NET), atol=1e-8, rtol=0)
    assert act.relu_prime(0.0) == 0.0  # the course's convention at the kink


def test_leaky_relu_prime():
    np.testing.assert_allclose(act.leaky_relu_prime(NET), centred(act.leaky_relu, NET),
                               atol=1e-8, rtol=0)
    assert act.leaky_relu_prime(-1.0) == act.LEAKY_ALPHA


@pytest.mark.parametrize("t,y_hat", [(1.0, 0.2), (1.0, 0.6131), (0.0, 0.7), (0.7, 1.3)])
def test_de_dyhat_is_yhat_minus_t(t, y_hat):
    e = lambda y: 0.5 * (t - y) ** 2
    assert abs(centred(e, y_hat) - (y_hat - t)) < 1e-9


# ---- a small network in the text's notation, for δ_l, δ_j and ∂e/∂w -------------------
def make_network(L, seed):
    rng = np.random.default_rng(seed)
    return {
        "o_i": np.array([1.0, 2.0, 3.0]),
        "w_ij": rng.normal(scale=0.6, size=(3, 2)),   # (I, J)
        "b_j": rng.normal(scale=0.6, size=2),
        "w_jl": rng.normal(scale=0.6, size=(2, L)),   # (J, L)
        "b_l": rng.normal(scale=0.6, size=L),
        "t": rng.random(L),
    }


def loss(p):
    net_j = p["o_i"] @ p["w_ij"] + p["b_j"]
    o_j = act.sigmoid(net_j)
    o_l = act.sigmoid(o_j @ p["w_jl"] + p["b_l"])
    return 0.5 * np.sum((p["t"] - o_l) ** 2)


def forward(p):
    net_j = p["o_i"] @ p["w_ij"] + p["b_j"]
    o_j = act.sigmoid(net_j)
    net_l = o_j @ p["w_jl"] + p["b_l"]
    return net_j, o_j, net_l, act.sigmoid(net_l)


def numeric_grad(p, key):
    g = np.zeros_like(p[key])
    for idx in np.ndindex(g.shape):
        plus = {k: v.copy() for k, v in p.items()}
        minus = {k: v.copy() for k, v in p.items()}
        plus[key][idx] += H
        minus[key][idx] -= H
        g[idx] = (loss(plus) - loss(minus)) / (2 * H)
    return g


def deltas(p):
    """The lecture's formulas: δ_l = (o_l − t)φ′(net_l), δ_j = (Σ_l δ_l w_jl)φ′(net_j)."""
    net_j, o_j, net_l, o_l = forward(p)
    delta_l = (o_l - p["t"]) * o_l * (1 - o_l)
    delta_j = np.array([sum(delta_l[l] * p["w_jl"][j, l] for l in range(len(delta_l)))
                        for j in range(len(o_j))]) * o_j * (1 - o_j)
    return o_j, delta_l, delta_j


@pytest.mark.parametrize("L", [1, 2, 3])
def test_delta_l_is_de_dnet_l(L):
    p = make_network(L, seed=L)
    _, delta_l, _ = deltas(p)
    # ∂e/∂net_l by perturbing net_l directly: shifting b_l by h shifts net_l by h.
    assert_rel(delta_l, numeric_grad(p, "b_l"))


@pytest.mark.parametrize("L", [1, 2, 3])
def test_delta_j_sums_over_l(L):
    p = make_network(L, seed=10 + L)
    _, delta_l, delta_j = deltas(p)
    assert_rel(delta_j, numeric_grad(p, "b_j"))  # ∂e/∂net_j = ∂e/∂b_j
    if L > 1:  # leaving out any term of the sum is detectably wrong
        _, o_j, _, _ = forward(p)
        one_term = delta_l[0] * p["w_jl"][:, 0] * o_j * (1 - o_j)
        assert not np.allclose(one_term, numeric_grad(p, "b_j"), rtol=1e-3)


@pytest.mark.parametrize("L", [1, 2])
def test_de_dw_is_delta_times_input(L):
    p = make_network(L, seed=20 + L)
    o_j, delta_l, delta_j = deltas(p)
    assert_rel(np.outer(p["o_i"], delta_j), numeric_grad(p, "w_ij"))  # ∂e/∂w_ij = δ_j o_i
    assert_rel(np.outer(o_j, delta_l), numeric_grad(p, "w_jl"))       # ∂e/∂w_jl = δ_l o_j


def test_hidden_delta_without_phi_prime_is_wrong():
    """Bug (b) of the text: δ_j = Σ_l δ_l w_jl (no φ′) does not match the finite differences."""
    p = make_network(1, seed=5)
    _, delta_l, _ = deltas(p)
    buggy = p["w_jl"] @ delta_l
    assert not np.allclose(buggy, numeric_grad(p, "b_j"), rtol=1e-2)
