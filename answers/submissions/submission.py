"""A submission of the catalogue: what one is, and how it is written into source/'s notebook.

The student code is written into the solution regions of the source notebook's cells (the
given code around them stays as released), without the nbgrader markers; ``build_notebook``
makes a notebook of a submission for tests that run nbgrader.
"""
from __future__ import annotations

import copy
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat

from backprop_course.grader.assignments import COURSE_ROOT as ROOT, assignments

#: each assignment's notebook, and its exercises (solution cells' grade_ids) in notebook order, from source/
NOTEBOOK = {name: a.notebook for name, a in assignments(ROOT / "source").items()}
EXERCISES = {name: list(a.exercises) for name, a in assignments(ROOT / "source").items()}

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass
class Submission:
    """One student's hand-in of one assignment: the full source of each solution cell, and the
    mistake code each exercise's test cells should name ('' where the exercise is right)."""
    assignment: str
    name: str
    cells: dict[str, str]       # grade_id -> full replacement source of that solution cell
    mistakes: dict[str, str]    # exercise grade_id -> expected mistake code ('' for correct)
    description: str = ""

    @property
    def correct(self):
        """True when no exercise holds a mistake."""
        return not any(self.mistakes.values())


# --- the source notebooks ----------------------------------------------------------------

def source_notebook(assignment, root=ROOT):
    """The notebook of source/<assignment>, as nbformat reads it (markers and hidden tests included)."""
    return nbformat.read(Path(root) / "source" / assignment / NOTEBOOK[assignment], as_version=4)


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@cache
def _reference_cells(assignment, root):
    nb = source_notebook(assignment, root)
    return {_grade_id(c): c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def reference_cells(assignment, root=ROOT):
    """grade_id -> source of each solution cell of source/<assignment>, markers included."""
    return dict(_reference_cells(assignment, str(root)))


def strip_markers(source):
    """The cell as a student would hand it in: without the ### BEGIN/END SOLUTION lines."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


def fill(source, *bodies, prefix=""):
    """``source`` with its solution regions, in order, replaced by ``bodies``.

    Each body is dedented and indented like the region's markers, so the student code sits
    where the released cell says "YOUR CODE HERE"; the given code around it stays as it is.
    ``prefix`` goes above the cell (a student's own imports).
    """
    lines, out, regions = source.splitlines(), [], iter(bodies)
    inside = False
    for line in lines:
        if line.strip() == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            body = next(regions, None)
            assert body is not None, "fewer bodies than solution regions"
            out += [indent + row if row else "" for row in textwrap.dedent(body).strip("\n").splitlines()]
            inside = True
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    assert next(regions, None) is None, "more bodies than solution regions"
    return prefix + "\n".join(out)


def edit(text, old, new):
    """``text`` with ``old``, which must occur exactly once, replaced by ``new``: one student edit.

    Both are dedented, so a block can be written at any indentation. An empty ``new`` deletes
    the line that holds ``old``.
    """
    old, new = textwrap.dedent(old).strip("\n"), textwrap.dedent(new).strip("\n")
    assert text.count(old) == 1, f"expected exactly one {old!r} in the base solution"
    if new:
        return text.replace(old, new)
    lines = text.splitlines(keepends=True)
    return "".join(line for line in lines if old not in line)


def build_notebook(submission, root=ROOT, hidden_tests=True):
    """The source notebook with the submission's solution cells and no outputs.

    hidden_tests=False drops the hidden-test blocks, as in the released notebook a student
    edits (nbgrader's autograde puts the source's test cells back either way).
    """
    nb = copy.deepcopy(source_notebook(submission.assignment, root))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and _grade_id(cell) in submission.cells:
            cell.source = submission.cells[_grade_id(cell)]
        if not hidden_tests and meta.get("grade"):
            cell.source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", cell.source, flags=re.S)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def submission(assignment, name, description, changed, mistake=None):
    """All solution cells: the changed ones, and the reference (without markers) for the rest.

    mistake: (exercise, code) for a mistake submission; ``changed`` must then touch that exercise only.
    """
    reference = reference_cells(assignment)
    assert set(changed) <= set(EXERCISES[assignment]), set(changed)
    mistakes = {exercise: "" for exercise in EXERCISES[assignment]}
    if mistake:
        exercise, code = mistake
        assert set(changed) == {exercise}, f"{name} must change {exercise} only"
        mistakes[exercise] = code
    cells = {exercise: changed[exercise].strip("\n") if exercise in changed else strip_markers(reference[exercise])
             for exercise in EXERCISES[assignment]}
    return Submission(assignment, name, cells, mistakes, description)


def assignment_submissions(assignment, correct, mistakes):
    """Every submission of one assignment: source/'s reference, then ``correct`` and ``mistakes``.

    correct: [(name, description, {exercise: cell source})]; mistakes: [(name, description,
    exercise, mistake code, cell source)], each changing that exercise only.
    """
    short = assignment[:2]
    found = [Submission(assignment, f"{short}-reference", reference_cells(assignment),
                        {exercise: "" for exercise in EXERCISES[assignment]},
                        "the solution cells of source/, markers and all")]
    found += [submission(assignment, name, description, cells) for name, description, cells in correct]
    found += [submission(assignment, name, description, {exercise: source}, (exercise, code))
              for name, description, exercise, code, source in mistakes]
    return found
