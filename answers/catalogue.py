"""A catalogue of student submissions: correct ones written in different styles, and known mistakes.

Each :class:`Submission` gives the full source of every solution cell of one assignment and,
for each exercise, the mistake code its test cells should name ('' when the exercise is right).
A mistake submission changes one exercise only; the others keep the reference solution of
source/, so it must lose points on that exercise and keep them on the rest. Its code is an
entry of the mistake table (backprop_course/checks/mistakes.py), and every entry needs at least
one submission here: that pair is all a new mistake takes.

One module of ``submissions/`` per assignment holds its submissions (``neuron``, ``backprop``,
``vectorised``, ``autograd``; the longer two take their bases from ``*_bases``);
``submissions/submission.py`` is what a submission is and how it is written into source/'s
notebook. tests/checks/test_checks.py runs the catalogue through the test cells' checks in-process;
``build_notebook`` makes a notebook of a submission for tests that run nbgrader.
"""
from __future__ import annotations

from .submissions.autograd import CORRECT_04, MISTAKES_04
from .submissions.autograd_bases import A4
from .submissions.backprop import CORRECT_02, MISTAKES_02
from .submissions.backprop_bases import A2
from .submissions.neuron import A1, CORRECT_01, MISTAKES_01
from .submissions.submission import (  # noqa: F401 (the catalogue's interface, as the tests and tools import it)
    EXERCISES, NOTEBOOK, ROOT, Submission, assignment_submissions, build_notebook, edit, fill, reference_cells,
    source_notebook, strip_markers)
from .submissions.vectorised import A3, CORRECT_03, MISTAKES_03

#: every submission of every assignment, each assignment's reference first
CATALOGUE: list[Submission] = [
    found for assignment, correct, mistakes in ((A1, CORRECT_01, MISTAKES_01), (A2, CORRECT_02, MISTAKES_02),
                                                (A3, CORRECT_03, MISTAKES_03), (A4, CORRECT_04, MISTAKES_04))
    for found in assignment_submissions(assignment, correct, mistakes)]
assert len({s.name for s in CATALOGUE}) == len(CATALOGUE), "submission names must be unique"
