"""The course's nbgrader preprocessors and the configuration that puts them in place.

``nbgrader_config.py`` calls :func:`configure`, so plain ``nbgrader`` commands run in the
course root get the same behaviour as ``make grade``.
"""
from __future__ import annotations

import dataclasses
import json
import time
from queue import Empty

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellExecutionComplete, DeadKernelError
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import ClearHiddenTests, DeduplicateIds, Execute, GetGrades, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Bool, Integer, Unicode

from ..checks.core import quiet
from . import skipping, verdicts
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


class RequireTrustedVerdicts(NbGraderPreprocessor):
    """Refuse to release a notebook with a graded test cell that trusted verdicts do not cover.

    Such a cell would be judged by the student's kernel alone, which the student's code
    controls (verdicts.py says which forms the grader judges). The error names each cell and
    why; a cell marked ``verdicts.KERNEL_ONLY`` is released, and logged.
    """

    def preprocess(self, nb, resources):
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
    (grader/skipping.py): a tag on a cell that is not a read-only demonstration, or a cell that
    runs when grading and reads a name only skipped cells define. The error names the cells."""

    def preprocess(self, nb, resources):
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
    # nbclient gives a cell's output iopub_timeout (4 s) from the kernel's reply to arrive, then
    # fails the whole notebook: a flood of output then fails a submission, or not, with the
    # machine's load. Here a cell's output is read to its end for as long as it keeps coming
    # (on_cell_executed), and only a kernel silent for iopub_timeout costs that cell.
    raise_on_iopub_timeout = Bool(False, help=Execute.raise_on_iopub_timeout.help).tag(config=True)
    skip_demos = Bool(True, help="Skip the demonstration cells source/ tags skip-when-grading "
                                 "(grader/skipping.py); False runs every cell.").tag(config=True)

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
        self._finished = None  # the request whose output has ended (its "idle" status has come)
        return super().preprocess(nb, resources, km)

    def process_message(self, msg, cell, cell_index):
        try:
            return super().process_message(msg, cell, cell_index)
        except CellExecutionComplete:
            self._finished = msg["parent_header"].get("msg_id")
            raise

    async def on_cell_executed(self, **kwargs):
        """After the kernel's reply: the rest of the cell's output, if nbclient stopped waiting for it.

        Its end (the kernel's "idle") follows the reply at once, so what is left is what the cell
        printed while it ran: read for as long as it keeps coming. Not after a timeout (the reply
        is nbclient's, and the kernel may still be printing): that cell has failed already.
        """
        super().on_cell_executed(**kwargs)
        reply = kwargs["execute_reply"]
        cell, index, request = kwargs["cell"], kwargs["cell_index"], reply["parent_header"].get("msg_id")
        if "header" not in reply or self._finished == request:
            return
        deadline = time.monotonic() + max(60, 3 * (self.timeout or 0))  # only a pathological kernel gets here
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=self.iopub_timeout))
            except Empty:
                msg = None
            if msg is None or time.monotonic() > deadline:
                self.log.warning("Cell %d of %s: its output did not end", index + 1, self.resources.get("unique_key", "?"))
                cell.outputs.append(error_output("OutputIncomplete", "The kernel's output for this cell did not end "
                                                 f"(silent for {self.iopub_timeout} s, or still coming after "
                                                 f"{max(60, 3 * (self.timeout or 0))} s)."))
                return
            if msg["parent_header"].get("msg_id") == request:
                try:
                    self.process_message(msg, cell, index)
                except CellExecutionComplete:
                    return

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.skipped_when_grading(cell):
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

    def skipped_when_grading(self, cell):
        """True, and the cell says so, for a demonstration cell that source/ tags skip-when-grading,
        as it is there (grader/skipping.py decides, from source/: never from the student's tags)."""
        if not self.skip_demos or not skipping.skips(skipping.from_source(self.config, self.resources), cell):
            return False
        cell.outputs = [new_output("stream", name="stdout", text=skipping.NOTE)]
        return True

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        text = content.get("text") if msg.get("msg_type") == "stream" else None
        size = len(text) if isinstance(text, str) else len(json.dumps(content, default=str))
        self._output_chars[cell_index] = self._output_chars.get(cell_index, 0) + size
        if self._output_chars[cell_index] > self.max_output_chars:
            return None
        return super().output(outs, msg, display_id, cell_index)

    def judge(self, cell, index):
        """Run each check's probe in the kernel and its verdict here; the first failure overrules the cell.

        A cell the grader cannot judge fails, saying why (never the batch, never silently), unless
        it is marked to be judged by the kernel alone (verdicts.KERNEL_ONLY).
        """
        reading = verdicts.read_cell(cell.source)
        if reading.kernel_only:
            self.log.info("Test cell %s is judged by the kernel alone (%s)", cell.metadata.nbgrader.get("grade_id"),
                          verdicts.KERNEL_ONLY)
            return
        if not reading.covered:
            self.log.warning("Test cell %s cannot be judged by the grader, so it fails: %s",
                             cell.metadata.nbgrader.get("grade_id"), "; ".join(reading.problems))
            verdicts.overrule(cell, verdicts.cannot_judge(reading.problems))
            return
        for call in reading.calls:
            reveal = call.kwargs.get("reveal", False)
            call = dataclasses.replace(call, kwargs={k: v for k, v in call.kwargs.items() if k != "reveal"})
            try:
                case = verdicts.scenario(call)
            except Exception as error:  # noqa: BLE001 (an argument the check does not take: the cell's fault, named)
                self.log.warning("Test cell %s: %s(...) cannot build its case: %s", cell.metadata.nbgrader.get("grade_id"),
                                 call.check.name, error)
                verdicts.overrule(cell, verdicts.cannot_judge([f"line {call.line}: {call.check.name} rejects its "
                                                               f"arguments ({type(error).__name__}: {error})"]))
                return
            with quiet(Warning):
                probe = new_code_cell(verdicts.probe_code(call, case))
                try:
                    self.execute_cell(probe, index, store_history=False)
                finally:
                    self.nb.cells[index] = cell  # nbclient stores the cell it ran at its index
                failure = verdicts.verdict(call.check, case, verdicts.observation(probe.outputs), reveal)
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
    # Before an assignment's first submission: the preflight (grader/preflight.py), which stops
    # the run when the environment would grade wrong. nbgrader calls the hook before it writes
    # the submission's gradebook rows.
    from . import preflight

    c.Autograde.pre_convert_hook = preflight.Hook(c)
    # Release refuses a graded test cell that trusted verdicts do not cover (verdicts.py), and
    # skip-when-grading tags that would change grading (skipping.py).
    from nbgrader.converters import GenerateAssignment

    steps = c.GenerateAssignment.preprocessors if "preprocessors" in c.GenerateAssignment \
        else GenerateAssignment.class_traits()["preprocessors"].default()
    ours = (RequireTrustedVerdicts, RequireSkippableDemos)
    c.GenerateAssignment.preprocessors = [*ours, *(s for s in steps if s not in ours)]
    # A submission's files are untrusted: nbgrader reads and copies them only through the
    # intake, from a stage (grader/admission.py); feedback/ gets the feedback pages only.
    from .admission import IntakeHTMLExporter, IntakeNotebookExporter

    c.Autograde.exporter_class = IntakeNotebookExporter
    c.GenerateFeedback.exporter_class = IntakeHTMLExporter
