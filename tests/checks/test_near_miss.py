"""The checks' stated tolerance, pinned through the public checks.

An answer is right within a relative 1e-5 plus an absolute 1e-7 of the finite-difference
oracle (``RTOL, ATOL`` of ``checks/core.py``). The reference solutions of source/, with
every number they hand back moved by a factor 1 + k (or by an offset, for a value of 0):
off by RTOL / 10 passes, off by 10 × RTOL fails. A loosened or tightened tolerance fails
here (loosened tenfold, or tightened more than tenfold). The values are written out, not
imported: this is the promise the checks must keep.
"""
import numpy as np
import pytest

from backprop_course.checks.backprop import (check_neuron_backward_hidden, check_neuron_backward_output,
                                             check_network_train, check_train)
from backprop_course.checks.neuron import check_activation, check_derivative, check_loss
from answers.catalogue import EXERCISES, reference_cells

RTOL, ATOL = 1e-5, 1e-7  # stated in checks/core.py
NEAR, FAR = RTOL / 10, 10 * RTOL


def reference(assignment):
    """The namespace of source/<assignment>'s solution cells, run in notebook order."""
    namespace = {}
    exec("import numpy as np", namespace)  # the notebooks' first cell
    cells = reference_cells(assignment)
    for exercise in EXERCISES[assignment]:
        exec(compile(cells[exercise], f"<reference {exercise}>", "exec"), namespace)
    return namespace


A1, A2 = reference("01_neuron"), reference("02_backprop")


def scaled(value, k):
    return np.asarray(value, dtype=float) * (1 + k)


def off_neuron(k):
    """02_backprop's reference Neuron whose δ, weights and bias after backward() are off by 1 + k."""
    class Neuron(A2["Neuron"]):
        def backward(self, *args, **kwargs):
            super().backward(*args, **kwargs)
            self.delta_j = float(scaled(self.delta_j, k))
            self.weights, self.bias = scaled(self.weights, k), float(scaled(self.bias, k))
    return Neuron


def off_train(k):
    """The reference train(): its epoch losses and the trained weights and biases off by 1 + k."""
    def train(hidden, output, inputs, targets, **kwargs):
        history = A2["train"](hidden, output, inputs, targets, **kwargs)
        for neuron in [*hidden, output]:
            neuron.weights, neuron.bias = scaled(neuron.weights, k), float(scaled(neuron.bias, k))
        return list(scaled(history, k))
    return train


def off_network(k):
    """The reference Network whose train() returns epoch losses off by 1 + k."""
    class Network(A2["Network"]):
        def train(self, *args, **kwargs):
            return list(scaled(super().train(*args, **kwargs), k))
    return Network


#: name -> a function of k that runs one public check on a solution off by 1 + k
CHECKS = {
    "sigmoid": lambda k: check_activation(lambda net: scaled(A1["sigmoid"](net), k), "sigmoid",
                                          nets=[-2.0, -0.5, 0.3, 1.7]),
    "sigmoid_derivative": lambda k: check_derivative(lambda net: scaled(A1["sigmoid_derivative"](net), k),
                                                     "sigmoid", nets=[-2.0, -0.5, 0.3, 1.7]),
    "loss": lambda k: check_loss(lambda t, y: scaled(A1["loss"](t, y), k), A1["loss_derivative"],
                                 t=[1.0, 0.0, 0.7], y_hat=[0.6, 0.2, 0.1]),
    "loss_derivative": lambda k: check_loss(A1["loss"], lambda t, y: scaled(A1["loss_derivative"](t, y), k),
                                            t=[1.0, 0.0, 0.7], y_hat=[0.6, 0.2, 0.1]),
    "output neuron": lambda k: check_neuron_backward_output(off_neuron(k), seed=11, learning_rate=0.35),
    "hidden neuron": lambda k: check_neuron_backward_hidden(off_neuron(k), seed=21, learning_rate=0.3, n_outputs=3),
    "train": lambda k: check_train(off_train(k), seed=0, epochs=3, learning_rate=0.1),
    "Network.train": lambda k: check_network_train(off_network(k), seed=0, epochs=3, learning_rate=0.1),
}


@pytest.mark.parametrize("name", CHECKS)
def test_the_reference_passes(name):
    CHECKS[name](0.0)


@pytest.mark.parametrize("sign", [1, -1], ids=["above", "below"])
@pytest.mark.parametrize("name", CHECKS)
def test_a_tenth_of_the_tolerance_passes(name, sign):
    CHECKS[name](sign * NEAR)


@pytest.mark.parametrize("sign", [1, -1], ids=["above", "below"])
@pytest.mark.parametrize("name", CHECKS)
def test_ten_times_the_tolerance_fails(name, sign):
    with pytest.raises(AssertionError, match="(is|are) wrong"):
        CHECKS[name](sign * FAR)


def off_hidden_relu(offset):
    """A ReLU hidden neuron that is off (net < 0): δ_j is 0; the reference's δ_j plus ``offset``."""
    class Neuron(A2["Neuron"]):
        def backward(self, *args, **kwargs):
            super().backward(*args, **kwargs)
            self.delta_j = self.delta_j + offset
    return Neuron


def test_the_absolute_tolerance_near_zero():
    check = lambda offset: check_neuron_backward_hidden(off_hidden_relu(offset), seed=32, activation="relu",  # noqa: E731
                                                        n_outputs=2, positive=False)
    check(0.0)
    check(ATOL / 10)
    check(-ATOL / 10)
    for offset in (10 * ATOL, -10 * ATOL):
        with pytest.raises(AssertionError, match="δ_j of the hidden neuron"):
            check(offset)
