"""Regrading one submission, and the late penalty in the report, on a tiny class graded once.

The class (01_neuron due 2026-01-10 12:00 UTC):

- ada: 01_neuron with a named mistake (the loss without its ½), on time; and a blank 02_backprop;
- bob: 01_neuron correct, an hour late: one day's penalty, 10 % of 9 points;
- cy:  01_neuron correct, an hour early;
- dan: a renamed notebook, which cannot be graded;
- eve, fay, gus, hal: times of submission the grader refuses (01_neuron released 2026-01-01):
  0001-01-01 and 2024-12-31 (before the release), 2099 (after the folder was collected), and none
  at all (01_neuron has a due date). Each used to mean "on time, no penalty".

``backprop-course grade`` grades them all. Then ada appeals: the notebook collected was not the
one she handed in. The right one replaces it and ``backprop-course grade --student ada
--assignment 01_neuron`` (``make grade STUDENT=ada ASSIGNMENT=01_neuron``) regrades that one
submission: her score rises, and every other submission's gradebook rows, grades.csv row,
autograded and feedback files stay byte-identical (the files are not even rewritten).
"""
import csv
import hashlib
import math
import shutil
from collections import Counter

import nbformat
import pytest

from backprop_course.grader import cli
from answers.catalogue import CATALOGUE, NOTEBOOK, build_notebook
from grading_helpers import course_copy
from html_page import Page

from project import ROOT

A, B = "01_neuron", "02_backprop"
DUE = "2026-01-10 12:00:00 UTC"
RELEASED = "2026-01-01 00:00:00 UTC"
CLASS = {  # student -> (assignment, catalogue submission or a file, timestamp.txt)
    "ada": [(A, "01-loss-no-half", "2026-01-09 18:00:00 UTC"), (B, "release", None)],
    "bob": [(A, "01-correct-where", "2026-01-10 13:00:00 UTC")],
    "cy": [(A, "01-correct-where", "2026-01-10 11:00:00 UTC")],
    "dan": [(A, "renamed", None)],
    "eve": [(A, "01-correct-where", "0001-01-01 00:00:00 UTC")],
    "fay": [(A, "01-correct-where", "2024-12-31 23:59:59 UTC")],
    "gus": [(A, "01-correct-where", "2099-01-01 00:00:00 UTC")],
    "hal": [(A, "01-correct-where", None)],
}
#: student -> what the report says of their time of submission
REFUSED = {"eve": "0001-01-01 00:00:00 UTC is before 01_neuron was released (2026-01-01 00:00:00 UTC",
           "fay": "2024-12-31 23:59:59 UTC is before 01_neuron was released (2026-01-01 00:00:00 UTC",
           "gus": "2099-01-01 00:00:00 UTC is after the submission was collected",
           "hal": "there is none, and 01_neuron is due 2026-01-10 12:00:00 UTC"}
APPEAL = "01-correct-where"  # what ada really handed in
CHOSEN = ("ada", A)

pytestmark = pytest.mark.needs_sandbox


def write_submission(course, student, assignment, plan):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.ipynb"):
        old.unlink()
    if plan == "release":
        shutil.copy(ROOT / "release" / assignment / NOTEBOOK[assignment], folder)
    elif plan == "renamed":
        shutil.copy(ROOT / "release" / assignment / NOTEBOOK[assignment], folder / "neuron (1).ipynb")
    else:
        sub = next(s for s in CATALOGUE if s.name == plan and s.assignment == assignment)
        nbformat.write(build_notebook(sub, hidden_tests=False), folder / NOTEBOOK[assignment])


def grade(course, *args):
    cli.main(["--root", str(course), "grade", *args])


# ------------------------------------------------------------------ what must not change


