"""The preflight: before the first submission of an assignment, proof that grading here is right.

An environment fault (a sandbox that cannot start, a kernel that imports other checks than the
grader, or none, a timeout too short) would otherwise grade a whole class wrong, zeros with
exit 0. So before the first submission, in the very setting students are graded in (the
sandbox, its limits, ``c.Execute.timeout``, the trusted verdicts of :class:`GradingExecute`):

1. the sandbox starts (bwrap, user namespaces: :func:`.sandbox.check_bwrap`), and what enforces
   its limits here is said: one cgroup per kernel, or rlimits per process where none can be made;
2. one sandboxed kernel imports the checks, the package it imported has the grader's
   fingerprint (:func:`backprop_course.checks.remote.package_fingerprint`), and it cannot import
   the course's answers;
3. in that kernel, the blank release (``source/`` with the solutions cleared, hidden tests in)
   earns nothing, judged before the reference runs, and then the assignment's reference solution
   (``source/`` itself) earns full marks: a canary that fails if anything between the notebook
   and the gradebook is off. This also computes every case the assignment's tests need, once,
   before any student.
   Like grading, it skips the demonstration cells tagged ``skip-when-grading`` (grader/run/skipping.py).

Anything off raises :class:`PreflightError`, whose message says what is wrong and how to fix it.
It runs once per process and assignment (:func:`once`): ``make grade`` runs it in the parent
before its workers fork; a plain ``nbgrader autograde`` (or the formgrader) runs it through
``c.Autograde.pre_convert_hook`` (:class:`Hook`, set by ``preprocessors.configure``), which
nbgrader calls before it writes the submission's first gradebook row. Nothing of it touches
the gradebook or the class's folders.

For a grading worker elsewhere (Dask): ``preflight.once(config, root, assignment)`` before its
first task; ``preflight.fingerprint()`` is the grader's package fingerprint to compare.
"""
from __future__ import annotations

import copy
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...checks.remote import PACKAGE_DIR, package_fingerprint
from ..assignments import assignments
from ..judge import answerbook, verdicts
from ..judge.verdicts import Unreadable, observation
from ..nbgrader_private import running_autograde_app
from .execute import GradingExecute
from .sandbox import SandboxUnavailableError, SandboxedKernelManager, disabled_by_environment, ready

log = logging.getLogger(__name__)

#: the first cell of the canary: which course package does the kernel import? (its answer marked with the nonce)
REPORT_CELL = "__import__('backprop_course.checks.remote', fromlist=['report_package']).report_package({nonce!r})"


class PreflightError(RuntimeError):
    """Grading must not start here: the message says what is wrong and how to fix it."""
    def __init__(self, assignment, what, fix):
        self.assignment, self.what, self.fix = assignment, what, fix
        super().__init__(f"Grading stopped before the first submission: the preflight of {assignment} failed.\n"
                         f"  What is wrong: {what}\n  How to fix it: {fix}")


@dataclass
class PreflightReport:
    """What a passed preflight found."""
    assignment: str
    fingerprint: str                  # of the grader's package, equal to the kernel's
    package: str                      # the grader's package folder
    bwrap: str | None                 # the sandbox program, or None when the sandbox is off
    reference: tuple                  # (score, max score) of the reference solution: full marks
    blank: tuple                      # (score, max score) of the blank release: nothing
    kernel_only: list = field(default_factory=list)   # test cells judged by the kernel alone, on purpose
    seconds: float = 0.0
    limits: str = ""                  # what enforces the sandbox's limits here (a cgroup, or rlimits)

    def summary(self):
        """The preflight's line for the log: sandbox and limits, package, reference and blank points, time."""
        sandbox = f"sandbox {self.bwrap}; limits: {self.limits}" if self.bwrap else "sandbox OFF"
        marked = f"; judged by the kernel alone, on purpose: {', '.join(self.kernel_only)}" if self.kernel_only else ""
        return (f"preflight {self.assignment}: {sandbox}; the kernel imports the grader's checks "
                f"({self.package}, fingerprint {self.fingerprint[:12]}); reference {_points(self.reference)}, blank "
                f"{_points(self.blank)}; {self.seconds:.1f} s{marked}")


