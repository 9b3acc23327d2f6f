"""The statements a graded test cell may hold, read with ``ast`` and never run: imports of the
checks, calls of a check on the student's objects with literal arguments, and harmless ones
(pass, a docstring, a print of literals). :mod:`.verdicts` reads a cell with them.
"""
from __future__ import annotations

import ast
import importlib
import io

from ...checks.core import Check

#: the package whose modules hold the checks a test cell may import
CHECKS_PACKAGE = "backprop_course.checks"
#: the lines around a test cell's hidden tests (nbgrader's ClearHiddenTests markers)
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def snippet(node, source):
    """The statement ``node`` of ``source`` on one line, cut to 60 characters (for a message)."""
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def literal(node):
    """The value of a literal argument; ValueError if it is computed."""
    return ast.literal_eval(node)


def is_student_object(node):
    """A student object as a check takes it: a name, or attributes of one (``net.layer``)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def import_checks(node, source, imported, problems):
    """Read ``from backprop_course.checks.<module> import check_x`` (``node``): each check it
    imports into ``imported`` ({name: Check}), or a line of ``problems`` saying why not."""
    if node.level or not node.module or not (node.module == CHECKS_PACKAGE or node.module.startswith(CHECKS_PACKAGE + ".")):
        problems.append(f"line {node.lineno}: `{snippet(node, source)}` imports something other than the checks "
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


def call_parts(node, source, imported, problems):
    """What makes a Call (:class:`.verdicts.Call`'s fields, as a dict) of an expression statement
    calling an imported check, or None (with a problem) if it cannot be judged."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else None
    if name not in imported:
        what = f"`{snippet(node, source)}`"
        if isinstance(func, ast.Attribute) and func.attr.startswith("check_"):
            problems.append(f"line {node.lineno}: {what} calls a check through a module: import it by name "
                            f"(`from {CHECKS_PACKAGE}.<module> import {func.attr}`) and call `{func.attr}(…)`")
        else:
            problems.append(f"line {node.lineno}: {what} is not a call of an imported check, so only the student's "
                            "kernel would judge it")
        return None
    check = imported[name]
    if any(isinstance(arg, ast.Starred) for arg in node.args) or any(k.arg is None for k in node.keywords):
        problems.append(f"line {node.lineno}: `{snippet(node, source)}` unpacks its arguments (* or **): "
                        "write each one out as a literal")
        return None
    objects, rest = node.args[:check.objects], node.args[check.objects:]
    if len(objects) < check.objects or not all(is_student_object(arg) for arg in objects):
        problems.append(f"line {node.lineno}: {name} takes the student's {check.objects} object(s) first, "
                        f"each a name (like `Neuron`), in `{snippet(node, source)}`")
        return None
    try:
        args = tuple(literal(arg) for arg in rest)
        kwargs = {k.arg: literal(k.value) for k in node.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        problems.append(f"line {node.lineno}: `{snippet(node, source)}` has a computed argument: the grader "
                        "runs the scenario itself and accepts only literals (numbers, strings, lists, ...)")
        return None
    return dict(check=check, objects=tuple(ast.unparse(arg) for arg in objects), args=args, kwargs=kwargs,
                line=node.lineno, source=" ".join((ast.get_source_segment(source, node) or ast.unparse(node)).split()))


def printed(node):
    """What a print of literals (a harmless statement) writes."""
    out = io.StringIO()
    print(*(literal(arg) for arg in node.value.args), **{k.arg: literal(k.value) for k in node.value.keywords},
          file=out)
    return out.getvalue()


def harmless(node):
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
                literal(arg)
        except (ValueError, TypeError, SyntaxError):
            return False
        return True
    return False


def hidden_lines(source):
    """The line numbers (from 1) inside the hidden-test blocks of ``source``, markers included."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), 1):
        if line.strip() == BEGIN_HIDDEN:
            inside = True
        if inside:
            lines.add(number)
        if line.strip() == END_HIDDEN:
            inside = False
    return lines
