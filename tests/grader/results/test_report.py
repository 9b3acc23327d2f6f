"""backprop_course.grader.results.report on a small class built by hand: what the report says of each
student, cell and mistake, read back from the gradebook and the autograded notebooks.

No kernel runs here (tests/grader/results/test_report_numbers.py reads the report of a graded class). The
class is one assignment of a course of our own (``a1``: exercises ``loss`` and ``grad``, test
cells of 2, 1 and 3 points), with a second assignment nobody handed in (``a2``), and
students chosen for what the report must tell apart: full points, partial points in a cell
(not a pass), a late penalty, a time refused, files left out, a problem in an assignment the
course does not have, and mistakes named in errors (and not in other outputs).
"""
import base64
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

from backprop_course.checks.mistakes import CODES  # noqa: E402
from backprop_course.grader.results import report  # noqa: E402
from backprop_course.grader.intake.late import TIME_REFUSED  # noqa: E402
from html_page import Page  # noqa: E402

DUE = datetime(2025, 1, 10, 12, 0)
#: test cell -> points
CELLS = {"test_loss": 2, "test_loss_half": 1, "test_grad": 3}
#: student -> (points per test cell, time of submission, late penalty)
GRADED = {"ada": ((2, 1, 3), datetime(2025, 1, 10, 12, 0), 0.0),                 # at the due date: on time
          "bob": ((1, 0, 0), None, 0.0),                           # partial points in test_loss
          "cy": ((2, 1, 0), datetime(2025, 1, 11, 18, 0), 0.3),    # 30 h late
          "eve": ((1.5, 1, 3), datetime(2025, 1, 10, 11, 0), 0.0),  # partial points in test_loss; files left out
          "dan": ((2, 1, 3), datetime(2025, 1, 10, 9, 0), 0.0)}    # in the gradebook, but its time was refused
REFUSED = f"{TIME_REFUSED}: 2025-01-10 09:00:00 UTC is after the submission was collected"
PROBLEMS = {("dan", "a1"): REFUSED, ("gil", "a1"): "nb.ipynb is a link/special file: a symbolic link, not followed",
            ("fay", "zz_extra"): "no such assignment"}
NOTES = {("eve", "a1"): ["not graded: data.csv: a link/special file: a symbolic link, not followed; the rest is graded"],
         ("ada", "a1"): []}
#: student -> the outputs of their autograded notebook's one code cell
OUTPUTS = {
    "ada": [new_output("stream", name="stdout", text="all fine\n")],
    "bob": [new_output("error", ename="AssertionError", evalue="[loss-no-half] the loss has no ½ [loss-gradient-sign]",
                       traceback=[]),
            new_output("stream", name="stdout", text="[derivative-of-net] printed, not an error\n"),
            new_output("error", ename="AssertionError", evalue="[no-such-mistake] [Loss-No-Half]", traceback=[])],
    "cy": [new_output("error", ename="AssertionError", evalue="wrong: [loss-no-half]", traceback=[])],
}


def solution(grade_id):
    cell = new_code_cell("")
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": grade_id, "schema_version": 3}
    return cell


@pytest.fixture
def course(tmp_path, empty_gradebook):
    """(gradebook URL, class folder, source folder) of the class above."""
    source = tmp_path / "source"
    for assignment, exercises in {"a1": ["loss", "grad"], "a2": ["other"]}.items():
        (source / assignment).mkdir(parents=True)
        nbformat.write(new_notebook(cells=[solution(e) for e in exercises]), source / assignment / "nb.ipynb")
    from nbgrader.api import Gradebook

    url = empty_gradebook(tmp_path / "gradebook.db")
    with Gradebook(url) as gb:
        gb.add_assignment("a1", duedate=DUE)
        gb.add_notebook("nb", "a1")
        for cell, points in CELLS.items():
            gb.add_grade_cell(cell, "nb", "a1", max_score=points, cell_type="code")
        for student, (points, when, penalty) in GRADED.items():
            gb.add_student(student)
            gb.add_submission("a1", student, **({"timestamp": when} if when else {}))
            for cell, score in zip(CELLS, points):
                gb.find_grade(cell, "nb", "a1", student).auto_score = score
            gb.find_submission_notebook("nb", "a1", student).late_submission_penalty = penalty
        gb.db.commit()
    for student, outputs in OUTPUTS.items():
        path = tmp_path / "autograded" / student / "a1" / "nb.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(new_notebook(cells=[new_markdown_cell("notes"), new_code_cell("x", outputs=outputs)]), path)
    return url, tmp_path, source


