"""How a check compares and how it talks to the student.

A check computes the right answer from the oracle and, beside it, the answers that known
mistakes would give. When the student's result is wrong but matches a known mistake,
the check raises :class:`Mistake`, which names it; otherwise :class:`WrongAnswer`.
The grade report counts mistakes by the code in brackets, e.g. ``[hidden-delta-no-phi-prime]``.
"""
from __future__ import annotations

import contextlib
import re
import warnings

import numpy as np

#: stated tolerance between a student's float64 result and the finite-difference oracle
RTOL, ATOL = 1e-5, 1e-7

LECTURE = "notebooks/04_backpropagation.ipynb"

#: every mistake a check can name: code -> what the student did and how to fix it
MISTAKES = {
    # 01_neuron
    "relu-not-vectorised": "ReLU uses `if`, which works on one number only. Use np.maximum(0, net) so it works elementwise on arrays.",
    "sigmoid-not-vectorised": "sigmoid does not work elementwise on arrays. Use np.exp, not math.exp.",
    "derivative-of-net": "φ′ was taken of net instead of o: for the sigmoid φ′(net) = o(1 − o) with o = φ(net), not net(1 − net).",
    "relu-derivative-wrong": "ReLU′(net) is 1 where net > 0 and 0 elsewhere.",
    "loss-no-half": "The loss is e = ½(t − ŷ)²: the ½ is missing, which doubles e and its gradient.",
    "loss-gradient-sign": "∂e/∂ŷ = ŷ − t, not t − ŷ: differentiate ½(t − ŷ)² with the chain rule, the inner derivative is −1.",
    "constructor-truthiness": "The constructor tests `if not weights` / `if not bias`: that fails for numpy arrays and throws away a bias of 0. Test `is None` instead.",
    "forward-ignores-bias": "The forward pass leaves out the bias: net = Σ_i w_i·o_i + b.",
    "forward-no-activation": "The forward pass returns net: the output is o = φ(net).",
    # 02_backprop: one neuron
    "update-sign": "The update goes uphill: gradient descent subtracts, w ← w − η·δ·o_i.",
    "bias-not-updated": "The bias is not updated: b ← b − η·δ.",
    "learning-rate-ignored": "The learning_rate argument is ignored: the step must be η·δ·o_i with the η that was passed in.",
    "output-delta-sign": "δ of the output neuron has the wrong sign: δ = (ŷ − t)·φ′(net).",
    "output-delta-no-phi-prime": "δ of the output neuron lacks φ′(net): δ = (ŷ − t)·φ′(net).",
    "relu-with-sigmoid-derivative": "A ReLU neuron uses the sigmoid's derivative o(1 − o). For ReLU, φ′(net) is 1 if net > 0, else 0.",
    "hidden-delta-no-phi-prime": "The hidden δ_j lacks φ′(net_j), bug (b) of the original code: δ_j = (Σ_l δ_l·w_jl)·φ′(net_j).",
    "only-one-output-delta": "Only one output's δ reaches the hidden neuron: δ_j sums over every output, Σ_l δ_l·w_jl.",
    "averaged-over-outputs": "The hidden δ_j averages over the outputs: it must sum them, Σ_l δ_l·w_jl, because each output adds its own term to the loss.",
    # 02_backprop: training
    "updated-weights-propagated": "Deltas are propagated with output weights that were already updated, bug (c) of the original code: read w_jl before the output neuron updates it.",
    "subset-of-samples": "Training uses only some of the samples: each epoch must visit every sample.",
    "epochs-ignored": "The epochs argument is ignored: train for exactly `epochs` epochs and return one loss per epoch.",
    "loss-not-averaged": "The epoch loss is the sum over samples: return the mean of the samples' losses.",
    "loss-after-update": "A sample's loss is taken after its update: take it at the forward pass, before the step.",
    "wrong-target": "An output neuron is trained towards another output's or another sample's target: output l learns t_l of the same sample.",
    "loss-not-summed-over-outputs": "The sample loss is e = ½ Σ_l (t_l − o_l)², summed over the outputs, not averaged.",
    # 03_vectorised (checks/vectorised.py; it also names forward-ignores-bias and update-sign)
    "weight-gradient-transposed": "dW is transposed: dW = xᵀ·dout has W's shape (D, M), entry (d, m) = Σ_n x[n, d]·dout[n, m]; dout.T @ x gives (M, D).",
    "bias-gradient-not-summed": "db is not summed over the batch: every sample adds its row of dout to the bias gradient, db = dout.sum(axis=0), shape (M,).",
    "batch-divided-twice": "The gradient is divided by the batch size a second time: dlogits already carries the 1/N of the mean loss, so dense_backward and the update must not divide again.",
    "cross-entropy-not-averaged": "The loss is the sum over the batch: it is the mean, e = −(1/N) Σ_n log ŷ[n, y_n].",
    "softmax-gradient-not-averaged": "dlogits lacks the 1/N: the loss is the mean over the batch, so its gradient is (ŷ − t)/N, not ŷ − t.",
    "softmax-gradient-sign": "dlogits has the wrong sign: ∂e/∂z = (ŷ − t)/N, prediction minus target, as ∂e/∂ŷ = ŷ − t in lecture 3.",
    "softmax-gradient-missing-target": "dlogits lacks the −t: subtract 1 at each sample's true class, ∂e/∂z = (ŷ − t)/N with t one-hot.",
    "softmax-overflow": "softmax overflows on large logits (exp(1000) is inf, inf/inf is nan): subtract each row's max first, ŷ = exp(z − max z) / Σ exp(z − max z), which does not change ŷ.",
    "log-of-zero-probability": "The loss takes log ŷ of a probability that underflowed to 0 (or a clipped log(ŷ + ε)): compute log ŷ = (z − max z) − log Σ exp(z − max z) directly.",
    "one-sided-difference": "grad_check uses a one-sided difference, (f(x + h) − f(x))/h, whose error grows like h: use the central difference (f(x + h) − f(x − h))/(2h), whose error grows like h².",
    "step-too-large": "grad_check's step is too large, or is not the h it was given: the central difference's error grows like h²; use the argument h (1e-5 by default).",
    "difference-not-halved": "The central difference is divided by h instead of 2h: x + h and x − h are 2h apart.",
    "input-not-restored": "grad_check leaves x changed: put each entry back after perturbing it (old = x[i]; …; x[i] = old), or perturb a copy.",
    "shuffled-without-targets": "The inputs are shuffled without their targets: use one permutation for both, idx = rng.permutation(N), then X[idx] and y[idx].",
    "samples-not-shuffled": "The samples are visited in their stored order: visit them in the order idx = rng.permutation(N), drawn once per epoch.",
    "last-batch-dropped": "The last, smaller batch is skipped: when N is not a multiple of batch_size, the final batch holds the remaining samples, idx[start:start + batch_size].",
    "relu-backward-skipped": "The gradient skips ReLU's backward: mask it with relu_backward before the first layer's dense_backward, zero where the hidden net ≤ 0.",
    "params-not-updated": "params is not updated: change the dict you were given (params['W1'] -= η·dW1, or params['W1'] = …), not a copy or a new dict.",
    "batch-losses-summed": "The epoch loss is the sum of the batch losses: return their mean.",
    "batch-losses-weighted": "The epoch loss weights each batch by its size: return the plain mean of the batch losses, np.mean(batch_losses).",
}

