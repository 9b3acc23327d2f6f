"""A cell's output that takes longer than nbclient's iopub_timeout to be read after the kernel's
reply (a flood of output on a loaded machine) is read to its end, never a crash of the notebook.

The load is made deterministic: the grader reads each output message slowly (0.4 s), so six
messages need more than the iopub_timeout of 1 s after the reply. Stock nbgrader (whose Execute
raises on an IOPub timeout) fails the whole notebook there; GradingExecute keeps every cell.
"""
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from backprop_course.grader.run.execute import GradingExecute

PRINTS = "import sys\nfor k in range(6):\n    print(f'chunk {k}'); sys.stdout.flush()\n"


class SlowReader(GradingExecute):
    """The grading Execute on a machine so busy that each output message takes 0.4 s to read."""

    def output(self, outs, msg, display_id, cell_index):
        time.sleep(0.4)
        return super().output(outs, msg, display_id, cell_index)


@pytest.fixture
def unsandboxed(monkeypatch):
    monkeypatch.setenv("BACKPROP_SANDBOX", "off")  # about nbclient's timing, not the sandbox


def notebook():
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [new_code_cell(PRINTS), new_code_cell("print('after')")]
    return nb


def test_output_read_after_the_iopub_timeout_is_kept_and_the_notebook_goes_on(unsandboxed, tmp_path):
    nb = notebook()
    SlowReader(iopub_timeout=1, timeout=30).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    first = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    assert first.split() == [w for k in range(6) for w in ("chunk", str(k))], nb.cells[0].outputs
    assert not any(o.output_type == "error" for cell in nb.cells for o in cell.outputs), nb.cells
    assert "".join(o.get("text", "") for o in nb.cells[1].outputs) == "after\n"


def test_stock_behaviour_would_have_failed_the_notebook(unsandboxed, tmp_path):
    """The same machine with nbclient raising on an IOPub timeout, as nbgrader configures it: the
    test above can fail."""
    from nbclient.exceptions import CellTimeoutError

    with pytest.raises(CellTimeoutError):
        SlowReader(iopub_timeout=1, timeout=30, raise_on_iopub_timeout=True).preprocess(
            notebook(), {"metadata": {"path": str(tmp_path)}})
