"""The grade report's numbers, read off the report and checked against the gradebook.

The catalogue class is graded once (conftest's ``graded_catalogue``). The report's HTML gives
the summary line, each student's score per assignment and the count of each named mistake;
its plots give the pass rate of each exercise and test cell and the score distribution (read
from the matplotlib figures the report draws). Each is compared with what the gradebook holds,
and the mistakes with what the catalogue says each submission did.
"""
from collections import Counter, defaultdict

import matplotlib.figure
import pytest
from nbgrader.api import Gradebook

from backprop_course.grader.results import report
from backprop_course.grader.assignments import assignments
from answers.catalogue import CATALOGUE, EXERCISES
from grading_helpers import BROKEN
from html_page import Page


@pytest.fixture(scope="module")
def rendered(graded_catalogue):
    """The report's HTML, parsed, and the figures it drew, by their axes' x label."""
    _, _, _, results, _ = graded_catalogue
    figures = []
    savefig = matplotlib.figure.Figure.savefig

    def keep(figure, *args, **kwargs):
        figures.append(figure)
        return savefig(figure, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(matplotlib.figure.Figure, "savefig", keep)
        page = report.render(results)
    plots = defaultdict(list)
    for figure in figures:
        for ax in figure.axes:
            plots[ax.get_xlabel()].append(ax)
    return Page(page), plots


@pytest.fixture(scope="module")
def gradebook(graded_catalogue):
    """What the gradebook holds: {(student, assignment): score}, {assignment: max score},
    {assignment: {test cell: [full points?, one per graded submission]}}."""
    _, grader, _, _, _ = graded_catalogue
    scores, tops, cells = {}, {}, defaultdict(lambda: defaultdict(list))
    with Gradebook(grader.db_url) as gb:
        for assignment in gb.assignments:
            tops[assignment.name] = assignment.max_score
            for submission in assignment.submissions:
                scores[submission.student.id, assignment.name] = submission.score
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        cells[assignment.name][grade.name].append(grade.score >= grade.max_score)
    return scores, tops, cells


def test_the_summary_line(rendered, gradebook):
    page, _ = rendered
    scores, _, _ = gradebook
    students = {s for s, _ in scores} | set(BROKEN)
    expected = f"{len(students)} students, {len(scores)} graded submissions, {len(BROKEN)} that could not be graded."
    assert expected in page.paragraphs, page.paragraphs[:3]


def test_each_students_score_is_the_gradebooks(rendered, gradebook):
    page, _ = rendered
    scores, tops, _ = gradebook
    rows = page.table("student")
    assignments = sorted(tops)
    assert list(rows[0]) == ["student", *assignments, "notes"]
    shown = {row["student"]: [row[a] for a in assignments] for row in rows}
    assert set(shown) == {s for s, _ in scores} | set(BROKEN)
    for student, cells in shown.items():
        for assignment, cell in zip(assignments, cells):
            if (student, assignment) in scores:
                assert cell == f"{scores[student, assignment]:g}/{tops[assignment]:g}", (student, assignment)
            elif BROKEN.get(student, ("",))[0] == assignment:
                assert cell == "not graded", (student, assignment)
            else:
                assert cell == "-", (student, assignment)
    # the test can fail: the class is not all at full marks, nor all at zero
    top = f"{tops['02_backprop']:g}"
    assert {f"0/{top}", f"{top}/{top}"} <= {shown[s][1] for s in shown}


def test_the_mistake_counts_are_the_catalogues(rendered):
    """Each mistake counted once per submission that made it, and no other."""
    page, _ = rendered
    rows = page.table("submissions", "mistake", "what it is")
    shown = {row["mistake"]: int(row["submissions"]) for row in rows}
    assert shown == Counter(code for sub in CATALOGUE for code in sub.mistakes.values() if code)


def test_the_pass_rates_are_the_gradebooks(rendered, gradebook):
    _, plots = rendered
    _, _, cells = gradebook
    (ax,) = plots["% of graded submissions with full points"]
    shown = {label.get_text().strip(): bar.get_width() for label, bar in zip(ax.get_yticklabels(), ax.patches)}
    expected = {}
    for assignment, by_cell in cells.items():
        by_exercise = defaultdict(list)
        for cell, passed in by_cell.items():
            expected[cell] = 100 * sum(passed) / len(passed)
            by_exercise[assignments()[assignment].exercise_of(cell)].extend(passed)
        for exercise, passed in by_exercise.items():
            expected[f"{assignment} · {exercise}"] = 100 * sum(passed) / len(passed)
    assert shown.keys() == expected.keys()
    for label, rate in expected.items():
        assert shown[label] == pytest.approx(rate), label
    assert min(expected.values()) < 90, "the class must struggle somewhere, or this proves little"


def test_the_score_histograms_are_the_gradebooks(rendered, gradebook):
    _, plots = rendered
    scores, tops, _ = gradebook
    axes = plots["score"]
    assert [ax.get_title() for ax in axes] == [f"{a} (max {tops[a]:g})" for a in sorted(tops)]
    for ax, assignment in zip(axes, sorted(tops)):
        counted = {round(bar.get_x() + bar.get_width() / 2): bar.get_height() for bar in ax.patches}
        expected = Counter(round(score) for (_, a), score in scores.items() if a == assignment)
        assert {k: v for k, v in counted.items() if v} == expected, assignment
