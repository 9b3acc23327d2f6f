"""The catalogue's submissions of 03_vectorised: correct ones in different styles, and one per known mistake."""
from __future__ import annotations

from .submission import edit, fill, reference_cells

A3 = "03_vectorised"


def _ref3(exercise):
    return reference_cells(A3)[exercise]


def dense_cell(forward, backward):
    """The released dense_layer cell (docstrings, cache and returns given) with the student's bodies."""
    return fill(_ref3("dense_layer"), forward, backward)


def softmax_cell(body, prefix=""):
    """The released softmax_cross_entropy cell with the student's body; ``prefix`` above it."""
    return fill(_ref3("softmax_cross_entropy"), body, prefix=prefix)


def grad_check_cell(body):
    """The released grad_check cell with the student's body."""
    return fill(_ref3("grad_check"), body)


def sgd_cell(body):
    """The released sgd_epoch cell with the student's body."""
    return fill(_ref3("sgd_epoch"), body)


# --- the bases the mistakes edit: a student's straightforward solutions ----------------------

DENSE_FORWARD = "out = x.dot(W) + b"
DENSE_BACKWARD = """
dx = dout.dot(W.T)
dW = x.T.dot(dout)
db = np.sum(dout, axis=0)
"""

SOFTMAX = """
N = len(y)
z = logits - np.max(logits, axis=1, keepdims=True)
log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
probs = np.exp(log_probs)
loss = -np.mean(log_probs[np.arange(N), y])
t = np.zeros_like(probs)
t[np.arange(N), y] = 1
dlogits = (probs - t) / N
return loss, dlogits
"""

GRAD_CHECK = """
grad = np.zeros(x.shape)
for i in np.ndindex(*x.shape):
    saved = x[i]
    x[i] = saved + h
    up = f(x)
    x[i] = saved - h
    down = f(x)
    x[i] = saved
    grad[i] = (up - down) / (2 * h)
return grad
"""

SGD = """
N = len(y)
idx = rng.permutation(N)
batch_losses = []
for start in range(0, N, batch_size):
    batch = idx[start:start + batch_size]
    xb, yb = X[batch], y[batch]
    net1, cache1 = dense_forward(xb, params["W1"], params["b1"])
    o1, relu_cache = relu_forward(net1)
    logits, cache2 = dense_forward(o1, params["W2"], params["b2"])
    loss, dlogits = softmax_cross_entropy(logits, yb)
    batch_losses.append(loss)
    do1, dW2, db2 = dense_backward(dlogits, cache2)
    dnet1 = relu_backward(do1, relu_cache)
    _, dW1, db1 = dense_backward(dnet1, cache1)
    params["W1"] -= learning_rate * dW1
    params["b1"] -= learning_rate * db1
    params["W2"] -= learning_rate * dW2
    params["b2"] -= learning_rate * db2
return np.mean(batch_losses)
"""

# --- differently written correct solutions -------------------------------------------------

