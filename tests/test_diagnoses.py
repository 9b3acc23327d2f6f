"""Issue 25 (the checks' side): what a student is told when a result is wrong.

1. Each of the issue's mistakes is named by the public tests, by its own code, and never by
   another's (``ISSUE``: catalogue submissions).
2. A mistake no known mistake matches still hears what differs (a *structural* diagnosis,
   ``checks/structure.py``): ``NOVEL`` are mistakes written here and kept out of the catalogue and
   the mistake table, each with the code it must get (None where nothing structural can be said).
3. A structural diagnosis in a hidden test is fixed text: its code and message, no number.
4. The report counts structural codes as it counts known mistakes'.
5. A3's training demo trains as its test does: the same accuracy.
6. Natural correct answers, in other styles than the catalogue's, pass every public test.

Everything here runs in-process (no kernel): the test cells of source/ are exec'd, as the
released notebook has them (``public=True``: the recorded public cases, in the student's kernel)
or as the grader judges them (hidden tests included, every case computed by the answers).
"""
from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest

import answers
import answers.catalogue as C
from answers.catalogue import edit, source_notebook
from backprop_course.checks import core
from backprop_course.checks.remote import REGISTRY
from backprop_course.grader import report, verdicts
from test_checks import BY_NAME, HIDDEN_TESTS, _without_recorded_cases, exercise_of

ROOT = Path(__file__).resolve().parent.parent


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


def run_cells(assignment, cells, public):
    """{test cell grade_id: the error it raised, or None} for solution cells ``cells`` (grade_id -> source)."""
    namespace, results = {"__name__": "__main__"}, {}
    exec("import numpy as np", namespace)
    as_graded = contextlib.nullcontext() if public else _without_recorded_cases()
    with contextlib.redirect_stdout(io.StringIO()), as_graded:
        for cell in source_notebook(assignment).cells:
            meta = _meta(cell)
            if public and cell.cell_type == "code" and meta.get("grade_id", "").startswith("given"):
                exec(compile(cell.source, f"<{meta['grade_id']}>", "exec"), namespace)
            if meta.get("solution"):
                exec(compile(cells[meta["grade_id"]], f"<{meta['grade_id']}>", "exec"), namespace)
            elif meta.get("grade"):
                try:
                    exec(compile(HIDDEN_TESTS.sub("", cell.source) if public else cell.source, "<test>", "exec"),
                         namespace)
                except Exception as error:  # noqa: BLE001 (a test cell fails on any exception)
                    results[meta["grade_id"]] = error
                else:
                    results[meta["grade_id"]] = None
    return results


def first_failure(assignment, exercise, results):
    """The error of the first failing test cell of ``exercise``, or None."""
    return next((e for cell, e in results.items() if e is not None and exercise_of(assignment, cell) == exercise), None)


# --- 1. the issue's mistakes, named by their own code --------------------------------------------

#: (catalogue submission, the code its exercise's public tests name): issue 25, "a wrong diagnosis"
#: and "raw errors and unnamed mistakes"
ISSUE = [
    ("02-neuron-activation-compared-to-its-name", "sigmoid-branch-never-taken"),
    ("03-dense-dx-not-transposed", "input-gradient-not-transposed"),
    ("03-dense-db-mean", "layer-gradient-averaged"),
    ("03-softmax-global-max", "softmax-global-max"),
    ("03-grad-check-alias", "copy-is-an-alias"),
    ("03-sgd-permutation-per-batch", "permutation-per-batch"),
    ("03-sgd-np-random", "rng-not-used"),
    ("03-sgd-W2-updated-first", "second-layer-updated-first"),
    ("03-sgd-last-batch-loss", "epoch-loss-last-batch"),
    ("03-sgd-loss-after-step", "batch-loss-after-step"),
    ("02-network-own-output-only", "only-one-output-delta"),
    ("01-activations-relu-np-max", "np-max-not-maximum"),
]


@pytest.mark.parametrize("name,code", ISSUE, ids=[name for name, _ in ISSUE])
def test_the_issues_mistakes_are_named_by_the_public_tests_and_never_wrongly(name, code):
    """Each cell of the exercise that fails names the mistake; at least one does (public tests, as released)."""
    sub = BY_NAME[name]
    (exercise,) = [e for e, c in sub.mistakes.items() if c]
    results = run_cells(sub.assignment, sub.cells, public=True)
    said = {cell: getattr(e, "code", f"{type(e).__name__}: {str(e)[:160]}")
            for cell, e in results.items() if e is not None and exercise_of(sub.assignment, cell) == exercise}
    assert said and set(said.values()) == {code}, said


