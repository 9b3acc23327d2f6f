"""Figures everyone can read: colours from the colour-blind-safe palette, and a text alternative
for every figure (the lectures' and the assignments' cells, the widgets' images, the report's).

The rendered pages are checked elsewhere: every <img> of the site in tests/tools/test_site.py, the
report and a site page by axe-core in tests/course/test_browser.py, the feedback in tests/grader/test_regrade.py.
"""
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import Collection  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from backprop_course.grader.results import report  # noqa: E402
from backprop_course.lectures import activations, classification, palette, plots, widgets  # noqa: E402

from project import ROOT

PALETTE = {mcolors.to_hex(c) for c in [*palette.CYCLE, palette.WARNING_TEXT, palette.INPUT_FILL,
                                       palette.NEURON_FILL, palette.NOTE_TEXT, palette.NEUTRAL,
                                       *palette.CLASS_FILLS]}


def colours(fig):
    """Every colour a figure draws with, as #rrggbb (transparent ones left out)."""
    found = set()

    def add(colour):
        for rgba in np.atleast_2d(mcolors.to_rgba_array(colour)):
            if rgba[3] > 0:
                found.add(mcolors.to_hex(rgba))

    for artist in fig.findobj():
        if artist is fig.patch or any(artist is ax.patch for ax in fig.axes):
            continue  # the white backgrounds
        if isinstance(artist, matplotlib.lines.Line2D):
            add(artist.get_color())
            if artist.get_marker() not in (None, "None", ""):
                add(artist.get_markerfacecolor())
        elif isinstance(artist, (Patch, Collection)):
            add(artist.get_facecolor())
        elif isinstance(artist, matplotlib.text.Text) and artist.get_text():
            add(artist.get_color())
    return found


def off_palette(fig):
    """The colours of a figure that are neither the palette's nor a grey (black and white included)."""
    return {c for c in colours(fig) if c not in PALETTE and not (c[1:3] == c[3:5] == c[5:7])}


def tiny_results():
    results = report.ClassResults(["01_neuron"], max_scores={"01_neuron": 9.0})
    results.scores = {("ada", "01_neuron"): 9.0, ("bob", "01_neuron"): 4.5}
    results.cells = {"01_neuron": {"test_loss": [True, False], "test_loss_derivative": [True, True]}}
    results.exercises = {"01_neuron": {"test_loss": "loss", "test_loss_derivative": "loss"}}
    results.mistakes = {("bob", "01_neuron"): {"loss-no-half"}}
    return results


def sigmoid(net):
    return 1 / (1 + np.exp(-net))


def sigmoid_prime(net):
    return sigmoid(net) * (1 - sigmoid(net))


LECTURE_FIGURES = {
    "plot_all_activations": lambda: plots.plot_all_activations({"sigmoid": (sigmoid, sigmoid_prime),
                                                                **activations.ACTIVATIONS}),
    "plot_activation": lambda: plots.plot_activation(sigmoid, sigmoid_prime, "sigmoid", mark=0.46),
    "draw_network": lambda: plots.draw_network((3, 2, 1), values=[[1, 2, 3], [0.2, 0.7], [0.6]],
                                               weights=[np.array([[0.5, -1], [1, 2], [-0.3, 0.1]]), np.array([[1.0], [-2.0]])],
                                               deltas=[None, [1e-4, -2e-4], [-0.09]], biases=[None, [0.5, 1.0], [0.4]]),
    "plot_descent": lambda: plots.plot_descent(np.array([-1.0, 0.2, 0.45, 0.5]), lambda w: (w - 0.5) ** 2, w_star=0.5),
}


def decision_boundary():
    import matplotlib.pyplot as plt

    from backprop_course.lectures.datasets import spirals

    X, y = spirals(seed=0)
    fig, ax = plt.subplots()
    classification.plot_decision_boundary(lambda P: (P[:, 0] > 0).astype(int) + (P[:, 1] > 0.5), X, y, ax)
    return fig


LECTURE_FIGURES["plot_decision_boundary"] = decision_boundary
REPORT_FIGURES = {
    "score histograms": lambda: report.plot_score_histograms(tiny_results()),
    "pass rates": lambda: report.plot_pass_rates(tiny_results()),
    "mistakes": lambda: report.plot_mistakes(report.mistake_counts(tiny_results())),
}


