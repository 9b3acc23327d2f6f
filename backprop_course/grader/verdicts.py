"""Trusted verdicts: a test cell judged in the grader's process, not by the student's kernel.

nbgrader scores a test cell by whether the kernel reported an error. The kernel runs the
student's code, so a student can patch numpy, ``set_custom_exc``, hide tracebacks or
redefine the checks, and every test "passes". So after each graded test cell the grader
(:class:`backprop_course.grader.preprocessors.GradingExecute`) asks the kernel only for the
raw values the student's code produces (the check's *probe*, :func:`probe_code`); the *judge*
that compares them with the finite-difference oracle runs here (:func:`verdict`). If the
trusted verdict fails, the cell's outputs become that failure, whatever the kernel said.

Plain functions: parsing a cell's check calls, the code of a probe, reading its answer, and
the verdict. Running the probe in the kernel is the Execute preprocessor's job.
"""
from __future__ import annotations

import ast
import json

from nbformat.v4 import new_output

from ..checks.core import quiet
from ..checks.remote import MARK, REGISTRY


def check_calls(source):
    """The registered checks a test cell calls, in order: (check, object expressions, args, kwargs)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)):
        if isinstance(node.func, ast.Name) and node.func.id in REGISTRY:
            check = REGISTRY[node.func.id]
            objects = [ast.unparse(arg) for arg in node.args[:check.objects]]
            args = [ast.literal_eval(arg) for arg in node.args[check.objects:]]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            calls.append((check, objects, args, kwargs))
    return calls


def error_output(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def scenario(check, args, kwargs):
    """The case the check runs, as JSON data (computed here, never by the kernel)."""
    with quiet(Warning):
        return check.scenario(*args, **kwargs)


def probe_code(check, objects, case):
    """The code run in the student's kernel: the check's probe on the student's objects."""
    return (f"__import__('backprop_course.checks.remote', fromlist=['probe']).probe("
            f"{check.name!r}, lambda: ({', '.join(objects)},), {json.dumps(case)!r})")


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
