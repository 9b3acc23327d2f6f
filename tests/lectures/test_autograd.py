"""Lecture 7 and assignment 04 without a kernel: the lecture's definitions against finite differences,
its widgets driven from Python, the digits the course ships, and the grader's trusted model.

The lecture's definitions are its cells tagged ``definitions``, run here by themselves (as
``test_classification.py`` does for lecture 6). The finite differences are the test's own (centred,
``difference_quotients.centred``).
"""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import hashlib  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
from functools import cache  # noqa: E402

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from answers import reference_autograd as ra  # noqa: E402
from answers.reference import unbroadcast  # noqa: E402
from backprop_course.checks.autograd import TRAINING, predict  # noqa: E402
from backprop_course.lectures import digits  # noqa: E402
from backprop_course.lectures.evaluation import confusion_explorer, confusion_matrix, error_browser  # noqa: E402
from backprop_course.lectures.graphs import describe_graph, graph_stepper, layout  # noqa: E402
from difference_quotients import centred  # noqa: E402

from project import ROOT

NOTEBOOK = ROOT / "notebooks" / "07_autodiff_and_generalisation.ipynb"
PNG = b"\x89PNG"


@cache
def lecture():
    """The notebook's own definitions: its imports and every cell tagged 'definitions', in one namespace."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace = {}
    setup = next(c for c in nb.cells if c.cell_type == "code")
    exec(compile("\n".join(line for line in setup.source.splitlines() if line.startswith(("import", "from"))
                           or line.startswith(" ")), "<lecture 7 setup>", "exec"), namespace)
    cells = [c for c in nb.cells if "definitions" in c.metadata.get("tags", [])]
    assert len(cells) >= 6
    for cell in cells:
        exec(compile(cell.source, "<lecture 7>", "exec"), namespace)
    return namespace


# --- lecture 7: the tape, the local derivatives, the order -------------------------------------------

def _expression(L, a, b):
    """A Value expression with every operation of the lecture, and the same on floats."""
    V = L["Value"]
    values = (V(a), V(b))
    out = ((values[0] * values[1] + values[0]).tanh() * 2.0 + (values[1] ** 2).exp() / (values[0] ** 2 + 1.0)).log() \
        - (values[0] - values[1]).relu()
    plain = math.log(math.tanh(a * b + a) * 2.0 + math.exp(b ** 2) / (a ** 2 + 1.0)) - max(a - b, 0.0)
    return values, out, plain


@pytest.mark.parametrize("a,b", [(0.7, -0.4), (1.3, 0.2), (-0.5, 0.9)])
def test_the_lectures_tape_gives_every_gradient_of_an_expression(a, b):
    L = lecture()
    L["TAPE"].clear()
    (va, vb), out, plain = _expression(L, a, b)
    assert out.data == pytest.approx(plain, rel=1e-12)
    grads = L["backpropagate"](out)
    f = lambda x, y: _expression(L, x, y)[2]  # noqa: E731 (on floats: no graph)
    np.testing.assert_allclose([grads[id(va)], grads[id(vb)]],
                               [centred(lambda v: f(v, b), a), centred(lambda v: f(a, v), b)], rtol=1e-6, atol=1e-9)


def test_the_lectures_shares_add_and_its_gradients_must_be_zeroed():
    L = lecture()
    L["TAPE"].clear()
    a = L["Value"](3.0)
    f = a * a + a
    assert L["backpropagate"](f)[id(a)] == pytest.approx(7.0)   # 2a + 1: three shares added
    kept = {id(a): 5.0}                                          # a gradient left from an earlier pass
    assert L["backpropagate"](f, grads=kept)[id(a)] == pytest.approx(12.0)   # added to, not replaced


def test_the_lectures_orders():
    """The reversed tape respects every user and gives the right gradient; breadth first and the tape
    forwards break the rule on the lecture's graph, and give another gradient."""
    L = lecture()
    L["TAPE"].clear()
    a = L["Value"](0.7)
    c = a.tanh()
    root = c * 2.0 + (c * c).exp()
    tape = list(L["TAPE"])
    exact = centred(lambda v: 2 * math.tanh(v) + math.exp(math.tanh(v) ** 2), 0.7)
    assert L["respects_users"](tape[::-1])
    assert L["backpropagate"](root, order=tape[::-1])[id(a)] == pytest.approx(exact, rel=1e-7)
    for wrong in (L["breadth_first"](root), tape):
        assert not L["respects_users"](wrong)
        assert L["backpropagate"](root, order=wrong)[id(a)] != pytest.approx(exact, rel=1e-3)
    assert not L["respects_users"](tape[::-1] + tape[:1])        # a node twice


