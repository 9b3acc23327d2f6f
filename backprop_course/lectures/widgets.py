"""Live widgets of the lecture notebooks.

Each function returns a small object holding its ipywidgets (``.ui``) and the values it
has computed, so the state can be read from Python (tests, or a curious student):

- ``neuron_playground(activations)``: sliders for w and b, a dropdown for φ; net, o and the
  point on the activation curve (lecture 1);
- ``learning_rate_explorer()``: gradient descent on e(w) = ½(t − w·o_i)² for any η
  (lecture 3);
- ``backprop_stepper(neuron_class, driver)``: Forward / Backward / Update on the seed
  lecture's 3-2-1 network, with any class that has the course's ``forward``/``backward``
  contract and any driver of its backward pass, and a numerical gradient check of what
  they did (lecture 4).

Nothing here implements an exercise: the activations the playground shows, the neuron class
and the backward driver the stepper runs all come from the caller (the lecture notebook, or the
student), and the figures take the functions they draw as arguments.

Displaying the object (last expression of a cell) shows the widget. Figures are drawn
without pyplot and shown as PNG in an ``ipywidgets.Image``, whose ``tooltip`` (the image's
title, which screen readers read as its text alternative) says what the figure shows. Colours
come from the course's colour-blind-safe ``palette``.
"""
import copy
import html
import io

import ipywidgets as W
import numpy as np
import traitlets
from matplotlib.figure import Figure

from . import activations as act
from .. import palette
from .gradcheck import AGREE, derivative, rel_error
from .plots import (describe_activation, describe_descent, describe_network, draw_network, network_figsize,
                    plot_activation, plot_descent)

__all__ = ["neuron_playground", "learning_rate_explorer", "backprop_stepper",
           "classify_learning_rate", "SEED_EXAMPLE"]

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


