"""The catalogue's submissions of 01_neuron: correct ones in different styles, and one per known mistake."""
from __future__ import annotations

from .submission import fill, reference_cells

A1 = "01_neuron"


def _ref1(exercise):
    return reference_cells(A1)[exercise]


def activations_cell(sigmoid, relu, prefix=""):
    """The released activations cell with the student's sigmoid and relu bodies; ``prefix`` above it."""
    return fill(_ref1("activations"), sigmoid, relu, prefix=prefix)


def derivatives_cell(sigmoid_derivative, relu_derivative):
    """The released derivatives cell with the student's bodies of the two derivatives."""
    return fill(_ref1("derivatives"), sigmoid_derivative, relu_derivative)


def loss_cell(loss, loss_derivative):
    """The released loss cell with the student's bodies of the loss and its derivative."""
    return fill(_ref1("loss"), loss, loss_derivative)


def neuron_forward_cell(constructor, forward):
    """The released Neuron cell with the student's constructor and forward bodies."""
    return fill(_ref1("neuron_forward"), constructor, forward)


CORRECT_01 = [
    ("01-correct-where", "np.where and np.square, arrays made in the constructor, np.sum(x * w) in forward", {
        "activations": activations_cell("return 1.0 / (1.0 + np.exp(-net))",
                                    "return np.where(net > 0, net, 0.0)"),
        "derivatives": derivatives_cell("return sigmoid(net) * (1 - sigmoid(net))",
                                    "return np.where(np.asarray(net) > 0, 1.0, 0.0)"),
        "loss": loss_cell("return np.square(np.subtract(t, y_hat)) / 2",
                      "return -(np.asarray(t) - np.asarray(y_hat))"),
        "neuron_forward": neuron_forward_cell("""
            if weights is None:
                weights = np.random.normal(size=inputsize)
            self.weights = np.asarray(weights, dtype=float)
            if bias is None:
                bias = np.random.rand()
            self.bias = float(bias)
            """, """
            net = np.sum(np.asarray(x) * self.weights) + self.bias
            return self.activation(net)
            """),
    }),
    ("01-correct-python", "exp(net)/(1+exp(net)), net * (net > 0), lists kept as given, a loop for net", {
        "activations": activations_cell("return np.exp(net) / (1 + np.exp(net))",
                                    "return net * (net > 0)"),
        "derivatives": derivatives_cell("""
            s = 1 / (1 + np.exp(-net))
            return s - s ** 2
            """, "return (np.asarray(net) > 0) * 1.0"),
        "loss": loss_cell("return (np.array(t) - np.array(y_hat)) ** 2 * 0.5",
                      "return np.array(y_hat) - np.array(t)"),
        "neuron_forward": neuron_forward_cell("""
            self.weights = weights
            if self.weights is None:
                self.weights = np.random.normal(size=inputsize)
            self.bias = bias
            if self.bias is None:
                self.bias = np.random.rand()
            """, """
            net = self.bias
            for w_i, o_i in zip(self.weights, x):
                net += w_i * o_i
            return self.activation(net)
            """),
    }),
    ("01-correct-ufuncs", "np.reciprocal, np.clip, np.heaviside, np.power, the @ operator", {
        "activations": activations_cell("return np.reciprocal(1 + np.exp(-np.array(net, dtype=float)))",
                                    "return np.clip(net, 0, None)"),
        "derivatives": derivatives_cell("return np.exp(-net) / (1 + np.exp(-net)) ** 2",
                                    "return np.heaviside(net, 0.0)"),
        "loss": loss_cell("return 0.5 * np.power(np.asarray(t) - y_hat, 2)",
                      "return np.negative(np.subtract(t, y_hat))"),
        "neuron_forward": neuron_forward_cell("""
            self.weights = weights if weights is not None else np.random.randn(inputsize)
            self.bias = bias if bias is not None else np.random.rand()
            """, "return self.activation(np.asarray(self.weights) @ np.asarray(x) + self.bias)"),
    }),
]

