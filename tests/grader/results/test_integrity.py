"""Integrity notes (grader/integrity.py, read by grader/review.py through the intake): what a
submission's code does that no honest answer needs, each note naming the cell and the line.

- the whole catalogue (every correct style and honest mistake), the source, the release and the
  demo class get no note; so does the graded catalogue, through the real pipeline;
- each kind of reaching beyond the exercise gets its note, wherever in the notebook it hides
  (a solution cell, a cell the student added, behind a magic);
- a test cell the student changed is not read (nbgrader puts the release's back);
- hostile text is bounded: a 100,000-level nested expression, a cell of megabytes;
- a note changes no score: it reaches report.html and the review column, nothing else.
"""
import csv
import dataclasses

import nbformat
import pytest

from backprop_course.grader.results import integrity, report, review
from answers.catalogue import CATALOGUE, NOTEBOOK, build_notebook
from review_helpers import ROOT, cells_of, course_of, submission, write

DEMO_CLASS = ROOT / "examples" / "demo_class"


def rules_of(assignment):
    release = review.read_release([nbformat.read(ROOT / "release" / assignment / NOTEBOOK[assignment], as_version=4)])
    settings = review.Integrity()
    return release, integrity.rules_from_release(release.cells, settings.modules,
                                                 settings.numerical_exercises.get(assignment, ()))


def notes_of(assignment, notebook):
    """The notes on an nbformat notebook handed in for ``assignment``."""
    release, rules = rules_of(assignment)
    cells = review.student_cells([(NOTEBOOK[assignment], nbformat.writes(notebook).encode())], release)
    return integrity.read_cells(cells, rules)


def test_the_catalogue_source_and_release_get_no_note():
    for assignment in NOTEBOOK:
        handed_in = {s.name: build_notebook(s, hidden_tests=False) for s in CATALOGUE if s.assignment == assignment}
        for folder in ("source", "release"):
            handed_in[folder] = nbformat.read(ROOT / folder / assignment / NOTEBOOK[assignment], as_version=4)
        assert len(handed_in) > 10
        noted = {name: [str(n) for n in notes_of(assignment, nb)] for name, nb in handed_in.items()}
        assert not {name: notes for name, notes in noted.items() if notes}


def test_the_demo_class_gets_no_note():
    found = review.of_course(course_of(DEMO_CLASS))
    assert len(found.notes) >= 30 and not found.noted, found.noted


def test_the_graded_catalogue_gets_no_note_through_the_pipeline(graded_catalogue):
    course, grader, submissions, results, _ = graded_catalogue
    found = review.of_course(grader, submissions)
    graded = [s for s in submissions if not s.problem]
    assert len(found.notes) == len(graded) and not found.noted
    html = report.render(dataclasses.replace(results, review=found))   # the shared fixture's results stay as they are
    assert '<h2 id="integrity">Integrity</h2>' in html and '<h2 id="similar">Similar submissions</h2>' in html
    assert html.split('<h2 id="integrity">', 1)[1].split("</table>")[0].count("<tr>") == 0   # no note listed


