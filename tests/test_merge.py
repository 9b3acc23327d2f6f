"""The client's merge of a submission graded elsewhere (a local worker's own SQLite copy, a Dask
worker): pipeline.submission_rows on the worker's gradebook, pipeline.apply_rows into the
class's. Plain nbgrader gradebooks, no kernel: the whole-class equivalence with stock nbgrader
is test_cluster's and test_grading's."""
import shutil

import pytest
from nbgrader.api import Gradebook, MissingEntry

from backprop_course.grader.pipeline import apply_rows, submission_rows

CELLS = {"nb1": ("test_a", "test_b"), "nb2": ("test_c",)}


def gradebook(path):
    """An assignment of two notebooks, three graded test cells and two written answers."""
    url = f"sqlite:///{path}"
    with Gradebook(url) as gb:
        gb.add_assignment("hw")
        for notebook, cells in CELLS.items():
            gb.add_notebook(notebook, "hw")
            for cell in cells:
                gb.add_grade_cell(cell, notebook, "hw", max_score=2, cell_type="code")
            gb.add_grade_cell(f"answer_{notebook}", notebook, "hw", max_score=1, cell_type="markdown")
            gb.add_solution_cell(f"answer_{notebook}", notebook, "hw")
    return url


def graded(url, student, scores, comment):
    """What autograde leaves: a submission with auto scores and comments."""
    with Gradebook(url) as gb:
        gb.update_or_create_student(student)
        gb.add_submission("hw", student)
        for notebook, cells in CELLS.items():
            for cell in cells:
                grade = gb.find_grade(cell, notebook, "hw", student)
                grade.auto_score, grade.needs_manual_grade = scores[cell], False
            gb.find_grade(f"answer_{notebook}", notebook, "hw", student).needs_manual_grade = True
            gb.find_comment(f"answer_{notebook}", notebook, "hw", student).auto_comment = comment
        gb.find_submission_notebook("nb2", "hw", student).flagged = True
        gb.db.commit()
        return submission_rows(gb, "hw", student)


def table(url):
    """Every grade and comment row of the gradebook, as plain data."""
    with Gradebook(url) as gb:
        rows = {}
        for sub in gb.assignment_submissions("hw"):
            for nb in sub.notebooks:
                for g in nb.grades:
                    rows[sub.student_id, nb.name, "grade", g.name] = (g.auto_score, g.manual_score, g.needs_manual_grade)
                for c in nb.comments:
                    rows[sub.student_id, nb.name, "comment", c.name] = (c.auto_comment, c.manual_comment)
                rows[sub.student_id, nb.name, "flagged"] = nb.flagged
        return rows


@pytest.fixture(scope="module")
def empty(tmp_path_factory, nbgrader_env):
    """The released assignment, no student: made once (nbgrader shells out to alembic for a new gradebook)."""
    path = tmp_path_factory.mktemp("gradebook") / "empty.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", nbgrader_env["PATH"])
        gradebook(path)
    return path


@pytest.fixture
def books(empty, tmp_path):
    """(the worker's gradebook, the class's): two copies of the released assignment."""
    for name in ("worker.db", "class.db"):
        shutil.copyfile(empty, tmp_path / name)
    return f"sqlite:///{tmp_path / 'worker.db'}", f"sqlite:///{tmp_path / 'class.db'}"


def test_a_merged_submission_has_the_workers_rows(books):
    worker, klass = books
    rows = graded(worker, "ada", {"test_a": 2, "test_b": 0, "test_c": 1.5}, "see me")
    with Gradebook(klass) as target:
        apply_rows(target, "hw", "ada", rows)
    assert table(klass) == table(worker)
    assert table(klass)["ada", "nb1", "grade", "test_b"] == (0, None, False)
    assert table(klass)["ada", "nb2", "comment", "answer_nb2"] == ("see me", None)


def test_merging_twice_updates_in_place(books):
    """A rerun merges a submission again: its rows once, with the new scores."""
    worker, klass = books
    with Gradebook(klass) as target:
        apply_rows(target, "hw", "ada", graded(worker, "ada", {"test_a": 0, "test_b": 0, "test_c": 0}, "first"))
        before = len(table(klass))
        regraded = graded(gradebook_again(worker), "ada", {"test_a": 2, "test_b": 2, "test_c": 2}, "second")
        apply_rows(target, "hw", "ada", regraded)
    after = table(klass)
    assert len(after) == before
    assert after["ada", "nb1", "grade", "test_a"] == (2, None, False)
    assert after["ada", "nb1", "comment", "answer_nb1"] == ("second", None)


def gradebook_again(url):
    """The worker's gradebook with the student's submission removed, to be graded again."""
    with Gradebook(url) as gb:
        gb.remove_submission("hw", "ada")
    return url


def test_a_cell_the_class_gradebook_lacks_changes_nothing(books):
    """source/ changed between the worker's grading and the merge: a clear error, and the
    class's gradebook keeps none of the submission's half-written rows."""
    worker, klass = books
    rows = graded(worker, "ada", {"test_a": 2, "test_b": 2, "test_c": 2}, "")
    rows["notebooks"]["nb2"]["grades"]["test_gone"] = {"auto_score": 2.0}
    with Gradebook(klass) as target:
        with pytest.raises(MissingEntry, match="test_gone"):
            apply_rows(target, "hw", "ada", rows)
    assert not any(key[0] == "ada" for key in table(klass))
