"""Each derivation's final formula against centred finite differences, in float64.

The activations: tanh and leaky ReLU of ``backprop_course.lectures.activations``, sigmoid and ReLU as
lecture 1 defines them; the backward passes that lecture 4 (the seed lecture's code, its tanh neuron
and drivers) and lecture 5 (its matrix backward and its loops) define, and the assignment's reference
loss_derivative, against the instructor's oracle (``answers.oracle``) or, for tanh, which
the oracle does not know, the tests' own finite differences: a change to any of them can fail these
tests.

Centred differences (f(x+h) − f(x−h)) / 2h have truncation error O(h²) and rounding error
O(ε/h); with h = 1e-6 both stay below ~1e-9 for the values used here. Tolerances:
- activation derivatives: absolute 1e-8 (functions of order 1);
- network gradients: relative 1e-6, i.e. |a − n| ≤ 1e-6 · max(|a|, |n|) + 1e-12, since they
  span several orders of magnitude.
"""
import ast

import nbformat
import numpy as np
import pytest

from answers.oracle import TwoLayerNet, numerical_gradient
from backprop_course.lectures import activations as act
from backprop_course.lectures.plots import pointwise
from answers.catalogue import EXERCISES, reference_cells, strip_markers
from difference_quotients import quotient
from project import ROOT

NOTEBOOKS = ROOT / "notebooks"

H = 1e-6