_CODE = re.compile(r"\[([a-z0-9-]+)\]")


class WrongAnswer(AssertionError):
    """A check failed and the result matches no known mistake."""


class Mistake(AssertionError):
    """A check failed and the result matches a known mistake, named by ``code``."""

    def __init__(self, code, quantity):
        self.code = code
        super().__init__(f"{quantity} is wrong. [{code}] {MISTAKES[code]}")


def mistake_codes(text):
    """The mistake codes named in an error message (used by the grade report)."""
    return [code for code in _CODE.findall(text or "") if code in MISTAKES]


def as_vector(value, what):
    """A student's number or sequence as a float64 vector, or a WrongAnswer saying why not."""
    try:
        return np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{what} should be a number or a sequence of numbers, not {type(value).__name__}: {value!r}") from None


def close(actual, expected):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    return actual.shape == expected.shape and bool(np.all(np.isfinite(actual))) and np.allclose(actual, expected, rtol=RTOL, atol=ATOL)


def compare(quantity, actual, expected, variants=(), reveal=False):
    """Pass when ``actual`` matches ``expected``; otherwise name the mistake it matches.

    quantity: what is compared, in the lecture's words ("δ_j of the hidden neuron").
    variants: (code, value) pairs, the results of known mistakes, tried in order.
    reveal: show the numbers (public tests only: hidden tests never show expected values).
    """
    actual_v = as_vector(actual, quantity)
    expected_v = np.asarray(expected, float).reshape(-1)
    if close(actual_v, expected_v):
        return
    for code, value in variants:
        if not close(expected_v, np.reshape(value, -1)) and close(actual_v, np.reshape(value, -1)):
            raise Mistake(code, quantity)
    if actual_v.shape != expected_v.shape:
        raise WrongAnswer(f"{quantity} has {actual_v.size} value(s), expected {expected_v.size}.")
    message = f"{quantity} is wrong."
    if reveal:
        message += f"\n  got:      {np.array2string(actual_v, precision=8)}\n  expected: {np.array2string(expected_v, precision=8)}"
    else:
        message += " (hidden test: the expected values are not shown)"
    raise WrongAnswer(message)


