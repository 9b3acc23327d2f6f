"""The judging half of the grading Execute (:class:`.execute.GradingExecute`): after the last
cell, every check call of the graded test cells probed in the kernel and judged here, in the
grader's process, by trusted verdicts (:mod:`..judge.verdicts`).
"""
from __future__ import annotations

import copy
import os

from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell

from ...checks.core import quiet
from ..judge import answerbook, verdicts
from ..judge.verdicts import error_output


class TrustedJudging:
    """What :class:`.execute.GradingExecute` does after the notebook's last cell: a mixin on its
    state (the notebook, the kernel, and, set by its ``reset``: ``judged``, the test cells judged so
    far; ``dead_at`` and ``kernel_dead``, where the kernel died; ``probe_reader``, what reads a
    running probe's answer)."""

    def judge_test_cells(self, stop=None):
        """Probe every check call of the graded test cells in the kernel, now that every cell has
        run, judge here, and write each cell's outputs: its prints, up to its first failed call.
        stop: judge only the cells before it not judged yet (the preflight's canary judges its
        blank part before its reference part runs, in one kernel).

        Hidden calls get their case only now, so no cell of the notebook runs after the student's
        code has seen their inputs, and what the kernel prints while probed is dropped. Calls whose
        stand-ins compute (``Case.standins["source"]``: the training check's trusted layers) come
        last, after every call their code could answer. A cell the grader cannot judge fails,
        saying why (never the batch, never silently), unless it is marked to be judged by the
        kernel alone (verdicts.KERNEL_ONLY), which then ran it.
        """
        planned, readings = [], {}
        for index, cell in enumerate(self.nb.cells[:stop]):
            if not verdicts.is_test_cell(cell) or index in self.judged:
                continue
            self.judged.add(index)
            grade_id = cell.metadata.nbgrader.get("grade_id")
            reading = verdicts.read_cell(cell.source)
            if reading.kernel_only:
                self.log.info("Test cell %s is judged by the kernel alone (%s)", grade_id, verdicts.KERNEL_ONLY)
                continue
            if self.dead_at is not None and index >= self.dead_at or self.not_run(index):
                continue  # not run: its outputs say so
            if not reading.covered:
                self.log.warning("Test cell %s cannot be judged by the grader, so it fails: %s", grade_id,
                                 "; ".join(reading.problems))
                cell.outputs = [verdicts.cannot_judge(reading.problems)]
                continue
            cases = self._cases(cell, reading)
            if cases is not None:
                readings[index] = (reading, {})
                planned += [(case.standins is not None and "source" in case.standins, index, order, call, case)
                            for order, (call, case) in enumerate(zip(reading.calls, cases))]
        if self.kernel_dead and planned:
            self._revive()
        for _, index, order, call, case in sorted(planned, key=lambda p: p[:3]):
            reading, failures = readings[index]
            if failures:  # its first failure decides; the calls of a cell are planned in their order
                continue
            failure = self._probe(index, call, case)
            if failure is not None:
                failures[order] = verdicts.where(call, failure)
        for index, (reading, failures) in readings.items():
            self.nb.cells[index].outputs = verdicts.outputs(reading, failures)
        for index, cell in enumerate(self.nb.cells[:stop]):
            if verdicts.is_test_cell(cell) and index in self.judged:
                self.on_judged(cell, index)

    def _cases(self, cell, reading):
        """The case of each call of a test cell, or None when one cannot be made (the cell then fails, saying why)."""
        cases = []
        for call in reading.calls:
            try:
                cases.append(verdicts.case_of(call, answerbook.load(self._root()),
                                              answerbook.secret(self._root()) if call.hidden else None))
            except answerbook.AnswersError:
                raise  # the course's answers are missing: no student can be graded, stop
            except Exception as error:  # noqa: BLE001 (an argument the check does not take: the cell's fault, named)
                self.log.warning("Test cell %s: %s(...) cannot build its case: %s",
                                 cell.metadata.nbgrader.get("grade_id"), call.check.name, error)
                cell.outputs = [verdicts.cannot_judge([f"line {call.line}: {call.check.name} rejects its "
                                                       f"arguments ({type(error).__name__}: {error})"])]
                return None
        return cases

    def _root(self):
        return self.config.CourseDirectory.get("root") or os.getcwd()

    def _probe(self, index, call, case):
        """Run one call's probe in the kernel (its output dropped) and its verdict here: None or the failure."""
        reveal, cell = call.kwargs.get("reveal", False), self.nb.cells[index]
        if self.kernel_dead:
            return error_output("DeadKernelError", "Not judged: the kernel died while an earlier test ran your code "
                                "(os._exit, a crash, or too much memory).")
        nonce = verdicts.new_nonce()
        probe = new_code_cell(verdicts.probe_code(call, case, nonce))
        self.probe_reader = verdicts.AnswerReader(nonce)
        with quiet(Warning):
            try:
                self.execute_cell(probe, index, store_history=False)
            except DeadKernelError:
                self.kernel_dead = True
                self.log.warning("Kernel died in a test of cell %d of %s", index + 1, self.resources.get("unique_key", "?"))
                return error_output("DeadKernelError", "The kernel died while this test ran your code (os._exit, a "
                                    "crash, or too much memory).")
            finally:
                self.nb.cells[index] = cell  # nbclient stores the cell it ran at its index
                reader, self.probe_reader = self.probe_reader, None
            try:
                observed = reader.observed()
            except verdicts.Unreadable as unreadable:
                timed_out = [o for o in probe.outputs if o.output_type == "error" and o.ename == "CellTimeoutError"]
                observed = verdicts.Unreadable(f"your code ran past the time limit of {self.timeout} s in this test") \
                    if timed_out else unreadable
            return verdicts.verdict(call.check, case, observed, reveal, hidden=call.hidden)

    def _revive(self):
        """After the kernel died in cell d: a fresh kernel that ran cells 0 … d − 1 again (their
        outputs kept from the first run), so the test cells before d are judged as they ran."""
        dead_at = self.dead_at
        self.log.info("%s: a fresh kernel runs cells 1 to %d again, to judge their tests",
                      self.resources.get("unique_key", "?"), dead_at)
        run_sync(self._async_cleanup_kernel)()
        self.km = self.create_kernel_manager()
        run_sync(self.async_start_new_kernel)()
        run_sync(self.async_start_new_kernel_client)()
        self.dead_at, self.kernel_dead = None, False
        for index, cell in enumerate(self.nb.cells[:dead_at]):
            if cell.cell_type == "code" and self.dead_at is None:
                again = copy.deepcopy(cell)
                try:
                    self.run_cell(again, index)
                finally:
                    self.nb.cells[index] = cell
        # cells from where it first died stay not run; if it died again, the tests from there on fail
        self.dead_at = dead_at if self.dead_at is None else min(self.dead_at, dead_at)