def _points(score):
    got, top = score
    return f"{got:g}/{top:g}"


_fingerprint = None


def fingerprint():
    """The grader's package fingerprint, computed once per process."""
    global _fingerprint
    if _fingerprint is None:
        _fingerprint = package_fingerprint(PACKAGE_DIR)
    return _fingerprint


# --- the checks -------------------------------------------------------------------------------

def _sandbox(config, assignment):
    """The resolved bwrap, after an empty sandbox started; None when the sandbox is off."""
    settings = config.SandboxedKernelManager
    if not settings.get("enabled", True) or disabled_by_environment():
        log.warning("The grading sandbox is OFF: student code runs with your rights.")
        return None
    try:
        return ready(settings.get("bwrap_path", ""))
    except SandboxUnavailableError as error:
        raise PreflightError(assignment, str(error), "see above; or opt out explicitly (BACKPROP_SANDBOX=off) "
                             "to grade unsandboxed") from None


def _limits(config):
    """What enforces the sandbox's budget here, in words (limits.enforcement)."""
    return SandboxedKernelManager(config=config).enforcement()[1]


def _canary(source_nb, config, nonce):
    """One notebook for one kernel: the package report, the blank release, then the reference.

    The blank first, judged before the reference runs (``Canary.checkpoint``): its stubs define
    nothing, so nothing of it can help the reference after it, and its probes meet no
    reference's definitions. Returns the notebook and the index ranges of its blank and
    reference parts.
    """
    import nbformat
    from nbformat.v4 import new_code_cell
    from nbgrader.preprocessors import ClearSolutions

    blank, _ = ClearSolutions(config=config).preprocess(copy.deepcopy(source_nb), {})
    reference = copy.deepcopy(source_nb)
    nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(source_nb.metadata))
    nb.cells = [new_code_cell(REPORT_CELL.format(nonce=nonce)), *blank.cells, *reference.cells]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    blank_part = range(1, 1 + len(blank.cells))
    return nb, blank_part, range(blank_part.stop, len(nb.cells))


def _scores(cells, part):
    """(score, max score, [(grade_id, what failed)]) of the autograded test cells ``cells[i]`` for i in ``part``."""
    from nbgrader.utils import determine_grade

    got = top = 0.0
    failed = []
    for index in part:
        cell = cells[index]
        if not verdicts.is_test_cell(cell):
            continue
        score, points = determine_grade(cell)
        got, top = got + (score or 0), top + points
        if (score or 0) < points:
            failed.append((cell.metadata.nbgrader.get("grade_id", f"cell {index}"), _error(cell) or "no error shown"))
    return got, top, failed


def _error(cell):
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            first = (out.get("evalue") or "").strip().splitlines()
            return f"{out.ename}: {first[0] if first else ''}"[:300]
        if out.output_type == "stream" and out.get("name") == "stderr":
            return f"wrote to stderr: {out.get('text', '').strip()[:200]}"
    return ""


def _package_report(cell, assignment, python, nonce):
    try:
        report = observation(cell.outputs, nonce)
    except Unreadable:
        raise PreflightError(
            assignment, f"the student's kernel cannot import the course's checks: {_error(cell) or 'it printed nothing'}. "
            f"The grader imports them from {PACKAGE_DIR}, and the kernel runs {python}.",
            "the sandbox binds the grader's own package into the kernel and puts it first on its PYTHONPATH: "
            "check that the kernel spec (`jupyter kernelspec list`, `python3`) runs this Python and leaves "
            "PYTHONPATH and sys.path alone, and that the package folder is readable; reinstall with `make venv` "
            "(or `pip install -e .` in the course folder).") from None
    if report.get("fingerprint") != fingerprint():
        raise PreflightError(
            assignment, f"the student's kernel imports another copy of the course package than the grader: the "
            f"kernel's {report.get('package')} (fingerprint {str(report.get('fingerprint'))[:12]}), the grader's "
            f"{PACKAGE_DIR} (fingerprint {fingerprint()[:12]}). Probe and judge would be different checks.",
            "grade with one installation of the course: run `make grade` in the course folder, or reinstall the "
            "package the kernel's Python sees (`pip install -e <course folder>`), so that both import the same files.")
    if report.get("answers"):
        raise PreflightError(
            assignment, f"the student's kernel can import the course's answers ({report['answers']}): a student's "
            "code could then compute every expected value",
            "install the course package only (never the answers/ folder) where kernels run, and keep answers/ out of "
            "the kernel's Python path (PYTHONPATH, .pth files, the kernel's working folder)")
    return report


