"""The lecture notebooks: stored clean, linked, and each runs top to bottom in a fresh kernel."""
import os
import re

import nbformat
import pytest

from project import ROOT

os.environ.setdefault("MPLBACKEND", "Agg")

NOTEBOOKS = ROOT / "notebooks"
EXPECTED = [
    "01_the_neuron.ipynb",
    "02_two_layer_network.ipynb",
    "03_loss_and_gradients.ipynb",
    "04_backpropagation.ipynb",
    "05_neurons_to_matrices.ipynb",
    "06_batches_and_classification.ipynb",
    "07_autodiff_and_generalisation.ipynb",
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



# ------------------------------------------------------------------ issue 25: one Neuron, transfer, errata

SOURCE = sorted((ROOT / "source").glob("*/*.ipynb"))
NEURON_NOTEBOOKS = [NOTEBOOKS / EXPECTED[k] for k in (0, 1, 3, 4)] + [ROOT / "source/01_neuron/neuron.ipynb",
                                                                      ROOT / "source/02_backprop/backprop.ipynb"]


def course_markdown(path):
    """The markdown a reader reads: a lecture's markdown cells and figure descriptions, an assignment's markdown."""
    cells = nbformat.read(path, as_version=4).cells
    return [c.source for c in cells if c.cell_type == "markdown"] + [c.metadata["alt"] for c in cells if "alt" in c.metadata]


def neuron_classes(path):
    """Every class named ...Neuron that a notebook defines (its imports, functions and classes run)."""
    from test_no_answers_in_lectures import definitions

    return {name: value for name, value in definitions(path).items() if isinstance(value, type) and name.endswith("Neuron")}


@pytest.mark.parametrize("path", NEURON_NOTEBOOKS, ids=lambda p: p.name)
def test_one_neuron_class_keeps_its_activation_as_a_function(path):
    """Lectures 1-5 and assignments 1-2: `self.activation` holds the function φ, never its name, and no
    code asks `self.activation == 'sigmoid'` (a student who copied that into assignment 2 got ReLU's
    derivative for sigmoid neurons, issue 25)."""
    import inspect

    classes = neuron_classes(path)
    if path.name != EXPECTED[4]:                      # lecture 5 works with matrices and loops, no class
        assert classes, f"{path.name} defines no Neuron class"
    for name, cls in classes.items():
        accepts = inspect.signature(cls).parameters["activation"].default
        neuron = cls(inputsize=2, weights=[0.5, -0.25], bias=0.5, activation=accepts)
        assert callable(neuron.activation), f"{path.name}: {name}.activation is {neuron.activation!r}, not a function"
        assert float(neuron.activation(0.0)) == {"sigmoid": 0.5, "relu": 0.0, "tanh": 0.0}[accepts], (path.name, name)
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert not re.search(r"self\.activation\s*(==|!=|\bin\b)", code), f"{path.name} compares self.activation with a name"


def test_every_exercise_says_what_it_builds_on_and_what_is_new():
    """Each exercise of source/ names the lecture sections it builds on and what is new in it."""
    for path in SOURCE:
        exercises = [c.source for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "markdown" and c.source.startswith("## Exercise")]
        assert exercises, path
        for text in exercises:
            title = text.splitlines()[0]
            builds_on = re.search(r"\*\*Builds on\*\* (.*?)\*\*New here:\*\* (\S.{20,})", text, re.S)
            assert builds_on, f"{path.name}, {title}: no '**Builds on** … **New here:** …'"
            assert re.search(r"\[lecture \d\]\(\.\./\.\./notebooks/0\d_\w+\.ipynb\), sections? \d", builds_on.group(1)), \
                f"{path.name}, {title}: builds on which lecture section?"


def test_lecture_1_names_the_seed_lecture_and_nobody_says_the_text():
    """The lecture the course grew from is named once, in lecture 1, and said what it is; nowhere is it
    "the text" or "the original code" (some 43 times before, issue 25)."""
    first = "\n".join(markdown(NOTEBOOKS / EXPECTED[0]))
    assert re.search(r"\*\*The seed lecture\.\*\* This course grew from .{200,}?\.", first, re.S)
    vague = re.compile(r"(?i)\bthe text(?:'s)?\b|\boriginal code\b|\bthe original\b")
    found = []
    for path in lectures() + sorted(RENDERED.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            found += [f"{path.name}: {m.group()}" for m in vague.finditer(cell.source)]
    for path in SOURCE:  # the assignments' markdown (their code cells are the integrator's)
        found += [f"{path.name}: {m.group()}" for text in markdown(path) for m in vague.finditer(text)]
    assert not found, found


def test_eulers_number_is_written_exp_where_e_is_the_loss():
    """e is the loss from lecture 2 on: Euler's number to a power is written exp(·), never e^…"""
    found = [f"{p.name}: …{text[max(0, m.start() - 30):m.end() + 20]}…" for p in lectures() + SOURCE
             for text in course_markdown(p) for m in re.finditer(r"(?<![\\A-Za-z])e\^", text)]
    assert not found, found


def test_no_lecture_before_lecture_4_uses_delta():
    """δ is defined in lecture 4: lecture 3's "Check yourself" spoke of δ_l before it existed."""
    found = [(p.name, m.group()) for p in lectures()[:3] for text in markdown(p)
             for m in re.finditer(r"\\delta|δ", text)]
    assert not found, found


def test_the_learning_rate_table_has_ηa_2_bounce_and_only_above_it_diverge():
    """At ηa = 2 the factor 1 − ηa is −1: w bounces at the same distance. "ηa ≥ 2: diverging" was wrong,
    and "the smallest η that diverges" has no answer (issue 25)."""
    text = "\n".join(markdown(NOTEBOOKS / EXPECTED[2]))
    rows = [r for r in text.splitlines() if r.startswith("|") and ("diverging" in r or "bouncing" in r)]
    diverging = [r for r in rows if "diverging" in r]
    assert diverging and not any(re.search(r"\\ge\s*2|≥\s*2", r) for r in diverging), diverging
    assert any("exactly $2$" in r and "bouncing" in r for r in rows), rows
    assert "smallest $\\eta$ that diverges." not in text


def test_lecture_6_says_the_scale_its_code_makes():
    """The input-scaling demo: the text states the first coordinate's range the code produces."""
    from backprop_course.lectures.datasets import two_moons

    cells = nbformat.read(NOTEBOOKS / EXPECTED[5], as_version=4).cells
    index = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "X2 = X2 *" in c.source)
    namespace = {"np": __import__("numpy"), "two_moons": two_moons}
    exec("\n".join(cells[index].source.splitlines()[:2]), namespace)
    low, high = namespace["X2"][:, 0].min(), namespace["X2"][:, 0].max()
    stated = re.search(r"from about (\d+) to (\d+)", cells[index - 1].source)
    assert stated, "the text states no range"
    assert abs(float(stated.group(1)) - low) < 100 and abs(float(stated.group(2)) - high) < 100, (stated.group(), low, high)


def test_xavier_is_glorots_and_one_over_fan_in_is_lecuns():
    """Glorot and Bengio's (Xavier) variance is 2/(fan_in + fan_out); 1/fan_in is LeCun's (issue 25)."""
    for path in lectures() + SOURCE:
        for text in course_markdown(path):
            for sentence in re.split(r"(?<=[.;:])\s", text):
                if re.search(r"(?i)xavier|glorot", sentence) and re.search(r"1/\s*\\?(text\{)?fan", sentence):
                    assert re.search(r"2/\s*\(\s*\\?(text\{)?fan", sentence), f"{path.name}: {sentence}"


def test_one_gradient_check_yardstick_from_lecture_4_on():
    """From lecture 4 on every gradient check is measured by the course's relative error (the package's,
    the same as assignment 3's given rel_error), and lecture 4 explains it: its table, kinks and h."""
    import numpy as np

    from backprop_course.lectures.gradcheck import AGREE, rel_error

    given = next(c.source for c in nbformat.read(ROOT / "source/03_vectorised/vectorised.ipynb", as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "given_code")
    namespace = {"np": np}
    exec(given, namespace)
    rng = np.random.default_rng(0)
    for a, b in [(rng.normal(size=(3, 4)), rng.normal(size=(3, 4))), (1e-3, 1.0000001e-3), (0.0, 0.0), (2.0, -2.0)]:
        assert rel_error(a, b) == namespace["rel_error"](a, b)
    assert AGREE == 1e-7
    lecture_4 = "\n".join(markdown(NOTEBOOKS / EXPECTED[3]))
    for words in ("| below $10^{-7}$ |", "| $10^{-7}$ to $10^{-4}$ |", "| $10^{-4}$ to $10^{-2}$ |", "| above $10^{-2}$ |",
                  "**Kinks.**", "**The step $h$.**", "CS231n"):
        assert words in lecture_4, words
    for path in lectures()[3:]:
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert "from backprop_course.lectures.gradcheck import" in code and "rel_error(" in code, path.name
        assert not re.search(r"/\s*(np\.)?(maximum|max)\(|np\.linalg\.norm\([^)]*-", code), \
            f"{path.name} measures a gradient check its own way"


@pytest.mark.parametrize("path", lectures(), ids=lambda p: p.name)
def test_the_header_states_an_honest_reading_time(path):
    """A range of minutes for a careful first read, no shorter than a floor from the lecture's size:
    150 words a minute, 5 s a line of code, half a minute a displayed formula (issue 25: the headers
    said 25-45 minutes where a careful read takes 30-100)."""
    cells = nbformat.read(path, as_version=4).cells
    header = re.search(r"about (\d+)–(\d+) minutes", cells[0].source)
    assert header, f"{path.name}: no 'about A–B minutes' in the header"
    low, high = map(int, header.groups())
    text = " ".join(c.source for c in cells if c.cell_type == "markdown")
    words = len(re.findall(r"\w+", re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " x ", text, flags=re.S)))
    lines = sum(len(c.source.splitlines()) for c in cells if c.cell_type == "code")
    floor = words / 150 + lines * 5 / 60 + text.count("$$") / 2 * 0.5
    assert floor <= low < high, f"{path.name}: about {low}–{high} minutes, the floor is {floor:.0f}"


def test_each_assignment_states_its_time():
    for path in SOURCE:
        intro = nbformat.read(path, as_version=4).cells[0].source
        assert re.search(r"\*About \d+(–\d+)? (minutes|hours?)", intro), path.name


# ------------------------------------------------------------------ the rendered snapshots (issue 25)

def test_a_widget_snapshot_shows_its_own_cell(tmp_path):
    """The rendered copy's picture of a widget is the state its cell left, not the notebook's end:
    lecture 3's explorer showed η·a = 1.600 from the next cell's click."""
    from backprop_course.tools.rendered import execute_with_snapshots, render

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("import ipywidgets as W\nshown = W.HTML('first')\nshown"),
                nbformat.v4.new_code_cell("shown.value = 'second'\nW.HTML('another')")]
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(nb, path)
    executed, snapshots = execute_with_snapshots(str(path), timeout=60)
    copy = render(path, executed, {path.name}, snapshots)
    html = [[o.data["text/html"] for o in c.outputs if "text/html" in o.get("data", {})] for c in copy.cells[1:]]
    assert html == [["first"], ["another"]]


def test_lecture_3s_rendered_explorer_shows_its_own_learning_rate():
    copy = nbformat.read(RENDERED / EXPECTED[2], as_version=4)
    cell = next(c for c in copy.cells if c.cell_type == "code" and c.source.startswith("explorer = learning_rate_explorer("))
    eta = float(re.search(r"eta=([\d.]+)", cell.source).group(1))
    shown = " ".join(o.data["text/html"] for o in cell.outputs if "text/html" in o.get("data", {}))
    assert f"η·a = {eta * 4:.3f}" in shown, shown[:200]
