"""Each derivation's final formula against centred finite differences, in float64.

The activations of ``backprop_course.lectures.activations``; the backward passes that lecture 4
(its Neuron and backward_network) and lecture 5 (its matrix backward) define, and the
assignment's reference loss_derivative, against the package's oracle
(``answers.oracle``): a change to any of them can fail these tests.

Centred differences (f(x+h) − f(x−h)) / 2h have truncation error O(h²) and rounding error
O(ε/h); with h = 1e-6 both stay below ~1e-9 for the values used here. Tolerances:
- activation derivatives: absolute 1e-8 (functions of order 1);
- network gradients: relative 1e-6, i.e. |a − n| ≤ 1e-6 · max(|a|, |n|) + 1e-12, since they
  span several orders of magnitude.
"""
import ast
from pathlib import Path

import nbformat
import numpy as np
import pytest

from answers.oracle import TwoLayerNet, numerical_gradient
from backprop_course.lectures import activations as act
from answers.catalogue import EXERCISES, reference_cells, strip_markers

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

H = 1e-6


def centred(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


def assert_rel(a, n, rtol=1e-6, atol=1e-12, what=""):
    np.testing.assert_allclose(a, n, rtol=rtol, atol=atol, err_msg=what)


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


# ---- the course's own code against the package's finite-difference oracle ---------------
# The lecture notebooks' definitions (their def, class and import statements, run in order)
# and the assignment's reference solution, against answers.oracle.

def definitions(path):
    """The names a notebook defines: its imports, functions and classes, without running the rest."""
    namespace = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%")))
            tree.body = [node for node in tree.body
                         if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))]
            exec(compile(tree, str(path), "exec"), namespace)
    return namespace


LECTURE_04 = definitions(NOTEBOOKS / "04_backpropagation.ipynb")
LECTURE_05 = definitions(NOTEBOOKS / "05_neurons_to_matrices.ipynb")


def reference_solution(assignment):
    namespace = {}
    exec("import numpy as np", namespace)
    for exercise in EXERCISES[assignment]:
        exec(strip_markers(reference_cells(assignment)[exercise]), namespace)
    return namespace


@pytest.mark.parametrize("t,y_hat", [(1.0, 0.2), (1.0, 0.6131), (0.0, 0.7), (0.7, 1.3)])
def test_de_dyhat_is_yhat_minus_t(t, y_hat):
    """The reference solution's loss_derivative against finite differences of its loss."""
    solution = reference_solution("01_neuron")
    numeric = numerical_gradient(lambda v: float(solution["loss"](t, v[0])), [y_hat])[0]
    assert abs(float(solution["loss_derivative"](t, y_hat)) - numeric) < 1e-9
    assert numeric == pytest.approx(y_hat - t, abs=1e-9)  # the text's ∂e/∂ŷ = ŷ − t


def make_network(L, seed):
    """A 3-2-L sigmoid network in lecture 4's layout: (W_h (J, I), b_h (J,), W_o (L, J), b_o (L,)), o_i, t."""
    rng = np.random.default_rng(seed)
    params = (rng.normal(scale=0.6, size=(2, 3)), rng.normal(scale=0.6, size=2),
              rng.normal(scale=0.6, size=(L, 2)), rng.normal(scale=0.6, size=L))
    return params, np.array([1.0, 2.0, 3.0]), rng.random(L)


def oracle_gradient(params, o_i, t):
    """∂e/∂(W_h, b_h, W_o, b_o) of e = ½ Σ_l (t_l − o_l)², by the oracle's finite differences."""
    net = TwoLayerNet(3, 2, len(t), "sigmoid")  # θ = [W1 (J×m), b1, W2 (L×J), b2]: lecture 4's layout
    return net.unpack(net.gradient(net.pack(*params), o_i, t))