@pytest.mark.parametrize("name", [*LECTURE_FIGURES, *REPORT_FIGURES])
def test_figures_draw_with_the_palette(name):
    import matplotlib.pyplot as plt

    fig = {**LECTURE_FIGURES, **REPORT_FIGURES}[name]()
    try:
        drawn = colours(fig)
        assert drawn & PALETTE, f"{name} draws with no colour of the palette: {drawn}"
        assert not off_palette(fig), f"{name} draws with colours outside the palette: {off_palette(fig)}"
    finally:
        plt.close(fig)


def test_the_palette_check_sees_another_colour():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], color="#d62728")  # matplotlib's default red
    try:
        assert off_palette(fig) == {"#d62728"}
    finally:
        plt.close(fig)


def test_the_style_makes_the_palette_matplotlibs_colour_cycle():
    with matplotlib.rc_context(palette.STYLE):
        assert [mcolors.to_hex(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]] == \
            [mcolors.to_hex(c) for c in palette.CYCLE]


def test_warning_text_is_readable_on_white():
    def luminance(hex_colour):
        channels = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in mcolors.to_rgb(hex_colour)]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    for colour in (palette.WARNING_TEXT, palette.NOTE_TEXT, palette.BLUE):
        assert 1.05 / (luminance(colour) + 0.05) >= 4.5, colour  # WCAG AA for text


# ------------------------------------------------------------------ text alternatives


def test_each_widget_image_says_what_it_shows_now():
    playground = widgets.neuron_playground(activations={"sigmoid": (sigmoid, sigmoid_prime)})
    before = playground.image.tooltip
    assert before.startswith("The sigmoid activation") and f"net = {playground.net:.2f}" in before
    playground.bias_slider.value = 2.0
    assert playground.image.tooltip != before and f"net = {playground.net:.2f}" in playground.image.tooltip

    explorer = widgets.learning_rate_explorer()
    explorer.eta_slider.value = 0.55
    assert explorer.image.tooltip.startswith("η = 0.550, diverging.") and "over 20 steps" in explorer.image.tooltip

    from lecture_standins import Neuron, driver  # the tests' own: the widget has no neuron of its own

    stepper = widgets.backprop_stepper(Neuron, driver)
    assert "ready: press Forward" in stepper.image.tooltip
    stepper.forward()
    stepper.backward()
    text = stepper.image.tooltip
    assert "3 input nodes, 2 hidden neurons, 1 output neuron" in text and "δ computed" in text
    assert f"δ {stepper.delta_l[0]:.3f}" in text

    from lecture_standins import Centroids  # the tests' own class: the widget has no net of its own

    trainer = classification.boundary_trainer(Centroids, epochs=2, frames=2)
    assert "after 0 epochs on 'two moons' (2 classes)" in trainer.image.tooltip and "empty" in trainer.image.tooltip
    trainer.train()
    assert "after 2 epochs" in trainer.image.tooltip
    assert f"held-out accuracy (now {trainer.test_accuracy[-1]:.1%})" in trainer.image.tooltip


def test_the_class_markers_differ_as_well_as_the_colours():
    fig = decision_boundary()
    try:
        markers = [c.get_paths()[0].vertices.shape for c in fig.axes[0].collections]
        assert len(fig.axes[0].collections) == 3 and len(set(markers)) == 3, markers
    finally:
        import matplotlib.pyplot as plt
        plt.close(fig)


FIGURE_CALL = re.compile(r"\b(plt\.(plot|show|subplots|hist|bar)|ax\.plot|plot_\w+\(|draw_network\()")


def figure_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and FIGURE_CALL.search(c.source)]


@pytest.mark.parametrize("path", sorted((ROOT / "source").glob("*/*.ipynb")) + sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")),
                         ids=lambda p: p.name)
def test_every_figure_cell_has_alt_text(path):
    """A cell that draws a figure carries its alt text in its metadata (nbconvert's convention:
    the site and nbgrader's feedback write it on the figure's <img>)."""
    cells = figure_cells(path)
    assert cells, f"no figure in {path.name}?"
    missing = [i for i, c in cells if len(c.metadata.get("alt", "")) < 40]
    assert not missing, f"{path.name}: cells {missing} draw a figure without alt text (metadata 'alt')"
