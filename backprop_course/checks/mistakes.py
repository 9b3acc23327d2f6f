"""What each known mistake is called and what it tells the student: code -> message.

The code is shown in brackets (``[update-sign]``) and counted by the grade report; the message
says what the student did and how to fix it, in the lecture's notation. A check names a mistake
when the student's wrong result is the one that mistake gives. Which results those are is the
instructor's: each code's replays (the reference with the mistake made) live in
``answers/deviations.py``, in the same order, never in the student's install (a replay with its
deviation taken out is the reference). The order decides when two mistakes give the same result.

How to add a mistake: add its code and message here, its deviation in ``answers/deviations.py``
(same place in the order) and a submission that makes it in ``answers/submissions/``.
tests/checks/test_checks.py requires all three, in step. Codes and messages are part of what students
have been handed: change neither once released.

``STRUCTURAL`` holds what a check says when no known mistake matches but the wrong result has a
shape of its own (``structure.py`` finds which); ``CODES`` is both, every code a check may name.
"""
from __future__ import annotations

#: every mistake a check can name: code -> what the student did and how to fix it, in table order
MISTAKES = {
    # --- 01_neuron --------------------------------------------------------------------------------------
    "relu-not-vectorised":
        "ReLU uses `if`, which works on one number only. Use np.maximum(0, net) so it works elementwise on arrays.",
    "np-max-not-maximum":
        "np.max(0, net) is no elementwise maximum: np.max(a, axis) is the largest entry of a, and reads net as an axis. Use np.maximum(0, net), which compares 0 with every entry of net.",
    "sigmoid-not-vectorised":
        "sigmoid does not work elementwise on arrays. Use np.exp, not math.exp.",
    "derivative-of-net":
        "φ′ was taken of net instead of o: for the sigmoid φ′(net) = o(1 − o) with o = φ(net), not net(1 − net).",
    "relu-derivative-wrong":
        "ReLU′(net) is 1 where net > 0 and 0 elsewhere.",
    "loss-no-half":
        "The loss is e = ½(t − ŷ)²: the ½ is missing, which doubles e and its gradient.",
    "loss-gradient-sign":
        "∂e/∂ŷ = ŷ − t, not t − ŷ: differentiate ½(t − ŷ)² with the chain rule, the inner derivative is −1.",
    "constructor-truthiness":
        "The constructor tests `if not weights` / `if not bias`: that fails for numpy arrays and throws away a bias of 0. Test `is None` instead.",
    # --- 02_backprop: one neuron ------------------------------------------------------------------------
    "update-sign":
        "The update goes uphill: gradient descent subtracts, w ← w − η·δ·o_i.",
    "bias-not-updated":
        "The bias is not updated: b ← b − η·δ.",
    "learning-rate-ignored":
        "The learning_rate argument is ignored: the step must be η·δ·o_i with the η that was passed in.",
    "output-delta-sign":
        "δ of the output neuron has the wrong sign: δ = (ŷ − t)·φ′(net).",
    "output-delta-no-phi-prime":
        "δ of the output neuron lacks φ′(net): δ = (ŷ − t)·φ′(net).",
    "relu-with-sigmoid-derivative":
        "A ReLU neuron uses the sigmoid's derivative o(1 − o). For ReLU, φ′(net) is 1 if net > 0, else 0.",
    "hidden-delta-no-phi-prime":
        "The hidden δ_j lacks φ′(net_j), bug (b) of the original code: δ_j = (Σ_l δ_l·w_jl)·φ′(net_j).",
    "only-one-output-delta":
        "Only one output's δ reaches the hidden neuron: δ_j sums over every output, Σ_l δ_l·w_jl.",
    "averaged-over-outputs":
        "The hidden δ_j averages over the outputs: it must sum them, Σ_l δ_l·w_jl, because each output adds its own term to the loss.",
    "sigmoid-branch-never-taken":
        "The sigmoid's branch is never taken, so a sigmoid neuron gets ReLU's φ′ (1 or 0) in place of o(1 − o): `self.activation` holds the activation function, which never equals the string 'sigmoid'. Test its name, `self.activation_name == 'sigmoid'`.",
    # --- 02_backprop: training --------------------------------------------------------------------------
    "updated-weights-propagated":
        "Deltas are propagated with output weights that were already updated, bug (c) of the original code: read w_jl before the output neuron updates it.",
    "subset-of-samples":
        "Training uses only some of the samples: each epoch must visit every sample.",
    "epochs-ignored":
        "The epochs argument is ignored: train for exactly `epochs` epochs and return one loss per epoch.",
    "epochs-off-by-one":
        "Training runs one epoch too few or too many: `for epoch in range(epochs)` runs exactly `epochs` epochs (range(1, epochs) runs one less, range(epochs + 1) one more).",
    "return-inside-epoch-loop":
        "train returns after the first epoch: `return` is indented inside the epoch loop. Dedent it so that it runs once, after every epoch is done.",
    "loss-not-averaged":
        "The epoch loss is the sum over samples: return the mean of the samples' losses.",
    "epoch-loss-last-sample":
        "The epoch's loss is its last sample's loss only: collect the loss of every sample of the epoch and return their mean.",
    "losses-not-reset":
        "The sample losses are not reset at each epoch: `losses = []` (or `total = 0`) stands before the epoch loop, so an epoch's mean also counts the epochs before it. Start it afresh inside the epoch loop.",
    "loss-recorded-per-sample":
        "The history grows after every sample (its append is indented inside the sample loop): append the epoch's mean loss once per epoch, after the sample loop.",
    "update-once-per-epoch":
        "The weights are updated once per epoch, after the sample loop (the backward calls are indented one level too little): online gradient descent takes a step after every sample, inside the sample loop.",
    "loss-after-update":
        "A sample's loss is taken after its update: take it at the forward pass, before the step.",
    "wrong-target":
        "An output neuron is trained towards another output's or another sample's target: output l learns t_l of the same sample.",
    "loss-not-summed-over-outputs":
        "The sample loss is e = ½ Σ_l (t_l − o_l)², summed over the outputs, not averaged.",
    # --- 03_vectorised: the dense layer -----------------------------------------------------------------
    "weight-gradient-transposed":
        "dW is transposed: dW = xᵀ·dout has W's shape (D, M), entry (d, m) = Σ_n x[n, d]·dout[n, m]; dout.T @ x gives (M, D).",
    "input-gradient-not-transposed":
        "dx = dout·Wᵀ: dout (N, M) times Wᵀ (M, D) gives dx the shape of x, (N, D). dout @ W does not fit, or, where W is square, multiplies by the wrong matrix: write dout @ W.T.",
    "bias-gradient-not-summed":
        "db is not summed over the batch: every sample adds its row of dout to the bias gradient, db = dout.sum(axis=0), shape (M,).",
    "layer-gradient-averaged":
        "dense_backward divides by the batch size: a layer's gradients add up every sample's part, dW = xᵀ·dout and db = dout.sum(axis=0), with no 1/N. The mean's 1/N belongs to the loss (Exercise 2), and reaches the layer inside dout.",
    "batch-divided-twice":
        "The gradient is divided by the batch size a second time: dlogits already carries the 1/N of the mean loss, so dense_backward and the update must not divide again.",
    # --- 03_vectorised: softmax with cross-entropy ------------------------------------------------------
    "cross-entropy-not-averaged":
        "The loss is the sum over the batch: it is the mean, e = −(1/N) Σ_n log ŷ[n, y_n].",
    "softmax-gradient-not-averaged":
        "dlogits lacks the 1/N: the loss is the mean over the batch, so its gradient is (ŷ − t)/N, not ŷ − t.",
    "softmax-gradient-sign":
        "dlogits has the wrong sign: ∂e/∂z = (ŷ − t)/N, prediction minus target, as ∂e/∂ŷ = ŷ − t in lecture 3.",
    "softmax-gradient-missing-target":
        "dlogits lacks the −t: subtract 1 at each sample's true class, ∂e/∂z = (ŷ − t)/N with t one-hot.",
    "softmax-overflow":
        "softmax overflows on large logits (exp(1000) is inf, inf/inf is nan): subtract each row's max first, ŷ = exp(z − max z) / Σ exp(z − max z), which does not change ŷ.",
    "softmax-global-max":
        "softmax subtracts the largest logit of the whole batch, np.max(logits): a row far below it then has exp(z − max) = 0 in every class, and 0/0 is nan (log 0 is −inf). Subtract each row's own max, logits.max(axis=1, keepdims=True).",
    "log-of-zero-probability":
        "The loss takes log ŷ of a probability that underflowed to 0 (or a clipped log(ŷ + ε)): compute log ŷ = (z − max z) − log Σ exp(z − max z) directly.",
    # --- 03_vectorised: the gradient check --------------------------------------------------------------
    "one-sided-difference":
        "grad_check uses a one-sided difference, (f(x + h) − f(x))/h, whose error grows like h: use the central difference (f(x + h) − f(x − h))/(2h), whose error grows like h².",
    "step-too-large":
        "grad_check's step is too large, or is not the h it was given: the central difference's error grows like h²; use the argument h (1e-5 by default).",
    "difference-not-halved":
        "The central difference is divided by h instead of 2h: x + h and x − h are 2h apart.",
    "input-not-restored":
        "grad_check leaves x changed: put each entry back after perturbing it (old = x[i]; …; x[i] = old), or perturb a copy.",
    "copy-is-an-alias":
        "`x_plus = x` makes no copy: x_plus, x_minus and x are one array, so x_plus[i] += h and x_minus[i] -= h cancel before f is evaluated, and every difference is 0. Perturb a copy, x_plus = x.copy(), or perturb x itself and put the entry back.",
    # --- 03_vectorised: the mini-batch epoch ------------------------------------------------------------
    "shuffled-without-targets":
        "The inputs are shuffled without their targets: use one permutation for both, idx = rng.permutation(N), then X[idx] and y[idx].",
    "samples-not-shuffled":
        "The samples are visited in their stored order: visit them in the order idx = rng.permutation(N), drawn once per epoch.",
    "permutation-per-batch":
        "A new permutation is drawn for every batch, so some samples come twice in an epoch and others never: draw idx = rng.permutation(N) once, before the batch loop, and cut every batch from it, idx[start:start + batch_size].",
    "last-batch-dropped":
        "The last, smaller batch is skipped: when N is not a multiple of batch_size, the final batch holds the remaining samples, idx[start:start + batch_size].",
    "relu-backward-skipped":
        "The gradient skips ReLU's backward: mask it with relu_backward before the first layer's dense_backward, zero where the hidden net ≤ 0.",
    "second-layer-updated-first":
        "The gradient reaches the hidden layer through W2 already updated, bug (c) of the seed lecture's code, in matrices: take ∂e/∂o₁ = dlogits·W2ᵀ (dense_backward of the second layer) with W2 as it was at the forward pass, and update the parameters after every gradient of the batch is computed.",
    "params-not-updated":
        "params is not updated: change the dict you were given (params['W1'] -= η·dW1, or params['W1'] = …), not a copy or a new dict.",
    "batch-losses-summed":
        "The epoch loss is the sum of the batch losses: return their mean.",
    "batch-losses-weighted":
        "The epoch loss weights each batch by its size: return the plain mean of the batch losses, np.mean(batch_losses).",
    "epoch-loss-last-batch":
        "The epoch's loss is its last batch's loss only: keep the loss of every batch and return their mean.",
    "batch-loss-after-step":
        "A batch's loss is taken after its step: take it from softmax_cross_entropy at the forward pass, before the parameters change.",
    # --- 04_autograd: the local backward of each operation ------------------------------------------------
    "grad-overwritten":
        "A local backward sets the gradient (`=`) instead of adding to it (`+=`): a node used twice, or by two users, gets the sum of their shares, self.grad += ….",
    "upstream-gradient-dropped":
        "A local backward leaves out out.grad: by the chain rule a node's share is its local derivative times the gradient that reached out, self.grad += (∂out/∂self)·out.grad.",
    "broadcast-not-summed":
        "A gradient keeps the broadcast shape: where an operand was broadcast (a bias row added to every sample), sum its share back to the operand's own shape, unbroadcast(…, self.data.shape).",
    "power-rule-off-by-one":
        "The power rule is off by one: ∂(xⁿ)/∂x = n·xⁿ⁻¹, the exponent lowered by one and n as the factor.",
    "tanh-derivative-of-input":
        "tanh′ was taken of the input: ∂tanh(x)/∂x = 1 − tanh²(x) = 1 − out², with out = tanh(x), not 1 − x².",
    # --- 04_autograd: backward() ---------------------------------------------------------------------------
    "topological-order-wrong":
        "backward() runs a node's _backward before every node that uses it has added its share: order the nodes by a depth-first search from the root (a node after all the nodes it was computed from) and run their _backward in the reverse of that order.",
    "node-visited-twice":
        "backward() runs a node's _backward more than once: the depth-first search must remember the nodes it has visited (a set) and put each node in the order once.",
    "backward-not-seeded":
        "backward() starts from a zero gradient: set the root's own gradient to 1 first, self.grad = np.ones_like(self.data) (∂root/∂root = 1).",
    # --- 04_autograd: a training step with L2 weight decay, and early stopping ----------------------------
    "grads-not-zeroed":
        "The gradients are not zeroed between steps: backward() adds to .grad, so each step must set every parameter's grad to 0 first (model.zero_grad()), or the last step's gradient is added again.",
    "l2-gradient-factor":
        "The L2 gradient has the wrong factor: ∂/∂W of (λ/2)·‖W‖² is λ·W (the ½ cancels the 2 of the square), added to W.grad; the loss adds (λ/2)·Σ‖W‖².",
    "l2-on-biases":
        "Weight decay is applied to the biases too: the contract decays the weights only, penalty (λ/2)·Σ‖W‖² and gradient λ·W; a bias steps by ∂e/∂b alone.",
    "evaluated-on-training-set":
        "The epochs are judged on the training samples: measure accuracy(model, *data['val']), the validation accuracy; the training accuracy keeps rising while the net overfits.",
    "selected-on-test-set":
        "The epoch is chosen on the test samples: choose on the validation split, data['val']; the test split is for one report at the end, or its accuracy no longer estimates new data.",
    "patience-off-by-one":
        "Training stops one epoch too early or too late: stop once `patience` epochs in a row brought no better validation accuracy (waited >= patience, waited counting those epochs).",
    "best-not-restored":
        "The model ends with its last epoch's parameters, not its best one's: save copies of the parameters when the validation accuracy improves (p.data.copy(): a reference changes as training goes on), and put them back at the end.",
    # --- 01_neuron: the forward pass, last: 02 gives it, so a tie there goes to 02's own mistakes -------
    "forward-ignores-bias":
        "The forward pass leaves out the bias: net = Σ_i w_i·o_i + b.",
    "forward-no-activation":
        "The forward pass returns net: the output is o = φ(net).",
}