def gradebook_rows(course):
    """{(student, assignment): everything the gradebook holds of that submission, with row ids}."""
    from nbgrader.api import Gradebook

    rows = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                rows[sub.student.id, assignment.name] = repr((
                    sub.id, sub.student.id, sub.student.first_name, sub.student.last_name, sub.student.email,
                    str(sub.timestamp), str(sub.extension), sub.score, sub.late_submission_penalty,
                    [(nb.id, nb.name, nb.flagged, nb.late_submission_penalty, nb.score,
                      sorted((g.id, g.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                             for g in nb.grades),
                      sorted((c.id, c.name, c.auto_comment, c.manual_comment) for c in nb.comments))
                     for nb in sorted(sub.notebooks, key=lambda nb: nb.name)]))
    return rows


def files(folder):
    """{path under folder: (sha256, mtime in ns)} of every file."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def grade_rows(course):
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {(row["student_id"], row["assignment"]): row for row in rows}


def snapshot(course):
    return {"gradebook": gradebook_rows(course), "grades.csv": grade_rows(course),
            "autograded": files(course / "autograded"), "feedback": files(course / "feedback")}


def others(snap, chosen=CHOSEN):
    """The snapshot without the chosen submission; grades.csv without its review column, which
    compares each submission's code with the class's (grader/review.py): a regraded submission's
    new code may change who is similar to it, and nobody's grade."""
    prefix = f"{chosen[0]}/{chosen[1]}/"
    return {"gradebook": {k: v for k, v in snap["gradebook"].items() if k != chosen},
            "grades.csv": {k: {column: value for column, value in row.items() if column != "review"}
                           for k, row in snap["grades.csv"].items() if k != chosen},
            "autograded": {k: v for k, v in snap["autograded"].items() if not k.startswith(prefix)},
            "feedback": {k: v for k, v in snap["feedback"].items() if not k.startswith(prefix)}}


# ------------------------------------------------------------------ the class


@pytest.fixture(scope="module")
def term(tmp_path_factory, nbgrader_env):
    course = course_copy(tmp_path_factory.mktemp("term"),
                         config=f"c.DueDates.dates = {{{A!r}: {DUE!r}}}\nc.DueDates.released = {{{A!r}: {RELEASED!r}}}\n")
    for student, handed_in in CLASS.items():
        for assignment, plan, stamp in handed_in:
            write_submission(course, student, assignment, plan)
            if stamp:
                (course / "submitted" / student / assignment / "timestamp.txt").write_text(stamp)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", nbgrader_env["PATH"])  # nbgrader shells out to alembic
        grade(course, "--jobs", "2")
        before = snapshot(course)
        report_before = (course / "report.html").read_text()
        write_submission(course, *CHOSEN, APPEAL)  # the appeal: the notebook she really handed in
        grade(course, "--student", CHOSEN[0], "--assignment", CHOSEN[1])
        yield course, before, snapshot(course), report_before


def test_the_class_was_graded_with_every_kind_of_submission(term):
    _, before, _, _ = term
    assert set(before["gradebook"]) == {("ada", A), ("ada", B), ("bob", A), ("cy", A)}
    assert {tuple(k.split("/")[:2]) for k in before["feedback"]} == set(before["gradebook"])


def test_the_regrade_changes_the_chosen_submission(term):
    _, before, after, _ = term
    assert float(before["grades.csv"][CHOSEN]["score"]) < float(after["grades.csv"][CHOSEN]["score"]) == 9.0
    assert before["gradebook"][CHOSEN] != after["gradebook"][CHOSEN]
    prefix = f"{CHOSEN[0]}/{CHOSEN[1]}/"
    for folder in ("autograded", "feedback"):
        mine_before = {k: v for k, v in before[folder].items() if k.startswith(prefix)}
        mine_after = {k: v for k, v in after[folder].items() if k.startswith(prefix)}
        assert mine_before and mine_after and mine_before != mine_after, folder
    feedback = (term[0] / "feedback" / prefix / "neuron.html").read_text()
    assert "[loss-no-half]" not in feedback


def test_everyone_else_is_byte_identical_and_not_rewritten(term):
    _, before, after, _ = term
    kept_before, kept_after = others(before), others(after)
    for part in kept_before:
        assert kept_after[part] == kept_before[part], f"the regrade of {CHOSEN} changed someone else's {part}"
    # the comparison can fail: it sees ada's own change when she is not left out
    assert others(before, ("bob", A)) != others(after, ("bob", A))


def test_the_report_still_lists_everyone(term):
    course, _, _, report_before = term
    report = (course / "report.html").read_text()
    for text in ("dan", "not graded", "renamed", "bob"):
        assert text in report and text in report_before
    assert "loss-no-half" in report_before and not any("loss-no-half" in row["notes"] for row in Page(report).rows_of("ada"))


def test_a_name_that_matches_no_submission_is_an_error_and_changes_nothing(term, capsys, monkeypatch, nbgrader_env):
    course, _, _, _ = term
    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    everything = {name: files(course / name) for name in ("submitted", "autograded", "feedback", "release")}
    everything["root"] = {name: files(course)[name] for name in ("gradebook.db", "grades.csv", "report.html")}
    for args, said in [(["--student", "adda"], "no student 'adda' in submitted/: did you mean ada?"),
                       (["--assignment", "03_convolutions"], "no submission of '03_convolutions'"),
                       (["--student", "bob", "--assignment", B], f"bob has no submission of {B} in submitted/ (theirs: {A})")]:
        with pytest.raises(SystemExit) as stopped:
            grade(course, *args)
        assert said in str(stopped.value)
    after = {name: files(course / name) for name in ("submitted", "autograded", "feedback", "release")}
    after["root"] = {name: files(course)[name] for name in ("gradebook.db", "grades.csv", "report.html")}
    assert after == everything


# ------------------------------------------------------------------ the late penalty in the report


def test_the_report_shows_raw_score_penalty_and_final_score(term):
    course, _, after, _ = term
    page = Page((course / "report.html").read_text())
    late = page.table("assignment", "student")
    assert [(row["assignment"], row["student"]) for row in late] == [(A, "bob")], "only bob was late"
    (bob,) = late
    assert (bob["raw score"], bob["penalty"], bob["final score"]) == ("9", "−0.9", "8.1/9")
    assert (bob["submitted"], bob["due"], bob["late by"]) == ("2026-01-10 13:00:00", "2026-01-10 12:00:00", "1 day (1.0 h)")
    # the students' table shows the final score, and says why
    (row,) = page.rows_of("bob")
    assert row[A] == "8.1/9" and "late by 1 day (1.0 h): -0.9 points" in row["notes"]
    (row,) = page.rows_of("cy")
    assert row[A] == "9/9" and "late" not in row["notes"]
    # the same numbers as grades.csv
    csv_bob = after["grades.csv"]["bob", A]
    assert (float(csv_bob["raw_score"]), float(csv_bob["late_submission_penalty"]), float(csv_bob["score"])) == \
        (9.0, pytest.approx(0.9), pytest.approx(8.1))


def spread(snap, assignment):
    """'2 at 9, 1 at 8': the scores of an assignment's submissions (each has a timestamp here) in
    grades.csv, rounded as the histogram bins them."""
    counts = Counter(math.floor(float(row["score"]) + 0.5) for (_, a), row in snap["grades.csv"].items()
                     if a == assignment and row["timestamp"])
    return ", ".join(f"{n} at {score}" for score, n in sorted(counts.items(), reverse=True))


def test_every_figure_of_the_report_says_what_it_shows(term):
    course, before, after, report_before = term
    alts = [image.get("alt", "") for image in Page(report_before).images]
    assert len(alts) == 3 and all(alts), alts
    scores, pass_rates, mistakes = alts
    assert f"01_neuron (max 9): {spread(before, A)}; 02_backprop (max 15): 1 at 0;" in scores
    assert "03_vectorised (max 16): no graded submission" in scores  # an assignment nobody handed in
    assert "exercise 01_neuron · loss 67 %" in pass_rates, pass_rates  # ada's loss fails, bob's and cy's pass
    assert mistakes.endswith("diagnosed mistake, as in the table below: loss-no-half 1.")
    # after ada's regrade nobody makes a mistake: no chart of mistakes
    alts = [image.get("alt", "") for image in Page((course / "report.html").read_text()).images]
    assert len(alts) == 2 and f"01_neuron (max 9): {spread(after, A)};" in alts[0]
    assert spread(after, A) == "2 at 9, 1 at 8"


def test_a_time_before_the_release_after_collection_or_none_is_refused_and_listed(term):
    """Finding 8: a timestamp.txt of 0001-01-01 or 2024-12-31, or none at all, meant no penalty.
    The time is refused with the reason, the submission is not graded (a grade without its
    lateness would be silently wrong), and the report lists it beside the late submissions."""
    course, before, after, report_before = term
    assert not {key for key in before["gradebook"] if key[0] in REFUSED}
    page = Page((course / "report.html").read_text())
    for student, reason in REFUSED.items():
        (row,) = page.rows_of(student)
        assert row[A] == "not graded" and reason in row["notes"], (student, row)
    late_section = (course / "report.html").read_text().split("<h2>Late submissions</h2>")[1].split("<h2>")[0]
    for student, reason in REFUSED.items():
        assert f"<b>{student}</b> / {A}: the time of submission is refused: {reason}" in late_section, late_section


def test_feedback_that_fails_stops_the_run_with_an_error_and_keeps_the_grades(term, tmp_path, monkeypatch, nbgrader_env):
    """A student whose feedback cannot be written (here: a file where their feedback folder goes)
    fails the run (non-zero exit, naming the assignment), after the grades are written."""
    course, _, _, _ = term
    copy = tmp_path / "term"
    shutil.copytree(course, copy)
    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    shutil.rmtree(copy / "feedback" / CHOSEN[0])
    (copy / "feedback" / CHOSEN[0]).write_text("not a folder")
    rows = gradebook_rows(copy)
    with pytest.raises(SystemExit) as stopped:
        grade(copy, "--only", "feedback")
    assert f"feedback failed for the class/{CHOSEN[1]}" in str(stopped.value)
    assert gradebook_rows(copy) == rows


def test_a_replacement_that_cannot_be_graded_leaves_no_earlier_grade(term, tmp_path, monkeypatch, nbgrader_env):
    """cy's correct notebook was graded; she replaces it by a link (refused by the intake). The
    regrade says she is not graded, and her earlier grade is gone from the gradebook, grades.csv,
    autograded/ and feedback/: none of it came from the submission in submitted/ now. Everyone
    else's stays."""
    course = tmp_path / "course"
    shutil.copytree(term[0], course, symlinks=True)
    monkeypatch.setenv("PATH", nbgrader_env["PATH"])
    before = snapshot(course)
    assert float(before["grades.csv"]["cy", A]["score"]) == 9.0
    notebook = course / "submitted" / "cy" / A / NOTEBOOK[A]
    notebook.rename(notebook.with_suffix(".txt"))
    notebook.symlink_to(notebook.with_suffix(".txt").name)
    grade(course, "--student", "cy", "--assignment", A)
    after = snapshot(course)
    assert ("cy", A) not in after["gradebook"]
    assert float(after["grades.csv"]["cy", A]["score"]) == 0.0 and after["grades.csv"]["cy", A]["timestamp"] == ""
    assert not (course / "autograded" / "cy" / A).exists() and not (course / "feedback" / "cy" / A).exists()
    assert notebook.is_symlink() and notebook.with_suffix(".txt").is_file()   # the submission itself stays
    assert others(after, ("cy", A))["gradebook"] == others(before, ("cy", A))["gradebook"]
    page = Page((course / "report.html").read_text())
    assert any(row[0] == "cy" and "not graded" in " ".join(row) for table in page.tables for row in table), page.tables