def results_of(course):
    url, folder, source = course
    return report.collect(url, folder, source, PROBLEMS, NOTES)


def test_scores_are_after_the_late_penalty_and_a_refused_submission_has_none(course):
    results = results_of(course)
    assert results.assignments == ["a1", "a2"] and results.max_scores == {"a1": 6}
    assert results.scores == {("ada", "a1"): 6, ("bob", "a1"): 1, ("cy", "a1"): pytest.approx(2.7),
                              ("eve", "a1"): 5.5}
    assert list(results.late) == [("cy", "a1")]
    assert results.late["cy", "a1"].seconds_late == 30 * 3600 and results.late["cy", "a1"].raw_score == 3
    assert results.students == ["ada", "bob", "cy", "dan", "eve", "fay", "gil"]
    assert results.problems == PROBLEMS and results.notes == {("eve", "a1"): NOTES["eve", "a1"]}


def test_a_cell_passes_with_full_points_only(course):
    """Partial points are no pass: bob's 1 of 2 and eve's 1.5 of 2 in test_loss. dan's refused
    submission counts in no pass rate."""
    results = results_of(course)
    assert {cell: sorted(passed) for cell, passed in results.cells["a1"].items()} == {
        "test_loss": [False, False, True, True], "test_loss_half": [False, True, True, True],
        "test_grad": [False, False, True, True]}
    assert report.pass_rate_rows(results) == [
        ("a1 · grad", 0.5, True), ("    test_grad", 0.5, False),
        ("a1 · loss", 5 / 8, True), ("    test_loss", 0.5, False), ("    test_loss_half", 0.75, False)]


def test_mistakes_are_the_codes_named_in_errors(course):
    """A known mistake's code in an error's message counts; in a printed line, or unknown, it does not."""
    results = results_of(course)
    assert results.mistakes == {("ada", "a1"): set(), ("bob", "a1"): {"loss-no-half", "loss-gradient-sign"},
                                ("cy", "a1"): {"loss-no-half"}, ("eve", "a1"): set()}
    assert report.mistake_counts(results).most_common() == [("loss-no-half", 2), ("loss-gradient-sign", 1)]


def test_the_score_table(course):
    table = report.score_table(results_of(course))
    assert table.header == ["student", "a1", "a2"]
    rows = {row.student: (row.cells, row.notes, row.noted) for row in table.rows}
    left_out = f"a1: {NOTES['eve', 'a1'][0]}"
    assert rows == {
        "ada": (["6/6", "-"], [], []),
        "bob": (["1/6", "-"], ["a1: [loss-gradient-sign]", "a1: [loss-no-half]"], []),
        "cy": (["2.7/6", "-"], ["a1: late by 2 days (30.0 h): -0.3 points", "a1: [loss-no-half]"], []),
        "dan": (["not graded", "-"], [f"a1: {REFUSED}"], []),
        "eve": (["5.5/6 *", "-"], [left_out], [left_out]),
        "fay": (["-", "-"], ["zz_extra: no such assignment"], []),
        "gil": (["not graded", "-"], [f"a1: {PROBLEMS['gil', 'a1']}"], []),
    }
    assert [row.student for row in table.rows] == sorted(rows)


def test_the_score_table_as_text(course):
    text = report.text_table(report.score_table(results_of(course)))
    assert text == "\n".join([
        "student            a1            a2",
        "ada               6/6             -",
        "bob               1/6             -",
        "cy              2.7/6             -",
        "dan        not graded             -",
        "eve           5.5/6 *             -",
        "fay                 -             -",
        "gil        not graded             -",
        "",
        "* graded, with a note:",
        f"  eve: a1: {NOTES['eve', 'a1'][0]}",
    ])
    names = report.ScoreTable(["student", "a1"], [report.ScoreRow("a-much-longer-name", ["1/6"], [])])
    assert report.text_table(names) == "student                       a1\na-much-longer-name           1/6"


