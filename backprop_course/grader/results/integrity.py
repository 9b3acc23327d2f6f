"""Integrity notes: what a submission's code does that no honest answer to these exercises needs.

The code is read, never run: each cell goes through IPython's own input transformer (so that
``%magic`` and ``!command`` lines read as the kernel would run them, and a magic cannot hide
the rest of a cell), then :func:`ast.parse`, then an iterative walk of the tree. A note names
the cell and the line, and says what the code does:

- **imports**: a module outside :attr:`Rules.modules` (what the answers use: numpy, math,
  copy, …); ``importlib``, ``pkgutil``, ``sys`` (``sys.modules``, frames), ``gc``, ``inspect``,
  ``os`` and friends are outside it. From the course's own package, only the names the
  released notebooks import (:attr:`Rules.api`, the documented student API);
- **introspection**: ``__import__``, ``eval``/``exec``/``compile``, ``globals()``/``locals()``/
  ``vars()``, attribute look-ups by a computed name, the attributes that open a function or a
  frame (``__globals__``, ``__code__``, ``f_back``, ``tb_frame``, …);
- **files**: ``open``, numpy's and pathlib's readers, listing folders, a literal path into the
  system or the course's package;
- **IPython**: ``get_ipython()`` (but for the harmless ``%matplotlib``, ``%time``, ``%timeit``,
  whose code is read in turn), ``events.register``, input transformers, ``set_custom_exc``;
- **tampering**: assigning to an attribute of an imported module (``np.allclose = …``), or
  redefining a check the test cells import;
- **numerical differentiation** where the exercise asks for the derivative itself: a
  difference divided by a small step (``(f(x + h) - f(x - h)) / (2 * h)``), or a call of the
  course's own numerical gradient (the ``grad_check`` exercise, where it is the task).

A note never changes a score: the instructor decides. Hostile text is bounded: a cell that is
nested too deep to read (Python's parser raises RecursionError or MemoryError) gets a note of
its own and the grader goes on.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from ..intake.safezip import printable
from .quotients import is_difference_quotient, step_names

COURSE_PACKAGE = "backprop_course"
#: magics a student may use, whose argument (if any) is code read in turn
HARMLESS_MAGICS = frozenset({"matplotlib", "time", "timeit"})
CODE_MAGICS = frozenset({"time", "timeit"})
#: how deep a magic's code is read inside another's
MAGIC_DEPTH = 3
#: longest piece of the student's own text quoted in a note
QUOTED = 60

#: what a module gives that no answer here needs (others: "no answer here needs it")
WHY_MODULE = {
    "importlib": "loads modules by name", "pkgutil": "walks the installed packages",
    "sys": "the interpreter's state (sys.modules, frames, hooks)", "gc": "the garbage collector's objects",
    "inspect": "frames and source code", "traceback": "frames", "ctypes": "raw memory",
    "builtins": "the interpreter's builtins", "types": "builds functions and frames",
    "os": "the system's files, processes and environment", "pathlib": "the system's files",
    "shutil": "the system's files", "glob": "lists the system's files", "io": "opens files",
    "subprocess": "runs programs", "socket": "the network", "IPython": "the notebook's shell",
    "ipykernel": "the notebook's kernel", "pickle": "loads objects from bytes", "marshal": "loads code from bytes",
    "linecache": "reads source files", "tokenize": "reads source files", "atexit": "runs code at exit",
    "signal": "signal handlers", "threading": "background threads", "multiprocessing": "other processes",
    "answers": "the instructor's answers (never in the student's kernel)",
    "scipy": "numerical derivatives and solvers", "sympy": "symbolic derivatives", "jax": "automatic differentiation",
    "torch": "automatic differentiation", "autograd": "automatic differentiation", "numdifftools": "numerical derivatives",
}
#: builtins that reach outside the exercise
BUILTINS = {
    "__import__": "imports a module by name", "eval": "runs code from a string", "exec": "runs code from a string",
    "compile": "compiles code from a string", "globals": "reads the notebook's namespace",
    "locals": "reads a frame's namespace", "vars": "reads a namespace", "breakpoint": "starts a debugger",
    "open": "opens a file", "input": "waits for input", "exit": "stops the kernel", "quit": "stops the kernel",
}
#: attributes that open a function, a class, a module or a frame
INTROSPECTION = frozenset({
    "__globals__", "__code__", "__closure__", "__wrapped__", "__subclasses__", "__mro__", "__bases__", "__base__",
    "__builtins__", "__import__", "__loader__", "__spec__", "__file__", "__defaults__", "__kwdefaults__", "__func__",
    "__self__", "__getattribute__", "__reduce__", "__reduce_ex__",
    "f_back", "f_globals", "f_locals", "f_code", "f_builtins", "f_trace", "tb_frame", "tb_next",
    "gi_frame", "cr_frame", "ag_frame", "gi_code", "co_code", "co_consts", "co_names", "co_filename",
})
#: names of the interpreter's own module-level state
DUNDER_NAMES = frozenset({"__builtins__", "__loader__", "__spec__", "__file__", "__import__", "__cached__"})
#: IPython's hooks, by attribute name
IPYTHON_HOOKS = {
    "set_custom_exc": "installs an IPython exception handler", "input_transformers_post": "changes how cells are read",
    "input_transformers_cleanup": "changes how cells are read", "ast_transformers": "changes how cells are compiled",
    "register_magic_function": "defines an IPython magic", "showtraceback": "changes how errors are shown",
    "showsyntaxerror": "changes how errors are shown", "excepthook": "changes how errors are handled",
    "displayhook": "changes how results are shown",
}
#: calls that read files or list folders (numpy, matplotlib, pathlib, os)
FILE_READERS = frozenset({
    "load", "loadtxt", "genfromtxt", "fromfile", "memmap", "imread", "read_text", "read_bytes", "open",
    "listdir", "scandir", "walk", "glob", "iglob", "iterdir", "rglob", "readlink", "read_csv",
})


@dataclass(frozen=True)
class Note:
    """One thing to look at: where, and what the code does there."""
    cell: str       # the cell: its grade_id, or "cell N" (its place in the notebook) for one the student added
    line: int       # 1-based line in that cell
    what: str       # what the code does, in words; the student's own text in it is printable and short

    def __str__(self):
        return f"{self.cell}, line {self.line}: {self.what}"


@dataclass(frozen=True)
class Rules:
    """What an honest answer may use, for one assignment (:func:`rules_from_release` makes them)."""
    modules: frozenset[str]                               # top-level modules an answer may import
    api: frozenset[tuple[str, str]] = frozenset()         # (module, name) of the course package the release imports
    checks: frozenset[str] = frozenset()                  # the names its test cells import: not to be redefined
    numerical_cells: frozenset[str] = frozenset()         # cells whose exercise is a numerical derivative
    numerical_names: frozenset[str] = frozenset()         # the functions those cells define (grad_check)
    module_names: frozenset[str] = frozenset({"np", "plt"})   # names the release binds to modules


def rules_from_release(release_cells, modules, numerical_exercises=()):
    """The rules of one assignment, read from its release notebook's code cells.

    ``release_cells``: [(grade_id or None, source, is a test cell)] of the release;
    ``modules``: the modules an answer may import besides those the release imports;
    ``numerical_exercises``: the grade_ids of solution cells where a numerical derivative is the task.
    """
    api, checks, allowed, module_names, numerical_names = set(), set(), set(modules), {"np", "plt"}, set()
    for grade_id, source, is_test in release_cells:
        tree = _parse(_ipython(source))
        if not isinstance(tree, ast.AST):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if node.module.split(".")[0] == COURSE_PACKAGE:
                        api.add((node.module, alias.name))
                        if is_test:
                            checks.add(alias.asname or alias.name)
                    else:
                        allowed.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    allowed.add(alias.name.split(".")[0])
                    module_names.add(alias.asname or alias.name.split(".")[0])
            elif grade_id in numerical_exercises and isinstance(node, ast.FunctionDef):
                numerical_names.add(node.name)
    allowed.discard(COURSE_PACKAGE)
    return Rules(frozenset(allowed), frozenset(api), frozenset(checks), frozenset(numerical_exercises),
                 frozenset(numerical_names), frozenset(module_names))


def read_cells(cells, rules):
    """The notes on a submission's code: ``cells`` is [(label, source)] of the cells that run as
    the student wrote them. Never raises on hostile text."""
    module_names = set(rules.module_names)
    notes = []
    for label, source in cells:
        notes += _read(label, source, rules, module_names, offset=0, depth=0)
    return notes


# --- one cell ---------------------------------------------------------------------------------

def _ipython(source):
    """The cell as IPython runs it (``%magic`` → ``get_ipython().run_line_magic(…)``); as it is
    when IPython cannot transform it."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except (Exception, RecursionError, MemoryError):
        return source


