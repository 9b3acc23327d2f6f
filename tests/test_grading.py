"""The whole grading job, through nbgrader, on the catalogue of submissions in one batch.

Correct solutions get full marks; each mistake loses points on its own exercise only, and
its feedback names it; broken folders are reported and the rest is graded; feedback shows
no hidden test; nothing under submitted/, source/ or release/ changes.
"""
import shutil
from pathlib import Path

import nbformat
import pytest

from backprop_course.grader import pipeline, report
from backprop_course.tools.catalogue import CATALOGUE, NOTEBOOK, build_notebook
from grading_helpers import exercise_scores, tree_hashes

ROOT = Path(__file__).resolve().parent.parent
BROKEN = {  # student -> (assignment folder, files), each reported, none graded
    "broken-json": ("02_backprop", {"backprop.ipynb": '{"cells": [ {"cell_type": "code",'}),
    "renamed-notebook": ("01_neuron", {"neuron (1).ipynb": None}),
    "unknown-assignment": ("03_convolutions", {"conv.ipynb": None}),
    "no-notebook": ("01_neuron", {"notes.txt": "I ran out of time"}),
}


def write(path, notebook):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, nbgrader_env, monkeypatch_module):
    """A class of every catalogue submission, the source, the blank release and broken folders, graded once."""
    monkeypatch_module.setenv("PATH", nbgrader_env["PATH"])
    course = tmp_path_factory.mktemp("course")
    for name in ("source", "release"):
        shutil.copytree(ROOT / name, course / name)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    submitted = course / "submitted"
    for sub in CATALOGUE:
        write(submitted / sub.name / sub.assignment / NOTEBOOK[sub.assignment], build_notebook(sub, hidden_tests=False))
    for assignment, notebook in NOTEBOOK.items():
        shutil.copytree(ROOT / "source" / assignment, submitted / "reference" / assignment)
        shutil.copytree(ROOT / "release" / assignment, submitted / "blank" / assignment)
    for student, (assignment, files) in BROKEN.items():
        for name, text in files.items():
            path = submitted / student / assignment / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text if text is not None else (ROOT / "release/01_neuron/neuron.ipynb").read_text())
    before = {name: tree_hashes(course / name) for name in ("submitted", "source", "release")}
    grader = pipeline.Course(root=course)
    grader.release()
    submissions = grader.autograde(grader.submissions(), jobs=2)
    grader.feedback(submissions)
    results = report.collect(grader.db_url, grader.class_path, course / "source",
                             {(s.student, s.assignment): s.problem for s in submissions if s.problem})
    return course, grader, submissions, results, before


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def feedback_html(course, student, assignment):
    return (course / "feedback" / student / assignment / f"{Path(NOTEBOOK[assignment]).stem}.html").read_text()


@pytest.mark.parametrize("assignment", sorted(NOTEBOOK))
def test_the_source_gets_full_marks_and_the_blank_release_zero(graded, assignment):
    _, grader, _, _, _ = graded
    for exercise, (score, top) in exercise_scores(grader, "reference", assignment).items():
        assert score == top > 0, f"the reference loses points on {exercise}"
    assert all(score == 0 for score, _ in exercise_scores(grader, "blank", assignment).values())


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


def test_feedback_never_shows_hidden_tests(graded):
    course, _, _, _, _ = graded
    source = {a: nbformat.read(ROOT / "source" / a / nb, as_version=4) for a, nb in NOTEBOOK.items()}
    hidden_lines = {a: [line.strip() for cell in nb.cells if "BEGIN HIDDEN TESTS" in cell.source
                        for line in cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0].splitlines()
                        if "(" in line and "import" not in line]
                    for a, nb in source.items()}
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) >= len(CATALOGUE)
    for page in pages:
        text = page.read_text()
        assignment = page.parent.name
        assert "HIDDEN TESTS" not in text, page
        for line in hidden_lines[assignment]:
            call = line.split("(")[1][:40]
            assert call not in text, f"{page} shows a hidden test: {line}"


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