#: (name, exercise it hides in, code, words of its note, the line of the code that note is on, from 0);
#: the code goes at the end of that solution cell (a cell magic: at its start, where IPython reads one)
HOSTILE = [
    ("importlib", "neuron_forward", "import importlib\nchecks = importlib.import_module('numpy')", "imports importlib", 0),
    ("dunder-import", "neuron_forward", "os_module = __import__('os')", "__import__()", 0),
    ("sys-modules", "neuron_forward", "import sys\nloaded = sys.modules", "reads sys.modules", 1),
    ("gc", "loss", "import gc\neverything = gc.get_objects()", "imports gc", 0),
    ("frames", "loss", "def peek():\n    import inspect\n    return inspect.currentframe().f_back.f_globals", "f_back", 2),
    ("globals-of-a-check", "loss", "def peek(f):\n    return f.__globals__", "__globals__", 1),
    ("course-internals", "derivatives", "from backprop_course.checks.core import MISTAKES", "the course's own package", 0),
    ("course-package-by-string", "derivatives", "x = 1\nwhere = 'backprop_course/checks/oracle.py'", "course's package", 1),
    ("read-a-file", "derivatives", "secret = open('/etc/hostname').read()", "open(): opens a file", 0),
    ("list-files", "activations", "import os\nfound = os.listdir('/')", ".listdir()", 1),
    ("numpy-reads", "activations", "weights = np.load('weights.npy')", ".load()", 0),
    ("events", "activations", "get_ipython().events.register('post_run_cell', print)", "events.register", 0),
    ("transformers", "activations", "get_ipython().input_transformers_post.append(str)", "input_transformers_post", 0),
    ("custom-exc", "activations", "get_ipython().set_custom_exc((AssertionError,), print)", "set_custom_exc", 0),
    ("patch-numpy", "neuron_forward", "np.allclose = lambda *args, **kwargs: True", "changes np.allclose", 0),
    ("redefine-a-check", "neuron_forward", "def check_loss(*args, **kwargs):\n    return None", "redefines check_loss", 0),
    ("shell", "loss", "!cat /etc/passwd", "shell command", 0),
    ("behind-a-magic", "loss", "x = 2\n%time import subprocess", "imports subprocess", 1),
    ("cell-magic", "loss", "%%bash\nls /", "the magic %bash", 0),
    ("finite-difference", "derivatives", "def slope(f, x, h=1e-6):\n    return (f(x + h) - f(x - h)) / (2 * h)",
     "finite-difference derivative", 1),
]


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """01_neuron: one student per HOSTILE case, the reference solution with that code in one
    solution cell; and one who hides code in a cell of their own at the notebook's end.
    Returns (the review, {case: line of the cell where its code begins}, cells of that notebook)."""
    class_dir = tmp_path_factory.mktemp("hostile")
    reference = next(s for s in CATALOGUE if s.name == "01-reference")
    starts = {}
    for name, exercise, code, _, _ in HOSTILE:
        cells = cells_of(reference)
        if code.startswith("%%"):
            starts[name], cells[exercise] = 1, code + "\n" + cells[exercise]
        else:
            starts[name], cells[exercise] = len(cells[exercise].splitlines()) + 1, cells[exercise] + "\n" + code
        write(class_dir, name, submission("01_neuron", cells))
    path = write(class_dir, "added-cell", reference)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import ctypes\nmemory = ctypes.string_at(0, 8)"))
    nbformat.write(notebook, path)
    return review.of_course(course_of(class_dir)), starts, len(notebook.cells)