CORRECT_03 = [
    ("03-correct-einsum", "np.einsum for the layer, logaddexp.reduce and np.eye for softmax, np.nditer for the check, "
     "the batch sliced from X[idx] and y[idx] shuffled up front, updates by reassignment", {
         "dense_layer": dense_cell("out = np.einsum('nd,dm->nm', x, W) + b", """
             dx = np.einsum('nm,dm->nd', dout, W)
             dW = np.einsum('nd,nm->dm', x, dout)
             db = np.einsum('nm->m', dout)
             """),
         "softmax_cross_entropy": softmax_cell("""
             N, C = logits.shape
             log_norm = np.logaddexp.reduce(logits, axis=1, keepdims=True)
             log_probs = logits - log_norm
             loss = -np.sum(log_probs * np.eye(C)[y]) / N
             dlogits = (np.exp(log_probs) - np.eye(C)[y]) / N
             return float(loss), dlogits
             """),
         "grad_check": grad_check_cell("""
             grad = np.zeros_like(x, dtype=float)
             it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
             while not it.finished:
                 ix = it.multi_index
                 old_value = x[ix]
                 x[ix] = old_value + h
                 fxph = f(x)
                 x[ix] = old_value - h
                 fxmh = f(x)
                 x[ix] = old_value
                 grad[ix] = (fxph - fxmh) / (2 * h)
                 it.iternext()
             return grad
             """),
         "sgd_epoch": sgd_cell("""
             idx = rng.permutation(X.shape[0])
             X_shuffled, y_shuffled = X[idx], y[idx]
             losses = []
             for k in range(int(np.ceil(len(y) / batch_size))):
                 xb = X_shuffled[k * batch_size:(k + 1) * batch_size]
                 yb = y_shuffled[k * batch_size:(k + 1) * batch_size]
                 a1, c1 = dense_forward(xb, params["W1"], params["b1"])
                 h1, c_relu = relu_forward(a1)
                 scores, c2 = dense_forward(h1, params["W2"], params["b2"])
                 loss, dscores = softmax_cross_entropy(scores, yb)
                 losses.append(loss)
                 dh1, dW2, db2 = dense_backward(dscores, c2)
                 da1 = relu_backward(dh1, c_relu)
                 _, dW1, db1 = dense_backward(da1, c1)
                 grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
                 for name in grads:
                     params[name] = params[name] - learning_rate * grads[name]
             return sum(losses) / len(losses)
             """)}),
    ("03-correct-loops", "loops over the samples in the layer and in softmax, x.flat in the check, a while loop over "
     "the batches with the maths written inline", {
         "dense_layer": dense_cell("""
             out = np.zeros((x.shape[0], W.shape[1]))
             for n in range(x.shape[0]):
                 out[n] = x[n] @ W + b
             """, """
             dx, dW, db = np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)
             for n in range(x.shape[0]):
                 dx[n] = W @ dout[n]
                 dW += np.outer(x[n], dout[n])
                 db += dout[n]
             """),
         "softmax_cross_entropy": softmax_cell("""
             N = logits.shape[0]
             loss = 0.0
             dlogits = np.zeros(logits.shape)
             for n in range(N):
                 z = logits[n] - logits[n].max()
                 total = np.exp(z).sum()
                 loss += np.log(total) - z[y[n]]
                 dlogits[n] = np.exp(z) / total
                 dlogits[n, y[n]] -= 1.0
             return loss / N, dlogits / N
             """),
         "grad_check": grad_check_cell("""
             grad = np.zeros(x.shape)
             for i in range(x.size):
                 old = x.flat[i]
                 x.flat[i] = old + h
                 plus = f(x)
                 x.flat[i] = old - h
                 minus = f(x)
                 x.flat[i] = old
                 grad.flat[i] = (plus - minus) / (2 * h)
             return grad
             """),
         "sgd_epoch": sgd_cell("""
             W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
             order = rng.permutation(len(X))
             losses, start = [], 0
             while start < len(X):
                 rows = order[start:start + batch_size]
                 start += batch_size
                 xb, yb, n = X[rows], y[rows], len(rows)
                 net1 = xb @ W1 + b1
                 o1 = np.maximum(net1, 0)
                 z = o1 @ W2 + b2
                 z = z - z.max(axis=1, keepdims=True)
                 p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
                 losses.append(-np.mean(np.log(p[np.arange(n), yb])))
                 delta2 = p.copy()
                 delta2[np.arange(n), yb] -= 1
                 delta2 /= n
                 delta1 = (delta2 @ W2.T) * (net1 > 0)
                 np.subtract(W2, learning_rate * o1.T @ delta2, out=W2)
                 np.subtract(b2, learning_rate * delta2.sum(axis=0), out=b2)
                 np.subtract(W1, learning_rate * xb.T @ delta1, out=W1)
                 np.subtract(b1, learning_rate * delta1.sum(axis=0), out=b1)
             return float(np.mean(losses))
             """)}),
    ("03-correct-copies", "np.dot and np.matmul, a one-hot by np.put_along_axis, perturbed copies of x in the check, "
     "batches from np.array_split of the permutation at multiples of batch_size", {
         "dense_layer": dense_cell("out = np.matmul(x, W) + b[np.newaxis, :]", """
             dx = np.matmul(dout, np.transpose(W))
             dW = np.matmul(np.transpose(x), dout)
             db = dout.sum(0)
             """),
         "softmax_cross_entropy": softmax_cell("""
             shift = logits - logits.max(axis=-1)[:, None]
             exp = np.exp(shift)
             sums = exp.sum(axis=-1)
             onehot = np.zeros_like(logits)
             np.put_along_axis(onehot, y[:, None], 1.0, axis=1)
             loss = np.mean(np.log(sums) - np.sum(shift * onehot, axis=1))
             dlogits = (exp / sums[:, None] - onehot) / logits.shape[0]
             return loss, dlogits
             """),
         "grad_check": grad_check_cell("""
             grad = np.empty(x.shape)
             for i in range(x.size):
                 step = np.zeros(x.size)
                 step[i] = h
                 step = step.reshape(x.shape)
                 grad.flat[i] = (f(x + step) - f(x - step)) / (2 * h)
             return grad
             """),
         "sgd_epoch": sgd_cell("""
             perm = rng.permutation(X.shape[0])
             batches = np.array_split(perm, range(batch_size, X.shape[0], batch_size))
             total = 0.0
             for batch in batches:
                 net1, cache1 = dense_forward(X[batch], params["W1"], params["b1"])
                 o1, relu_cache = relu_forward(net1)
                 logits, cache2 = dense_forward(o1, params["W2"], params["b2"])
                 loss, dlogits = softmax_cross_entropy(logits, y[batch])
                 total += loss
                 do1, grad_W2, grad_b2 = dense_backward(dlogits, cache2)
                 _, grad_W1, grad_b1 = dense_backward(relu_backward(do1, relu_cache), cache1)
                 for key, grad in zip(["W1", "b1", "W2", "b2"], [grad_W1, grad_b1, grad_W2, grad_b2]):
                     params[key] -= learning_rate * grad
             return total / len(batches)
             """)}),
]