def test_the_lectures_local_derivatives_and_the_matrix_version_of_lecture_6():
    L = lecture()
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=3), 1
    W1, b1, W2, b2 = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 3)), rng.normal(size=3)
    params = [W1, b1, W2, b2]

    def loss(k, value):
        changed = [value if i == k else p for i, p in enumerate(params)]
        return L["matrix_gradients"](x, y, *changed)[0]

    _, grads = L["matrix_gradients"](x, y, *params)
    for k, (p, g) in enumerate(zip(params, grads)):
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            numeric[i] = centred(lambda v: loss(k, np.where(np.arange(p.size).reshape(p.shape) == np.ravel_multi_index(
                i, p.shape), v, p)), p[i])
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_the_lectures_digit_net_gradient_with_weight_decay():
    """∂L/∂θ of L = e + (λ/2)(‖W1‖² + ‖W2‖²): λW on the weights, nothing on the biases."""
    L = lecture()
    net = L["DigitNet"](hidden=5, seed=2)
    rng = np.random.default_rng(4)
    for name in ("b1", "b2"):
        net.params[name] = rng.normal(size=net.params[name].shape)
    X, y = rng.uniform(0, 1, (6, 64)), np.array([0, 3, 9, 3, 1, 7])
    _, grads = net.loss_and_gradients(X, y, 0.3)
    _, without = net.loss_and_gradients(X, y, 0.0)
    for name in ("W1", "W2"):
        np.testing.assert_allclose(grads[name] - without[name], 0.3 * net.params[name], rtol=1e-12, atol=1e-14)
    for name in ("b1", "b2"):
        np.testing.assert_allclose(grads[name], without[name], rtol=0, atol=0)
    W2 = net.params["W2"]
    numeric = np.zeros_like(W2)
    for i in np.ndindex(W2.shape):
        def L_of(v, i=i):
            saved = W2[i]
            W2[i] = v
            value = net.loss_and_gradients(X, y, 0.3)[0]
            W2[i] = saved
            return value
        numeric[i] = centred(L_of, W2[i])
    np.testing.assert_allclose(grads["W2"], numeric, rtol=1e-6, atol=1e-9)


# --- the graph widget --------------------------------------------------------------------------------

GRAPH = [{"label": "a", "data": 2.0, "inputs": []}, {"label": "b", "data": 3.0, "inputs": []},
         {"label": "*", "data": 6.0, "inputs": [0, 1]}, {"label": "+", "data": 8.0, "inputs": [2, 0]}]
FRAMES = [{"node": None, "grads": [None] * 4},
          {"node": 3, "grads": [1.0, 0.0, 1.0, 1.0]},
          {"node": 2, "grads": [4.0, 2.0, 1.0, 1.0]}]


def test_the_graph_layout_puts_every_node_after_its_inputs():
    positions = layout(GRAPH)
    for k, node in enumerate(GRAPH):
        assert all(positions[i][0] < positions[k][0] for i in node["inputs"])
    assert len(set(positions)) == len(positions)


