"""Stand-ins: what a check hands the student's code in place of trusted activations, neurons or layers.

Some exercises are checked on top of earlier ones: train() and Network drive neurons, sgd_epoch
calls the dense layers, a derivative calls sigmoid. So that a mistake costs its points once, on
its own exercise, the check gives the student's code trusted parts to call. Trusted parts that
computed would be an answer in the kernel, so these compute nothing: each answers only the calls
the instructor's answers recorded for the one scenario at hand (a correct solution's calls and
each known mistake's), with the values recorded then. Anything else is a *miss*: the stand-in
notes what was called (:class:`Misses`) and answers nan, so that the student's code runs to its
end (a loop that ignores its epochs still returns its 1000 losses, and is named for it); the
check then reports the first miss. A correct solution never misses.

The recordings are data (``core.Case.standins``):

- ``activations``: {name: [[net, φ(net)], …]}: a function of net, elementwise, on those nets only;
- ``points``: [[x, f(x)], …]: a scalar function of an array, at those points only;
- ``neurons``: one record per neuron, in the order the probe hands them out: its states
  (weights and bias after each update), and what forward() and backward() do in each state;
- ``layers``: {name: [[inputs, outputs], …]} for the batch layers sgd_epoch calls.
"""
from __future__ import annotations

import numpy as np

from .core import TeachingError

#: how close an argument must be to a recorded one: a correct solution passes the same numbers,
#: up to the rounding of another order of the same sums
RTOL, ATOL = 1e-9, 1e-12

# numpy's functions as they are at import, which the grader does before any student code runs:
# a student's `np.allclose = …` must not change what a stand-in answers
_asarray, _allclose, _isclose, _all, _flatnonzero = np.asarray, np.allclose, np.isclose, np.all, np.flatnonzero
_every = all  # the builtin, as it is at import


class StandInMiss(TeachingError):
    """A call that no stand-in can take at all (not numbers, a wrong number of arguments)."""


class Misses(list):
    """What the student's code asked of the stand-ins that no correct solution asks, in order."""

    def note(self, message):
        """Note one request no correct solution makes (cut to 300 characters)."""
        self.append(message[:300])


def _vector(value):
    try:
        return _asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None


def _same(recorded, given):
    """Whether a given argument is the recorded one: both None, or equal numbers of equal shape."""
    if recorded is None or given is None:
        return recorded is None and given is None
    if isinstance(recorded, bool) or isinstance(given, bool):
        return bool(recorded) == bool(given)
    a, b = _asarray(recorded, dtype=float), _array(given)
    return b is not None and a.size == b.size and bool(_allclose(a.reshape(-1), b.reshape(-1), rtol=RTOL, atol=ATOL))


def _array(value):
    try:
        return _asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _short(value):
    array = _array(value)
    if array is None:
        return f"a {type(value).__name__}"
    return np.array2string(array, precision=4, threshold=8, edgeitems=2).replace("\n", "")


# --- activations ------------------------------------------------------------------------------

def activation(name, table, misses):
    """φ on the recorded nets only: a number or an array of any shape, elementwise (nan on a miss)."""
    nets = np.array([net for net, _ in table], dtype=float)
    values = np.array([value for _, value in table], dtype=float)

    def one(net):
        hits = _flatnonzero(_isclose(nets, net, rtol=RTOL, atol=ATOL))
        if not hits.size:
            misses.note(f"your code called {name} on net = {net:.6g}, which no correct answer asks for here: "
                        "use the net your function was given")
            return np.nan
        return values[hits[0]]

    def stand_in(net):
        array = _array(net)
        if array is None:
            raise StandInMiss(f"the check's {name} takes a number or an array of numbers, not {_short(net)}")
        result = np.array([one(v) for v in array.reshape(-1)]).reshape(array.shape)
        return float(result) if array.ndim == 0 else result

    stand_in.__name__ = name
    return stand_in


