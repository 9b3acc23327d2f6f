"""The whole grading job, through nbgrader, on the catalogue of submissions in one batch.

Correct solutions get full marks; each mistake loses points on its own exercise only, and
its feedback names it, on every test cell of that exercise it fails; broken folders are reported and the rest is graded; feedback shows
no hidden test; nothing under submitted/, source/ or release/ changes.
"""
import ast
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from backprop_course.grader.results import report
from backprop_course.grader.run import skipping
from backprop_course.grader.assignments import assignments
from answers.catalogue import CATALOGUE, EXERCISES, NOTEBOOK
from grading_helpers import BROKEN, NAMED_IF_FAILING, RIGHTLY_PASSING, cell_errors, exercise_scores, tree_hashes

from project import ROOT


@pytest.fixture(scope="module")
def graded(graded_catalogue):
    return graded_catalogue


def feedback_html(course, student, assignment):
    return (course / "feedback" / student / assignment / f"{Path(NOTEBOOK[assignment]).stem}.html").read_text()


@pytest.mark.parametrize("assignment", sorted(NOTEBOOK))
def test_the_source_gets_full_marks_and_the_blank_release_zero(graded, assignment):
    _, grader, _, _, _ = graded
    for exercise, (score, top) in exercise_scores(grader, "reference", assignment).items():
        assert score == top > 0, f"the reference loses points on {exercise}"
    assert all(score == 0 for score, _ in exercise_scores(grader, "blank", assignment).values())


@pytest.mark.parametrize("assignment", sorted(NOTEBOOK))
def test_grading_skips_the_demonstrations_source_tags_and_runs_every_other_cell(graded, assignment):
    course = graded[0]
    demos = set(skipping.demos(nbformat.read(ROOT / "source" / assignment / NOTEBOOK[assignment], as_version=4).cells))
    assert demos
    for student in ("reference", "blank", next(s.name for s in CATALOGUE if s.assignment == assignment)):
        nb = nbformat.read(course / "autograded" / student / assignment / NOTEBOOK[assignment], as_version=4)
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells if c.cell_type == "code"}
        skipped = {g for g, c in cells.items() if [o.get("text") for o in c.outputs] == [skipping.NOTE]}
        assert skipped == demos, student
        assert all(c.outputs for g, c in cells.items() if g.startswith("test_")), student


@pytest.mark.parametrize("sub", CATALOGUE, ids=lambda s: f"{s.assignment}:{s.name}")
def test_each_catalogue_submission_is_graded_as_it_deserves(graded, sub):
    course, grader, _, results, _ = graded
    scores = exercise_scores(grader, sub.name, sub.assignment)
    html = feedback_html(course, sub.name, sub.assignment)
    for exercise, code in sub.mistakes.items():
        score, top = scores[exercise]
        if code:
            assert score < top, f"{sub.name}: {exercise} keeps full marks despite [{code}]"
            assert f"[{code}]" in html, f"{sub.name}: the feedback does not name [{code}]"
            assert code in results.mistakes[sub.name, sub.assignment]
            passing = RIGHTLY_PASSING.get(sub.name, {})
            for cell, errors in cell_errors(course, sub.name, sub.assignment).items():
                if assignments()[sub.assignment].exercise_of(cell) == exercise:
                    named_if_failing = errors and (sub.name, cell) in NAMED_IF_FAILING
                    assert (errors == "") if cell in passing and not named_if_failing else (f"[{code}]" in errors), \
                        f"{sub.name}: {cell} says {errors!r}"
        else:
            assert score == top, f"{sub.name}: {exercise} loses {top - score} points"


def test_broken_folders_are_reported_and_the_rest_graded(graded):
    _, _, submissions, results, _ = graded
    problems = {s.student: s.problem for s in submissions if s.problem}
    assert set(problems) == set(BROKEN), problems
    assert "not valid JSON" in problems["broken-json"] or "not a valid notebook" in problems["broken-json"]
    assert "missing" in problems["renamed-notebook"] and "neuron (1).ipynb" in problems["renamed-notebook"]
    assert "unknown assignment folder '03_convolutions'" in problems["unknown-assignment"]
    assert "no notebook" in problems["no-notebook"]
    graded_students = {student for student, _ in results.scores}
    assert {s.name for s in CATALOGUE} | {"reference", "blank"} <= graded_students


