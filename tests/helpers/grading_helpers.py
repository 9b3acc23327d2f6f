"""What the grading tests share: a copy of the course (``course_copy``, the one way a test makes
one), the graded catalogue class, the test cells a mistake rightly passes, and what they read back
(file hashes, scores from the gradebook, cells' errors)."""
import hashlib
import shutil
from pathlib import Path

import nbformat

from backprop_course.grader import pipeline
from backprop_course.grader.results import report
from backprop_course.grader.assignments import assignments
from answers.catalogue import CATALOGUE, EXERCISES, NOTEBOOK, build_notebook

from project import ROOT

BROKEN = {  # student -> (assignment folder, files), each reported, none graded
    "broken-json": ("02_backprop", {"backprop.ipynb": '{"cells": [ {"cell_type": "code",'}),
    "renamed-notebook": ("01_neuron", {"neuron (1).ipynb": None}),
    "unknown-assignment": ("03_convolutions", {"conv.ipynb": None}),
    "no-notebook": ("01_neuron", {"notes.txt": "I ran out of time"}),
}

_HIDDEN_ONLY = "it tests hidden neurons only, and the mistake is in the output neuron's δ"
_OUTPUT_ONLY = "it tests an output neuron only, and the mistake is in the hidden δ_j"
_FORWARD_RIGHT = "Network.forward is right: the mistake is in backward or train"
_NO_LOSS = "one backward() step computes no loss: the mistake is in train's loss"
_SMALL_LOGITS = "on logits of size about 2 nothing overflows or underflows: the mistake shows at ±1000"
_ONE_SAMPLE = "one backward() step is one sample's: the mistake is in train's loop over the samples"
_OTHER_OPERATIONS = "it tests other operations than the one whose backward is wrong"
_NO_BROADCAST = "no operand is broadcast there: the mistake shows when a row is added to every sample"
#: the test cells of a mistaken exercise that rightly pass, and why. Every other test cell of
#: that exercise must fail, and name the mistake (a diagnosis that breaks in one cell shows).
RIGHTLY_PASSING = {
    **{name: {"test_activations_sigmoid": "sigmoid is right: the mistake is in relu"}
       for name in ("01-activations-relu-if", "01-activations-relu-max", "01-activations-relu-np-max")},
    "01-activations-sigmoid-math": {"test_activations_relu": "relu is right: the mistake is in sigmoid"},
    "02-neuron-output-delta-sign": {"test_neuron_backward_hidden": _HIDDEN_ONLY, "test_neuron_backward_relu": _HIDDEN_ONLY},
    "02-neuron-output-delta-no-phi-prime": {"test_neuron_backward_hidden": _HIDDEN_ONLY,
                                            "test_neuron_backward_relu": _HIDDEN_ONLY},
    "02-neuron-relu-sigmoid-derivative": {"test_neuron_backward_hidden": "its neurons are sigmoid neurons only"},
    "02-neuron-derivative-of-net": {"test_neuron_backward_relu": "its neurons are ReLU neurons only"},
    "02-neuron-hidden-no-phi-prime": {"test_neuron_backward_output": _OUTPUT_ONLY},
    "02-neuron-activation-compared-to-its-name": {"test_neuron_backward_relu": "its neurons are ReLU neurons, whose "
                                                                             "branch is the one taken"},
    "02-neuron-hidden-last-output-only": {"test_neuron_backward_output": _OUTPUT_ONLY},
    "02-neuron-hidden-mean": {"test_neuron_backward_output": _OUTPUT_ONLY},
    **{name: {"test_multi_output_network_forward": _FORWARD_RIGHT}
       for name in ("02-network-updated-weights", "02-network-first-output-only", "02-network-own-output-only",
                    "02-network-first-target",
                    "02-network-learning-rate-not-passed")},
    **{name: {"test_multi_output_network_forward": _FORWARD_RIGHT, "test_multi_output_network_backward": _NO_LOSS}
       for name in ("02-network-loss-mean-over-outputs", "02-network-loss-after-update", "02-network-mse-loss",
                    "02-network-total-not-reset")},
    "02-network-off-by-one": {"test_multi_output_network_forward": _FORWARD_RIGHT,
                              "test_multi_output_network_backward": _ONE_SAMPLE},
    # 03_vectorised
    "03-dense-forward-no-bias": {"test_dense_layer_backward": "dense_backward is right, and its cache (x, W, b) "
                                                              "does not depend on out: the mistake is in out"},
    **{name: {"test_dense_layer_forward": "dense_forward is right: the mistake is in dense_backward"}
       for name in ("03-dense-dW-transposed", "03-dense-db-not-summed", "03-dense-averaged", "03-dense-db-mean",
                    "03-dense-dx-not-transposed")},
    **{name: {"test_softmax_cross_entropy_loss": _SMALL_LOGITS, "test_softmax_cross_entropy_gradient": _SMALL_LOGITS}
       for name in ("03-softmax-no-max", "03-softmax-global-max", "03-softmax-log-of-probability")},
    **{name: {"test_softmax_cross_entropy_loss": "the loss is right: the mistake is in dlogits"}
       for name in ("03-softmax-gradient-sign", "03-softmax-gradient-not-averaged", "03-softmax-missing-target")},
    "03-softmax-loss-summed": {"test_softmax_cross_entropy_gradient": "dlogits is right: the mistake is in the loss"},
    "03-sgd-not-shuffled": {"test_sgd_epoch_accuracy": "the spirals, visited in their stored order, are still "
                                                       "learnt to 90 %: the order shows in one epoch's steps"},
    "03-sgd-last-batch-dropped": {"test_sgd_epoch_accuracy": "dropping the last 2 of 210 samples each epoch "
                                                             "still learns the spirals to 90 %"},
    **{name: {"test_sgd_epoch_accuracy": "the steps are right: only the loss returned is wrong"}
       for name in ("03-sgd-losses-summed", "03-sgd-losses-weighted", "03-sgd-last-batch-loss",
                    "03-sgd-loss-after-step")},
    "03-sgd-permutation-per-batch": {"test_sgd_epoch_accuracy": "batches drawn at random, with repeats, still learn "
                                                                "the spirals to 90 %: it shows in one epoch's steps"},
    "03-sgd-W2-updated-first": {"test_sgd_epoch_accuracy": "a step of W1 through W2 one step ahead still learns "
                                                           "the spirals to 90 %: it shows in one epoch's steps"},
    "03-sgd-np-random": {"test_sgd_epoch_accuracy": "np.random's order is as good an order: it shows in one epoch's "
                                                    "steps, on the rng it was given"},
    # 04_autograd: a mistake in one operation's backward fails the test cell of that operation only
    **{name: {"test_value_arithmetic": _OTHER_OPERATIONS, "test_value_arrays": _OTHER_OPERATIONS}
       for name in ("04-value-exp-without-upstream", "04-value-tanh-of-input", "04-value-relu-by-relu")},
    "04-value-power-exponent-kept": {"test_value_functions": _OTHER_OPERATIONS, "test_value_arrays": _OTHER_OPERATIONS},
    "04-value-no-unbroadcast": {"test_value_arithmetic": _NO_BROADCAST, "test_value_functions": _NO_BROADCAST},
}

