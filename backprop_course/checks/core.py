"""How a check compares and how it talks to the student.

A check compares the student's results with a :class:`Case`: the right answer (from the
finite-difference oracle) and, beside it, the results that known mistakes give (each
*suspect*'s replay: the reference with one deviation of the mistake table). Both are numbers,
never code: for the public tests they were computed by ``make release`` and ship with the
checks (``public.py``); for the hidden tests the grader computes them in its own process
(``answers/``, the instructor's). When the student's result is wrong but matches a known
mistake, the check raises :class:`Mistake`, which names it; otherwise :class:`WrongAnswer`, which
says what differs when it can (a :class:`Diagnosis`: the right values transposed, times N, the
values before the update, ``structure.py``). The grade report counts both by the code in brackets,
e.g. ``[hidden-delta-no-phi-prime]`` or ``[nothing-updated]``.
"""
from __future__ import annotations

import contextlib
import linecache
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import public, structure
from .mistakes import CODES, MISTAKES, STRUCTURAL

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


class Diagnosis(WrongAnswer):
    """A check failed, the result matches no known mistake, and ``code`` (of
    ``mistakes.STRUCTURAL``) says what differs."""

    def __init__(self, code, message):
        self.code = code
        super().__init__(message)


def mistake_codes(text):
    """The codes named in an error message, known mistakes' and structural diagnoses' (used by the grade report)."""
    return [code for code in _CODE.findall(text or "") if code in CODES]


def as_vector(value, what):
    """A student's number or sequence as a float64 vector, or a WrongAnswer saying why not."""
    try:
        return np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{what} should be a number or a sequence of numbers, not {type(value).__name__}: {value!r}") from None


def close(actual, expected, rtol=RTOL, atol=ATOL):
    """Whether ``actual`` has ``expected``'s shape, is finite, and agrees with it within rtol, atol."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    return actual.shape == expected.shape and bool(np.all(np.isfinite(actual))) and np.allclose(actual, expected, rtol=rtol, atol=atol)


def compare(quantity, actual, expected, variants=(), reveal=False, rtol=RTOL, atol=ATOL, layout=None):
    """Pass when ``actual`` matches ``expected``; otherwise name the mistake it matches, or say what differs.

    quantity: what is compared, in the lecture's words ("δ_j of the hidden neuron"; a
    ``Plural`` for a plural phrase).
    variants: (code, value) pairs, the results of known mistakes, tried in order.
    reveal: show the numbers (public tests only: hidden tests never show expected values).
    rtol, atol: a tolerance other than the stated one, for a quantity that needs it (a gradient
    check's result, which a one-sided difference misses by less than RTOL).
    layout: a ``structure.Layout``, to say what differs when no variant matches (None: nothing
    more than that the result is wrong). With ``layout.shaped`` the shapes count.
    """
    shaped = layout is not None and layout.shaped
    actual_v = as_vector(actual, quantity)
    expected_v = np.asarray(expected, float).reshape(-1)
    actual_a = actual_v.reshape(np.shape(actual)) if shaped else actual_v
    expected_a = np.asarray(expected, float) if shaped else expected_v
    if close(actual_a, expected_a, rtol, atol):
        return
    for code, value in variants:
        value = np.reshape(value, -1)
        if not close(expected_v, value, rtol, atol) and close(actual_v, value, rtol, atol):
            raise Mistake(code, quantity)
    finding = structure.diagnose(actual_a, expected_a, layout, rtol, atol) if layout else structure.Finding()
    if finding.part is not None:
        _wrong_part(actual_v, expected_v, layout, finding, reveal, rtol, atol)
    said = f" [{finding.code}] {STRUCTURAL[finding.code]}" if finding.code else ""
    if actual_a.shape != expected_a.shape:
        what = (f"has {actual_v.size} value(s), expected {expected_v.size}" if not shaped
                else f"has shape {actual_a.shape}, expected {expected_a.shape}")
        _fail(f"{quantity} {what}.{said}", finding.code)
    shape = np.shape(expected) if np.ndim(expected) > 1 else expected_v.shape  # a matrix shown as one
    _fail(is_wrong(quantity) + said + _numbers(actual_v, expected_v, shape, reveal), finding.code)


def _wrong_part(actual_v, expected_v, layout, finding, reveal, rtol, atol):
    """Fail on the first wrong part of a flat result (W1 of θ = W1, b1, W2, b2), saying which parts are right."""
    start, right, wrong = 0, [], []
    for index, (name, quantity, shape) in enumerate(layout.parts):
        part = slice(start, start + int(np.prod(shape)))
        start = part.stop
        (right if close(actual_v[part], expected_v[part], rtol, atol) else wrong).append(name)
        if index == finding.part:
            shown, what, its_shape = (actual_v[part], expected_v[part]), quantity, tuple(shape)
    said = f" [{finding.code}] {STRUCTURAL[finding.code]}" if finding.code else ""
    which = f" (Right: {', '.join(right) or 'none'}; wrong: {', '.join(wrong)}.)"
    _fail(is_wrong(what) + said + which + _numbers(*shown, its_shape, reveal), finding.code)


def _numbers(actual, expected, shape, reveal):
    """The lines that show the student's values and the right ones in ``shape`` (public tests), or the note
    that they are hidden."""
    if not reveal:
        return " (hidden test: the expected values are not shown)"
    return (f"\n  got:      {np.array2string(np.reshape(actual, shape), precision=8, prefix='  got:      ')}"
            f"\n  expected: {np.array2string(np.reshape(expected, shape), precision=8, prefix='  expected: ')}")


def _fail(message, code):
    raise Diagnosis(code, message) if code else WrongAnswer(message)


def replayed(replay, key):
    """A suspect's replay of ``key``: its value, or {"raised": type} where it raised (a replay
    that raised before it gave any value is {"raised": type} alone)."""
    if key not in replay and "raised" in replay:
        return {"raised": replay["raised"]}
    return replay[key]


def raised(replay, key):
    """The type name of the error a suspect's replay of ``key`` raised, or None."""
    try:
        value = replayed(replay, key)
    except KeyError:
        return None
    return value["raised"] if isinstance(value, dict) else None