# --- checks in three parts, so the verdict can be reached outside the student's kernel ------

def plain(value):
    """A student's result as JSON data: a float, nested lists of floats, or a note saying what it was."""
    if isinstance(value, Missing):
        return {"missing": value.name}
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return {"not_a_number": f"{type(value).__name__}: {value!r}"[:200]}
    return array.tolist()


class Missing:
    """Stands for an attribute the student's object does not have."""

    def __init__(self, name):
        self.name = name


def read(obj, name):
    """obj.name as plain data, or the note that it is missing."""
    return plain(getattr(obj, name, Missing(name)))


def seen(observed, key, what):
    """A probed value, or the WrongAnswer that says it is missing."""
    value = observed[key]
    if isinstance(value, dict) and "missing" in value:
        raise WrongAnswer(f"{what} must store `{value['missing']}` (see the exercise's contract).")
    return value


#: every Check by name, filled as they are defined (the grader looks checks up here)
REGISTRY = {}


@contextlib.contextmanager
def quiet(category=RuntimeWarning):
    """No warnings of ``category`` and no numpy floating-point warnings.

    nbgrader fails a test cell that writes to stderr, and the replayed mistakes overflow on
    purpose (a diverging learning rate): that must not cost an honest student a point.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", category)
        yield


class Check:
    """A check in three parts: scenario → probe → judge.

    - ``scenario(**arguments)`` turns the test cell's arguments into the case to run, as JSON data;
    - ``probe(*student_objects, scenario)`` runs the student's code on it and returns what it
      produced, as JSON data (``plain``); only this part runs student code;
    - ``judge(scenario, observed, reveal)`` compares with the oracle and names mistakes.

    Calling the check runs all three in one process, as a test cell does. The grader runs the
    probe in the student's kernel and the scenario and judge in its own process
    (``backprop_course.grader.verdicts``), so a kernel the student has tampered with cannot fake a pass.
    """

    def __init__(self, name, objects, scenario, probe, judge):
        self.__name__ = self.name = name
        self.objects, self.scenario, self.probe, self.judge = objects, scenario, probe, judge
        self.__doc__ = judge.__doc__
        REGISTRY[name] = self

    def __call__(self, *args, reveal=False, **arguments):
        with quiet():
            scenario = self.scenario(*args[self.objects:], **arguments)
            observed = self.probe(*args[:self.objects], scenario)
            self.judge(scenario, observed, reveal)
