"""backprop_course.grader.intake.admission: nbgrader's own converters take every submission through the
intake, from a stage of the grader's, in a plain `nbgrader autograde` and `generate_feedback`.

The converters here are nbgrader's, configured by the course's nbgrader_config.py, with their
preprocessors left out: nothing is executed nor graded (tests/grader/intake/test_untrusted_files.py grades
such submissions in the sandbox), but nbgrader finds the submissions, copies their other files
and reads their notebooks as it does when it grades, and the course's exporters decide what
it may take.
"""
import calendar
import gc
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.config import LoggingConfigurable

from backprop_course.grader.intake import admission, folder as intake
from backprop_course.grader.intake.admission import IntakeNotebookExporter
from backprop_course.grader.pipeline import load_config
from backprop_course.grader.intake.safezip import MiB, Limits

from project import ROOT

A = "a1"
NB = "nb.ipynb"


def notebook(who):
    return nbformat.writes(new_notebook(cells=[new_markdown_cell(f"by {who}"), new_code_cell(f"x = '{who}'")]))


def whose(text):
    """Whose notebook ``text`` is (its first cell says so)."""
    return nbformat.reads(text, as_version=4).cells[0].source


@pytest.fixture
def course(tmp_path, empty_gradebook, monkeypatch):
    """A course root with the course's nbgrader_config.py, assignment a1 (one notebook) in its
    gradebook and source/, and an empty class."""
    course = tmp_path / "course"
    (course / "source" / A).mkdir(parents=True)
    (course / "source" / A / NB).write_text(notebook("the instructor"))
    shutil.copy(ROOT / "nbgrader_config.py", course)
    with Gradebook(empty_gradebook(course / "gradebook.db")) as gb:
        gb.add_assignment(A)
        gb.add_notebook("nb", A)
    monkeypatch.delenv("NBGRADER_DB_URL", raising=False)
    return course


def hand_in(course, student, step="submitted", files=None):
    """{relative path: text} as ``step``/student/a1 (the notebook, unless given, is the student's)."""
    folder = course / step / student / A
    folder.mkdir(parents=True)
    for path, text in {NB: notebook(student), **(files or {})}.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder


def converter(kind, course, **config):
    """nbgrader's converter ``kind`` for a1 in ``course``, as configured by the course, but for
    autograde's steps (they execute and grade) and its preflight (which needs a kernel)."""
    c = load_config(course)
    c.CourseDirectory.assignment_id = A
    c.Autograde.sanitize_preprocessors = []
    c.Autograde.autograde_preprocessors = []
    c.Autograde.pre_convert_hook = None
    for name, value in config.items():
        section, trait = name.split("__")
        setattr(c[section], trait, value)
    # a logger of its own: without one, traitlets hands it the log of whatever Application an
    # earlier test made (which need not propagate to caplog)
    return kind(coursedir=CourseDirectory(config=c), config=c, log=logging.getLogger("test_admission"))


def run(kind, course, caplog, **config):
    """Run the converter; returns (whether nbgrader reported a failed submission, the log lines)."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        try:
            converter(kind, course, **config).start()
            failed = False
        except Exception as error:  # nbgrader's NbGraderException: a submission failed, the others went on
            assert "Please see" in str(error), error
            failed = True
    return failed, [r.getMessage() for r in caplog.records]


def graded_in_the_gradebook(course, student):
    """What autograde would have written in the gradebook (the feedback reads the grades there)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student(student)
        gb.add_submission(A, student)


def tree(folder):
    """{relative path: text} of the files below ``folder``; a notebook as whose it is."""
    return {str(p.relative_to(folder)): whose(p.read_text()) if p.suffix == ".ipynb" else p.read_text()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def stages():
    return list(Path(tempfile.gettempdir()).glob(f"{admission.STAGE_PREFIX}{os.getpid()}-*"))


def raised(log, error):
    """Whether nbgrader logged a traceback that ends in ``error`` (what a failed submission raised)."""
    return any(line.startswith("Traceback") and line.rstrip().endswith(error) for line in log)


def test_autograde_copies_what_the_intake_admits_and_reads_the_notebook_through_it(course, caplog):
    secret = course / "source" / A / NB
    hand_in(course, "ada", files={"data.csv": "1,2\n", "timestamp.txt": "2025-01-10 12:00:00", "sub/notes.txt": "n"})
    os.symlink(secret, course / "submitted" / "ada" / A / "leak.txt")
    (course / "submitted" / "ada" / A / "fifo").parent.mkdir(exist_ok=True)
    os.mkfifo(course / "submitted" / "ada" / A / "fifo")
    before = set(stages())
    failed, log = run(Autograde, course, caplog)
    assert not failed, log
    assert tree(course / "autograded" / "ada" / A) == {
        NB: "by ada", "data.csv": "1,2\n",
        "timestamp.txt": "2025-01-10 12:00:00", "sub/notes.txt": "n"}
    assert "submitted/ada/a1: left out fifo: a link/special file: a FIFO, socket or device, not opened" in log
    assert "submitted/ada/a1: left out leak.txt: a link/special file: a symbolic link, not followed" in log
    assert not [line for line in log if "not graded" in line], log
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert str(gb.find_submission(A, "ada").timestamp) == "2025-01-10 12:00:00"
    new = set(stages()) - before
    assert not [p for stage in new for p in stage.rglob("*") if not p.is_dir()], "a submission was left in the stage"
    gc.collect()
    assert not [stage for stage in new if stage.exists()], "the converter's stage outlived it"


def test_a_student_folder_that_links_to_another_students_is_not_graded(course, caplog):
    """Plain `nbgrader autograde`: nbgrader's glob finds submitted/mallory/a1 through the link
    submitted/mallory -> ada; the intake, given the submitted/ folder as its root, refuses it.
    Without that root, mallory would be graded from ada's notebook."""
    hand_in(course, "ada")
    os.symlink(course / "submitted" / "ada", course / "submitted" / "mallory")
    (course / "submitted" / "eve").mkdir()
    os.symlink(course / "submitted" / "ada" / A, course / "submitted" / "eve" / A)
    failed, log = run(Autograde, course, caplog)
    assert failed
    assert sorted(p.name for p in (course / "autograded").iterdir()) == ["ada"]
    assert tree(course / "autograded" / "ada" / A) == {NB: "by ada"}
    assert "submitted/mallory/a1: not graded: the folder mallory is a link/special file: a symbolic link, " \
           "not followed" in log, log
    assert "submitted/eve/a1: not graded: the folder a1 is a link/special file: a symbolic link, not followed" in log


def test_a_notebook_the_intake_refuses_is_never_read(course, caplog):
    """bob's notebook is a link to the instructor's source; cy's is over the file cap: neither is
    read, nor graded, and the log says why; ada, beside them, is graded."""
    hand_in(course, "ada")
    bob = hand_in(course, "bob", files={"data.csv": "b"})
    (bob / NB).unlink()
    os.symlink(course / "source" / A / NB, bob / NB)
    hand_in(course, "cy", files={NB: notebook("cy") + " " * MiB})
    failed, log = run(Autograde, course, caplog, SubmissionLimits__max_file_mib=1)
    assert failed
    assert sorted(p.name for p in (course / "autograded").iterdir()) == ["ada"]
    assert f"submitted/bob/a1: not graded: {NB} is a link/special file: a symbolic link, not followed" in log, log
    assert f"submitted/cy/a1: not graded: {NB}: 1 MiB, over the cap of 1 MiB a file" in log, log
    assert any(line.startswith("There was an error processing assignment") and "/bob/" in line for line in log)
    assert raised(log, f"NotAdmitted: not graded: {NB} is a link/special file: a symbolic link, not followed"), log


def test_a_notebook_of_the_gradebook_no_longer_in_source_is_not_read(course, caplog):
    """The gradebook still lists old.ipynb, source/ no longer has it: nbgrader would convert the
    student's; the intake never looked at it, so the submission fails, saying why."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_notebook("old", A)
    hand_in(course, "ada", files={"old.ipynb": notebook("ada")})
    failed, log = run(Autograde, course, caplog)
    assert failed
    assert raised(log, "NotAdmitted: not graded: old.ipynb is not a notebook of the assignment in source/"), log


def test_a_timestamp_the_intake_refuses_fails_the_submission(course, caplog):
    """nbgrader reads timestamp.txt (the time that decides lateness) before anything else: one
    that is a link is not read, and the submission is not graded."""
    hand_in(course, "ada", files={"timestamp.txt": "2025-01-10 12:00:00"})
    eve = hand_in(course, "eve")
    (course / "elsewhere.txt").write_text("2020-01-01 00:00:00")
    os.symlink(course / "elsewhere.txt", eve / "timestamp.txt")
    failed, log = run(Autograde, course, caplog)
    assert failed and sorted(p.name for p in (course / "autograded").iterdir()) == ["ada"]
    assert "submitted/eve/a1: not graded: timestamp.txt (the time of submission) is refused: a link/special " \
           "file: a symbolic link, not followed" in log, log
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_submission(A, "eve").timestamp is None


def test_only_the_assignments_notebooks_must_be_admitted(course, caplog):
    """Another notebook the student left (a link, even) is not the assignment's: it is neither read
    nor a reason to refuse the submission. Without the assignment in source/, every notebook is."""
    ada = hand_in(course, "ada")
    os.symlink(course / "source" / A / NB, ada / "scratch.ipynb")
    failed, log = run(Autograde, course, caplog)
    assert not failed, log
    assert tree(course / "autograded" / "ada" / A) == {NB: "by ada"}
    shutil.rmtree(course / "autograded")
    shutil.rmtree(course / "source" / A)
    failed, log = run(Autograde, course, caplog)
    assert failed and "submitted/ada/a1: not graded: scratch.ipynb is a link/special file: a symbolic link, " \
                      "not followed" in log, log


def test_feedback_gets_the_pages_and_nbgraders_bookkeeping_only(course, caplog):
    """generate_feedback, as the course configures it (the inert HTML pages): feedback/ holds the
    page, timestamp.txt and submission_secret.txt (release_feedback needs them), never the
    submission's other files, nor anything the log would call left out."""
    graded = hand_in(course, "ada", "autograded", {"timestamp.txt": "2025-01-10 12:00:00",
                                                   "submission_secret.txt": "s3cret", "data.csv": "1,2\n",
                                                   "sub/notes.txt": "n"})
    os.symlink(course / "source" / A / NB, graded / "leak.txt")
    graded_in_the_gradebook(course, "ada")
    failed, log = run(GenerateFeedback, course, caplog)
    assert not failed, log
    feedback = course / "feedback" / "ada" / A
    assert sorted(str(p.relative_to(feedback)) for p in feedback.rglob("*")) == [
        "nb.html", "submission_secret.txt", "timestamp.txt"]
    assert (feedback / "submission_secret.txt").read_text() == "s3cret"
    assert "by ada" in (feedback / "nb.html").read_text()
    assert not [line for line in log if "left out" in line or "not graded" in line], log


def test_a_feedback_notebook_that_is_a_link_is_not_read(course, caplog):
    graded = hand_in(course, "ada", "autograded")
    (graded / NB).unlink()
    os.symlink(course / "source" / A / NB, graded / NB)
    graded_in_the_gradebook(course, "ada")
    failed, log = run(GenerateFeedback, course, caplog)
    assert failed
    assert f"autograded/ada/a1: not graded: {NB} is a link/special file: a symbolic link, not followed" in log, log
    assert not (course / "feedback" / "ada" / A / NB).exists()


def test_the_caps_come_from_the_config(course):
    c = load_config(course)
    assert admission.submission_limits(c) == intake.LIMITS
    c.SubmissionLimits.max_file_mib, c.SubmissionLimits.max_total_mib, c.SubmissionLimits.max_files = 3, 7, 11
    assert admission.submission_limits(c) == Limits(file_bytes=3 * MiB, total_bytes=7 * MiB, entries=11,
                                                    name_bytes=intake.LIMITS.name_bytes,
                                                    path_bytes=intake.LIMITS.path_bytes)
    assert admission.submission_limits(parent=LoggingConfigurable(config=c)).entries == 11   # the exchange's way


def test_an_exporter_takes_submissions_in_only_for_a_converter_that_found_some(course):
    """nbgrader builds the exporter with its app as parent: only a converter with submissions
    (after init_notebooks) gets an intake of its own."""
    app = converter(Autograde, course)
    assert IntakeNotebookExporter(parent=app).admission is None   # no submission found yet
    assert IntakeNotebookExporter(parent=LoggingConfigurable()).admission is None


def test_the_staged_course_directory_is_the_courses_but_for_the_change(course):
    """Every setting is copied, from the config or not (nbgrader's apps set the assignment from the
    command line), and the copy logs where the original does."""
    app = converter(Autograde, course)
    original = CourseDirectory(parent=app)
    original.assignment_id = "b2"
    copy = admission.copy_course_directory(original, submitted_directory="/stage")
    assert copy is not original and type(copy) is type(original)
    for name in original.trait_names(config=True):
        assert getattr(copy, name) == (getattr(original, name) if name != "submitted_directory" else "/stage"), name
    assert original.submitted_directory == "./submitted" and copy.root == str(course) and copy.assignment_id == "b2"
    assert copy.parent is app and copy.log is app.log


def test_an_exporter_outside_a_converter_reads_through_the_intake(course, tmp_path, monkeypatch):
    """The exporter alone (nbgrader's formgrader and `nbgrader` commands other than autograde and
    feedback build it so): the notebook is read by the intake's rules and capped by the config.
    Its resources are nbconvert's: the date is the file's in UTC, whatever the grader's zone."""
    path = hand_in(course, "ada") / NB
    os.utime(path, (0, calendar.timegm((2024, 3, 5, 23, 30, 0))))
    exporter = IntakeNotebookExporter()
    assert exporter.admission is None and exporter.limits == intake.LIMITS
    with monkeypatch.context() as zone:
        zone.setenv("TZ", "<+14>-14")   # 14 hours ahead of UTC: already March 6 there
        time.tzset()
        body, resources = exporter.from_filename(str(path), resources={"metadata": {"kept": 1}})
    time.tzset()
    assert nbformat.reads(body, as_version=4).cells[0].source == "by ada"
    assert resources["metadata"] == {"kept": 1, "name": "nb", "path": str(path.parent), "modified_date": "March 5, 2024"}
    _, resources = exporter.from_filename(str(path))
    assert resources["metadata"]["name"] == "nb"
    os.symlink(path, tmp_path / "link.ipynb")
    with pytest.raises(intake.NotAdmitted, match="link.ipynb is a link/special file: a symbolic link"):
        exporter.from_filename(str(tmp_path / "link.ipynb"))
    c = load_config(course)
    c.SubmissionLimits.max_file_mib = 1
    (tmp_path / "big.ipynb").write_text(notebook("big") + " " * MiB)
    with pytest.raises(intake.NotAdmitted, match="over the cap of 1 MiB"):
        IntakeNotebookExporter(config=c).from_filename(str(tmp_path / "big.ipynb"))


def test_a_stage_of_a_grader_that_was_killed_is_swept(tmp_path):
    """A grader killed mid-run leaves its stage (backprop-intake-<pid>-<random>): the next one
    removes it when that pid is gone, and nothing else."""
    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True).stdout.strip()
    assert not Path(f"/proc/{dead}").exists()
    for name in (f"{dead}-abc", f"{os.getpid()}-abc", f"{dead}-a-b", "x-abc"):
        (tmp_path / f"{admission.STAGE_PREFIX}{name}" / "ada").mkdir(parents=True)
        (tmp_path / f"{admission.STAGE_PREFIX}{name}" / "ada" / NB).write_text("{}")
    (tmp_path / f"{admission.STAGE_PREFIX}{dead}-file").write_text("not a folder")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("k")
    os.symlink(tmp_path / "elsewhere", tmp_path / f"{admission.STAGE_PREFIX}{dead}-link")
    (tmp_path / f"other-{dead}-abc").mkdir()
    admission.sweep_stages(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        f"{admission.STAGE_PREFIX}{os.getpid()}-abc", f"{admission.STAGE_PREFIX}{dead}-a-b",
        f"{admission.STAGE_PREFIX}x-abc", f"{admission.STAGE_PREFIX}{dead}-file", f"{admission.STAGE_PREFIX}{dead}-link",
        "elsewhere", f"other-{dead}-abc"])
    assert (tmp_path / "elsewhere" / "keep.txt").read_text() == "k"


def test_a_stage_removed_by_someone_else_is_no_error_when_the_converter_goes(course, monkeypatch):
    """A cleaner of /tmp may remove the stage of a long run first: the converter goes quietly."""
    hand_in(course, "ada")
    errors = []
    monkeypatch.setattr(sys, "unraisablehook", errors.append)
    before = set(stages())
    app = converter(Autograde, course)
    app.start()
    new = set(stages()) - before
    assert new
    for stage in new:
        shutil.rmtree(stage)
    del app
    gc.collect()
    assert not errors, [e.exc_value for e in errors]


def test_a_resubmission_with_a_newer_time_is_graded_again_without_force(course, caplog):
    """nbgrader compares the submitted and the autograded timestamp.txt before the pre-convert hook:
    the stage holds the submission's at once, or a newer submission would be skipped as graded."""
    ada = hand_in(course, "ada", files={"timestamp.txt": "2025-01-10 12:00:00"})
    assert run(Autograde, course, caplog)[0] is False
    (ada / NB).write_text(notebook("ada, again"))
    assert run(Autograde, course, caplog)[0] is False          # the same time: already graded
    assert tree(course / "autograded" / "ada" / A)[NB] == "by ada"
    (ada / "timestamp.txt").write_text("2025-01-11 12:00:00")
    failed, log = run(Autograde, course, caplog)
    assert not failed and tree(course / "autograded" / "ada" / A) == {NB: "by ada, again", "timestamp.txt": "2025-01-11 12:00:00"}
    assert any(line.startswith("Updating existing assignment") for line in log), log


def test_a_newer_resubmission_that_is_refused_is_not_skipped(course, caplog):
    """ada's second submission is newer, and its notebook is a link: it is not graded, loudly. (If
    its time were not staged, nbgrader would skip it as graded and keep the first grade silently.)"""
    ada = hand_in(course, "ada", files={"timestamp.txt": "2025-01-10 12:00:00"})
    assert run(Autograde, course, caplog)[0] is False
    (ada / NB).unlink()
    os.symlink(course / "source" / A / NB, ada / NB)
    (ada / "timestamp.txt").write_text("2025-01-11 12:00:00")
    failed, log = run(Autograde, course, caplog)
    assert failed
    assert f"submitted/ada/a1: not graded: {NB} is a link/special file: a symbolic link, not followed" in log, log
    assert not (course / "autograded" / "ada" / A / NB).exists()


def changed_after_the_look(monkeypatch, change):
    """Run ``change(folder)`` on each submission folder just after the intake has looked at it."""
    real = intake.examine

    def examine(folder, *args, **kwargs):
        found = real(folder, *args, **kwargs)
        change(Path(folder))
        return found
    monkeypatch.setattr(admission.intake, "examine", examine)


def test_what_changes_after_the_look_is_refused_by_the_configured_caps(course, caplog, monkeypatch):
    """A file swapped or grown between the intake's look and its copy: a timestamp.txt that is no
    longer the one inspected fails the submission; a data file grown past the configured cap
    (here 1 MiB, below the default) is left out and named, a notebook fails its submission. The
    first reason a submission is not graded is the one given (eve's notebook is a link)."""
    hand_in(course, "ada", files={"timestamp.txt": "2025-01-10 12:00:00", "data.csv": "1,2\n"})
    for student in ("bob", "cy", "dee", "eve"):
        hand_in(course, student, files={"timestamp.txt": "2025-01-10 12:00:00"})
    (course / "submitted" / "eve" / A / NB).unlink()
    os.symlink(course / "source" / A / NB, course / "submitted" / "eve" / A / NB)

    def change(folder):
        if folder.parent.name == "ada":
            (folder / "data.csv").write_text("x" * (2 * MiB))
        elif folder.parent.name == "bob":
            (folder / "timestamp.txt").rename(folder.parent / "kept")   # kept: its inode is not reused
            (folder / "timestamp.txt").write_text("2020-01-01 00:00:00")
        elif folder.parent.name == "dee":
            (folder / NB).write_text(notebook("dee") + " " * (2 * MiB))
        else:
            (folder / "timestamp.txt").write_text("2025-01-10 12:00:00" + " " * (2 * MiB))
    changed_after_the_look(monkeypatch, change)
    failed, log = run(Autograde, course, caplog, SubmissionLimits__max_file_mib=1)
    assert failed
    assert {p.name: tree(p / A) for p in (course / "autograded").iterdir()} == {
        "ada": {NB: "by ada", "timestamp.txt": "2025-01-10 12:00:00"}, "dee": {}}   # nbgrader leaves the folder
    assert "submitted/ada/a1: left out data.csv: data.csv grew over the cap of 1 MiB" in log, log
    assert ("submitted/bob/a1: not graded: timestamp.txt (the time of submission) cannot be read: "
            "timestamp.txt was replaced after it was inspected") in log, log
    assert ("submitted/cy/a1: not graded: timestamp.txt (the time of submission) cannot be read: "
            "timestamp.txt grew over the cap of 1 MiB") in log, log
    assert any(line.startswith("submitted/dee/a1: not graded: ") and line.endswith(f"{NB} grew over the cap of 1 MiB")
               for line in log), log
    assert f"submitted/eve/a1: not graded: {NB} is a link/special file: a symbolic link, not followed" in log, log


def test_a_cap_configured_above_the_default_holds_until_the_notebook_is_read(course, caplog):
    """An instructor whose notebooks carry large figures raises the file cap: a notebook over the
    default (50 MiB) but under the course's is admitted, staged and read."""
    hand_in(course, "ada", files={NB: notebook("ada") + " " * (intake.LIMITS.file_bytes + MiB)})
    failed, log = run(Autograde, course, caplog, SubmissionLimits__max_file_mib=intake.LIMITS.file_bytes // MiB + 2)
    assert not failed, log
    assert tree(course / "autograded" / "ada" / A) == {NB: "by ada"}


def test_each_submission_is_staged_alone(course, caplog, monkeypatch, tmp_path):
    """When nbgrader converts a submission, the stage holds that one, and the timestamp.txt of those
    still to come (nbgrader compares them first). The one before is gone, even when nbgrader
    stopped before reading its notebook (ada's time is no time). A hook the course configured runs
    after, with nbgrader's arguments. The log names folders from the course root, wherever the
    grader was started."""
    hand_in(course, "ada", files={"timestamp.txt": "not a time"})
    hand_in(course, "bob", files={NB: "not a notebook"})
    hand_in(course, "cy", files={"timestamp.txt": "2025-01-10 12:00:00"})
    os.mkfifo(course / "submitted" / "cy" / A / "pipe")
    seen = {}

    def hook(assignment, student, notebooks):
        stage = Path(notebooks[0]).parents[2]
        assert stage.name.startswith(f"{admission.STAGE_PREFIX}{os.getpid()}-"), stage   # sweep_stages knows it
        files = sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())
        seen[Path(notebooks[0]).parents[1].name] = (assignment, student, files)
    monkeypatch.chdir(tmp_path)
    failed, log = run(Autograde, course, caplog, Autograde__pre_convert_hook=hook)
    assert failed
    later = f"cy/{A}/timestamp.txt"
    assert seen == {"ada": (A, "*", [f"ada/{A}/{NB}", f"ada/{A}/timestamp.txt", later]),  # '*': nbgrader's pattern
                    "bob": (A, "*", [f"bob/{A}/{NB}", later]),
                    "cy": (A, "*", [f"cy/{A}/{NB}", later])}
    assert "submitted/cy/a1: left out pipe: a link/special file: a FIFO, socket or device, not opened" in log, log
