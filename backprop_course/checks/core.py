"""How a check compares and how it talks to the student.

A check computes the right answer from the oracle and, beside it, the answers that known
mistakes would give: the reference replayed with each deviation of the mistake table
(:class:`Suspects`). When the student's result is wrong but matches a known mistake, the check
raises :class:`Mistake`, which names it; otherwise :class:`WrongAnswer`. The grade report counts
mistakes by the code in brackets, e.g. ``[hidden-delta-no-phi-prime]``.
"""
from __future__ import annotations

import contextlib
import linecache
import os
import re
import warnings

import numpy as np

from .mistakes import MISTAKES, TABLE  # noqa: F401 (MISTAKES: the codes' messages, imported from here)
from .reference import Equations

#: stated tolerance between a student's float64 result and the finite-difference oracle
RTOL, ATOL = 1e-5, 1e-7

_CODE = re.compile(r"\[([a-z0-9-]+)\]")


class Plural(str):
    """A quantity named in the plural: "The weights after backward()" are wrong, not "is".

    A check names what it compares in the lecture's words; a plain str is singular.
    """


def is_wrong(quantity):
    """The sentence every failed comparison starts with, the verb agreeing with the quantity."""
    return f"{quantity} {'are' if isinstance(quantity, Plural) else 'is'} wrong."


#: the folder of the checks: their frames are left out of what a student sees
_CHECKS_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _own(frame):
    return os.path.abspath(frame.f_code.co_filename).startswith(_CHECKS_DIR)


def _test_line(tb):
    """'line N: <code>' of the test cell's call that led into the checks, or ''."""
    caller = None
    while tb is not None and not _own(tb.tb_frame):
        caller, tb = tb, tb.tb_next
    if caller is None or tb is None:
        return ""
    code = linecache.getline(caller.tb_frame.f_code.co_filename, caller.tb_lineno).strip()
    return f"line {caller.tb_lineno}: {code}" if code else f"line {caller.tb_lineno}"


def without_own_frames(tb):
    """The traceback ``tb`` without the checks' frames: what is left is the test cell and the student's code."""
    kept = []
    while tb is not None:
        if not _own(tb.tb_frame):
            kept.append(tb)
        tb = tb.tb_next
    for outer, inner in zip(kept, kept[1:]):
        outer.tb_next = inner
    if kept:
        kept[-1].tb_next = None
    return kept[0] if kept else None


def short_traceback(error):
    """The lines a notebook shows for ``error``: its message first, then the test's line."""
    lines = [f"\x1b[0;31m{type(error).__name__}\x1b[0m: {error}"]
    where = _test_line(error.__traceback__)
    if where:
        lines.append(f"\x1b[0;36m(the test's {where})\x1b[0m")
    return lines


class TeachingError(AssertionError):
    """A failed check, shown by a notebook as its teaching message first and nothing of the
    checks' own code (IPython's ``_render_traceback_``, which Validate shows as well)."""

    def _render_traceback_(self):
        return short_traceback(self)


class WrongAnswer(TeachingError):
    """A check failed and the result matches no known mistake."""


class Mistake(TeachingError):
    """A check failed and the result matches a known mistake, named by ``code``."""

    def __init__(self, code, quantity):
        self.code = code
        super().__init__(f"{is_wrong(quantity)} [{code}] {MISTAKES[code]}")


def mistake_codes(text):
    """The mistake codes named in an error message (used by the grade report)."""
    return [code for code in _CODE.findall(text or "") if code in MISTAKES]


def as_vector(value, what):
    """A student's number or sequence as a float64 vector, or a WrongAnswer saying why not."""
    try:
        return np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{what} should be a number or a sequence of numbers, not {type(value).__name__}: {value!r}") from None


def close(actual, expected, rtol=RTOL, atol=ATOL):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    return actual.shape == expected.shape and bool(np.all(np.isfinite(actual))) and np.allclose(actual, expected, rtol=rtol, atol=atol)


def compare(quantity, actual, expected, variants=(), reveal=False, rtol=RTOL, atol=ATOL):
    """Pass when ``actual`` matches ``expected``; otherwise name the mistake it matches.

    quantity: what is compared, in the lecture's words ("δ_j of the hidden neuron"; a
    ``Plural`` for a plural phrase).
    variants: (code, value) pairs, the results of known mistakes, tried in order.
    reveal: show the numbers (public tests only: hidden tests never show expected values).
    rtol, atol: a tolerance other than the stated one, for a quantity that needs it (a gradient
    check's result, which a one-sided difference misses by less than RTOL).
    """
    actual_v = as_vector(actual, quantity)
    expected_v = np.asarray(expected, float).reshape(-1)
    if close(actual_v, expected_v, rtol, atol):
        return
    for code, value in variants:
        value = np.reshape(value, -1)
        if not close(expected_v, value, rtol, atol) and close(actual_v, value, rtol, atol):
            raise Mistake(code, quantity)
    if actual_v.shape != expected_v.shape:
        raise WrongAnswer(f"{quantity} has {actual_v.size} value(s), expected {expected_v.size}.")
    message = is_wrong(quantity)
    if reveal:
        shape = np.shape(expected) if np.ndim(expected) > 1 else expected_v.shape  # a matrix shown as one
        message += (f"\n  got:      {np.array2string(actual_v.reshape(shape), precision=8, prefix='  got:      ')}"
                    f"\n  expected: {np.array2string(expected_v.reshape(shape), precision=8, prefix='  expected: ')}")
    else:
        message += " (hidden test: the expected values are not shown)"
    raise WrongAnswer(message)