def function(name, table, misses):
    """A scalar function of an array, on the recorded points only ([[x, f(x)], …]; nan on a miss)."""
    points = np.array([x for x, _ in table], dtype=float) if table else np.zeros((0, 0))
    values = np.array([value for _, value in table], dtype=float)

    def stand_in(x):
        v = _array(x)
        if v is not None and points.size and v.size == points.shape[1]:
            hits = _flatnonzero(_all(_isclose(points, v.reshape(-1), rtol=RTOL, atol=ATOL), axis=1))
            if hits.size:
                return float(values[hits[0]])
        misses.note(f"{name} was evaluated at a point no correct gradient check evaluates (x = {_short(x)}): "
                    "perturb one entry at a time by ±h, from x as it was given")
        return float("nan")

    stand_in.__name__ = name
    return stand_in


# --- neurons ----------------------------------------------------------------------------------

#: the contract's backward(), its arguments in order with their defaults
BACKWARD = ("t", "y_hat", "delta_l", "w_l", "learning_rate", "output_neuron")
BACKWARD_DEFAULTS = (None, None, None, None, 0.1, False)


class StandInNeuron:
    """A neuron of the assignment's contract that answers only the recorded calls.

    Attributes as the contract's: weights (an array), bias, and after forward() o_i, net, o_j,
    after backward() delta_j. ``label`` names it in a miss ("hidden neuron 2").
    """

    def __init__(self, record, label, misses):
        self._record, self._label, self._misses = record, label, misses
        self.activation_name = record.get("activation", "sigmoid")
        self._forward, self._backward = {}, {}  # state -> its recorded calls
        for entry in record["forward"]:
            self._forward.setdefault(entry[0], []).append(entry)
        for entry in record["backward"]:
            self._backward.setdefault(entry[0], []).append(entry)
        self._enter(0)

    def _enter(self, state):
        """Go to a recorded state (its weights and bias), or to None: lost after a miss, all nan."""
        self._state = state
        if state is None:
            self.weights, self.bias = np.full(len(self._record["states"][0][0]), np.nan), np.nan
        else:
            weights, bias = self._record["states"][state]
            self.weights, self.bias = np.array(weights, dtype=float), float(bias)

    def _miss(self, message):
        self._misses.note(message)
        self._enter(None)

    def forward(self, x):
        """o = the recorded φ(net) for input x (shape (I,)) in the neuron's current state; a miss
        when no correct solution passes this x here."""
        self.o_i = _array(x)
        if self._state is not None:
            for state, xs, net, o in self._forward.get(self._state, ()):
                if _same(xs, x):
                    self.net, self.o_j = net, o
                    return o
            self._miss(f"{self._label}.forward(x) got x = {_short(x)}, which no correct solution passes it here "
                       f"(after {self._updates()} of its updates)")
        self.net = self.o_j = np.nan
        return self.o_j

    def backward(self, *args, **kwargs):
        """Take the recorded step of the neuron's current state for these arguments (δ, the new
        weights and bias), as a correct Neuron.backward computes it; a miss otherwise."""
        given = dict(zip(BACKWARD, BACKWARD_DEFAULTS))
        given.update(zip(BACKWARD, args))
        unknown = set(kwargs) - set(BACKWARD)
        if unknown or len(args) > len(BACKWARD):
            raise TypeError(f"backward() got unexpected arguments {sorted(unknown) or args[len(BACKWARD):]}")
        given.update(kwargs)
        o_i = getattr(self, "o_i", None)
        self.delta_j = np.nan
        if self._state is None:
            return None
        for state, inputs, arguments, delta, after in self._backward.get(self._state, ()):
            if _same(inputs, o_i) and _every(_same(arguments[k], given[k]) for k in BACKWARD):
                self.delta_j = delta
                self._enter(after)
                return None
        shown = ", ".join(f"{k}={_short(given[k]) if given[k] is not None else None}" for k in BACKWARD)
        self._miss(f"{self._label}.backward({shown}) is no call a correct solution makes here (after "
                   f"forward(x = {_short(o_i) if o_i is not None else 'never called'}), {self._updates()} of its "
                   "updates)")
        return None

    def _updates(self):
        return f"{self._state} update" + ("" if self._state == 1 else "s")


