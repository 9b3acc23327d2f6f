"""The lecture notebooks: stored clean, linked, and each runs top to bottom in a fresh kernel."""
import os
import re
from pathlib import Path

import nbformat
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = [
    "01_the_neuron.ipynb",
    "02_two_layer_network.ipynb",
    "03_loss_and_gradients.ipynb",
    "04_backpropagation.ipynb",
    "05_neurons_to_matrices.ipynb",
    "06_batches_and_classification.ipynb",
]


def lectures():
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def test_the_series_is_ordered_and_complete():
    names = [p.name for p in lectures()]
    assert names[: len(EXPECTED)] == EXPECTED
    numbers = [int(n[:2]) for n in names]
    assert numbers == list(range(1, len(names) + 1))


@pytest.mark.parametrize("path", lectures(), ids=lambda p: p.name)
def test_stored_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a code cell has stored outputs"
            assert cell.execution_count is None, f"{path.name}: an execution count is stored"


@pytest.mark.parametrize("path", lectures(), ids=lambda p: p.name)
def test_ends_with_check_yourself_and_links_resolve(path):
    nb = nbformat.read(path, as_version=4)
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "Check yourself" in last.source
    assert last.source.count("<details>") >= 3
    assert last.source.count("<details>") == last.source.count("</details>")
    assert last.source.count("<summary>") == last.source.count("</summary>")
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for target in re.findall(r"\]\(([^)#]+\.ipynb)\)", cell.source):
                assert (NOTEBOOKS / target).exists(), f"{path.name} links to missing {target}"


@pytest.mark.parametrize("path", lectures(), ids=lambda p: p.name)
def test_runs_top_to_bottom(path):
    """Executes the notebook in a fresh python3 kernel; any exception fails the test."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
