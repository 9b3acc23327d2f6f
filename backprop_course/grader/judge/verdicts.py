"""Trusted verdicts: a test cell judged in the grader's process, not by the student's kernel.

nbgrader scores a test cell by whether its outputs hold an error. The kernel runs the
student's code, so a student can patch numpy, ``set_custom_exc``, hide tracebacks or
redefine the checks, and every test run there "passes". So at grading a test cell does not run
in the kernel at all: the grader (:class:`backprop_course.grader.run.preprocessors.GradingExecute`)
asks the kernel only for the raw values the student's code produces (the check's *probe*,
:func:`probe_code`), after the notebook's last cell; the *judge* that compares them with the case
the course's answers computed (:func:`case_of`) runs here (:func:`verdict`), and the grader
writes the cell's outputs (:func:`outputs`).

Hidden tests never reach the kernel as text: a hidden call's scenario, derived from the course
secret, travels only inside its probe, after every cell has run. What a failed hidden test says
is fixed text (:func:`hidden_failure`): the check's title, a known mistake's code and message,
never a number, an input or anything the student's code returned.

Fail-closed: :func:`read_cell` accepts a graded test cell only in the one form whose every
statement the grader can judge or knows to be harmless: ``from backprop_course.checks.<module>
import check_x`` (no alias), calls ``check_x(<student objects>, <literal arguments>)``, and
``print`` of literals. Anything else (a plain ``assert``, an aliased import, ``checks.check_x(…)``,
a computed argument, a function that is not a check) would be judged by the kernel alone, so
:func:`read_cell` names it as a problem: ``make release`` refuses the cell, and at grading the
cell alone fails (:func:`uncovered`). A cell the instructor wants judged by the kernel alone
says so with the line :data:`KERNEL_ONLY`; it is listed wherever coverage is reported.

Plain functions: reading a cell, the code of a probe, reading its answer, and the verdict.
Running the probe in the kernel is the Execute preprocessor's job.
"""
from __future__ import annotations

import ast
import builtins
import json
import secrets
import threading
from dataclasses import dataclass, field

from nbformat.v4 import new_output

from ...checks.core import Check, quiet
from ...checks.mistakes import CODES, MISTAKES
from ...checks.remote import MARK
from .statements import CHECKS_PACKAGE, call_parts, harmless, hidden_lines, import_checks, printed, snippet

#: a line of a test cell that has it judged by the student's kernel alone (listed, never silent)
KERNEL_ONLY = "# verdict: kernel only"
#: the most the grader reads of one probe's answer, and how deep its data may nest
MAX_ANSWER_CHARS, MAX_DEPTH = 2_000_000, 12


@dataclass(frozen=True)
class Call:
    """One check call of a test cell: the check, the code of the student objects it is given
    (evaluated in the kernel), and its literal arguments."""

    check: Check
    objects: tuple       # source of each student object, e.g. ("Neuron",)
    args: tuple
    kwargs: dict
    line: int
    hidden: bool = False  # between the hidden-test markers: judged here only, on the secret's inputs
    source: str = ""      # the call as written (what a failed public test shows of it)

    @property
    def module(self):
        """The module that defines the check, e.g. backprop_course.checks.backprop."""
        return self.check.module


@dataclass
class CellReading:
    """What the grader makes of a graded test cell."""

    calls: list = field(default_factory=list)      # [Call], in order
    problems: list = field(default_factory=list)   # ["line 3: `assert …` is judged by the kernel alone", ...]
    kernel_only: bool = False                      # the cell carries KERNEL_ONLY
    printed: list = field(default_factory=list)    # [(line, text)] of its prints of literals, in order

    @property
    def covered(self):
        """Every statement is judged here (or harmless), and there is something to judge."""
        return not self.problems and bool(self.calls)


def _check_call(node, source, imported, problems):
    """The Call of an expression statement calling an imported check, or None (with a problem)."""
    parts = call_parts(node, source, imported, problems)
    return None if parts is None else Call(**parts)


