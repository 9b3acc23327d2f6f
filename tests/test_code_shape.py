"""The code's shape (issue 26): small modules, documented public names.

A module of code holds at most ``MAX_LINES`` lines; data (a module of literals only, or a file)
may be longer. Every public function, method and class, a name without a leading underscore, has
a docstring. Tests and notebooks are not checked here.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backprop_course", "answers")
MAX_LINES = 400


def modules():
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def is_data(tree):
    """A module of literals: a docstring, imports, and assignments of literal values only."""
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            try:
                ast.literal_eval(node.value)
                continue
            except ValueError:
                return False
        return False
    return True


def public_undocumented(tree):
    """(line, name) of each public function, method or class without a docstring (nested functions
    inside functions are private to them and not counted)."""
    found = []

    def visit(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if not node.name.startswith("_") and ast.get_docstring(node) is None:
                    found.append((node.lineno, prefix + node.name))
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    visit(node.body, prefix + node.name + ".")

    visit(tree.body, "")
    return found


def test_no_module_of_code_is_over_the_limit():
    over = []
    for path in modules():
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_LINES and not is_data(ast.parse(text)):
            over.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not over, f"modules of code over {MAX_LINES} lines (split them by what each part does):\n" + "\n".join(over)


def test_every_public_function_and_class_has_a_docstring():
    missing = [f"{path.relative_to(ROOT)}:{line} {name}"
               for path in modules() for line, name in public_undocumented(ast.parse(path.read_text()))]
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    pass\n", [(1, "f")]),
    ('def f():\n    "Doc."\n', []),
    ("def _f():\n    pass\n", []),
    ('class C:\n    "Doc."\n    def m(self):\n        pass\n', [(3, "C.m")]),
    ('def f():\n    "Doc."\n    def inner():\n        pass\n', []),
])
def test_the_docstring_rule_can_fail(source, expected):
    assert public_undocumented(ast.parse(source)) == expected


def test_the_size_rule_tells_data_from_code():
    assert is_data(ast.parse('"""Doc."""\nX = {"a": [1, 2]}\nY: int = 3\n'))
    assert not is_data(ast.parse("X = 1\ndef f():\n    return X\n"))
    assert not is_data(ast.parse("X = len('a')\n"))
