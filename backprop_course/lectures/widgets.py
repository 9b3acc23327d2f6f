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
  they did (lecture 4; ``stepper.py``, re-exported here).

Nothing here implements an exercise: the activations the playground shows, the neuron class
and the backward driver the stepper runs all come from the caller (the lecture notebook, or the
student), and the figures take the functions they draw as arguments.

Displaying the object (last expression of a cell) shows the widget (``widget_base``). Figures
are drawn without pyplot and shown as PNG in an ``ipywidgets.Image``, whose ``tooltip`` (the
image's title, which screen readers read as its text alternative) says what the figure shows.
Colours come from the course's colour-blind-safe ``palette``.
"""
import html

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import palette
from . import activations as act
from .plots import describe_activation, describe_descent, plot_activation, plot_descent
from .stepper import SEED_EXAMPLE, BackpropStepper, backprop_stepper  # noqa: F401 (lecture 4's, as notebooks import it)
from .widget_base import DescribedImage, WidgetBase, png

__all__ = ["neuron_playground", "learning_rate_explorer", "backprop_stepper",
           "classify_learning_rate", "SEED_EXAMPLE"]


# --------------------------------------------------------------------------- lecture 1
class NeuronPlayground(WidgetBase):
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
        """w: shape (I,), the sliders' weights."""
        return np.array([s.value for s in self.weight_sliders])

    @property
    def bias(self):
        """b: the bias slider's value."""
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
        self.image.value = png(self.figure)
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


class LearningRateExplorer(WidgetBase):
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
        self.image.value = png(self.figure)
        self.image.tooltip = f"η = {eta:.3f}, {self.regime}. " + describe_descent(self.ws, self.loss, self.w_star)


def learning_rate_explorer(o_i=2.0, t=1.0, eta=0.02, steps=20, w0=-1.0):
    """Slider for η (and presets for each regime) on e(w) = ½(t − w·o_i)².

    Returns a LearningRateExplorer; its ``ws``, ``losses`` and ``regime`` follow the
    sliders.
    """
    return LearningRateExplorer(o_i, t, eta, steps, w0)