def test_the_sigmoid_branch_is_told_from_a_missing_phi_prime():
    """Where net > 0, ReLU's φ′ is 1, so a sigmoid neuron given it has the δ of no φ′ at all: the
    output test starts with a neuron whose net is below 0, so that each is named for what it is."""
    for name, code in (("02-neuron-activation-compared-to-its-name", "sigmoid-branch-never-taken"),
                       ("02-neuron-output-delta-no-phi-prime", "output-delta-no-phi-prime")):
        error = run_cells("02_backprop", BY_NAME[name].cells, public=True)["test_neuron_backward_output"]
        assert getattr(error, "code", None) == code, error


def test_a_sigmoid_failure_does_not_hide_relus_result():
    """A1's sigmoid and ReLU have a test cell each: sigmoid with math.exp fails its own, ReLU's passes."""
    results = run_cells("01_neuron", BY_NAME["01-activations-sigmoid-math"].cells, public=True)
    relu_cells = [cell for cell in results if exercise_of("01_neuron", cell) == "activations"
                  and 'check_activation(relu, "relu"' in _source("01_neuron", cell)]
    assert relu_cells and all(results[cell] is None for cell in relu_cells), results
    assert any(getattr(e, "code", None) == "sigmoid-not-vectorised" for e in results.values())
    for name in ("01-activations-relu-if", "01-activations-relu-np-max"):  # and the other way round
        results = run_cells("01_neuron", BY_NAME[name].cells, public=True)
        sigmoid_cells = [cell for cell in results if 'check_activation(sigmoid, "sigmoid"' in _source("01_neuron", cell)]
        assert sigmoid_cells and all(results[cell] is None for cell in sigmoid_cells), (name, results)


def _source(assignment, grade_id):
    return next(c.source for c in source_notebook(assignment).cells if _meta(c).get("grade_id") == grade_id)


# --- 2. mistakes no known mistake matches: what differs ---------------------------------------------

@dataclass(frozen=True)
class Novel:
    """A mistake written here, in no table: the code its exercise's first failing public test gives
    (a structural one), or None where nothing structural can be said (the message then only says
    which result is wrong)."""

    name: str
    assignment: str
    exercise: str
    source: str
    code: str | None


def _network_backward(new_loop):
    return C._network(C.NET_INIT, C.NET_FORWARD, C.NET_BACKWARD.replace(
        "for j, neuron in enumerate(self.hidden):\n"
        "    neuron.backward(delta_l=delta_l, w_l=[w[j] for w in w_jl], learning_rate=learning_rate)", new_loop),
        C.NET_TRAIN)


