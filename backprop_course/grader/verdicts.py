"""Trusted verdicts: a test cell judged in the grader's process, not by the student's kernel.

nbgrader scores a test cell by whether the kernel reported an error. The kernel runs the
student's code, so a student can patch numpy, ``set_custom_exc``, hide tracebacks or
redefine the checks, and every test "passes". So after each graded test cell the grader
(:class:`backprop_course.grader.preprocessors.GradingExecute`) asks the kernel only for the
raw values the student's code produces (the check's *probe*, :func:`probe_code`); the *judge*
that compares them with the finite-difference oracle runs here (:func:`verdict`). If the
trusted verdict fails, the cell's outputs become that failure, whatever the kernel said.

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
import importlib
import json
from dataclasses import dataclass, field

from nbformat.v4 import new_output

from ..checks.core import Check, quiet
from ..checks.remote import MARK

#: the package whose modules hold the checks a test cell may import
CHECKS_PACKAGE = "backprop_course.checks"
#: a line of a test cell that has it judged by the student's kernel alone (listed, never silent)
KERNEL_ONLY = "# verdict: kernel only"


@dataclass(frozen=True)
class Call:
    """One check call of a test cell: the check, the code of the student objects it is given
    (evaluated in the kernel), and its literal arguments."""

    check: Check
    objects: tuple       # source of each student object, e.g. ("Neuron",)
    args: tuple
    kwargs: dict
    line: int

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

    @property
    def covered(self):
        """Every statement is judged here (or harmless), and there is something to judge."""
        return not self.problems and bool(self.calls)


def _snippet(node, source):
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _literal(node):
    """The value of a literal argument; ValueError if it is computed."""
    return ast.literal_eval(node)


def _is_object(node):
    """A student object as a check takes it: a name, or attributes of one (``net.layer``)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _import_checks(node, source, imported, problems):
    if node.level or not node.module or not (node.module == CHECKS_PACKAGE or node.module.startswith(CHECKS_PACKAGE + ".")):
        problems.append(f"line {node.lineno}: `{_snippet(node, source)}` imports something other than the checks "
                        f"(only `from {CHECKS_PACKAGE}.<module> import check_x` belongs in a graded test cell)")
        return
    try:
        module = importlib.import_module(node.module)
    except Exception as error:  # noqa: BLE001 (any import failure is the cell's problem, named)
        problems.append(f"line {node.lineno}: the grader cannot import {node.module} ({type(error).__name__}: {error})")
        return
    for alias in node.names:
        check = getattr(module, alias.name, None)
        if not isinstance(check, Check):
            problems.append(f"line {node.lineno}: {node.module}.{alias.name} is not a check (a Check of "
                            f"{CHECKS_PACKAGE}), so the grader could not judge a call to it")
        elif alias.asname and alias.asname != alias.name:
            problems.append(f"line {node.lineno}: the aliased import `{alias.name} as {alias.asname}`: import "
                            f"the check under its own name, `from {node.module} import {alias.name}`")
        else:
            imported[alias.name] = check