def _png(fig, dpi=90):
    """Render a Figure to PNG bytes (for an ipywidgets.Image)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)  # fixed layout: "tight" would draw twice
    return buf.getvalue()


class DescribedImage(W.Image):
    """An ``ipywidgets.Image`` whose ``tooltip`` works: the image's title, its text alternative.

    ipywidgets 8's browser side reads ``description`` when it sets an Image's tooltip, and the
    Image model has none: the view fails to render ("Cannot read properties of undefined"),
    in JupyterLab and on the static site alike. An empty ``description`` makes it set the title.
    """

    description = traitlets.Unicode("").tag(sync=True)


class _WidgetBase:
    """Shows ``self.ui`` when the object is displayed in a notebook."""

    ui = None

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.ui)


# --------------------------------------------------------------------------- lecture 1
class NeuronPlayground(_WidgetBase):
    """One neuron o = φ(wᵀx + b) on fixed inputs, with sliders.

    ``activations``: {name: (φ, φ′)}, the activations the dropdown offers (functions of one
    number net), by default the package's tanh and leaky ReLU; lecture 1 adds its own sigmoid
    and ReLU. ``neuron_class``: optional class with the course's Neuron contract,
    ``Neuron(inputsize, weights, bias, activation)`` and ``forward(x)``; it is built from the
    sliders (weights as a list) and its forward compared with φ(net) of ``activations``.

    State read by tests: ``net`` (float), ``output`` (float, o = φ(net)), ``slope``
    (φ′(net)), ``student_output`` (the class's forward, or None), ``student_error`` (what the
    class raised, or None). Widgets: ``weight_sliders`` (list), ``bias_slider``,
    ``activation_dropdown``, ``readout`` (HTML), ``image`` (the activation curve with the
    current point).
    """

    CLASS_ACTIVATIONS = ("sigmoid", "relu")  # what the course's Neuron class knows

    def __init__(self, inputs=(1.0, 2.0, 3.0), weights=(0.5, -0.3, 0.2), bias=0.0,
                 activation=None, activations=None, neuron_class=None):
        self.inputs = np.asarray(inputs, dtype=float)
        self.activations = dict(act.ACTIVATIONS if activations is None else activations)
        self.neuron_class = neuron_class
        self.weight_sliders = [
            W.FloatSlider(value=w, min=-2, max=2, step=0.05, description=f"w_{i + 1}",
                          continuous_update=False)
            for i, w in enumerate(weights)]
        self.bias_slider = W.FloatSlider(value=bias, min=-5, max=5, step=0.1,
                                         description="b", continuous_update=False)
        names = list(self.activations)
        if neuron_class is not None:  # a Neuron class knows sigmoid and ReLU only
            names = [n for n in self.CLASS_ACTIVATIONS if n in self.activations]
            if not names:
                raise ValueError("to run a Neuron class, pass activations with 'sigmoid' or 'relu': "
                                 "{'sigmoid': (sigmoid, sigmoid_prime), 'relu': (relu, relu_prime)}")
        if not names:
            raise ValueError("activations is empty: pass {name: (phi, phi_prime)}")
        self.activation_dropdown = W.Dropdown(options=names, value=activation or names[0],
                                              description="φ")
        self.readout = W.HTML()
        self.image = DescribedImage(format="png")
        self.figure = Figure(figsize=(5.5, 3.6))
        for w in [*self.weight_sliders, self.bias_slider, self.activation_dropdown]:
            w.observe(self._update, names="value")
        inputs_text = ", ".join(f"{v:g}" for v in self.inputs)
        self.ui = W.HBox([
            W.VBox([W.HTML(f"inputs o_i = [{inputs_text}]"), *self.weight_sliders,
                    self.bias_slider, self.activation_dropdown, self.readout]),
            self.image])
        self._update()

    @property
    def weights(self):
        return np.array([s.value for s in self.weight_sliders])

    @property
    def bias(self):
        return float(self.bias_slider.value)

    def _run_class(self, name):
        """The class's forward on the inputs, or the error it raised (shown, not raised)."""
        try:
            neuron = self.neuron_class(inputsize=len(self.inputs), weights=self.weights.tolist(),
                                       bias=self.bias, activation=name)
            return float(neuron.forward(self.inputs.tolist())), None
        except Exception as exc:  # the student's code: report it in the readout
            return None, f"{type(exc).__name__}: {exc}"

    def _update(self, change=None):
        name = self.activation_dropdown.value
        phi, dphi = self.activations[name]
        self.net = float(self.weights @ self.inputs + self.bias)  # net = Σ_i w_i o_i + b
        self.output = float(phi(self.net))
        self.slope = float(dphi(self.net))
        self.student_output = self.student_error = None
        text = (f"net = Σ w_i·o_i + b = <b>{self.net:.4f}</b><br>"
                f"o = φ(net) = <b>{self.output:.4f}</b><br>φ′(net) = {self.slope:.4f}")
        if self.neuron_class is not None:
            self.student_output, self.student_error = self._run_class(name)
            if self.student_error is not None:
                text += (f"<br>your Neuron: <span style='color:{palette.WARNING_TEXT}'>✘ raised "
                         f"{html.escape(self.student_error)}</span>")
            else:
                ok = np.isclose(self.student_output, self.output, rtol=1e-9, atol=1e-12)
                text += (f"<br>your Neuron: {self.student_output:.4f} "
                         + ("✔" if ok else f"<span style='color:{palette.WARNING_TEXT}'>✘ differs</span>"))
        self.readout.value = text
        lim = max(8.0, abs(self.net) + 1.0)
        self.figure.clear()
        ax = self.figure.add_subplot()
        plot_activation(phi, dphi, name, ax=ax, net_range=(-lim, lim), mark=self.net)
        self.figure.subplots_adjust(left=0.1, right=0.97, bottom=0.14, top=0.91)
        self.image.value = _png(self.figure)
        self.image.tooltip = describe_activation(phi, dphi, name, (-lim, lim), mark=self.net)


def neuron_playground(inputs=(1.0, 2.0, 3.0), weights=(0.5, -0.3, 0.2), bias=0.0,
                      activation=None, activations=None, neuron_class=None):
    """Sliders for w and b and a dropdown for φ on one neuron; returns a NeuronPlayground.

    Inputs:
    - inputs: the inputs o_i, shape (m,)
    - weights: starting weights, shape (m,); bias: starting bias
    - activation: the name shown first (by default the first of ``activations``)
    - activations: {name: (φ, φ′)}, functions of one number; by default the package's tanh and
      leaky ReLU (``activations.ACTIVATIONS``)
    - neuron_class: optional class with the course's Neuron contract; its forward is run
      too and compared with φ(net)
    """
    return NeuronPlayground(inputs, weights, bias, activation, activations, neuron_class)


# --------------------------------------------------------------------------- lecture 3
def classify_learning_rate(eta, curvature):
    """Regime of gradient descent on a quadratic loss with second derivative ``curvature``.

    One step multiplies the distance to the minimum by (1 − η·a), a = curvature:
    0 < ηa < 0.5 'slow', 0.5 ≤ ηa ≤ 1 'good', 1 < ηa < 2 'oscillating' (converges while
    changing side), ηa = 2 'bouncing' (the factor is −1: it jumps between the same two points
    forever, neither converging nor diverging), ηa > 2 'diverging'. ηa within 1e-9 of 2
    counts as 2 (a slider's η·a can miss 2 by a rounding error).
    """
    q = eta * curvature
    if q < 0.5:
        return "slow"
    if q <= 1.0:
        return "good"
    if abs(q - 2.0) <= 1e-9:
        return "bouncing"
    if q < 2.0:
        return "oscillating"
    return "diverging"


