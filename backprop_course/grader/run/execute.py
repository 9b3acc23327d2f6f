"""The grading Execute: nbgrader's Execute for autograding, with the kernel in the sandbox and
the test cells judged by trusted verdicts in the grader's own process.
"""
from __future__ import annotations

import json
import math
import time
from queue import Empty

from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellExecutionComplete, DeadKernelError
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from ..judge import verdicts
from ..judge.verdicts import error_output
from . import skipping
from .sandbox import SandboxedKernelManager
from .judging import TrustedJudging
from .sandbox.client import DROPPED, MESSAGE_BYTES


#: what the grading kernel runs before the notebook's first cell
PRELUDE = "import backprop_course.checks.remote"
#: what GradingExecute adds to a cell whose writes hit the sandbox's caps
WRITE_CAP_NOTE = "[grader: the kernel hit the cap on what it may write while graded"
_FULL = ("[Errno 28]", "No space left on device", "[Errno 27]", "File too large")
#: the notebook's metadata where GradingExecute lists each cap the kernel hit, in words; written
#: by the grader alone (a submission's own value is dropped). The pipeline shows them as notes.
CAP_NOTES = "backprop_course_caps"
#: messages that always pass the cap per cell: without them a cell would not end
_ALWAYS = ("status", "execute_input", "clear_output")
#: messages that are only output: one not accepted cuts the cell's output, as a flood does
_OUTPUT = ("stream", "display_data", "execute_result", "update_display_data", "comm_open", "comm_msg", "comm_close")


