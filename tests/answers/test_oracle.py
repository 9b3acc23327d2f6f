"""The finite-difference oracle (answers/oracle.py) against mathematics: values
worked out by hand on nets small enough to follow on paper, and closed forms (σ' = σ(1 − σ),
d/dθ Σθ³ = 3θ²). Never against a second copy of the oracle or of the course's backward pass.

The hand-worked net: one input, one hidden and one output ReLU neuron, θ = [w_ij, b_j, w_jl, b_l]
= [2, −1, 3, 0.5], sample x = 1, target t = 1:
net_j = 2·1 − 1 = 1, o_j = 1; net_l = 3·1 + 0.5 = 3.5, o_l = 3.5; e = ½ (1 − 3.5)² = 3.125.
Chain rule: ∂e/∂o_l = o_l − t = 2.5, so ∂e/∂b_l = 2.5, ∂e/∂w_jl = 2.5·o_j = 2.5,
∂e/∂b_j = 2.5·w_jl·1 = 7.5, ∂e/∂w_ij = 7.5·x = 7.5.
"""
import math

import numpy as np
import pytest

from answers.oracle import TwoLayerNet, numerical_gradient, phi

THETA = [2.0, -1.0, 3.0, 0.5]   # w_ij, b_j, w_jl, b_l of the 1-1-1 ReLU net above
GRADIENT = [7.5, 7.5, 2.5, 2.5]
# centred differences are exact on a quadratic up to rounding (≈ 1e-10 relative at h = 1e-6)
TOL = 1e-7


def tiny_relu():
    return TwoLayerNet(1, 1, 1, "relu")


def test_the_activations():
    assert phi(0.0, "sigmoid") == 0.5
    assert phi(math.log(3.0), "sigmoid") == pytest.approx(0.75, abs=1e-15)   # 1 / (1 + 1/3)
    np.testing.assert_allclose(phi([-2.0, 2.0], "sigmoid").sum(), 1.0, atol=1e-15)  # σ(−a) = 1 − σ(a)
    np.testing.assert_array_equal(phi([-2.0, 0.0, 0.5, 3], "relu"), [0.0, 0.0, 0.5, 3.0])
    assert phi([1, 2], "relu").dtype == np.float64
    # φ of the real number net, whatever the dtype it comes in: −net of an unsigned 2 is not 254
    np.testing.assert_allclose(phi(np.array([0, 2], dtype=np.uint8), "sigmoid"), [0.5, 1 / (1 + math.exp(-2))], rtol=1e-15)
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        phi(1.0, "tanh")


def test_the_numerical_gradient_meets_closed_forms():
    theta = np.array([[-1.5, 0.0, 2.0], [0.25, 1.0, -3.0]])  # any shape: here a (2, 3) weight matrix
    before = theta.copy()
    grad = numerical_gradient(lambda th: float(np.sum(th ** 3)), theta)
    assert grad.shape == theta.shape
    np.testing.assert_allclose(grad, 3 * theta ** 2, rtol=1e-8, atol=1e-8)  # error h² = 1e-12 per entry
    np.testing.assert_array_equal(theta, before)  # the caller's θ is left alone
    # a θ of integers is moved by h in float64 (an integer array would round the step to 0)
    np.testing.assert_allclose(numerical_gradient(lambda th: float(np.sum(th ** 3)), np.array([1, -2])), [3.0, 12.0], rtol=1e-8)
    # σ' = σ (1 − σ), for each entry by itself
    z = np.array([-2.0, 0.0, 1.5])
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(phi(v, "sigmoid"))), z), s * (1 - s), atol=1e-9)
    # a larger step shows the O(h²) error of the centred quotient: (θ+h)³ − (θ−h)³ = 6θ²h + 2h³
    np.testing.assert_allclose(numerical_gradient(lambda th: float(np.sum(th ** 3)), [1.0], h=0.1), [3.01], rtol=1e-12)