#: one parse at a time: CPython 3.11's ast.parse, run in two threads at once (the preflight's, a
#: Dask worker's), can raise "SystemError: AST constructor recursion depth mismatch" (gh-106905)
_PARSING = threading.Lock()


def read_cell(source):
    """What the grader can judge of a graded test cell's ``source`` (hidden tests included)."""
    reading = CellReading(kernel_only=any(line.strip() == KERNEL_ONLY for line in source.splitlines()))
    try:
        with _PARSING:
            tree = ast.parse(source)
    except SyntaxError as error:
        reading.problems.append(f"line {error.lineno}: a syntax error ({error.msg})")
        return reading
    imported, hidden = {}, hidden_lines(source)
    if reading.kernel_only and hidden:
        reading.problems.append(f"it is judged by the kernel alone ({KERNEL_ONLY}) and holds hidden tests, which the "
                                "kernel would then see: move them to a cell the grader judges")
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            import_checks(node, source, imported, reading.problems)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and not harmless(node):
            call = _check_call(node.value, source, imported, reading.problems)
            if call is not None and node.lineno in hidden:
                call = _hidden(call, source, node, reading.problems)
            if call is not None:
                reading.calls.append(call)
        elif not harmless(node):
            reading.problems.append(f"line {node.lineno}: `{snippet(node, source)}` is judged by the student's "
                                    "kernel alone, which the student's code controls")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            try:
                reading.printed.append((node.lineno, printed(node)))
            except (TypeError, ValueError) as error:  # print(sep=3), say
                reading.problems.append(f"line {node.lineno}: `{snippet(node, source)}` cannot print ({error})")
    if not reading.calls and not reading.problems:
        reading.problems.append("it calls no check: nothing in it can fail, or be judged by the grader")
    return reading


def _hidden(call, source, node, problems):
    """The call, marked hidden; None (with a problem) if it has no seed for the secret to replace."""
    if "seed" not in call.kwargs:
        problems.append(f"line {node.lineno}: the hidden test `{snippet(node, source)}` takes no `seed=`: its inputs "
                        "would be the ones written in source/, so name a scenario by a seed (the grader runs one "
                        "derived from it and the course secret)")
        return None
    return Call(call.check, call.objects, call.args, call.kwargs, call.line, hidden=True)


def uncovered(cells):
    """[(grade_id, [problems])] of the graded test cells of ``cells`` that are neither covered
    by trusted verdicts nor marked KERNEL_ONLY; and [grade_id] of the marked ones."""
    refused, kernel_only = [], []
    for cell in cells:
        if not is_test_cell(cell):
            continue
        reading = read_cell(cell.source)
        grade_id = cell.metadata["nbgrader"].get("grade_id", "?")
        if reading.kernel_only:
            kernel_only.append(grade_id)
        elif not reading.covered:
            refused.append((grade_id, reading.problems))
    return refused, kernel_only


