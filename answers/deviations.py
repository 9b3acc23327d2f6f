"""The mistake table's replays: how each known mistake differs from the reference.

Each entry is a code of ``backprop_course.checks.mistakes`` (its message lives there, with the
students) and one or more *deviations*, each a dict ``{equation: wrong version}``. An equation
is a method of ``reference.Equations`` (the lecture's formulas, one each); its wrong version is
a plain function of the same arguments. ``update-sign`` is ``weight_step=lambda w, eta, delta,
o_i: w + eta * delta * o_i``, the same for the bias and for 03's batch step. A mistake that can
be made in several ways (η set to 1, or left at its default 0.1) lists several deviations.

The checks never name a mistake themselves. The answers replay the reference under every
deviation (``Suspects``) and the checks name the first entry, in table order, whose replay gives
the student's wrong result: a value or an error of the same type. The table's order decides when
two mistakes give the same result (``update-sign`` before ``output-delta-sign``, and before 03's
``softmax-gradient-sign``: in training each moves every weight uphill; the forward pass's mistakes
last). A check that needs another equation's mistake named gives that equation its own method:
03's ``relu_backward`` and ``epoch_batch_loss`` are apart from 02's ``hidden_delta`` and
``epoch_loss``, so that a skipped ReLU mask or summed batch losses keep their own codes.

A replay with its deviation taken out is the reference, an answer to the exercise: this table
is the instructor's (``answers/``), never in the student's install.

How to add a mistake:

1. Add its code and message to ``backprop_course/checks/mistakes.py`` and an entry below, at
   the same place: ``known(code, equation=wrong_version)``. If the mistake changes a step that
   is not yet an equation of its own, first give that step its own method in
   ``reference.Equations``, following the lecture, and use it in the reference.
2. Add a submission that makes the mistake to its assignment's module of ``answers/submissions/``
   (its ``MISTAKES_0x`` list): tests/checks/test_checks.py runs it through the test cells and requires a test cell of its
   exercise to name the code, and every entry to have such a submission.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backprop_course.checks.mistakes import MISTAKES


@dataclass(frozen=True)
class KnownMistake:
    """One entry of the table."""

    code: str            # lowercase words joined by '-', as shown in brackets
    deviations: tuple    # of {equation name: wrong version}, each one way to make the mistake

    @property
    def message(self):
        """What the student is told (``backprop_course.checks.mistakes``)."""
        return MISTAKES[self.code]


def known(code, *alternatives, **deviation):
    """An entry: one deviation as keyword arguments, or several as dicts."""
    if code not in MISTAKES:
        raise ValueError(f"[{code}] has no message in backprop_course/checks/mistakes.py")
    return KnownMistake(code, tuple(alternatives) + ((deviation,) if deviation else ()))


# --- wrong versions used by several deviations (plain functions of an equation's arguments) -----

def exp_normalised(z):
    """exp(z) / Σ exp(z) without the max subtracted: overflows for logits in the hundreds"""
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def _stable_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)


def clipped_log(eps):
    """log ŷ of logits z (N, C) with ŷ clipped below at ``eps``"""
    return lambda z: np.log(np.maximum(_stable_softmax(z), eps))


def shifted_log(eps):
    """log(ŷ + eps) of logits z (N, C)"""
    return lambda z: np.log(_stable_softmax(z) + eps)


def _global_log_softmax(z):
    """log ŷ with the whole batch's max subtracted, by log-sum-exp: −inf where a row's sum underflows to 0"""
    shifted = z - z.max()
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _reshuffled(X, y, rng):
    """a new permutation drawn for each batch"""
    idx = rng.permutation(len(y))
    return X[idx], y[idx]


def fixed_step(step):
    """a finite-difference step set inside grad_check, whatever h was passed"""
    return lambda h: step


def _added_in_place(grad, contribution):
    """grad += contribution on an array: numpy refuses a contribution of a larger (broadcast) shape"""
    grad = np.array(grad, dtype=float)
    grad += contribution
    return grad


def _squares(arrays):
    return sum(float(np.sum(np.asarray(a) ** 2)) for a in arrays)


def _depth_first(root, once=True):
    """the nodes a depth-first search from the root reaches, each after its children (once: each node once)"""
    order, seen = [], set()

    def visit(node):
        if once and id(node) in seen:
            return
        seen.add(id(node))
        for child in node._prev:
            visit(child)
        order.append(node)

    visit(root)
    return order


def _breadth_first(root):
    """the nodes by their distance from the root, nearest first: a node may come before a farther user"""
    order, seen, queue = [], {id(root)}, [root]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                queue.append(child)
    return order


def _preorder(root):
    """a depth-first search that puts each node before its children"""
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            order.append(node)
            for child in node._prev:
                visit(child)

    visit(root)
    return order


_ONE_SIDED = (lambda f_plus, f_0, f_minus, h: (f_plus - f_0) / h,        # forward
              lambda f_plus, f_0, f_minus, h: (f_0 - f_minus) / h)       # backward


TABLE = [
    # --- 01_neuron -------------------------------------------------------------------------
    known("relu-not-vectorised",
          {"relu": lambda net: net if net > 0 else 0.0},
          {"relu": lambda net: max(0, net)},
          {"relu_prime": lambda net, o: 1.0 if net > 0 else 0.0}),
    known("np-max-not-maximum",
          relu=lambda net: np.max(0, net)),
    known("sigmoid-not-vectorised",
          {"sigmoid": lambda net: 1 / (1 + math.exp(-net))},
          {"sigmoid_prime": lambda net, o: math.exp(-net) / (1 + math.exp(-net)) ** 2}),
    known("derivative-of-net",
          sigmoid_prime=lambda net, o: net * (1 - net)),
    known("relu-derivative-wrong",
          {"relu_prime": lambda net, o: o},                  # ReLU itself
          {"relu_prime": lambda net, o: np.sign(net)},       # −1 for net < 0
          {"relu_local": lambda x, out: out}),               # 04: a Value's relu, its backward by ReLU itself
    known("loss-no-half",
          loss=lambda t, y_hat: (t - y_hat) ** 2,
          loss_derivative=lambda t, y_hat: 2 * (y_hat - t)),
    known("loss-gradient-sign",
          loss_derivative=lambda t, y_hat: t - y_hat),
    known("constructor-truthiness",
          given_or_random=lambda value, draw: value if value else draw()),
    # --- 02_backprop: one neuron ----------------------------------------------------------
    known("update-sign",
          weight_step=lambda w, eta, delta, o_i: w + eta * delta * o_i,
          bias_step=lambda b, eta, delta: b + eta * delta,
          sgd_step=lambda theta, eta, grad: theta + eta * grad),
    known("bias-not-updated",
          bias_step=lambda b, eta, delta: b),
    known("learning-rate-ignored",
          {"learning_rate": lambda eta: 1.0},                # the step without η
          {"learning_rate": lambda eta: 0.1}),               # η left at backward()'s default
    known("output-delta-sign",
          output_delta=lambda y_hat, t, prime: (t - y_hat) * prime),
    known("output-delta-no-phi-prime",
          output_delta=lambda y_hat, t, prime: y_hat - t),
    known("relu-with-sigmoid-derivative",
          relu_prime=lambda net, o: o * (1 - o)),
    known("hidden-delta-no-phi-prime",
          hidden_delta=lambda back, prime: back),
    known("only-one-output-delta",
          {"backpropagated": lambda delta_l, w_l: delta_l[0] * w_l[0]},
          {"backpropagated": lambda delta_l, w_l: delta_l[-1] * w_l[-1]},
          {"passed_back": lambda delta_l, w_l, j: (delta_l[:1], w_l[:1])},      # a network passes back one output
          {"passed_back": lambda delta_l, w_l, j: (delta_l[-1:], w_l[-1:])},
          {"passed_back": lambda delta_l, w_l, j: (delta_l[j:j + 1], w_l[j:j + 1])}),   # hidden j gets output j's
    known("averaged-over-outputs",
          backpropagated=lambda delta_l, w_l: np.mean(np.multiply(delta_l, w_l))),
    # after the two above: where net > 0 a sigmoid neuron given ReLU's φ′ = 1 has their δ, and they are the
    # more common mistakes (a public test with net < 0 tells them apart)
    known("sigmoid-branch-never-taken",
          derivative_for=lambda activation: "relu"),
    # --- 02_backprop: training ------------------------------------------------------------
    # The loops' own mistakes are told apart by 3+ samples and 3+ epochs (the public tests): with
    # 2 samples a sum is twice the mean, like a loss without ½, and with 2 epochs range(1, epochs)
    # trains one epoch, like a `return` inside the loop (tests/checks/test_checks.py, TIES).
    known("updated-weights-propagated",
          propagated_weights=lambda before, after: after),
    known("subset-of-samples",
          {"samples": lambda inputs, targets: list(zip(inputs, targets))[:1]},
          {"samples": lambda inputs, targets: list(zip(inputs, targets))[-1:]},
          {"samples": lambda inputs, targets: list(zip(inputs, targets))[:-1]},   # range(len(inputs) - 1)
          {"samples": lambda inputs, targets: list(zip(inputs, targets))[1:]}),   # range(1, len(inputs))
    known("epochs-ignored",
          epochs=lambda n: 1000),                            # train()'s default
    known("epochs-off-by-one",
          {"epochs": lambda n: n - 1},
          {"epochs": lambda n: n + 1}),
    known("return-inside-epoch-loop",
          epochs=lambda n: 1),
    known("loss-not-averaged",
          epoch_loss=lambda losses, earlier: np.sum(losses)),
    known("epoch-loss-last-sample",
          epoch_loss=lambda losses, earlier: losses[-1]),
    known("losses-not-reset",
          {"epoch_loss": lambda losses, earlier: np.mean(earlier + losses)},
          {"epoch_loss": lambda losses, earlier: np.sum(earlier + losses) / len(losses)}),   # total / len(inputs)
    known("loss-recorded-per-sample",
          epoch_recorded=lambda k, n: True),
    known("update-once-per-epoch",
          online_step=lambda k, n: k == n - 1),
    known("loss-after-update",
          recorded_loss=lambda at_forward, after_update: after_update()),
    known("wrong-target",
          {"output_targets": lambda t: np.full_like(t, t[0])},
          {"samples": lambda inputs, targets: [(x, targets[0]) for x in inputs]}),
    known("loss-not-summed-over-outputs",
          {"sample_loss": lambda t, o_l: 0.5 * np.mean((t - o_l) ** 2)},
          {"sample_loss": lambda t, o_l: np.mean((t - o_l) ** 2)}),                # the libraries' mean squared error
    # --- 03_vectorised: the dense layer ------------------------------------------------------
    known("weight-gradient-transposed",
          {"weight_gradient": lambda x, dout: dout.T @ x},
          {"weight_gradient": lambda x, dout: dout.T @ x / len(x)}),        # and averaged
    known("input-gradient-not-transposed",
          input_gradient=lambda dout, W: dout @ W),                         # a ValueError unless W is square
    known("bias-gradient-not-summed",
          {"bias_gradient": lambda dout: dout},
          {"bias_gradient": lambda dout: dout.sum(axis=1)},                 # over the neurons
          {"bias_gradient": lambda dout: dout.sum()},
          {"bias_gradient": lambda dout: dout[0]}),                         # the first sample's row
    known("layer-gradient-averaged",                                        # dense_backward averages
          input_gradient=lambda dout, W: dout @ W.T / len(dout),
          weight_gradient=lambda x, dout: x.T @ dout / len(x),
          bias_gradient=lambda dout: dout.sum(axis=0) / len(dout)),
    known("batch-divided-twice",
          {"softmax_gradient": lambda y_hat, t: (y_hat - t) / len(t) ** 2},
          {"step_size": lambda eta, batch_size: eta / batch_size}),         # the update divides by B
    # --- 03_vectorised: softmax with cross-entropy ---------------------------------------------
    known("cross-entropy-not-averaged",
          cross_entropy=lambda log_y_hat, y: -np.sum(log_y_hat[np.arange(len(y)), y])),
    known("softmax-gradient-not-averaged",
          softmax_gradient=lambda y_hat, t: y_hat - t),
    known("softmax-gradient-sign",
          {"softmax_gradient": lambda y_hat, t: (t - y_hat) / len(t)},
          {"softmax_gradient": lambda y_hat, t: t - y_hat}),                # and not averaged
    known("softmax-gradient-missing-target",
          {"softmax_gradient": lambda y_hat, t: y_hat / len(t)},
          {"softmax_gradient": lambda y_hat, t: y_hat}),                    # and not averaged
    known("softmax-overflow",
          {"softmax": lambda z: exp_normalised(z), "log_softmax": lambda z: np.log(exp_normalised(z))},
          {"softmax": lambda z: exp_normalised(z)},
          {"log_softmax": lambda z: np.log(exp_normalised(z))},
          {"log_softmax": lambda z: z - np.log(np.exp(z).sum(axis=1, keepdims=True))}),
    known("softmax-global-max",
          {"softmax": lambda z: exp_normalised(z - z.max()), "log_softmax": lambda z: np.log(exp_normalised(z - z.max()))},
          {"softmax": lambda z: exp_normalised(z - z.max()), "log_softmax": _global_log_softmax},
          {"softmax": lambda z: np.exp(_global_log_softmax(z)), "log_softmax": _global_log_softmax}),
    known("log-of-zero-probability",
          {"log_softmax": lambda z: np.log(_stable_softmax(z))},
          *({"log_softmax": clipped_log(eps)} for eps in (1e-12, 1e-15, 1e-10)),
          *({"log_softmax": shifted_log(eps)} for eps in (1e-12, 1e-15, 1e-10, 1e-8, 1e-7))),
    # --- 03_vectorised: the gradient check ---------------------------------------------------
    known("one-sided-difference",
          *({"difference_quotient": one_sided} for one_sided in _ONE_SIDED),
          *({"difference_quotient": one_sided, "finite_step": fixed_step(step)}   # with a step of its own
            for step in (1e-4, 1e-6, 1e-7, 1e-8, 1e-3, 1e-2) for one_sided in _ONE_SIDED)),
    known("step-too-large",
          *({"finite_step": fixed_step(step)} for step in (1e-3, 1e-2, 1e-1, 1.0))),
    known("difference-not-halved",
          difference_quotient=lambda f_plus, f_0, f_minus, h: (f_plus - f_minus) / h),
    known("input-not-restored",
          entry_after=lambda old, perturbed: perturbed),
    known("copy-is-an-alias",                                               # f(x + h) and f(x − h) both at x
          displaced=lambda old, step: old),
    # --- 03_vectorised: the mini-batch epoch -------------------------------------------------
    known("shuffled-without-targets",
          {"shuffled": lambda X, y, rng: (X[rng.permutation(len(y))], y)},
          {"shuffled": lambda X, y, rng: (X[rng.permutation(len(y))], y[rng.permutation(len(y))])}),
    known("samples-not-shuffled",
          shuffled=lambda X, y, rng: (X, y)),
    known("permutation-per-batch",
          {"shuffled": lambda X, y, rng: (X, y), "batch_order": _reshuffled},
          {"batch_order": _reshuffled}),                                    # shuffled once, and again per batch
    known("last-batch-dropped",
          batches=lambda N, batch_size: [slice(start, start + batch_size) for start in range(0, N - batch_size + 1, batch_size)]),
    known("relu-backward-skipped",
          through_relu=lambda do1, cache, relu_backward: do1),
    known("second-layer-updated-first",
          propagated_layer=lambda before, after: after),
    known("params-not-updated",
          working_params=lambda params: {key: np.array(value, dtype=float) for key, value in params.items()}),
    known("batch-losses-summed",
          epoch_batch_loss=lambda losses, sizes: np.sum(losses)),
    known("batch-losses-weighted",
          epoch_batch_loss=lambda losses, sizes: np.average(losses, weights=sizes)),
    known("epoch-loss-last-batch",
          epoch_batch_loss=lambda losses, sizes: losses[-1]),
    known("batch-loss-after-step",
          recorded_batch_loss=lambda at_forward, after_step: after_step()),
    # --- 04_autograd: the local backward of each operation ----------------------------------------
    known("grad-overwritten",
          accumulated=lambda grad, contribution: contribution),
    known("upstream-gradient-dropped",
          chained=lambda local, g: local * np.ones_like(g)),
    known("broadcast-not-summed",
          {"reduced": lambda contribution, shape: contribution},                          # grad = grad + share
          {"reduced": lambda contribution, shape: contribution, "accumulated": _added_in_place}),  # grad += share
    known("power-rule-off-by-one",
          {"power_local": lambda x, n: n * x ** n},
          {"power_local": lambda x, n: n * x ** (n - 2)},
          {"power_local": lambda x, n: (n - 1) * x ** (n - 1)}),
    known("tanh-derivative-of-input",
          tanh_local=lambda x, out: 1 - x ** 2),
    # --- 04_autograd: backward() -----------------------------------------------------------------
    known("topological-order-wrong",
          {"visit_order": lambda root: _depth_first(root)},                # the topological order, not reversed
          {"visit_order": _breadth_first},                                   # nearest the root first
          {"visit_order": _preorder}),                                       # a node before its children
    known("node-visited-twice",
          visit_order=lambda root: _depth_first(root, once=False)[::-1]),
    known("backward-not-seeded",
          seed=lambda data: np.zeros_like(data)),
    # --- 04_autograd: a training step with L2 weight decay, and early stopping ----------------------
    known("grads-not-zeroed",
          zeroed=lambda grad: grad),
    known("l2-gradient-factor",
          {"l2_gradient": lambda W, weight_decay: 2 * weight_decay * W},               # of λ/2·‖W‖², the ½ dropped
          {"l2_gradient": lambda W, weight_decay: 2 * weight_decay * W,                # of λ·‖W‖², both
           "l2_penalty": lambda weights, biases, weight_decay: weight_decay * _squares(weights)},
          {"l2_gradient": lambda W, weight_decay: 0.5 * weight_decay * W},             # the square's 2 dropped
          {"l2_gradient": lambda W, weight_decay: W}),                                 # λ dropped
    known("l2-on-biases",
          {"bias_decay": lambda b, weight_decay: weight_decay * b},
          {"bias_decay": lambda b, weight_decay: weight_decay * b,
           "l2_penalty": lambda weights, biases, weight_decay: 0.5 * weight_decay * _squares(weights + biases)}),
    known("evaluated-on-training-set",
          selection_split=lambda data: data["train"]),
    known("selected-on-test-set",
          selection_split=lambda data: data["test"]),
    known("patience-off-by-one",
          {"patience_over": lambda waited, patience: waited > patience},
          {"patience_over": lambda waited, patience: waited >= patience - 1}),
    known("best-not-restored",
          restored=lambda best, last: last),
    # --- 01_neuron: the forward pass, last: 02 gives it, so a tie there goes to 02's own mistakes
    # (with every hidden ReLU off, a network that ignores the bias and one that never updates it
    # end a step with the same weights)
    known("forward-ignores-bias",
          net=lambda w, o_i, b: np.dot(w, o_i),
          batch_net=lambda x, W, b: x @ W),
    known("forward-no-activation",
          phi=lambda net, activation: net),
]