#: (name, description, exercise, code, cell source)
MISTAKES_03 = [
    # Exercise 1: the dense layer
    ("03-dense-forward-no-bias", "out = x·W, the bias left out", "dense_layer", "forward-ignores-bias",
     dense_cell("out = x.dot(W)", DENSE_BACKWARD)),
    ("03-dense-dW-transposed", "dW = doutᵀ·x, shape (M, D)", "dense_layer", "weight-gradient-transposed",
     dense_cell(DENSE_FORWARD, edit(DENSE_BACKWARD, "dW = x.T.dot(dout)", "dW = dout.T.dot(x)"))),
    ("03-dense-db-not-summed", "db = dout, one row per sample", "dense_layer", "bias-gradient-not-summed",
     dense_cell(DENSE_FORWARD, edit(DENSE_BACKWARD, "db = np.sum(dout, axis=0)", "db = dout"))),
    ("03-dense-averaged", "dW and db averaged over the batch, which the loss already did", "dense_layer",
     "layer-gradient-averaged", dense_cell(DENSE_FORWARD, edit(edit(
         DENSE_BACKWARD, "dW = x.T.dot(dout)", "dW = x.T.dot(dout) / x.shape[0]"),
         "db = np.sum(dout, axis=0)", "db = np.mean(dout, axis=0)"))),
    ("03-dense-db-mean", "db = dout.mean(0), the rest right", "dense_layer", "layer-gradient-averaged",
     dense_cell(DENSE_FORWARD, edit(DENSE_BACKWARD, "db = np.sum(dout, axis=0)", "db = dout.mean(0)"))),
    ("03-dense-dx-not-transposed", "dx = dout @ W, which does not fit unless W is square", "dense_layer",
     "input-gradient-not-transposed", dense_cell(DENSE_FORWARD, edit(DENSE_BACKWARD, "dx = dout.dot(W.T)", "dx = dout @ W"))),
    # Exercise 2: softmax with cross-entropy
    ("03-softmax-no-max", "softmax as exp(z)/Σ exp(z), the max not subtracted", "softmax_cross_entropy",
     "softmax-overflow", softmax_cell(edit(edit(
         SOFTMAX, "z = logits - np.max(logits, axis=1, keepdims=True)", "z = logits"),
         "log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))",
         "log_probs = np.log(np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True))"))),
    ("03-softmax-global-max", "np.max(logits): the largest logit of the whole batch subtracted",
     "softmax_cross_entropy", "softmax-global-max", softmax_cell(edit(
         SOFTMAX, "z = logits - np.max(logits, axis=1, keepdims=True)", "z = logits - np.max(logits)"))),
    ("03-softmax-log-of-probability", "the max subtracted, but the loss is np.log of ŷ", "softmax_cross_entropy",
     "log-of-zero-probability", softmax_cell(edit(
         SOFTMAX, "log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))\nprobs = np.exp(log_probs)",
         "probs = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)\nlog_probs = np.log(probs)"))),
    ("03-softmax-gradient-sign", "dlogits = (t − ŷ)/N", "softmax_cross_entropy", "softmax-gradient-sign",
     softmax_cell(edit(SOFTMAX, "(probs - t) / N", "(t - probs) / N"))),
    ("03-softmax-gradient-not-averaged", "dlogits = ŷ − t with the loss a mean", "softmax_cross_entropy",
     "softmax-gradient-not-averaged", softmax_cell(edit(SOFTMAX, "(probs - t) / N", "probs - t"))),
    ("03-softmax-loss-summed", "the loss summed over the batch, dlogits divided by N", "softmax_cross_entropy",
     "cross-entropy-not-averaged", softmax_cell(edit(SOFTMAX, "loss = -np.mean(", "loss = -np.sum("))),
    ("03-softmax-missing-target", "dlogits = ŷ/N, the one-hot target never subtracted", "softmax_cross_entropy",
     "softmax-gradient-missing-target", softmax_cell(edit(SOFTMAX, "(probs - t) / N", "probs / N"))),
    # Exercise 3: the gradient check
    ("03-grad-check-one-sided", "(f(x + h) − f(x))/h", "grad_check", "one-sided-difference", grad_check_cell(edit(edit(
        GRAD_CHECK, "x[i] = saved - h", "x[i] = saved"), "(up - down) / (2 * h)", "(up - down) / h"))),
    ("03-grad-check-step-1e-2", "the step set to 0.01 inside the function", "grad_check", "step-too-large",
     grad_check_cell("h = 0.01\n" + GRAD_CHECK.strip("\n"))),
    ("03-grad-check-not-halved", "(f(x + h) − f(x − h))/h", "grad_check", "difference-not-halved",
     grad_check_cell(edit(GRAD_CHECK, "(up - down) / (2 * h)", "(up - down) / h"))),
    ("03-grad-check-not-restored", "x[i] += h, x[i] -= 2h, and x[i] never put back", "grad_check",
     "input-not-restored", grad_check_cell(edit(edit(edit(
         GRAD_CHECK, "x[i] = saved + h", "x[i] += h"), "x[i] = saved - h", "x[i] -= 2 * h"), "x[i] = saved", ""))),
    ("03-grad-check-alias", "x_plus = x and x_minus = x: no copies, so the steps cancel before f is evaluated",
     "grad_check", "copy-is-an-alias", grad_check_cell("""
         grad = np.zeros(x.shape)
         for i in np.ndindex(*x.shape):
             x_plus = x
             x_plus[i] += h
             x_minus = x
             x_minus[i] -= h
             grad[i] = (f(x_plus) - f(x_minus)) / (2 * h)
         return grad
         """)),
    # Exercise 4: mini-batch SGD
    ("03-sgd-inputs-shuffled-only", "X[batch] with y[start:start + batch_size]", "sgd_epoch",
     "shuffled-without-targets", sgd_cell(edit(SGD, "xb, yb = X[batch], y[batch]",
                                            "xb, yb = X[batch], y[start:start + batch_size]"))),
    ("03-sgd-two-permutations", "X and y each shuffled by a permutation of its own", "sgd_epoch",
     "shuffled-without-targets", sgd_cell(edit(edit(
         SGD, "idx = rng.permutation(N)", "X, y = X[rng.permutation(N)], y[rng.permutation(N)]"),
         "batch = idx[start:start + batch_size]", "batch = np.arange(start, min(start + batch_size, N))"))),
    ("03-sgd-not-shuffled", "the batches in the stored order", "sgd_epoch", "samples-not-shuffled",
     sgd_cell(edit(SGD, "idx = rng.permutation(N)", "idx = np.arange(N)"))),
    ("03-sgd-permutation-per-batch", "rng.permutation(N) drawn anew for every batch", "sgd_epoch",
     "permutation-per-batch", sgd_cell(edit(edit(SGD, "idx = rng.permutation(N)", ""),
                                        "batch = idx[start:start + batch_size]",
                                        "batch = rng.permutation(N)[start:start + batch_size]"))),
    ("03-sgd-np-random", "np.random.permutation(N), not the rng given", "sgd_epoch", "rng-not-used",
     sgd_cell(edit(SGD, "idx = rng.permutation(N)", "idx = np.random.permutation(N)"))),
    ("03-sgd-last-batch-dropped", "N // batch_size batches", "sgd_epoch", "last-batch-dropped",
     sgd_cell(edit(SGD, "for start in range(0, N, batch_size):", "for start in range(0, N // batch_size * batch_size, batch_size):"))),
    ("03-sgd-divided-by-batch-size", "each step divided by batch_size once more", "sgd_epoch", "batch-divided-twice",
     sgd_cell(SGD.replace("learning_rate * d", "learning_rate / batch_size * d"))),
    ("03-sgd-relu-backward-skipped", "dense_backward of the first layer fed the unmasked gradient", "sgd_epoch",
     "relu-backward-skipped", sgd_cell(edit(SGD, "dnet1 = relu_backward(do1, relu_cache)", "dnet1 = do1"))),
    ("03-sgd-W2-updated-first", "W2 and b2 updated before the gradient goes back through W2", "sgd_epoch",
     "second-layer-updated-first", sgd_cell(edit(edit(
         SGD, 'params["b1"] -= learning_rate * db1\n    params["W2"] -= learning_rate * dW2\n'
              '    params["b2"] -= learning_rate * db2', 'params["b1"] -= learning_rate * db1'),
         "do1, dW2, db2 = dense_backward(dlogits, cache2)", """
         _, dW2, db2 = dense_backward(dlogits, cache2)
             params["W2"] -= learning_rate * dW2
             params["b2"] -= learning_rate * db2
             do1 = dlogits @ params["W2"].T
         """))),
    ("03-sgd-params-copied", "params copied first, so the caller's dict never changes", "sgd_epoch",
     "params-not-updated", sgd_cell(edit(SGD, "N = len(y)", "N = len(y)\nparams = {k: v.copy() for k, v in params.items()}"))),
    ("03-sgd-update-sign", "W ← W + η·∂e/∂W", "sgd_epoch", "update-sign",
     sgd_cell(SGD.replace("-= learning_rate", "+= learning_rate"))),
    ("03-sgd-losses-summed", "the epoch loss is the sum of the batch losses", "sgd_epoch", "batch-losses-summed",
     sgd_cell(edit(SGD, "return np.mean(batch_losses)", "return np.sum(batch_losses)"))),
    ("03-sgd-last-batch-loss", "returns `loss`, the last batch's", "sgd_epoch", "epoch-loss-last-batch",
     sgd_cell(edit(SGD, "return np.mean(batch_losses)", "return loss"))),
    ("03-sgd-loss-after-step", "each batch's loss taken again after its step", "sgd_epoch", "batch-loss-after-step",
     sgd_cell(edit(edit(SGD, "batch_losses.append(loss)", ""), 'params["b2"] -= learning_rate * db2', """
         params["b2"] -= learning_rate * db2
             o1_after = relu_forward(dense_forward(xb, params["W1"], params["b1"])[0])[0]
             loss_after, _ = softmax_cross_entropy(dense_forward(o1_after, params["W2"], params["b2"])[0], yb)
             batch_losses.append(loss_after)
         """))),
    ("03-sgd-losses-weighted", "the epoch loss weights each batch by its size", "sgd_epoch", "batch-losses-weighted",
     sgd_cell(edit(edit(SGD, "batch_losses.append(loss)", "batch_losses.append(loss * len(yb))"),
               "return np.mean(batch_losses)", "return np.sum(batch_losses) / N"))),
]
