"""Demonstration cells that grading skips: the cell tag ``skip-when-grading``.

The instructor tags a read-only demonstration cell of ``source/`` (a 1,000-epoch training run,
a plot) with ``skip-when-grading``. It stays in the released notebook, and students run it as
any other cell; autograding and the preflight's canary do not run it
(:meth:`.preprocessors.GradingExecute.skipped_when_grading`), which saves most of a
submission's CPU.

What is skipped is decided by ``source/``, never by the submitted notebook, whose tags a student
can edit: a cell is skipped when ``source/`` tags the cell of its grade_id, that cell is a locked
code cell there, neither graded nor a solution, and the submitted cell's source is the one of
``source/`` (nbgrader's OverwriteCells puts a locked cell's source back before it runs). A student
who tags a test cell, or edits a demonstration, has it run as usual.

``make release`` refuses (:func:`refusals`, from the preprocessor
:class:`.preprocessors.RequireSkippableDemos` and from ``Course.release``):

- a tag on any other cell (a test cell skipped would keep its points unearned);
- a cell that runs when grading and reads a name that only skipped cells define before it
  (a NameError at grading that the student never sees): names are Python's own scopes
  (:mod:`symtable`), functions' bodies included, since they read the notebook's names when called.
"""
from __future__ import annotations

import functools
import os
import symtable
from pathlib import Path

TAG = "skip-when-grading"
#: what a skipped cell shows in the autograded notebook and the feedback
NOTE = "[grader: a demonstration, not run when grading (tagged skip-when-grading); it runs in Jupyter as usual]\n"


def is_tagged(cell):
    """Whether ``cell`` carries the skip-when-grading tag."""
    return TAG in (cell.get("metadata", {}).get("tags") or [])


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _label(cell, index):
    return _grade_id(cell) or f"cell {index + 1}"


def _misplaced(cell):
    """Why ``cell``, tagged, cannot be skipped; "" when it can."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") != "code":
        return "it is not a code cell"
    if meta.get("grade") or meta.get("task"):
        return "it is graded: skipped, it would keep its points unearned"
    if meta.get("solution"):
        return "it holds the student's solution"
    if not meta.get("locked") or not meta.get("grade_id"):
        return "it is not read-only (nbgrader: 'Read-only'), so the student's copy could differ from it"
    return ""


def demos(cells):
    """{grade_id: source} of the cells of a ``source/`` notebook that grading skips."""
    return {_grade_id(cell): cell.get("source", "") for cell in cells if is_tagged(cell) and not _misplaced(cell)}


def skips(trusted, cell):
    """Whether grading skips the submitted ``cell``, given ``trusted`` = :func:`demos` of ``source/``."""
    grade_id = _grade_id(cell)
    return (cell.get("cell_type") == "code" and grade_id in trusted and not _misplaced(cell)
            and cell.get("source", "") == trusted[grade_id])


@functools.lru_cache(maxsize=64)
def _demos_of_file(path, stamp):
    import nbformat

    return demos(nbformat.read(path, as_version=4).cells)


def from_source(config, resources):
    """:func:`demos` of the ``source/`` notebook that nbgrader's ``resources`` are grading (its
    ``nbgrader`` assignment and notebook, in the course of ``config``); {} when there is none to
    read, so that grading then runs every cell."""
    from nbgrader.coursedir import CourseDirectory

    where = resources.get("nbgrader") or {}
    if not where.get("assignment") or not where.get("notebook"):
        return {}
    coursedir = CourseDirectory(config=config)
    path = Path(coursedir.format_path(coursedir.source_directory, ".", where["assignment"])) / f"{where['notebook']}.ipynb"
    try:
        info = os.stat(path)
        return _demos_of_file(str(path), (info.st_mtime_ns, info.st_size, info.st_ino))
    except (OSError, ValueError):
        return {}


# --- the release's check ----------------------------------------------------------------------

def _code(source):
    """``source`` as Python: IPython's magics and shell escapes turned into calls, as the kernel does."""
    try:
        compile(source, "<cell>", "exec")
        return source
    except SyntaxError:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)


def names(source):
    """(defined, read) names of the notebook's namespace in one cell's code.

    defined: bound at the top level (assignment, import, def, class, for, with, :=) or by a
    ``global`` statement; read: looked up in the notebook's namespace anywhere in the cell,
    functions' and classes' bodies included. SyntaxError when the cell is no Python.
    """
    defined, read = set(), set()

    def walk(table):
        top = table.get_type() == "module"
        for symbol in table.get_symbols():
            name = symbol.get_name()
            if top and (symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace()):
                defined.add(name)
            elif not top and symbol.is_declared_global() and symbol.is_assigned():
                defined.add(name)
            if symbol.is_referenced() and (top or symbol.is_global()):
                read.add(name)
        for child in table.get_children():
            walk(child)

    walk(symtable.symtable(_code(source), "<cell>", "exec"))
    return defined, read


def refusals(cells):
    """Why the notebook of ``cells`` cannot be released with its skip-when-grading tags, one line
    each naming the cells; [] when it can."""
    found = []
    for index, cell in enumerate(cells):
        why = _misplaced(cell) if is_tagged(cell) else ""
        if why:
            found.append(f"{_label(cell, index)} is tagged {TAG}, but {why}: only read-only demonstration "
                         "code cells can be skipped")
    skipped = demos(cells)
    if not skipped:
        return found
    by_running, by_skipped = set(), {}   # names defined so far by cells that run, and by skipped ones
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        label = _label(cell, index)
        try:
            defined, read = names(cell.get("source", ""))
        except SyntaxError as error:
            found.append(f"{label} is not Python ({error.msg}, line {error.lineno}): which names it needs "
                         f"cannot be checked against the cells tagged {TAG}")
            continue
        if skips(skipped, cell):
            by_skipped.update(dict.fromkeys(defined, label))
            continue
        for name in sorted(read - defined - by_running):
            if name in by_skipped:
                found.append(f"{label} reads `{name}`, which only {by_skipped[name]} defines before it, and "
                             f"{by_skipped[name]} is tagged {TAG}: at grading {label} would fail. Define "
                             f"`{name}` in a cell that runs when grading, or take the tag off {by_skipped[name]}")
        by_running |= defined
    return found