class Suspects:
    """The known mistakes a student's results may show, one comparison after another.

    replays: [(code, replay)], in table order; a replay maps each quantity's key to the value
    that mistake gives, or to ``{"raised": "TypeError"}`` when it raises there (it is then no
    variant for that key). Several replays may share a code (ways to make one mistake).

    A judge compares the student's results one quantity at a time, in the order they are
    computed. A wrong result is named after the first suspect, in table order, whose replay
    gives the same (``compare``) or passes a test of the judge's (``blame``). A right result
    clears the suspects that get it wrong, so a later quantity is only blamed on a mistake
    consistent with what the student got right: with δ right, wrong weights that match a
    flipped δ are an update's sign, not δ's.

    The grader's replays are computed on first use: a right answer costs no replay.
    """

    def __init__(self, replays):
        self.suspects = list(replays)
        self.cleared_by = []  # (key, expected, rtol, atol) of each right result so far: a suspect must agree

    def compare(self, quantity, actual, expected, key, reveal=False, narrow=True, rtol=RTOL, atol=ATOL, layout=None):
        """``compare`` with each suspect's replay of ``key`` as its variant.

        narrow=False: a right result clears no suspect, for a quantity the next ones are not
        computed from (the bias beside the weights). layout: see ``compare``.
        """
        compare(quantity, actual, expected, self._variants(key), reveal, rtol, atol, layout)
        if narrow:
            self.cleared_by.append((key, expected, rtol, atol))

    def blame(self, quantity, guilty):
        """Raise the Mistake of the first suspect for which ``guilty(replay)`` is true, if any."""
        for code, replay in self._left():
            try:
                hit = guilty(replay)
            except Exception:  # noqa: BLE001 (a suspect whose replay lacks what the test reads is not guilty)
                hit = False
            if hit:
                raise Mistake(code, quantity)

    def _left(self):
        """The suspects that agree with every right result so far, in table order."""
        for code, replay in self.suspects:
            if all(_agrees(replay, *cleared) for cleared in self.cleared_by):
                yield code, replay

    def _variants(self, key):
        for code, replay in self._left():
            try:
                value = replayed(replay, key)
                if isinstance(value, dict):  # it raised there
                    continue
                yield code, np.asarray(value, dtype=float)
            except Exception:  # noqa: BLE001 (no number: no variant)
                continue


def _agrees(replay, key, expected, rtol, atol):
    try:
        value = replayed(replay, key)
        return not isinstance(value, dict) and close(value, expected, rtol, atol)
    except Exception:  # noqa: BLE001
        return False


def raises(error, key):
    """A ``guilty`` test for ``Suspects.blame``: the replay of ``key`` raised the type of the
    student's ``error`` (reported as "TypeName: message")."""
    kind = str(error).split(":")[0]
    return lambda replay: raised(replay, key) == kind


@dataclass
class Case:
    """What a check compares a student's results with, as data: no code.

    scenario: the inputs (JSON data), what the probe runs the student's code on.
    expected: {key: the right value}, from the finite-difference oracle.
    replays: [(code, {key: value})], the suspects' replays (see :class:`Suspects`).
    standins: what the probe hands the student's code in place of trusted neurons or layers
        (``standins.py``), or None.
    """

    scenario: dict
    expected: dict = field(default_factory=dict)
    replays: list = field(default_factory=list)
    standins: dict | None = None

    def suspects(self):
        """A fresh :class:`Suspects` of this case's replays, for one judge."""
        return Suspects(self.replays)


# --- checks in two parts around a case, so the verdict can be reached outside the student's kernel
# (the probe's observations as JSON data: ``observed.py``)

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
    """A check in two parts around its :class:`Case`: probe → judge.

    - ``probe(*student_objects, scenario, standins)`` runs the student's code on the case's
      scenario and returns what it produced, as JSON data (``plain``); only this part runs
      student code (``standins``: the case's stand-ins for trusted neurons or layers, or None);
    - ``judge(case, observed, reveal)`` compares that with the case and names mistakes.

    Calling the check, as a test cell does, runs both in one process on the case of its
    arguments (:func:`case_of`). The grader runs the probe in the student's kernel and the judge
    in its own process (``backprop_course.grader.verdicts``), so a kernel the student has
    tampered with cannot fake a pass; the hidden tests' cases never reach the kernel as text.

    title: what the check checks, in a few words ("backward() of an output neuron"): all that a
    failed hidden test says besides a mistake's code and message.
    """

    def __init__(self, name, objects, probe, judge, title):
        self.__name__ = self.name = name
        self.objects, self.probe, self.judge, self.title = objects, probe, judge, title
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
                case = case_of(self, args[self.objects:], arguments)
                observed = self.probe(*args[:self.objects], case.scenario, case.standins)
                self.judge(case, observed, reveal)
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


def case_of(check, args, kwargs):
    """The Case of a check call: the one ``make release`` recorded for these arguments (a public
    test), else the instructor's answers computing it (on the instructor's machine only)."""
    found = public.recorded(check.name, args, kwargs)
    if found is not None:
        return Case(**found)
    try:  # the instructor's answers are no part of the student's install: imported only where they are
        import answers
    except ImportError:
        raise WrongAnswer(f"{check.name} has no recorded case for these arguments: only the public tests, as "
                          "released, run in your notebook (hidden tests run when your work is graded).") from None
    return answers.case(check.name, args, kwargs)