def _timeout_hint(config):
    timeout = config.Execute.get("timeout", 30)
    return (f"if a cell timed out (CellTimeoutError), raise c.Execute.timeout in nbgrader_config.py (now {timeout} s; "
            "the reference must finish well within it on a busy machine) or make the reference faster; otherwise fix "
            "the reference in source/, or the environment, until `make grade` passes this preflight")


def run(config, root, assignment):
    """The preflight of ``assignment`` in the course ``root`` with nbgrader's ``config``; raises PreflightError."""
    import nbformat

    started = time.perf_counter()
    known = assignments(Path(root) / "source")
    if assignment not in known:
        raise PreflightError(assignment, f"source/{assignment} does not exist in {root}",
                             "grade an assignment of source/ (its reference solution is the preflight's canary)")
    bwrap = _sandbox(config, assignment)
    folder = known[assignment].folder
    reference = blank = (0.0, 0.0)
    kernel_only = []
    for name in known[assignment].notebooks:
        source_nb = nbformat.read(folder / name, as_version=4)
        kernel_only += verdicts.uncovered(source_nb.cells)[1]
        nonce = verdicts.new_nonce()
        nb, blank_part, reference_part = _canary(source_nb, config, nonce)
        workdir = Path(tempfile.mkdtemp(prefix="backprop-preflight-"))
        try:
            for item in folder.iterdir():  # the files beside the notebooks, as autograde copies them
                if item.suffix != ".ipynb" and not item.name.startswith("."):
                    (shutil.copytree if item.is_dir() else shutil.copyfile)(item, workdir / item.name)
            execute = Canary(config=config)
            execute.watch, execute.checkpoint = _watcher(reference_part, assignment, name, config, nonce), blank_part.stop - 1
            try:
                # "nbgrader": what autograde's resources say, so the canary skips what grading skips (skipping.py)
                execute.preprocess(nb, {"metadata": {"path": str(workdir)}, "unique_key": f"preflight/{assignment}/{name}",
                                        "nbgrader": {"assignment": assignment, "notebook": Path(name).stem}})
            except PreflightError:
                raise
            except Exception as error:  # noqa: BLE001 (whatever stops a kernel here would stop it for every student)

                fix = "see above" if isinstance(error, (SandboxUnavailableError, answerbook.AnswersError)) else \
                    "make sure `jupyter kernelspec list` shows a python3 kernel of this environment, and that the sandbox works"
                raise PreflightError(assignment, f"the student's kernel could not run {name}: "
                                     f"{type(error).__name__}: {error}", fix) from None
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        got, top, _ = _scores(nb.cells, reference_part)
        reference = (reference[0] + got, reference[1] + top)
        got, top, _ = _scores(nb.cells, blank_part)
        if got > 0:
            earned = [grade_id for grade_id, _ in _blank_passes(nb, blank_part)]
            raise PreflightError(
                assignment, f"the blank release of {name} earns {got:g}/{top:g}: test cell(s) {', '.join(earned)} "
                "pass without any student code, so every student would get those points",
                "make each test cell check the student's work (see source/): a blank notebook must earn nothing")
        blank = (blank[0] + got, blank[1] + top)
    result = PreflightReport(assignment, fingerprint(), str(PACKAGE_DIR), bwrap, reference, blank, kernel_only,
                       time.perf_counter() - started, _limits(config) if bwrap else "")
    log.info(result.summary())
    return result