def test_parameters_are_laid_out_as_documented():
    """θ = [W1 (J×m), b1 (J), W2 (L×J), b2 (L)], W1[j, i] = w_ij, W2[l, j] = w_jl."""
    net = TwoLayerNet(2, 3, 2, "sigmoid")
    theta = np.arange(3 * 2 + 3 + 2 * 3 + 2)  # integers: read as float64, like everything here
    W1, b1, W2, b2 = net.unpack(theta)
    assert {W1.dtype, b1.dtype, W2.dtype, b2.dtype} == {np.dtype(np.float64)}
    np.testing.assert_array_equal(W1, [[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(b1, [6, 7, 8])
    np.testing.assert_array_equal(W2, [[9, 10, 11], [12, 13, 14]])
    np.testing.assert_array_equal(b2, [15, 16])
    np.testing.assert_array_equal(net.pack(W1, b1, W2, b2), theta)
    assert net.pack(W1.astype(int), b1, W2, b2).dtype == np.float64


def test_forward_by_hand():
    net = tiny_relu()
    np.testing.assert_array_equal(net.forward(THETA, [1.0]), [3.5])
    np.testing.assert_array_equal(net.forward(THETA, [0.25]), [0.5])  # net_j = −0.5: the hidden ReLU is off
    # two inputs, two hidden, one output, sigmoid: W1 = [[1, −1], [2, 0]], b1 = [0, −2], W2 = [[2, −2]], b2 = [0]
    # x = [3, 3]: net_j = [0, 4], o_j = [½, σ(4)]; net_l = 1 − 2σ(4)
    sigmoid_net = TwoLayerNet(2, 2, 1, "sigmoid")
    theta = sigmoid_net.pack([[1, -1], [2, 0]], [0, -2], [[2, -2]], [0])
    s4 = 1 / (1 + math.exp(-4))
    o = sigmoid_net.forward(theta, [3, 3])
    assert o.shape == (1,) and o[0] == pytest.approx(1 / (1 + math.exp(-(1 - 2 * s4))), rel=1e-14)


def test_the_loss_is_half_the_squared_error_summed_over_outputs():
    net = tiny_relu()
    assert net.loss(THETA, [1.0], [1.0]) == 3.125        # ½ (1 − 3.5)²
    assert net.loss(THETA, [1.0], [3.5]) == 0.0
    # two outputs: W2 = 0, so o_l = relu(b_l) = [1, 2]; e = ½ ((0 − 1)² + (5 − 2)²) = 5
    two = TwoLayerNet(1, 1, 2, "relu")
    theta = two.pack([[0.0]], [0.0], [[0.0], [0.0]], [1.0, 2.0])
    assert two.loss(theta, [7.0], [0, 5]) == 5.0


def test_the_gradient_is_the_chain_rule_worked_by_hand():
    net = tiny_relu()
    np.testing.assert_allclose(net.gradient(THETA, [1.0], [1.0]), GRADIENT, atol=TOL)
    assert not np.any(net.gradient(THETA, [0.25], [0.0])[:2])  # a dead hidden ReLU: no gradient for w_ij, b_j


def test_sgd_steps_against_the_gradient_one_sample_at_a_time():
    """θ ← θ − η ∇e, sample after sample in order, each loss taken before its own update."""
    net, eta = tiny_relu(), 0.1
    theta, history = net.sgd(THETA, [[1.0]], [[1.0]], epochs=1, learning_rate=eta)
    np.testing.assert_allclose(theta, [1.25, -1.75, 2.75, 0.25], atol=TOL)  # θ − 0.1 · [7.5, 7.5, 2.5, 2.5]
    assert history == [3.125]
    # a second sample, x = 2, t = 0, is seen at θ = [1.25, −1.75, 2.75, 0.25]:
    # net_j = 0.75, o_l = 2.75 · 0.75 + 0.25 = 2.3125, e = ½ 2.3125² = 2.673828125
    # (in the other order its loss would be taken at the start: o_l = 9.5, e = 45.125)
    theta2, history2 = net.sgd(THETA, [[1.0], [2.0]], [[1.0], [0.0]], epochs=1, learning_rate=eta)
    assert history2 == [pytest.approx((3.125 + 2.673828125) / 2, abs=TOL)]
    # its update, by hand: ∂e/∂o_l = 2.3125; ∂e/∂b_l = 2.3125, ∂e/∂w_jl = 2.3125 · 0.75,
    # ∂e/∂b_j = 2.3125 · 2.75, ∂e/∂w_ij = 2.3125 · 2.75 · 2
    g = 2.3125 * np.array([2.75 * 2, 2.75, 0.75, 1.0])
    np.testing.assert_allclose(theta2, np.array([1.25, -1.75, 2.75, 0.25]) - eta * g, atol=TOL)
    # epochs repeat the pass; the second epoch starts where the first ended
    theta3, history3 = net.sgd(THETA, [[1.0]], [[1.0]], epochs=2, learning_rate=eta)
    # at θ = [1.25, −1.75, 2.75, 0.25], x = 1: net_j = −0.5, o_j = 0, o_l = 0.25, e = ½ 0.75² = 0.28125
    assert history3 == [3.125, pytest.approx(0.28125, abs=TOL)]
    # the hidden ReLU is off: only b_l moves, by −η (o_l − t) = +0.075
    np.testing.assert_allclose(theta3, [1.25, -1.75, 2.75, 0.325], atol=TOL)
    assert list(THETA) == [2.0, -1.0, 3.0, 0.5]  # the caller's θ is left alone


def test_sgd_with_no_epoch_leaves_theta_as_it_was():
    given = np.array([2, -1, 3, 1])  # integers: the oracle works in float64 whatever it is given
    theta, history = tiny_relu().sgd(given, [[1.0]], [[1.0]], epochs=0, learning_rate=0.1)
    assert history == []
    np.testing.assert_array_equal(theta, [2.0, -1.0, 3.0, 1.0])
    assert theta.dtype == np.float64 and theta is not given
