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
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert figures, f"{path.name} shows no figure"


# ------------------------------------------------------------------ notation (issue 16, item 4)

ROOT = NOTEBOOKS.parent
RENDERED = NOTEBOOKS / "rendered"
COURSE_NOTEBOOKS = (lectures() + sorted(RENDERED.glob("*.ipynb")) + sorted((ROOT / "source").glob("*/*.ipynb"))
                    + sorted((ROOT / "release").glob("*/*.ipynb")))


def markdown(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def test_a_numbered_o_says_which_index_it_is():
    """o_1 stood for the first input and for hidden neuron 1's output in one display of lecture 2:
    with a number, the index is named, o_{i=1} or o_{j=1}, as the text writes w_{j=1,l=3}."""
    bare = [(p.name, m.group()) for p in COURSE_NOTEBOOKS for text in markdown(p)
            for m in re.finditer(r"(?<![A-Za-z\\])o_\{?\d", text)]
    assert not bare, bare


def test_capital_delta_is_only_a_gradient():
    """Δ_{w_jl} is lecture 3's gradient; the δ matrices of lecture 5 are D_l and D_j."""
    others = [(p.name, text[m.start():m.end() + 8]) for p in COURSE_NOTEBOOKS for text in markdown(p)
              for m in re.finditer(r"\\Delta_", text) if not re.match(r"\{[wb]", text[m.end():])]
    assert not others, others


def test_the_network_has_three_inputs():
    for path in COURSE_NOTEBOOKS:
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        assert "2-2-1" not in text, f"{path.name} calls the text's 3-2-1 network 2-2-1"


def test_lecture_5_states_its_weight_layout_against_lecture_4s():
    """W is (J, I) in lecture 4 (a row per neuron) and (I, J) in lecture 5 (a column per neuron)."""
    lecture_4 = "\n".join(c.source for c in nbformat.read(NOTEBOOKS / EXPECTED[3], as_version=4).cells)
    assert "W_h (J, I)" in lecture_4 and "W_o (L, J)" in lecture_4
    cells = markdown(NOTEBOOKS / EXPECTED[4])
    assert any("$(J, I)$" in c and "$(I, J)$" in c and "W_h^T" in c and "lecture 4" in c.lower() for c in cells)


def test_assignment_2_points_to_the_lecture_that_teaches_epochs():
    """Exercise 2 asks for online gradient descent over epochs: the lecture it links teaches both."""
    recap = next(c.source for c in nbformat.read(ROOT / "source/02_backprop/backprop.ipynb", as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "train_recap")
    (target,) = re.findall(r"Online gradient descent \(\[[^]]*\]\(\.\./\.\./notebooks/([^)]+)\)", recap)
    taught = "\n".join(markdown(NOTEBOOKS / target))
    for words in ("**epoch**", "**Online** gradient descent", "**Batch** gradient descent"):
        assert words in taught, f"{target} does not teach {words}"


# ------------------------------------------------------------------ navigation (issue 16, item 6)

LINK = re.compile(r"\]\(([^)\s]+)\)")


def local_links(path):
    """(text of the link target, the file it points to) of every relative Markdown link."""
    for text in markdown(path):
        for url in LINK.findall(text):
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url) or url.startswith("#"):
                continue
            yield url, (path.parent / url.split("#")[0]).resolve()


def test_every_link_between_notebooks_resolves():
    broken = [f"{p.relative_to(ROOT)} → {url}" for p in COURSE_NOTEBOOKS for url, target in local_links(p)
              if not target.exists()]
    assert not broken, "\n".join(broken)


def test_lectures_link_to_the_assignments_and_back():
    assignments = {p.resolve() for p in (ROOT / "release").glob("*/*.ipynb")}
    linked = set()
    for lecture in lectures():
        targets = {t for _, t in local_links(lecture)} & assignments
        assert targets, f"{lecture.name} links to no assignment under release/"
        linked |= targets
    assert linked == assignments, f"no lecture links to {sorted(map(str, assignments - linked))}"
    for assignment in sorted((ROOT / "source").glob("*/*.ipynb")):
        assert any(t.parent == NOTEBOOKS.resolve() for _, t in local_links(assignment)), assignment.name


# ------------------------------------------------------------------ the rendered copies for GitHub (item 6)

def test_every_lecture_has_one_rendered_copy():
    assert sorted(p.name for p in RENDERED.glob("*.ipynb")) == [p.name for p in lectures()], "run `make rendered`"


@pytest.mark.parametrize("path", lectures(), ids=lambda p: p.name)
def test_the_rendered_copy_is_its_lecture_executed(path):
    """notebooks/rendered/ holds each lecture with its outputs, for GitHub: same cells, run top to bottom."""
    from backprop_course.tools.rendered import expected_cells

    copy = nbformat.read(RENDERED / path.name, as_version=4)
    nbformat.validate(copy)
    names = {p.name for p in lectures()}
    cells = [(c.cell_type, c.source) for c in copy.cells]
    assert cells == expected_cells(nbformat.read(path, as_version=4), path.name, names), \
        f"notebooks/rendered/{path.name} is out of date: run `make rendered`"
    code = [c for c in copy.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "not one run from top to bottom"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})], \
        "GitHub draws no widget: a widget must be replaced by its snapshot"
    assert "widgets" not in copy.metadata

