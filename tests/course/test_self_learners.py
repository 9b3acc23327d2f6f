"""The self-learner's path of the README: public tests without nbgrader, and `make solutions`."""
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from answers.catalogue import NOTEBOOK, reference_cells, strip_markers
from grading_helpers import course_copy

from project import ROOT


@pytest.mark.parametrize("assignment", sorted(NOTEBOOK))
def test_the_released_notebook_runs_its_tests_without_nbgrader(assignment, tmp_path):
    """A self-learner's kernel needs the course package, not nbgrader: the released notebook,
    filled in with the reference solution, runs top to bottom where `import nbgrader` fails."""
    nb = nbformat.read(ROOT / "release" / assignment / NOTEBOOK[assignment], as_version=4)
    answers = {gid: strip_markers(source) for gid, source in reference_cells(assignment).items()}
    cells = [answers.get(c.metadata.get("nbgrader", {}).get("grade_id"), c.source)
             for c in nb.cells if c.cell_type == "code"]
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.modules["nbgrader"] = None          # `import nbgrader` raises ImportError from here on
        import matplotlib
        matplotlib.use("Agg")
        namespace = {{"__name__": "__main__"}}
        for number, source in enumerate({cells!r}):
            exec(compile(source, f"<cell {{number}}>", "exec"), namespace)
        assert "nbgrader" not in [m.split(".")[0] for m in sys.modules if sys.modules[m] is not None]
        print("all cells ran")
        """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "all cells ran" in result.stdout and result.stdout.count("✓") >= 3


def test_make_solutions_writes_executed_solution_notebooks(tmp_path, nbgrader_env):
    """`make solutions` in a copy of the course: every assignment's solution notebook, run, every test passing."""
    course_copy(tmp_path, folders=("source",))
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(["make", "-f", str(ROOT / "Makefile"), "solutions", f"BIN={bin_dir}", "STAMP=", "GRADER=", "DEV="],
                            cwd=tmp_path, env=nbgrader_env, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    for assignment, notebook in NOTEBOOK.items():
        nb = nbformat.read(tmp_path / "solutions" / assignment / notebook, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{assignment}: not executed"
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{assignment}: {errors[0].ename}: {errors[0].evalue}"
        text = "\n".join(c.source for c in nb.cells)
        for source in reference_cells(assignment).values():
            assert source in text, f"{assignment}: a solution is missing"
    ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "solutions/01_neuron/neuron.ipynb"])
    assert ignored.returncode == 0, "solutions/ must be git-ignored"