class GradingExecute(TrustedJudging, Execute):
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
    notebook_timeout = Integer(180, help="Wall-clock seconds for a whole notebook, its kernel's start included, "
                                         "beside each cell's timeout: a cell running then is interrupted, and "
                                         "the cells after it are not run (0: none).").tag(config=True)
    max_cell_bytes = Integer(20 * 1024 ** 2, help="Bytes the grader accepts from the kernel per cell, as sent: "
                                                  "streams, rich outputs with their buffers, widget messages; the "
                                                  "rest is dropped as it arrives (0: no cap).").tag(config=True)
    skip_demos = Bool(True, help="Skip the demonstration cells source/ tags skip-when-grading "
                                 "(grader/run/skipping.py); False runs every cell.").tag(config=True)

    def __init__(self, *args, **kwargs):
        # nbgrader's Execute.__init__ passes kernel_manager_class=AsyncKernelManager as a
        # keyword, which beats c.Execute.kernel_manager_class in the config
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        """Run the notebook ``nb`` in the sandbox, judge its test cells, and record the caps it hit in its metadata."""
        self.reset()
        self.start_caps(nb)
        nb, resources = super().preprocess(nb, resources, km)
        self.record_caps(nb)
        return nb, resources

    def reset(self):
        """The state of one notebook's grading, afresh."""
        self.dead_at = None        # the cell where the kernel died: it and the cells after it are not run
        self.kernel_dead = False
        self.judged = set()        # the test cells judged so far
        self.probe_reader = None   # while a probe runs: what reads its answer
        self._output_chars = {}
        self._finished = None     # the request whose output has ended (its "idle" status has come)
        self._cap_notes = []
        self._request_bytes = {}  # execute request -> bytes accepted for it
        self._over_bytes = set()  # cells whose cap on bytes was reached (in a test of theirs too)
        self._dropped = {}        # cell -> why a message of its was not accepted
        self._time_up_at = None
        self._running = None      # the cell running now, whose timeout the notebook's time cuts
        self._deadline = None

    def process_message(self, msg, cell, cell_index):
        """nbclient's hook for one message of the kernel: within the caps only, and a cell whose kernel died or
        whose time ran out fails alone."""
        if not self.accept(msg, cell, cell_index):
            return None
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
        """Run cell ``index`` (the prelude first; a skipped demonstration not at all); after the last cell, judge
        the test cells."""
        if index == 0 and self.trusted_verdicts:
            self.prelude()
        if cell.cell_type == "code" and not self.skipped_when_grading(cell):
            self.run_cell(cell, index)
            self.on_cell_done(cell, index)
        if index == len(self.nb.cells) - 1 and self.trusted_verdicts:
            self.judge_test_cells()
        return cell, resources

    def prelude(self):
        """Import the checks in the kernel before any cell runs: the stand-ins bind numpy's
        functions then, before student code could patch them (its output is dropped)."""
        cell = self.nb.cells[0]
        try:
            self.execute_cell(new_code_cell(PRELUDE), 0, store_history=False)
        except DeadKernelError:
            self.dead_at, self.kernel_dead = 0, True
        finally:
            self.nb.cells[0] = cell
            self._output_chars[0] = 0

    def on_cell_done(self, cell, index):
        """Called after each code cell has run (a test cell is judged later, see :meth:`on_judged`)."""

    def on_judged(self, cell, index):
        """Called after each graded test cell has its verdict, once the last cell has run."""

    def run_cell(self, cell, index):
        """Run one code cell in the kernel. A graded test cell the grader judges is not run there at
        all (:meth:`judge_test_cells` writes its outputs): the kernel never sees a hidden test."""
        if self.dead_at is not None:
            cell.outputs = [error_output("DeadKernelError", f"Not run: the kernel died in cell {self.dead_at + 1} "
                                         "(os._exit, a crash, or too much memory).")]
            return
        if self.out_of_time(cell, index):
            return
        if self.trusted_verdicts and verdicts.is_test_cell(cell) and not verdicts.read_cell(cell.source).kernel_only:
            cell.outputs, cell.execution_count = [], None
            return
        try:
            super().preprocess_cell(cell, self.resources, index)
        except DeadKernelError:
            self.dead_at, self.kernel_dead = index, True
            cell.outputs.append(error_output("DeadKernelError", "The kernel died while running this cell "
                                             "(os._exit, a crash, or too much memory)."))
            self.log.warning("Kernel died in cell %d of %s", index + 1, self.resources.get("unique_key", "?"))
        if self._output_chars.get(index, 0) > self.max_output_chars:
            cell.outputs.append(new_output("stream", name="stdout",
                                           text=f"\n[output cut at {self.max_output_chars} characters]\n"))
        self.note_caps(cell, index)

    def skipped_when_grading(self, cell):
        """True, and the cell says so, for a demonstration cell that source/ tags skip-when-grading,
        as it is there (grader/run/skipping.py decides, from source/: never from the student's tags)."""
        if not self.skip_demos or not skipping.skips(skipping.from_source(self.config, self.resources), cell):
            return False
        cell.outputs = [new_output("stream", name="stdout", text=skipping.NOTE)]
        return True

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's hook for one output message: a probe's read for its answer only; a cell's kept up to
        ``max_output_chars``."""
        if self.probe_reader is not None:  # a probe: only its marked answer is read, the rest dropped as it comes
            if msg.get("msg_type") == "stream":
                self.probe_reader.feed(msg.get("content", {}).get("text", ""))
            return None
        content = msg.get("content", {})
        text = content.get("text") if msg.get("msg_type") == "stream" else None
        size = len(text) if isinstance(text, str) else len(json.dumps(content, default=str))
        self._output_chars[cell_index] = self._output_chars.get(cell_index, 0) + size
        if self._output_chars[cell_index] > self.max_output_chars:
            return self.first_error(outs, msg)
        return super().output(outs, msg, display_id, cell_index)

    # --- the caps, and what each cap hit leaves in the cell and the notebook's notes ---------
    def start_caps(self, nb):
        """The notebook's own time starts now; its cap notes are the grader's to write, not the submission's."""
        nb.metadata.pop(CAP_NOTES, None)
        self._deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout else None

    def record_caps(self, nb):
        """The caps hit while the test cells were judged, after the last cell; then the notes into
        the notebook's metadata."""
        for index in sorted(self._over_bytes):
            self._note(f"{self._bytes_cap()} reached in a test of cell {index + 1}")
        for index, why in sorted(self._dropped.items()):
            self._note(f"cap on a message of the kernel ({why}) reached in a test of cell {index + 1}")
        for hit in getattr(self.km, "caps_hit", list)():
            self._note(f"{hit} reached while the tests ran")
        if self._cap_notes:
            nb.metadata[CAP_NOTES] = list(self._cap_notes)

    def _bytes_cap(self):
        return f"cap of {self.max_cell_bytes / 2 ** 20:g} MiB on what the grader takes from a cell"

    def accept(self, msg, cell, index):
        """Whether a message of the kernel for cell ``index`` is taken in: within the cap per
        execution (status and the like always are; past the cap, one error still is, or a failed
        cell could look passed). A message the client did not accept (client.DROPPED) cuts the
        cell's output if it was output, else fails the cell: it may have been the cell's error."""
        kind = msg.get("msg_type")
        if kind == DROPPED:
            self._dropped.setdefault(index, msg["content"].get("why", ""))
            if msg["content"].get("type") in _OUTPUT:
                self._output_chars[index] = max(self._output_chars.get(index, 0), self.max_output_chars + 1)
            elif not any(o.get("ename") == "MessageDropped" for o in cell.outputs):
                cell.outputs.append(error_output("MessageDropped", "A message of the kernel was not accepted: "
                                                 f"{msg['content'].get('why', '')}."))
            return False
        if kind in _ALWAYS or getattr(self, "probe_reader", None) is not None:
            return True  # (a test's probe keeps nothing but its answer, read as it comes: no cap per cell)
        size = msg.get(MESSAGE_BYTES)
        if size is None:
            size = len(json.dumps(msg.get("content", {}), default=str)) + sum(len(b) for b in msg.get("buffers") or ())
        request = msg["parent_header"].get("msg_id")
        self._request_bytes[request] = self._request_bytes.get(request, 0) + size
        if not self.max_cell_bytes or self._request_bytes[request] <= self.max_cell_bytes:
            return True
        self._over_bytes.add(index)
        return kind == "error" and not any(o.output_type == "error" for o in cell.outputs)

    def first_error(self, outs, msg):
        """Past the output cap: the cell's first error, cut short, and nothing else."""
        if msg.get("msg_type") != "error" or any(o.output_type == "error" for o in outs):
            return None
        content = msg.get("content", {})
        return error_output(str(content.get("ename", "Error"))[:200], str(content.get("evalue", ""))[:2000])

    def _get_timeout(self, cell):
        """A cell's timeout, cut to what is left of the notebook's: for a cell of the notebook
        (out_of_time let it run), not a test's probe nor a cell run again in a fresh kernel to
        judge its tests: those of the cells that ran are judged, time up or not."""
        timeout = super()._get_timeout(cell)
        if self._deadline is None or cell is not self._running:
            return timeout
        left = max(1, math.ceil(self._deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)

    def not_run(self, index):
        """Whether cell ``index`` was not run, the notebook's time being up."""
        return self._time_up_at is not None and index > self._time_up_at

    def out_of_time(self, cell, index):
        """Whether cell ``index`` comes after the notebook's time was up (it is then marked not run;
        a cell before, run again in a fresh kernel to judge its tests, is not)."""
        if not self.not_run(index):
            self._running = cell if cell is self.nb.cells[index] else None  # the notebook's own, on its clock
            return False
        cell.outputs = [error_output("NotebookTimeout", f"Not run: the notebook's time cap of {self.notebook_timeout} s "
                                     f"was reached in cell {self._time_up_at + 1}.")]
        return True

    def note_caps(self, cell, index):
        """Say in the cell, in the notebook's notes (CAP_NOTES) and the log each cap the kernel hit in it."""
        hits = []
        if any(o.output_type == "error" and any(mark in str(o.get("evalue", "")) for mark in _FULL) for o in cell.outputs):
            size = getattr(self.km, "tmpfs_size", 0) // 2 ** 20
            cell.outputs.append(new_output("stream", name="stderr", text=(
                f"\n{WRITE_CAP_NOTE} (its working folder and /tmp hold {size} MiB each, in memory, "
                "gone after grading): this cell stopped there]\n")))
            self._note(f"the kernel hit the cap on what it may write while graded ({size} MiB in its working folder "
                       f"and in /tmp), in cell {index + 1}: that cell stopped there")
        if any(o.output_type == "error" and o.get("ename") == "MemoryError" for o in cell.outputs):
            hits.append(f"memory cap of {getattr(self.km, 'memory_limit', 0) / 2 ** 30:g} GiB a process")
        hits += getattr(self.km, "caps_hit", list)()
        if index in self._over_bytes:
            self._over_bytes.discard(index)
            hits.append(self._bytes_cap())
        if index in self._dropped:
            hits.append(f"cap on a message of the kernel ({self._dropped.pop(index)})")
        if self._deadline is not None and self._time_up_at is None and time.monotonic() >= self._deadline:
            self._time_up_at = index
            hits.append(f"time cap of {self.notebook_timeout} s for the notebook")
        for hit in dict.fromkeys(hits):
            cell.outputs.append(new_output("stream", name="stderr", text=f"\n[grader: {hit} reached in this cell]\n"))
            self._note(f"{hit} reached in cell {index + 1}")

    def _note(self, text):
        if text not in self._cap_notes:  # a cell run again (after the kernel died) hits it again
            self._cap_notes.append(text)
            self.log.warning("%s: %s", self.resources.get("unique_key", "?"), text)