def _check_call(node, source, imported, problems):
    """The Call of an expression statement calling an imported check, or None (with a problem) if it cannot be judged."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else None
    if name not in imported:
        what = f"`{_snippet(node, source)}`"
        if isinstance(func, ast.Attribute) and func.attr.startswith("check_"):
            problems.append(f"line {node.lineno}: {what} calls a check through a module: import it by name "
                            f"(`from {CHECKS_PACKAGE}.<module> import {func.attr}`) and call `{func.attr}(…)`")
        else:
            problems.append(f"line {node.lineno}: {what} is not a call of an imported check, so only the student's "
                            "kernel would judge it")
        return None
    check = imported[name]
    if any(isinstance(arg, ast.Starred) for arg in node.args) or any(k.arg is None for k in node.keywords):
        problems.append(f"line {node.lineno}: `{_snippet(node, source)}` unpacks its arguments (* or **): "
                        "write each one out as a literal")
        return None
    objects, rest = node.args[:check.objects], node.args[check.objects:]
    if len(objects) < check.objects or not all(_is_object(arg) for arg in objects):
        problems.append(f"line {node.lineno}: {name} takes the student's {check.objects} object(s) first, "
                        f"each a name (like `Neuron`), in `{_snippet(node, source)}`")
        return None
    try:
        args = tuple(_literal(arg) for arg in rest)
        kwargs = {k.arg: _literal(k.value) for k in node.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        problems.append(f"line {node.lineno}: `{_snippet(node, source)}` has a computed argument: the grader "
                        "runs the scenario itself and accepts only literals (numbers, strings, lists, ...)")
        return None
    return Call(check, tuple(ast.unparse(arg) for arg in objects), args, kwargs, node.lineno)


def _harmless(node):
    """A statement that can make no test pass or fail: pass, a docstring, print of literals."""
    if isinstance(node, ast.Pass):
        return True
    if not isinstance(node, ast.Expr):
        return False
    value = node.value
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print":
        try:
            for arg in [*value.args, *(k.value for k in value.keywords)]:
                _literal(arg)
        except (ValueError, TypeError, SyntaxError):
            return False
        return True
    return False


def read_cell(source):
    """What the grader can judge of a graded test cell's ``source`` (hidden tests included)."""
    reading = CellReading(kernel_only=any(line.strip() == KERNEL_ONLY for line in source.splitlines()))
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        reading.problems.append(f"line {error.lineno}: a syntax error ({error.msg})")
        return reading
    imported = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            _import_checks(node, source, imported, reading.problems)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and not _harmless(node):
            call = _check_call(node.value, source, imported, reading.problems)
            if call is not None:
                reading.calls.append(call)
        elif not _harmless(node):
            reading.problems.append(f"line {node.lineno}: `{_snippet(node, source)}` is judged by the student's "
                                    "kernel alone, which the student's code controls")
    if not reading.calls and not reading.problems:
        reading.problems.append(f"it calls no check: nothing in it can fail, or be judged by the grader")
    return reading


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
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def cannot_judge(problems):
    """The error output of a test cell the grader cannot judge: it fails, and says why."""
    return error_output("UngradableTestCell", "The grader cannot judge this test cell on its own, so it scores "
                        "nothing (tell your instructor): " + "; ".join(problems))


def scenario(call):
    """The case the check runs, as JSON data (computed here, never by the kernel)."""
    with quiet(Warning):
        return call.check.scenario(*call.args, **call.kwargs)


def probe_code(call, case):
    """The code run in the student's kernel: the check's probe on the student's objects."""
    return (f"__import__('backprop_course.checks.remote', fromlist=['probe']).probe("
            f"{call.module!r}, {call.check.name!r}, lambda: ({', '.join(call.objects)},), {json.dumps(case)!r})")


def observation(outputs):
    """What the probe printed (its last MARK line, as data), or None if it printed nothing readable."""
    lines = [line for out in outputs if out.output_type == "stream"
             for line in out.get("text", "").splitlines() if line.startswith(MARK)]
    try:
        observed = json.loads(lines[-1][len(MARK):]) if lines else None
    except ValueError:  # the student's code printed the mark itself
        return None
    return observed if isinstance(observed, dict) else None


def verdict(check, case, observed, reveal=False):
    """None if the check passes on what the probe observed, else the error output that replaces the cell's."""
    if observed is None:
        return error_output("WrongAnswer", "The grader could not read your code's results "
                            "(did it replace print, sys.stdout or the kernel's output?).")
    if "raised" in observed:
        return error_output("WrongAnswer", f"Running your code raised {observed['raised']}")
    try:
        with quiet(Warning):
            check.judge(case, observed["observed"], reveal)
    except AssertionError as failure:
        return error_output(type(failure).__name__, str(failure))
    except Exception as failure:  # a malformed observation is the student's code's doing
        return error_output("WrongAnswer", f"Your code's results have an unexpected form: {failure}")
    return None


def overrule(cell, failure):
    """The cell's outputs once a trusted verdict failed. If the kernel claims a pass, keep what
    the student printed, not the ✓ lines; if it reported an error itself, keep its outputs."""
    if not any(o.output_type == "error" for o in cell.outputs):
        kept = [o for o in cell.outputs if o.output_type == "stream" and o.get("name") == "stdout"
                and "✓" not in o.get("text", "")]
        cell.outputs = kept + [failure]