class _Text(HTMLParser):
    """The text a browser shows of a page: tags dropped, entities decoded, no script or style, and
    a typeset formula as its TeX (MathJax's SVG has no text; its MathML's symbols, run together,
    would read "H = 64" as "H=64")."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style", "math")
        if tag == "math":
            self.parts.append(dict(attrs).get("data-latex", ""))

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style", "math") and self._hidden > 0

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def rendered_text(page_html):
    parser = _Text()
    parser.feed(page_html)
    parser.close()
    return "".join(parser.parts)


def _numeric(node):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _numeric(node.operand)
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_numeric(e) for e in node.elts)
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def hidden_test_secrets(assignment):
    """What the hidden tests of source/<assignment> must never show: each hidden call as written,
    and each of its numeric arguments (seed=41, nets=[…]), unless the released notebook shows it too."""
    released = "\n".join(c.source for c in nbformat.read(ROOT / "release" / assignment / NOTEBOOK[assignment],
                                                          as_version=4).cells)
    secrets = set()
    for cell in nbformat.read(ROOT / "source" / assignment / NOTEBOOK[assignment], as_version=4).cells:
        if "### BEGIN HIDDEN TESTS" not in cell.source:
            continue
        block = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Call):
                secrets.add(ast.get_source_segment(block, node))
                secrets.update(ast.get_source_segment(block, k) for k in node.keywords if _numeric(k.value))
    return sorted(s for s in secrets if s not in released)


def hidden_test_leaks(page_html, assignment):
    """The hidden-test secrets of ``assignment`` that a page shows, and the delimiter if it shows it."""
    text = rendered_text(page_html)
    return [s for s in hidden_test_secrets(assignment) + ["HIDDEN TESTS"] if s in text]


def test_feedback_never_shows_hidden_tests(graded):
    course, _, _, _, _ = graded
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) >= len(CATALOGUE)
    for page in pages:
        assert hidden_test_leaks(page.read_text(), page.parent.name) == [], page


@pytest.mark.parametrize("assignment", sorted(NOTEBOOK))
def test_the_hidden_test_search_finds_hidden_tests_on_a_page_that_shows_them(assignment):
    """The search above can fail: nbconvert's HTML of the source notebook (its hidden tests
    syntax-highlighted and escaped, as nbgrader's feedback would show them) leaks every secret."""
    from nbconvert import HTMLExporter

    secrets = hidden_test_secrets(assignment)
    assert len(secrets) >= 4 and any("seed=" in s or "nets=" in s for s in secrets), secrets
    page, _ = HTMLExporter().from_notebook_node(nbformat.read(ROOT / "source" / assignment / NOTEBOOK[assignment],
                                                              as_version=4))
    assert secrets[0] not in page  # highlighted: the raw source is not in the HTML ...
    assert hidden_test_leaks(page, assignment) == secrets + ["HIDDEN TESTS"]  # ... but in what it shows


def test_grading_changes_nothing_it_reads(graded):
    course, _, _, _, before = graded
    for name, hashes in before.items():
        assert tree_hashes(course / name) == hashes, f"grading changed {name}/"


def test_the_report_counts_named_mistakes(graded, tmp_path):
    _, _, _, results, _ = graded
    counts = report.mistake_counts(results)
    expected = {code for sub in CATALOGUE for code in sub.mistakes.values() if code}
    assert expected <= set(counts), expected - set(counts)
    html = report.render(results).replace("\n", " ")
    assert html.count("data:image/png;base64,") >= 3
    assert "blank" in html and "broken-json" in html


def test_the_committed_demo_class_is_what_its_generator_writes(tmp_path):
    from backprop_course.tools import demo_class

    demo_class.main(tmp_path)
    committed = ROOT / "examples" / "demo_class" / "submitted"
    assert tree_hashes(tmp_path) == tree_hashes(committed), "run `make demo-class` and commit it"
    assert len(demo_class.CLASS) >= 8