def test_the_graph_stepper_steps_through_the_frames_it_is_given():
    stepper = graph_stepper(GRAPH, FRAMES, title="f = a·b + a")
    first = bytes(stepper.image.value)
    assert first.startswith(PNG) and "Before the backward pass" in stepper.readout.value
    stepper.step_button.click()
    assert stepper.step == 1 and "<b>+</b> (node 3)" in stepper.readout.value and "*, a" in stepper.readout.value
    assert bytes(stepper.image.value) != first
    stepper.all_button.click()
    assert stepper.step == 2 and "grad 4" in stepper.image.tooltip and "node 0, a (a leaf)" in stepper.image.tooltip
    stepper.step_button.click()
    assert stepper.step == 2                                   # no frame after the last
    stepper.back_button.click()
    assert stepper.step == 1
    stepper.reset_button.click()
    assert stepper.step == 0 and bytes(stepper.image.value) == first
    with pytest.raises(ValueError, match="frames is empty"):
        graph_stepper(GRAPH, [])
    assert "node 2, * of a (node 0), b (node 1): data 6, grad 1" in describe_graph(GRAPH, FRAMES[2]["grads"], 2)


# --- the confusion matrix and the error browser ------------------------------------------------------

Y = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
READ = np.array([0, 1, 1, 2, 2, 2, 2, 0, 2])
IMAGES = np.random.default_rng(0).uniform(0, 1, (9, 64))


def test_the_confusion_matrix_counts_true_rows_and_read_columns():
    assert confusion_matrix(Y, READ).tolist() == [[1, 1, 0], [0, 1, 2], [1, 0, 3]]
    assert confusion_matrix([1], [1], classes=4).shape == (4, 4)


def test_the_confusion_explorer_shows_the_samples_of_a_cell():
    explorer = confusion_explorer(Y, READ, IMAGES)
    assert (explorer.true_dropdown.value, explorer.read_dropdown.value) == (1, 2)   # the most frequent confusion
    assert explorer.selected.tolist() == [3, 4] and "<b>2</b> sample(s)" in explorer.readout.value
    first = bytes(explorer.image.value)
    explorer.true_dropdown.value, explorer.read_dropdown.value = 2, 0
    assert explorer.selected.tolist() == [7]
    explorer.shares_toggle.value = "shares"
    assert bytes(explorer.image.value) != first and "shares" in explorer.image.tooltip
    assert "5 of 9 samples on the diagonal" in explorer.describe()


def test_the_error_browser_filters_and_pages():
    browser = error_browser(IMAGES, Y, READ)
    assert browser.wrong.tolist() == [1, 3, 4, 7] and browser.page_slider.max == 1
    browser.class_dropdown.value = 1
    assert browser.wrong.tolist() == [3, 4] and "among the true 1s" in browser.readout.value
    many = error_browser(np.zeros((60, 64)), np.zeros(60, int), np.ones(60, int))
    assert many.page_slider.max == 3 and len(many.shown) == 24
    many.page_slider.value = 3
    assert many.shown.tolist() == list(range(48, 60))


# --- the digits ----------------------------------------------------------------------------------------

def test_the_digits_are_the_documented_file():
    recorded = re.search(r"sha256\s+`([0-9a-f]{64})`", (digits.FILE.parent / "DIGITS.md").read_text(encoding="utf-8"))
    assert hashlib.sha256(digits.FILE.read_bytes()).hexdigest() == recorded.group(1)
    assert "CC BY 4.0" in (digits.FILE.parent / "DIGITS.md").read_text(encoding="utf-8")
    X, y = digits.load()
    assert X.shape == (1797, 64) and y.shape == (1797,) and X.min() == 0.0 and X.max() == 1.0
    assert np.all(np.isin(X * 16, np.arange(17))) and sorted(set(y.tolist())) == list(range(10))
    assert np.bincount(y).min() >= 170