#: (name, description, exercise, code, cell source)
MISTAKES_01 = [
    ("01-activations-relu-if", "relu with `if net > 0`, the original code", "activations", "relu-not-vectorised",
     activations_cell("return 1 / (1 + np.exp(-net))", """
         if net > 0:
             return net
         return 0.0
         """)),
    ("01-activations-relu-max", "relu with the builtin max(0, net)", "activations", "relu-not-vectorised",
     activations_cell("return 1 / (1 + np.exp(-net))", "return max(0, net)")),
    ("01-activations-relu-np-max", "relu as np.max(0, net), which reads net as an axis", "activations",
     "np-max-not-maximum", activations_cell("return 1 / (1 + np.exp(-net))", "return np.max(0, net)")),
    ("01-activations-sigmoid-math", "sigmoid with math.exp", "activations", "sigmoid-not-vectorised",
     activations_cell("return 1 / (1 + math.exp(-net))", "return np.maximum(0, net)", prefix="import math\n\n")),
    ("01-derivatives-of-net", "sigmoid′ as net(1 − net), the formula applied to net", "derivatives",
     "derivative-of-net", derivatives_cell("return net * (1 - net)", "return (np.asarray(net) > 0).astype(float)")),
    ("01-derivatives-relu-sign", "ReLU′ as np.sign(net): −1 for negative net", "derivatives", "relu-derivative-wrong",
     derivatives_cell("""
         o = sigmoid(net)
         return o * (1 - o)
         """, "return np.sign(net)")),
    ("01-derivatives-relu-is-relu", "ReLU′ returns ReLU itself", "derivatives", "relu-derivative-wrong",
     derivatives_cell("""
         o = sigmoid(net)
         return o * (1 - o)
         """, "return np.maximum(0, net)")),
    ("01-derivatives-relu-sigmoid-formula", "ReLU′ as o(1 − o), the sigmoid's formula copied", "derivatives",
     "relu-with-sigmoid-derivative", derivatives_cell("""
         o = sigmoid(net)
         return o * (1 - o)
         """, """
         o = relu(net)
         return o * (1 - o)
         """)),
    ("01-loss-no-half", "e = (t − ŷ)², the ½ left out", "loss", "loss-no-half",
     loss_cell("return (np.asarray(t) - np.asarray(y_hat)) ** 2", "return np.asarray(y_hat) - np.asarray(t)")),
    ("01-loss-gradient-sign", "∂e/∂ŷ = t − ŷ, the inner derivative's −1 forgotten", "loss", "loss-gradient-sign",
     loss_cell("return 0.5 * (np.asarray(t) - np.asarray(y_hat)) ** 2", "return np.asarray(t) - np.asarray(y_hat)")),
    ("01-forward-original-constructor", "the original constructor: `if not weights` / `if not bias`",
     "neuron_forward", "constructor-truthiness", neuron_forward_cell("""
         self.weights = weights
         if not weights:
             self.weights = np.random.normal(size=inputsize)
         self.bias = bias
         if not bias:
             self.bias = np.random.rand()
         """, "return self.activation(np.dot(x, self.weights) + self.bias)")),
    ("01-forward-bias-or", "weights fixed with `is None`, but `bias or np.random.rand()` drops a bias of 0",
     "neuron_forward", "constructor-truthiness", neuron_forward_cell("""
         self.weights = np.random.normal(size=inputsize) if weights is None else weights
         self.bias = bias or np.random.rand()
         """, "return self.activation(np.dot(x, self.weights) + self.bias)")),
    ("01-forward-no-bias", "forward computes φ(w·x), the bias left out", "neuron_forward", "forward-ignores-bias",
     neuron_forward_cell("""
         self.weights = np.random.normal(size=inputsize) if weights is None else weights
         self.bias = np.random.rand() if bias is None else bias
         """, "return self.activation(np.dot(x, self.weights))")),
    ("01-forward-no-activation", "forward returns net, not φ(net)", "neuron_forward", "forward-no-activation",
     neuron_forward_cell("""
         self.weights = np.random.normal(size=inputsize) if weights is None else weights
         self.bias = np.random.rand() if bias is None else bias
         """, "return np.dot(x, self.weights) + self.bias")),
]
