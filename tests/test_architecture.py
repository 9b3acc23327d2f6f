"""The package's rooms, read from its source: who imports whom, and that the README names them.

``backprop_course`` is laid out by where its code runs (README, "Architecture"). Imports go
one way, down these layers (a room imports its own modules and the layers below it, never one
above, nor a sibling of its own layer):

    tools        a developer's shell: the bench, the site, the demo class, the hub
    answers      the instructor's answers (beside source/, never installed)
    grader       the instructor's grading process
    checks | lectures    what the student's kernel imports: the checks, the lectures (siblings:
                 neither imports the other)
    (package)    backprop_course's own modules (shared leaves, e.g. the palette)

The two sanctioned reaches upward, to the answers where they exist, are :data:`IMPORT_ANSWERS`.
Inside a room: no import loops; imports of the package's own modules at the top of a file (one
inside a function says why in a comment beside it); no private name (``_x``) of one module used
from another; nbgrader's private API only through ``grader/nbgrader_private.py``.

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
ANSWERS = ROOT / "answers"
TESTS = ROOT / "tests"

#: room -> its layer; a module imports only its own room and rooms of a lower layer
LAYER = {"(package)": 0, "checks": 1, "lectures": 1, "grader": 2, "answers": 3, "tools": 4}

#: modules of the package that may import the instructor's answers (answers/, never installed), and why
IMPORT_ANSWERS = {
    "backprop_course.checks.core": "a call with no recorded case is computed by the answers, where they exist",
    "backprop_course.grader.judge.answerbook": "the grader loads a course's answers from its root",
}

#: the one module through which the grader uses nbgrader's private API
NBGRADER_ADAPTER = "backprop_course.grader.nbgrader_private"


def modules(*roots):
    """{dotted module name: path} of every module under the package folders ``roots``."""
    found = {}
    for package in roots or (PACKAGE, ANSWERS):
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(package.parent).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


class Import:
    """One import statement's target: ``module`` (dotted, relative made absolute), the ``names``
    taken from it, its ``line``, whether it sits inside a function, and the comment beside it."""

    def __init__(self, module, names, line, in_function, comment):
        self.module, self.names, self.line, self.in_function, self.comment = module, names, line, in_function, comment


def imports(name, path):
    """Every import statement of the module ``name`` at ``path``, wherever it is."""
    source = path.read_text()
    lines = source.splitlines()
    found = []

    def comment(node):
        """The comment on the statement's lines, or on the line just above it."""
        text = "\n".join(lines[max(node.lineno - 2, 0):node.end_lineno])
        return text.split("#", 1)[1].strip() if "#" in text else ""

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(alias.name, [], child.lineno, in_function, comment(child)))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    base = base[:len(base) - child.level + 1]
                    module = ".".join(base + ([child.module] if child.module else []))
                else:
                    module = child.module
                found.append(Import(module, [a.name for a in child.names], child.lineno, in_function, comment(child)))
            visit(child, inside)

    visit(ast.parse(source, str(path)), False)
    return found


def imported(name, path):
    """Every module name an import statement of the module mentions, wherever the statement
    is (top level or inside a function), relative imports made absolute. ``from a import b``
    yields both ``a`` and ``a.b``, since ``b`` may be a module."""
    found = set()
    for one in imports(name, path):
        found.add(one.module)
        found |= {f"{one.module}.{n}" for n in one.names}
    return found


def room(name):
    """The room of a module: ``backprop_course.grader.run.sandbox.policy`` -> ``grader``,
    ``answers.oracle`` -> ``answers``, ``backprop_course.palette`` -> ``(package)``."""
    parts = name.split(".")
    if parts[0] == "answers":
        return "answers"
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else "(package)"


def rooms():
    """The package's subpackages: its rooms."""
    return sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def graph(ours, reaches=True):
    """{module: {module of ours it imports}}; without ``reaches``, the sanctioned imports of the
    answers (:data:`IMPORT_ANSWERS`: a reach up to them where they exist, not a dependency) left out."""
    edges = {}
    for name, path in ours.items():
        targets = set()
        for one in imports(name, path):
            submodules = {f"{one.module}.{n}" for n in one.names} & set(ours)
            # `from . import core` runs the package's __init__ only if it is not running already
            targets |= submodules | ({one.module} if len(submodules) < len(one.names) or not one.names else set())
        edges[name] = {m for m in targets if m in ours and m != name
                       and (reaches or name not in IMPORT_ANSWERS or room(m) != "answers")}
    return edges


