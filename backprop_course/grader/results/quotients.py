"""Numerical differentiation in a student's cell, read with ``ast``: the steps a cell binds to a
small number and the finite differences ``(a - b) / step`` it computes (an integrity note of
:mod:`.integrity` where an exercise asks for an analytic derivative).
"""
from __future__ import annotations

import ast


#: a number at most this large, divided by, is a finite-difference step
SMALL_STEP = 1e-3


def is_small(node):
    """Is ``node`` a literal number with 0 < |x| ≤ SMALL_STEP (a step of a finite difference)?"""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
            and 0 < abs(node.value) <= SMALL_STEP)


def step_names(nodes):
    """The names the cell (``nodes``: all of its tree's) binds to a small number: ``h = 1e-5``, or a
    parameter ``h=1e-5``."""
    names = set()
    for node in nodes:
        if isinstance(node, ast.Assign) and is_small(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and node.value is not None and is_small(node.value) \
                and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.arguments):
            positional = [*node.posonlyargs, *node.args]
            for arg, default in zip(positional[len(positional) - len(node.defaults):], node.defaults):
                if is_small(default):
                    names.add(arg.arg)
            for arg, default in zip(node.kwonlyargs, node.kw_defaults):
                if default is not None and is_small(default):
                    names.add(arg.arg)
    return names


def is_step(node, steps):
    """Is ``node`` a step alone, up to a constant factor: ``h``, ``2 * h``, ``1e-5``, ``h + h``?"""
    if is_small(node) or (isinstance(node, ast.Name) and node.id in steps):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add)):
        number = (lambda n: isinstance(n, ast.Constant) and isinstance(n.value, (int, float)))
        left, right = node.left, node.right
        return (is_step(left, steps) and (number(right) or is_step(right, steps))) or (number(left) and is_step(right, steps))
    return False


def is_difference_quotient(node, steps):
    """``(a - b) / step``: a finite difference."""
    return isinstance(node.op, ast.Div) and isinstance(node.left, ast.BinOp) and isinstance(node.left.op, ast.Sub) \
        and is_step(node.right, steps)