def _parse(source):
    """The tree, or why there is none: '' for a plain syntax error (the kernel cannot run it
    either, and honest drafts have them), else the reason the grader could not read it."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError) as error:
        if "too many nested" in str(error) or "too complex" in str(error):
            return f"nested too deep to read ({error.msg if isinstance(error, SyntaxError) else error})"
        return ""
    except RecursionError:
        return "nested too deep to read (RecursionError)"
    except MemoryError:
        return "nested too deep to read (MemoryError)"


def _tree(source):
    """The cell's tree as the kernel would run it: plain Python as it is, else after IPython's
    transforms (which change nothing that parses as Python)."""
    tree = _parse(source)
    if isinstance(tree, ast.AST) or tree:
        return tree
    return _parse(_ipython(source))


def _read(label, source, rules, module_names, offset, depth):
    tree = _tree(source)
    if not isinstance(tree, ast.AST):
        return [Note(label, offset + 1, f"the grader could not read this cell: {tree}; no honest answer is")] if tree else []
    nodes = list(ast.walk(tree))   # iterative: a deep tree cannot overflow the stack here
    steps = step_names(nodes)
    parents = {}   # who calls or dots what: get_ipython().run_line_magic(...)
    for node in nodes:
        if isinstance(node, ast.Call):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        elif isinstance(node, ast.Attribute):
            parents[node.value] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                module_names.add(alias.asname or alias.name.split(".")[0])
    notes = []
    numerical_cell = label in rules.numerical_cells
    for node in nodes:
        line = offset + getattr(node, "lineno", 1)
        for what in _looks(node, parents, rules, module_names, steps, numerical_cell):
            notes.append(Note(label, line, what))
        inner = _magic_code(node, depth)
        if inner is not None:
            notes += _read(label, inner, rules, module_names, line - 1, depth + 1)
    return _unique(notes)


def _unique(notes):
    seen, out = set(), []
    for note in notes:
        if note not in seen:
            seen.add(note)
            out.append(note)
    return sorted(out, key=lambda n: n.line)


def _quote(text):
    text = printable(str(text))
    return text if len(text) <= QUOTED else text[:QUOTED] + "…"


def _dotted(node):
    """'a.b.c' of a Name/Attribute chain, or ''."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return ""