def layers():
    """{room: {room it imports: [(importing module, imported module)]}}, within the package."""
    ours = modules(PACKAGE)
    out = defaultdict(lambda: defaultdict(list))
    for name, path in ours.items():
        for target in sorted(imported(name, path)):
            if target in ours and room(target) != room(name):
                out[room(name)][room(target)].append((name, target))
    return out


def loops(ours):
    """The import loops among ``ours``: each a sorted list of the modules of one strongly
    connected component of the import graph (Tarjan's algorithm, iterative)."""
    edges = graph(ours, reaches=False)
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def upward(ours):
    """["<module> imports <module>"] for each import of a room above the importer's layer, or of
    a sibling room of its layer; the sanctioned reaches to the answers left out."""
    wrong = []
    for name, targets in graph(ours).items():
        for target in sorted(targets):
            source_room, target_room = room(name), room(target)
            if source_room == target_room or (target_room == "answers" and name in IMPORT_ANSWERS):
                continue
            if LAYER[target_room] >= LAYER[source_room]:
                wrong.append(f"{name} ({source_room}) imports {target} ({target_room})")
    return wrong


def lazy_without_reason(ours):
    """["<module>:<line> imports <module>"] for each import of a module of ours inside a function
    with no comment beside it (on its line, or the line above) saying why."""
    wrong = []
    for name, path in ours.items():
        for one in imports(name, path):
            targets = {one.module} | {f"{one.module}.{n}" for n in one.names}
            if one.in_function and targets & set(ours) and not one.comment:
                wrong.append(f"{name}:{one.line} imports {one.module} inside a function, saying not why")
    return wrong