NOVEL = [
    # 01_neuron
    Novel("loss-summed", "01_neuron", "loss", C._loss(
        "return 0.5 * np.sum((np.asarray(t) - np.asarray(y_hat)) ** 2)", "return np.asarray(y_hat) - np.asarray(t)"),
        "wrong-shape"),
    Novel("loss-derivative-averaged", "01_neuron", "loss", C._loss(
        "return 0.5 * (np.asarray(t) - np.asarray(y_hat)) ** 2", "return (np.asarray(y_hat) - np.asarray(t)) / len(t)"),
        "over-samples"),
    Novel("sigmoid-of-minus-net", "01_neuron", "activations", C._activations(
        "return 1 / (1 + np.exp(net))", "return np.maximum(0, net)"), None),
    Novel("forward-bias-after-activation", "01_neuron", "neuron_forward", C._neuron1(
        "self.weights = weights if weights is not None else np.random.randn(inputsize)\n"
        "self.bias = bias if bias is not None else np.random.rand()",
        "return self.activation(np.dot(x, self.weights)) + self.bias"), None),
    # 02_backprop
    Novel("backward-stores-delta-only", "02_backprop", "neuron_backward", C._neuron2(edit(edit(
        C.BACKWARD, "self.weights = [w - learning_rate * delta_j * o for w, o in zip(self.weights, self.o_i)]", ""),
        "self.bias = self.bias - learning_rate * delta_j", "")), "nothing-updated"),
    Novel("backward-eta-squared", "02_backprop", "neuron_backward", C._neuron2(edit(
        C.BACKWARD, "w - learning_rate * delta_j * o", "w - learning_rate * learning_rate * delta_j * o")),
        "times-learning-rate"),
    Novel("backward-step-with-net", "02_backprop", "neuron_backward", C._neuron2(edit(
        C.BACKWARD, "w - learning_rate * delta_j * o for w, o in zip(self.weights, self.o_i)",
        "w - learning_rate * delta_j * self.net for w in self.weights")), None),
    Novel("train-without-backward", "02_backprop", "train_multi_sample", C.TRAIN.replace(
        "\n            output.backward(t=t, y_hat=y_hat, learning_rate=learning_rate, output_neuron=True)"
        "\n            for j, neuron in enumerate(hidden):"
        "\n                neuron.backward(delta_l=[output.delta_j], w_l=[w_l[j]], learning_rate=learning_rate)", ""),
        "nothing-updated"),
    Novel("train-return-in-sample-loop", "02_backprop", "train_multi_sample", C.TRAIN.replace(
        "learning_rate=learning_rate)\n        history.append(sum(losses) / len(losses))\n    return history",
        "learning_rate=learning_rate)\n            return history\n        history.append(sum(losses) / len(losses))"),
        "steps-off"),
    Novel("network-forward-cached", "02_backprop", "multi_output_network", C._network_edit(
        "forward", "o_j = [neuron.forward(x) for neuron in self.hidden]\n"
                   "self.o_l = np.array([neuron.forward(o_j) for neuron in self.outputs])",
        "if not hasattr(self, 'o_l'):\n    o_j = [neuron.forward(x) for neuron in self.hidden]\n"
        "    self.o_l = np.array([neuron.forward(o_j) for neuron in self.outputs])"), "right-for-first-only"),
    Novel("network-hidden-not-updated", "02_backprop", "multi_output_network", _network_backward(""),
          "nothing-updated"),
    Novel("network-targets-reversed", "02_backprop", "multi_output_network", _network_edit_backward_targets := C._network_edit(
        "backward", "zip(self.outputs, t, self.o_l)", "zip(self.outputs, t[::-1], self.o_l)"), None),
    # 03_vectorised
    Novel("dense-forward-columns", "03_vectorised", "dense_layer", C._dense(
        "out = (W.T @ x.T + b[:, None])", C.DENSE_BACKWARD), "transposed"),
    Novel("dense-dx-columns", "03_vectorised", "dense_layer", C._dense(C.DENSE_FORWARD, edit(
        C.DENSE_BACKWARD, "dx = dout.dot(W.T)", "dx = W @ dout.T")), "transposed"),
    Novel("dense-db-keepdims", "03_vectorised", "dense_layer", C._dense(C.DENSE_FORWARD, edit(
        C.DENSE_BACKWARD, "db = np.sum(dout, axis=0)", "db = np.sum(dout, axis=0, keepdims=True)")), "wrong-shape"),
    Novel("softmax-dlogits-transposed", "03_vectorised", "softmax_cross_entropy", C._softmax(edit(
        C.SOFTMAX, "dlogits = (probs - t) / N", "dlogits = (probs - t).T / N")), "transposed"),
    Novel("softmax-loss-over-all-classes", "03_vectorised", "softmax_cross_entropy", C._softmax(edit(
        C.SOFTMAX, "loss = -np.mean(log_probs[np.arange(N), y])", "loss = -np.mean(log_probs)")), None),
    Novel("grad-check-precedence", "03_vectorised", "grad_check", C._grad_check(edit(
        C.GRAD_CHECK, "(up - down) / (2 * h)", "(up - down) / 2 * h")), "all-zero"),
    Novel("sgd-return-in-batch-loop", "03_vectorised", "sgd_epoch", C._sgd(C.SGD.replace(
        '    params["b2"] -= learning_rate * db2\nreturn', '    params["b2"] -= learning_rate * db2\n    return')),
        "right-for-first-only"),
    Novel("sgd-index-not-moving", "03_vectorised", "sgd_epoch", C._sgd(edit(
        C.SGD, "batch = idx[start:start + batch_size]", "batch = idx[0:batch_size]")), "right-for-first-only"),
    Novel("sgd-step-times-batch-size", "03_vectorised", "sgd_epoch", C._sgd(C.SGD.replace(
        "learning_rate * d", "learning_rate * batch_size * d")), "times-batch-size"),
    Novel("sgd-first-layer-not-updated", "03_vectorised", "sgd_epoch", C._sgd(edit(edit(
        C.SGD, 'params["W1"] -= learning_rate * dW1', ""), 'params["b1"] -= learning_rate * db1', "")),
        "nothing-updated"),
    Novel("sgd-returns-the-list", "03_vectorised", "sgd_epoch", C._sgd(edit(
        C.SGD, "return np.mean(batch_losses)", "return batch_losses")), "wrong-shape"),
    Novel("sgd-loss-over-samples", "03_vectorised", "sgd_epoch", C._sgd(edit(
        C.SGD, "return np.mean(batch_losses)", "return np.sum(batch_losses) / N")), None),
]


def _cells(novel):
    cells = {e: C.strip_markers(src) for e, src in C.reference_cells(novel.assignment).items()}
    cells[novel.exercise] = novel.source
    return cells


def outcome(novel, public):
    """The code the first failing test cell of the novel mistake's exercise gives (None: no code), or "passes"."""
    error = first_failure(novel.assignment, novel.exercise, run_cells(novel.assignment, _cells(novel), public))
    return "passes" if error is None else getattr(error, "code", None)
