"""Lecture 6's helpers: a fully connected net on batches, its experiments, figures and a widget.

- ``MLP``: a net of any depth on a batch X (N, D): hidden layers φ(x·W + b) with φ sigmoid,
  tanh or ReLU, and C outputs with softmax + mean cross-entropy, or sigmoid + mean squared
  error (the lecture compares the two). ``loss_and_gradients`` is backprop in matrix form,
  ``numerical_gradient`` the finite differences it is tested against;
- ``gradient_norms``: ‖∂e/∂W_k‖ of every layer, to see gradients vanish with depth;
- ``plot_decision_boundary``: the class a predictor gives every point of the plane;
- ``boundary_trainer()``: a widget that trains a 2-layer net and redraws the decision
  boundary as it learns, with controls for the hidden size, η and the initialisation.

Shapes follow lecture 5: samples are rows, W_k has shape (fan_in, fan_out), so a layer is
net = x·W + b. Every random number comes from a seeded ``np.random.default_rng``.
"""
import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from answers.oracle import numerical_gradient  # noqa: F401 (the finite differences of lecture 6, any shape)
from . import activations as act
from . import palette
from .datasets import spirals, split, two_moons, xor
from .widgets import DescribedImage, _png, _WidgetBase

__all__ = ["MLP", "INITS", "numerical_gradient", "rel_error", "softmax", "gradient_norms", "accuracy", "standardise",
           "plot_decision_boundary", "boundary_trainer", "BoundaryTrainer", "DATASETS"]

#: initialisation schemes: name -> standard deviation of W as a function of the layer's fan_in
INITS = {
    "he": lambda fan_in: np.sqrt(2.0 / fan_in),       # ReLU keeps the variance of its input
    "xavier": lambda fan_in: np.sqrt(1.0 / fan_in),   # for sigmoid and tanh
    "small": lambda fan_in: 0.01,
    "large": lambda fan_in: 3.0,
    "zeros": lambda fan_in: 0.0,                      # every hidden neuron stays the same
}

#: the data sets of the widget: name -> function(seed) returning (X, y)
DATASETS = {
    "two moons": lambda seed: two_moons(n=300, noise=0.15, seed=seed),
    "spirals": lambda seed: spirals(n_per_class=100, seed=seed),
    "xor": lambda seed: xor(n=300, seed=seed),
}


def rel_error(a, b):
    """max |a − b| / (|a| + |b|), entry by entry: about 1e-7 or below, two gradients agree."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def softmax(z):
    """ŷ = exp(z) / Σ exp(z) along the last axis, computed as exp(z − max z): no overflow."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def accuracy(predicted, y):
    return float(np.mean(np.asarray(predicted) == np.asarray(y)))


def standardise(X, reference=None):
    """Each column moved to mean 0 and scaled to standard deviation 1 (with the reference's statistics)."""
    reference = X if reference is None else reference
    return (X - reference.mean(axis=0)) / reference.std(axis=0)