def centred(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


def assert_rel(a, n, rtol=1e-6, atol=1e-12, what=""):
    np.testing.assert_allclose(a, n, rtol=rtol, atol=atol, err_msg=what)


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


LECTURE_01 = definitions(NOTEBOOKS / "01_the_neuron.ipynb")
LECTURE_04 = definitions(NOTEBOOKS / "04_backpropagation.ipynb")
LECTURE_05 = definitions(NOTEBOOKS / "05_neurons_to_matrices.ipynb")

# Points away from the ReLU kink at 0, where no derivative exists.
NET = np.concatenate([np.linspace(-6, -0.05, 60), np.linspace(0.05, 6, 60)])


def test_sigmoid_prime_is_o_times_one_minus_o():
    o = LECTURE_01["sigmoid"](NET)
    np.testing.assert_allclose(o * (1 - o), centred(LECTURE_01["sigmoid"], NET), atol=1e-8, rtol=0)
    np.testing.assert_allclose(LECTURE_01["sigmoid_prime"](NET), o * (1 - o), atol=1e-15, rtol=0)


def test_tanh_prime_is_one_minus_o_squared():
    o = act.tanh(NET)
    np.testing.assert_allclose(1 - o ** 2, centred(act.tanh, NET), atol=1e-8, rtol=0)
    np.testing.assert_allclose(act.tanh_prime(NET), 1 - o ** 2, atol=1e-15, rtol=0)


def test_relu_prime_is_a_step():
    """Lecture 1's ReLU is the seed lecture's, for one number: it is checked one number at a time."""
    relu, relu_prime = LECTURE_01["relu"], LECTURE_01["relu_prime"]
    np.testing.assert_allclose(pointwise(relu_prime, NET), pointwise(lambda v: centred(relu, v), NET), atol=1e-8, rtol=0)
    assert relu_prime(0.0) == 0.0  # the course's convention at the kink
    with pytest.raises(ValueError):
        relu(np.array([-1.0, 2.0]))  # one number at a time: the elementwise ReLU is assignment 1's


def test_leaky_relu_prime():
    np.testing.assert_allclose(act.leaky_relu_prime(NET), centred(act.leaky_relu, NET),
                               atol=1e-8, rtol=0)
    assert act.leaky_relu_prime(-1.0) == act.LEAKY_ALPHA


# ---- the course's own code against the package's finite-difference oracle ---------------
# The lecture notebooks' definitions (their def, class and import statements, run in order)
# and the assignment's reference solution, against answers.oracle.

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


def lecture_step(neuron_class, driver, params, o_i, t, activation="sigmoid", learning_rate=0.1):
    """Lecture 4's network of neuron_class after one backward pass by driver: (δ_j, δ_l, gradients)."""
    hidden, outputs = LECTURE_04["build_network"](neuron_class, params, activation)
    old = LECTURE_04["get_params"](hidden, outputs)
    _, y_hat = LECTURE_04["forward_network"](hidden, outputs, o_i)
    driver(hidden, outputs, t, y_hat, learning_rate)
    new = LECTURE_04["get_params"](hidden, outputs)
    return (np.array([n.delta_j for n in hidden]), np.array([n.delta_j for n in outputs]),
            [(a - b) / learning_rate for a, b in zip(old, new)])


def tanh_gradient(params, o_i, t):
    """∂e/∂(W_h, b_h, W_o, b_o) of a tanh network, by the tests' own finite differences."""
    def loss(k):
        def e(p):
            changed = list(params)
            changed[k] = p
            W_h, b_h, W_o, b_o = changed
            return 0.5 * np.sum((t - np.tanh(W_o @ np.tanh(W_h @ o_i + b_h) + b_o)) ** 2)
        return e
    return [quotient(loss(k), p) for k, p in enumerate(params)]


def test_the_lectures_loss_is_the_oracles():
    params, o_i, t = make_network(3, seed=0)
    net = TwoLayerNet(3, 2, 3, "sigmoid")
    assert LECTURE_04["network_loss"](params, o_i, t) == pytest.approx(net.loss(net.pack(*params), o_i, t), rel=1e-14)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_tanh_neuron_follows_the_chain_rule(seed):
    """Lecture 4's tanh neuron and its driver of one output: δ = ∂e/∂net, and (old − new)/η the gradient."""
    params, o_i, t = make_network(1, seed=seed)
    delta_j, delta_l, gradients = lecture_step(LECTURE_04["TanhNeuron"], LECTURE_04["backward_one_output"],
                                               params, o_i, t, activation="tanh", learning_rate=0.5)
    numeric = tanh_gradient(params, o_i, t)
    assert_rel(delta_l, numeric[3], what="δ_l = ∂e/∂b_l")
    assert_rel(delta_j, numeric[1], what="δ_j = ∂e/∂b_j")
    for name, a, n in zip(["w_ij", "b_j", "w_jl", "b_l"], gradients, numeric):
        assert_rel(a, n, atol=1e-11, what=name)


def test_the_seed_lectures_driver_reads_updated_weights():
    """Bug (c): with right tanh neurons, the seed lecture's driver gets the hidden gradients wrong."""
    params, o_i, t = make_network(1, seed=3)
    _, _, gradients = lecture_step(LECTURE_04["TanhNeuron"], LECTURE_04["seed_driver"], params, o_i, t,
                                   activation="tanh", learning_rate=0.5)
    numeric = tanh_gradient(params, o_i, t)
    assert_rel(gradients[2], numeric[2])                                   # the output neuron is right
    assert not np.allclose(gradients[0], numeric[0], rtol=1e-3)           # the hidden ones are not


def test_hidden_delta_without_phi_prime_is_wrong():
    """Bug (b), the seed lecture's backward: δ_j = Σ_l δ_l w_jl does not match the finite
    differences; its output δ, which has φ′, does."""
    params, o_i, t = make_network(1, seed=5)
    delta_j, delta_l, _ = lecture_step(LECTURE_04["SeedNeuron"], LECTURE_04["seed_driver"], params, o_i, t)
    numeric = oracle_gradient(params, o_i, t)
    assert_rel(delta_l, numeric[3])
    assert not np.allclose(delta_j, numeric[1], rtol=1e-2)


@pytest.mark.parametrize("L", [1, 3])
def test_lecture_5s_loops_are_the_gradient(L):
    """Lecture 5's per-neuron loops (lecture 4's formulas, one sample at a time): the gradient of Σ_samples e."""
    rng = np.random.default_rng(40 + L)
    X, T = rng.normal(size=(3, 3)), rng.random((3, L))
    W1, b1, W2, b2 = (rng.normal(scale=0.6, size=shape) for shape in [(3, 2), 2, (2, L), L])
    loops = LECTURE_05["per_neuron_gradients"](X, T, W1, b1, W2, b2)
    numeric = [sum(g) for g in zip(*(oracle_gradient((W1.T, b1, W2.T, b2), x, t) for x, t in zip(X, T)))]
    for name, a, n in zip(["dW1", "db1", "dW2", "db2"], loops, [numeric[0].T, numeric[1], numeric[2].T, numeric[3]]):
        assert_rel(a, n, atol=1e-11, what=name)


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
