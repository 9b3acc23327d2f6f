"""What a classifier gets wrong: the confusion matrix and the misclassified digits (lecture 7, and
the end of assignment 04), as figures and as widgets.

- ``confusion_matrix(y, predicted)``: the counts, a row per true class and a column per class read;
- ``plot_confusion_matrix`` and ``plot_digits``: figures on a matplotlib Axes;
- ``confusion_explorer(y, predicted, X)``: a widget: the matrix, counts or shares of each row, and the
  samples of the cell you pick (true → read);
- ``error_browser(X, y, predicted)``: a widget: the misclassified samples, all or of one true class,
  page by page.

Every prediction comes from the caller (the lecture's net, or the student's): nothing here trains or
differentiates anything. Colours and markers come from the course's ``palette``.
"""
import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import palette
from .widget_base import DescribedImage, WidgetBase, png

__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_digits", "describe_confusion",
           "confusion_explorer", "error_browser", "ConfusionExplorer", "ErrorBrowser"]


def confusion_matrix(y, predicted, classes=None):
    """Counts (C, C): entry [t, r] is how many samples of true class t were read as r."""
    y, predicted = np.asarray(y, dtype=int), np.asarray(predicted, dtype=int)
    classes = int(max(y.max(initial=0), predicted.max(initial=0)) + 1) if classes is None else int(classes)
    matrix = np.zeros((classes, classes), dtype=int)
    np.add.at(matrix, (y, predicted), 1)
    return matrix


def plot_confusion_matrix(matrix, ax, shares=False, highlight=None):
    """The matrix as an image with its numbers: counts, or each row's shares (``shares``); a cell
    (true, read) framed when ``highlight`` names one."""
    matrix = np.asarray(matrix)
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if shares else matrix
    # the image shows the off-diagonal errors: the diagonal's counts would make every error look pale
    errors = np.where(np.eye(len(matrix), dtype=bool), 0, shown)
    ax.imshow(errors, cmap="Oranges", vmin=0, vmax=max(errors.max(), 1e-12))  # one hue: read by lightness
    dark = 0.5 * errors.max()
    for (t, r), value in np.ndenumerate(shown):
        text = f"{value:.0%}" if shares else str(value)
        if value or t == r:
            colour = palette.BLUE if t == r else ("white" if errors[t, r] > dark else palette.BLACK)  # readable on its cell
            ax.text(r, t, text, ha="center", va="center", fontsize=7, color=colour,
                    fontweight="bold" if t == r else "normal")
    if highlight is not None:
        t, r = highlight
        ax.add_patch(Rectangle((r - 0.5, t - 0.5), 1, 1, fill=False, edgecolor=palette.BLUE, linewidth=2.5))
    ax.set(xticks=range(len(matrix)), yticks=range(len(matrix)), xlabel="read as", ylabel="true digit",
           title="confusion matrix" + (" (share of each row)" if shares else " (counts)"))
    return ax


def describe_confusion(matrix):
    """The matrix in words: the right share, and the most frequent confusions."""
    matrix = np.asarray(matrix)
    total, right = int(matrix.sum()), int(np.trace(matrix))
    off = [(int(matrix[t, r]), t, r) for t in range(len(matrix)) for r in range(len(matrix)) if t != r and matrix[t, r]]
    worst = ", ".join(f"{t} read as {r} ({n})" for n, t, r in sorted(off, reverse=True)[:3])
    return (f"{right} of {total} samples on the diagonal (read right)"
            + (f"; the most frequent confusions: {worst}" if worst else "; no confusion") + ".")


def plot_digits(images, true, read, ax, columns=8):
    """8×8 images in a grid on one Axes, each labelled 'true → read', or its digit alone when ``read`` is
    None (dark on light, like ink)."""
    images = np.asarray(images, dtype=float).reshape(len(images), 8, 8) if len(images) else np.zeros((0, 8, 8))
    columns = max(1, min(columns, len(images)))
    rows = max(1, int(np.ceil(len(images) / columns)))
    canvas = np.full((rows * 10, columns * 10), np.nan)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        canvas[r * 10 + 1:r * 10 + 9, c * 10 + 1:c * 10 + 9] = image
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    for k in range(len(images)):
        r, c = divmod(k, columns)
        wrong = read is not None and true[k] != read[k]
        ax.text(c * 10 + 5, r * 10 + 0.3, str(true[k]) if read is None else f"{true[k]} → {read[k]}", ha="center",
                va="bottom", fontsize=7, color=palette.WARNING_TEXT if wrong else palette.BLACK)
    ax.set_axis_off()
    if not len(images):
        ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
    return ax


