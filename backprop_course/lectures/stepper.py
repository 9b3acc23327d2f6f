"""Lecture 4's backprop stepper: Forward / Backward / Update, one phase per click, on the seed
lecture's 3-2-1 network, with any class that has the course's ``forward``/``backward``
contract and any driver of its backward pass, and a numerical gradient check of what they did.

Nothing here implements an exercise: the neuron class and the backward driver come from the
caller (the lecture notebook, or the student).
"""
import copy
import html

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import palette
from .gradcheck import AGREE, derivative, rel_error
from .plots import describe_network, draw_network, network_figsize
from .widget_base import DescribedImage, WidgetBase, png

__all__ = ["backprop_stepper", "BackpropStepper", "SEED_EXAMPLE"]

# The seed lecture's network: 3 inputs, 2 hidden neurons, 1 output neuron. The weights are the
# ones it prints; it does not print its (random) biases, these are recovered from its printed
# output so that the forward pass gives its estimate ŷ = 0.6131.
SEED_EXAMPLE = {
    "inputs": [1.0, 2.0, 3.0],
    "t": [1.0],
    "hidden_weights": [[-0.41451339, -1.77081177, -1.15804613],
                       [-1.78363994, -1.89654933, -0.46369448]],
    "hidden_biases": [0.53991, 0.99063],
    "output_weights": [[-0.43875046, 0.81212614]],
    "output_biases": [0.45877],
}