def private_names_across(ours):
    """["<module>:<line> uses <module>._x"] for each private name (one leading underscore) of a
    module of ours used from another: imported by name, or read as an attribute of the module."""
    wrong = []
    for name, path in ours.items():
        aliases = {}  # local name -> module of ours it is bound to
        for one in imports(name, path):
            for n in one.names:
                if f"{one.module}.{n}" in ours:
                    aliases[n] = f"{one.module}.{n}"
                elif one.module in ours and n.startswith("_") and not n.startswith("__") and one.module != name:
                    wrong.append(f"{name}:{one.line} imports {one.module}.{n}")
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.asname and alias.name in aliases:
                        aliases[alias.asname] = aliases.pop(alias.name)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__") and aliases[node.value.id] != name):
                wrong.append(f"{name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    return wrong


def nbgrader_private_names():
    """The private names nbgrader 0.9.6 defines (functions, methods, classes, attributes set
    anywhere in its source), and traitlets' ``_instance``, which its applications carry."""
    import nbgrader

    names = {"_instance"}
    for path in Path(nbgrader.__file__).parent.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def nbgrader_private_uses(ours, private):
    """["<module>:<line> uses nbgrader's _x"] outside the adapter: an attribute ``._x`` read on
    anything but ``self``, ``cls`` or ``super()`` (a subclass's own hooks), a ``getattr``/``hasattr``
    of ``"_x"``, or ``from nbgrader... import _x``, where ``_x`` is one of nbgrader's private names."""
    wrong = []
    for name, path in ours.items():
        if name == NBGRADER_ADAPTER or not any(one.module.split(".")[0] == "nbgrader" for one in imports(name, path)):
            continue  # a module that never imports nbgrader holds none of its objects (answers' Value._prev is its own)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in private:
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                    continue
                wrong.append(f"{name}:{node.lineno} uses nbgrader's {node.attr}")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) > 1
                  and isinstance(node.args[1], ast.Constant) and node.args[1].value in private):
                wrong.append(f"{name}:{node.lineno} uses nbgrader's {node.args[1].value}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "nbgrader":
                wrong += [f"{name}:{node.lineno} imports nbgrader's {a.name}" for a in node.names if a.name in private]
    return wrong


# --- the rules, on the package and the answers, room by room ---

#: (rule, room) -> why it fails today: the other helpers of issue 26 (h-kernel: checks/, lectures/,
#: answers/; h-tools: tools/) fix these on their branches. Strict: once merged, the test passes
#: and the mark must go.
PENDING = {
}


def each_room(rule):
    """The rooms as test parameters, those whose ``rule`` waits for another branch marked so."""
    return [pytest.param(r, marks=pytest.mark.xfail(strict=True, reason=PENDING[rule, r])) if (rule, r) in PENDING
            else r for r in ["(package)", *rooms(), "answers"]]


def in_room(found, name_of, where):
    """The findings of ``found`` whose module (``name_of(finding)``) is in the room ``where``."""
    return [f for f in found if room(name_of(f)) == where]


def first_module(finding):
    """The module a finding of the rules below starts with: ``"<module>[:<line>] ..."``."""
    return finding.split(" ", 1)[0].split(":", 1)[0]


@pytest.mark.parametrize("where", each_room("loops"))
def test_no_import_loops(where):
    found = [loop for loop in loops(modules()) if any(room(m) == where for m in loop)]
    assert not found, "import loops:\n" + "\n".join(" -> ".join(loop) for loop in found)


def test_imports_go_down_the_layers():
    wrong = upward(modules())
    assert not wrong, "\n".join(wrong)


def test_the_checks_do_not_import_the_lectures():
    """The checks run in the student's kernel beside the lectures: what both need (the data sets,
    the digits, the palette) lives below both."""
    wrong = [w for w in upward(modules()) if w.startswith("backprop_course.checks.") and "(lectures)" in w]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("where", each_room("lazy"))
def test_the_package_is_imported_at_the_top_of_each_file(where):
    wrong = in_room(lazy_without_reason(modules()), first_module, where)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("where", each_room("private"))
def test_no_private_name_is_used_from_another_module(where):
    wrong = in_room(private_names_across(modules()), first_module, where)
    assert not wrong, "\n".join(wrong)


def test_nbgrader_private_api_only_through_its_adapter():
    wrong = nbgrader_private_uses(modules(), nbgrader_private_names())
    assert not wrong, "\n".join(wrong)


def test_the_adapter_names_the_nbgrader_it_was_checked_against():
    import nbgrader

    from backprop_course.grader import nbgrader_private

    assert nbgrader_private.CHECKED_AGAINST == nbgrader.__version__, (
        f"nbgrader is {nbgrader.__version__}: read each use in grader/nbgrader_private.py again, then update it")


def test_only_the_sanctioned_modules_import_the_answers():
    """The answers are an answer to every exercise: the kernels' rooms and the grader reach them
    only where named (the developer tools may: they build classes from the catalogue)."""
    wrong = [name for name, path in modules(PACKAGE).items() if room(name) != "tools" and name not in IMPORT_ANSWERS
             and any(m == "answers" or m.startswith("answers.") for m in imported(name, path))]
    assert not wrong, f"these import answers/: {wrong}"


#: the one module that loads code by path: the course's answers, course content beside source/
LOADS_BY_PATH = {"backprop_course.grader.judge.answerbook"}


def test_nothing_in_the_package_imports_the_tests():
    test_modules = {p.stem for p in TESTS.rglob("*.py")} | {"tests"}
    wrong = []
    for name, path in modules(PACKAGE).items():
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


# --- each rule can fail: a small package written to break it ---

def fake_package(tmp_path, files):
    """A package ``backprop_course`` (and ``answers``) under tmp_path from {relative path: source}."""
    for relative, source in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(tmp_path).parents:
            if str(folder) != ".":
                (tmp_path / folder / "__init__.py").touch()
        path.write_text(source)
    return modules(tmp_path / "backprop_course", tmp_path / "answers")


def test_the_import_check_sees_a_forbidden_import(tmp_path):
    ours = fake_package(tmp_path, {"backprop_course/checks/core.py": "def f():\n    from ..grader import pipeline\n",
                                   "backprop_course/grader/pipeline.py": ""})
    assert "backprop_course.grader.pipeline" in imported("backprop_course.checks.core", ours["backprop_course.checks.core"])
    assert "backprop_course.checks.core (checks) imports backprop_course.grader.pipeline (grader)" in upward(ours)


def test_the_layer_check_sees_checks_importing_the_lectures_and_an_unsanctioned_answers_import(tmp_path):
    ours = fake_package(tmp_path, {"backprop_course/checks/vectorised.py": "from ..lectures import datasets\n",
                                   "backprop_course/lectures/datasets.py": "",
                                   "backprop_course/grader/report.py": "import answers.oracle\n",
                                   "answers/oracle.py": "from backprop_course.checks import vectorised\n"})
    found = upward(ours)
    assert "backprop_course.checks.vectorised (checks) imports backprop_course.lectures.datasets (lectures)" in found
    assert "backprop_course.grader.report (grader) imports answers.oracle (answers)" in found
    assert not [w for w in found if w.startswith("answers.")]  # the answers may import the checks


def test_the_loop_check_sees_a_loop_through_a_lazy_import(tmp_path):
    ours = fake_package(tmp_path, {"backprop_course/grader/pipeline.py": "from .run import cluster\n",
                                   "backprop_course/grader/run/cluster.py": "from . import executors\n",
                                   "backprop_course/grader/run/executors.py":
                                       "def f():\n    from ..pipeline import load_config  # lazy: a loop\n",
                                   "backprop_course/grader/merge.py": "from . import pipeline\n"})
    assert loops(ours) == [["backprop_course.grader.pipeline", "backprop_course.grader.run.cluster",
                            "backprop_course.grader.run.executors"]]


def test_the_lazy_import_check_sees_an_import_in_a_function_without_a_reason(tmp_path):
    ours = fake_package(tmp_path, {"backprop_course/grader/a.py": "def f():\n    from . import b\n\n\n"
                                                                  "def g():\n    from . import b  # lazy: heavy\n",
                                   "backprop_course/grader/b.py": "def h():\n    import json\n"})
    assert lazy_without_reason(ours) == ["backprop_course.grader.a:2 imports backprop_course.grader inside a function, "
                                         "saying not why"]


def test_the_private_name_check_sees_both_ways_of_reaching_in(tmp_path):
    ours = fake_package(tmp_path, {"backprop_course/grader/intake.py": "def _walk():\n    pass\n",
                                   "backprop_course/grader/exchange.py": "from . import intake\n\nintake._walk()\n",
                                   "backprop_course/grader/bundle.py": "from .intake import _walk\n",
                                   "backprop_course/grader/own.py": "def _mine():\n    pass\n\n\n_mine()\n"})
    assert sorted(private_names_across(ours)) == ["backprop_course.grader.bundle:1 imports backprop_course.grader.intake._walk",
                                                  "backprop_course.grader.exchange:3 uses backprop_course.grader.intake._walk"]


def test_the_nbgrader_check_sees_private_api_outside_the_adapter(tmp_path):
    source = ("import nbgrader\n\n\nclass A:\n    def f(self, converter, app, cls):\n"
              "        self._format_source()\n        super()._format_source()\n"
              "        converter._format_source('a', 'b')\n"
              "        getattr(cls, '_instance', None)\n        return hasattr(app, '_format_collect_path')\n")
    ours = fake_package(tmp_path, {"backprop_course/grader/admission.py": source,
                                   "backprop_course/grader/nbgrader_private.py": source})
    private = nbgrader_private_names()
    assert {"_format_source", "_format_collect_path", "_instance"} <= private
    assert set(nbgrader_private_uses(ours, private)) == {
        "backprop_course.grader.admission:8 uses nbgrader's _format_source",
        "backprop_course.grader.admission:9 uses nbgrader's _instance",
        "backprop_course.grader.admission:10 uses nbgrader's _format_collect_path"}


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
    return {name: len(path.read_text().splitlines()) for name, path in modules(PACKAGE).items()}


if __name__ == "__main__":
    for name, lines in sorted(sizes().items(), key=lambda item: -item[1]):
        print(f"{lines:5d}  {name}")
    print()
    for source, targets in sorted(layers().items()):
        print(f"{source} -> " + ", ".join(f"{t} ({len(pairs)})" for t, pairs in sorted(targets.items())))
    sys.exit(0)


#: the package's shared leaves: modules beside its rooms, which both the checks and the lectures import
SHARED_LEAVES = ("backprop_course.palette", "backprop_course.datasets", "backprop_course.digits")


def test_the_checks_import_no_lecture_and_the_shared_leaves_import_nothing_of_the_package():
    """Imports go downward: the checks never import the lectures (the lectures must not import the
    checks either, FORBIDDEN), so what both use (the palette, the 2-D data sets, the digits) sits
    below both, in leaves that import no module of the package."""
    ours = modules()
    wrong = [f"{module} imports {target}" for module, target in layers()["checks"].get("lectures", [])]
    for leaf in SHARED_LEAVES:
        assert leaf in ours, f"{leaf} is missing"
        wrong += [f"{leaf} imports {target}" for target in sorted(imported(leaf, ours[leaf])) if target in ours]
    assert not wrong, "\n".join(wrong)