@pytest.mark.parametrize("name, exercise, code, words, at", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_each_reach_beyond_the_exercise_is_noted_with_its_cell_and_line(hostile_class, name, exercise, code, words, at):
    found, starts, _ = hostile_class
    notes = found.notes[(name, "01_neuron")]
    assert any(n.cell == exercise and n.line == starts[name] + at and words in n.what for n in notes), \
        (starts[name] + at, [str(n) for n in notes])
    assert all(n.cell == exercise for n in notes)


def test_a_cell_the_student_added_is_read(hostile_class):
    found, _, cells = hostile_class
    assert [str(n) for n in found.notes[("added-cell", "01_neuron")]] == \
        [f"cell {cells}, line 1: imports ctypes: raw memory"]


def test_numerical_differences_are_noted_where_a_derivative_is_asked_not_in_grad_check():
    quotient = "\n\ndef slope(f, x, h=1e-5):\n    return (f(x + h) - f(x - h)) / (2 * h)\n"
    calls = "\n\ndef numeric_dx(dout, x, W, b):\n    return grad_check(lambda v: np.sum(dense_forward(v, W, b)[0] * dout), x)\n"
    style = next(s for s in CATALOGUE if s.name == "03-correct-loops")
    for exercise, expected in (("dense_layer", 2), ("grad_check", 0)):
        cells = cells_of(style)
        cells[exercise] += quotient + calls
        notes = notes_of("03_vectorised", build_notebook(submission("03_vectorised", cells), hidden_tests=False))
        assert len(notes) == expected, [str(n) for n in notes]
        assert all(n.cell == exercise for n in notes)


def test_a_changed_test_cell_is_not_read():
    """nbgrader puts a locked cell back from the release before it runs: what a student wrote
    there never runs, and is no note."""
    notebook = build_notebook(next(s for s in CATALOGUE if s.name == "01-reference"), hidden_tests=False)
    test_cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade"))
    test_cell.source = "import os\n" + test_cell.source
    assert notes_of("01_neuron", notebook) == []


NESTED = {"minus": "x = " + "-" * 100_000 + "1", "plus": "x = " + " + ".join(["net"] * 100_000),
          "parentheses": "x = " + "(" * 100_000 + ")" * 100_000, "calls": "x = f" + "()" * 100_000}


@pytest.mark.parametrize("kind", NESTED)
def test_a_100000_level_nested_expression_is_noted_not_a_crash(kind):
    _, rules = rules_of("01_neuron")
    (note,) = integrity.read_cells([("loss", "y = 1\n" + NESTED[kind])], rules)
    assert (note.cell, note.line) == ("loss", 1) and "could not read this cell: nested too deep" in note.what


def test_huge_code_is_read_up_to_a_cap_and_noted(tmp_path):
    reference = next(s for s in CATALOGUE if s.name == "01-reference")
    cells = cells_of(reference)
    cells["loss"] = "x = 1\n" * 20_000 + cells["loss"]
    write(tmp_path, "huge", submission("01_neuron", cells))
    cells = cells_of(reference)
    cells["derivatives"] = NESTED["minus"][:30_000] + "\n" + cells["derivatives"]
    write(tmp_path, "nested", submission("01_neuron", cells))
    write(tmp_path, "honest", reference)
    found = review.of_course(course_of(tmp_path))
    cap = review.Integrity().max_code_chars
    (note,) = found.notes[("huge", "01_neuron")]
    read_before = sum(len(c) for e, c in cells_of(reference).items() if e in ("activations", "derivatives"))
    assert (note.cell, note.line) == ("loss", (cap - read_before) // len("x = 1\n") + 1)
    assert f"the grader read the first {cap:,}" in note.what
    (note,) = found.notes[("nested", "01_neuron")]
    assert (note.cell, note.line) == ("derivatives", 1) and "nested too deep" in note.what
    assert found.notes[("honest", "01_neuron")] == []
    assert found.comparisons["01_neuron"].documents == 3


def test_a_note_changes_no_score(graded_catalogue, tmp_path):
    """The review column is the only difference a note makes to grades.csv: every score stays."""
    from nbgrader.api import Gradebook

    from backprop_course.grader.results.export import GradesCsv

    _, grader, submissions, _, _ = graded_catalogue
    noted = review.ClassReview(review.Similarity().settings)
    for sub in submissions:
        noted.notes[(sub.student, sub.assignment)] = [integrity.Note("loss", 1, "imports os")]
    rows = {}
    for name, found in (("plain", review.ClassReview(review.Similarity().settings)), ("noted", noted)):
        plugin = GradesCsv(to=str(tmp_path / f"{name}.csv"))
        plugin.review = found
        with Gradebook(grader.db_url) as gradebook:
            plugin.export(gradebook)
        with open(tmp_path / f"{name}.csv", newline="", encoding="utf-8") as f:
            rows[name] = list(csv.DictReader(f))
    assert len(rows["plain"]) == len(rows["noted"]) > 50
    for plain, with_note in zip(rows["plain"], rows["noted"]):
        handed_in = (with_note["student_id"], with_note["assignment"]) in noted.notes
        assert plain["review"] == "" and with_note["review"] == ("1 integrity note (see report.html)" if handed_in else "")
        assert {k: v for k, v in plain.items() if k != "review"} == {k: v for k, v in with_note.items() if k != "review"}