#: cells of RIGHTLY_PASSING whose hidden scenario the mistake may still fail (training that reaches
#: 90 % by a small margin: 89 % under one course secret of test_checks.SECRETS): where such a cell
#: fails, it must name the mistake
NAMED_IF_FAILING = {("03-sgd-permutation-per-batch", "test_sgd_epoch_accuracy")}


#: the course secret of every course a test copies: hidden scenarios the same in every run
TEST_SECRET = "5e" * 32


def course_copy(course, config="", folders=("source", "release")):
    """A copy of the course in ``course`` (made if missing): ``folders`` of the project, the
    answers (answers/, which the grader needs beside source/), nbgrader_config.py with ``config``
    appended (a line of Python: it starts on a line of its own) and a fixed course secret
    (TEST_SECRET). Returns ``course``."""
    course = Path(course)
    course.mkdir(parents=True, exist_ok=True)
    for name in (*folders, "answers"):
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    (course / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text() + "\n" + config)
    (course / ".course-secret").write_text(TEST_SECRET + "\n")
    return course


def grade_class(course):
    """Release ``course`` and autograde its submitted/ in one batch of 2 workers.

    Returns (grader, submissions, hashes of submitted/, source/ and release/ before grading).
    """
    before = {name: tree_hashes(course / name) for name in ("submitted", "source", "release")}
    grader = pipeline.Course(root=course)
    grader.release()
    return grader, grader.autograde(grader.submissions(), jobs=2), before


def grade_catalogue(course):
    """A class in ``course`` of every catalogue submission, the source ("reference"), the blank
    release ("blank") and the BROKEN folders: released, autograded in one batch, feedback made.

    Returns (course, grader, submissions, report.collect's results, hashes of the inputs before).
    """
    course_copy(course)
    submitted = course / "submitted"
    for sub in CATALOGUE:
        path = submitted / sub.name / sub.assignment / NOTEBOOK[sub.assignment]
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build_notebook(sub, hidden_tests=False), path)
    for assignment in NOTEBOOK:
        shutil.copytree(ROOT / "source" / assignment, submitted / "reference" / assignment)
        shutil.copytree(ROOT / "release" / assignment, submitted / "blank" / assignment)
    for student, (assignment, files) in BROKEN.items():
        for name, text in files.items():
            path = submitted / student / assignment / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text if text is not None else (ROOT / "release/01_neuron/neuron.ipynb").read_text())
    grader, submissions, before = grade_class(course)
    _, failed = grader.feedback(submissions)
    assert not failed, failed
    results = report.collect(grader.db_url, grader.class_path, course / "source",
                             {(s.student, s.assignment): s.problem for s in submissions if s.problem})
    return course, grader, submissions, results, before
def tree_hashes(root):
    """sha256 of every file under root (or of root itself, if it is a file), by relative path."""
    root = Path(root)
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def exercise_scores(grader, student, assignment):
    """{exercise: (score, max score)} of one graded submission, summed over its test cells."""
    from nbgrader.api import Gradebook

    scores = {}
    graded = assignments()[assignment]
    with Gradebook(grader.db_url) as gb:
        notebook = gb.find_submission_notebook(Path(graded.notebook).stem, assignment, student)
        for grade in notebook.grades:
            exercise = graded.exercise_of(grade.name)
            got, top = scores.get(exercise, (0.0, 0.0))
            scores[exercise] = (got + grade.score, top + grade.max_score)
    return scores


def cell_errors(course, student, assignment):
    """{grade_id: the error messages of that test cell, joined} of a student's autograded notebook."""
    nb = nbformat.read(Path(course) / "autograded" / student / assignment / NOTEBOOK[assignment], as_version=4)
    return {c.metadata.nbgrader.grade_id: " ".join(o.get("evalue", "") for o in c.outputs if o.output_type == "error")
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
