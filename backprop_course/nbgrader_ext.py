"""The course's nbgrader preprocessors and the configuration that puts them in place.

``nbgrader_config.py`` calls :func:`configure`, so plain ``nbgrader`` commands run in the
course root get the same behaviour as ``make grade``.
"""
from __future__ import annotations

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor
from traitlets import Unicode


class HideHiddenTestDetails(NbGraderPreprocessor):
    """Cut the traceback of a failed hidden test down to its message.

    nbgrader's feedback shows hidden tests' source and tracebacks (upstream #917, #1363):
    a traceback names the failing hidden line and, with it, its inputs. The checks' messages
    are written to teach without revealing expected values, so the message is all we keep.
    Runs before ClearHiddenTests, which then removes the hidden source itself.
    """

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self.begin_test_delimeter in cell.source:
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
        return cell, resources


def configure(c):
    """Apply the course's nbgrader configuration to the config object ``c``."""
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestDetails, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
