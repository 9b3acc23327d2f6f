"""Grading that a student's kernel cannot fool.

nbgrader scores a test cell by whether the kernel reported an error. The kernel runs the
student's code, so a student can patch numpy, ``set_custom_exc``, hide tracebacks or
redefine the checks, and every test "passes". :class:`HardenedExecute` replaces nbgrader's
Execute preprocessor at autograde time and, after each test cell, asks the kernel only for
the raw values the student's code produces (the check's *probe*); the *judge* that compares
them with the finite-difference oracle runs here, in the grader's own process. If the
trusted verdict fails, the cell's outputs become that failure, whatever the kernel said.

It also keeps a batch going when one notebook goes wrong: a dead kernel costs the cells from
that point on, not the whole submission, and a flood of output is cut at the source.
"""
from __future__ import annotations

import ast
import json

from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade
from traitlets import Bool, Integer

from ..checks.core import quiet
from ..checks.remote import MARK, REGISTRY


def check_calls(source):
    """The registered checks a test cell calls, in order: (check, object expressions, args, kwargs)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)):
        if isinstance(node.func, ast.Name) and node.func.id in REGISTRY:
            check = REGISTRY[node.func.id]
            objects = [ast.unparse(arg) for arg in node.args[:check.objects]]
            args = [ast.literal_eval(arg) for arg in node.args[check.objects:]]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            calls.append((check, objects, args, kwargs))
    return calls


def error_output(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class HardenedExecute(Execute):
    """nbgrader's Execute, with trusted verdicts, kernel-death handling and an output cap."""

    trusted_verdicts = Bool(True, help="Judge test cells' checks outside the student's kernel.").tag(config=True)
    max_output_chars = Integer(200_000, help="Output kept per cell; the rest is dropped as it arrives.").tag(config=True)

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
                self._judge(cell, index)
        except DeadKernelError:
            self._dead_at = index
            cell.outputs.append(error_output("DeadKernelError", "The kernel died while running this cell "
                                             "(os._exit, a crash, or too much memory)."))
            self.log.warning("Kernel died in cell %d of %s", index + 1, self.resources.get("unique_key", "?"))
        if self._output_chars.get(index, 0) > self.max_output_chars:
            cell.outputs.append(new_output("stream", name="stdout",
                                           text=f"\n[output cut at {self.max_output_chars} characters]\n"))
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._output_chars[cell_index] = self._output_chars.get(cell_index, 0) + size
        if self._output_chars[cell_index] > self.max_output_chars:
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _judge(self, cell, index):
        """Run each check's probe in the kernel and its judge here; on failure, overwrite the outputs."""
        for check, objects, args, kwargs in check_calls(cell.source):
            reveal = kwargs.pop("reveal", False)
            verdict = self._verdict(check, objects, args, kwargs, reveal, index)
            if verdict is not None:
                if not any(o.output_type == "error" for o in cell.outputs):
                    # the kernel claims a pass: keep what the student printed, not the ✓ lines
                    kept = [o for o in cell.outputs if o.output_type == "stream" and o.get("name") == "stdout"
                            and "✓" not in o.get("text", "")]
                    cell.outputs = kept + [verdict]
                return

    def _verdict(self, check, objects, args, kwargs, reveal, index):
        with quiet(Warning):
            scenario = check.scenario(*args, **kwargs)
            code = (f"__import__('backprop_course.checks.remote', fromlist=['probe']).probe("
                    f"{check.name!r}, lambda: ({', '.join(objects)},), {json.dumps(scenario)!r})")
            probe = new_code_cell(code)
            cell = self.nb.cells[index]
            try:
                self.execute_cell(probe, index, store_history=False)
            finally:
                self.nb.cells[index] = cell  # nbclient stores the cell it ran at its index
            lines = [line for out in probe.outputs if out.output_type == "stream"
                     for line in out.get("text", "").splitlines() if line.startswith(MARK)]
            try:
                result = json.loads(lines[-1][len(MARK):]) if lines else None
            except ValueError:  # the student's code printed the mark itself
                result = None
            if not isinstance(result, dict):
                return error_output("WrongAnswer", "The grader could not read your code's results "
                                    "(did it replace print, sys.stdout or the kernel's output?).")
            if "raised" in result:
                return error_output("WrongAnswer", f"Running your code raised {result['raised']}")
            try:
                check.judge(scenario, result["observed"], reveal)
            except AssertionError as failure:
                return error_output(type(failure).__name__, str(failure))
            except Exception as failure:  # a malformed observation is the student's code's doing
                return error_output("WrongAnswer", f"Your code's results have an unexpected form: {failure}")
        return None
