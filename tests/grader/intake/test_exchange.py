"""The exchange round trip from the command line, as on a JupyterHub with nbgrader's default
exchange (a shared folder, here a temporary one):

    instructor: nbgrader release_assignment 01_neuron
    student:    nbgrader fetch_assignment 01_neuron --course backprop-course
                (works: a catalogue submission fills the solution cells)
                nbgrader submit 01_neuron --course backprop-course
    instructor: nbgrader collect 01_neuron
                backprop-course grade            (make grade)
                nbgrader release_feedback 01_neuron
    student:    nbgrader fetch_feedback 01_neuron --course backprop-course

Two students, ada (a correct submission) and bob (a named mistake), each in a folder and a
home of their own. One machine has one OS user, so each student gives ``--student``, as the
hub's per-user servers would through their user names. The due date is an hour before the
run: the exchange's own timestamp.txt must cost each student one day's penalty.
"""
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import nbformat
import pytest

from backprop_course.grader.intake import folder as intake
from answers.catalogue import CATALOGUE
from nbgrader_runner import nbgrader
from grading_helpers import course_copy

from project import ROOT

A = "01_neuron"
COURSE_ID = "backprop-course"
STUDENTS = {"ada": "01-correct-where", "bob": "01-loss-no-half"}


def run(args, cwd, env):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def work(path, plan):
    """The student fills the fetched notebook's solution cells with a catalogue submission."""
    cells = next(s for s in CATALOGUE if s.name == plan and s.assignment == A).cells
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in cells:
            cell.source = cells[meta["grade_id"]]
    nbformat.write(nb, path)


def hub(base, nbgrader_env, check_owner=False):
    """A course and a shared exchange in ``base``, the assignment released, due an hour ago.
    Returns (course, exchange, as_student, the students' flags)."""
    course, exchange = base / "course", base / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # as the hub's shared exchange folder
    course_copy(course)
    due = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(exchange)!r}\nc.DueDates.dates = {{{A!r}: {due!r}}}\n")
        if not check_owner:
            config.write("c.ExchangeCollect.check_owner = False  # every simulated student is this one OS user\n")

    def as_student(student):
        home = base / student
        home.mkdir(exist_ok=True)
        return home, {**nbgrader_env, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
                      "JUPYTER_DATA_DIR": str(home / ".local" / "share" / "jupyter")}

    nbgrader("release_assignment", A, cwd=course, env=nbgrader_env)
    return course, exchange, as_student, (f"--course={COURSE_ID}", f"--Exchange.root={exchange}")


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory, nbgrader_env):
    base = tmp_path_factory.mktemp("hub")
    course, exchange, as_student, student_flags = hub(base, nbgrader_env)
    fetched = {}
    for student, plan in STUDENTS.items():
        home, env = as_student(student)
        nbgrader("fetch_assignment", A, *student_flags, cwd=home, env=env)
        fetched[student] = (home / A / "neuron.ipynb").read_bytes()
        work(home / A / "neuron.ipynb", plan)
        nbgrader("submit", A, *student_flags, f"--student={student}", cwd=home, env=env)
    # bob owns his inbound folder in the shared exchange: links to the solution and a system file
    (inbound,) = (exchange / COURSE_ID / "inbound").glob(f"bob+{A}+*")
    (inbound / "notes.txt").symlink_to(course / "source" / A / "neuron.ipynb")
    (inbound / "shadow.txt").symlink_to("/etc/shadow")
    collected = nbgrader("collect", A, cwd=course, env=nbgrader_env)
    graded = run([sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course), "grade", "--jobs", "2"],
                 course, nbgrader_env)
    nbgrader("release_feedback", A, cwd=course, env=nbgrader_env)
    feedback = {}
    for student in STUDENTS:
        home, env = as_student(student)
        nbgrader("fetch_feedback", A, *student_flags, f"--student={student}", cwd=home, env=env)
        feedback[student] = sorted((home / A / "feedback").glob("*/neuron.html"))
    return course, fetched, graded, feedback, collected


@pytest.mark.needs_sandbox
def test_students_fetch_the_released_notebook(round_trip):
    _, fetched, *_ = round_trip
    released = (ROOT / "release" / A / "neuron.ipynb").read_bytes()
    assert fetched == {student: released for student in STUDENTS}


@pytest.mark.needs_sandbox
def test_collect_brings_each_submission_with_its_exchange_timestamp(round_trip):
    course, *_ = round_trip
    for student in STUDENTS:
        folder = course / "submitted" / student / A
        assert (folder / "neuron.ipynb").is_file() and (folder / "timestamp.txt").is_file()


@pytest.mark.needs_sandbox
def test_collect_follows_no_link_a_student_left_in_the_exchange(round_trip):
    """copytree, nbgrader's own copy, would bring the solution in as bob's plain file."""
    course, *_, collected = round_trip
    assert sorted(p.name for p in (course / "submitted" / "bob" / A).iterdir()) == ["neuron.ipynb", "submission_secret.txt", "timestamp.txt"]
    for name in ("notes.txt", "shadow.txt"):
        assert f"left out {name}: {intake.LINK}" in collected


@pytest.mark.needs_sandbox
def test_grades_come_from_the_submitted_work_and_the_exchange_time(round_trip, nbgrader_env, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", nbgrader_env["PATH"])  # nbgrader runs alembic
    course, _, graded, *_ = round_trip
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        ada, bob = (gb.find_submission(A, s) for s in ("ada", "bob"))
        assert ada.score == ada.assignment.max_score == 9.0
        assert 0 < bob.score < 9.0
        # submitted within the hour after the due date: one day's penalty, 10 %
        assert 0 < ada.total_seconds_late < 3 * 3600
        assert (ada.late_submission_penalty, bob.late_submission_penalty) == (pytest.approx(0.9), pytest.approx(0.1 * bob.score))
    assert "not graded" not in graded.stdout


@pytest.mark.needs_sandbox
def test_each_student_fetches_their_own_feedback(round_trip):
    _, _, _, feedback, _ = round_trip
    for student, plan in STUDENTS.items():
        assert len(feedback[student]) == 1, feedback[student]
        html = feedback[student][0].read_text()
        mistakes = next(s for s in CATALOGUE if s.name == plan and s.assignment == A).mistakes
        for code in filter(None, mistakes.values()):
            assert f"[{code}]" in html
        if not any(mistakes.values()):
            assert "[loss-no-half]" not in html
        assert "BEGIN HIDDEN TESTS" not in html


# --- who and when: what the exchange records, not what the student wrote ----------------------

def test_the_time_of_submission_is_the_exchanges_not_the_students(tmp_path, nbgrader_env):
    """Finding 8: a student owns their inbound folder, its name and its timestamp.txt (nbgrader
    submit runs as them). A timestamp.txt of 0001-01-01 or 2024-12-31, or none, meant no penalty.
    The time collect records is when the exchange last saw the submission change: the inode
    change times of the folder and its files, which only the kernel sets (touch sets mtime)."""
    from nbgrader.utils import parse_utc

    course, exchange, as_student, flags = hub(tmp_path, nbgrader_env)
    started = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    for student in ("ada", "bob", "cy"):
        home, env = as_student(student)
        nbgrader("fetch_assignment", A, *flags, cwd=home, env=env)
        nbgrader("submit", A, *flags, f"--student={student}", cwd=home, env=env)
    inbound = exchange / COURSE_ID / "inbound"
    (ada,) = inbound.glob(f"ada+{A}+*")
    (ada / "timestamp.txt").chmod(0o644)
    (ada / "timestamp.txt").write_text("0001-01-01 00:00:00.000000 UTC")
    (bob,) = inbound.glob(f"bob+{A}+*")
    (bob / "timestamp.txt").chmod(0o644)
    (bob / "timestamp.txt").write_text("2024-12-31 23:59:59.000000 UTC")
    bob.rename(inbound / f"bob+{A}+2024-12-31 23:59:59.000000 UTC+x")
    (cy,) = inbound.glob(f"cy+{A}+*")
    (cy / "timestamp.txt").unlink()
    for folder in inbound.iterdir():   # modification times are the student's to set
        for path in [folder, *folder.iterdir()]:
            os.utime(path, (0, 0), follow_symlinks=False)
    log = nbgrader("collect", A, cwd=course, env=nbgrader_env)
    finished = datetime.now(timezone.utc).replace(tzinfo=None)
    for student in ("ada", "bob", "cy"):
        stamp = course / "submitted" / student / A / "timestamp.txt"
        assert stamp.is_file(), student
        when = parse_utc(stamp.read_text())
        assert started <= when <= finished, (student, when)
    assert "timestamp.txt is the student's" in log, log


def test_a_folder_in_another_students_name_is_not_collected_as_theirs(tmp_path, nbgrader_env):
    """nbgrader collect only warns when an inbound folder is not owned by the student it names
    (c.ExchangeCollect.check_owner); then it collects it as theirs. The owner is the kernel's
    record, the name the student's: such a folder is collected for nobody, and never hides the
    student's own."""
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    course, exchange, as_student, flags = hub(tmp_path, nbgrader_env, check_owner=True)
    home, env = as_student("someone")
    nbgrader("fetch_assignment", A, *flags, cwd=home, env=env)
    nbgrader("submit", A, *flags, f"--student={me}", cwd=home, env=env)
    nbgrader("submit", A, *flags, "--student=ada", cwd=home, env=env)   # in ada's name, owned by me
    log = nbgrader("collect", A, cwd=course, env=nbgrader_env)
    assert (course / "submitted" / me / A / "neuron.ipynb").is_file()
    assert not (course / "submitted" / "ada").exists()
    assert f"owned by {me}, not ada" in log, log
