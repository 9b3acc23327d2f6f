"""The course's nbgrader preprocessors, but the grading Execute (:mod:`.execute`).

``backprop_course.grader.config.configure`` puts them in place, from ``nbgrader_config.py``, so
plain ``nbgrader`` commands run in the course root get the same behaviour as ``make grade``.
"""
from __future__ import annotations

from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor
from traitlets import Unicode

from ..judge import verdicts
from ..judge.verdicts import error_output
from . import skipping



class HideHiddenTestDetails(NbGraderPreprocessor):
    """Cut the traceback of a failed hidden test down to its message.

    nbgrader's feedback shows hidden tests' source and tracebacks (upstream #917, #1363):
    a traceback names the failing hidden line and, with it, its inputs. The checks' messages
    are written to teach without revealing expected values, so the message is all we keep.
    Runs before ClearHiddenTests, which then removes the hidden source itself.
    """

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        """A failed hidden test's error keeps its name and message, not its traceback."""
        if cell.cell_type == "code" and self.begin_test_delimeter in cell.source:
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = error_output(output.ename, output.evalue).traceback
        return cell, resources


class RequireTrustedVerdicts(NbGraderPreprocessor):
    """Refuse to release a notebook with a graded test cell that trusted verdicts do not cover.

    Such a cell would be judged by the student's kernel alone, which the student's code
    controls (verdicts.py says which forms the grader judges). The error names each cell and
    why; a cell marked ``verdicts.KERNEL_ONLY`` is released, and logged.
    """

    def preprocess(self, nb, resources):
        """Refuse the notebook (UncoveredTestCells) if a graded test cell is neither covered by trusted verdicts
        nor marked KERNEL_ONLY; log the marked ones."""
        refused, kernel_only = verdicts.uncovered(nb.cells)
        name = resources.get("unique_key", "the notebook")
        if refused:
            raise UncoveredTestCells(verdicts.refusal(name, refused))
        for grade_id in kernel_only:
            self.log.warning("%s: test cell %s is judged by the student's kernel alone (%s)", name, grade_id,
                             verdicts.KERNEL_ONLY)
        return nb, resources


class UncoveredTestCells(ValueError):
    """A graded test cell that trusted verdicts do not cover (the message names each)."""


class RequireSkippableDemos(NbGraderPreprocessor):
    """Refuse to release a notebook whose ``skip-when-grading`` tags would change grading
    (grader/run/skipping.py): a tag on a cell that is not a read-only demonstration, or a cell that
    runs when grading and reads a name only skipped cells define. The error names the cells."""

    def preprocess(self, nb, resources):
        """Refuse the notebook (UnskippableDemos) if a skip-when-grading tag would change grading."""
        refused = skipping.refusals(nb.cells)
        if refused:
            raise UnskippableDemos(f"{resources.get('unique_key', 'the notebook')}: " + "; ".join(refused))
        return nb, resources


class UnskippableDemos(ValueError):
    """skip-when-grading tags that would change grading (the message names the cells)."""


class DeduplicateGradeIds(DeduplicateIds):
    """nbgrader's DeduplicateIds, leaving no empty ``nbgrader`` metadata behind.

    A student who copies a cell duplicates its grade_id. DeduplicateIds keeps the last copy
    and sets the others' metadata to ``{}``, on which OverwriteCells then fails with a
    KeyError, and the submission is lost (upstream #1083). Without the key, the extra copy is
    an ordinary cell: it still runs, and the student keeps what it earns.
    """

    def preprocess_cell(self, cell, resources, index):
        """nbgrader's deduplication of the cell, then no empty ``nbgrader`` metadata left."""
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources
