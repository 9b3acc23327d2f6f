"""The client's merge of a submission graded elsewhere (a local worker's own SQLite copy, a Dask
worker): merge.submission_rows on the worker's gradebook, merge.apply_rows into the
class's. Plain nbgrader gradebooks, no kernel: the whole-class equivalence with stock nbgrader
is test_cluster's and test_grading's."""
import shutil

import pytest
from nbgrader.api import Gradebook, MissingEntry

from backprop_course.grader.run.journal import Journal
from backprop_course.grader.results.merge import Done, Merger, apply_batch, apply_rows, submission_rows

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


def test_a_batch_in_one_transaction_has_the_rows_of_one_merge_each(books, tmp_path):
    """apply_batch: new students, a new and an already merged submission, in one transaction,
    end as merging each alone does."""
    worker, klass = books
    shutil.copyfile(klass.removeprefix("sqlite:///"), tmp_path / "alone.db")
    alone = f"sqlite:///{tmp_path / 'alone.db'}"
    rows = {student: graded(worker, student, {"test_a": i, "test_b": 2, "test_c": 0.5}, f"note {i}")
            for i, student in enumerate(["ada", "bob", "cy"])}
    with Gradebook(klass) as target, Gradebook(alone) as one_by_one:
        apply_rows(target, "hw", "bob", rows["ada"])  # bob's first grading, replaced below
        apply_rows(one_by_one, "hw", "bob", rows["ada"])
        apply_batch(target, [("hw", student, r) for student, r in rows.items()])
        for student, r in rows.items():
            apply_rows(one_by_one, "hw", student, r)
    assert table(klass) == table(alone) == table(worker)


@pytest.fixture
def template_rows(books):
    """One submission's rows as a worker sends them: each done() below is a copy, with its own score."""
    return graded(books[0], "template", {"test_a": 0, "test_b": 2, "test_c": 2}, "")


def done(rows, student, score):
    """A submission graded on a worker, as the client receives it: rows, its autograded folder, a digest."""
    import copy

    rows = copy.deepcopy(rows)
    rows["notebooks"]["nb1"]["grades"]["test_a"]["auto_score"] = score
    rows["notebooks"]["nb1"]["comments"]["answer_nb1"]["auto_comment"] = student
    return Done(student, "hw", files={"nb1.ipynb": (0o644, f'{{"{student}": {score}}}'.encode())}, rows=rows,
                digest=f"digest-{student}")


def without_template(rows):
    return {key: row for key, row in rows.items() if key[0] != "template"}


def test_the_merger_writes_folder_rows_and_journal_line_and_takes_what_waits_in_one_transaction(books, template_rows,
                                                                                               tmp_path):
    worker, klass = books
    students = [f"s{i:02d}" for i in range(30)]
    waiting = [done(template_rows, student, i % 3) for i, student in enumerate(students)]
    journal = Journal(tmp_path)
    merger = Merger(tmp_path, klass, journal)
    for one in waiting:  # all waiting before the thread starts: one transaction takes them
        merger.put(one)
    with merger:
        pass
    assert merger.stats["merge transactions"] == 1
    assert journal.entries() == {(s, "hw"): f"digest-{s}" for s in students}
    rows = table(klass)
    assert {key[0] for key in rows} == set(students)
    for i, student in enumerate(students):
        assert (tmp_path / "autograded" / student / "hw" / "nb1.ipynb").read_text() == f'{{"{student}": {i % 3}}}'
        assert rows[student, "nb1", "grade", "test_a"] == (i % 3, None, False)
        assert rows[student, "nb1", "comment", "answer_nb1"] == (student, None)


def test_the_merger_merges_those_before_a_bad_submission_then_stops_with_its_error(books, template_rows, tmp_path):
    worker, klass = books
    first, bad, after = (done(template_rows, s, 1) for s in ("ada", "bob", "cy"))
    bad.rows["notebooks"]["nb2"]["grades"]["test_gone"] = {"auto_score": 2.0}
    journal = Journal(tmp_path)
    merger = Merger(tmp_path, klass, journal)
    for one in (first, bad, after):
        merger.put(one)
    with pytest.raises(MissingEntry, match="test_gone"):
        with merger:
            pass
    assert journal.entries() == {("ada", "hw"): "digest-ada"}
    assert {key[0] for key in table(klass)} == {"ada"}
    assert not (tmp_path / "autograded" / "bob").exists() and not (tmp_path / "autograded" / "cy").exists()


class Witness(Journal):
    """A journal that, as each line is written, looks from outside at what the line promises."""

    def __init__(self, folder, klass):
        super().__init__(folder)
        self.klass, self.seen = klass, []

    def add_many(self, entries):
        committed = {key[0] for key in table(self.klass)}  # another connection: committed rows only
        for student, assignment, _ in entries:
            self.seen.append((student, student in committed,
                              (self.path.parent / "autograded" / student / assignment / "nb1.ipynb").is_file()))
        super().add_many(entries)


def test_a_journal_line_is_written_only_once_its_rows_are_committed_and_its_folder_is_in_place(books, template_rows,
                                                                                                 tmp_path):
    worker, klass = books
    witness = Witness(tmp_path, klass)
    with Merger(tmp_path, klass, witness) as merger:
        for i in range(12):
            merger.put(done(template_rows, f"s{i:02d}", 1))
    assert witness.seen == [(f"s{i:02d}", True, True) for i in range(12)]


KILLED_CLIENT = """
import sys, time, pickle
from backprop_course.grader.run.journal import Journal
from backprop_course.grader.results.merge import Merger
folder, klass = sys.argv[1], sys.argv[2]
dones = pickle.load(open(sys.argv[3], "rb"))
with Merger(folder, klass, Journal(folder)) as merger:
    for one in dones:
        merger.put(one)
        time.sleep(0.01)
"""


def test_a_client_killed_while_merging_leaves_a_journal_that_promises_only_what_is_merged(books, template_rows, tmp_path):
    """SIGKILL at any point: every journalled submission has its rows and its folder; merging
    again what has no line (what a rerun grades again) ends as an uninterrupted merge."""
    import os
    import pickle
    import signal
    import subprocess
    import sys
    import time

    worker, klass = books
    dones = [done(template_rows, f"s{i:03d}", i % 3) for i in range(150)]
    (tmp_path / "dones.pickle").write_bytes(pickle.dumps(dones))
    folder = tmp_path / "class"
    folder.mkdir()
    child = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, str(folder), klass, str(tmp_path / "dones.pickle")])
    journal = Journal(folder)
    deadline = time.time() + 120
    while time.time() < deadline and child.poll() is None and len(journal.entries()) < 40:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    promised = journal.entries()
    assert 40 <= len(promised) < len(dones), f"killed too late or too early: {len(promised)} journalled"
    merged = table(klass)
    for student, _ in promised:
        assert (student, "nb1", "grade", "test_a") in merged, f"{student} is journalled, its rows are not in"
        assert (folder / "autograded" / student / "hw" / "nb1.ipynb").is_file()
    with Merger(folder, klass, journal) as merger:  # the rerun: what has no line, graded and merged again
        for one in dones:
            if (one.student, "hw") not in promised:
                merger.put(one)
    with Merger(tmp_path / "uninterrupted", worker, Journal(tmp_path / "uninterrupted")) as merger:
        for one in dones:
            merger.put(one)
    assert table(klass) == without_template(table(worker)) != {}
    assert journal.entries() == {(one.student, "hw"): one.digest for one in dones}