class MLP:
    """A fully connected net on batches.

    sizes: [D, H_1, …, H_K, C], the widths from the inputs to the outputs.
    activation: φ of the hidden layers, 'relu', 'sigmoid' or 'tanh'.
    output: 'softmax' (softmax and the mean cross-entropy) or 'sigmoid' (a sigmoid per class and
      the mean over the samples of ½ Σ_c (t_c − ŷ_c)², t one-hot).
    init: a name of ``INITS``, or a number: the standard deviation of every W; biases start at 0.

    Parameters: ``W`` (list of (fan_in, fan_out) arrays) and ``b`` (list of (fan_out,) arrays).
    """

    def __init__(self, sizes, activation="relu", output="softmax", init="he", seed=0):
        if output not in ("softmax", "sigmoid"):
            raise ValueError(f"output must be 'softmax' or 'sigmoid', not {output!r}")
        self.sizes, self.activation, self.output = list(sizes), activation, output
        self.phi, self.phi_prime = act.get(activation)
        rng = np.random.default_rng(seed)
        std = INITS[init] if isinstance(init, str) else (lambda fan_in: float(init))
        self.W = [rng.normal(0, 1, (m, n)) * std(m) for m, n in zip(self.sizes[:-1], self.sizes[1:])]
        self.b = [np.zeros(n) for n in self.sizes[1:]]

    @property
    def params(self):
        return self.W + self.b

    def forward(self, X):
        """The outputs' logits z (N, C) and what the backward pass needs: every layer's input and net."""
        o, cache = np.asarray(X, dtype=float), []
        for k, (W_k, b_k) in enumerate(zip(self.W, self.b)):
            net = o @ W_k + b_k                       # (N, fan_out)
            cache.append((o, net))
            o = net if k == len(self.W) - 1 else self.phi(net)
        return o, cache

    def probabilities(self, X):
        z, _ = self.forward(X)
        return softmax(z) if self.output == "softmax" else act.sigmoid(z)

    def predict(self, X):
        return np.argmax(self.forward(X)[0], axis=1)

    def loss(self, X, y):
        return self.loss_and_gradients(X, y, gradients=False)[0]

    def loss_and_gradients(self, X, y, gradients=True):
        """The mean loss e of the batch and, by backprop, [∂e/∂W_1, …] and [∂e/∂b_1, …].

        δ of the outputs: (ŷ − t)/N for softmax with cross-entropy, (ŷ − t)·ŷ(1 − ŷ)/N for the
        sigmoid with squared error; then layer by layer, ∂e/∂W = inputᵀ·δ, ∂e/∂b = Σ_n δ and
        δ ← (δ·Wᵀ) ⊙ φ′(net) for the layer below.
        """
        y = np.asarray(y)
        z, cache = self.forward(X)
        N = len(y)
        t = np.eye(self.sizes[-1])[y]                 # one-hot targets (N, C)
        if self.output == "softmax":
            y_hat = softmax(z)
            log_y_hat = z - np.max(z, axis=1, keepdims=True)
            log_y_hat = log_y_hat - np.log(np.exp(log_y_hat).sum(axis=1, keepdims=True))
            loss = -float(np.mean(log_y_hat[np.arange(N), y]))
            delta = (y_hat - t) / N
        else:
            y_hat = act.sigmoid(z)
            loss = float(np.mean(0.5 * np.sum((t - y_hat) ** 2, axis=1)))
            delta = (y_hat - t) * y_hat * (1 - y_hat) / N
        if not gradients:
            return loss, None, None
        dW, db = [None] * len(self.W), [None] * len(self.W)
        for k in reversed(range(len(self.W))):
            o_in, _ = cache[k]
            dW[k], db[k] = o_in.T @ delta, delta.sum(axis=0)
            if k > 0:
                delta = (delta @ self.W[k].T) * self.phi_prime(cache[k - 1][1])
        return loss, dW, db

    def step(self, X, y, learning_rate):
        """One gradient-descent step on the batch; returns the batch's loss before the step."""
        loss, dW, db = self.loss_and_gradients(X, y)
        for k in range(len(self.W)):
            self.W[k] -= learning_rate * dW[k]
            self.b[k] -= learning_rate * db[k]
        return loss

    def train_epoch(self, X, y, batch_size, learning_rate, rng):
        """One epoch of mini-batch SGD in the order rng.permutation(N); the mean of the batch losses."""
        order = rng.permutation(len(y))
        losses = [self.step(X[order[s:s + batch_size]], y[order[s:s + batch_size]], learning_rate)
                  for s in range(0, len(y), batch_size)]
        return float(np.mean(losses))


def gradient_norms(net, X, y):
    """‖∂e/∂W_k‖ (Frobenius norm) of every layer k, from the inputs to the outputs."""
    _, dW, _ = net.loss_and_gradients(X, y)
    return np.array([np.linalg.norm(g) for g in dW])


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
class BoundaryTrainer(_WidgetBase):
    """Trains a 2-layer ReLU net (softmax, cross-entropy) by mini-batch SGD, redrawing as it learns.

    Controls: ``dataset_dropdown``, ``hidden_slider`` (H), ``eta_slider`` (η, log scale),
    ``init_dropdown`` (``INITS``), ``epochs_slider`` (epochs per click); ``train_button`` trains
    that many epochs, redrawing ``frames`` times; ``reset_button`` (and any control) starts
    again from a fresh net. State: ``net`` (an MLP), ``epochs`` (done so far), ``losses``
    (the mean loss of each epoch), ``train_accuracy`` and ``test_accuracy`` (after each epoch),
    ``frames_drawn`` (redraws since the widget was made). Widgets: ``image``, ``readout``.
    """

    def __init__(self, dataset="two moons", hidden=16, learning_rate=0.5, init="he", epochs=20,
                 batch_size=16, seed=0, frames=5):
        self.batch_size, self.seed, self.frames = batch_size, seed, frames
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
        self.net = MLP([2, self.hidden_slider.value, int(y.max()) + 1], activation="relu",
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
                self.losses.append(self.net.train_epoch(self.X_train, self.y_train, self.batch_size,
                                                        self.eta_slider.value, self.rng))
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
        self.image.value = _png(self.figure)
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


def boundary_trainer(dataset="two moons", hidden=16, learning_rate=0.5, init="he", epochs=20, batch_size=16, seed=0,
                     frames=5):
    """The decision boundary of a 2-layer ReLU net as it trains; returns a BoundaryTrainer.

    Inputs: dataset ('two moons', 'spirals' or 'xor'), hidden (H), learning_rate (η), init (a name
    of ``INITS``), epochs (per click of Train), batch_size, seed, frames (redraws per click).
    """
    return BoundaryTrainer(dataset, hidden, learning_rate, init, epochs, batch_size, seed, frames)