#: what a check says when a wrong result matches no known mistake but has a shape of its own:
#: code -> what differs, and where to look (``structure.py`` finds which applies). The same
#: fixed text in every scenario: a hidden test shows it, and it names no number of the
#: scenario nor of the student's results (a constant factor is named by what it is, N or η).
STRUCTURAL = {
    "nothing-updated":
        "Nothing changes: the values after the update (or the training) are the ones before it, or the loss is the "
        "same in every epoch. Check that each step changes the parameters themselves, not a copy.",
    "steps-off":
        "The number of epochs or steps is off: another number of values came back, or the result is the right one "
        "after another number of steps. Check the range of each loop, and where `return` stands.",
    "right-for-first-only":
        "Right for the first sample, batch or epoch only, wrong from the second on: look at what must change from "
        "one to the next (an index that does not move, a value kept from the first, a total not reset).",
    "transposed":
        "The right values, transposed: give it the shape the docstring says, (rows, columns) in that order.",
    "wrong-shape":
        "Not the shape the docstring gives: compare each shape with it (a sum over the wrong axis, a row where a "
        "column belongs, an array where a number belongs).",
    "not-finite":
        "It holds nan or inf: look for an overflow (exp of a large number), a division by zero or the log of 0.",
    "all-zero":
        "Zero everywhere (or too small to tell from zero), where the right values are not: a result that never gets "
        "its value (an array left at zeros, a difference of two equal numbers, a mask that removes everything), or "
        "one multiplied by a tiny factor (a / 2 * h is (a / 2)·h, not a / (2h)).",
    "sign-flipped":
        "The right size with the opposite sign: a subtraction the wrong way round (ŷ − t, not t − ŷ; a step "
        "downhill, θ − η·∂e/∂θ).",
    "some-signs-flipped":
        "The right sizes, but some signs are the opposite: a term added where it is subtracted, or a sign that "
        "depends on the entry.",
    "scaled":
        "The right result times a constant factor (after an update: the right step times it): a factor of the "
        "formula is missing, doubled or applied twice.",
    "wrong-scale":
        "The right signs everywhere, but not the right sizes, and not one constant multiple of them: the direction "
        "is right, a factor that varies from entry to entry is off.",
    "rng-not-used":
        "sgd_epoch never drew from the rng it was given: draw the order from it, idx = rng.permutation(N). "
        "np.random's own state is not the caller's, so no run could be repeated, and no test can follow it.",
}