class Suspects:
    """The known mistakes a student's results may show: the reference with each deviation of the table.

    A judge compares the student's results one quantity at a time, in the order they are
    computed. A wrong result is named after the first suspect, in table order, whose replay
    gives the same (``compare``) or raises the same type of error (``blame`` with ``raises``).
    A right result clears the suspects that get it wrong, so a later quantity is only blamed on
    a mistake consistent with what the student got right: with δ right, wrong weights that match
    a flipped δ are an update's sign, not δ's.

    Suspects are replayed only to explain a wrong result, and only until one matches: a right
    answer costs no replay.
    """

    def __init__(self, table=TABLE):
        self.suspects = [(entry.code, Equations(**deviation)) for entry in table for deviation in entry.deviations]
        self.cleared_by = []  # (replay, expected, rtol, atol) of each right result so far: a suspect must agree

    def compare(self, quantity, actual, expected, replay, reveal=False, narrow=True, rtol=RTOL, atol=ATOL):
        """``compare`` with each suspect's ``replay(equations)`` as its variant.

        replay: computes the quantity with the given equations (a suspect whose replay raises
        is no variant for it). narrow=False: a right result clears no suspect, for a quantity
        the next ones are not computed from (the bias beside the weights).
        """
        compare(quantity, actual, expected, self._variants(replay), reveal, rtol, atol)
        if narrow:
            self.cleared_by.append((replay, expected, rtol, atol))

    def blame(self, quantity, guilty):
        """Raise the Mistake of the first suspect for which ``guilty(equations)`` is true, if any."""
        for code, equations in self._left():
            try:
                hit = guilty(equations)
            except Exception:  # noqa: BLE001 (a suspect that breaks is not guilty)
                hit = False
            if hit:
                raise Mistake(code, quantity)

    def _left(self):
        """The suspects that agree with every right result so far, in table order."""
        for code, equations in self.suspects:
            if all(_agrees(equations, *cleared) for cleared in self.cleared_by):
                yield code, equations

    def _variants(self, replay):
        for code, equations in self._left():
            try:
                yield code, np.asarray(replay(equations), dtype=float)
            except Exception:  # noqa: BLE001 (a deviation may break anything, e.g. math.exp of an array)
                continue


def _agrees(equations, replay, expected, rtol, atol):
    try:
        return close(replay(equations), expected, rtol, atol)
    except Exception:  # noqa: BLE001
        return False


def raises(error, replay):
    """A ``guilty`` test for ``Suspects.blame``: the replay raises the type of the student's
    ``error`` (reported as "TypeName: message")."""
    kind = str(error).split(":")[0]

    def guilty(equations):
        try:
            replay(equations)
        except Exception as own:  # noqa: BLE001
            return type(own).__name__ == kind
        return False

    return guilty


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


#: every Check by name, filled as they are defined (the grader and the probe look checks up
#: here): a name is a check's one identity, so two modules may not define the same name
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
        self.module = judge.__module__
        other = REGISTRY.get(name)
        if other is not None and other.module != self.module:
            raise ValueError(f"two checks are named {name!r}, in {other.module} and in {self.module}: "
                             "a test cell names its check, so rename one")
        REGISTRY[name] = self  # the same module defining it again (a reload) replaces it

    def __call__(self, *args, reveal=False, **arguments):
        __tracebackhide__ = True  # noqa: F841 (IPython leaves this frame out of a traceback)
        try:
            with quiet():
                scenario = self.scenario(*args[self.objects:], **arguments)
                observed = self.probe(*args[:self.objects], scenario)
                self.judge(scenario, observed, reveal)
        except BaseException as error:
            # the student sees the test's line and their own code's frames, not the checks'
            tb = error.__traceback__
            students = without_own_frames(tb.tb_next)
            if students is None and not isinstance(error, TeachingError):
                try:  # raised by the checks calling the student's code (a wrong signature, say): short
                    error._render_traceback_ = lambda error=error: short_traceback(error)
                except AttributeError:
                    pass
            raise error.with_traceback(students) from error.__cause__