class LearningRateExplorer(_WidgetBase):
    """Gradient descent on e(w) = ½(t − w·o_i)² (one linear neuron, one weight, no bias).

    de/dw = (w·o_i − t)·o_i, so the minimum is w* = t/o_i and the curvature is a = o_i².
    State: ``ws`` (shape (steps+1,), the path of w), ``losses`` (e at each w),
    ``regime`` (see ``classify_learning_rate``). Widgets: ``eta_slider``,
    ``steps_slider``, ``w0_slider``, ``preset_buttons`` (dict regime -> Button).
    """

    PRESETS = {"slow": 0.02, "good": 0.2, "oscillating": 0.4, "bouncing": 0.5, "diverging": 0.55}

    def __init__(self, o_i=2.0, t=1.0, eta=0.02, steps=20, w0=-1.0):
        self.o_i, self.t = float(o_i), float(t)
        self.w_star = self.t / self.o_i
        self.curvature = self.o_i ** 2
        self.eta_slider = W.FloatSlider(value=eta, min=0.005, max=0.6, step=0.005,
                                        readout_format=".3f", description="η",
                                        continuous_update=False)
        self.steps_slider = W.IntSlider(value=steps, min=1, max=50, description="steps",
                                        continuous_update=False)
        self.w0_slider = W.FloatSlider(value=w0, min=-2, max=3, step=0.1,
                                       description="start w", continuous_update=False)
        self.preset_buttons = {}
        for name, value in self.PRESETS.items():
            button = W.Button(description=f"{name} (η={value})",
                              layout=W.Layout(width="150px"))
            button.on_click(lambda _b, v=value: setattr(self.eta_slider, "value", v))
            self.preset_buttons[name] = button
        self.readout = W.HTML()
        self.image = DescribedImage(format="png")
        self.figure = Figure(figsize=(10, 3.6))
        for s in (self.eta_slider, self.steps_slider, self.w0_slider):
            s.observe(self._update, names="value")
        self.ui = W.VBox([W.HBox(list(self.preset_buttons.values())),
                          W.HBox([self.eta_slider, self.steps_slider, self.w0_slider]),
                          self.readout, self.image])
        self._update()

    def loss(self, w):
        """e(w) = ½(t − w·o_i)², for a float or an array of weights."""
        return 0.5 * (self.t - np.asarray(w, dtype=float) * self.o_i) ** 2

    def grad(self, w):
        """de/dw = (w·o_i − t)·o_i."""
        return (w * self.o_i - self.t) * self.o_i

    def _update(self, change=None):
        eta = float(self.eta_slider.value)
        ws = [float(self.w0_slider.value)]
        for _ in range(self.steps_slider.value):
            ws.append(ws[-1] - eta * self.grad(ws[-1]))  # w ← w − η·de/dw
        self.ws = np.array(ws)
        with np.errstate(over="ignore"):
            self.losses = self.loss(self.ws)
        self.regime = classify_learning_rate(eta, self.curvature)
        factor = 1 - eta * self.curvature
        self.readout.value = (
            f"η·a = {eta * self.curvature:.3f} (a = o_i² = {self.curvature:g}); each step "
            f"multiplies w − w* by 1 − η·a = {factor:.3f} → <b>{self.regime}</b>; "
            f"after {len(ws) - 1} steps w = {self.ws[-1]:.4g}, e = {self.losses[-1]:.3g}")
        self.figure.clear()
        axes = self.figure.subplots(1, 2)
        plot_descent(self.ws, self.loss, self.w_star, axes=axes,
                     title=f"η = {eta:.3f}: {self.regime}",
                     w_range=(self.w_star - 2.8, self.w_star + 2.8))
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.91, wspace=0.25)
        self.image.value = _png(self.figure)
        self.image.tooltip = f"η = {eta:.3f}, {self.regime}. " + describe_descent(self.ws, self.loss, self.w_star)


def learning_rate_explorer(o_i=2.0, t=1.0, eta=0.02, steps=20, w0=-1.0):
    """Slider for η (and presets for each regime) on e(w) = ½(t − w·o_i)².

    Returns a LearningRateExplorer; its ``ws``, ``losses`` and ``regime`` follow the
    sliders.
    """
    return LearningRateExplorer(o_i, t, eta, steps, w0)


# --------------------------------------------------------------------------- lecture 4
class BackpropStepper(_WidgetBase):
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
        self.image.value = _png(self.figure)
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
