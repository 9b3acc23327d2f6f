"""The course's nbgrader preprocessors and the configuration that puts them in place.

``nbgrader_config.py`` calls :func:`configure`, so plain ``nbgrader`` commands run in the
course root get the same behaviour as ``make grade``.
"""
from __future__ import annotations

import json

from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import ClearHiddenTests, DeduplicateIds, Execute, GetGrades, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Bool, Integer, Unicode

from ..checks.core import quiet
from . import verdicts
from .sandbox import SandboxedKernelManager
from .verdicts import error_output


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
                    output.traceback = error_output(output.ename, output.evalue).traceback
        return cell, resources


class DeduplicateGradeIds(DeduplicateIds):
    """nbgrader's DeduplicateIds, leaving no empty ``nbgrader`` metadata behind.

    A student who copies a cell duplicates its grade_id. DeduplicateIds keeps the last copy
    and sets the others' metadata to ``{}``, on which OverwriteCells then fails with a
    KeyError, and the submission is lost (upstream #1083). Without the key, the extra copy is
    an ordinary cell: it still runs, and the student keeps what it earns.
    """

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


#: what GradingExecute adds to a cell whose writes hit the sandbox's caps (the pipeline looks for it)
WRITE_CAP_NOTE = "[grader: the kernel hit the cap on what it may write while graded"
_FULL = ("[Errno 28]", "No space left on device", "[Errno 27]", "File too large")


class GradingExecute(Execute):
    """nbgrader's Execute for autograding: the kernel in the sandbox, trusted verdicts, a dead
    kernel costing only the cells from that point on, and output cut as it arrives.

    Used by autograde only, in place of Execute (:func:`configure`): ``nbgrader validate`` and
    ``generate_solution`` (instructor's or student's own code) keep Execute. Its config is
    Execute's (timeout, interrupt_on_timeout, ...) and its own traits below; the sandbox's is
    ``c.SandboxedKernelManager``.
    """

    trusted_verdicts = Bool(True, help="Judge test cells' checks outside the student's kernel.").tag(config=True)
    max_output_chars = Integer(200_000, help="Output kept per cell; the rest is dropped as it arrives.").tag(config=True)

    def __init__(self, *args, **kwargs):
        # nbgrader's Execute.__init__ passes kernel_manager_class=AsyncKernelManager as a
        # keyword, which beats c.Execute.kernel_manager_class in the config
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    async def async_start_new_kernel_client(self):
        """nbclient's, then the sandbox sealed (:meth:`SandboxedKernelManager.seal`) before any cell runs."""
        kc = await super().async_start_new_kernel_client()
        if isinstance(self.km, SandboxedKernelManager):
            try:
                await self.km.seal()
            except Exception:
                await self._async_cleanup_kernel()
                raise
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # nbclient's setup_kernel calls this one

    def preprocess(self, nb, resources=None, km=None):
        self._dead_at = None
        self._output_chars = {}
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._dead_at is not None:
            cell.outputs = [error_output("DeadKernelError", f"Not run: the kernel died in cell {self._dead_at + 1} "
                                         "(os._exit, a crash, or too much memory).")]
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            if self.trusted_verdicts and is_grade(cell):
                self.judge(cell, index)
        except DeadKernelError:
            self._dead_at = index
            cell.outputs.append(error_output("DeadKernelError", "The kernel died while running this cell "
                                             "(os._exit, a crash, or too much memory)."))
            self.log.warning("Kernel died in cell %d of %s", index + 1, self.resources.get("unique_key", "?"))
        if self._output_chars.get(index, 0) > self.max_output_chars:
            cell.outputs.append(new_output("stream", name="stdout",
                                           text=f"\n[output cut at {self.max_output_chars} characters]\n"))
        if any(o.output_type == "error" and any(mark in str(o.get("evalue", "")) for mark in _FULL) for o in cell.outputs):
            size = getattr(self.km, "tmpfs_size", 0) // 2 ** 20
            cell.outputs.append(new_output("stream", name="stderr", text=(
                f"\n{WRITE_CAP_NOTE} (its working folder and /tmp hold {size} MiB each, in memory, "
                "gone after grading): this cell stopped there]\n")))
            self.log.warning("%s: the kernel hit the cap on what it may write, in cell %d",
                             self.resources.get("unique_key", "?"), index + 1)
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._output_chars[cell_index] = self._output_chars.get(cell_index, 0) + size
        if self._output_chars[cell_index] > self.max_output_chars:
            return None
        return super().output(outs, msg, display_id, cell_index)

    def judge(self, cell, index):
        """Run each check's probe in the kernel and its verdict here; the first failure overrules the cell."""
        for check, objects, args, kwargs in verdicts.check_calls(cell.source):
            reveal = kwargs.pop("reveal", False)
            with quiet(Warning):
                case = verdicts.scenario(check, args, kwargs)
                probe = new_code_cell(verdicts.probe_code(check, objects, case))
                try:
                    self.execute_cell(probe, index, store_history=False)
                finally:
                    self.nb.cells[index] = cell  # nbclient stores the cell it ran at its index
                failure = verdicts.verdict(check, case, verdicts.observation(probe.outputs), reveal)
            if failure is not None:
                verdicts.overrule(cell, failure)
                return


def configure(c):
    """Apply the course's nbgrader configuration to the config object ``c``."""
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestDetails, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
    # Autograde runs each student's kernel in the sandbox: Execute -> GradingExecute, keeping
    # any other change to the list. Opt out: c.SandboxedKernelManager.enabled = False, or
    # BACKPROP_SANDBOX=off in the environment.
    from nbgrader.converters import Autograde

    steps = c.Autograde.autograde_preprocessors if "autograde_preprocessors" in c.Autograde \
        else Autograde.class_traits()["autograde_preprocessors"].default()
    c.Autograde.autograde_preprocessors = [GradingExecute if step is Execute else step for step in steps]
    steps = c.Autograde.sanitize_preprocessors if "sanitize_preprocessors" in c.Autograde \
        else Autograde.class_traits()["sanitize_preprocessors"].default()
    c.Autograde.sanitize_preprocessors = [DeduplicateGradeIds if step is DeduplicateIds else step for step in steps]
    # A submission's files are untrusted: nbgrader reads and copies them only through the
    # intake, from a stage (grader/admission.py); feedback/ gets the feedback pages only.
    from .admission import IntakeHTMLExporter, IntakeNotebookExporter

    c.Autograde.exporter_class = IntakeNotebookExporter
    c.GenerateFeedback.exporter_class = IntakeHTMLExporter