def neurons(records, labels, misses):
    """Stand-in neurons, one per record, named by ``labels``, noting their misses in ``misses``."""
    return [StandInNeuron(record, label, misses) for record, label in zip(records, labels)]


# --- the batch layers of sgd_epoch ------------------------------------------------------------

#: each layer's inputs, as the contract names them, and which of them its cache is
LAYER_INPUTS = {"dense_forward": ("x", "W", "b"), "dense_backward": ("dout", "cache"),
                "relu_forward": ("x",), "relu_backward": ("dout", "cache"),
                "softmax_cross_entropy": ("logits", "y")}


def _flat_inputs(name, args):
    """The numbers of a layer call's inputs, in recorded order (a dense cache is (x, W, b))."""
    if name == "dense_backward":
        dout, cache = args
        if not isinstance(cache, (tuple, list)) or len(cache) != 3:
            raise StandInMiss("dense_backward(dout, cache) needs the cache dense_forward returned, (x, W, b)")
        return [dout, *cache]
    return list(args)


def layer(name, table, misses, weights=None):
    """The layer ``name`` on the recorded inputs only; its cache is what the contract says (nan on a miss).

    weights: a list to which a dense_forward appends the [W, b] of each call, as plain data: what the
    student's parameters were at each forward pass (a step that went wrong shows there, batch by batch).
    """
    def stand_in(*args):
        if len(args) != len(LAYER_INPUTS[name]):
            raise TypeError(f"{name}({', '.join(LAYER_INPUTS[name])}) takes {len(LAYER_INPUTS[name])} arguments")
        if weights is not None and name == "dense_forward":
            weights.append([_plain(args[1]), _plain(args[2])])
        flat = _flat_inputs(name, args)
        for inputs, outputs in table:
            if len(inputs) == len(flat) and _every(_same(a, b) for a, b in zip(inputs, flat)):
                return _outputs(name, args, [np.array(v, dtype=float) for v in outputs])
        shapes = ", ".join(str(np.shape(a)) if _array(a) is not None else type(a).__name__ for a in flat)
        misses.note(f"{name} was called with inputs no correct sgd_epoch passes it here (shapes {shapes}): "
                    "check the batches, their order and what each layer is given")
        return _outputs(name, args, _nan_outputs(name, flat))

    stand_in.__name__ = name
    return stand_in


def _nan_outputs(name, flat):
    """nan outputs of the shapes a layer gives for these inputs, so that the student's code goes on."""
    shapes = [np.shape(_array(a)) if _array(a) is not None else () for a in flat]
    try:
        if name == "dense_forward":
            return [np.full((shapes[0][0], shapes[1][1]), np.nan)]
        if name == "dense_backward":
            return [np.full((shapes[0][0], shapes[2][0]), np.nan), np.full(shapes[2], np.nan),
                    np.full(shapes[0][1:], np.nan)]
        if name in ("relu_forward", "relu_backward"):
            return [np.full(shapes[0], np.nan)]
        return [np.array(np.nan), np.full(shapes[0], np.nan)]          # softmax_cross_entropy
    except (IndexError, ValueError):
        raise StandInMiss(f"{name} got inputs of shapes {shapes}: see its docstring for what it takes") from None


def _outputs(name, args, arrays):
    if name == "dense_forward":
        return arrays[0], tuple(args)                       # (out, cache = (x, W, b))
    if name == "relu_forward":
        return arrays[0], args[0]                           # (out, cache = x)
    if name == "relu_backward":
        return arrays[0]
    if name == "softmax_cross_entropy":
        return float(arrays[0]), arrays[1]
    return tuple(arrays)                                    # dense_backward: (dx, dW, db)


def layers(tables, misses, weights=None):
    """{name: stand-in} of every recorded layer, noting their misses in ``misses`` (and the weights each
    dense_forward is given in ``weights``, a list, if given)."""
    return {name: layer(name, table, misses, weights) for name, table in tables.items()}


def _plain(value):
    array = _array(value)
    return None if array is None else array.tolist()