def is_test_cell(cell):
    """An autograded test cell: a graded code cell that is not a solution."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and nbgrader.get("grade", False) and not nbgrader.get("solution", False)


def refusal(notebook, refused):
    """The message that names each refused cell of ``notebook`` and why."""
    lines = [f"{notebook}: {len(refused)} graded test cell(s) the grader cannot judge on its own "
             "(their verdict would come from the student's kernel, which the student's code controls):"]
    for grade_id, problems in refused:
        lines += [f"  cell {grade_id}:"] + [f"    {p}" for p in problems]
    lines.append(f"Write each as `from {CHECKS_PACKAGE}.<module> import check_x` and calls `check_x(Object, "
                 f"literal=…)`, or, to have a cell judged by the student's kernel alone on purpose, give it "
                 f"the line `{KERNEL_ONLY}`.")
    return "\n".join(lines)


def error_output(ename, evalue):
    """An error output of ``ename``: ``evalue``, its traceback that one line (nothing of the grader's own frames)."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def cannot_judge(problems):
    """The error output of a test cell the grader cannot judge: it fails, and says why."""
    return error_output("UngradableTestCell", "The grader cannot judge this test cell on its own, so it scores "
                        "nothing (tell your instructor): " + "; ".join(problems))


def case_of(call, answers, secret=None):
    """The Case of a call, computed here by the course's ``answers``: a hidden call on the
    arguments the course ``secret`` derives from the ones written (never run by the kernel)."""
    args, kwargs = call.args, {k: v for k, v in call.kwargs.items() if k != "reveal"}
    if call.hidden:
        if secret is None:
            raise ValueError("a hidden test needs the course secret")
        args, kwargs = answers.hidden_arguments(secret, call.check.name, args, kwargs)
    with quiet(Warning):
        return answers.case(call.check.name, args, kwargs)


def probe_code(call, case, nonce):
    """The code run in the student's kernel: the check's probe on the student's objects, its
    answer marked with ``nonce``."""
    return (f"__import__('backprop_course.checks.remote', fromlist=['probe']).probe("
            f"{call.module!r}, {call.check.name!r}, lambda: ({', '.join(call.objects)},), "
            f"{json.dumps(case.scenario)!r}, {json.dumps(case.standins)!r}, {nonce!r})")


def new_nonce():
    """What marks one probe's answer: the kernel learns it only with the probe."""
    return secrets.token_hex(8)


class Unreadable(ValueError):
    """A probe's output that is no one answer of that probe: the message says what it was."""


class AnswerReader:
    """Reads a probe's stdout as it arrives, keeping only the lines its nonce marks (at most
    MAX_ANSWER_CHARS of each, and only while there are at most two): whatever else the kernel
    prints meanwhile, however much, is dropped and never held."""

    def __init__(self, nonce):
        self.mark, self.lines, self._partial, self._keep = f"{MARK}{nonce} ", [], "", True

    def feed(self, text):
        """Take the next ``text`` of the probe's stdout: keep the lines the mark starts, drop the rest as it comes."""
        chunks = str(text).split("\n")
        for i, chunk in enumerate(chunks):
            if self._keep:
                self._partial = (self._partial + chunk)[:MAX_ANSWER_CHARS + len(self.mark) + 1]
            if i < len(chunks) - 1:  # a line ends here
                if self._keep and self._partial.startswith(self.mark) and len(self.lines) < 2:
                    self.lines.append(self._partial)
                self._partial, self._keep = "", True
            elif self._keep and not (self.mark.startswith(self._partial) or self._partial.startswith(self.mark)):
                self._partial, self._keep = "", False  # this line is no answer: drop the rest of it as it comes

    def observed(self):
        """The one answer, as data (see :func:`read_answer`)."""
        lines = self.lines + ([self._partial] if self._keep and self._partial.startswith(self.mark) else [])
        return read_answer(lines, self.mark)


def observation(outputs, nonce):
    """What the probe printed in ``outputs`` (stream outputs, as nbclient stores them): its one
    answer marked with ``nonce``, as data (see :func:`read_answer`)."""
    reader = AnswerReader(nonce)
    for out in outputs:
        if out.get("output_type") == "stream":
            reader.feed(out.get("text", ""))
    return reader.observed()


def read_answer(lines, mark):
    """The answer of the lines that carry the probe's ``mark``, as data.

    Raises Unreadable when there is none, more than one (the student's code printed the mark
    too), or one the grader will not read (too long, too deep, not JSON, not an object).
    """
    if not lines:
        raise Unreadable("the grader could not read your code's results (did it replace print, sys.stdout or the "
                         "kernel's output?)")
    if len(lines) > 1:
        raise Unreadable("your code's results came more than once: something printed the grader's mark itself")
    text = lines[0][len(mark):]
    if len(text) > MAX_ANSWER_CHARS:
        raise Unreadable(f"your code's results are too large to judge (over {MAX_ANSWER_CHARS:,} characters)")
    try:
        observed = json.loads(text)
    except (ValueError, RecursionError):
        raise Unreadable("your code's results could not be read (not the probe's own output)") from None
    if not isinstance(observed, dict) or not _shallow(observed, MAX_DEPTH):
        raise Unreadable(f"your code's results have an unexpected form (nested deeper than {MAX_DEPTH} levels?)")
    return observed


def _shallow(value, limit):
    """Whether JSON data nests at most ``limit`` levels (without recursion: the data is the student's)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def verdict(check, case, observed, reveal=False, hidden=False):
    """None if the check passes on what the probe observed (or the Unreadable it was), else the
    error output that replaces the cell's: for a hidden call, the fixed text of :func:`hidden_failure`."""
    failure, code, raised = _failure(check, case, observed, reveal and not hidden)
    if failure is None or not hidden:
        return failure
    return hidden_failure(check, code, raised)


def _failure(check, case, observed, reveal):
    """(error output, the mistake's code or None, the type name the student's code raised or None)."""
    if isinstance(observed, Unreadable):
        return error_output("WrongAnswer", f"{observed}."), None, None
    if "raised" in observed:
        raised = str(observed["raised"])[:500]
        return error_output("WrongAnswer", f"Running your code raised {raised}"), None, raised.split(":")[0]
    try:
        with quiet(Warning):
            check.judge(case, observed["observed"], reveal)
    except AssertionError as failure:
        return error_output(type(failure).__name__, str(failure)), getattr(failure, "code", None), None
    except Exception as failure:  # a malformed observation is the student's code's doing
        return error_output("WrongAnswer", f"Your code's results have an unexpected form: {str(failure)[:300]}"), None, None
    return None, None, None


def hidden_failure(check, code=None, raised=None):
    """What a failed hidden test shows: which check failed and, for a known mistake or a structural
    diagnosis, its code and message (fixed text, ``checks.mistakes``); never an input, an expected
    value, or anything the student's code returned (an error's type is named only when it is one
    of Python's own)."""
    where = f"The hidden test of {check.title} fails"
    if code in CODES:
        return error_output("Mistake" if code in MISTAKES else "WrongAnswer", f"{where}: [{code}] {CODES[code]}")
    if raised is not None:
        what = raised if isinstance(getattr(builtins, raised, None), type) else "an exception"
        return error_output("WrongAnswer", f"{where}: your code raised {what}. (Hidden tests show no inputs or "
                            "values: try your code on other numbers than the public tests'.)")
    return error_output("WrongAnswer", f"{where}: a result is wrong. (Hidden tests show no inputs or values: try "
                        "your code on other numbers than the public tests'.)")


def outputs(reading, failures):
    """A judged test cell's outputs, as the grader writes them (the kernel never runs a test cell):
    what its prints of literals write, in order, up to the first failed call, whose failure ends them.

    failures: {call's index in reading.calls: its error output}.
    """
    steps = sorted([(line, "print", text) for line, text in reading.printed] +
                   [(call.line, "call", index) for index, call in enumerate(reading.calls)], key=lambda step: step[0])
    written = []
    for _, kind, what in steps:
        if kind == "print":
            written.append(new_output("stream", name="stdout", text=what))
        elif what in failures:
            written.append(failures[what])
            break
    merged = []  # consecutive prints in one stream, as a kernel's output would be
    for out in written:
        if merged and out.output_type == "stream" and merged[-1].output_type == "stream":
            merged[-1].text += out.text
        else:
            merged.append(out)
    return merged


def where(call, failure):
    """A failed public test's output with the test's line added, as the student's kernel shows it."""
    if call.hidden:
        return failure
    failure.traceback = failure.traceback + [f"\x1b[0;36m(the test's line {call.line}: {call.source})\x1b[0m"]
    return failure