def test_what_the_figures_say_in_words(course):
    results = results_of(course)
    assert report.describe_score_histograms(results) == (
        "Histograms of the students' scores, rounded to whole points, one per assignment. "
        "a1 (max 6): 2 at 6, 1 at 3, 1 at 1.")
    assert report.describe_pass_rates(results) == (
        "Bar chart of the share of graded submissions with full points, for each exercise and each of its test "
        "cells: exercise a1 · grad 50 %; test cell test_grad 50 %; exercise a1 · loss 62 %; test cell test_loss 50 %; "
        "test cell test_loss_half 75 %.")
    assert report.describe_mistakes(report.mistake_counts(results)) == (
        "Bar chart of how many submissions made each diagnosed mistake, as in the table below: "
        "loss-no-half 2; loss-gradient-sign 1.")
    nobody = report.ClassResults(["a1"], max_scores={"a1": 6})
    assert report.describe_score_histograms(nobody).endswith("a1 (max 6): no graded submission.")


def test_what_the_figures_draw(course):
    results = results_of(course)
    fig = report.plot_score_histograms(results)
    try:
        (ax,) = fig.axes
        assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("a1 (max 6)", "score", "students")
        bars = {round(p.get_x() + p.get_width() / 2): p.get_height() for p in ax.patches}
        assert bars == {0: 0, 1: 1, 2: 0, 3: 1, 4: 0, 5: 0, 6: 2}   # 2.7 in the bar of 3, 5.5 in the bar of 6
    finally:
        plt.close(fig)
    fig = report.plot_pass_rates(results)
    try:
        (ax,) = fig.axes
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == ["    test_loss_half", "    test_loss", "a1 · loss", "    test_grad", "a1 · grad"]
        assert [p.get_width() for p in ax.patches] == [75, 50, 62.5, 50, 50]
        assert [t.get_text() for t in ax.texts] == ["75%", "50%", "62%", "50%", "50%"]
        assert ax.get_xlim() == (0, 100) and ax.get_xlabel() == "% of graded submissions with full points"
    finally:
        plt.close(fig)
    fig = report.plot_mistakes(report.mistake_counts(results))
    try:
        (ax,) = fig.axes
        assert [t.get_text() for t in ax.get_yticklabels()] == ["loss-gradient-sign", "loss-no-half"]
        assert [p.get_width() for p in ax.patches] == [1, 2] and ax.get_xlabel() == "submissions"
    finally:
        plt.close(fig)


