"""Lecture 6's helpers: initialisations, data sets, the decision-boundary figure, and a widget.

- ``INITS``: the initialisations of lecture 6, section 4, as the standard deviation of W from
  the layer's fan_in and fan_out;
- ``plot_decision_boundary``: the class a predictor gives every point of the plane;
- ``boundary_trainer(net_class)``: a widget that trains a 2-layer net of the caller's class and
  redraws the decision boundary as it learns, with controls for the hidden size, η and the
  initialisation.

The net itself is the lecture notebook's (or the student's): nothing here computes a loss, a
gradient or a training step, which are assignment 3's exercises. Shapes follow lecture 5: samples
are rows, W_k has shape (fan_in, fan_out). Every random number comes from a seeded
``np.random.default_rng``.
"""
import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import palette
from ..datasets import spirals, split, two_moons, xor
from .widget_base import DescribedImage, WidgetBase, png

__all__ = ["INITS", "accuracy", "standardise", "plot_decision_boundary", "boundary_trainer",
           "BoundaryTrainer", "DATASETS"]

#: initialisations: name -> the standard deviation of W, a function of the layer's (fan_in, fan_out)
INITS = {
    "he": lambda fan_in, fan_out: np.sqrt(2.0 / fan_in),                # ReLU keeps the variance of its input
    "lecun": lambda fan_in, fan_out: np.sqrt(1.0 / fan_in),             # tanh and sigmoid, forward pass
    "xavier": lambda fan_in, fan_out: np.sqrt(2.0 / (fan_in + fan_out)),  # Glorot and Bengio: forward and backward
    "small": lambda fan_in, fan_out: 0.01,
    "large": lambda fan_in, fan_out: 3.0,
    "zeros": lambda fan_in, fan_out: 0.0,                               # every hidden neuron stays the same
}

#: the data sets of the widget: name -> function(seed) returning (X, y)
DATASETS = {
    "two moons": lambda seed: two_moons(n=300, noise=0.15, seed=seed),
    "spirals": lambda seed: spirals(n_per_class=100, seed=seed),
    "xor": lambda seed: xor(n=300, seed=seed),
}


def accuracy(predicted, y):
    """The share of predicted classes equal to y."""
    return float(np.mean(np.asarray(predicted) == np.asarray(y)))


def standardise(X, reference=None):
    """Each column moved to mean 0 and scaled to standard deviation 1 (with the reference's statistics)."""
    reference = X if reference is None else reference
    return (X - reference.mean(axis=0)) / reference.std(axis=0)


def plot_decision_boundary(predict, X, y, ax, resolution=150, margin=0.3, title=None):
    """Colour every point of the plane by ``predict`` (N, 2) → classes, and draw the samples on top."""
    from matplotlib.colors import ListedColormap

    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    classes = np.asarray(predict(np.c_[gx.ravel(), gy.ravel()])).reshape(gx.shape)
    C = int(max(classes.max(), np.max(y))) + 1
    regions = ListedColormap(palette.CLASS_FILLS[:C])
    # an image, not contourf: a fraction of the drawing time, which the widget pays at every frame
    ax.imshow(classes, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap=regions, vmin=-0.5,
              vmax=C - 0.5, interpolation="nearest", aspect="equal")
    for k in np.unique(y):  # one colour and one marker per class
        ax.scatter(*X[y == k].T, color=palette.CLASS_COLOURS[k], marker=palette.CLASS_MARKERS[k],
                   s=12, edgecolors="k", linewidths=0.3)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    if title:
        ax.set_title(title, fontsize=10)
    return ax