def lecture_backward(params, o_i, t, neuron_class=None):
    """Lecture 4's network of neuron_class (its Neuron by default) after one backward_network()."""
    lecture = LECTURE_04
    hidden, outputs = lecture["build_network"](neuron_class or lecture["Neuron"], params)
    _, y_hat = lecture["forward_network"](hidden, outputs, o_i)
    lecture["backward_network"](hidden, outputs, t, y_hat, learning_rate=0.1)
    return np.array([n.delta_j for n in hidden]), np.array([n.delta_j for n in outputs])


def test_the_lectures_loss_is_the_oracles():
    params, o_i, t = make_network(3, seed=0)
    net = TwoLayerNet(3, 2, 3, "sigmoid")
    assert LECTURE_04["network_loss"](params, o_i, t) == pytest.approx(net.loss(net.pack(*params), o_i, t), rel=1e-14)


@pytest.mark.parametrize("L", [1, 2, 3])
def test_delta_l_is_de_dnet_l(L):
    params, o_i, t = make_network(L, seed=L)
    _, delta_l = lecture_backward(params, o_i, t)
    # ∂e/∂net_l by perturbing net_l directly: shifting b_l by h shifts net_l by h.
    assert_rel(delta_l, oracle_gradient(params, o_i, t)[3])


@pytest.mark.parametrize("L", [1, 2, 3])
def test_delta_j_sums_over_l(L):
    params, o_i, t = make_network(L, seed=10 + L)
    delta_j, delta_l = lecture_backward(params, o_i, t)
    numeric = oracle_gradient(params, o_i, t)[1]  # ∂e/∂net_j = ∂e/∂b_j
    assert_rel(delta_j, numeric)
    if L > 1:  # leaving out any term of the sum is detectably wrong
        phi_prime = delta_j / (params[2].T @ delta_l)
        one_term = delta_l[0] * params[2][0] * phi_prime
        assert not np.allclose(one_term, numeric, rtol=1e-3)


@pytest.mark.parametrize("L", [1, 2])
def test_de_dw_is_delta_times_input(L):
    """What lecture 4's backward does to every weight and bias, (old − new)/η, is the gradient."""
    params, o_i, t = make_network(L, seed=20 + L)
    backprop = LECTURE_04["backprop_gradient"](LECTURE_04["Neuron"], params, o_i, t, learning_rate=0.1)
    for name, a, n in zip(["w_ij", "b_j", "w_jl", "b_l"], backprop, oracle_gradient(params, o_i, t)):
        assert_rel(a, n, atol=1e-11, what=name)


def test_hidden_delta_without_phi_prime_is_wrong():
    """Bug (b) of the text, lecture 4's NoPhiPrimeNeuron: δ_j = Σ_l δ_l w_jl does not match the
    finite differences; its output δ, which has φ′, does."""
    params, o_i, t = make_network(1, seed=5)
    delta_j, delta_l = lecture_backward(params, o_i, t, LECTURE_04["NoPhiPrimeNeuron"])
    numeric = oracle_gradient(params, o_i, t)
    assert_rel(delta_l, numeric[3])
    assert not np.allclose(delta_j, numeric[1], rtol=1e-2)


@pytest.mark.parametrize("L", [1, 3])
def test_the_matrix_backward_sums_the_samples_gradients(L):
    """Lecture 5's matrix backward(): the gradient of Σ_samples e, each sample's by the oracle."""
    rng = np.random.default_rng(30 + L)
    X, T = rng.normal(size=(4, 3)), rng.random((4, L))
    W1, b1, W2, b2 = (rng.normal(scale=0.6, size=shape) for shape in [(3, 2), 2, (2, L), L])  # (I, J), …, (J, L)
    O_j, Y_hat = LECTURE_05["forward"](X, W1, b1, W2, b2)
    matrix = LECTURE_05["backward"](X, T, O_j, Y_hat, W2)
    numeric = [sum(g) for g in zip(*(oracle_gradient((W1.T, b1, W2.T, b2), x, t) for x, t in zip(X, T)))]
    for name, a, n in zip(["dW1", "db1", "dW2", "db2"], matrix, [numeric[0].T, numeric[1], numeric[2].T, numeric[3]]):
        assert_rel(a, n, atol=1e-11, what=name)