def _module(name, rules):
    """Why importing the module ``name`` is noted, or ''."""
    top = name.split(".")[0]
    if top == COURSE_PACKAGE:
        return f"imports {_quote(name)}: the course's own package, beyond the names the assignments give students"
    if top in rules.modules:
        return ""
    return f"imports {_quote(name)}: {WHY_MODULE.get(top, 'no answer here needs it')}"


def _looks(node, parents, rules, module_names, steps, numerical_cell):
    """What of ``node`` is worth a note, in words."""
    if isinstance(node, ast.Import):
        return [why for alias in node.names if (why := _module(alias.name, rules))]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return [f"a relative import ({_quote('.' * node.level + (node.module or ''))})"]
        module = node.module or ""
        if module.split(".")[0] == COURSE_PACKAGE:
            return [f"imports {_quote(alias.name)} from {_quote(module)}: the course's own package, beyond the names "
                    f"the assignments give students" for alias in node.names if (module, alias.name) not in rules.api]
        why = _module(module, rules)
        return [why] if why else []
    if isinstance(node, ast.Name):
        return _name(node, parents, rules)
    if isinstance(node, ast.Attribute):
        return _attribute(node, parents, module_names)
    if isinstance(node, ast.Call):
        return _call(node, rules, module_names, numerical_cell)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in rules.checks:
        return [f"redefines {_quote(node.name)}, a check the test cells import"]
    if isinstance(node, ast.BinOp) and not numerical_cell and is_difference_quotient(node, steps):
        return ["divides a difference by a small step: a finite-difference derivative, where the exercise asks "
                "for the derivative itself"]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _literal(node.value)
    return []


