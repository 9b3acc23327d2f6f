"""The mistake table: every mistake a check can name, each in one entry.

An entry gives the mistake's code (shown in brackets, ``[update-sign]``, and counted by the
grade report), its message to the student, and how it differs from the reference: one or more
*deviations*, each a dict ``{equation: wrong version}``. An equation is a method of
``reference.Equations`` (the lecture's formulas, one each); its wrong version is a plain
function of the same arguments. ``update-sign`` is ``weight_step=lambda w, eta, delta, o_i:
w + eta * delta * o_i``, the same for the bias and for 03's batch step. A mistake that can be
made in several ways (η set to 1, or left at its default 0.1) lists several deviations.

The checks never name a mistake themselves. They replay the reference under every deviation
(``core.Suspects``) and name the first entry, in table order, whose replay gives the student's
wrong result: a value (``Suspects.compare``) or an error of the same type
(``Suspects.blame`` with ``raises``). The table's order decides when two mistakes give the same
result (``update-sign`` before ``output-delta-sign``, and before 03's ``softmax-gradient-sign``:
in training each moves every weight uphill; the forward pass's mistakes last). A check that
needs another equation's mistake named gives that equation its own method: 03's
``relu_backward`` and ``epoch_batch_loss`` are apart from 02's ``hidden_delta`` and
``epoch_loss``, so that a skipped ReLU mask or summed batch losses keep their own codes.

How to add a mistake:

1. Add an entry below: ``known(code, message, equation=wrong_version)``. If the mistake
   changes a step that is not yet an equation of its own, first give that step its own method
   in ``reference.Equations``, following the lecture, and use it in the reference.
2. Add a submission that makes the mistake to ``backprop_course/tools/catalogue.py`` (its
   ``MISTAKES_0x`` list): tests/test_checks.py runs it through the test cells and requires a
   test cell of its exercise to name the code, and every entry to have such a submission.

Codes and messages are part of what students have been handed: change neither once released.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KnownMistake:
    """One entry of the table."""

    code: str            # lowercase words joined by '-', as shown in brackets
    message: str         # what the student did and how to fix it, in the lecture's notation
    deviations: tuple    # of {equation name: wrong version}, each one way to make the mistake


def known(code, message, *alternatives, **deviation):
    """An entry: one deviation as keyword arguments, or several as dicts."""
    return KnownMistake(code, message, tuple(alternatives) + ((deviation,) if deviation else ()))


# --- wrong versions used by several deviations (plain functions of an equation's arguments) -----

def _exp_normalised(z):
    """exp(z) / Σ exp(z) without the max subtracted: overflows for logits in the hundreds"""
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def _stable_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)


def _clipped_log(eps):
    return lambda z: np.log(np.maximum(_stable_softmax(z), eps))


def _shifted_log(eps):
    return lambda z: np.log(_stable_softmax(z) + eps)


def _fixed(step):
    """a finite-difference step set inside grad_check, whatever h was passed"""
    return lambda h: step


_ONE_SIDED = (lambda f_plus, f_0, f_minus, h: (f_plus - f_0) / h,        # forward
              lambda f_plus, f_0, f_minus, h: (f_0 - f_minus) / h)       # backward


TABLE = [
    # --- 01_neuron -------------------------------------------------------------------------
    known("relu-not-vectorised",
          "ReLU uses `if`, which works on one number only. Use np.maximum(0, net) so it works elementwise on arrays.",
          {"relu": lambda net: net if net > 0 else 0.0},
          {"relu": lambda net: max(0, net)},
          {"relu_prime": lambda net, o: 1.0 if net > 0 else 0.0}),
    known("sigmoid-not-vectorised",
          "sigmoid does not work elementwise on arrays. Use np.exp, not math.exp.",
          {"sigmoid": lambda net: 1 / (1 + math.exp(-net))},
          {"sigmoid_prime": lambda net, o: math.exp(-net) / (1 + math.exp(-net)) ** 2}),
    known("derivative-of-net",
          "φ′ was taken of net instead of o: for the sigmoid φ′(net) = o(1 − o) with o = φ(net), not net(1 − net).",
          sigmoid_prime=lambda net, o: net * (1 - net)),
    known("relu-derivative-wrong",
          "ReLU′(net) is 1 where net > 0 and 0 elsewhere.",
          {"relu_prime": lambda net, o: o},                  # ReLU itself
          {"relu_prime": lambda net, o: np.sign(net)}),      # −1 for net < 0
    known("loss-no-half",
          "The loss is e = ½(t − ŷ)²: the ½ is missing, which doubles e and its gradient.",
          loss=lambda t, y_hat: (t - y_hat) ** 2,
          loss_derivative=lambda t, y_hat: 2 * (y_hat - t)),
    known("loss-gradient-sign",
          "∂e/∂ŷ = ŷ − t, not t − ŷ: differentiate ½(t − ŷ)² with the chain rule, the inner derivative is −1.",
          loss_derivative=lambda t, y_hat: t - y_hat),
    known("constructor-truthiness",
          "The constructor tests `if not weights` / `if not bias`: that fails for numpy arrays and throws away a "
          "bias of 0. Test `is None` instead.",
          given_or_random=lambda value, draw: value if value else draw()),
    # --- 02_backprop: one neuron ----------------------------------------------------------
    known("update-sign",
          "The update goes uphill: gradient descent subtracts, w ← w − η·δ·o_i.",
          weight_step=lambda w, eta, delta, o_i: w + eta * delta * o_i,
          bias_step=lambda b, eta, delta: b + eta * delta,
          sgd_step=lambda theta, eta, grad: theta + eta * grad),
    known("bias-not-updated",
          "The bias is not updated: b ← b − η·δ.",
          bias_step=lambda b, eta, delta: b),
    known("learning-rate-ignored",
          "The learning_rate argument is ignored: the step must be η·δ·o_i with the η that was passed in.",
          {"learning_rate": lambda eta: 1.0},                # the step without η
          {"learning_rate": lambda eta: 0.1}),               # η left at backward()'s default
    known("output-delta-sign",
          "δ of the output neuron has the wrong sign: δ = (ŷ − t)·φ′(net).",
          output_delta=lambda y_hat, t, prime: (t - y_hat) * prime),
    known("output-delta-no-phi-prime",
          "δ of the output neuron lacks φ′(net): δ = (ŷ − t)·φ′(net).",
          output_delta=lambda y_hat, t, prime: y_hat - t),
    known("relu-with-sigmoid-derivative",
          "A ReLU neuron uses the sigmoid's derivative o(1 − o). For ReLU, φ′(net) is 1 if net > 0, else 0.",
          relu_prime=lambda net, o: o * (1 - o)),
    known("hidden-delta-no-phi-prime",
          "The hidden δ_j lacks φ′(net_j), bug (b) of the original code: δ_j = (Σ_l δ_l·w_jl)·φ′(net_j).",
          hidden_delta=lambda back, prime: back),
    known("only-one-output-delta",
          "Only one output's δ reaches the hidden neuron: δ_j sums over every output, Σ_l δ_l·w_jl.",
          {"backpropagated": lambda delta_l, w_l: delta_l[0] * w_l[0]},
          {"backpropagated": lambda delta_l, w_l: delta_l[-1] * w_l[-1]}),
    known("averaged-over-outputs",
          "The hidden δ_j averages over the outputs: it must sum them, Σ_l δ_l·w_jl, because each output adds its "
          "own term to the loss.",
          backpropagated=lambda delta_l, w_l: np.mean(np.multiply(delta_l, w_l))),
    # --- 02_backprop: training ------------------------------------------------------------
    # The loops' own mistakes are told apart by 3+ samples and 3+ epochs (the public tests): with
    # 2 samples a sum is twice the mean, like a loss without ½, and with 2 epochs range(1, epochs)
    # trains one epoch, like a `return` inside the loop (tests/test_checks.py, TIES).
    known("updated-weights-propagated",
          "Deltas are propagated with output weights that were already updated, bug (c) of the original code: "
          "read w_jl before the output neuron updates it.",
          propagated_weights=lambda before, after: after),
    known("subset-of-samples",
          "Training uses only some of the samples: each epoch must visit every sample.",
          {"samples": lambda inputs, targets: list(zip(inputs, targets))[:1]},
          {"samples": lambda inputs, targets: list(zip(inputs, targets))[-1:]},
          {"samples": lambda inputs, targets: list(zip(inputs, targets))[:-1]},   # range(len(inputs) - 1)
          {"samples": lambda inputs, targets: list(zip(inputs, targets))[1:]}),   # range(1, len(inputs))
    known("epochs-ignored",
          "The epochs argument is ignored: train for exactly `epochs` epochs and return one loss per epoch.",
          epochs=lambda n: 1000),                            # train()'s default
    known("epochs-off-by-one",
          "Training runs one epoch too few or too many: `for epoch in range(epochs)` runs exactly `epochs` epochs "
          "(range(1, epochs) runs one less, range(epochs + 1) one more).",
          {"epochs": lambda n: n - 1},
          {"epochs": lambda n: n + 1}),
    known("return-inside-epoch-loop",
          "train returns after the first epoch: `return` is indented inside the epoch loop. Dedent it so that it "
          "runs once, after every epoch is done.",
          epochs=lambda n: 1),
    known("loss-not-averaged",
          "The epoch loss is the sum over samples: return the mean of the samples' losses.",
          epoch_loss=lambda losses, earlier: np.sum(losses)),
    known("epoch-loss-last-sample",
          "The epoch's loss is its last sample's loss only: collect the loss of every sample of the epoch and "
          "return their mean.",
          epoch_loss=lambda losses, earlier: losses[-1]),
    known("losses-not-reset",
          "The sample losses are not reset at each epoch: `losses = []` (or `total = 0`) stands before the epoch "
          "loop, so an epoch's mean also counts the epochs before it. Start it afresh inside the epoch loop.",
          {"epoch_loss": lambda losses, earlier: np.mean(earlier + losses)},
          {"epoch_loss": lambda losses, earlier: np.sum(earlier + losses) / len(losses)}),   # total / len(inputs)
    known("loss-recorded-per-sample",
          "The history grows after every sample (its append is indented inside the sample loop): append the "
          "epoch's mean loss once per epoch, after the sample loop.",
          epoch_recorded=lambda k, n: True),
    known("update-once-per-epoch",
          "The weights are updated once per epoch, after the sample loop (the backward calls are indented one "
          "level too little): online gradient descent takes a step after every sample, inside the sample loop.",
          online_step=lambda k, n: k == n - 1),
    known("loss-after-update",
          "A sample's loss is taken after its update: take it at the forward pass, before the step.",
          recorded_loss=lambda at_forward, after_update: after_update()),
    known("wrong-target",
          "An output neuron is trained towards another output's or another sample's target: output l learns t_l "
          "of the same sample.",
          {"output_targets": lambda t: np.full_like(t, t[0])},
          {"samples": lambda inputs, targets: [(x, targets[0]) for x in inputs]}),
    known("loss-not-summed-over-outputs",
          "The sample loss is e = ½ Σ_l (t_l − o_l)², summed over the outputs, not averaged.",
          {"sample_loss": lambda t, o_l: 0.5 * np.mean((t - o_l) ** 2)},
          {"sample_loss": lambda t, o_l: np.mean((t - o_l) ** 2)}),                # the libraries' mean squared error
    # --- 03_vectorised: the dense layer ------------------------------------------------------
    known("weight-gradient-transposed",
          "dW is transposed: dW = xᵀ·dout has W's shape (D, M), entry (d, m) = Σ_n x[n, d]·dout[n, m]; dout.T @ x gives (M, D).",
          {"weight_gradient": lambda x, dout: dout.T @ x},
          {"weight_gradient": lambda x, dout: dout.T @ x / len(x)}),        # and averaged
    known("bias-gradient-not-summed",
          "db is not summed over the batch: every sample adds its row of dout to the bias gradient, db = dout.sum(axis=0), shape (M,).",
          {"bias_gradient": lambda dout: dout},
          {"bias_gradient": lambda dout: dout.sum(axis=1)},                 # over the neurons
          {"bias_gradient": lambda dout: dout.sum()},
          {"bias_gradient": lambda dout: dout[0]}),                         # the first sample's row
    known("batch-divided-twice",
          "The gradient is divided by the batch size a second time: dlogits already carries the 1/N of the mean loss, so dense_backward and the update must not divide again.",
          {"input_gradient": lambda dout, W: dout @ W.T / len(dout),        # dense_backward averages
           "weight_gradient": lambda x, dout: x.T @ dout / len(x),
           "bias_gradient": lambda dout: dout.sum(axis=0) / len(dout)},
          {"softmax_gradient": lambda y_hat, t: (y_hat - t) / len(t) ** 2},
          {"step_size": lambda eta, batch_size: eta / batch_size}),         # the update divides by B
    # --- 03_vectorised: softmax with cross-entropy ---------------------------------------------
    known("cross-entropy-not-averaged",
          "The loss is the sum over the batch: it is the mean, e = −(1/N) Σ_n log ŷ[n, y_n].",
          cross_entropy=lambda log_y_hat, y: -np.sum(log_y_hat[np.arange(len(y)), y])),
    known("softmax-gradient-not-averaged",
          "dlogits lacks the 1/N: the loss is the mean over the batch, so its gradient is (ŷ − t)/N, not ŷ − t.",
          softmax_gradient=lambda y_hat, t: y_hat - t),
    known("softmax-gradient-sign",
          "dlogits has the wrong sign: ∂e/∂z = (ŷ − t)/N, prediction minus target, as ∂e/∂ŷ = ŷ − t in lecture 3.",
          {"softmax_gradient": lambda y_hat, t: (t - y_hat) / len(t)},
          {"softmax_gradient": lambda y_hat, t: t - y_hat}),                # and not averaged
    known("softmax-gradient-missing-target",
          "dlogits lacks the −t: subtract 1 at each sample's true class, ∂e/∂z = (ŷ − t)/N with t one-hot.",
          {"softmax_gradient": lambda y_hat, t: y_hat / len(t)},
          {"softmax_gradient": lambda y_hat, t: y_hat}),                    # and not averaged
    known("softmax-overflow",
          "softmax overflows on large logits (exp(1000) is inf, inf/inf is nan): subtract each row's max first, ŷ = exp(z − max z) / Σ exp(z − max z), which does not change ŷ.",
          {"softmax": lambda z: _exp_normalised(z), "log_softmax": lambda z: np.log(_exp_normalised(z))},
          {"softmax": lambda z: _exp_normalised(z)},
          {"log_softmax": lambda z: np.log(_exp_normalised(z))},
          {"log_softmax": lambda z: z - np.log(np.exp(z).sum(axis=1, keepdims=True))}),
    known("log-of-zero-probability",
          "The loss takes log ŷ of a probability that underflowed to 0 (or a clipped log(ŷ + ε)): compute log ŷ = (z − max z) − log Σ exp(z − max z) directly.",
          {"log_softmax": lambda z: np.log(_stable_softmax(z))},
          *({"log_softmax": _clipped_log(eps)} for eps in (1e-12, 1e-15, 1e-10)),
          *({"log_softmax": _shifted_log(eps)} for eps in (1e-12, 1e-15, 1e-10, 1e-8, 1e-7))),
    # --- 03_vectorised: the gradient check ---------------------------------------------------
    known("one-sided-difference",
          "grad_check uses a one-sided difference, (f(x + h) − f(x))/h, whose error grows like h: use the central difference (f(x + h) − f(x − h))/(2h), whose error grows like h².",
          *({"difference_quotient": one_sided} for one_sided in _ONE_SIDED),
          *({"difference_quotient": one_sided, "finite_step": _fixed(step)}   # with a step of its own
            for step in (1e-4, 1e-6, 1e-7, 1e-8, 1e-3, 1e-2) for one_sided in _ONE_SIDED)),
    known("step-too-large",
          "grad_check's step is too large, or is not the h it was given: the central difference's error grows like h²; use the argument h (1e-5 by default).",
          *({"finite_step": _fixed(step)} for step in (1e-3, 1e-2, 1e-1, 1.0))),
    known("difference-not-halved",
          "The central difference is divided by h instead of 2h: x + h and x − h are 2h apart.",
          difference_quotient=lambda f_plus, f_0, f_minus, h: (f_plus - f_minus) / h),
    known("input-not-restored",
          "grad_check leaves x changed: put each entry back after perturbing it (old = x[i]; …; x[i] = old), or perturb a copy.",
          entry_after=lambda old, perturbed: perturbed),
    # --- 03_vectorised: the mini-batch epoch -------------------------------------------------
    known("shuffled-without-targets",
          "The inputs are shuffled without their targets: use one permutation for both, idx = rng.permutation(N), then X[idx] and y[idx].",
          {"shuffled": lambda X, y, rng: (X[rng.permutation(len(y))], y)},
          {"shuffled": lambda X, y, rng: (X[rng.permutation(len(y))], y[rng.permutation(len(y))])}),
    known("samples-not-shuffled",
          "The samples are visited in their stored order: visit them in the order idx = rng.permutation(N), drawn once per epoch.",
          shuffled=lambda X, y, rng: (X, y)),
    known("last-batch-dropped",
          "The last, smaller batch is skipped: when N is not a multiple of batch_size, the final batch holds the remaining samples, idx[start:start + batch_size].",
          batches=lambda N, batch_size: [slice(start, start + batch_size) for start in range(0, N - batch_size + 1, batch_size)]),
    known("relu-backward-skipped",
          "The gradient skips ReLU's backward: mask it with relu_backward before the first layer's dense_backward, zero where the hidden net ≤ 0.",
          relu_backward=lambda dout, net: dout),
    known("params-not-updated",
          "params is not updated: change the dict you were given (params['W1'] -= η·dW1, or params['W1'] = …), not a copy or a new dict.",
          working_params=lambda params: {key: np.array(value, dtype=float) for key, value in params.items()}),
    known("batch-losses-summed",
          "The epoch loss is the sum of the batch losses: return their mean.",
          epoch_batch_loss=lambda losses, sizes: np.sum(losses)),
    known("batch-losses-weighted",
          "The epoch loss weights each batch by its size: return the plain mean of the batch losses, np.mean(batch_losses).",
          epoch_batch_loss=lambda losses, sizes: np.average(losses, weights=sizes)),
    # --- 01_neuron: the forward pass, last: 02 gives it, so a tie there goes to 02's own mistakes
    # (with every hidden ReLU off, a network that ignores the bias and one that never updates it
    # end a step with the same weights)
    known("forward-ignores-bias",
          "The forward pass leaves out the bias: net = Σ_i w_i·o_i + b.",
          net=lambda w, o_i, b: np.dot(w, o_i),
          batch_net=lambda x, W, b: x @ W),
    known("forward-no-activation",
          "The forward pass returns net: the output is o = φ(net).",
          phi=lambda net, activation: net),
]

#: every mistake a check can name: code -> what the student did and how to fix it
MISTAKES = {entry.code: entry.message for entry in TABLE}