class ConfusionExplorer(WidgetBase):
    """The confusion matrix of a classifier, and the samples of one of its cells.

    Controls: ``shares_toggle`` (counts or each row's shares), ``true_dropdown`` and ``read_dropdown``
    (the cell: samples of that true class read as that class). State: ``matrix``, ``selected`` (indices
    of the cell's samples). Widgets: ``image``, ``readout``.
    """

    def __init__(self, y, predicted, X=None, true=None, read=None, shares=False):
        self.y, self.predicted = np.asarray(y, dtype=int), np.asarray(predicted, dtype=int)
        self.X = None if X is None else np.asarray(X, dtype=float)
        self.matrix = confusion_matrix(self.y, self.predicted)
        classes = list(range(len(self.matrix)))
        if true is None or read is None:  # the most frequent confusion
            errors = np.where(np.eye(len(self.matrix), dtype=bool), -1, self.matrix)
            true, read = (int(k) for k in np.unravel_index(np.argmax(errors), errors.shape))
        self.shares_toggle = W.ToggleButtons(options=["counts", "shares"], value="shares" if shares else "counts",
                                             description="show")
        self.true_dropdown = W.Dropdown(options=classes, value=true, description="true")
        self.read_dropdown = W.Dropdown(options=classes, value=read, description="read as")
        for control in (self.shares_toggle, self.true_dropdown, self.read_dropdown):
            control.observe(lambda _change: self._draw(), names="value")
        self.readout, self.image = W.HTML(), DescribedImage(format="png")
        self.figure = Figure(figsize=(10, 4.4))
        self.ui = W.VBox([W.HBox([self.shares_toggle, self.true_dropdown, self.read_dropdown]), self.readout,
                          self.image])
        self._draw()

    def _draw(self):
        t, r = self.true_dropdown.value, self.read_dropdown.value
        self.selected = np.flatnonzero((self.y == t) & (self.predicted == r))
        self.figure.clear()
        left, right = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
        plot_confusion_matrix(self.matrix, left, shares=self.shares_toggle.value == "shares", highlight=(t, r))
        if self.X is not None:
            shown = self.selected[:24]
            plot_digits(self.X[shown], self.y[shown], self.predicted[shown], right, columns=6)
            right.set_title(f"true {t}, read as {r}: {len(self.selected)} sample(s)", fontsize=10)
        else:
            right.set_axis_off()
        self.figure.subplots_adjust(left=0.06, right=0.98, bottom=0.1, top=0.9, wspace=0.15)
        self.image.value = png(self.figure)
        self.image.tooltip = self.describe()
        self.readout.value = (f"true <b>{t}</b>, read as <b>{r}</b>: <b>{len(self.selected)}</b> sample(s) "
                              f"&nbsp; accuracy {np.trace(self.matrix) / max(self.matrix.sum(), 1):.1%}")

    def describe(self):
        """What the figure shows, in words (the image's text alternative)."""
        t, r = self.true_dropdown.value, self.read_dropdown.value
        return (f"Left: the confusion matrix, {self.shares_toggle.value}, a row per true digit and a column per digit "
                f"read, the cell true {t} read as {r} framed. {describe_confusion(self.matrix)} Right: the "
                f"{len(self.selected)} sample(s) of that cell (at most 24 shown), each labelled true → read.")


def confusion_explorer(y, predicted, X=None, true=None, read=None, shares=False):
    """A ConfusionExplorer of the true classes ``y`` and the classes ``predicted`` (images ``X`` (N, 64), optional)."""
    return ConfusionExplorer(y, predicted, X, true, read, shares)


class ErrorBrowser(WidgetBase):
    """The samples a classifier reads wrong, 24 a page, all of them or those of one true class.

    Controls: ``class_dropdown`` ('all' or a true class), ``page_slider``. State: ``wrong`` (indices of the
    misclassified samples the filter keeps), ``shown`` (those on the page). Widgets: ``image``, ``readout``.
    """

    PER_PAGE = 24

    def __init__(self, X, y, predicted, digit="all"):
        self.X, self.y = np.asarray(X, dtype=float), np.asarray(y, dtype=int)
        self.predicted = np.asarray(predicted, dtype=int)
        self.class_dropdown = W.Dropdown(options=["all"] + sorted(set(self.y.tolist())), value=digit,
                                         description="true digit")
        self.page_slider = W.IntSlider(value=1, min=1, max=1, description="page", continuous_update=False)
        self.class_dropdown.observe(lambda _change: self._filter(), names="value")
        self.page_slider.observe(lambda _change: self._draw(), names="value")
        self.readout, self.image = W.HTML(), DescribedImage(format="png")
        self.figure = Figure(figsize=(8, 3.6))
        self.ui = W.VBox([W.HBox([self.class_dropdown, self.page_slider]), self.readout, self.image])
        self._filter()

    def _filter(self):
        keep = self.predicted != self.y
        if self.class_dropdown.value != "all":
            keep &= self.y == self.class_dropdown.value
        self.wrong = np.flatnonzero(keep)
        pages = max(1, int(np.ceil(len(self.wrong) / self.PER_PAGE)))
        self.page_slider.max, self.page_slider.value = pages, 1
        self._draw()

    def _draw(self):
        start = (self.page_slider.value - 1) * self.PER_PAGE
        self.shown = self.wrong[start:start + self.PER_PAGE]
        self.figure.clear()
        ax = self.figure.subplots()
        plot_digits(self.X[self.shown], self.y[self.shown], self.predicted[self.shown], ax, columns=8)
        self.figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.97)
        self.image.value = png(self.figure)
        self.image.tooltip = self.describe()
        self.readout.value = (f"<b>{len(self.wrong)}</b> sample(s) read wrong"
                              + ("" if self.class_dropdown.value == "all" else f" among the true {self.class_dropdown.value}s")
                              + f" &nbsp; page {self.page_slider.value} of {self.page_slider.max}")

    def describe(self):
        """What the figure shows, in words (the image's text alternative)."""
        pairs = ", ".join(f"{t} read as {r}" for t, r in zip(self.y[self.shown][:6], self.predicted[self.shown][:6]))
        return (f"{len(self.shown)} misclassified 8×8 images on this page, each labelled true → read"
                + (f"; the first: {pairs}" if pairs else "") + ".")


def error_browser(X, y, predicted, digit="all"):
    """An ErrorBrowser of the samples X (N, 64) whose ``predicted`` class is not ``y``."""
    return ErrorBrowser(X, y, predicted, digit)
