"""The package's rooms, read from its source: who imports whom, and that the README names them.

``backprop_course`` is laid out by where its code runs (README, "Architecture"). What the
student's kernel imports (``checks``) and what the lecture kernels import (``lectures``) must
not pull in the instructor's grader or the developer tools, and the lectures not the checks; the grader must not depend on the
tools; and no module of the package may import the test suite.

    python tests/test_architecture.py    # prints module sizes and the import layers
"""
from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "backprop_course"
TESTS = ROOT / "tests"

#: room -> rooms it must never import
FORBIDDEN = {
    "checks": {"grader", "tools"},
    # the lectures run in every student's kernel and implement no exercise: nor may they import the
    # checks' reference or oracle (tests/test_no_answers_in_lectures.py runs their callables against them)
    "lectures": {"grader", "tools", "checks"},
    "grader": {"tools"},
}


def modules(package=PACKAGE):
    """{dotted module name: path} of every module of the package."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name, path):
    """Every module name an import statement of the module mentions, wherever the statement
    is (top level or inside a function), relative imports made absolute. ``from a import b``
    yields both ``a`` and ``a.b``, since ``b`` may be a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def room(name):
    """The room of a module of the package: ``backprop_course.grader.sandbox.policy`` -> ``grader``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


def rooms():
    """The package's subpackages: its rooms."""
    return sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def layers():
    """{room: {room it imports: [(importing module, imported module)]}}, within the package."""
    ours = modules()
    out = defaultdict(lambda: defaultdict(list))
    for name, path in ours.items():
        for target in sorted(imported(name, path)):
            if target in ours and room(target) != room(name):
                out[room(name)][room(target)].append((name, target))
    return out


def test_no_room_imports_what_it_must_not():
    found = layers()
    wrong = [f"{module} imports {target}" for source, banned in FORBIDDEN.items()
             for target_room in banned for module, target in found[source].get(target_room, [])]
    assert not wrong, "\n".join(wrong)


#: modules of the package that may import the instructor's answers (answers/, never installed), and why
IMPORT_ANSWERS = {
    "backprop_course.checks.core": "a call with no recorded case is computed by the answers, where they exist",
    "backprop_course.grader.answerbook": "the grader loads a course's answers from its root",
}


def test_only_the_sanctioned_modules_import_the_answers():
    """The answers are an answer to every exercise: the kernels' rooms and the grader reach them
    only where named (the developer tools may: they build classes from the catalogue)."""
    wrong = [name for name, path in modules().items() if room(name) != "tools" and name not in IMPORT_ANSWERS
             and any(m == "answers" or m.startswith("answers.") for m in imported(name, path))]
    assert not wrong, f"these import answers/: {wrong}"


def test_the_import_check_sees_a_forbidden_import(tmp_path):
    """The check above can fail: a checks module that imports the grader is caught."""
    fake = tmp_path / "backprop_course"
    for folder in ("checks", "grader"):
        (fake / folder).mkdir(parents=True)
        (fake / folder / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "checks" / "core.py").write_text("def f():\n    from ..grader import pipeline\n")
    (fake / "grader" / "pipeline.py").write_text("")
    found = {name: imported(name, path) for name, path in modules(fake).items()}
    assert "backprop_course.grader.pipeline" in found["backprop_course.checks.core"]


#: the one module that loads code by path: the course's answers, course content beside source/
LOADS_BY_PATH = {"backprop_course.grader.answerbook"}


def test_nothing_in_the_package_imports_the_tests():
    test_modules = {p.stem for p in TESTS.glob("*.py")} | {"tests"}
    wrong = []
    for name, path in modules().items():
        wrong += [f"{name} imports {m}" for m in imported(name, path) if m.split(".")[0] in test_modules]
        if loads_by_path(path.read_text()) and name not in LOADS_BY_PATH:
            wrong.append(f"{name} loads code by path")
    assert not wrong, "\n".join(wrong)


def loads_by_path(source):
    """Does this code load code by path: importlib's spec_from_file_location, runpy, or a change
    to sys.path? Read from its syntax, so that code it only holds as text (the kernel's startup
    line in sandbox/policy.py, run inside the sandbox) does not count."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "spec_from_file_location":
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if any(n.split(".")[0] == "runpy" for n in names) or \
                    (isinstance(node, ast.ImportFrom) and any(a.name == "spec_from_file_location" for a in node.names)):
                return True
        if isinstance(node, ast.Attribute) and node.attr in ("insert", "append") and ast.unparse(node.value) == "sys.path":
            return True
    return False


@pytest.mark.parametrize("source, loads", [
    ("import importlib.util\nimportlib.util.spec_from_file_location('m', 'm.py')", True),
    ("import runpy", True),
    ("import sys\nsys.path.insert(0, 'x')", True),
    ("STARTUP = \"import sys; sys.path.append('')\"", False),
])
def test_the_path_loading_check_can_fail(source, loads):
    assert loads_by_path(source) == loads


def test_the_readme_names_every_room():
    """The README's Architecture section names exactly the package's rooms, with their folders."""
    readme = (ROOT / "docs" / "architecture.md").read_text()  # the guide's page (issue 26)
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`backprop_course/(\w+)/`", section))
    assert named == set(rooms()), f"README names {sorted(named)}, the package has {sorted(rooms())}"
    for row in re.findall(r"^\| `backprop_course/([\w/]+)/` .*$", section, flags=re.M):
        assert (PACKAGE / row / "__init__.py").is_file(), f"README names backprop_course/{row}/, which is not a package"
    for folder, row in re.findall(r"^\| `backprop_course/([\w/]+)/` (.*)$", section, flags=re.M):
        holds = row.strip().strip("|").split(" | ")[-1]  # the table's last column: what the room holds
        for module in re.findall(r"`(\w+)\.py`", holds):
            assert (PACKAGE / folder / f"{module}.py").is_file(), f"README names {module}.py in backprop_course/{folder}/"


def sizes():
    """{module: lines} of every module of the package."""
    return {name: len(path.read_text().splitlines()) for name, path in modules().items()}


if __name__ == "__main__":
    for name, lines in sorted(sizes().items(), key=lambda item: -item[1]):
        print(f"{lines:5d}  {name}")
    print()
    for source, targets in sorted(layers().items()):
        print(f"{source} -> " + ", ".join(f"{t} ({len(pairs)})" for t, pairs in sorted(targets.items())))
    sys.exit(0)