class BackpropStepper(WidgetBase):
    """Forward / Backward / Update, one phase per click, on a network of neurons.

    The network has hidden neurons j (each with inputs o_i) and output neurons l (each
    with inputs o_j), built from ``neuron_class``; ``driver`` does the backward pass. Per step:
    - Forward: o_j = neuron_j.forward(o_i), ŷ_l = neuron_l.forward(o_j).
    - Backward: ``driver(hidden, outputs, t, y_hat, learning_rate)``, which calls the neurons'
      ``backward`` in its own way (the seed lecture's driver, a corrected one, the student's).
      The weights they computed are kept as ``pending`` and the neurons are put back, so the
      diagram still shows the old weights next to the new δ. What they did, as a gradient,
      (w_old − w_new)/η, is compared with centred finite differences (h = ``gradcheck.STEP``)
      of e = ½ Σ_l (t_l − ŷ_l)² through the class's own forward, one parameter at a time, by
      the course's relative error (``gradcheck.rel_error``): ✔ below ``grad_tol``
      (``gradcheck.AGREE``, 1e-7).
    - Update: the pending weights are installed.

    State: ``phase`` ('ready', 'forward', 'backward', 'update'), ``o_j`` (J,),
    ``y_hat`` (L,), ``error`` (e), ``delta_j`` (J,), ``delta_l`` (L,),
    ``grad_backward`` and ``grad_numeric`` (dicts name -> float, names like 'w_13',
    'b_3' in the seed lecture's numbering), ``grad_rel_error`` (dict name -> relative error),
    ``max_rel_error``, ``max_grad_error`` (absolute), ``steps`` (updates done),
    ``history`` (e at each forward), ``warnings`` (list of str).
    Widgets: ``forward_button``, ``backward_button``, ``update_button``,
    ``reset_button``, ``status`` (HTML), ``image``.
    """

    def __init__(self, neuron_class, driver, inputs=None, t=None, hidden_weights=None,
                 hidden_biases=None, output_weights=None, output_biases=None,
                 n_outputs=None, learning_rate=0.1, activation="sigmoid", seed=0,
                 grad_tol=AGREE):
        if not callable(neuron_class) or not callable(driver):
            raise TypeError("backprop_stepper(neuron_class, driver): a Neuron class and a function "
                            "driver(hidden, outputs, t, y_hat, learning_rate) that runs their backward pass")
        ex = SEED_EXAMPLE
        self.neuron_class, self.driver = neuron_class, driver
        self.inputs = np.asarray(ex["inputs"] if inputs is None else inputs, dtype=float)
        Wh = np.asarray(ex["hidden_weights"] if hidden_weights is None else hidden_weights,
                        dtype=float)                                     # (J, I)
        bh = np.asarray(ex["hidden_biases"] if hidden_biases is None else hidden_biases,
                        dtype=float)                                     # (J,)
        rng = np.random.default_rng(seed)
        L = n_outputs or (len(output_weights) if output_weights is not None
                          else len(ex["output_weights"]))
        if output_weights is None:
            Wo = (np.asarray(ex["output_weights"], dtype=float) if L == 1
                  else rng.normal(size=(L, len(Wh))))
        else:
            Wo = np.asarray(output_weights, dtype=float)                 # (L, J)
        if output_biases is None:
            bo = (np.asarray(ex["output_biases"], dtype=float) if L == 1
                  else rng.random(L))
        else:
            bo = np.asarray(output_biases, dtype=float)                  # (L,)
        if t is None:
            t = ex["t"] if L == 1 else [1.0 if l == 0 else 0.0 for l in range(L)]
        self.t = np.atleast_1d(np.asarray(t, dtype=float))               # (L,)
        self.learning_rate = float(learning_rate)
        self.activation = activation
        self.grad_tol = grad_tol
        self._initial = (Wh, bh, Wo, bo)
        self.J, self.L = len(Wh), len(Wo)

        self.forward_button = W.Button(description="Forward", button_style="info")
        self.backward_button = W.Button(description="Backward", button_style="warning")
        self.update_button = W.Button(description="Update", button_style="success")
        self.reset_button = W.Button(description="Reset")
        self.forward_button.on_click(lambda _b: self.forward())
        self.backward_button.on_click(lambda _b: self.backward())
        self.update_button.on_click(lambda _b: self.update())
        self.reset_button.on_click(lambda _b: self.reset())
        self.status = W.HTML()
        self.image = DescribedImage(format="png")
        self.figure = Figure(figsize=network_figsize((len(self.inputs), self.J, self.L)))
        self.ui = W.VBox([
            W.HBox([self.forward_button, self.backward_button, self.update_button,
                    self.reset_button]),
            W.HTML(f"<i>{html.escape(self._who())}</i>"), self.image, self.status])
        self.reset()

    def _who(self):
        name = getattr(self.neuron_class, "__name__", "the class")
        driver = getattr(self.driver, "__name__", "the driver")
        return f"neurons of class {name}, backward pass by {driver}"

    # ---- the network -----------------------------------------------------------
    def _make(self, inputsize, w, b):
        try:
            neuron = self.neuron_class(inputsize=inputsize, weights=np.array(w),
                                       bias=float(b), activation=self.activation)
        except Exception as exc:  # e.g. `if not weights` on a numpy array
            raise RuntimeError(
                f"{self.neuron_class.__name__}(weights=<numpy array>, bias={b:g}) failed: "
                f"{exc!r}. Test for a missing argument with `is None`.") from exc
        if not (np.allclose(np.asarray(neuron.weights, dtype=float), w)
                and np.isclose(float(neuron.bias), b)):
            self.warnings.append(
                f"Neuron(weights={np.round(w, 4).tolist()}, bias={b:g}) did not keep the "
                "given weights/bias (constructor bug?)")
        return neuron

    def _params(self):
        """Snapshot of every neuron's (weights, bias), deep-copied."""
        return [(copy.deepcopy(n.weights), copy.deepcopy(n.bias))
                for n in self.hidden + self.outputs]

    def _restore(self, params):
        for n, (w, b) in zip(self.hidden + self.outputs, params):
            n.weights, n.bias = copy.deepcopy(w), copy.deepcopy(b)

    def _names(self):
        """Parameter names in the seed lecture's numbering: inputs i, hidden j, outputs l."""
        I = len(self.inputs)
        names = []
        for j in range(self.J):
            names.append([f"w_{i + 1}{j + 1}" for i in range(I)] + [f"b_{j + 1}"])
        for l in range(self.L):
            L = self.J + l + 1
            names.append([f"w_{j + 1}{L}" for j in range(self.J)] + [f"b_{L}"])
        return names

    def _run_forward(self):
        o_j = [float(n.forward(self.inputs)) for n in self.hidden]
        y_hat = [float(n.forward(o_j)) for n in self.outputs]
        return np.array(o_j), np.array(y_hat)

    def _loss(self):
        _, y_hat = self._run_forward()
        return 0.5 * float(np.sum((self.t - y_hat) ** 2))  # e = ½ Σ_l (t_l − ŷ_l)²

    def _numeric_gradient(self):
        """∂e/∂(each neuron's weights and bias), one parameter at a time: the centred difference
        of e as a function of that one number, through the class's own forward. One list
        [w..., b] per neuron."""
        base = self._params()
        grads = []
        for neuron, (w0, b0) in zip(self.hidden + self.outputs, base):
            w0 = np.array(w0, dtype=float)

            def e_of_weight(v, i):
                w = w0.copy()
                w[i] = v
                neuron.weights = w
                return self._loss()

            def e_of_bias(v):
                neuron.bias = v
                return self._loss()

            row = [derivative(lambda v, i=i: e_of_weight(v, i), w0[i]) for i in range(len(w0))]
            neuron.weights = w0.copy()
            row.append(derivative(e_of_bias, float(b0)))
            self._restore(base)
            grads.append(row)
        return grads

    # ---- the three phases --------------------------------------------------------
    def reset(self):
        """Rebuild the network with its initial weights."""
        Wh, bh, Wo, bo = self._initial
        self.warnings = []
        self.hidden = [self._make(len(self.inputs), Wh[j], bh[j]) for j in range(self.J)]
        self.outputs = [self._make(self.J, Wo[l], bo[l]) for l in range(self.L)]
        self.phase = "ready"
        self.o_j = self.y_hat = self.delta_j = self.delta_l = None
        self.error = None
        self.pending = None
        self.grad_backward = self.grad_numeric = None
        self.grad_rel_error = None
        self.max_grad_error = self.max_rel_error = None
        self.steps = 0
        self.history = []
        self._redraw()

    def forward(self):
        """Forward pass with the current weights."""
        self.o_j, self.y_hat = self._run_forward()
        self.error = 0.5 * float(np.sum((self.t - self.y_hat) ** 2))
        self.history.append(self.error)
        self.delta_j = self.delta_l = None
        self.pending = None
        self.phase = "forward"
        self._redraw()

    def backward(self):
        """The driver's backward pass; keeps the new weights as ``pending``."""
        if self.phase != "forward":
            self.forward()
        old = self._params()
        numeric = self._numeric_gradient()
        self._run_forward()  # the finite differences overwrote the stored o_i, o_j
        eta = self.learning_rate
        self.driver(self.hidden, self.outputs, self.t, self.y_hat, eta)
        self.delta_l = np.array([float(n.delta_j) for n in self.outputs])
        self.delta_j = np.array([float(n.delta_j) for n in self.hidden])
        self.pending = self._params()
        self._restore(old)
        # What backward did, as a gradient: (w_old − w_new)/η.
        self.grad_backward, self.grad_numeric = {}, {}
        for names, (w0, b0), (w1, b1), g in zip(self._names(), old, self.pending, numeric):
            implied = list((np.asarray(w0, float) - np.asarray(w1, float)) / eta)
            implied.append((float(b0) - float(b1)) / eta)
            for name, a, nmr in zip(names, implied, g):
                self.grad_backward[name] = float(a)
                self.grad_numeric[name] = float(nmr)
        self.max_grad_error = max(abs(self.grad_backward[k] - self.grad_numeric[k])
                                  for k in self.grad_backward)
        # The course's yardstick (lecture 4): the gradients differ by orders of magnitude, and
        # an absolute tolerance passes bug (c) on the seed lecture's example.
        self.grad_rel_error = {k: rel_error(self.grad_backward[k], self.grad_numeric[k])
                               for k in self.grad_backward}
        self.max_rel_error = max(self.grad_rel_error.values())
        self.phase = "backward"
        self._redraw()

    def update(self):
        """Install the weights computed by backward."""
        if self.phase != "backward":
            self.backward()
        self._restore(self.pending)
        self.pending = None
        self.steps += 1
        self.phase = "update"
        self._redraw()

    # ---- display -------------------------------------------------------------------
    def _redraw(self):
        Wh = np.array([np.asarray(n.weights, dtype=float) for n in self.hidden])   # (J, I)
        Wo = np.array([np.asarray(n.weights, dtype=float) for n in self.outputs])  # (L, J)
        bh = [float(n.bias) for n in self.hidden]
        bo = [float(n.bias) for n in self.outputs]
        show_o = self.phase in ("forward", "backward")
        values = [self.inputs, self.o_j if show_o else None,
                  self.y_hat if show_o else None]
        deltas = [None, self.delta_j, self.delta_l] if self.phase == "backward" else None
        titles = {"ready": "ready: press Forward",
                  "forward": f"after Forward: e = {self.error:.6f}" if self.error is not None else "",
                  "backward": "after Backward: δ computed, weights not changed yet",
                  "update": f"after Update {self.steps}: new weights (press Forward)"}
        self.figure.clear()
        ax = self.figure.add_axes((0.0, 0.0, 1.0, 0.94))
        drawn = dict(values=values, weights=[Wh.T, Wo.T], deltas=deltas, biases=[None, bh, bo],
                     title=titles[self.phase])
        draw_network((len(self.inputs), self.J, self.L), ax=ax, **drawn)
        self.image.value = png(self.figure)
        self.image.tooltip = describe_network((len(self.inputs), self.J, self.L), **drawn)
        self.status.value = self._status_html()

    def _status_html(self):
        parts = [f"<b>phase:</b> {self.phase} &nbsp; <b>t</b> = {self.t.tolist()} "
                 f"&nbsp; <b>η</b> = {self.learning_rate:g} &nbsp; updates: {self.steps}"]
        if self.history:
            parts.append("e per forward pass: "
                         + ", ".join(f"{e:.6f}" for e in self.history[-8:]))
        for w in self.warnings:
            parts.append(f"<span style='color:{palette.WARNING_TEXT}'>⚠ {html.escape(w)}</span>")
        if self.grad_backward:
            rows = "".join(
                f"<tr><td>{k}</td><td>{self.grad_backward[k]:+.3e}</td>"
                f"<td>{self.grad_numeric[k]:+.3e}</td><td>{self.grad_rel_error[k]:.1e}</td><td>"
                + ("✔" if self.grad_rel_error[k] < self.grad_tol else "✘")
                + "</td></tr>" for k in self.grad_backward)
            parts.append("<table><tr><th>parameter</th><th>∂e/∂w from backward</th>"
                         "<th>finite differences</th><th>relative error</th><th></th></tr>"
                         + rows + "</table>"
                         f"max relative error: {self.max_rel_error:.1e} (✔ below {self.grad_tol:g})")
        return "<br>".join(parts)

    def report(self):
        """The gradient table as text, one parameter a line (after ``backward``)."""
        if not self.grad_backward:
            return "no backward pass yet"
        lines = [f"{'':>6} {'backward':>11} {'finite diff.':>12} {'rel. error':>10}"]
        for k in self.grad_backward:
            mark = "ok" if self.grad_rel_error[k] < self.grad_tol else "WRONG"
            lines.append(f"{k:>6} {self.grad_backward[k]:+.4e} {self.grad_numeric[k]:+.4e} "
                         f"{self.grad_rel_error[k]:10.1e}  {mark}")
        return "\n".join(lines)


def backprop_stepper(neuron_class, driver, **kwargs):
    """Step through forward, backward and update on the seed lecture's 3-2-1 network.

    Inputs:
    - neuron_class: a class with the course's Neuron contract, ``Neuron(inputsize, weights,
      bias, activation)``, ``forward(x)`` and ``backward(t, y_hat, delta_l, w_l,
      learning_rate, output_neuron)`` storing ``delta_j`` (lecture 4's, or your own)
    - driver: ``driver(hidden, outputs, t, y_hat, learning_rate)``, one backward pass over the
      lists of hidden and output neurons (t and y_hat: one entry per output neuron)
    - kwargs: see ``BackpropStepper`` (inputs, t, hidden_weights (J, I), hidden_biases
      (J,), output_weights (L, J), output_biases (L,), n_outputs, learning_rate,
      activation (passed to the class), seed, grad_tol)

    Returns a BackpropStepper; click its buttons or call ``forward()``, ``backward()``,
    ``update()``; ``report()`` prints its gradient table.
    """
    return BackpropStepper(neuron_class, driver, **kwargs)