def figure_alts(page):
    """The alt texts of a page's images, each image checked to be a PNG held in the page itself."""
    for image in page.images:
        assert image["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(image["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    return [image["alt"] for image in page.images]


def test_the_page_is_utf_8_whatever_the_graders_locale(course, tmp_path, ascii_locale):
    path = report.write_report(results_of(course), tmp_path / "report.html", title="Zoë's class")
    assert Page(path.read_bytes().decode("utf-8")).title == "Zoë's class"


def test_the_page(course, tmp_path):
    results = results_of(course)
    path = report.write_report(results, tmp_path / "report.html", title="A1 <report>")
    html = path.read_text(encoding="utf-8")
    assert html == report.render(results, title="A1 <report>")
    page = Page(html)
    assert (page.title, page.headings[0]) == ("A1 <report>", ("h1", "A1 <report>"))
    assert page.paragraphs[0] == "7 students, 4 graded submissions, 3 that could not be graded."
    assert figure_alts(page) == [report.describe_score_histograms(results), report.describe_pass_rates(results),
                                 report.describe_mistakes(report.mistake_counts(results))]
    mistakes, students, late = page.tables
    assert mistakes == [["submissions", "mistake", "what it is"], ["2", "loss-no-half", CODES["loss-no-half"]],
                        ["1", "loss-gradient-sign", CODES["loss-gradient-sign"]]]
    assert students[0] == ["student", "a1", "a2", "notes"]
    assert students[3] == ["cy", "2.7/6", "-", "a1: late by 2 days (30.0 h): -0.3 points\na1: [loss-no-half]"]
    assert students[4] == ["dan", "not graded", "-", f"a1: {REFUSED}"]
    assert late == [["assignment", "student", "submitted", "due", "late by", "raw score", "penalty", "final score"],
                    ["a1", "cy", "2025-01-11 18:00:00", "2025-01-10 12:00:00", "2 days (30.0 h)", "3", "−0.3", "2.7/6"]]
    refused, problems, noted = page.items[:1], page.items[1:4], page.items[4:]
    assert refused == [f"dan / a1: {REFUSED}"]
    assert problems == [f"dan / a1: {REFUSED}", f"fay / zz_extra: {PROBLEMS['fay', 'zz_extra']}",
                        f"gil / a1: {PROBLEMS['gil', 'a1']}"]
    assert noted == [f"eve / a1: {NOTES['eve', 'a1'][0]}"]


def test_a_class_without_mistakes_late_work_or_problems_says_none(course):
    results = results_of(course)
    quiet = report.ClassResults(results.assignments, max_scores=results.max_scores,
                                scores={("ada", "a1"): 6}, cells={"a1": {"test_loss": [True]}},
                                exercises=results.exercises)
    page = Page(report.render(quiet))
    assert len(figure_alts(page)) == 2 and len(page.tables) == 1   # no mistake figure, no table of mistakes nor of late work
    assert page.paragraphs.count("None.") == 4             # mistakes, late, not graded, noted
    assert report.text_table(report.score_table(quiet)) == "student            a1            a2\nada               6/6             -"


def png_size_and_dpi(src):
    """(width, height, dots per inch) of a data: URI's PNG, from its IHDR and pHYs chunks."""
    import struct

    data = base64.b64decode(src.split(",", 1)[1])
    width, height = struct.unpack(">II", data[16:24])
    at = data.index(b"pHYs")
    per_metre, _, unit = struct.unpack(">IIB", data[at + 4:at + 13])
    assert unit == 1
    return width, height, round(per_metre * 0.0254)


def test_the_figures_are_sized_coloured_and_ticked_for_reading(course):
    """Each figure grows with what it shows, takes the palette's colours (a bar of an exercise
    darker than its cells'), counts in whole students, and is embedded at 96 dpi, cropped."""
    from matplotlib.colors import to_hex

    from backprop_course import palette

    results = results_of(course)
    two = report.ClassResults(["a1", "a2"], max_scores={"a1": 6, "a2": 3}, scores={("ada", "a1"): 6, ("ada", "a2"): 3})
    assert report.describe_score_histograms(two).endswith("a1 (max 6): 1 at 6; a2 (max 3): 1 at 3.")
    figure = report.plot_score_histograms(two)
    try:   # side by side, one per graded assignment
        assert [(ax.get_title(), ax.get_position().y0) for ax in figure.axes] == [
            ("a1 (max 6)", figure.axes[0].get_position().y0), ("a2 (max 3)", figure.axes[0].get_position().y0)]
    finally:
        plt.close(figure)
    for figure, size in ((report.plot_score_histograms(results), (5, 3.2)), (report.plot_score_histograms(two), (10, 3.2)),
                         (report.plot_score_histograms(report.ClassResults(["a1"])), (5, 3.2))):
        try:
            assert tuple(figure.get_size_inches()) == pytest.approx(size)
            for ax in (ax for ax in figure.axes if any(p.get_height() for p in ax.patches)):
                assert {to_hex(p.get_facecolor()) for p in ax.patches} == {palette.BLUE.lower()}
                assert {to_hex(p.get_edgecolor()) for p in ax.patches} == {"#ffffff"}
                assert all(float(t).is_integer() for t in ax.get_yticks())
        finally:
            plt.close(figure)
    figure = report.plot_pass_rates(results)
    try:
        (ax,) = figure.axes
        assert tuple(figure.get_size_inches()) == pytest.approx((8, 0.3 * 5 + 1))
        exercise, cell = palette.BLUE.lower(), palette.SKY_BLUE.lower()
        assert [to_hex(p.get_facecolor()) for p in ax.patches] == [cell, cell, exercise, cell, exercise]
        assert [(t.get_position(), t.get_fontsize(), t.get_va()) for t in ax.texts] == [
            ((76, 0), 8, "center"), ((51, 1), 8, "center"), ((63.5, 2), 8, "center"), ((51, 3), 8, "center"),
            ((51, 4), 8, "center")]
    finally:
        plt.close(figure)
    for counts, height in ((report.mistake_counts(results), 0.35 * 2 + 1), (report.Counter(), 0.35 + 1)):
        figure = report.plot_mistakes(counts)
        try:
            (ax,) = figure.axes
            assert tuple(figure.get_size_inches()) == pytest.approx((8, height))
            assert {to_hex(p.get_facecolor()) for p in ax.patches} == ({palette.VERMILLION.lower()} if counts else set())
            assert not counts or all(float(t).is_integer() for t in ax.get_xticks())
        finally:
            plt.close(figure)
    with matplotlib.rc_context({"savefig.format": "svg", "savefig.dpi": 300}):   # a reader's matplotlibrc changes nothing
        page = Page(report.render(results))
    for image in page.images:
        width, height, dpi = png_size_and_dpi(image["src"])
        assert dpi == 96
    width, height, _ = png_size_and_dpi(page.images[1]["src"])
    assert (width, height) != (8 * 96, (0.3 * 5 + 1) * 96)   # fitted to what is drawn, not the figure's size
    assert plt.get_fignums() == []                          # every figure closed once embedded


def test_an_assignment_missing_from_the_gradebook_is_passed_over_not_the_end(tmp_path, empty_gradebook):
    from nbgrader.api import Gradebook

    for assignment in ("a0", "a1"):
        (tmp_path / "source" / assignment).mkdir(parents=True)
        nbformat.write(new_notebook(cells=[solution("loss")]), tmp_path / "source" / assignment / "nb.ipynb")
    url = empty_gradebook(tmp_path / "gradebook.db")
    with Gradebook(url) as gb:   # a0 released to nobody yet: the gradebook has a1 only
        gb.add_assignment("a1")
        gb.add_notebook("nb", "a1")
        gb.add_grade_cell("test_loss", "nb", "a1", max_score=2, cell_type="code")
        gb.add_student("ada")
        gb.add_submission("a1", "ada")
        gb.find_grade("test_loss", "nb", "a1", "ada").auto_score = 2
        gb.db.commit()
    results = report.collect(url, tmp_path, tmp_path / "source", {})
    assert (results.assignments, results.max_scores, results.scores) == (["a0", "a1"], {"a1": 2}, {("ada", "a1"): 2})
    assert results.late == {} and results.cells == {"a1": {"test_loss": [True]}} and results.notes == {}


def test_the_page_frame_its_policy_its_marks_and_a_review_that_failed(course, tmp_path):
    import html as markup
    import re

    from backprop_course.grader.results.inert import PAGE_CSP
    from backprop_course.grader.results.review import ClassReview
    from backprop_course.grader.results.similarity import Settings

    results = results_of(course)
    results.review = ClassReview(Settings(), failed="copydetect stopped")
    text = report.write_report(results, tmp_path / "report.html").read_text(encoding="utf-8")
    assert text.endswith("</html>\n") and Page(text).title == "Grade report"
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', text)
    assert policy and markup.unescape(policy[1]) == PAGE_CSP
    assert text.count('<td class="problem">not graded</td>') == 2          # dan's and gil's
    assert "The score (*) is what the rest earned." in " ".join(Page(text).paragraphs)
    assert "Not checked: the review failed (copydetect stopped, see the grader's log)." in Page(text).paragraphs


def test_a_cell_without_an_exercise_is_its_own_and_notes_of_every_assignment_are_kept():
    results = report.ClassResults(["a1", "a2"], max_scores={"a1": 2, "a2": 2},
                                  scores={("eve", "a1"): 1, ("eve", "a2"): 2},
                                  cells={"a1": {"test_x": [True, False]}}, exercises={"a1": {}},
                                  notes={("eve", "a1"): ["not graded: a.csv: too big"], ("eve", "a2"): ["not graded: b.csv: a link"]},
                                  problems={("eve", "zz"): "no such assignment"})
    assert report.pass_rate_rows(results) == [("a1 · test_x", 0.5, True)]
    (row,) = report.score_table(results).rows
    assert row.cells == ["1/2 *", "2/2 *"]
    assert row.noted == ["a1: not graded: a.csv: too big", "a2: not graded: b.csv: a link"]
    assert row.notes == row.noted + ["zz: no such assignment"]


def test_a_second_late_is_late(tmp_path, empty_gradebook):
    from datetime import timedelta

    from nbgrader.api import Gradebook

    (tmp_path / "source" / "a1").mkdir(parents=True)
    nbformat.write(new_notebook(cells=[solution("loss")]), tmp_path / "source" / "a1" / "nb.ipynb")
    url = empty_gradebook(tmp_path / "gradebook.db")
    with Gradebook(url) as gb:
        gb.add_assignment("a1", duedate=DUE)
        gb.add_notebook("nb", "a1")
        gb.add_grade_cell("test_loss", "nb", "a1", max_score=2, cell_type="code")
        gb.add_student("ada")
        gb.add_submission("a1", "ada", timestamp=DUE + timedelta(seconds=1))
        gb.find_grade("test_loss", "nb", "a1", "ada").auto_score = 2
        gb.db.commit()
    results = report.collect(url, tmp_path, tmp_path / "source", {})
    assert list(results.late) == [("ada", "a1")] and results.late["ada", "a1"].seconds_late == 1