def test_the_split_is_seeded_disjoint_and_sixty_twenty_twenty():
    X, y = digits.load()
    first, again, other = digits.split(X, y, seed=3), digits.split(X, y, seed=3), digits.split(X, y, seed=4)
    assert [len(first[s][1]) for s in digits.SPLITS] == [1079, 359, 359]
    rows = [{row.tobytes() + bytes([label]) for row, label in zip(*first[s])} for s in digits.SPLITS]
    assert sum(len(r) for r in rows) == len(set().union(*rows))  # disjoint (the file has no duplicate row+label)
    assert np.array_equal(first["test"][0], again["test"][0]) and not np.array_equal(first["test"][0], other["test"][0])


# --- the reference and the grader's trusted model --------------------------------------------------------

def test_the_trusted_model_computes_what_the_notebooks_mlp_on_values_computes():
    """The digits check trains on TRUSTED_SOURCE at grading and on the notebook's MLP in the student's kernel:
    one initialisation, one loss and one gradient, to rounding."""
    Trusted, MLP = ra.trusted_mlp_class(), ra.mlp_class(ra.value_class())
    X, y = digits.split(*digits.load(), seed=0)["train"]
    trusted, on_values = Trusted([64, 8, 10], seed=5), MLP([64, 8, 10], seed=5)
    for p, q in zip(trusted.parameters(), on_values.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    loss, reference = trusted.data_loss(X[:40], y[:40]), on_values.data_loss(X[:40], y[:40])
    loss.backward()
    reference.backward()
    assert float(loss.data) == pytest.approx(float(reference.data), rel=1e-12)
    for p, q in zip(trusted.parameters(), on_values.parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(np.argmax(trusted(X[:40]).data, axis=1),
                                  predict(np.concatenate([p.data.ravel() for p in trusted.parameters()]),
                                          [64, 8, 10], X[:40]))


def test_unbroadcast_sums_over_the_broadcast_axes():
    g = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(unbroadcast(g, (3,)), g.sum(axis=0))
    np.testing.assert_array_equal(unbroadcast(g, (4, 1)), g.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(unbroadcast(g, (4, 3)), g)
    np.testing.assert_array_equal(unbroadcast(g, ()), g.sum())


def test_the_stated_settings_read_95_percent_of_the_public_test_digits():
    """The notebook's settings (checks.autograd.TRAINING), trained with the reference step on the public seed."""
    from answers.autograd import train_digits as _train_digits

    s = {**TRAINING, "seed": 0}
    _, theta = _train_digits(s, ra.LECTURE)
    X_test, y_test = digits.split(*digits.load(), seed=0)["test"]
    assert np.mean(predict(theta, s["sizes"], X_test) == y_test) >= 0.95


def _descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)


@pytest.mark.parametrize("make,controls,says", [
    (lambda: graph_stepper(GRAPH, FRAMES), lambda w: [w.back_button, w.step_button, w.all_button, w.reset_button,
                                                      w.readout], lambda w: "Backward step" in w.readout.value),
    (lambda: confusion_explorer(Y, READ, IMAGES), lambda w: [w.shares_toggle, w.true_dropdown, w.read_dropdown,
                                                             w.readout], lambda w: "read as <b>2</b>" in w.readout.value),
    (lambda: error_browser(IMAGES, Y, READ), lambda w: [w.class_dropdown, w.page_slider, w.readout],
     lambda w: "read wrong" in w.readout.value),
], ids=["graph stepper", "confusion explorer", "error browser"])
def test_lecture_7s_widgets_display(make, controls, says):
    """Displaying the object shows its widget tree: its controls, a drawn figure with a text alternative, a readout."""
    w = make()
    bundle = w._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.ui.model_id
    shown = {widget.model_id for widget in _descendants(w.ui)}
    missing = [c.description or type(c).__name__ for c in controls(w) if c.model_id not in shown]
    assert not missing, f"not displayed: {missing}"
    assert w.image.model_id in shown and bytes(w.image.value).startswith(PNG) and len(w.image.tooltip) > 40
    assert says(w)
