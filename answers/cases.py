"""How the answers make a check's ``Case``: the registry of case builders, the mistakes' replays
(computed on first use), and a case written out as data (for the public tests' recording).

A case builder takes a test cell's literal arguments and returns a ``Case``: the scenario (the
inputs), the right values from the oracle, the suspects' replays (the reference with each
deviation of the mistake table, ``deviations.py``) and the stand-ins' recordings (``standins.py``).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache

import numpy as np

from backprop_course.checks import public
from backprop_course.checks.core import ATOL, RTOL, quiet

from .deviations import TABLE
from .oracle import phi
from .reference import Equations
from .secret import hidden_arguments as derived_arguments

#: check name -> the function that builds its case from the test cell's literal arguments
BUILDERS = {}


def register(name):
    """Decorator: the case builder of the check ``name``."""
    def put(builder):
        BUILDERS[name] = builder
        return builder
    return put


class Unsound(ValueError):
    """A scenario a right answer might fail (training that would not reach the stated accuracy):
    a hidden test draws another."""


def case(check_name, args, kwargs):
    """The Case of a call, built once per process for the same arguments (the replays then too)."""
    return _case(public.key(check_name, args, kwargs))


def hidden_arguments(secret, check_name, args, kwargs, attempts=16):
    """The arguments of a hidden call as the grader runs it: the first seed the course ``secret``
    derives whose scenario is sound (see ``Unsound``)."""
    for attempt in range(attempts):
        args_, kwargs_ = derived_arguments(secret, check_name, args, kwargs, attempt)
        try:
            case(check_name, args_, kwargs_)
        except Unsound:
            continue
        return args_, kwargs_
    raise Unsound(f"{check_name}{tuple(args)} {kwargs}: no sound scenario in {attempts} seeds")


@cache
def _case(key):
    check_name, args, kwargs = json.loads(key)
    if check_name not in BUILDERS:
        raise KeyError(f"{check_name} has no case builder in answers/")
    with quiet(Warning):
        return BUILDERS[check_name](*args, **kwargs)


# --- replays ----------------------------------------------------------------------------------

def attempt(compute):
    """compute(), or {"raised": its error's type name}: a replay that raises is no variant there."""
    try:
        return compute()
    except Exception as error:  # noqa: BLE001 (a deviation may break anything, e.g. math.exp of an array)
        return {"raised": type(error).__name__}


def chain(compute, *keys):
    """The dict compute() returns, or, if it raises, every key marked with the error (one
    computation gives them all: the weights and the output of one neuron)."""
    try:
        return compute()
    except Exception as error:  # noqa: BLE001
        return {key: {"raised": type(error).__name__} for key in keys}


class _Later:
    """One computation giving several keys of a replay, run when the first of them is read."""

    def __init__(self, compute, keys):
        self.compute, self.keys, self.values = compute, keys, None

    def value(self, key):
        """The value of ``key``, all keys computed together on first use."""
        if self.values is None:
            self.values = chain(self.compute, *self.keys)
        return self.values[key]


class Later:
    """A key of a replay that is computed when it is read (``later``)."""

    def __init__(self, shared, key):
        self.shared, self.key = shared, key


def later(compute, *keys):
    """{key: Later} for the dict compute() returns: computed on first read, so that a judge that
    stops at the first key never pays for the others (a 1000-epoch training, say)."""
    shared = _Later(compute, keys)
    return {key: Later(shared, key) for key in keys}


class Replay(Mapping):
    """One suspect's replay of a case, ``replay(equations)`` computed on first use.

    A replay that raised before it gave any value gives {"raised": type} for every key, and is
    written out as that alone (``recorded``).
    """

    def __init__(self, replay, equations):
        self._replay, self._equations, self._values, self.raised = replay, equations, None, None

    def _all(self):
        if self._values is None:
            with quiet(Warning):
                values = attempt(lambda: self._replay(self._equations))
            if set(values) == {"raised"}:
                self.raised, values = values["raised"], {}
            self._values = values
        return self._values

    def __getitem__(self, key):
        values = self._all()
        if self.raised:
            return {"raised": self.raised}
        value = values[key]
        if isinstance(value, Later):
            with quiet(Warning):
                value = values[key] = value.shared.value(value.key)
        return value

    def __iter__(self):
        return iter(self._all())

    def __len__(self):
        return len(self._all())

    def data(self):
        """The replay as JSON data, every key computed."""
        values = self._all()
        if self.raised:
            return {"raised": self.raised}
        return as_data({key: self[key] for key in list(values)})


def suspects(replay, trusted=frozenset()):
    """[(code, Replay)] of every deviation of the table, in table order.

    trusted: the equations that the check's stand-ins compute (``standins.NEURON``, ``standins.LAYER``):
    the student's code cannot get them wrong there, so each deviation is replayed without them, and
    one that deviates in nothing else is no suspect (a training loop on trusted neurons is never
    named for a neuron's φ′).
    """
    found = []
    for entry in TABLE:
        for deviation in entry.deviations:
            own = {name: wrong for name, wrong in deviation.items() if name not in trusted}
            if own:
                found.append((entry.code, Replay(replay, Equations(**own))))
    return found


def activation_table(nets, name):
    """[[net, φ(net)]] for a stand-in activation (the oracle's φ)."""
    nets = np.unique(np.asarray(nets, float).reshape(-1))
    return [[float(n), float(phi(n, name))] for n in nets]


# --- a case as data ---------------------------------------------------------------------------

def as_data(value):
    """JSON data of a value a case holds: numbers as (nested lists of) floats, integers as integers."""
    if isinstance(value, Mapping):
        return {str(k): as_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_data(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (str, type(None))):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)  # an index (a stand-in's state), or a count
    return np.asarray(value, dtype=float).tolist()


def recorded(built):
    """A Case as JSON data, every replay computed; a suspect whose replay is the reference's in
    every key is left out (it can never be named: compare skips a variant equal to the right
    answer, and blame reads the same as for the reference). Stand-ins that compute are left out
    too: the student's kernel then runs the student's own (``checks/vectorised.py``, training)."""
    reference = Replay(built.replays[0][1]._replay, Equations()).data() if built.replays else None
    replays = [[code, replay.data()] for code, replay in built.replays if replay.data() != reference]
    # stand-ins that compute (the training check's trusted layers, as source) are the grader's alone
    standins = None if built.standins is None or "source" in built.standins else as_data(built.standins)
    return {"scenario": as_data(built.scenario), "expected": as_data(built.expected), "replays": replays,
            "standins": standins}


# --- whether a scenario tells its mistakes apart ----------------------------------------------

def each_named(played, right, keys):
    """Whether a scenario names each deviation by its own code, as a judge that compares ``keys`` in this order
    does (``core.Suspects``): its result differs from the right one at some key, and of the deviations (in table
    order) that agree with the right results at the keys before, the first that gives that same wrong result
    there is of its code. played: [(code, {key: value})], in table order."""
    for code, result in played:
        wrong = next((key for key in keys if not same_values(result[key], right[key])), None)
        if wrong is None:
            return False
        before = keys[:keys.index(wrong)]
        named = next(other for other, q in played
                     if all(same_values(q[k], right[k]) for k in before) and same_values(q[wrong], result[wrong]))
        if named != code:
            return False
    return True


def same_values(a, b):
    """Whether a and b hold the same numbers in the same count, within the checks' RTOL, ATOL."""
    a, b = np.asarray(a, dtype=float).reshape(-1), np.asarray(b, dtype=float).reshape(-1)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))