#: the constants a result may be off by, each named by what it is (never by its value): symbol ->
#: (what it is, the likely slip when the result is multiplied by it, when divided by it)
FACTORS = {
    "2": ("2", "a ½ missing, or a 2 too many", "a ½ too many, or a 2 missing"),
    "batch": ("N, the number of samples in the batch", "a sum where the mean belongs (the 1/N missing)",
              "a mean where the sum belongs, or the 1/N applied twice"),
    "batch-size": ("B, the batch size", "a sum over the batch where the mean belongs",
                   "the 1/B applied twice (the batch's mean loss already carries it)"),
    "samples": ("n, the number of samples", "a sum over the samples where the mean belongs",
                "a mean over the samples where the sum belongs, or divided twice"),
    "batches": ("K, the number of batches", "a sum over the batches where the mean belongs",
                "a mean where the sum belongs, or divided twice"),
    "outputs": ("L, the number of outputs", "a sum over the outputs where the mean belongs",
                "a mean over the outputs where the sum belongs"),
    "epochs": ("E, the number of epochs", "a sum over the epochs", "a mean over the epochs"),
    "learning-rate": ("η, the learning rate", "η applied twice", "the step taken without η"),
}
STRUCTURAL.update({code: message for symbol, (what, times, over) in FACTORS.items() for code, message in (
    (f"times-{symbol}", f"The right result times {what} (after an update: the right step times it): {times}?"),
    (f"over-{symbol}", f"The right result divided by {what} (after an update: the right step divided by it): {over}?"))})

#: every code a check may name: the known mistakes', then the structural diagnoses'
CODES = {**MISTAKES, **STRUCTURAL}
