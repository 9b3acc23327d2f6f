"""The assignments' read-only demos, run with the reference solution: they show what their text says.

The demos run the student's own code after each exercise. A demo whose loss falls while the
network learns nothing teaches the wrong lesson (issue 16, item 2), so each demo is run here,
in-process, with the solution cells of source/, and its network is measured.
"""
import contextlib
import io
import os

import numpy as np
import pytest

from answers.catalogue import source_notebook

os.environ.setdefault("MPLBACKEND", "Agg")

#: the demo has learned when every prediction is within this of its target
LEARNED = 0.05


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@pytest.fixture(scope="module")
def snapshots():
    """{grade_id of a code cell: a copy of what its network predicts right after it ran}.

    Every code cell of source/02_backprop but the test cells runs in notebook order, in one
    namespace, as in the student's kernel after Run All with the reference solution.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace = {"__name__": "__main__"}
    seen = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in source_notebook("02_backprop").cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or meta.get("grade"):
                continue
            exec(compile(cell.source, f"<{_grade_id(cell)}>", "exec"), namespace)
            plt.close("all")
            seen[_grade_id(cell)] = dict(namespace)
    return seen


def predictions(ns, inputs):
    return np.array([ns["output_neuron"].forward([n.forward(x) for n in ns["hidden_neurons"]]) for x in inputs])


def test_raw_inputs_saturate_and_the_network_answers_the_mean(snapshots):
    """What the text after the first demo says: ≈ 0.85 for both samples, the mean of the targets."""
    ns = snapshots["train_demo"]
    y = predictions(ns, ns["inputs"])
    assert np.all(np.abs(y - np.mean(ns["t"])) < 0.01), y
    assert ns["history"][-1] == pytest.approx(ns["mean_loss"], rel=0.05)     # on the dashed line
    o_j = np.array([[n.forward(x) for n in ns["hidden_neurons"]] for x in ns["inputs"]])
    assert np.all(o_j * (1 - o_j) < 0.05), o_j                                # saturated: φ′ ≈ 0


def test_with_scaled_inputs_and_small_weights_the_demo_learns(snapshots):
    ns = snapshots["train_demo_scaled"]
    np.testing.assert_allclose(ns["scaled"], [[-1, -1, -1], [1, 1, 1]])
    y = predictions(ns, ns["scaled"])
    assert np.all(np.abs(y - np.asarray(ns["t"])) < LEARNED), f"predicts {y} for targets {ns['t']}"
    assert ns["history_scaled"][-1] < ns["mean_loss"] / 10


def demo_cells():
    cells = {_grade_id(c): c.source for c in source_notebook("02_backprop").cells}
    return cells["train_demo"], cells["train_demo_scaled"]


def test_raw_inputs_are_a_gamble_and_the_habits_win_every_draw(snapshots):
    """What the text says of seeds 0 to 5: raw, three end on the mean and three learn; scaled, all six learn."""
    import matplotlib.pyplot as plt

    raw_cell, scaled_cell = demo_cells()
    assert raw_cell.startswith("np.random.seed(2)\n") and scaled_cell.startswith("np.random.seed(2)\n")
    on_the_mean, raw_learned, learned = [], [], []
    for seed in range(6):
        ns = dict(snapshots["train_multi_sample"])
        with contextlib.redirect_stdout(io.StringIO()):
            exec(raw_cell.replace("np.random.seed(2)", f"np.random.seed({seed})", 1), ns)
            y_raw = predictions(ns, ns["inputs"])
            exec(scaled_cell.replace("np.random.seed(2)", f"np.random.seed({seed})", 1), ns)
            y_scaled = predictions(ns, ns["scaled"])
        plt.close("all")
        if np.all(np.abs(y_raw - np.mean(ns["t"])) < 0.01):
            on_the_mean.append(seed)
        if np.all(np.abs(y_raw - np.asarray(ns["t"])) < LEARNED):
            raw_learned.append(seed)
        learned.append(bool(np.all(np.abs(y_scaled - np.asarray(ns["t"])) < LEARNED)))
    assert len(on_the_mean) == 3 and 2 in on_the_mean, on_the_mean
    assert sorted(on_the_mean + raw_learned) == list(range(6)), (on_the_mean, raw_learned)
    assert all(learned), learned


def test_the_three_output_demo_tells_the_samples_apart(snapshots):
    """Exercise 3's demo: each sample's largest output is its target's 1, every output within 0.15."""
    ns = snapshots["network_demo"]
    network, t = ns["network"], np.asarray(ns["t"])
    y = np.array([network.forward(list(x)) for x in ns["inputs"]])
    assert np.all(np.abs(y - t) < 0.15), f"predicts {np.round(y, 3)} for targets {t}"
    assert (y.argmax(axis=1) == t.argmax(axis=1)).all()