def _name(node, parents, rules):
    if node.id in DUNDER_NAMES:
        return [f"uses {node.id}: the interpreter's own state"]
    if node.id == "get_ipython":
        call = parents.get(node)
        method = parents.get(call)
        if isinstance(method, ast.Attribute) and method.attr in ("run_line_magic", "run_cell_magic"):
            use = parents.get(method)
            name = use.args[0].value if isinstance(use, ast.Call) and use.args and isinstance(use.args[0], ast.Constant) else None
            if name in HARMLESS_MAGICS:
                return []
            return [f"uses the IPython shell: the magic %{_quote(name if name is not None else '?')}"]
        if isinstance(method, ast.Attribute) and method.attr in ("system", "getoutput"):
            return ["runs a shell command (!…)"]
        return ["uses the IPython shell (get_ipython())" + (f": .{_quote(method.attr)}" if isinstance(method, ast.Attribute) else "")]
    if isinstance(node.ctx, ast.Store) and node.id in rules.checks:
        return [f"redefines {_quote(node.id)}, a check the test cells import"]
    return []


def _attribute(node, parents, module_names):
    notes = []
    if node.attr in INTROSPECTION:
        notes.append(f"reads .{node.attr}: the inside of a function, class or frame")
    if node.attr in IPYTHON_HOOKS:
        notes.append(f".{node.attr}: {IPYTHON_HOOKS[node.attr]}")
    if node.attr == "register" and isinstance(node.value, ast.Attribute) and node.value.attr == "events":
        notes.append("events.register: installs an IPython event hook")
    if node.attr == "modules" and _dotted(node.value) == "sys":
        notes.append("reads sys.modules: the modules loaded in the kernel")
    if isinstance(node.ctx, (ast.Store, ast.Del)):
        base = node.value
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in module_names:
            notes.append(f"changes {_quote(_dotted(node) or node.attr)}, part of a module, for all code that uses it")
    return notes


def _call(node, rules, module_names, numerical_cell):
    notes = []
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if isinstance(func, ast.Name) and name in BUILTINS:
        notes.append(f"{name}(): {BUILTINS[name]}")
    if isinstance(func, ast.Name) and name in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2:
        key = node.args[1]
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            notes.append(f"{name}() with a computed attribute name")
        elif key.value in INTROSPECTION or key.value in DUNDER_NAMES or key.value in IPYTHON_HOOKS:
            notes.append(f"{name}(…, {_quote(repr(key.value))}): the inside of a function, class or frame")
        elif name in ("setattr", "delattr") and isinstance(node.args[0], ast.Name) and node.args[0].id in module_names:
            notes.append(f"{name}() on {_quote(node.args[0].id)}: changes a module for all code that uses it")
    if isinstance(func, ast.Attribute) and name in FILE_READERS:
        notes.append(f".{name}(): reads the system's files")
    if not numerical_cell:
        if isinstance(func, ast.Name) and name in rules.numerical_names:
            notes.append(f"calls {_quote(name)}, a numerical gradient, where the exercise asks for the derivative itself")
        if isinstance(func, ast.Attribute) and name == "gradient" and _dotted(func.value) in module_names:
            notes.append(f"{_quote(_dotted(func))}(): a numerical derivative, where the exercise asks for the derivative itself")
    return notes


def _literal(text):
    """A string naming the course's package or a path into the system."""
    if "backprop_course" in text or "backprop-course" in text:
        return [f"names the course's package in a string ({_quote(text)})"]
    if text.startswith(("/etc/", "/proc/", "/sys/", "/run/", "/home/", "/root/", "/usr/", "/tmp/", "/dev/", "/var/", "~/")):
        return [f"a path into the system ({_quote(text)})"]
    return []


def _magic_code(node, depth):
    """The code inside a harmless magic that runs code (``%time x``, ``%%timeit``), or None."""
    if depth >= MAGIC_DEPTH or not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute) \
            or node.func.attr not in ("run_line_magic", "run_cell_magic"):
        return None
    args = node.args
    if not args or not isinstance(args[0], ast.Constant) or args[0].value not in CODE_MAGICS:
        return None
    code = args[-1]
    if len(args) >= 2 and isinstance(code, ast.Constant) and isinstance(code.value, str):
        return code.value
    return None
