"""The course's nbgrader preprocessors and the configuration that puts them in place.

``nbgrader_config.py`` calls :func:`configure`, so plain ``nbgrader`` commands run in the
course root get the same behaviour as ``make grade``.
"""
from __future__ import annotations

from jupyter_core.utils import ensure_async, run_sync
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, DeduplicateIds, Execute, GetGrades, NbGraderPreprocessor
from traitlets import Bool, Unicode

from .verdicts import HardenedExecute, error_output


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


class SandboxedExecute(HardenedExecute):
    """HardenedExecute with the kernel in the grading sandbox (backprop_course.grader.sandbox).

    A class of its own, used by autograde only: nbgrader's ``Execute.__init__`` passes
    ``kernel_manager_class=AsyncKernelManager`` as a keyword, which beats
    ``c.Execute.kernel_manager_class`` in the config, and ``nbgrader validate`` and
    ``generate_solution`` (instructor's or student's own code) share ``Execute``.
    Its config is Execute's (timeout, interrupt_on_timeout, ...); the sandbox's is
    ``c.SandboxedKernelManager``.
    """

    def __init__(self, *args, **kwargs):
        from backprop_course.grader.sandbox import SandboxedKernelManager

        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    defer_shutdown = Bool(False, help="Ask the kernel to exit after the notebook and move on; its exit is "
                                       "reaped at the next notebook or by finish_shutdowns(). For a grading "
                                       "worker that calls finish_shutdowns() before it exits.").tag(config=True)

    async def _async_cleanup_kernel(self):
        from backprop_course.grader.sandbox import SandboxedKernelManager

        km, kc = self.km, self.kc
        if not (self.defer_shutdown and isinstance(km, SandboxedKernelManager)):
            return await super()._async_cleanup_kernel()
        try:
            if kc is not None:
                await ensure_async(kc.stop_channels())
            if await km.is_alive():
                await km.request_exit()
            else:
                await km.cleanup_resources()
            await SandboxedKernelManager.reap_exited()
        finally:
            self.kc = self.km = None

    _cleanup_kernel = run_sync(_async_cleanup_kernel)  # nbclient binds the sync name to its own method

    @staticmethod
    def finish_shutdowns():
        """Wait for every kernel whose shutdown was deferred, and clean up after it."""
        from backprop_course.grader.sandbox import SandboxedKernelManager

        run_sync(SandboxedKernelManager.reap_exited)(wait=True)

    def preprocess(self, nb, resources=None, km=None):
        from backprop_course.grader.sandbox import SandboxUnavailableError

        try:
            return super().preprocess(nb, resources, km)
        except SandboxUnavailableError as error:
            # first [ERROR] line of the log: what `make grade` reports for the submission
            self.log.error("The grading sandbox cannot start: %s", error)
            raise


def configure(c):
    """Apply the course's nbgrader configuration to the config object ``c``."""
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestDetails, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
    # Autograde runs each student's kernel in the sandbox: Execute -> SandboxedExecute, keeping
    # any other change to the list. Opt out: c.SandboxedKernelManager.enabled = False, or
    # BACKPROP_SANDBOX=off in the environment.
    from nbgrader.converters import Autograde

    steps = c.Autograde.autograde_preprocessors if "autograde_preprocessors" in c.Autograde \
        else Autograde.class_traits()["autograde_preprocessors"].default()
    c.Autograde.autograde_preprocessors = [SandboxedExecute if step is Execute else step for step in steps]
    steps = c.Autograde.sanitize_preprocessors if "sanitize_preprocessors" in c.Autograde \
        else Autograde.class_traits()["sanitize_preprocessors"].default()
    c.Autograde.sanitize_preprocessors = [DeduplicateGradeIds if step is DeduplicateIds else step for step in steps]