# --------------------------------------------------------------------------- the widget
class BoundaryTrainer(WidgetBase):
    """Trains a 2-layer net of the caller's class, redrawing the decision boundary as it learns.

    ``net_class(sizes, init=name, seed=seed)`` makes a net with sizes [2, H, C] and a name of
    ``INITS``; ``net.train_epoch(X, y, learning_rate, rng)`` trains it one epoch and returns
    the epoch's mean loss; ``net.predict(X)`` gives a class per row of X (N, 2).

    Controls: ``dataset_dropdown``, ``hidden_slider`` (H), ``eta_slider`` (η, log scale),
    ``init_dropdown`` (``INITS``), ``epochs_slider`` (epochs per click); ``train_button`` trains
    that many epochs, redrawing ``frames`` times; ``reset_button`` (and any control) starts
    again from a fresh net. State: ``net``, ``epochs`` (done so far), ``losses`` (the mean loss
    of each epoch), ``train_accuracy`` and ``test_accuracy`` (after each epoch),
    ``frames_drawn`` (redraws since the widget was made). Widgets: ``image``, ``readout``.
    """

    def __init__(self, net_class, dataset="two moons", hidden=16, learning_rate=0.05, init="he", epochs=20,
                 seed=0, frames=5):
        self.net_class, self.seed, self.frames = net_class, seed, frames
        self.dataset_dropdown = W.Dropdown(options=list(DATASETS), value=dataset, description="data")
        self.hidden_slider = W.IntSlider(value=hidden, min=1, max=64, description="hidden H",
                                         continuous_update=False)
        self.eta_slider = W.FloatLogSlider(value=learning_rate, base=10, min=-3, max=1, step=0.25,
                                           description="η", continuous_update=False)
        self.init_dropdown = W.Dropdown(options=list(INITS), value=init, description="init")
        self.epochs_slider = W.IntSlider(value=epochs, min=1, max=200, description="epochs",
                                         continuous_update=False)
        self.train_button = W.Button(description="Train", button_style="success")
        self.reset_button = W.Button(description="Reset")
        self.train_button.on_click(lambda _b: self.train())
        self.reset_button.on_click(lambda _b: self.reset())
        for control in (self.dataset_dropdown, self.hidden_slider, self.eta_slider, self.init_dropdown):
            control.observe(lambda _change: self.reset(), names="value")
        self.readout = W.HTML()
        self.image = DescribedImage(format="png")
        self.figure = Figure(figsize=(10, 4.2))
        self.frames_drawn = 0
        self.ui = W.VBox([
            W.HBox([self.dataset_dropdown, self.hidden_slider, self.eta_slider]),
            W.HBox([self.init_dropdown, self.epochs_slider, self.train_button, self.reset_button]),
            self.readout, self.image])
        self.reset()

    def reset(self):
        """A fresh net and fresh data for the current controls; nothing trained yet."""
        X, y = DATASETS[self.dataset_dropdown.value](self.seed)
        self.X_train, self.y_train, self.X_test, self.y_test = split(X, y)
        self.net = self.net_class([2, self.hidden_slider.value, int(y.max()) + 1],
                                  init=self.init_dropdown.value, seed=self.seed)
        self.rng = np.random.default_rng(self.seed)
        self.epochs, self.losses, self.train_accuracy, self.test_accuracy = 0, [], [], []
        self._draw()

    def train(self, epochs=None):
        """Train ``epochs`` more epochs (the slider's value by default), redrawing ``frames`` times."""
        epochs = self.epochs_slider.value if epochs is None else int(epochs)
        # evenly from the first epoch to the last; one frame is the last epoch's, the result
        frames = min(self.frames, epochs)
        redraw_at = set(np.linspace(1 if frames > 1 else epochs, epochs, frames).round().astype(int))
        with np.errstate(all="ignore"):  # a diverging η is something to see, not an error
            for done in range(1, epochs + 1):
                self.losses.append(float(self.net.train_epoch(self.X_train, self.y_train,
                                                              self.eta_slider.value, self.rng)))
                self.train_accuracy.append(accuracy(self.net.predict(self.X_train), self.y_train))
                self.test_accuracy.append(accuracy(self.net.predict(self.X_test), self.y_test))
                self.epochs += 1
                if done in redraw_at:
                    self._draw()

    def _draw(self):
        self.frames_drawn += 1
        self.figure.clear()
        left, right = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
        with np.errstate(all="ignore"):
            plot_decision_boundary(self.net.predict, self.X_test, self.y_test, left, resolution=100,
                                   title=f"epoch {self.epochs}: held-out samples")
        if self.losses:
            epochs = np.arange(1, len(self.losses) + 1)
            right.plot(epochs, self.losses, color=palette.BLUE, label="mean loss e (left)")
            right.set(xlabel="epoch", ylabel="mean loss e")
            twin = right.twinx()
            twin.plot(epochs, self.train_accuracy, color=palette.BLUISH_GREEN, ls="--", label="train accuracy")
            twin.plot(epochs, self.test_accuracy, color=palette.VERMILLION, label="held-out accuracy")
            twin.set(ylim=(0, 1.02), ylabel="accuracy")
            right.legend(loc="upper center", fontsize=8)
            twin.legend(loc="center right", fontsize=8)
        else:
            right.text(0.5, 0.5, "press Train", ha="center", va="center", transform=right.transAxes)
        self.figure.subplots_adjust(left=0.05, right=0.93, bottom=0.12, top=0.92, wspace=0.3)
        self.image.value = png(self.figure)
        self.image.tooltip = self.describe()
        test = f"{self.test_accuracy[-1]:.1%}" if self.test_accuracy else "–"
        loss = f"{self.losses[-1]:.4f}" if self.losses else "–"
        self.readout.value = (f"epochs: <b>{self.epochs}</b> &nbsp; loss e = {loss} &nbsp; held-out accuracy: "
                              f"<b>{test}</b> &nbsp; (H = {self.hidden_slider.value}, η = {self.eta_slider.value:.3g}, "
                              f"init '{self.init_dropdown.value}')")


    def describe(self):
        """What the figure shows now, in words (the image's text alternative)."""
        C = int(max(self.y_train.max(), self.y_test.max())) + 1
        text = (f"Left: the plane coloured by the class the net predicts after {self.epochs} "
                f"epoch{'' if self.epochs == 1 else 's'} on "
                f"'{self.dataset_dropdown.value}' ({C} classes), the held-out samples on top, one colour and "
                f"marker per class.")
        if not self.losses:
            return text + " Right: empty until Train is pressed."
        return text + (f" Right: per epoch, the mean loss e (now {self.losses[-1]:.4f}), the training accuracy "
                       f"(dashed, now {self.train_accuracy[-1]:.1%}) and the held-out accuracy "
                       f"(now {self.test_accuracy[-1]:.1%}).")


def boundary_trainer(net_class, dataset="two moons", hidden=16, learning_rate=0.05, init="he", epochs=20,
                     seed=0, frames=5):
    """The decision boundary of a 2-layer net of ``net_class`` as it trains; returns a BoundaryTrainer.

    Inputs: net_class (see ``BoundaryTrainer``: lecture 6's ``Net``, or a class of your own),
    dataset ('two moons', 'spirals' or 'xor'), hidden (H), learning_rate (η), init (a name of
    ``INITS``), epochs (per click of Train), seed, frames (redraws per click).
    """
    return BoundaryTrainer(net_class, dataset, hidden, learning_rate, init, epochs, seed, frames)