def _watcher(reference_part, assignment, name, config, nonce):
    """What the canary checks as it goes, to stop at the first sign of trouble: the package report
    (cell 0), then every cell of the reference, which must raise nothing and pass every test once judged."""
    python = os.path.realpath(sys.executable)

    def watch(cell, index):
        if index == 0:
            _package_report(cell, assignment, python, nonce)
        elif index in reference_part and cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", []):
            error = _error(cell)
            failed = verdicts.is_test_cell(cell) and _scores([cell], range(1))[2]
            if error or failed:
                where = f"cell {index - reference_part.start + 1}"
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                raise PreflightError(
                    assignment, f"the reference solution (source/{assignment}/{name}) fails in the grading sandbox: "
                    f"{where}" + (f" ({grade_id})" if grade_id else "") + f": {error or 'scores less than full marks'}",
                    _timeout_hint(config))

    return watch


class Canary(GradingExecute):
    """The grading Execute, with a look at each cell as soon as it has run, and at each test cell
    as soon as it is judged (``watch``), to stop early; the cells up to ``checkpoint`` (the blank
    release) are judged as soon as the last of them has run."""
    watch = None
    checkpoint = None

    def on_cell_done(self, cell, index):
        """Watch each cell but the test cells as it runs."""
        if self.watch is not None and not verdicts.is_test_cell(cell):
            self.watch(cell, index)

    def preprocess_cell(self, cell, resources, index):
        """Run the cell; at the checkpoint (the blank part's end), judge the test cells so far."""
        cell, resources = super().preprocess_cell(cell, resources, index)
        if index == self.checkpoint:
            self.judge_test_cells(stop=index + 1)
        return cell, resources

    def on_judged(self, cell, index):
        """Watch each test cell once judged."""
        if self.watch is not None:
            self.watch(cell, index)


def _blank_passes(nb, part):
    from nbgrader.utils import determine_grade

    for index in part:
        cell = nb.cells[index]
        if verdicts.is_test_cell(cell):
            score, points = determine_grade(cell)
            if score:
                yield cell.metadata.nbgrader.get("grade_id", f"cell {index}"), score


_done: dict = {}  # (course root, assignment) -> PreflightReport, in this process


def once(config, root, assignment):
    """:func:`run`, once per process for each course root and assignment (a failure is not kept:
    the next call tries again, and fails again if nothing changed)."""
    key = (os.path.realpath(root), assignment)
    if key not in _done:
        _done[key] = run(config, root, assignment)
    return _done[key]


def done(root, assignment):
    """The PreflightReport this process passed for ``assignment``, or None."""
    return _done.get((os.path.realpath(root), assignment))


class PreflightHook:
    """``c.Autograde.pre_convert_hook``: the preflight before the first submission of each assignment.

    nbgrader calls it before it writes the submission's gradebook rows, and logs any Exception
    and goes on; so a failed preflight ends the process with SystemExit (a BaseException):
    non-zero exit, the message, no student row written. Its config is the running
    ``nbgrader autograde``'s (with its command-line options) where there is one, else the one
    ``nbgrader_config.py`` built (the formgrader's NbGraderAPI).
    """
    def __init__(self, config):
        self.config = config

    def __deepcopy__(self, memo):
        return self  # traitlets deep-copies config values: the hook must keep the config itself

    def __call__(self, assignment=None, student=None, notebooks=()):
        app = running_autograde_app()
        config = app.config if app is not None else self.config
        root = config.CourseDirectory.get("root") or os.getcwd()
        if notebooks:  # submitted/<student>/<assignment>/<notebook>: nbgrader's own assignment may be a glob
            assignment = Path(notebooks[0]).parent.name
        fresh = done(root, assignment) is None
        try:
            result = once(config, root, assignment)
        except PreflightError as error:
            raise SystemExit(str(error)) from None
        if fresh and app is not None:
            app.log.info(result.summary())
